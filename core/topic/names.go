package topic

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Errors returned by name and filter validation.
var (
	ErrEmpty          = errors.New("topic: empty topic")
	ErrTooLong        = errors.New("topic: longer than 65535 bytes")
	ErrInvalidUTF8    = errors.New("topic: invalid UTF-8 or U+0000")
	ErrWildcardInName = errors.New("topic: wildcard in a topic name")
	ErrBadWildcard    = errors.New("topic: wildcard not alone in its level or # not last")
	ErrTooManyLevels  = errors.New("topic: too many levels")
)

// maxTopicBytes is the longest UTF-8 string MQTT can carry [MQTT-4.7.3-3].
const maxTopicBytes = 65535

func validCommon(s string, maxLevels int) error {
	if s == "" {
		return ErrEmpty // [MQTT-4.7.3-1]
	}
	if len(s) > maxTopicBytes {
		return ErrTooLong
	}
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return ErrInvalidUTF8 // [MQTT-4.7.3-2]
	}
	if maxLevels > 0 && strings.Count(s, "/")+1 > maxLevels {
		return ErrTooManyLevels
	}
	return nil
}

// ValidName checks a topic name a client publishes to: non-empty, valid UTF-8
// without U+0000, no wildcards [MQTT-3.3.2-2], at most maxLevels levels
// (maxLevels <= 0: no limit).
func ValidName(name string, maxLevels int) error {
	if err := validCommon(name, maxLevels); err != nil {
		return err
	}
	if strings.ContainsAny(name, "+#") {
		return ErrWildcardInName
	}
	return nil
}

// ValidFilter checks a topic filter a client subscribes to: `+` must fill a
// whole level and `#` must fill the last one [MQTT-4.7.1-2] [MQTT-4.7.1-3].
func ValidFilter(filter string, maxLevels int) error {
	if err := validCommon(filter, maxLevels); err != nil {
		return err
	}
	for i := 0; i < len(filter); i++ {
		c := filter[i]
		if c != '+' && c != '#' {
			continue
		}
		if i > 0 && filter[i-1] != '/' {
			return ErrBadWildcard
		}
		if c == '#' && i != len(filter)-1 {
			return ErrBadWildcard
		}
		if c == '+' && i+1 < len(filter) && filter[i+1] != '/' {
			return ErrBadWildcard
		}
	}
	return nil
}

// Match reports whether a topic name matches a filter. Names beginning with
// `$` are not matched by a filter whose first level is a wildcard
// [MQTT-4.7.2-1]. Both arguments are assumed valid.
func Match(filter, name string) bool {
	if len(name) > 0 && name[0] == '$' && len(filter) > 0 && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		fl, frest, fmore := cut(filter)
		nl, nrest, nmore := cut(name)
		switch fl {
		case "#":
			return true // [MQTT-4.7.1-2] also matches the parent level
		case "+":
		default:
			if fl != nl {
				return false
			}
		}
		if !fmore || !nmore {
			// "a/#" matches "a": the filter's next level is a lone '#'.
			return fmore == nmore || (!nmore && frest == "#")
		}
		filter, name = frest, nrest
	}
}

// cut splits off the first level of a topic.
func cut(s string) (level, rest string, more bool) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

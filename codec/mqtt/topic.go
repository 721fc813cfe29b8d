package mqtt

import "unicode/utf8"

// SharedPrefix starts a shared subscription filter: $share/{ShareName}/{filter}
// (MQTT 5.0 §4.8.2).
const SharedPrefix = "$share/"

// maxString is the longest UTF-8 Encoded String: a two-byte length prefix.
const maxString = 0xFFFF

// ValidTopicName reports whether s can be a PUBLISH topic name: 1 to 65,535
// bytes of well-formed UTF-8 without U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2] [MQTT-4.7.3-1]
// and without the wildcards '+' and '#' [MQTT-3.3.2-2] [MQTT-4.7.0-1].
func ValidTopicName(s string) bool {
	return len(s) <= maxString && validString(s) && topicNameOK(s)
}

// ValidTopicFilter reports whether s can be a SUBSCRIBE or UNSUBSCRIBE topic
// filter: 1 to 65,535 bytes of well-formed UTF-8 without U+0000 where '#'
// appears only as the whole last level [MQTT-4.7.1-1] [MQTT-4.7.1-2] and '+'
// only as a whole level [MQTT-4.7.1-3]. It checks only wildcard placement, so a
// shared subscription filter is valid if its parts are; see SplitShared.
func ValidTopicFilter(s string) bool {
	return len(s) <= maxString && validString(s) && topicFilterOK(s)
}

// SplitShared splits a shared subscription filter "$share/{ShareName}/{filter}"
// into its share name and topic filter. ok is false when s does not start with
// SharedPrefix, or when the share name is empty or holds '/', '+' or '#', or
// when no valid topic filter follows it [MQTT-4.8.2-1] [MQTT-4.8.2-2].
func SplitShared(s string) (shareName, filter string, ok bool) {
	if !isShared(s) || !sharedOK(s) || !validString(s) {
		return "", "", false
	}
	rest := s[len(SharedPrefix):]
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			return rest[:i], rest[i+1:], true
		}
	}
	return "", "", false // unreachable: sharedOK found the '/'
}

func validString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return false
		}
	}
	return utf8.ValidString(s)
}

// hasWildcard reports whether a topic holds '+' or '#'.
func hasWildcard[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '+' || c == '#' {
			return true
		}
	}
	return false
}

// topicNameOK checks the wildcard-free, non-empty rules of a topic name whose
// UTF-8 has already been checked.
func topicNameOK[T string | []byte](s T) bool {
	return len(s) > 0 && !hasWildcard(s)
}

// topicFilterOK checks wildcard placement in a non-empty topic filter whose
// UTF-8 has already been checked.
func topicFilterOK[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false // [MQTT-4.7.3-1]
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '#':
			// [MQTT-4.7.1-2]: '#' must be the last character and a whole level.
			if i != len(s)-1 || (i > 0 && s[i-1] != '/') {
				return false
			}
		case '+':
			// [MQTT-4.7.1-3]: '+' must occupy an entire level.
			if (i > 0 && s[i-1] != '/') || (i+1 < len(s) && s[i+1] != '/') {
				return false
			}
		}
	}
	return true
}

// isShared reports whether a filter starts with SharedPrefix.
func isShared[T string | []byte](s T) bool {
	if len(s) < len(SharedPrefix) {
		return false
	}
	for i := 0; i < len(SharedPrefix); i++ {
		if s[i] != SharedPrefix[i] {
			return false
		}
	}
	return true
}

// sharedOK checks "$share/{ShareName}/{filter}" for a filter that isShared: a
// non-empty share name without '+' or '#', then '/', then a valid filter
// [MQTT-4.8.2-1] [MQTT-4.8.2-2].
func sharedOK[T string | []byte](s T) bool {
	start := len(SharedPrefix)
	for i := start; i < len(s); i++ {
		switch s[i] {
		case '+', '#':
			return false
		case '/':
			if i == start || i+1 == len(s) {
				return false
			}
			return topicFilterOK(s[i+1:])
		}
	}
	return false
}

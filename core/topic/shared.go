package topic

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Errors returned by ParseShared for a malformed shared-subscription filter.
var (
	ErrSharedGroup  = errors.New("topic: shared subscription group name empty or containing + or #")
	ErrSharedFilter = errors.New("topic: shared subscription without a valid topic filter")
)

// QueueGroup is the group name ParseShared gives an EMQX-style $queue/<filter>
// subscription: one group per filter, shared by every subscriber of it.
const QueueGroup = "$queue"

const (
	sharePrefix = "$share/"
	queuePrefix = "$queue/"
)

// ParseShared splits a subscription's filter into its shared-subscription
// group and the filter proper, and validates both (without a level limit;
// apply one with ValidFilter(realFilter, max)).
//
//	$share/<group>/<filter>  → group, filter, shared   (MQTT 5 §4.8.2)
//	$queue/<filter>          → QueueGroup, filter, shared (EMQX)
//	<filter>                 → "", filter, not shared
//
// On error group and realFilter are empty and shared still tells whether the
// filter was meant as a shared subscription, so the caller can choose the
// reason code.
func ParseShared(filter string) (group, realFilter string, shared bool, err error) {
	var rest string
	switch {
	case strings.HasPrefix(filter, sharePrefix):
		if len(filter) > maxTopicBytes {
			return "", "", true, ErrTooLong
		}
		rest = filter[len(sharePrefix):]
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			group, rest = rest, ""
		} else {
			group, rest = rest[:i], rest[i+1:]
		}
		// The ShareName is at least one character and has no "/", "+" or
		// "#" [MQTT-4.8.2-1] [MQTT-4.8.2-2].
		if group == "" || strings.ContainsAny(group, "+#\x00") || !utf8.ValidString(group) {
			return "", "", true, ErrSharedGroup
		}
		if i < 0 {
			return "", "", true, ErrSharedFilter // no "/" after the ShareName [MQTT-4.8.2-2]
		}
	case strings.HasPrefix(filter, queuePrefix):
		group, rest = QueueGroup, filter[len(queuePrefix):]
	default:
		if err := ValidFilter(filter, 0); err != nil {
			return "", "", false, err
		}
		return "", filter, false, nil
	}
	// The "/" after the ShareName is followed by a Topic Filter [MQTT-4.8.2-2].
	if err := ValidFilter(rest, 0); err != nil {
		return "", "", true, fmt.Errorf("%w: %w", ErrSharedFilter, err)
	}
	return group, rest, true, nil
}

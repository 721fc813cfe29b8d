package delayed

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/manifold-iot/manifold/core/topic"
)

// Prefix begins every delayed-publish topic: $delayed/<seconds>/<topic>.
const Prefix = "$delayed/"

// MaxDelaySeconds is the longest delay, in seconds, a $delayed topic may ask
// for: 4294967 s, about 49.7 days (2^32-1 milliseconds, Erlang's timer
// limit). It is the limit EMQX 4 and EMQX 5 up to 5.8 document; EMQX 5.9
// raised it tenfold (about 497 days). We keep the older bound, which every
// migrating user's devices already respect. (Our issue text says "up to 42
// days"; the limit accepted here is the EMQX one.)
const MaxDelaySeconds = 4294967

// MaxDelay is MaxDelaySeconds as a duration.
const MaxDelay = MaxDelaySeconds * time.Second

// Errors returned by Parse. Each is wrapped with the offending text; check
// with errors.Is.
var (
	ErrBadDelay     = errors.New("delayed: delay is not a decimal number of seconds")
	ErrDelayTooLong = errors.New("delayed: delay longer than 4294967 seconds")
	ErrBadTopic     = errors.New("delayed: missing or invalid topic after the delay")
)

// Parse splits a delayed-publish topic, $delayed/<seconds>/<topic>, into
// its delay and the real topic name the message is to be published to.
//
// ok is false, and err nil, for a topic that does not begin with Prefix:
// it is an ordinary topic. With ok true, err reports a seconds field that
// is not a plain decimal integer (no sign, no spaces; leading zeros are
// allowed) or exceeds MaxDelaySeconds (ErrBadDelay, ErrDelayTooLong), or a
// real topic that is missing, not a valid topic name, or itself a $delayed
// topic (ErrBadTopic). A delay of 0 is valid: the message is published as
// soon as the scheduler gets to it.
//
// EMQX 5 reads a seconds field at or over its limit as an absolute Unix
// timestamp ($delayed/1743490800/t); Parse does not: any value over
// MaxDelaySeconds is ErrDelayTooLong.
func Parse(name string) (delay time.Duration, real string, ok bool, err error) {
	rest, found := strings.CutPrefix(name, Prefix)
	if !found {
		return 0, "", false, nil
	}
	secs, real, _ := strings.Cut(rest, "/")
	n, err := parseSeconds(secs)
	if err != nil {
		return 0, "", true, err
	}
	if real == "" {
		return 0, "", true, fmt.Errorf("%w: %q has no topic", ErrBadTopic, name)
	}
	if err := topic.ValidName(real, 0); err != nil {
		return 0, "", true, fmt.Errorf("%w: %w", ErrBadTopic, err)
	}
	if strings.HasPrefix(real, Prefix) {
		// Publishing it would delay it again; EMQX would, we refuse.
		return 0, "", true, fmt.Errorf("%w: nested %q", ErrBadTopic, Prefix)
	}
	return time.Duration(n) * time.Second, real, true, nil
}

// parseSeconds reads a non-empty run of ASCII digits as at most
// MaxDelaySeconds. It never overflows: past the limit it only checks that
// the remaining bytes are digits.
func parseSeconds(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty", ErrBadDelay)
	}
	var n int64
	over := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: %q", ErrBadDelay, s)
		}
		if !over {
			n = n*10 + int64(c-'0')
			over = n > MaxDelaySeconds
		}
	}
	if over {
		return 0, fmt.Errorf("%w: %s", ErrDelayTooLong, s)
	}
	return n, nil
}

package delayed

import (
	"errors"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/core/topic"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name  string
		topic string
		delay time.Duration
		real  string
		ok    bool
		err   error
	}{
		{"plain topic", "a/b", 0, "", false, nil},
		{"prefix without slash", "$delayed", 0, "", false, nil},
		{"other dollar topic", "$SYS/brokers", 0, "", false, nil},
		{"case matters", "$DELAYED/10/a", 0, "", false, nil},
		{"simple", "$delayed/15/x/y", 15 * time.Second, "x/y", true, nil},
		{"one level", "$delayed/60/a", time.Minute, "a", true, nil},
		{"zero", "$delayed/0/a", 0, "a", true, nil},
		{"leading zeros", "$delayed/007/a", 7 * time.Second, "a", true, nil},
		{"max", "$delayed/4294967/a", MaxDelay, "a", true, nil},
		{"sys target", "$delayed/3600/$SYS/topic", time.Hour, "$SYS/topic", true, nil},
		{"empty levels kept", "$delayed/1//a/", time.Second, "/a/", true, nil},
		{"over max", "$delayed/4294968/a", 0, "", true, ErrDelayTooLong},
		{"huge", "$delayed/99999999999999999999999999/a", 0, "", true, ErrDelayTooLong},
		{"timestamp form", "$delayed/1743490800/chat/id", 0, "", true, ErrDelayTooLong},
		{"huge then junk", "$delayed/99999999999x/a", 0, "", true, ErrBadDelay},
		{"empty seconds", "$delayed//a", 0, "", true, ErrBadDelay},
		{"only prefix", "$delayed/", 0, "", true, ErrBadDelay},
		{"negative", "$delayed/-5/a", 0, "", true, ErrBadDelay},
		{"plus sign", "$delayed/+5/a", 0, "", true, ErrBadDelay},
		{"fraction", "$delayed/1.5/a", 0, "", true, ErrBadDelay},
		{"space", "$delayed/ 5/a", 0, "", true, ErrBadDelay},
		{"hex", "$delayed/0x10/a", 0, "", true, ErrBadDelay},
		{"unicode digit", "$delayed/١٢/a", 0, "", true, ErrBadDelay},
		{"no topic", "$delayed/10", 0, "", true, ErrBadTopic},
		{"empty topic", "$delayed/10/", 0, "", true, ErrBadTopic},
		{"wildcard topic", "$delayed/10/a/+", 0, "", true, ErrBadTopic},
		{"hash topic", "$delayed/10/#", 0, "", true, ErrBadTopic},
		{"nested", "$delayed/10/$delayed/5/a", 0, "", true, ErrBadTopic},
		{"nul in topic", "$delayed/10/a\x00b", 0, "", true, ErrBadTopic},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, real, ok, err := Parse(c.topic)
			if ok != c.ok || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Fatalf("Parse(%q) ok=%v err=%v, want ok=%v err=%v", c.topic, ok, err, c.ok, c.err)
			}
			if d != c.delay || real != c.real {
				t.Fatalf("Parse(%q) = %v %q, want %v %q", c.topic, d, real, c.delay, c.real)
			}
		})
	}
}

func TestParseWrapsTopicError(t *testing.T) {
	_, _, _, err := Parse("$delayed/1/a/#")
	if !errors.Is(err, ErrBadTopic) || !errors.Is(err, topic.ErrWildcardInName) {
		t.Fatalf("err = %v, want ErrBadTopic wrapping topic.ErrWildcardInName", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"$delayed/15/x/y", "$delayed/4294967/a", "$delayed//", "a/b", "$delayed/1/$delayed/2/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, real, ok, err := Parse(s)
		if !ok && (err != nil || real != "" || d != 0) {
			t.Fatalf("not ok but returned %v %q %v", d, real, err)
		}
		if ok && err == nil {
			if d < 0 || d > MaxDelay || topic.ValidName(real, 0) != nil {
				t.Fatalf("accepted %q as %v %q", s, d, real)
			}
		}
	})
}

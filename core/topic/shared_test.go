package topic

import (
	"errors"
	"strings"
	"testing"
)

func TestParseShared(t *testing.T) {
	cases := []struct {
		name       string
		in         string
		group      string
		realFilter string
		shared     bool
		err        error
	}{
		{"plain", "a/b", "", "a/b", false, nil},
		{"plain wildcard", "a/+/#", "", "a/+/#", false, nil},
		{"plain dollar share without slash", "$share", "", "$share", false, nil},
		{"plain share-like prefix", "$shared/g/a", "", "$shared/g/a", false, nil},
		{"plain queue without slash", "$queue", "", "$queue", false, nil},
		{"plain invalid", "a/#/b", "", "", false, ErrBadWildcard},
		{"plain empty", "", "", "", false, ErrEmpty},
		{"share", "$share/g1/a/b", "g1", "a/b", true, nil},
		{"share wildcard filter", "$share/g/+/x/#", "g", "+/x/#", true, nil},
		{"share hash", "$share/g/#", "g", "#", true, nil},
		{"share leading slash filter", "$share/g//a", "g", "/a", true, nil},
		{"share dollar filter", "$share/g/$SYS/#", "g", "$SYS/#", true, nil},
		{"share unicode group", "$share/grüppe/a", "grüppe", "a", true, nil},
		{"queue", "$queue/a/b", QueueGroup, "a/b", true, nil},
		{"queue wildcard", "$queue/a/+", QueueGroup, "a/+", true, nil},
		{"share empty group", "$share//a", "", "", true, ErrSharedGroup},
		{"share nothing after prefix", "$share/", "", "", true, ErrSharedGroup},
		{"share plus in group", "$share/g+/a", "", "", true, ErrSharedGroup},
		{"share plus group", "$share/+/a", "", "", true, ErrSharedGroup},
		{"share hash group", "$share/#", "", "", true, ErrSharedGroup},
		{"share hash in group", "$share/g#/a", "", "", true, ErrSharedGroup},
		{"share bad utf8 group", "$share/g\xff/a", "", "", true, ErrSharedGroup},
		{"share no slash after group", "$share/g", "", "", true, ErrSharedFilter},
		{"share empty filter", "$share/g/", "", "", true, ErrSharedFilter},
		{"share bad filter", "$share/g/a/#/b", "", "", true, ErrSharedFilter},
		{"share bad filter cause", "$share/g/a+", "", "", true, ErrBadWildcard},
		{"share too long", "$share/g/" + strings.Repeat("a", 65535), "", "", true, ErrTooLong},
		{"queue empty filter", "$queue/", "", "", true, ErrSharedFilter},
		{"queue bad filter", "$queue/#/a", "", "", true, ErrSharedFilter},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			group, real, shared, err := ParseShared(tc.in)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("ParseShared(%q) err = %v, want %v", tc.in, err, tc.err)
			}
			if group != tc.group || real != tc.realFilter || shared != tc.shared {
				t.Fatalf("ParseShared(%q) = %q, %q, %v; want %q, %q, %v",
					tc.in, group, real, shared, tc.group, tc.realFilter, tc.shared)
			}
		})
	}
}

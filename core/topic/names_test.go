package topic

import (
	"errors"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	cases := []struct {
		name string
		in   string
		max  int
		want error
	}{
		{"simple", "a/b/c", 0, nil},
		{"leading slash", "/a", 0, nil},
		{"empty levels", "a//b", 0, nil},
		{"dollar", "$SYS/uptime", 0, nil},
		{"empty", "", 0, ErrEmpty},
		{"plus", "a/+/c", 0, ErrWildcardInName},
		{"hash", "a/#", 0, ErrWildcardInName},
		{"nul", "a\x00b", 0, ErrInvalidUTF8},
		{"bad utf8", "a\xffb", 0, ErrInvalidUTF8},
		{"too long", strings.Repeat("a", 65536), 0, ErrTooLong},
		{"levels at limit", "a/b/c", 3, nil},
		{"levels over limit", "a/b/c/d", 3, ErrTooManyLevels},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidName(tc.in, tc.max); !errors.Is(got, tc.want) {
				t.Fatalf("ValidName(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestValidFilter(t *testing.T) {
	cases := []struct {
		in   string
		want error
	}{
		{"a/b", nil},
		{"#", nil},
		{"+", nil},
		{"a/#", nil},
		{"+/+/#", nil},
		{"/+", nil},
		{"a/+/b", nil},
		{"a#", ErrBadWildcard},
		{"a/#/b", ErrBadWildcard},
		{"a/b+", ErrBadWildcard},
		{"a/+b", ErrBadWildcard},
		{"##", ErrBadWildcard},
		{"", ErrEmpty},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			if got := ValidFilter(tc.in, 0); !errors.Is(got, tc.want) {
				t.Fatalf("ValidFilter(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		filter, name string
		want         bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/+", "a", false},
		{"a/+", "a/", true},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"a/#", "ab", false},
		{"#", "a/b", true},
		{"#", "/", true},
		{"+/+", "/a", true},
		{"/+", "/a", true},
		{"+", "/a", false},
		{"#", "$SYS/uptime", false},
		{"+/uptime", "$SYS/uptime", false},
		{"$SYS/#", "$SYS/uptime", true},
		{"$SYS/+", "$SYS/uptime", true},
		{"a/b/c", "a/b", false},
		{"a/b", "a/b/c", false},
		{"a//b", "a//b", true},
		{"a/+/b", "a//b", true},
	}
	for _, tc := range cases {
		t.Run(tc.filter+" "+tc.name, func(t *testing.T) {
			if got := Match(tc.filter, tc.name); got != tc.want {
				t.Fatalf("Match(%q, %q) = %v, want %v", tc.filter, tc.name, got, tc.want)
			}
		})
	}
}

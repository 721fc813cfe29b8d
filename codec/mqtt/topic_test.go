package mqtt

import (
	"strings"
	"testing"
)

func TestValidTopicName(t *testing.T) {
	tests := []struct {
		name  string
		topic string
		want  bool
	}{
		{"simple", "a/b/c", true},
		{"leading slash", "/a", true},
		{"empty levels", "a//b/", true},
		{"dollar topic", "$SYS/broker/load", true},
		{"space and unicode", "ünïcode topic", true},
		{"single slash", "/", true},
		{"empty", "", false},
		{"plus", "a/+/c", false},
		{"hash", "a/#", false},
		{"embedded hash", "a#b", false},
		{"null", "a\x00b", false},
		{"bad utf-8", "a\xffb", false},
		{"too long", strings.Repeat("a", 65536), false},
		{"longest", strings.Repeat("a", 65535), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidTopicName(tc.topic); got != tc.want {
				t.Errorf("ValidTopicName(%.20q) = %v, want %v", tc.topic, got, tc.want)
			}
		})
	}
}

func TestValidTopicFilter(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		want   bool
	}{
		{"plain", "a/b", true},
		{"hash alone", "#", true},
		{"plus alone", "+", true},
		{"hash last", "sport/tennis/#", true},
		{"plus levels", "+/tennis/+", true},
		{"plus then hash", "+/#", true},
		{"empty levels with plus", "/+/", true},
		{"shared", "$share/g/a/#", true},
		{"empty", "", false},
		{"hash not last", "sport/#/ranking", false},
		{"hash glued", "sport/tennis#", false},
		{"plus glued before", "sport+", false},
		{"plus glued after", "+sport", false},
		{"double plus", "++", false},
		{"null", "a/\x00", false},
		{"bad utf-8", "\xc3\x28", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidTopicFilter(tc.filter); got != tc.want {
				t.Errorf("ValidTopicFilter(%q) = %v, want %v", tc.filter, got, tc.want)
			}
		})
	}
}

func TestSplitShared(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		share, rest string
		ok          bool
	}{
		{"shared", "$share/group/a/b", "group", "a/b", true},
		{"shared wildcard", "$share/g/#", "g", "#", true},
		{"shared leading slash filter", "$share/g//a", "g", "/a", true},
		{"not shared", "a/b", "", "", false},
		{"share prefix only", "$share/", "", "", false},
		{"no filter", "$share/g", "", "", false},
		{"empty filter", "$share/g/", "", "", false},
		{"empty share name", "$share//a", "", "", false},
		{"wildcard in share name", "$share/g+/a", "", "", false},
		{"hash in share name", "$share/#/a", "", "", false},
		{"bad filter", "$share/g/a#", "", "", false},
		{"case sensitive", "$SHARE/g/a", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			share, rest, ok := SplitShared(tc.in)
			if share != tc.share || rest != tc.rest || ok != tc.ok {
				t.Errorf("SplitShared(%q) = %q, %q, %v; want %q, %q, %v", tc.in, share, rest, ok, tc.share, tc.rest, tc.ok)
			}
		})
	}
}

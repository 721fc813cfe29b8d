package acl

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/manifold-iot/manifold/core"
)

// FuzzParse: the parser never panics, and a parsed rule written back with
// Rule.String parses to the same rule; checking the rules never panics either.
func FuzzParse(f *testing.F) {
	if src, err := os.ReadFile("../../configs/acl.conf"); err == nil {
		f.Add(src)
	}
	f.Add([]byte(testRules))
	f.Add([]byte(benchRules))
	for _, s := range []string{
		`{allow, all}.`,
		`{allow, {username, "a\"b\\c\x41\x{263A}\101\s\^A"}, all, ["t"]}.`,
		`{allow, all, all, [<<"a/b">>, <<"c/" "d", "e">>, "eq x/#", {eq, "#"}]}.`,
		`{allow, {'and', [{'or', [{client, "a"}, {user, "b"}]}, {ipaddrs, ["::ffff:10.0.0.0/104", "fe80::1"]}]}, all, ["t"]}.`,
		`{allow, all, {publish, [{qos, [0, 1]}, {qos, 2}, {retain, all}]}, ["${clientid}/%u/${x"]}.`,
		`{allow, all, subscribe ["a"]}.`,
		`{allow, all, {publish, [{qos, 1.5}]}, ["t"]}.`,
		"{'and",
		"\"\\x{",
		"[[[[[[[[[[",
		"%% only a comment",
	} {
		f.Add([]byte(s))
	}
	clients := []*core.ClientInfo{
		{ClientID: "c", Username: "u", Peer: netip.MustParseAddrPort("10.1.2.3:1")},
		{ClientID: "+", Peer: netip.MustParseAddrPort("[::ffff:127.0.0.1]:1")},
		{},
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		rules, err := Parse(src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "acl.conf:") {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		for i := range rules {
			s := rules[i].String()
			again, err := Parse([]byte(s + "."))
			if err != nil {
				t.Fatalf("rule %d renders as %s, which does not parse: %v", i, s, err)
			}
			if len(again) != 1 || again[0].String() != s {
				t.Fatalf("rule %d: %s reparses as %v", i, s, again)
			}
		}
		file := &File{Rules: rules}
		for _, c := range clients {
			for _, tp := range []string{"a/b", "#", "$SYS/x", "$share/g/c/+", ""} {
				file.Check(c, core.ActionPublish, tp, 1, true)
				file.Check(c, core.ActionSubscribe, tp, 2, false)
			}
		}
	})
}

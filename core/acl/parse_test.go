package acl

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/manifold-iot/manifold/core"
)

// parseOne parses src and requires exactly one rule.
func parseOne(t *testing.T, src string) Rule {
	t.Helper()
	rules, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	if len(rules) != 1 {
		t.Fatalf("Parse(%q): %d rules, want 1", src, len(rules))
	}
	return rules[0]
}

// TestParseForms parses every who, action and topic form and checks the
// compiled rule through its canonical rendering.
func TestParseForms(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		// Rule shapes.
		{"allow all", `{allow, all}.`, `{allow, all, all, ["#"]}`},
		{"deny all", `{deny, all}.`, `{deny, all, all, ["#"]}`},
		{"quoted permission", `{'allow', all, publish, ["t"]}.`, `{allow, all, publish, ["t"]}`},

		// Who.
		{"who all", `{allow, all, publish, ["t"]}.`, `{allow, all, publish, ["t"]}`},
		{"user alias", `{allow, {user, "u"}, publish, ["t"]}.`, `{allow, {username, "u"}, publish, ["t"]}`},
		{"username", `{allow, {username, "u"}, publish, ["t"]}.`, `{allow, {username, "u"}, publish, ["t"]}`},
		{"username re", `{allow, {username, {re, "^dash"}}, publish, ["t"]}.`,
			`{allow, {username, {re, "^dash"}}, publish, ["t"]}`},
		{"clientid", `{allow, {clientid, "c"}, publish, ["t"]}.`, `{allow, {clientid, "c"}, publish, ["t"]}`},
		{"client alias", `{allow, {client, "c"}, publish, ["t"]}.`, `{allow, {clientid, "c"}, publish, ["t"]}`},
		{"clientid re", `{allow, {clientid, {re, "^s-[0-9]+$"}}, publish, ["t"]}.`,
			`{allow, {clientid, {re, "^s-[0-9]+$"}}, publish, ["t"]}`},
		{"ipaddr v4", `{allow, {ipaddr, "127.0.0.1"}, all, ["t"]}.`, `{allow, {ipaddr, "127.0.0.1"}, all, ["t"]}`},
		{"ipaddr v4 cidr", `{allow, {ipaddr, "10.0.0.0/8"}, all, ["t"]}.`, `{allow, {ipaddr, "10.0.0.0/8"}, all, ["t"]}`},
		{"ipaddr cidr masked", `{allow, {ipaddr, "10.1.2.3/8"}, all, ["t"]}.`, `{allow, {ipaddr, "10.0.0.0/8"}, all, ["t"]}`},
		{"ipaddr v6", `{allow, {ipaddr, "::1"}, all, ["t"]}.`, `{allow, {ipaddr, "::1"}, all, ["t"]}`},
		{"ipaddr v6 cidr", `{allow, {ipaddr, "2001:db8::/32"}, all, ["t"]}.`, `{allow, {ipaddr, "2001:db8::/32"}, all, ["t"]}`},
		{"ipaddr v4-mapped", `{allow, {ipaddr, "::ffff:10.0.0.0/104"}, all, ["t"]}.`,
			`{allow, {ipaddr, "10.0.0.0/8"}, all, ["t"]}`},
		{"ipaddrs", `{allow, {ipaddrs, ["10.0.0.0/8", "::1"]}, all, ["t"]}.`,
			`{allow, {ipaddrs, ["10.0.0.0/8", "::1"]}, all, ["t"]}`},
		{"and", `{allow, {'and', [{username, "u"}, {ipaddr, "10.0.0.0/8"}]}, all, ["t"]}.`,
			`{allow, {'and', [{username, "u"}, {ipaddr, "10.0.0.0/8"}]}, all, ["t"]}`},
		{"or nested in and", `{allow, {'and', [{'or', [{clientid, "a"}, {clientid, "b"}]}, {user, "u"}]}, all, ["t"]}.`,
			`{allow, {'and', [{'or', [{clientid, "a"}, {clientid, "b"}]}, {username, "u"}]}, all, ["t"]}`},
		{"unquoted or", `{allow, {or, [{clientid, "a"}]}, all, ["t"]}.`, `{allow, {'or', [{clientid, "a"}]}, all, ["t"]}`},

		// Action.
		{"publish", `{allow, all, publish, ["t"]}.`, `{allow, all, publish, ["t"]}`},
		{"subscribe", `{allow, all, subscribe, ["t"]}.`, `{allow, all, subscribe, ["t"]}`},
		{"all", `{allow, all, all, ["t"]}.`, `{allow, all, all, ["t"]}`},
		{"publish qos list retain", `{allow, all, {publish, [{qos, [0, 1]}, {retain, true}]}, ["t"]}.`,
			`{allow, all, {publish, [{qos, [0, 1]}, {retain, true}]}, ["t"]}`},
		{"publish retain false", `{allow, all, {publish, [{retain, false}]}, ["t"]}.`,
			`{allow, all, {publish, [{retain, false}]}, ["t"]}`},
		{"publish retain all", `{allow, all, {publish, [{retain, all}]}, ["t"]}.`, `{allow, all, publish, ["t"]}`},
		{"publish no options", `{allow, all, {publish, []}, ["t"]}.`, `{allow, all, publish, ["t"]}`},
		{"subscribe qos int", `{allow, all, {subscribe, [{qos, 1}]}, ["t"]}.`, `{allow, all, {subscribe, [{qos, [1]}]}, ["t"]}`},
		{"qos options merged", `{allow, all, {publish, [{qos, 0}, {qos, [2]}]}, ["t"]}.`,
			`{allow, all, {publish, [{qos, [0, 2]}]}, ["t"]}`},
		{"all qualified", `{allow, all, {all, [{qos, 2}, {retain, false}]}, ["t"]}.`,
			`{allow, all, {all, [{qos, [2]}, {retain, false}]}, ["t"]}`},

		// Topics.
		{"topics", `{allow, all, all, ["a/b", "a/+", "a/#", "$SYS/#"]}.`, `{allow, all, all, ["a/b", "a/+", "a/#", "$SYS/#"]}`},
		{"eq tuple", `{deny, all, subscribe, [{eq, "#"}]}.`, `{deny, all, subscribe, [{eq, "#"}]}`},
		{"eq string form", `{deny, all, subscribe, ["eq a/#"]}.`, `{deny, all, subscribe, [{eq, "a/#"}]}`},
		{"placeholders", `{allow, all, all, ["u/${username}/#", "c/${clientid}", "c/%c/x", "u/%u"]}.`,
			`{allow, all, all, ["u/${username}/#", "c/${clientid}", "c/%c/x", "u/%u"]}`},
		{"binary topics", `{allow, all, all, [<<"a/b">>, <<"c/" "d", "e">>]}.`, `{allow, all, all, ["a/b", "c/de"]}`},
		{"empty binary topic", `{allow, all, all, [<<>>]}.`, ""}, // "" is no filter: an error
		{"adjacent strings", `{allow, all, all, ["a/" "b"]}.`, `{allow, all, all, ["a/b"]}`},
		{"escapes", `{allow, {username, "a\"b\\c\x41\x{263A}\101\s"}, all, ["t"]}.`,
			`{allow, {username, "a\"b\\cA☺A "}, all, ["t"]}`},
		{"unknown escape is the char", `{allow, {username, {re, "a\.b"}}, all, ["t"]}.`,
			`{allow, {username, {re, "a.b"}}, all, ["t"]}`},
		{"comments and blank lines", "%% head\n\n{allow, % who\n all, % action\n publish, [\"t\"] % topics\n}. % end\n",
			`{allow, all, publish, ["t"]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := Parse([]byte(tc.src))
			if tc.want == "" {
				if err == nil {
					t.Fatalf("Parse(%q) = %v, want an error", tc.src, rules)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.src, err)
			}
			if len(rules) != 1 {
				t.Fatalf("got %d rules, want 1", len(rules))
			}
			if got := rules[0].String(); got != tc.want {
				t.Fatalf("rule\n got %s\nwant %s", got, tc.want)
			}
			// The rendering parses back to the same rule.
			again := parseOne(t, rules[0].String()+".")
			if again.String() != tc.want {
				t.Fatalf("round trip: got %s, want %s", again.String(), tc.want)
			}
		})
	}
}

func TestParseStructure(t *testing.T) {
	src := "%% two rules\n{allow, {username, {re, \"^x\"}}, {publish, [{qos, [1]}, {retain, false}]}, [\"a/%c\", {eq, \"e/${clientid}\"}]}.\n\n" +
		"  {deny, all}.\n"
	rules, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 {
		t.Fatalf("got %d rules, want 2", len(rules))
	}
	r := rules[0]
	if r.Line != 2 || rules[1].Line != 4 {
		t.Errorf("lines = %d, %d; want 2, 4", r.Line, rules[1].Line)
	}
	if r.Permission != Allow || rules[1].Permission != Deny {
		t.Errorf("permissions = %v, %v", r.Permission, rules[1].Permission)
	}
	if r.Who.Kind != WhoUsername || r.Who.Regexp == nil || !r.whoLast {
		t.Errorf("who = %+v, whoLast %v", r.Who, r.whoLast)
	}
	if r.Action.Action != core.ActionPublish || r.Action.QoS != 1<<1 || r.Action.Retain != RetainFalse {
		t.Errorf("action = %+v", r.Action)
	}
	if r.Action.QoS.Has(0) || !r.Action.QoS.Has(1) || r.Action.QoS.Has(2) || AnyQoS.Has(3) {
		t.Errorf("QoSSet.Has wrong for %08b", r.Action.QoS)
	}
	if len(r.Topics) != 2 || r.Topics[0].tmpl == nil || r.Topics[0].pre != "a/" || r.Topics[1].tmpl != nil || !r.Topics[1].Eq {
		t.Errorf("topics = %+v", r.Topics)
	}
	for in, want := range map[string]string{
		"a/b/${clientid}/#": "a/b/", "a/+/${clientid}": "", "${clientid}/a": "", "ab${clientid}": "", "a/b${username}": "a/",
	} {
		tmpl, err := parseTemplate(in)
		if err != nil || tmpl == nil {
			t.Fatalf("parseTemplate(%q) = %v, %v", in, tmpl, err)
		}
		if got := literalLevels(tmpl); got != want {
			t.Errorf("literalLevels(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseTemplate(t *testing.T) {
	cases := []struct {
		in   string
		want []segment // nil: no placeholder
	}{
		{"a/b", nil},
		{"a/%cx", nil},
		{"a/x%c", nil},
		{"100%u", nil},
		{"a/${clientid", nil},
		{"a/${a/b}", nil},
		{"a/${}", nil},
		{"%c", []segment{{ph: phClientID}}},
		{"a/%u/b", []segment{{lit: "a/"}, {ph: phUsername}, {lit: "/b"}}},
		{"a/${clientid}", []segment{{lit: "a/"}, {ph: phClientID}}},
		{"x${username}y/${clientid}", []segment{{lit: "x"}, {ph: phUsername}, {lit: "y/"}, {ph: phClientID}}},
		{"${x/${clientid}", []segment{{lit: "${x/"}, {ph: phClientID}}},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseTemplate(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) || (got == nil) != (tc.want == nil) {
				t.Fatalf("parseTemplate(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("parseTemplate(%q) = %+v, want %+v", tc.in, got, tc.want)
				}
			}
		})
	}
}

// TestParseErrors checks that malformed input is reported at the right line
// and column with what was expected.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, src string
		want      string // the error text, or its prefix when it ends in "..."
		kind      error
	}{
		{"missing comma", `{allow, all, subscribe ["a"]}.`,
			`acl.conf:1:24: expected ',' or '}', got '['`, ErrSyntax},
		{"missing bracket", "{allow, all, subscribe,\n  [\"a\", \"b\"}.",
			`acl.conf:2:12: expected ',' or ']', got '}'`, ErrSyntax},
		{"missing dot", "{allow, all}\n{deny, all}.",
			`acl.conf:2:1: expected '.' after the rule, got '{'`, ErrSyntax},
		{"missing dot at eof", `{allow, all}`,
			`acl.conf:1:13: expected '.' after the rule, got end of file`, ErrSyntax},
		{"unterminated string", "{allow, all, publish, [\"a/b]}.\n",
			`acl.conf:1:24: unterminated string`, ErrSyntax},
		{"unterminated quoted atom", "{'and", `acl.conf:1:2: unterminated quoted atom`, ErrSyntax},
		{"variable", `{allow, All}.`,
			`acl.conf:1:9: unexpected variable All (an atom that begins with a capital letter must be quoted: 'All')`, ErrSyntax},
		{"unexpected character", "\n\n   {allow, #}.", `acl.conf:3:12: unexpected character '#'`, ErrSyntax},
		{"column counts characters", `{allow, {username, "ü"} x}.`,
			`acl.conf:1:25: expected ',' or '}', got atom x`, ErrSyntax},
		{"float", `{allow, all, {publish, [{qos, 1.5}]}, ["t"]}.`, `acl.conf:1:31: floats are not allowed here`, ErrSyntax},
		{"radix number", `{allow, all, {publish, [{qos, 16#1}]}, ["t"]}.`,
			`acl.conf:1:31: unsupported number syntax (only decimal integers are accepted)`, ErrSyntax},
		{"bad hex escape", `{allow, {username, "\xZ"}, all, ["t"]}.`,
			`acl.conf:1:21: invalid \x escape (want \xHH or \x{H...})`, ErrSyntax},
		{"bad binary", `{allow, all, all, [<<1>>]}.`, `acl.conf:1:22: expected a string in the binary, got integer 1`, ErrSyntax},
		{"stray close", `}.`, `acl.conf:1:1: expected a term, got '}'`, ErrSyntax},
		{"too deep", strings.Repeat("[", maxDepth+1), `acl.conf:1:65: terms nested deeper than 64 levels`, ErrSyntax},
		{"invalid utf-8", "{allow, {username, \"\xff\"}, all, [\"t\"]}.", `acl.conf:1:20: string is not valid UTF-8`, ErrSyntax},

		{"not a rule", `allow.`,
			`acl.conf:1:1: expected a rule {allow|deny, Who, Action, Topics} or {allow|deny, all}, got allow`, ErrInvalidRule},
		{"three elements", `{allow, all, publish}.`,
			`acl.conf:1:1: expected a rule {allow|deny, Who, Action, Topics} or {allow|deny, all}, got {allow, all, publish}`,
			ErrInvalidRule},
		{"bad permission", `{permit, all}.`, `acl.conf:1:2: expected allow or deny, got permit`, ErrInvalidRule},
		{"two-element not all", `{allow, publish}.`, `acl.conf:1:9: expected all in a two-element rule, got publish`, ErrInvalidRule},
		{"unknown who", "%% c\n\n{allow, {usr, \"a\"}, publish, [\"t\"]}.",
			`acl.conf:3:9: unknown who {usr, "a"}: expected all, {username, ...}, ...`, ErrInvalidRule},
		{"unknown who atom", `{allow, everyone, publish, ["t"]}.`, `acl.conf:1:9: unknown who everyone: ...`, ErrInvalidRule},
		{"username not string", `{allow, {username, 5}, publish, ["t"]}.`,
			`acl.conf:1:20: expected a string or {re, "regex"} after username, got 5`, ErrInvalidRule},
		{"bad regex", `{allow, {clientid, {re, "(?=x)"}}, publish, ["t"]}.`,
			`acl.conf:1:25: invalid regex "(?=x)": ...`, ErrInvalidRule},
		{"bad ip", `{allow, {ipaddr, "300.1.1.1"}, publish, ["t"]}.`,
			`acl.conf:1:18: invalid IP address or CIDR "300.1.1.1": ...`, ErrInvalidRule},
		{"bad cidr in list", `{allow, {ipaddrs, ["10.0.0.0/8", "10.0.0.0/33"]}, publish, ["t"]}.`,
			`acl.conf:1:34: invalid IP address or CIDR "10.0.0.0/33": ...`, ErrInvalidRule},
		{"empty and", `{allow, {'and', []}, publish, ["t"]}.`,
			`acl.conf:1:17: expected a non-empty list of conditions after 'and', got []`, ErrInvalidRule},
		{"unknown action", "{allow, all,\n    pub, [\"t\"]}.",
			`acl.conf:2:5: unknown action pub: expected publish, subscribe, all, ...`, ErrInvalidRule},
		{"bad qos", `{allow, all, {publish, [{qos, [0, 3]}]}, ["t"]}.`, `acl.conf:1:35: qos must be 0, 1 or 2, got 3`, ErrInvalidRule},
		{"empty qos", `{allow, all, {publish, [{qos, []}]}, ["t"]}.`,
			`acl.conf:1:31: empty qos list: the rule would match no QoS`, ErrInvalidRule},
		{"bad retain", `{allow, all, {publish, [{retain, yes}]}, ["t"]}.`,
			`acl.conf:1:34: retain must be true, false or all, got yes`, ErrInvalidRule},
		{"retain on subscribe", `{allow, all, {subscribe, [{retain, true}]}, ["t"]}.`,
			`acl.conf:1:27: retain applies to publish and all, not to subscribe`, ErrInvalidRule},
		{"unknown option", `{allow, all, {publish, [{qoz, 1}]}, ["t"]}.`,
			`acl.conf:1:25: expected {qos, ...} or {retain, ...}, got {qoz, 1}`, ErrInvalidRule},
		{"topics not a list", `{allow, all, publish, "t"}.`, `acl.conf:1:23: expected a list of topic filters, got "t"`, ErrInvalidRule},
		{"empty topics", `{allow, all, publish, []}.`, `acl.conf:1:23: empty topic list: the rule would match nothing`, ErrInvalidRule},
		{"bad topic", `{allow, all, publish, ["a/#/b"]}.`,
			`acl.conf:1:24: invalid topic filter "a/#/b": topic: wildcard not alone in its level or # not last`, ErrInvalidRule},
		{"bad eq topic", `{allow, all, publish, [{eq, ""}]}.`, `acl.conf:1:29: invalid topic filter "": topic: empty topic`, ErrInvalidRule},
		{"topic not string", `{allow, all, publish, [{ne, "t"}]}.`,
			`acl.conf:1:24: expected a topic filter string or {eq, "filter"}, got {ne, "t"}`, ErrInvalidRule},
		{"unknown placeholder", `{allow, all, publish, ["t/${peerhost}"]}.`,
			`acl.conf:1:24: unknown placeholder ${peerhost} in "t/${peerhost}" (want ${clientid} or ${username})`, ErrInvalidRule},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := Parse([]byte(tc.src))
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tc.src, rules)
			}
			got := err.Error()
			if prefix, ok := strings.CutSuffix(tc.want, "..."); ok {
				if !strings.HasPrefix(got, prefix) {
					t.Fatalf("error\n got %s\nwant %s", got, tc.want)
				}
			} else if got != tc.want {
				t.Fatalf("error\n got %s\nwant %s", got, tc.want)
			}
			if !errors.Is(err, tc.kind) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.kind)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != "acl.conf" || e.Line < 1 || e.Col < 1 {
				t.Errorf("error %#v is not a positioned *Error", err)
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	if _, err := LoadFile("testdata/does-not-exist.conf"); err == nil || !strings.HasPrefix(err.Error(), "acl: ") {
		t.Fatalf("LoadFile(missing) error = %v, want acl: ...", err)
	}
	path := t.TempDir() + "/bad.conf"
	if err := os.WriteFile(path, []byte("{allow, all}.\n{deny, all"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(path)
	if err == nil || err.Error() != path+":2:11: expected ',' or '}', got end of file" {
		t.Fatalf("LoadFile(bad) error = %v", err)
	}
}

func TestDecisionString(t *testing.T) {
	for d, want := range map[Decision]string{Allow: "allow", Deny: "deny", NoMatch: "nomatch", 9: "Decision(9)"} {
		if got := d.String(); got != want {
			t.Errorf("Decision(%d).String() = %q, want %q", d, got, want)
		}
	}
}

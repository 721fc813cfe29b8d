package acl

import (
	"net/netip"
	"testing"

	"github.com/manifold-iot/manifold/core"
)

// testRules covers every form. There is no catch-all rule, so a request that
// no rule covers is NoMatch.
const testRules = `
%% First match wins: the deny above shadows the allow below for order/x.
{deny, {clientid, "order"}, publish, ["order/x"]}.
{allow, {clientid, "order"}, publish, ["order/#"]}.

%% Placeholders, EMQX 5 and EMQX 4 forms.
{allow, all, all, ["users/${clientid}/#", "names/%u/#", "mix/${username}-${clientid}"]}.
{allow, all, publish, ["wild/+/${clientid}", "a/rather/long/filter/that/does/not/fit/${clientid}/x"]}.

%% {eq, "#"} is the literal filter #; a/# is a real filter.
{deny, {username, "eqtest"}, subscribe, [{eq, "#"}]}.
{allow, {username, "eqtest"}, subscribe, ["a/#", "b/+", "eq/${clientid}"]}.
{allow, {username, "eqtest"}, subscribe, [{eq, "eq/${clientid}"}]}.

%% $SYS for monitoring users (regex on username).
{allow, {username, {re, "^mon-"}}, subscribe, ["$SYS/#"]}.

%% Wildcard rules cover $-topics (EMQX compares levels directly).
{deny, {clientid, "nosys"}, publish, ["#"]}.
{allow, {clientid, "plus"}, subscribe, ["+/brokers/#"]}.
{allow, {clientid, "wide"}, subscribe, ["w/+/#", "v/+"]}.

%% Regex on client id, with a placeholder.
{allow, {clientid, {re, "^sensor-[0-9]+$"}}, publish, ["sensors/${clientid}/data"]}.

%% Addresses.
{allow, {ipaddr, "192.168.0.0/16"}, publish, ["lan/#"]}.
{allow, {ipaddrs, ["2001:db8::/32", "::1"]}, publish, ["v6/#"]}.
{allow, {ipaddr, "127.0.0.1"}, publish, ["local/#"]}.

%% 'and' / 'or'.
{allow, {'and', [{username, "ops"}, {ipaddr, "10.0.0.0/8"}]}, all, ["ops/#"]}.
{allow, {'or', [{clientid, "c1"}, {user, "u1"}]}, subscribe, ["shared/#"]}.

%% QoS and retain qualified actions.
{allow, all, {publish, [{qos, [0, 1]}, {retain, false}]}, ["qos/#"]}.
{deny, all, {subscribe, [{qos, 2}]}, ["qos/#"]}.
{allow, all, subscribe, ["qos/#"]}.
{deny, all, {all, [{retain, true}]}, ["ret/#"]}.
{allow, all, all, ["ret/#"]}.
`

func mustParse(t testing.TB, src string) *File {
	t.Helper()
	rules, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return &File{Rules: rules}
}

func peer(s string) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr(s), 40000)
}

func TestCheck(t *testing.T) {
	f := mustParse(t, testRules)
	const (
		pub = core.ActionPublish
		sub = core.ActionSubscribe
	)
	cid := func(id string) *core.ClientInfo { return &core.ClientInfo{ClientID: id} }
	user := func(u string) *core.ClientInfo { return &core.ClientInfo{ClientID: "id-" + u, Username: u} }
	from := func(ip string) *core.ClientInfo { return &core.ClientInfo{ClientID: "x", Peer: peer(ip)} }
	cases := []struct {
		name   string
		c      *core.ClientInfo
		action core.Action
		topic  string
		qos    core.QoS
		retain bool
		want   Decision
	}{
		// First match wins.
		{"first match deny", cid("order"), pub, "order/x", 0, false, Deny},
		{"second rule allows", cid("order"), pub, "order/y", 0, false, Allow},
		{"publish-only rules skip subscribe", cid("order"), sub, "order/y", 0, false, NoMatch},

		// Placeholders.
		{"${clientid} own", cid("c9"), pub, "users/c9/status", 0, false, Allow},
		{"${clientid} other", cid("c9"), pub, "users/c8/status", 0, false, NoMatch},
		{"${clientid} subscribe own subtree", cid("c9"), sub, "users/c9/#", 0, false, Allow},
		{"${clientid} subscribe wider", cid("c9"), sub, "users/#", 0, false, NoMatch},
		{"%u own", user("bob"), pub, "names/bob/x", 0, false, Allow},
		{"%u other", user("bob"), pub, "names/alice/x", 0, false, NoMatch},
		{"%u without username", cid("c9"), pub, "names//x", 0, false, NoMatch},
		{"%u literal does not match", cid("c9"), pub, "names/%u/x", 0, false, NoMatch},
		{"two placeholders in a level", &core.ClientInfo{ClientID: "c", Username: "u"}, pub, "mix/u-c", 0, false, Allow},
		{"two placeholders, username missing", cid("c"), pub, "mix/-c", 0, false, NoMatch},
		{"client id + adds no wildcard", cid("+"), pub, "users/anyone/x", 0, false, NoMatch},
		{"client id a/# adds no wildcard", cid("a/#"), pub, "users/a/b/x", 0, false, NoMatch},
		{"client id with + inside a level", cid("a+b"), pub, "users/a+b/x", 0, false, Allow},
		{"client id with slash", cid("a/b"), pub, "users/a/b/x", 0, false, Allow},
		{"wildcard before placeholder", cid("c7"), pub, "wild/any/c7", 0, false, Allow},
		{"wildcard before placeholder, other id", cid("c7"), pub, "wild/any/c8", 0, false, NoMatch},
		{"long templated filter", cid("c7"), pub, "a/rather/long/filter/that/does/not/fit/c7/x", 0, false, Allow},
		{"long templated filter, other id", cid("c7"), pub, "a/rather/long/filter/that/does/not/fit/c8/x", 0, false, NoMatch},

		// {eq, "#"} against # and a/#.
		{"eq # denies subscribe #", user("eqtest"), sub, "#", 0, false, Deny},
		{"a/# allowed", user("eqtest"), sub, "a/#", 0, false, Allow},
		{"a/+ under a/#", user("eqtest"), sub, "a/+", 0, false, Allow},
		{"a/b/c under a/#", user("eqtest"), sub, "a/b/c", 0, false, Allow},
		{"a under a/#", user("eqtest"), sub, "a", 0, false, Allow},
		{"+ is not #", user("eqtest"), sub, "+", 0, false, NoMatch},
		{"b/+ under b/+", user("eqtest"), sub, "b/+", 0, false, Allow},
		{"b/# not under b/+ level count", user("eqtest"), sub, "b/x/#", 0, false, NoMatch},
		// Allow rules must cover the whole subscription (EMQX lets these through).
		{"b/# is wider than allow b/+", user("eqtest"), sub, "b/#", 0, false, NoMatch},
		{"w/# is wider than allow w/+/#", cid("wide"), sub, "w/#", 0, false, NoMatch},
		{"w/x/# is under allow w/+/#", cid("wide"), sub, "w/x/#", 0, false, Allow},
		{"w/x/y/# is under allow w/+/#", cid("wide"), sub, "w/x/y/#", 0, false, Allow},
		{"v/# is wider than allow v/+", cid("wide"), sub, "v/#", 0, false, NoMatch},
		{"users/c9/x/# under allow users/${clientid}/#", cid("c9"), sub, "users/c9/x/#", 0, false, Allow},
		{"shared b/# is wider than allow b/+", user("eqtest"), sub, "$share/g/b/#", 0, false, NoMatch},
		{"shared # is checked as #", user("eqtest"), sub, "$share/g/#", 0, false, Deny},
		{"queue a/+ is checked as a/+", user("eqtest"), sub, "$queue/a/+", 0, false, Allow},
		{"eq takes no placeholder", user("eqtest"), sub, "eq/${clientid}", 0, false, Allow},
		{"eq rule does not apply to publish", user("eqtest"), pub, "#", 0, false, NoMatch},

		// $SYS.
		{"$SYS uptime for monitor", user("mon-1"), sub, "$SYS/brokers/+/uptime", 0, false, Allow},
		{"$SYS/# for monitor", user("mon-1"), sub, "$SYS/#", 0, false, Allow},
		{"regex is anchored by the rule", user("xmon-1"), sub, "$SYS/#", 0, false, NoMatch},
		{"rule # covers $SYS publish", cid("nosys"), pub, "$SYS/brokers/n/x", 0, false, Deny},
		{"rule + covers $SYS level", cid("plus"), sub, "$SYS/brokers/x", 0, false, Allow},

		// Regex on client id.
		{"sensor own topic", cid("sensor-12"), pub, "sensors/sensor-12/data", 0, false, Allow},
		{"sensor other topic", cid("sensor-12"), pub, "sensors/sensor-13/data", 0, false, NoMatch},
		{"not a sensor id", cid("sensor-x"), pub, "sensors/sensor-x/data", 0, false, NoMatch},

		// Addresses.
		{"v4 in CIDR", from("192.168.1.5"), pub, "lan/a", 0, false, Allow},
		{"v4 outside CIDR", from("192.169.0.1"), pub, "lan/a", 0, false, NoMatch},
		{"v4-mapped v6 in CIDR", from("::ffff:192.168.1.5"), pub, "lan/a", 0, false, Allow},
		{"v4 single address", from("127.0.0.1"), pub, "local/x", 0, false, Allow},
		{"v4-mapped single address", from("::ffff:127.0.0.1"), pub, "local/x", 0, false, Allow},
		{"no address", cid("x"), pub, "lan/a", 0, false, NoMatch},
		{"v6 in prefix", from("2001:db8::5"), pub, "v6/x", 0, false, Allow},
		{"v6 loopback", from("::1"), pub, "v6/x", 0, false, Allow},
		{"v6 other host", from("::2"), pub, "v6/x", 0, false, NoMatch},
		{"v6 outside prefix", from("2001:db9::1"), pub, "v6/x", 0, false, NoMatch},
		{"v6 with zone", &core.ClientInfo{Peer: netip.AddrPortFrom(netip.MustParseAddr("2001:db8::5%eth0"), 1)}, pub, "v6/x", 0, false, Allow},

		// 'and' / 'or'.
		{"and both hold", &core.ClientInfo{Username: "ops", Peer: peer("10.2.3.4")}, sub, "ops/#", 0, false, Allow},
		{"and wrong network", &core.ClientInfo{Username: "ops", Peer: peer("11.0.0.1")}, pub, "ops/x", 0, false, NoMatch},
		{"and wrong user", &core.ClientInfo{Username: "dev", Peer: peer("10.2.3.4")}, pub, "ops/x", 0, false, NoMatch},
		{"or by client id", cid("c1"), sub, "shared/x", 0, false, Allow},
		{"or by username", user("u1"), sub, "shared/x", 0, false, Allow},
		{"or neither", user("u2"), sub, "shared/x", 0, false, NoMatch},
		{"or shared subscription", cid("c1"), sub, "$share/grp/shared/x", 0, false, Allow},

		// QoS and retain.
		{"publish qos 0", cid("q"), pub, "qos/a", 0, false, Allow},
		{"publish qos 1", cid("q"), pub, "qos/a", 1, false, Allow},
		{"publish qos 2 not listed", cid("q"), pub, "qos/a", 2, false, NoMatch},
		{"publish retained not allowed", cid("q"), pub, "qos/a", 0, true, NoMatch},
		{"subscribe qos 2 denied", cid("q"), sub, "qos/#", 2, false, Deny},
		{"subscribe qos 1 allowed", cid("q"), sub, "qos/#", 1, false, Allow},
		{"all+retain denies retained publish", cid("q"), pub, "ret/x", 1, true, Deny},
		{"all+retain lets plain publish through", cid("q"), pub, "ret/x", 1, false, Allow},
		// As in EMQX, {all, [{retain, ...}]} narrows publish only: the rule
		// applies to every subscribe.
		{"retain option ignored for subscribe", cid("q"), sub, "ret/x", 1, false, Deny},
		{"invalid qos matches nothing", cid("q"), sub, "qos/x", 3, false, NoMatch},

		// Odd requests.
		{"both actions need one rule covering both", cid("q"), core.ActionAll, "qos/x", 0, false, NoMatch},
		{"both actions, all rule", cid("q"), core.ActionAll, "ret/x", 0, false, Allow},
		{"both actions, publish-only rule", cid("order"), core.ActionAll, "order/y", 0, false, NoMatch},
		{"no action", cid("q"), 0, "ret/x", 0, false, NoMatch},
		{"unknown action bits", cid("q"), 4, "ret/x", 0, false, NoMatch},
		{"nil client", nil, pub, "ret/x", 0, false, Allow},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := f.Check(tc.c, tc.action, tc.topic, tc.qos, tc.retain); got != tc.want {
				t.Fatalf("Check(%+v, %v, %q, qos %d, retain %v) = %v, want %v",
					tc.c, tc.action, tc.topic, tc.qos, tc.retain, got, tc.want)
			}
		})
	}
}

func TestCheckNilFile(t *testing.T) {
	var f *File
	if got := f.Check(&core.ClientInfo{}, core.ActionPublish, "t", 0, false); got != NoMatch {
		t.Fatalf("nil File: %v, want nomatch", got)
	}
}

func TestAllMatchesEverything(t *testing.T) {
	f := mustParse(t, `{deny, all}.`)
	for _, tc := range []struct {
		action core.Action
		topic  string
	}{
		{core.ActionPublish, "a"}, {core.ActionPublish, "$SYS/x"}, {core.ActionSubscribe, "#"},
		{core.ActionSubscribe, "$SYS/#"}, {core.ActionSubscribe, "$share/g/+"}, {core.ActionPublish, "/"},
	} {
		if got := f.Check(&core.ClientInfo{ClientID: "c"}, tc.action, tc.topic, 2, true); got != Deny {
			t.Errorf("{deny, all}: %v %q = %v, want deny", tc.action, tc.topic, got)
		}
	}
}

func TestMatchFilter(t *testing.T) {
	cases := []struct {
		filter, name string
		want         bool
	}{
		{"#", "$SYS/a", true},
		{"+", "$SYS", true},
		{"+", "$SYS/a", false},
		{"+/#", "$SYS", true},
		{"+/a", "$SYS/a", true},
		{"+/a", "$SYS/b", false},
		{"+/+", "$x/$y", true},
		{"$SYS/#", "$SYS/brokers/+/uptime", true},
		{"$SYS/+", "$SYS/brokers/+/uptime", false},
		{"a/#", "a/+", true},
		{"a/+", "a/+", true},
		{"a/#", "#", false},
		{"#", "#", true},
		{"a/b", "a/b", true},
	}
	for _, tc := range cases {
		if got := matchFilter(tc.filter, tc.name); got != tc.want {
			t.Errorf("matchFilter(%q, %q) = %v, want %v", tc.filter, tc.name, got, tc.want)
		}
	}
}

func TestRealFilter(t *testing.T) {
	for in, want := range map[string]string{
		"a/b":              "a/b",
		"$share/g/a/#":     "a/#",
		"$share/g/#":       "#",
		"$share/g":         "$share/g",
		"$queue/a/+":       "a/+",
		"$exclusive/a/b":   "a/b",
		"$SYS/brokers/#":   "$SYS/brokers/#",
		"$sharex/g/a":      "$sharex/g/a",
		"$share/$queue/a":  "a",
		"":                 "",
		"$share//whatever": "whatever",
	} {
		if got := realFilter(in); got != want {
			t.Errorf("realFilter(%q) = %q, want %q", in, got, want)
		}
	}
}

package acl

import (
	"testing"

	"github.com/manifold-iot/manifold/core"
)

// benchRules is a 20-rule file of the kinds deployments use.
const benchRules = `
{allow, {username, {re, "^dashboard$"}}, subscribe, ["$SYS/#"]}.
{allow, {ipaddr, "127.0.0.1"}, all, ["$SYS/#", "#"]}.
{deny, {clientid, "banned-1"}, all, ["#"]}.
{deny, {clientid, {re, "^test-"}}, publish, ["prod/#"]}.
{allow, {username, "admin"}, all, ["#"]}.
{allow, {ipaddrs, ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"]}, subscribe, ["internal/#"]}.
{allow, {'and', [{username, "ops"}, {ipaddr, "10.0.0.0/8"}]}, all, ["ops/#"]}.
{allow, {'or', [{clientid, "gw-1"}, {clientid, "gw-2"}]}, publish, ["gateway/+/up"]}.
{allow, all, {publish, [{qos, [0, 1]}, {retain, false}]}, ["telemetry/${clientid}/#"]}.
{allow, all, subscribe, ["commands/${clientid}/#"]}.
{allow, all, publish, ["users/%u/status"]}.
{deny, all, {publish, [{retain, true}]}, ["alerts/#"]}.
{allow, all, publish, ["alerts/+/raised"]}.
{allow, all, {subscribe, [{qos, [0, 1]}]}, ["news/#"]}.
{deny, all, subscribe, ["$SYS/#", {eq, "#"}]}.
{deny, all, publish, ["$SYS/#"]}.
{allow, {username, "billing"}, all, ["billing/#"]}.
{allow, {clientid, "exporter"}, subscribe, ["metrics/#"]}.
{allow, all, subscribe, ["public/#"]}.
{deny, all, all, ["private/#"]}.
`

func BenchmarkCheck(b *testing.B) {
	f := mustParse(b, benchRules)
	if len(f.Rules) != 20 {
		b.Fatalf("%d rules, want 20", len(f.Rules))
	}
	client := &core.ClientInfo{ClientID: "dev-42", Username: "alice", Peer: peer("203.0.113.9")}
	cases := []struct {
		name   string
		action core.Action
		topic  string
		want   Decision
	}{
		// Falls through 18 rules (two regexes among them) to a plain filter.
		{"publish_last_rule", core.ActionPublish, "private/x/y", Deny},
		// Reaches the ${clientid} rule: one render per check.
		{"publish_placeholder", core.ActionPublish, "telemetry/dev-42/temp", Allow},
		// Falls through every rule.
		{"subscribe_nomatch", core.ActionSubscribe, "nothing/+/here", NoMatch},
		{"subscribe_shared", core.ActionSubscribe, "$share/g/public/a/#", Allow},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			if got := f.Check(client, tc.action, tc.topic, core.QoS1, false); got != tc.want {
				b.Fatalf("Check = %v, want %v", got, tc.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				f.Check(client, tc.action, tc.topic, core.QoS1, false)
			}
		})
	}
}

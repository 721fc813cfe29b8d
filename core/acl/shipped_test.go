package acl

import (
	"testing"

	"github.com/manifold-iot/manifold/core"
)

// TestShippedFile checks that configs/acl.conf behaves as EMQX's default
// acl.conf does.
func TestShippedFile(t *testing.T) {
	f, err := LoadFile("../../configs/acl.conf")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rules) != 4 {
		t.Fatalf("shipped file has %d rules, want 4", len(f.Rules))
	}
	local := &core.ClientInfo{ClientID: "local", Peer: peer("127.0.0.1")}
	remote := &core.ClientInfo{ClientID: "remote", Peer: peer("10.1.2.3")}
	dashboard := &core.ClientInfo{ClientID: "dash", Username: "dashboard", Peer: peer("203.0.113.7")}
	const (
		pub = core.ActionPublish
		sub = core.ActionSubscribe
	)
	cases := []struct {
		name   string
		c      *core.ClientInfo
		action core.Action
		topic  string
		want   Decision
	}{
		{"localhost subscribes $SYS/#", local, sub, "$SYS/#", Allow},
		{"localhost subscribes #", local, sub, "#", Allow},
		{"localhost as v4-mapped subscribes #", &core.ClientInfo{ClientID: "m", Peer: peer("::ffff:127.0.0.1")}, sub, "#", Allow},
		{"remote may not subscribe $SYS/#", remote, sub, "$SYS/#", Deny},
		{"remote may not subscribe $SYS subtree", remote, sub, "$SYS/brokers/+/uptime", Deny},
		{"remote may not subscribe #", remote, sub, "#", Deny},
		{"remote may not subscribe shared #", remote, sub, "$share/g/#", Deny},
		{"remote subscribes a/#", remote, sub, "a/#", Allow},
		{"remote publishes a/b", remote, pub, "a/b", Allow},
		{"dashboard subscribes uptime", dashboard, sub, "$SYS/brokers/+/uptime", Allow},
		{"dashboard subscribes $SYS/#", dashboard, sub, "$SYS/#", Allow},
		{"dashboard may not subscribe #", dashboard, sub, "#", Deny},
		{"dashboard-x is not dashboard", &core.ClientInfo{Username: "dashboard-x", Peer: peer("10.1.2.3")}, sub, "$SYS/#", Deny},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := f.Check(tc.c, tc.action, tc.topic, core.QoS1, false); got != tc.want {
				t.Fatalf("Check(%+v, %v, %q) = %v, want %v", tc.c, tc.action, tc.topic, got, tc.want)
			}
		})
	}
}

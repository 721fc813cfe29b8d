package hooks

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/core"
)

func TestBanned(t *testing.T) {
	now := time.Unix(1000, 0)
	b := NewBanned()
	b.now = func() time.Time { return now }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.Add(Ban{As: BanClientID, Who: "bad"}))
	must(b.Add(Ban{As: BanUsername, Who: "mallory", Until: now.Add(time.Minute)}))
	must(b.Add(Ban{As: BanPeerhost, Who: "10.0.0.9"}))
	if err := b.Add(Ban{As: BanClientID, Who: "bad"}); err != ErrBanExists {
		t.Fatalf("second ban: %v", err)
	}
	if err := b.Add(Ban{As: "ip", Who: "x"}); err != ErrBanKind {
		t.Fatalf("bad kind: %v", err)
	}
	cases := []struct {
		name string
		c    core.ClientInfo
		want Decision
	}{
		{"banned client id", core.ClientInfo{ClientID: "bad"}, Deny},
		{"banned username", core.ClientInfo{ClientID: "ok", Username: "mallory"}, Deny},
		{"banned peer", core.ClientInfo{ClientID: "ok", Peer: netip.MustParseAddrPort("10.0.0.9:5000")}, Deny},
		{"banned peer as v4-mapped v6", core.ClientInfo{ClientID: "ok", Peer: netip.MustParseAddrPort("[::ffff:10.0.0.9]:5000")}, Deny},
		{"someone else", core.ClientInfo{ClientID: "good", Username: "alice", Peer: netip.MustParseAddrPort("10.0.0.8:1")}, Ignore},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := b.Authenticate(&tc.c, nil); got != tc.want {
				t.Fatalf("Authenticate = %v, want %v", got, tc.want)
			}
		})
	}
	now = now.Add(2 * time.Minute) // mallory's ban ends
	if b.Authenticate(&core.ClientInfo{ClientID: "ok", Username: "mallory"}, nil) != Ignore {
		t.Fatal("an expired ban still denies")
	}
	if n := len(b.List()); n != 2 {
		t.Fatalf("List has %d bans after expiry, want 2", n)
	}
	if !b.Delete(BanClientID, "bad") || b.Delete(BanClientID, "bad") {
		t.Fatal("Delete did not delete exactly once")
	}
	ch := &Chain{Authenticators: []Authenticator{b}, AllowAnonymous: true}
	err := ch.Authenticate(&core.ClientInfo{ClientID: "x", Peer: netip.MustParseAddrPort("10.0.0.9:1")}, nil)
	if !errors.Is(err, ErrNotAuthorized) || !errors.Is(err, core.ErrBanned) {
		t.Fatalf("chain on a banned peer: %v, want ErrNotAuthorized and core.ErrBanned", err)
	}
}

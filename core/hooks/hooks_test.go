package hooks

import (
	"errors"
	"testing"

	"github.com/manifold-iot/manifold/core"
)

// fixed is a provider that always gives the same answer and counts calls.
type fixed struct {
	d     Decision
	calls int
}

func (f *fixed) Name() string { return "fixed-" + f.d.String() }
func (f *fixed) Authorize(*core.ClientInfo, core.Action, string, core.QoS, bool) Decision {
	f.calls++
	return f.d
}
func (f *fixed) Authenticate(*core.ClientInfo, []byte) Decision { f.calls++; return f.d }

func TestAuthorizeFirstDecisionWins(t *testing.T) {
	cases := []struct {
		name    string
		chain   []Decision
		noMatch Decision
		super   bool
		want    bool
		asked   int // providers consulted
	}{
		{"allow stops the chain", []Decision{Ignore, Allow, Deny}, Deny, false, true, 2},
		{"deny stops the chain", []Decision{Deny, Allow}, Allow, false, false, 1},
		{"no provider decides: no_match allow", []Decision{Ignore, Ignore}, Allow, false, true, 2},
		{"no provider decides: no_match deny", []Decision{Ignore}, Deny, false, false, 1},
		{"empty chain uses no_match", nil, Deny, false, false, 0},
		{"superuser skips the chain", []Decision{Deny}, Deny, true, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var provs []*fixed
			ch := &Chain{NoMatch: tc.noMatch}
			for _, d := range tc.chain {
				p := &fixed{d: d}
				provs = append(provs, p)
				ch.Authorizers = append(ch.Authorizers, p)
			}
			got := ch.Authorize(&core.ClientInfo{IsSuperuser: tc.super}, core.ActionPublish, "t", 0, false)
			asked := 0
			for _, p := range provs {
				asked += p.calls
			}
			if got != tc.want || asked != tc.asked {
				t.Fatalf("Authorize = %v after asking %d, want %v after %d", got, asked, tc.want, tc.asked)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	cases := []struct {
		name      string
		chain     []Decision
		anonymous bool
		wantErr   bool
	}{
		{"allowed", []Decision{Allow}, false, false},
		{"denied", []Decision{Deny, Allow}, true, true},
		{"nobody decides, anonymous allowed", []Decision{Ignore}, true, false},
		{"nobody decides, anonymous refused", []Decision{Ignore}, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := &Chain{AllowAnonymous: tc.anonymous}
			for _, d := range tc.chain {
				ch.Authenticators = append(ch.Authenticators, &fixed{d: d})
			}
			err := ch.Authenticate(&core.ClientInfo{}, nil)
			if (err != nil) != tc.wantErr || err != nil && !errors.Is(err, ErrNotAuthorized) {
				t.Fatalf("Authenticate = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}

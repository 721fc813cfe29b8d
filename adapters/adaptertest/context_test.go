package adaptertest

import (
	"testing"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/core"
)

func TestContextDenyList(t *testing.T) {
	var c Context
	c.Deny("publish:secret", "subscribe:hidden/#")
	tests := []struct {
		action core.Action
		topic  string
		want   bool
	}{
		{core.ActionPublish, "secret", false},
		{core.ActionSubscribe, "secret", true},
		{core.ActionSubscribe, "hidden/#", false},
		{core.ActionPublish, "open", true},
	}
	for _, tc := range tests {
		if got := c.Authorize(&core.ClientInfo{}, tc.action, tc.topic, core.QoS0, false); got != tc.want {
			t.Errorf("Authorize(%v, %q) = %v, want %v", tc.action, tc.topic, got, tc.want)
		}
	}
	if c.Authenticate(adapters.AuthRequest{Client: &core.ClientInfo{ClientID: "anyone"}}) != nil {
		t.Error("Authenticate refused a client")
	}
	if got := c.DenyAction(); got != "ignore" {
		t.Errorf("DenyAction = %q, want ignore by default", got)
	}
	c.DenyWith = "disconnect"
	if got := c.DenyAction(); got != "disconnect" {
		t.Errorf("DenyAction = %q, want disconnect", got)
	}
}

package broker

import (
	"testing"

	"github.com/manifold-iot/manifold/core"
)

func TestViews(t *testing.T) {
	b := newBroker(t, nil)
	a := connect(t, b, "a", true, 0, nil)
	c := connect(t, b, "c", false, 3600e9, nil)
	a.sub(t, b, "x/+", core.SubOptions{QoS: 1})
	a.sub(t, b, "$share/g/y/#", core.SubOptions{})
	c.sub(t, b, "x/+", core.SubOptions{})
	b.Disconnect("c", c.conn, false, nil, "normal")

	var ids []string
	var online []bool
	b.Clients(func(v ClientView) bool {
		ids = append(ids, v.Info.ClientID)
		online = append(online, v.Connected)
		return true
	})
	if !same(ids, "a", "c") || online[0] != true || online[1] != false {
		t.Fatalf("Clients = %v %v, want [a c] [true false]", ids, online)
	}
	v, ok := b.Client("a")
	if !ok || v.Subscriptions != 2 || !v.Connected || v.ConnectedAt.IsZero() {
		t.Fatalf("Client(a) = %+v %v", v, ok)
	}
	if _, ok := b.Client("nobody"); ok {
		t.Fatal("Client(nobody) found")
	}
	if got := b.Topics(); !same(got, "x/+", "y/#") {
		t.Fatalf("Topics = %v", got)
	}
	subs := b.AllSubscriptions()
	if len(subs) != 3 || subs[0].ClientID != "a" || subs[0].Filter != "$share/g/y/#" || subs[0].Group != "g" || subs[0].Topic != "y/#" {
		t.Fatalf("AllSubscriptions = %+v", subs)
	}

	if _, err := b.SubscribeFor("a", "z", core.SubOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Subscriptions("a")["z"]; !ok {
		t.Fatal("SubscribeFor did not subscribe")
	}
	if _, err := b.SubscribeFor("c", "z", core.SubOptions{}); err != ErrNotConnected {
		t.Fatalf("SubscribeFor offline: %v, want ErrNotConnected", err)
	}
	if ok, err := b.UnsubscribeFor("a", "z"); !ok || err != nil {
		t.Fatalf("UnsubscribeFor = %v %v", ok, err)
	}

	if b.DiscardSession("a") {
		t.Fatal("DiscardSession ended an online client's session")
	}
	if !b.DiscardSession("c") || b.DiscardSession("c") {
		t.Fatal("DiscardSession did not end the offline session exactly once")
	}
	if _, ok := b.Client("c"); ok || len(b.Subscriptions("c")) != 0 {
		t.Fatal("discarded session still listed")
	}
	if got := b.Topics(); !same(got, "x/+", "y/#") { // a's subscriptions remain
		t.Fatalf("Topics after discard = %v", got)
	}

	pub(t, b, "a", "r/1", 0, true, "kept")
	if !b.DeleteRetained("r/1") || b.DeleteRetained("r/1") || b.Retained().Len() != 0 {
		t.Fatal("DeleteRetained did not delete exactly once")
	}
}

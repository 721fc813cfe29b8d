package mqtt

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	mq "github.com/manifold-iot/manifold/codec/mqtt"
	"github.com/manifold-iot/manifold/core/broker"
)

var versions = []struct {
	name string
	v    byte
}{{"3.1", mq.V31}, {"3.1.1", mq.V311}, {"5.0", mq.V5}}

func TestConnackProperties(t *testing.T) {
	e := newEnv(t, func(c *Config, b *broker.Config) { c.ServerKeepalive = 30; c.MaxInflight = 10 })
	c := e.dial(mq.V5)
	ack := c.connect(&mq.Connect{CleanStart: true, KeepAlive: 120})
	pr := ack.Properties
	if ack.ReasonCode != mq.Success || pr.ReceiveMaximum != 10 || pr.ServerKeepAlive != 30 || !pr.HasServerKeepAlive ||
		pr.AssignedClientIdentifier == "" || pr.TopicAliasMaximum != 65535 || pr.MaximumPacketSize != 1<<20 {
		t.Fatalf("CONNACK %+v", ack)
	}
	// The server keepalive governs: 30 s × 1.5.
	if at, ok := c.d.TimerSet(timerKeepalive); !ok || time.Until(at) < 40*time.Second || time.Until(at) > 50*time.Second {
		t.Fatalf("keepalive timer %v %v, want 45 s from now", at, ok)
	}
}

func TestServerKeepaliveIsACeiling(t *testing.T) {
	cases := []struct {
		name      string
		v         byte
		ask       uint16
		want      time.Duration // 1.5 × the keepalive in force; 0: no timer
		announced uint16        // CONNACK Server Keep Alive; 0: absent
	}{
		{"v5 asks more", mq.V5, 120, 45 * time.Second, 30},
		{"v5 asks none", mq.V5, 0, 45 * time.Second, 30},
		{"v5 asks less keeps its own", mq.V5, 10, 15 * time.Second, 0},
		{"v3 keeps its own", mq.V311, 120, 180 * time.Second, 0},
		{"v3 without keepalive has none", mq.V311, 0, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config, _ *broker.Config) { c.ServerKeepalive = 30 })
			c := e.dial(tc.v)
			ack := c.connect(&mq.Connect{ClientID: "k", CleanStart: true, KeepAlive: tc.ask})
			if ack.Properties.ServerKeepAlive != tc.announced {
				t.Fatalf("Server Keep Alive %d, want %d", ack.Properties.ServerKeepAlive, tc.announced)
			}
			at, ok := c.d.TimerSet(timerKeepalive)
			if tc.want == 0 {
				if ok {
					t.Fatal("keepalive timer set for a client without keepalive")
				}
				return
			}
			if d := time.Until(at); !ok || d < tc.want-5*time.Second || d > tc.want+time.Second {
				t.Fatalf("keepalive timer in %v, want %v", d, tc.want)
			}
		})
	}
}

func TestPublishSubscribeAllQoS(t *testing.T) {
	for _, sv := range versions {
		for _, pv := range versions {
			t.Run(sv.name+" subscriber, "+pv.name+" publisher", func(t *testing.T) {
				e := newEnv(t, nil)
				sub, pub := e.dial(sv.v), e.dial(pv.v)
				sub.mustConnect("sub", true)
				pub.mustConnect("pub", true)
				if ack := sub.subscribe("t/#", 2); ack.ReasonCodes[0] != 2 {
					t.Fatalf("SUBACK %v", ack.ReasonCodes)
				}
				for qos := byte(0); qos <= 2; qos++ {
					pub.send(&mq.Publish{Topic: "t/x", QoS: qos, PacketID: uint16(qos) + 10, Payload: []byte{qos}})
					switch qos {
					case 1:
						if a := one[*mq.Puback](pub); a.PacketID != 11 {
							t.Fatalf("PUBACK %+v", a)
						}
					case 2:
						one[*mq.Pubrec](pub)
						pub.send(&mq.Pubrel{PacketID: 12})
						one[*mq.Pubcomp](pub)
					}
					got := one[*mq.Publish](sub)
					if got.QoS != qos || got.Topic != "t/x" || !bytes.Equal(got.Payload, []byte{qos}) {
						t.Fatalf("delivered %+v", got)
					}
					switch qos {
					case 1:
						sub.send(&mq.Puback{PacketID: got.PacketID})
					case 2:
						sub.send(&mq.Pubrec{PacketID: got.PacketID})
						if rel := one[*mq.Pubrel](sub); rel.PacketID != got.PacketID {
							t.Fatalf("PUBREL %+v", rel)
						}
						sub.send(&mq.Pubcomp{PacketID: got.PacketID})
					}
				}
				if ps := sub.recv(); len(ps) != 0 {
					t.Fatalf("unexpected %v", types(ps))
				}
			})
		}
	}
}

func TestQoS2DuplicateIsRoutedOnce(t *testing.T) {
	e := newEnv(t, nil)
	sub, pub := e.dial(mq.V311), e.dial(mq.V311)
	sub.mustConnect("sub", true)
	pub.mustConnect("pub", true)
	sub.subscribe("t", 0)
	pub.send(&mq.Publish{Topic: "t", QoS: 2, PacketID: 5, Payload: []byte("x")})
	one[*mq.Pubrec](pub)
	pub.send(&mq.Publish{Topic: "t", QoS: 2, PacketID: 5, Dup: true, Payload: []byte("x")})
	one[*mq.Pubrec](pub)
	if ps := sub.recv(); len(ps) != 1 {
		t.Fatalf("subscriber got %d messages, want 1", len(ps))
	}
}

func TestRetainedAndWill(t *testing.T) {
	e := newEnv(t, nil)
	pub := e.dial(mq.V311)
	pub.connect(&mq.Connect{ClientID: "pub", CleanStart: true, WillFlag: true, WillTopic: "will/pub", WillQoS: 1, WillPayload: []byte("gone")})
	pub.send(&mq.Publish{Topic: "r/1", Retain: true, Payload: []byte("kept")})

	sub := e.dial(mq.V5)
	sub.mustConnect("sub", true)
	sub.send(&mq.Subscribe{PacketID: 1, Subscriptions: []mq.Subscription{{Filter: "r/#", QoS: 1}, {Filter: "will/#", QoS: 1}}})
	ps := sub.recv()
	if len(ps) != 2 {
		t.Fatalf("got %v, want SUBACK then the retained message", types(ps))
	}
	if r := ps[1].(*mq.Publish); !r.Retain || string(r.Payload) != "kept" {
		t.Fatalf("retained delivery %+v", r)
	}
	pub.d.Hangup(errors.New("connection reset"))
	if w := one[*mq.Publish](sub); w.Topic != "will/pub" || string(w.Payload) != "gone" {
		t.Fatalf("will %+v", w)
	}

	quiet := e.dial(mq.V311)
	quiet.connect(&mq.Connect{ClientID: "quiet", CleanStart: true, WillFlag: true, WillTopic: "will/quiet"})
	quiet.send(&mq.Disconnect{})
	if !quiet.closed() {
		t.Fatal("DISCONNECT did not close")
	}
	if ps := sub.recv(); len(ps) != 0 {
		t.Fatalf("will published after a normal DISCONNECT: %v", types(ps))
	}
}

func TestOperatorKickSendsDisconnect98AndTheWill(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.dial(mq.V5)
	sub.mustConnect("watcher", true)
	sub.subscribe("will/#", 1)
	dev := e.dial(mq.V5)
	dev.connect(&mq.Connect{ClientID: "dev", CleanStart: true, WillFlag: true, WillTopic: "will/dev", WillQoS: 1, WillPayload: []byte("gone")})
	if !e.ctx.Kick("dev", errors.New("kicked by the operator")) {
		t.Fatal("Kick found no connection")
	}
	dev.d.Pump()
	if d := one[*mq.Disconnect](dev); d.ReasonCode != mq.AdministrativeAction {
		t.Fatalf("kicked client got DISCONNECT %v, want 0x98", d.ReasonCode)
	}
	if !dev.closed() {
		t.Fatal("kicked connection not closed")
	}
	if w := one[*mq.Publish](sub); w.Topic != "will/dev" || string(w.Payload) != "gone" {
		t.Fatalf("will %+v", w)
	}
}

func TestTakeoverSendsDisconnect8E(t *testing.T) {
	e := newEnv(t, nil)
	old := e.dial(mq.V5)
	old.mustConnect("dup", true)
	cur := e.dial(mq.V5)
	cur.mustConnect("dup", true)
	if d := one[*mq.Disconnect](old); d.ReasonCode != mq.SessionTakenOver {
		t.Fatalf("old connection got DISCONNECT %v", d.ReasonCode)
	}
	if !old.closed() {
		t.Fatal("old connection not closed")
	}
}

func TestPersistentSessionQueuesAndResends(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.dial(mq.V311)
	sub.mustConnect("sub", false)
	sub.subscribe("t", 1)
	pub := e.dial(mq.V311)
	pub.mustConnect("pub", true)
	pub.send(&mq.Publish{Topic: "t", QoS: 1, PacketID: 1, Payload: []byte("first")})
	one[*mq.Puback](pub)
	first := one[*mq.Publish](sub) // not acknowledged
	sub.d.Hangup(errors.New("reset"))
	pub.send(&mq.Publish{Topic: "t", QoS: 1, PacketID: 2, Payload: []byte("offline")})
	one[*mq.Puback](pub)

	again := e.dial(mq.V311)
	again.send(&mq.Connect{ProtocolName: "MQTT", ProtocolLevel: mq.V311, ClientID: "sub"})
	ps := again.recv()
	if len(ps) != 3 {
		t.Fatalf("got %v, want CONNACK, the resent message, the offline message", types(ps))
	}
	if ack := ps[0].(*mq.Connack); !ack.SessionPresent {
		t.Fatal("session not present")
	}
	if r := ps[1].(*mq.Publish); !r.Dup || r.PacketID != first.PacketID || string(r.Payload) != "first" {
		t.Fatalf("resend %+v", r)
	}
	if o := ps[2].(*mq.Publish); o.Dup || string(o.Payload) != "offline" {
		t.Fatalf("offline message %+v", o)
	}
}

func TestKeepaliveAndConnectTimeout(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial(mq.V5)
	c.connect(&mq.Connect{ClientID: "k", CleanStart: true, KeepAlive: 10})
	c.advance(14 * time.Second)
	if c.closed() {
		t.Fatal("closed before 1.5 × keepalive")
	}
	c.advance(2 * time.Second)
	if d := one[*mq.Disconnect](c); d.ReasonCode != mq.KeepAliveTimeout || !c.closed() {
		t.Fatalf("DISCONNECT %v closed=%v", d.ReasonCode, c.closed())
	}

	idle := e.dial(mq.V311)
	idle.advance(16 * time.Second)
	if ok, reason := idle.d.Closed(); !ok || !errors.Is(reason, ErrConnectTimeout) {
		t.Fatalf("a connection without CONNECT: closed=%v reason=%v", ok, reason)
	}
}

func TestAuthorizationDenied(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.ctx.Deny("subscribe:test/nosubscribe", "publish:secret")
			c := e.dial(v.v)
			c.mustConnect("c", true)
			ack := c.subscribe("test/nosubscribe", 1)
			want := mq.NotAuthorized
			if v.v != mq.V5 {
				want = 0x80
			}
			if ack.ReasonCodes[0] != want {
				t.Fatalf("SUBACK %v, want %v", ack.ReasonCodes, want)
			}
			c.send(&mq.Publish{Topic: "secret", QoS: 1, PacketID: 3})
			pa := one[*mq.Puback](c)
			if v.v == mq.V5 && pa.ReasonCode != mq.NotAuthorized {
				t.Fatalf("PUBACK %v, want 0x87", pa.ReasonCode)
			}
		})
	}
	t.Run("deny_action disconnect", func(t *testing.T) {
		e := newEnv(t, nil)
		e.ctx.DenyWith = "disconnect"
		e.ctx.Deny("publish:secret")
		c := e.dial(mq.V5)
		c.mustConnect("c", true)
		c.send(&mq.Publish{Topic: "secret", QoS: 0})
		if d := one[*mq.Disconnect](c); d.ReasonCode != mq.NotAuthorized || !c.closed() {
			t.Fatalf("DISCONNECT %v", d.ReasonCode)
		}
	})
}

func TestTopicAliases(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *broker.Config) { c.MaxTopicAlias = 5 })
	sub := e.dial(mq.V5)
	sub.connect(&mq.Connect{ClientID: "sub", CleanStart: true, Properties: mq.Properties{TopicAliasMaximum: 2}})
	sub.subscribe("a/#", 0)
	pub := e.dial(mq.V5)
	pub.mustConnect("pub", true)
	pub.send(&mq.Publish{Topic: "a/long/topic", Properties: mq.Properties{TopicAlias: 3}, Payload: []byte("1")})
	pub.send(&mq.Publish{Properties: mq.Properties{TopicAlias: 3}, Payload: []byte("2")})
	ps := sub.recv()
	if len(ps) != 2 {
		t.Fatalf("got %v", types(ps))
	}
	p1, p2 := ps[0].(*mq.Publish), ps[1].(*mq.Publish)
	if p1.Topic != "a/long/topic" || p1.Properties.TopicAlias == 0 || p2.Topic != "" || p2.Properties.TopicAlias != p1.Properties.TopicAlias {
		t.Fatalf("outbound aliases: %+v then %+v", p1, p2)
	}
	pub.send(&mq.Publish{Properties: mq.Properties{TopicAlias: 4}, Payload: []byte("3")})
	if d := one[*mq.Disconnect](pub); d.ReasonCode != mq.ProtocolError {
		t.Fatalf("unknown alias: DISCONNECT %v", d.ReasonCode)
	}
	bad := e.dial(mq.V5)
	bad.mustConnect("bad", true)
	bad.send(&mq.Publish{Topic: "x", Properties: mq.Properties{TopicAlias: 6}})
	if d := one[*mq.Disconnect](bad); d.ReasonCode != mq.TopicAliasInvalid {
		t.Fatalf("alias over the maximum: DISCONNECT %v", d.ReasonCode)
	}
}

func TestMaximumPacketSizeOutbound(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.dial(mq.V5)
	sub.connect(&mq.Connect{ClientID: "sub", CleanStart: true, Properties: mq.Properties{MaximumPacketSize: 64}})
	sub.subscribe("t", 1)
	pub := e.dial(mq.V5)
	pub.mustConnect("pub", true)
	pub.send(&mq.Publish{Topic: "t", QoS: 1, PacketID: 1, Payload: bytes.Repeat([]byte("x"), 100)})
	pub.send(&mq.Publish{Topic: "t", QoS: 1, PacketID: 2, Payload: []byte("small")})
	ps := sub.recv()
	if len(ps) != 1 || string(ps[0].(*mq.Publish).Payload) != "small" {
		t.Fatalf("got %v, want only the small message", types(ps))
	}
}

func TestReceiveMaximumExceeded(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *broker.Config) { c.MaxInflight = 2 })
	c := e.dial(mq.V5)
	c.mustConnect("c", true)
	for id := uint16(1); id <= 2; id++ {
		c.send(&mq.Publish{Topic: "t", QoS: 2, PacketID: id})
		one[*mq.Pubrec](c)
	}
	c.send(&mq.Publish{Topic: "t", QoS: 2, PacketID: 3})
	if d := one[*mq.Disconnect](c); d.ReasonCode != mq.ReceiveMaximumExceeded || !c.closed() {
		t.Fatalf("DISCONNECT %v closed=%v", d.ReasonCode, c.closed())
	}
}

func TestMalformedAndRefused(t *testing.T) {
	t.Run("v5 malformed packet gets DISCONNECT 0x81", func(t *testing.T) {
		e := newEnv(t, nil)
		c := e.dial(mq.V5)
		c.mustConnect("c", true)
		c.sendRaw([]byte{0x30, 0x03, 0x00, 0x05, 'a'}) // topic length past the packet
		if d := one[*mq.Disconnect](c); d.ReasonCode != mq.MalformedPacket || !c.closed() {
			t.Fatalf("DISCONNECT %v", d.ReasonCode)
		}
	})
	t.Run("unknown protocol level gets CONNACK 0x01", func(t *testing.T) {
		e := newEnv(t, nil)
		c := e.dial(mq.V311)
		c.sendRaw([]byte{0x10, 0x0c, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x09, 0x02, 0x00, 0x3c, 0x00, 0x00})
		if a := one[*mq.Connack](c); a.ReasonCode != mq.ConnRefusedUnacceptableProtocolVersion || !c.closed() {
			t.Fatalf("CONNACK %v", a.ReasonCode)
		}
	})
	t.Run("PUBLISH before CONNECT closes", func(t *testing.T) {
		e := newEnv(t, nil)
		c := e.dial(mq.V311)
		c.send(&mq.Publish{Topic: "t"})
		if !c.closed() {
			t.Fatal("not closed")
		}
	})
	t.Run("second CONNECT closes", func(t *testing.T) {
		e := newEnv(t, nil)
		c := e.dial(mq.V5)
		c.mustConnect("c", true)
		c.send(&mq.Connect{ProtocolName: "MQTT", ProtocolLevel: 5, ClientID: "c"})
		if d := one[*mq.Disconnect](c); d.ReasonCode != mq.ProtocolError {
			t.Fatalf("DISCONNECT %v", d.ReasonCode)
		}
	})
	t.Run("anonymous refused", func(t *testing.T) {
		e := newEnv(t, nil)
		e.ctx.anonymous = false
		for _, v := range versions {
			c := e.dial(v.v)
			ack := c.connect(&mq.Connect{ClientID: "c", CleanStart: true})
			want := mq.BadUserNameOrPassword
			if v.v != mq.V5 {
				want = mq.ConnRefusedBadUserNameOrPassword
			}
			if ack.ReasonCode != want || !c.closed() {
				t.Fatalf("%s: CONNACK %v", v.name, ack.ReasonCode)
			}
		}
	})
}

func TestManyMessagesFlowThroughTheWindow(t *testing.T) {
	e := newEnv(t, func(c *Config, b *broker.Config) { b.Session.MaxInflight = 4; b.Session.MaxQueueLen = 0 })
	sub, pub := e.dial(mq.V311), e.dial(mq.V311)
	sub.mustConnect("sub", true)
	pub.mustConnect("pub", true)
	sub.subscribe("n", 1)
	const total = 100
	for i := range total {
		pub.send(&mq.Publish{Topic: "n", QoS: 1, PacketID: uint16(i + 1), Payload: []byte(fmt.Sprint(i))})
	}
	if got := len(pub.recv()); got != total {
		t.Fatalf("%d PUBACKs, want %d", got, total)
	}
	next := 0
	for next < total {
		ps := sub.recv()
		if len(ps) == 0 || len(ps) > 4 {
			t.Fatalf("a window of 4 delivered %d", len(ps))
		}
		for _, p := range ps {
			m := p.(*mq.Publish)
			if string(m.Payload) != fmt.Sprint(next) {
				t.Fatalf("got %s, want %d", m.Payload, next)
			}
			next++
			sub.send(&mq.Puback{PacketID: m.PacketID})
		}
	}
	if st := e.ctx.Stats(); st.Dropped != 0 || st.Delivered != total {
		t.Fatalf("broker stats %+v", st)
	}
}

// Push-back: past max_mqueue_len a subscriber's queue still takes QoS 1
// messages, but the publisher's PUBACKs wait (in order) until it drains, so
// nothing acknowledged is dropped.
func TestPushBackHoldsPubacksUntilTheSubscriberDrains(t *testing.T) {
	e := newEnv(t, func(c *Config, b *broker.Config) {
		b.Session.MaxQueueLen = 4
		b.Session.MaxInflight = 1
	})
	sub, pub := e.dial(mq.V311), e.dial(mq.V5)
	sub.mustConnect("sub", true)
	pub.mustConnect("pub", true)
	sub.subscribe("p", 1)
	const total = 20
	for i := range total {
		pub.send(&mq.Publish{Topic: "p", QoS: 1, PacketID: uint16(i + 1), Payload: []byte(fmt.Sprint(i))})
	}
	acked := len(pub.recv())
	if acked == 0 || acked >= total {
		t.Fatalf("%d of %d PUBACKs sent while the subscriber does not read: want some held", acked, total)
	}
	received := 0
	for received < total {
		ps := sub.recv()
		if len(ps) == 0 {
			t.Fatalf("subscriber stalled at %d of %d", received, total)
		}
		for _, p := range ps {
			m := p.(*mq.Publish)
			if string(m.Payload) != fmt.Sprint(received) {
				t.Fatalf("got %s, want %d", m.Payload, received)
			}
			received++
			sub.send(&mq.Puback{PacketID: m.PacketID})
		}
		for _, p := range pub.recv() {
			a := p.(*mq.Puback)
			acked++
			if int(a.PacketID) != acked {
				t.Fatalf("PUBACK %d out of order, want %d", a.PacketID, acked)
			}
		}
	}
	for _, p := range pub.recv() {
		if int(p.(*mq.Puback).PacketID) != acked+1 {
			t.Fatalf("PUBACK out of order")
		}
		acked++
	}
	if acked != total {
		t.Fatalf("%d PUBACKs, want %d", acked, total)
	}
	if st := e.ctx.Stats(); st.Dropped != 0 {
		t.Fatalf("dropped %d acknowledged messages", st.Dropped)
	}
}

func TestHeldAckIsReleasedAfterAckHold(t *testing.T) {
	e := newEnv(t, func(c *Config, b *broker.Config) {
		b.Session.MaxQueueLen = 1
		b.Session.MaxInflight = 1
		c.AckHold = time.Second
	})
	sub, pub := e.dial(mq.V311), e.dial(mq.V311)
	sub.mustConnect("sub", true)
	pub.mustConnect("pub", true)
	sub.subscribe("p", 1)
	for i := range 3 {
		pub.send(&mq.Publish{Topic: "p", QoS: 1, PacketID: uint16(i + 1)})
	}
	// The subscriber has not been served yet: its queue is at max_mqueue_len
	// from the first message on, so every PUBACK waits.
	if n := len(pub.recv()); n != 0 {
		t.Fatalf("%d PUBACKs while the subscriber is pressured, want 0", n)
	}
	pub.advance(2 * time.Second)
	ps := pub.recv()
	if len(ps) != 3 || ps[0].(*mq.Puback).PacketID != 1 || ps[2].(*mq.Puback).PacketID != 3 {
		t.Fatalf("after ack_hold got %v, want PUBACK 1, 2, 3", types(ps))
	}
}

func TestAwaitRelTimeoutForgetsThePacketID(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *broker.Config) { c.AwaitRelTimeout = 40 * time.Second })
	sub, pub := e.dial(mq.V311), e.dial(mq.V311)
	sub.mustConnect("sub", true)
	pub.connect(&mq.Connect{ClientID: "pub", CleanStart: true, KeepAlive: 0})
	sub.subscribe("t", 2)
	pub.send(&mq.Publish{Topic: "t", QoS: 2, PacketID: 9, Payload: []byte("one")})
	one[*mq.Pubrec](pub) // and no PUBREL follows
	pub.advance(20 * time.Second)
	pub.send(&mq.Publish{Topic: "t", QoS: 2, PacketID: 9, Payload: []byte("dup")})
	one[*mq.Pubrec](pub)
	if n := len(sub.recv()); n != 1 {
		t.Fatalf("subscriber got %d messages, want 1: id 9 still awaits PUBREL", n)
	}
	pub.advance(40 * time.Second)
	pub.send(&mq.Publish{Topic: "t", QoS: 2, PacketID: 9, Payload: []byte("new")})
	one[*mq.Pubrec](pub)
	if ps := sub.recv(); len(ps) != 1 || string(ps[0].(*mq.Publish).Payload) != "new" {
		t.Fatalf("after await_rel_timeout id 9 is a new message; got %v", types(ps))
	}
}

package sn

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	snc "github.com/manifold-iot/manifold/codec/sn"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
)

func TestConnectRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    *snc.Connect
		deny string
	}{
		{"unknown protocol id", &snc.Connect{ProtocolID: 2, ClientID: "a"}, ""},
		{"empty client id", &snc.Connect{ProtocolID: 1}, ""},
		{"authentication refused", &snc.Connect{ProtocolID: 1, ClientID: "bad"}, "connect:bad"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if tc.deny != "" {
				e.ctx.Deny(tc.deny)
			}
			c := e.dial()
			c.send(tc.c)
			if ack := one[*snc.Connack](c); ack.ReturnCode != snc.RejectedNotSupported {
				t.Fatalf("CONNACK %v", ack.ReturnCode)
			}
			if !c.closed() {
				t.Fatal("refused client still open")
			}
		})
	}
}

func TestSearchGw(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *broker.Config) { c.GatewayID = 42 })
	c := e.dial()
	c.send(&snc.SearchGw{Radius: 1})
	if gw := one[*snc.GwInfo](c); gw.GwID != 42 {
		t.Fatalf("GWINFO %+v", gw)
	}
}

// Publishing at each QoS to a registered topic reaches a subscriber, and
// each QoS gets its own acknowledgement (§6.8).
func TestPublishQoS(t *testing.T) {
	for _, qos := range []byte{0, 1, 2, snc.QoSMinus1} {
		t.Run(fmt.Sprintf("qos%d", qos), func(t *testing.T) {
			e := newEnv(t, nil)
			sub := e.dial()
			sub.connect("sub", true, 60)
			ack := sub.subscribe(&snc.Subscribe{QoS: 2, TopicName: "a/b"})
			if ack.ReturnCode != snc.Accepted || ack.TopicID < FirstDynamicID {
				t.Fatalf("SUBACK %+v", ack)
			}
			pub := e.dial()
			pub.connect("pub", true, 60)
			id := pub.register("a/b")
			pub.send(&snc.Publish{QoS: qos, TopicID: id, MsgID: 9, Data: []byte("hello")})
			switch qos {
			case 1:
				if a := one[*snc.Puback](pub); a.MsgID != 9 || a.ReturnCode != snc.Accepted || a.TopicID != id {
					t.Fatalf("PUBACK %+v", a)
				}
			case 2:
				if a := one[*snc.Pubrec](pub); a.MsgID != 9 {
					t.Fatalf("PUBREC %+v", a)
				}
				pub.send(&snc.Pubrel{MsgID: 9})
				if a := one[*snc.Pubcomp](pub); a.MsgID != 9 {
					t.Fatalf("PUBCOMP %+v", a)
				}
			default:
				if ms := pub.recv(); len(ms) != 0 {
					t.Fatalf("QoS %d publish answered %v", qos, types(ms))
				}
			}
			p := one[*snc.Publish](sub)
			want := qos
			if qos == snc.QoSMinus1 {
				want = 0
			}
			if p.TopicID != ack.TopicID || p.TopicIDType != snc.TopicNormal || string(p.Data) != "hello" || p.QoS != want {
				t.Fatalf("delivered %+v", p)
			}
		})
	}
}

func TestPublishQoS2Duplicate(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.dial()
	sub.connect("sub", true, 60)
	sub.subscribe(&snc.Subscribe{TopicName: "q2"})
	pub := e.dial()
	pub.connect("pub", true, 60)
	id := pub.register("q2")
	p := &snc.Publish{QoS: 2, TopicID: id, MsgID: 3, Data: []byte("x")}
	pub.send(p)
	one[*snc.Pubrec](pub)
	p.Dup = true
	pub.send(p) // the PUBREC was lost
	one[*snc.Pubrec](pub)
	if ms := sub.recv(); len(ms) != 1 {
		t.Fatalf("subscriber got %v, want the message once", types(ms))
	}
}

// Outbound QoS 1 and 2 complete with the client's acknowledgements.
func TestDeliverQoS(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.dial()
	sub.connect("sub", true, 60)
	ack := sub.subscribe(&snc.Subscribe{QoS: 2, TopicName: "t"})
	e.ctx.Publish(&core.Message{Topic: "t", QoS: 1, Payload: []byte("1")})
	p := one[*snc.Publish](sub)
	if p.QoS != 1 || p.MsgID == 0 || p.TopicID != ack.TopicID {
		t.Fatalf("PUBLISH %+v", p)
	}
	sub.send(&snc.Puback{TopicID: p.TopicID, MsgID: p.MsgID})
	e.ctx.Publish(&core.Message{Topic: "t", QoS: 2, Payload: []byte("2")})
	p = one[*snc.Publish](sub)
	sub.send(&snc.Pubrec{MsgID: p.MsgID})
	if rel := one[*snc.Pubrel](sub); rel.MsgID != p.MsgID {
		t.Fatalf("PUBREL %+v", rel)
	}
	sub.send(&snc.Pubcomp{MsgID: p.MsgID})
	if st := e.ctx.Session("sub").Stats(); st.Inflight != 0 {
		t.Fatalf("inflight %d after the exchanges", st.Inflight)
	}
}

func TestPublishUnknownTopicID(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.connect("c", true, 60)
	for _, p := range []*snc.Publish{
		{QoS: 1, TopicID: 4000, MsgID: 1},
		{QoS: 0, TopicIDType: snc.TopicPredefined, TopicID: 99, MsgID: 0},
		{QoS: 1, TopicIDType: snc.TopicShort, TopicID: 0x2B2B, MsgID: 2}, // "++"
	} {
		c.send(p)
		if a := one[*snc.Puback](c); a.ReturnCode != snc.RejectedInvalidTopic || a.TopicID != p.TopicID {
			t.Fatalf("PUBACK %+v for %+v", a, p)
		}
	}
}

func TestRegister(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *broker.Config) { c.MaxTopics = 2 })
	c := e.dial()
	c.connect("c", true, 60)
	a := c.register("x/1")
	if a < FirstDynamicID {
		t.Fatalf("dynamic id %d below %d", a, FirstDynamicID)
	}
	if again := c.register("x/1"); again != a {
		t.Fatalf("same name got %d then %d", a, again)
	}
	c.register("x/2")
	for _, tc := range []struct {
		name string
		want snc.ReturnCode
	}{{"x/+", snc.RejectedNotSupported}, {"#", snc.RejectedNotSupported}, {"x/3", snc.RejectedCongestion}} {
		c.send(&snc.Register{MsgID: 5, TopicName: tc.name})
		if ack := one[*snc.Regack](c); ack.ReturnCode != tc.want {
			t.Fatalf("REGISTER %q: %v, want %v", tc.name, ack.ReturnCode, tc.want)
		}
	}
}

// Predefined and short topics work without REGISTER, both ways.
func TestPredefinedAndShortTopics(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.dial()
	sub.connect("sub", true, 60)
	if ack := sub.subscribe(&snc.Subscribe{TopicIDType: snc.TopicPredefined, TopicID: 7}); ack.ReturnCode != snc.Accepted || ack.TopicID != 7 {
		t.Fatalf("SUBACK predefined %+v", ack)
	}
	if ack := sub.subscribe(&snc.Subscribe{TopicIDType: snc.TopicPredefined, TopicID: 8}); ack.ReturnCode != snc.RejectedInvalidTopic {
		t.Fatalf("SUBACK unknown predefined %+v", ack)
	}
	short, _ := snc.ShortTopicID("ab")
	if ack := sub.subscribe(&snc.Subscribe{TopicIDType: snc.TopicShort, TopicID: short}); ack.ReturnCode != snc.Accepted || ack.TopicID != 0 {
		t.Fatalf("SUBACK short %+v", ack)
	}
	pub := e.dial()
	pub.connect("pub", true, 60)
	pub.send(&snc.Publish{TopicIDType: snc.TopicPredefined, TopicID: 7, Data: []byte("p")})
	pub.send(&snc.Publish{TopicIDType: snc.TopicShort, TopicID: short, Data: []byte("s")})
	ms := sub.recv()
	if len(ms) != 2 {
		t.Fatalf("got %v", types(ms))
	}
	p1, p2 := ms[0].(*snc.Publish), ms[1].(*snc.Publish)
	if p1.TopicIDType != snc.TopicPredefined || p1.TopicID != 7 || string(p1.Data) != "p" {
		t.Fatalf("predefined delivery %+v", p1)
	}
	if p2.TopicIDType != snc.TopicShort || p2.TopicID != short || string(p2.Data) != "s" {
		t.Fatalf("short delivery %+v", p2)
	}
}

// A wildcard subscription gets topic id 0; each new topic is registered to
// the client (and acknowledged) before its first PUBLISH (§6.10).
func TestWildcardRegistersBeforePublish(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.dial()
	sub.connect("sub", true, 60)
	if ack := sub.subscribe(&snc.Subscribe{QoS: 1, TopicName: "w/#"}); ack.TopicID != 0 || ack.QoS != 1 {
		t.Fatalf("SUBACK %+v", ack)
	}
	e.ctx.Publish(&core.Message{Topic: "w/a", Payload: []byte("1")})
	e.ctx.Publish(&core.Message{Topic: "w/a", Payload: []byte("2")})
	reg := one[*snc.Register](sub)
	if reg.TopicName != "w/a" || reg.TopicID < FirstDynamicID {
		t.Fatalf("REGISTER %+v", reg)
	}
	sub.send(&snc.Regack{TopicID: reg.TopicID, MsgID: reg.MsgID})
	ms := sub.recv()
	if len(ms) != 2 {
		t.Fatalf("after REGACK got %v, want two PUBLISH", types(ms))
	}
	for i, m := range ms {
		p := m.(*snc.Publish)
		if p.TopicID != reg.TopicID || string(p.Data) != fmt.Sprint(i+1) {
			t.Fatalf("PUBLISH %d %+v", i, p)
		}
	}
	// A client that refuses the registration does not get the messages.
	e.ctx.Publish(&core.Message{Topic: "w/b", Payload: []byte("3")})
	reg = one[*snc.Register](sub)
	sub.send(&snc.Regack{TopicID: reg.TopicID, MsgID: reg.MsgID, ReturnCode: snc.RejectedNotSupported})
	if ms := sub.recv(); len(ms) != 0 {
		t.Fatalf("after a refused REGISTER got %v", types(ms))
	}
}

func TestUnsubscribe(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.connect("c", true, 60)
	c.subscribe(&snc.Subscribe{TopicName: "u"})
	c.send(&snc.Unsubscribe{MsgID: 77, TopicName: "u"})
	if a := one[*snc.Unsuback](c); a.MsgID != 77 {
		t.Fatalf("UNSUBACK %+v", a)
	}
	e.ctx.Publish(&core.Message{Topic: "u"})
	if ms := c.recv(); len(ms) != 0 {
		t.Fatalf("got %v after UNSUBSCRIBE", types(ms))
	}
}

func TestSubscribeDenied(t *testing.T) {
	e := newEnv(t, nil)
	e.ctx.Deny("subscribe:secret")
	c := e.dial()
	c.connect("c", true, 60)
	if ack := c.subscribe(&snc.Subscribe{TopicName: "secret"}); ack.ReturnCode != snc.RejectedNotSupported {
		t.Fatalf("SUBACK %+v", ack)
	}
}

// QoS -1: published without a connection, as NegQoS-Client, for
// predefined and short topics, through the ACL (§6.8).
func TestPublishQoSMinus1(t *testing.T) {
	short, _ := snc.ShortTopicID("sh")
	for _, tc := range []struct {
		name      string
		enable    bool
		deny      string
		p         snc.Publish
		delivered bool
		want      snc.ReturnCode // PUBACK code; 0xFF none
	}{
		{"predefined", true, "", snc.Publish{TopicIDType: snc.TopicPredefined, TopicID: 1}, true, 0xFF},
		{"short", true, "", snc.Publish{TopicIDType: snc.TopicShort, TopicID: short}, true, 0xFF},
		{"normal id refused", true, "", snc.Publish{TopicID: 1025}, false, snc.RejectedInvalidTopic},
		{"unknown predefined", true, "", snc.Publish{TopicIDType: snc.TopicPredefined, TopicID: 3}, false, snc.RejectedInvalidTopic},
		{"disabled", false, "", snc.Publish{TopicIDType: snc.TopicPredefined, TopicID: 1}, false, snc.RejectedNotSupported},
		{"denied by ACL", true, "publish:pre/one", snc.Publish{TopicIDType: snc.TopicPredefined, TopicID: 1}, false, snc.RejectedNotSupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config, _ *broker.Config) { c.EnableQoS3 = tc.enable })
			if tc.deny != "" {
				e.ctx.Deny(tc.deny)
			}
			sub := e.dial()
			sub.connect("sub", true, 60)
			sub.subscribe(&snc.Subscribe{TopicName: "#"})
			c := e.dial()
			p := tc.p
			p.QoS, p.Data = snc.QoSMinus1, []byte("neg")
			c.send(&p)
			ms := c.recv()
			if tc.want == 0xFF && len(ms) != 0 {
				t.Fatalf("answered %v", types(ms))
			}
			if tc.want != 0xFF {
				if len(ms) != 1 || ms[0].(*snc.Puback).ReturnCode != tc.want {
					t.Fatalf("answer %v, want PUBACK %v", types(ms), tc.want)
				}
			}
			got := sub.recv()
			if tc.delivered {
				pubs := sub.accept(got, map[uint16]string{})
				if len(pubs) == 0 {
					pubs = sub.accept(sub.recv(), map[uint16]string{})
				}
				if len(pubs) != 1 || string(pubs[0].Data) != "neg" || pubs[0].QoS != 0 {
					t.Fatalf("subscriber got %v", types(got))
				}
			} else if len(got) != 0 {
				t.Fatalf("subscriber got %v", types(got))
			}
			if c.closed() {
				t.Fatal("QoS -1 sender closed")
			}
		})
	}
}

// QoS -1 messages are published under the client id NegQoS-Client.
func TestQoSMinus1ClientID(t *testing.T) {
	e := newEnv(t, nil)
	var from string
	s := &recorder{}
	e.ctx.Connect(broker.ConnectRequest{Client: &core.ClientInfo{ClientID: "rec"}, Conn: s, CleanStart: true})
	if _, err := e.ctx.Subscribe("rec", s, "pre/one", core.SubOptions{}); err != nil {
		t.Fatal(err)
	}
	c := e.dial()
	c.send(&snc.Publish{QoS: snc.QoSMinus1, TopicIDType: snc.TopicPredefined, TopicID: 1, Data: []byte("x")})
	ds, _ := e.ctx.Session("rec").Take(nil, time.Now(), 0)
	if len(ds) == 1 {
		from = ds[0].Msg.From
	}
	if from != NegQoSClientID {
		t.Fatalf("published by %q, want %q", from, NegQoSClientID)
	}
}

type recorder struct{}

func (*recorder) Notify()    {}
func (*recorder) Kick(error) {}

// The will dialogue (§6.3), and the will published on keepalive timeout.
func TestWillOnKeepaliveTimeout(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.dial()
	sub.connect("sub", true, 0)
	sub.subscribe(&snc.Subscribe{QoS: 1, TopicName: "will/t"})

	c := e.dial()
	c.send(&snc.Connect{Will: true, CleanSession: true, ProtocolID: 1, Duration: 10, ClientID: "w"})
	one[*snc.WillTopicReq](c)
	c.send(&snc.WillTopic{QoS: 1, Topic: "will/t"})
	one[*snc.WillMsgReq](c)
	c.send(&snc.WillMsg{Msg: []byte("gone")})
	if ack := one[*snc.Connack](c); ack.ReturnCode != snc.Accepted {
		t.Fatalf("CONNACK %v", ack.ReturnCode)
	}
	c.advance(10 * time.Second) // within 1.5 × keepalive
	if c.closed() {
		t.Fatal("closed before keepalive × 1.5")
	}
	c.advance(6 * time.Second)
	if !c.closed() {
		t.Fatal("still open after keepalive × 1.5")
	}
	p := one[*snc.Publish](sub)
	if string(p.Data) != "gone" || p.QoS != 1 {
		t.Fatalf("will %+v", p)
	}
}

func TestNoWillAfterDisconnect(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.dial()
	sub.connect("sub", true, 0)
	sub.subscribe(&snc.Subscribe{TopicName: "will/t"})
	c := e.dial()
	c.send(&snc.Connect{Will: true, ProtocolID: 1, CleanSession: true, Duration: 10, ClientID: "w"})
	c.recv()
	c.send(&snc.WillTopic{Topic: "will/t"})
	c.recv()
	c.send(&snc.WillMsg{Msg: []byte("gone")})
	c.recv()
	c.send(&snc.Disconnect{})
	one[*snc.Disconnect](c)
	if !c.closed() {
		t.Fatal("open after DISCONNECT")
	}
	if ms := sub.recv(); len(ms) != 0 {
		t.Fatalf("will sent after DISCONNECT: %v", types(ms))
	}
}

// WILLTOPICUPD and WILLMSGUPD change the will (§6.4); an empty
// WILLTOPICUPD deletes it.
func TestWillUpdate(t *testing.T) {
	for _, del := range []bool{false, true} {
		t.Run(fmt.Sprintf("delete=%v", del), func(t *testing.T) {
			e := newEnv(t, nil)
			sub := e.dial()
			sub.connect("sub", true, 0)
			sub.subscribe(&snc.Subscribe{TopicName: "new/#"})
			c := e.dial()
			c.connect("w", true, 10)
			c.send(&snc.WillMsgUpd{Msg: []byte("m")})
			if r := one[*snc.WillMsgResp](c); r.ReturnCode != snc.RejectedNotSupported {
				t.Fatalf("WILLMSGRESP without a will topic: %v", r.ReturnCode)
			}
			c.send(&snc.WillTopicUpd{Topic: "new/will"})
			if r := one[*snc.WillTopicResp](c); r.ReturnCode != snc.Accepted {
				t.Fatalf("WILLTOPICRESP %v", r.ReturnCode)
			}
			c.send(&snc.WillMsgUpd{Msg: []byte("updated")})
			if r := one[*snc.WillMsgResp](c); r.ReturnCode != snc.Accepted {
				t.Fatalf("WILLMSGRESP %v", r.ReturnCode)
			}
			if del {
				c.send(&snc.WillTopicUpd{})
				one[*snc.WillTopicResp](c)
			}
			c.advance(time.Minute)
			ms := sub.recv()
			pubs := sub.accept(ms, map[uint16]string{})
			if len(pubs) == 0 && len(ms) > 0 {
				pubs = sub.accept(sub.recv(), map[uint16]string{})
			}
			if del && len(ms) != 0 {
				t.Fatalf("deleted will was published: %v", types(ms))
			}
			if !del && (len(pubs) != 1 || string(pubs[0].Data) != "updated") {
				t.Fatalf("will: %v", types(ms))
			}
		})
	}
}

// A sleeping client's messages are buffered; PINGREQ with its client id
// wakes it: REGISTER for the new topic, all 100 buffered messages, then
// PINGRESP; then it sleeps again (§6.14).
func TestSleepingClient(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.connect("sleepy", true, 30)
	c.subscribe(&snc.Subscribe{QoS: 0, TopicName: "s/#"})
	c.send(&snc.Disconnect{HasDuration: true, Duration: 60})
	if d := one[*snc.Disconnect](c); d.HasDuration {
		t.Fatalf("sleep acknowledged with %+v", d)
	}
	for i := range 100 {
		e.ctx.Publish(&core.Message{Topic: "s/x", Payload: fmt.Appendf(nil, "%d", i)})
	}
	if ms := c.recv(); len(ms) != 0 {
		t.Fatalf("asleep client got %v", types(ms))
	}
	c.send(&snc.Pingreq{ClientID: "sleepy"})
	names := map[uint16]string{}
	ms := c.recv()
	if len(ms) != 1 || ms[0].Type() != snc.TypeRegister {
		t.Fatalf("on wake got %v, want REGISTER first", types(ms))
	}
	c.accept(ms, names)
	ms = c.recv()
	if len(ms) != 101 {
		t.Fatalf("got %d messages after REGACK, want 100 PUBLISH + PINGRESP", len(ms))
	}
	for i, m := range ms[:100] {
		p, ok := m.(*snc.Publish)
		if !ok || names[p.TopicID] != "s/x" || string(p.Data) != fmt.Sprint(i) {
			t.Fatalf("message %d: %T %+v", i, m, m)
		}
	}
	if ms[100].Type() != snc.TypePingresp {
		t.Fatalf("last is %v, want PINGRESP", ms[100].Type())
	}
	// Asleep again: the next message waits for the next PINGREQ.
	e.ctx.Publish(&core.Message{Topic: "s/x", Payload: []byte("later")})
	if ms := c.recv(); len(ms) != 0 {
		t.Fatalf("asleep again, got %v", types(ms))
	}
	c.send(&snc.Pingreq{ClientID: "sleepy"})
	ms = c.recv()
	if len(ms) != 2 || string(ms[0].(*snc.Publish).Data) != "later" || ms[1].Type() != snc.TypePingresp {
		t.Fatalf("second wake: %v", types(ms))
	}
	// A PINGREQ with nothing buffered is answered at once.
	c.send(&snc.Pingreq{ClientID: "sleepy"})
	one[*snc.Pingresp](c)
	// CONNECT makes it active: messages flow at once.
	c.connect("sleepy", false, 30)
	e.ctx.Publish(&core.Message{Topic: "s/x", Payload: []byte("awake")})
	if ms := c.recv(); len(ms) != 1 || ms[0].Type() != snc.TypePublish {
		t.Fatalf("active after CONNECT, got %v", types(ms))
	}
}

func TestSleepBufferBound(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *broker.Config) { c.MaxSleepBuffer = 10 })
	c := e.dial()
	c.connect("sleepy", true, 30)
	short, _ := snc.ShortTopicID("zz")
	c.subscribe(&snc.Subscribe{TopicIDType: snc.TopicShort, TopicID: short})
	c.send(&snc.Disconnect{HasDuration: true, Duration: 60})
	c.recv()
	for i := range 25 {
		e.ctx.Publish(&core.Message{Topic: "zz", Payload: fmt.Appendf(nil, "%d", i)})
		c.d.Pump()
	}
	c.d.Output()
	c.send(&snc.Pingreq{ClientID: "sleepy"})
	ms := c.recv()
	if len(ms) != 11 {
		t.Fatalf("got %d messages, want the newest 10 and PINGRESP", len(ms))
	}
	if p := ms[0].(*snc.Publish); string(p.Data) != "15" {
		t.Fatalf("oldest kept is %q, want 15", p.Data)
	}
}

func TestSleepTimeoutDropsClient(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.connect("sleepy", true, 10)
	c.send(&snc.Disconnect{HasDuration: true, Duration: 100})
	c.recv()
	c.advance(100 * time.Second) // beyond the keepalive, within the sleep
	if c.closed() {
		t.Fatal("dropped during its sleep")
	}
	c.advance(60 * time.Second)
	if !c.closed() {
		t.Fatal("not dropped after sleep duration × 1.5")
	}
	if e.ctx.Session("sleepy") != nil {
		t.Fatal("clean session kept after the client was lost")
	}
}

// Unacknowledged messages are resent with DUP after retry_interval; after
// max_retries the client is lost (§6.13).
func TestRetransmission(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *broker.Config) { c.RetryInterval = 5 * time.Second; c.MaxRetries = 2 })
	c := e.dial()
	c.connect("r", true, 0)
	c.subscribe(&snc.Subscribe{QoS: 1, TopicName: "r"})
	e.ctx.Publish(&core.Message{Topic: "r", QoS: 1, Payload: []byte("x")})
	first := one[*snc.Publish](c)
	if first.Dup {
		t.Fatal("first send has DUP")
	}
	for i := range 2 {
		c.advance(5 * time.Second)
		p := one[*snc.Publish](c)
		if !p.Dup || p.MsgID != first.MsgID {
			t.Fatalf("retry %d: %+v", i, p)
		}
	}
	c.advance(5 * time.Second)
	if !c.closed() {
		t.Fatal("open after max_retries")
	}
}

func TestRetransmitRegister(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *broker.Config) { c.RetryInterval = 5 * time.Second })
	c := e.dial()
	c.connect("r", true, 0)
	c.subscribe(&snc.Subscribe{TopicName: "r/#"})
	e.ctx.Publish(&core.Message{Topic: "r/1", Payload: []byte("x")})
	reg := one[*snc.Register](c)
	c.advance(5 * time.Second)
	if again := one[*snc.Register](c); *again != *reg {
		t.Fatalf("resent %+v, want %+v", again, reg)
	}
	c.send(&snc.Regack{TopicID: reg.TopicID, MsgID: reg.MsgID})
	one[*snc.Publish](c)
}

// The topic ids of a persistent session survive a gateway restart (a new
// adapter and broker over the same RegistryStore).
func TestRegistrySurvivesRestart(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.connect("p", false, 60)
	id := c.register("keep/me")
	c.send(&snc.Disconnect{})
	c.recv()

	e2 := newEnv(t, nil)
	e2.ad = NewAdapter(e2.cfg, e.store)
	sub := e2.dial()
	sub.connect("sub", true, 0)
	sub.subscribe(&snc.Subscribe{TopicName: "keep/me"})
	c2 := e2.dial()
	c2.connect("p", false, 60)
	c2.send(&snc.Publish{QoS: 1, TopicID: id, MsgID: 1, Data: []byte("after restart")})
	if a := one[*snc.Puback](c2); a.ReturnCode != snc.Accepted {
		t.Fatalf("PUBACK %v for a restored topic id", a.ReturnCode)
	}
	if p := one[*snc.Publish](sub); string(p.Data) != "after restart" {
		t.Fatalf("delivered %+v", p)
	}
	// A clean session forgets them.
	c3 := e2.dial()
	c3.connect("p", true, 60)
	c3.send(&snc.Publish{QoS: 1, TopicID: id, MsgID: 2})
	if a := one[*snc.Puback](c3); a.ReturnCode != snc.RejectedInvalidTopic {
		t.Fatalf("PUBACK %v after a clean session", a.ReturnCode)
	}
}

// subs_resume: a resumed session's topics are registered to the client again.
func TestSubsResume(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *broker.Config) { c.SubsResume = true })
	c := e.dial()
	c.connect("p", false, 60)
	ack := c.subscribe(&snc.Subscribe{TopicName: "res/t"})
	c.send(&snc.Disconnect{})
	c.recv()
	c2 := e.dial()
	c2.send(&snc.Connect{ProtocolID: 1, Duration: 60, ClientID: "p"})
	ms := c2.recv()
	if len(ms) != 2 || ms[0].Type() != snc.TypeConnack {
		t.Fatalf("got %v, want CONNACK and REGISTER", types(ms))
	}
	if r, ok := ms[1].(*snc.Register); !ok || r.TopicID != ack.TopicID || r.TopicName != "res/t" {
		t.Fatalf("got %+v", ms[1])
	}
}

func TestMountpoint(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *broker.Config) { c.Mountpoint = "sn/${clientid}/" })
	c := e.dial()
	c.connect("dev", true, 60)
	id := c.register("up")
	var got string
	s := &recorder{}
	e.ctx.Connect(broker.ConnectRequest{Client: &core.ClientInfo{ClientID: "rec"}, Conn: s, CleanStart: true})
	e.ctx.Subscribe("rec", s, "#", core.SubOptions{})
	c.send(&snc.Publish{TopicID: id, Data: []byte("x")})
	ds, _ := e.ctx.Session("rec").Take(nil, time.Now(), 0)
	if len(ds) == 1 {
		got = ds[0].Msg.Topic
	}
	if got != "sn/dev/up" {
		t.Fatalf("published on %q", got)
	}
	ack := c.subscribe(&snc.Subscribe{TopicName: "down"})
	e.ctx.Publish(&core.Message{Topic: "sn/dev/down", Payload: []byte("d")})
	if p := one[*snc.Publish](c); p.TopicID != ack.TopicID {
		t.Fatalf("delivered %+v", p)
	}
}

func TestTakeover(t *testing.T) {
	e := newEnv(t, nil)
	a := e.dial()
	a.connect("same", true, 60)
	b := e.dial()
	b.connect("same", true, 60)
	if ms := a.recv(); len(ms) != 1 || ms[0].Type() != snc.TypeDisconnect || !a.closed() {
		t.Fatalf("old connection got %v, closed=%v", types(ms), a.closed())
	}
}

func TestForwarderEncapsulation(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	node := []byte{1, 2, 3}
	c.send(&snc.Encapsulated{Radius: 1, NodeID: node, Msg: &snc.Connect{ProtocolID: 1, CleanSession: true, Duration: 60, ClientID: "fw"}})
	enc := one[*snc.Encapsulated](c)
	if !bytes.Equal(enc.NodeID, node) || enc.Msg.Type() != snc.TypeConnack {
		t.Fatalf("reply %+v", enc)
	}
}

func TestConnectWhileIdleTimeout(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.advance(e.cfg.IdleTimeout)
	if !c.closed() {
		t.Fatal("idle peer kept past idle_timeout")
	}
}

func TestMalformedClosesDriverChannel(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.connect("m", true, 60)
	c.d.Feed([]byte{2, 0x03}) // unknown type
	if !c.closed() {
		t.Fatal("malformed message did not close")
	}
}

// Return codes for refused publishes (§5.3.10): ACL, congestion.
func TestPublishReturnCodes(t *testing.T) {
	t.Run("denied", func(t *testing.T) {
		e := newEnv(t, nil)
		e.ctx.Deny("publish:no")
		c := e.dial()
		c.connect("c", true, 60)
		id := c.register("no")
		c.send(&snc.Publish{QoS: 2, TopicID: id, MsgID: 4})
		if a := one[*snc.Puback](c); a.ReturnCode != snc.RejectedNotSupported {
			t.Fatalf("PUBACK %v", a.ReturnCode)
		}
		c.send(&snc.Pubrel{MsgID: 4}) // nothing awaits release: PUBCOMP all the same
		one[*snc.Pubcomp](c)
	})
	t.Run("denied disconnects", func(t *testing.T) {
		e := newEnv(t, nil)
		e.ctx.Deny("publish:no")
		e.ctx.DenyWith = "disconnect"
		c := e.dial()
		c.connect("c", true, 60)
		id := c.register("no")
		c.send(&snc.Publish{QoS: 1, TopicID: id, MsgID: 4})
		if ms := c.recv(); len(ms) != 1 || ms[0].Type() != snc.TypeDisconnect || !c.closed() {
			t.Fatalf("got %v, closed %v", types(ms), c.closed())
		}
	})
	t.Run("congestion", func(t *testing.T) {
		e := newEnv(t, func(_ *Config, b *broker.Config) { b.Session.MaxAwaitingRel = 1 })
		c := e.dial()
		c.connect("c", true, 60)
		id := c.register("q")
		c.send(&snc.Publish{QoS: 2, TopicID: id, MsgID: 1})
		one[*snc.Pubrec](c)
		c.send(&snc.Publish{QoS: 2, TopicID: id, MsgID: 2})
		if a := one[*snc.Puback](c); a.ReturnCode != snc.RejectedCongestion || a.MsgID != 2 {
			t.Fatalf("PUBACK %+v", a)
		}
	})
}

// A client that answers a delivery with "invalid topic id" has lost the
// registration: the next message on that topic is registered again.
func TestClientForgotRegistration(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.connect("c", true, 60)
	c.subscribe(&snc.Subscribe{QoS: 1, TopicName: "f/#"})
	e.ctx.Publish(&core.Message{Topic: "f/1", QoS: 1, Payload: []byte("a")})
	reg := one[*snc.Register](c)
	c.send(&snc.Regack{TopicID: reg.TopicID, MsgID: reg.MsgID})
	p := one[*snc.Publish](c)
	c.send(&snc.Puback{TopicID: p.TopicID, MsgID: p.MsgID, ReturnCode: snc.RejectedInvalidTopic})
	e.ctx.Publish(&core.Message{Topic: "f/1", QoS: 1, Payload: []byte("b")})
	if r := one[*snc.Register](c); r.TopicName != "f/1" {
		t.Fatalf("REGISTER %+v", r)
	}
}

func TestUnsubscribePredefined(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.connect("c", true, 60)
	c.subscribe(&snc.Subscribe{TopicIDType: snc.TopicPredefined, TopicID: 1})
	c.send(&snc.Unsubscribe{TopicIDType: snc.TopicPredefined, TopicID: 1, MsgID: 9})
	one[*snc.Unsuback](c)
	e.ctx.Publish(&core.Message{Topic: "pre/one"})
	if ms := c.recv(); len(ms) != 0 {
		t.Fatalf("got %v", types(ms))
	}
}

func TestPushBackHoldsPubacksUntilTheSubscriberDrains(t *testing.T) {
	e := newEnv(t, func(_ *Config, b *broker.Config) {
		b.Session.MaxQueueLen = 4
		b.Session.MaxInflight = 1
	})
	sub := e.dial()
	sub.connect("sub", true, 60)
	sid := sub.subscribe(&snc.Subscribe{QoS: 1, TopicName: "p"}).TopicID
	pub := e.dial()
	pub.connect("pub", true, 60)
	pid := pub.register("p")
	const total = 20
	for i := range total {
		pub.send(&snc.Publish{QoS: 1, TopicID: pid, MsgID: uint16(i + 1), Data: []byte(fmt.Sprint(i))})
	}
	acked := 0
	take := func() {
		for _, m := range pub.recv() {
			a := m.(*snc.Puback)
			acked++
			if int(a.MsgID) != acked || a.ReturnCode != snc.Accepted || a.TopicID != pid {
				t.Fatalf("PUBACK %+v, want msg id %d accepted, in order", a, acked)
			}
		}
	}
	take()
	if acked == 0 || acked >= total {
		t.Fatalf("%d of %d PUBACKs sent while the subscriber does not read: want some held", acked, total)
	}
	received := 0
	for received < total {
		ms := sub.recv()
		if len(ms) == 0 {
			t.Fatalf("subscriber stalled at %d of %d", received, total)
		}
		for _, m := range ms {
			p := m.(*snc.Publish)
			if p.TopicID != sid || string(p.Data) != fmt.Sprint(received) {
				t.Fatalf("got %+v, want message %d", p, received)
			}
			received++
			sub.send(&snc.Puback{TopicID: p.TopicID, MsgID: p.MsgID, ReturnCode: snc.Accepted})
		}
		take()
	}
	take()
	if acked != total {
		t.Fatalf("%d of %d PUBACKs once the subscriber drained", acked, total)
	}
}

func TestHeldPubackIsReleasedAfterAckHold(t *testing.T) {
	e := newEnv(t, func(_ *Config, b *broker.Config) {
		b.Session.MaxQueueLen = 1
		b.Session.MaxInflight = 1
	})
	sub := e.dial()
	sub.connect("sub", true, 60)
	sub.subscribe(&snc.Subscribe{QoS: 1, TopicName: "p"})
	pub := e.dial()
	pub.connect("pub", true, 60)
	pid := pub.register("p")
	for i := range 4 {
		pub.send(&snc.Publish{QoS: 1, TopicID: pid, MsgID: uint16(i + 1), Data: []byte("x")})
	}
	n := len(pub.recv())
	if n >= 4 {
		t.Fatalf("%d PUBACKs while the subscriber does not read: want some held", n)
	}
	pub.advance(ackHold + time.Second) // a subscriber's push-back ends
	n += len(pub.recv())
	if n != 4 {
		t.Fatalf("%d of 4 PUBACKs after the ack hold", n)
	}
}

package edge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters/adaptertest"
	snc "github.com/manifold-iot/manifold/codec/sn"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/sn"
)

// snEdge is a real broker behind the MQTT-SN channel, served over UDP.
type snEdge struct {
	b   *broker.Broker
	ctx *adaptertest.Context
	srv *UDPServer
}

func newSNEdge(t testing.TB, cfg UDPConfig, mod func(*sn.Config)) *snEdge {
	t.Helper()
	b := broker.New(broker.DefaultConfig(), zerolog.Nop())
	t.Cleanup(b.Close)
	scfg := sn.DefaultConfig()
	scfg.Predefined = []sn.Predefined{{ID: 1, Topic: "pre/one"}}
	if mod != nil {
		mod(&scfg)
	}
	ctx := &adaptertest.Context{Broker: b}
	if cfg.Bind == "" {
		cfg.Bind = "127.0.0.1:0"
	}
	srv := NewUDP(cfg, sn.NewAdapter(scfg, nil), ctx, testLogger(t))
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	return &snEdge{b: b, ctx: ctx, srv: srv}
}

// snClient is a Go MQTT-SN client over a real UDP socket.
type snClient struct {
	t     testing.TB
	c     *net.UDPConn
	msgID uint16
}

func (e *snEdge) dial(t testing.TB) *snClient {
	t.Helper()
	c, err := net.DialUDP("udp", nil, e.srv.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &snClient{t: t, c: c}
}

func (c *snClient) send(ms ...snc.Message) {
	c.t.Helper()
	for _, m := range ms {
		b, err := snc.Encode(nil, m)
		if err != nil {
			c.t.Fatal(err)
		}
		if _, err := c.c.Write(b); err != nil {
			c.t.Fatal(err)
		}
	}
}

// recv reads one datagram (2 s at most) and decodes it.
func (c *snClient) recv() snc.Message {
	c.t.Helper()
	buf := make([]byte, 65536)
	_ = c.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := c.c.Read(buf)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	m, used, err := snc.Decode(buf[:n])
	if err != nil || used != n {
		c.t.Fatalf("gateway sent %d bytes that decode to %v, %d, %v", n, m, used, err)
	}
	return m
}

func expect[T snc.Message](c *snClient) T {
	c.t.Helper()
	m := c.recv()
	v, ok := m.(T)
	if !ok {
		c.t.Fatalf("got %T %+v, want %T", m, m, *new(T))
	}
	return v
}

// quiet reports that nothing arrives for d.
func (c *snClient) quiet(d time.Duration) bool {
	_ = c.c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 65536)
	_, err := c.c.Read(buf)
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (c *snClient) connect(id string, keepalive uint16) {
	c.t.Helper()
	c.send(&snc.Connect{ProtocolID: 1, CleanSession: true, Duration: keepalive, ClientID: id})
	if a := expect[*snc.Connack](c); a.ReturnCode != snc.Accepted {
		c.t.Fatalf("CONNACK %v", a.ReturnCode)
	}
}

func (c *snClient) next() uint16 { c.msgID++; return c.msgID }

func TestUDPPublishSubscribe(t *testing.T) {
	e := newSNEdge(t, UDPConfig{}, nil)
	sub := e.dial(t)
	sub.connect("sub", 60)
	sub.send(&snc.Subscribe{QoS: 2, MsgID: sub.next(), TopicName: "u/t"})
	sack := expect[*snc.Suback](sub)
	if sack.ReturnCode != snc.Accepted || sack.TopicID == 0 {
		t.Fatalf("SUBACK %+v", sack)
	}
	pub := e.dial(t)
	pub.connect("pub", 60)
	pub.send(&snc.Register{MsgID: pub.next(), TopicName: "u/t"})
	rack := expect[*snc.Regack](pub)
	for _, qos := range []byte{0, 1, 2} {
		pub.send(&snc.Publish{QoS: qos, TopicID: rack.TopicID, MsgID: pub.next(), Data: []byte{qos}})
		switch qos {
		case 1:
			expect[*snc.Puback](pub)
		case 2:
			rec := expect[*snc.Pubrec](pub)
			pub.send(&snc.Pubrel{MsgID: rec.MsgID})
			expect[*snc.Pubcomp](pub)
		}
		p := expect[*snc.Publish](sub)
		if p.TopicID != sack.TopicID || p.QoS != qos || len(p.Data) != 1 || p.Data[0] != qos {
			t.Fatalf("delivered %+v", p)
		}
		switch qos {
		case 1:
			sub.send(&snc.Puback{TopicID: p.TopicID, MsgID: p.MsgID})
		case 2:
			sub.send(&snc.Pubrec{MsgID: p.MsgID})
			expect[*snc.Pubrel](sub)
			sub.send(&snc.Pubcomp{MsgID: p.MsgID})
		}
	}
	if st := e.srv.Stats(); st.Sessions != 2 {
		t.Fatalf("sessions %d, want 2", st.Sessions)
	}
	pub.send(&snc.Disconnect{})
	expect[*snc.Disconnect](pub)
	if !eventually(t, 2*time.Second, func() bool { return e.srv.Stats().Sessions == 1 }) {
		t.Fatalf("session not removed after DISCONNECT: %+v", e.srv.Stats())
	}
}

func TestUDPQoSMinus1AndSearchGw(t *testing.T) {
	e := newSNEdge(t, UDPConfig{}, func(c *sn.Config) { c.GatewayID = 9 })
	sub := e.dial(t)
	sub.connect("sub", 60)
	sub.send(&snc.Subscribe{TopicIDType: snc.TopicPredefined, TopicID: 1, MsgID: 1})
	expect[*snc.Suback](sub)
	anon := e.dial(t)
	anon.send(&snc.SearchGw{Radius: 0})
	if gw := expect[*snc.GwInfo](anon); gw.GwID != 9 {
		t.Fatalf("GWINFO %+v", gw)
	}
	anon.send(&snc.Publish{QoS: snc.QoSMinus1, TopicIDType: snc.TopicPredefined, TopicID: 1, Data: []byte("neg")})
	if p := expect[*snc.Publish](sub); string(p.Data) != "neg" || p.TopicIDType != snc.TopicPredefined {
		t.Fatalf("delivered %+v", p)
	}
}

// Malformed datagrams are dropped and counted; the session lives on.
func TestUDPMalformedDatagrams(t *testing.T) {
	e := newSNEdge(t, UDPConfig{}, nil)
	c := e.dial(t)
	c.connect("m", 60)
	for _, b := range [][]byte{{}, {0}, {2, 0x03}, {9, 0x0C, 0}, {1, 0, 2}, {3, 0xFE, 0, 3, 0xFE, 0, 2, 0x16}, {5, 0x18, 1, 2, 3}} {
		if _, err := c.c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	c.send(&snc.Pingreq{})
	expect[*snc.Pingresp](c)
	if st := e.srv.Stats(); st.Malformed < 6 || st.Sessions != 1 {
		t.Fatalf("stats %+v, want 6+ malformed and the session kept", st)
	}
	// From an unknown peer, garbage makes no session.
	g := e.dial(t)
	if _, err := g.c.Write([]byte{2, 0x11}); err != nil {
		t.Fatal(err)
	}
	if !eventually(t, 2*time.Second, func() bool { return e.srv.Stats().Malformed >= 7 }) || e.srv.Stats().Sessions != 1 {
		t.Fatalf("stats %+v", e.srv.Stats())
	}
}

func TestUDPMaxSessions(t *testing.T) {
	e := newSNEdge(t, UDPConfig{MaxSessions: 1}, nil)
	a := e.dial(t)
	a.connect("a", 60)
	b := e.dial(t)
	b.send(&snc.Connect{ProtocolID: 1, CleanSession: true, Duration: 60, ClientID: "b"})
	if !b.quiet(200 * time.Millisecond) {
		t.Fatal("a peer beyond max_sessions was answered")
	}
	if st := e.srv.Stats(); st.Refused != 1 {
		t.Fatalf("stats %+v, want one refused", st)
	}
}

// Keepalive timeout on real timers: the will is published and the session
// reaped.
func TestUDPWillOnKeepalive(t *testing.T) {
	e := newSNEdge(t, UDPConfig{}, func(c *sn.Config) { c.KeepaliveMultiplier = 1 })
	sub := e.dial(t)
	sub.connect("sub", 0)
	short, _ := snc.ShortTopicID("wl")
	sub.send(&snc.Subscribe{TopicIDType: snc.TopicShort, TopicID: short, MsgID: 1})
	expect[*snc.Suback](sub)
	c := e.dial(t)
	c.send(&snc.Connect{Will: true, ProtocolID: 1, CleanSession: true, Duration: 1, ClientID: "w"})
	expect[*snc.WillTopicReq](c)
	c.send(&snc.WillTopic{Topic: "wl"})
	expect[*snc.WillMsgReq](c)
	c.send(&snc.WillMsg{Msg: []byte("lost")})
	expect[*snc.Connack](c)
	if p := expect[*snc.Publish](sub); string(p.Data) != "lost" {
		t.Fatalf("will %+v", p)
	}
	if !eventually(t, 2*time.Second, func() bool { return e.srv.Stats().Sessions == 1 }) {
		t.Fatalf("stats %+v", e.srv.Stats())
	}
}

// A sleeping client over UDP gets all 100 buffered messages before PINGRESP.
func TestUDPSleepingClient(t *testing.T) {
	e := newSNEdge(t, UDPConfig{RecvBuffer: 1 << 20}, nil)
	c := e.dial(t)
	c.connect("sleepy", 60)
	c.send(&snc.Subscribe{TopicName: "s/x", MsgID: 1})
	sack := expect[*snc.Suback](c)
	c.send(&snc.Disconnect{HasDuration: true, Duration: 60})
	expect[*snc.Disconnect](c)
	for i := range 100 {
		if _, err := e.b.Publish(&core.Message{Topic: "s/x", Payload: fmt.Appendf(nil, "%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if !c.quiet(100 * time.Millisecond) {
		t.Fatal("a sleeping client got a message")
	}
	c.send(&snc.Pingreq{ClientID: "sleepy"})
	for i := range 100 {
		p := expect[*snc.Publish](c)
		if p.TopicID != sack.TopicID || string(p.Data) != fmt.Sprint(i) {
			t.Fatalf("message %d: %+v", i, p)
		}
	}
	expect[*snc.Pingresp](c)
}

func TestUDPStopClosesSessions(t *testing.T) {
	e := newSNEdge(t, UDPConfig{}, nil)
	c := e.dial(t)
	c.connect("x", 60)
	if err := e.srv.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := e.srv.Stats(); st.Sessions != 0 {
		t.Fatalf("stats after Stop %+v", st)
	}
	if e.b.Stats().Connected != 0 {
		t.Fatal("channel not closed by Stop")
	}
}

func TestUDPConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  UDPConfig
		ok   bool
	}{
		{"ok", UDPConfig{Bind: "127.0.0.1:0"}, true},
		{"no bind", UDPConfig{}, false},
		{"negative sessions", UDPConfig{Bind: "x:1", MaxSessions: -1}, false},
		{"negative loops", UDPConfig{Bind: "x:1", Loops: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.withDefaults().Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate = %v", err)
			}
		})
	}
}

// ADVERTISE goes out from the listener's own address every interval.
func TestUDPAdvertise(t *testing.T) {
	e := newSNEdge(t, UDPConfig{}, nil)
	rx, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	cfg := sn.DefaultConfig()
	cfg.Broadcast, cfg.GatewayID, cfg.AdvertiseInterval = true, 5, time.Second
	to := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sn.RunAdvertiser(ctx, cfg, func(b []byte) error { return e.srv.SendTo(to, b) }, zerolog.Nop())
	}()
	defer func() { cancel(); <-done }()
	buf := make([]byte, 64)
	for i := range 2 {
		_ = rx.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, from, err := rx.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("ADVERTISE %d: %v", i, err)
		}
		m, _, err := snc.Decode(buf[:n])
		if adv, ok := m.(*snc.Advertise); err != nil || !ok || adv.GwID != 5 || adv.Duration != 1 {
			t.Fatalf("got %+v %v", m, err)
		}
		if from.Port != e.srv.Addr().(*net.UDPAddr).Port {
			t.Fatalf("sent from port %d, not the listener's %d", from.Port, e.srv.Addr().(*net.UDPAddr).Port)
		}
	}
}

// With several loops (one socket each, SO_REUSEPORT) every peer stays on
// one loop and is answered.
func TestUDPSeveralLoops(t *testing.T) {
	e := newSNEdge(t, UDPConfig{Loops: 2}, nil)
	for i := range 8 {
		c := e.dial(t)
		c.connect(fmt.Sprintf("c%d", i), 60)
		c.send(&snc.Pingreq{})
		expect[*snc.Pingresp](c)
	}
	if st := e.srv.Stats(); st.Sessions != 8 {
		t.Fatalf("stats %+v", st)
	}
}

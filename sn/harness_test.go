package sn

import (
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/adaptertest"
	"github.com/manifold-iot/manifold/codec"
	snc "github.com/manifold-iot/manifold/codec/sn"
	"github.com/manifold-iot/manifold/core/broker"
)

// testContext is adaptertest.Context (a deny list in place of the
// authorization sources) that also refuses the clients denied
// "connect:clientid".
type testContext struct {
	adaptertest.Context
}

func (c *testContext) Authenticate(req adapters.AuthRequest) error {
	if c.Denied("connect:" + req.Client.ClientID) {
		return errors.New("denied")
	}
	return nil
}

type env struct {
	t     *testing.T
	cfg   Config
	ctx   *testContext
	ad    *Adapter
	store RegistryStore
	port  int
}

func newEnv(t testing.TB, mod func(*Config, *broker.Config)) *env {
	cfg, bcfg := DefaultConfig(), broker.DefaultConfig()
	cfg.Predefined = []Predefined{{ID: 1, Topic: "pre/one"}, {ID: 7, Topic: "pre/seven"}}
	if mod != nil {
		mod(&cfg, &bcfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	b := broker.New(bcfg, zerolog.Nop())
	t.Cleanup(b.Close)
	ctx := &testContext{Context: adaptertest.Context{Broker: b}}
	store := NewMemoryRegistryStore()
	tt, _ := t.(*testing.T)
	return &env{t: tt, cfg: cfg, ctx: ctx, ad: NewAdapter(cfg, store), store: store, port: 50000}
}

// client is a test MQTT-SN client speaking through the driver.
type client struct {
	t     *testing.T
	d     *adaptertest.Driver
	msgID uint16
}

func (e *env) dial() *client {
	e.port++
	return &client{t: e.t, d: adaptertest.Dial(e.t, e.ad, e.ctx, "127.0.0.1:"+itoa(e.port))}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func (c *client) send(ms ...snc.Message) {
	c.t.Helper()
	for _, m := range ms {
		b, err := snc.Encode(nil, m)
		if err != nil {
			c.t.Fatalf("encode %T: %v", m, err)
		}
		c.d.Feed(b)
	}
}

func (c *client) nextID() uint16 { c.msgID++; return c.msgID }

// recv returns every message the gateway has written since the last call.
func (c *client) recv() []snc.Message {
	c.t.Helper()
	c.d.Pump()
	buf := c.d.Output()
	var out []snc.Message
	for len(buf) > 0 {
		m, n, err := snc.Decode(buf)
		if errors.Is(err, codec.ErrIncomplete) {
			c.t.Fatalf("gateway wrote a partial message: % x", buf)
		}
		if err != nil {
			c.t.Fatalf("gateway wrote an undecodable message: %v (% x)", err, buf)
		}
		out = append(out, m)
		buf = buf[n:]
	}
	return out
}

// one expects exactly one message of type T.
func one[T snc.Message](c *client) T {
	c.t.Helper()
	ms := c.recv()
	if len(ms) != 1 {
		c.t.Fatalf("got %d messages %v, want one %T", len(ms), types(ms), *new(T))
	}
	m, ok := ms[0].(T)
	if !ok {
		c.t.Fatalf("got %T, want %T", ms[0], *new(T))
	}
	return m
}

func types(ms []snc.Message) []string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Type().String())
	}
	return s
}

func (c *client) connect(id string, clean bool, keepalive uint16) {
	c.t.Helper()
	c.send(&snc.Connect{ProtocolID: 1, CleanSession: clean, Duration: keepalive, ClientID: id})
	if ack := one[*snc.Connack](c); ack.ReturnCode != snc.Accepted {
		c.t.Fatalf("CONNACK %v", ack.ReturnCode)
	}
}

// register registers name and returns its topic id.
func (c *client) register(name string) uint16 {
	c.t.Helper()
	id := c.nextID()
	c.send(&snc.Register{MsgID: id, TopicName: name})
	ack := one[*snc.Regack](c)
	if ack.ReturnCode != snc.Accepted || ack.MsgID != id {
		c.t.Fatalf("REGACK %+v", ack)
	}
	return ack.TopicID
}

func (c *client) subscribe(s *snc.Subscribe) *snc.Suback {
	c.t.Helper()
	s.MsgID = c.nextID()
	c.send(s)
	ms := c.recv()
	if len(ms) == 0 {
		c.t.Fatal("no SUBACK")
	}
	ack, ok := ms[0].(*snc.Suback)
	if !ok || ack.MsgID != s.MsgID {
		c.t.Fatalf("got %v, want SUBACK first", types(ms))
	}
	return ack
}

// accept acknowledges every gateway REGISTER in ms (REGACK accepted) and
// returns the registered names by id and the PUBLISH messages.
func (c *client) accept(ms []snc.Message, names map[uint16]string) []*snc.Publish {
	c.t.Helper()
	var pubs []*snc.Publish
	for _, m := range ms {
		switch p := m.(type) {
		case *snc.Register:
			names[p.TopicID] = p.TopicName
			c.send(&snc.Regack{TopicID: p.TopicID, MsgID: p.MsgID})
		case *snc.Publish:
			pubs = append(pubs, p)
		}
	}
	return pubs
}

func (c *client) closed() bool { ok, _ := c.d.Closed(); return ok }

func (c *client) advance(d time.Duration) { c.d.Advance(d) }

package mqtt

import (
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/adaptertest"
	"github.com/manifold-iot/manifold/codec"
	mq "github.com/manifold-iot/manifold/codec/mqtt"
	"github.com/manifold-iot/manifold/core/broker"
)

// testContext is adaptertest.Context (a deny list in place of the
// authorization sources) that refuses clients without a username unless
// anonymous is set.
type testContext struct {
	adaptertest.Context
	anonymous bool
}

func (c *testContext) Authenticate(req adapters.AuthRequest) error {
	if !c.anonymous && req.Client.Username == "" {
		return errors.New("anonymous not allowed")
	}
	return nil
}

type env struct {
	t   *testing.T
	cfg Config
	ctx *testContext
	ad  *Adapter
}

func newEnv(t *testing.T, mod func(*Config, *broker.Config)) *env {
	t.Helper()
	cfg, bcfg := DefaultConfig(), broker.DefaultConfig()
	if mod != nil {
		mod(&cfg, &bcfg)
	}
	b := broker.New(bcfg, zerolog.Nop())
	t.Cleanup(b.Close)
	ctx := &testContext{Context: adaptertest.Context{Broker: b}, anonymous: true}
	return &env{t: t, cfg: cfg, ctx: ctx, ad: NewAdapter(cfg)}
}

// client is a test MQTT client speaking through the driver.
type client struct {
	t *testing.T
	d *adaptertest.Driver
	v byte
}

func (e *env) dial(v byte) *client {
	return &client{t: e.t, d: adaptertest.Dial(e.t, e.ad, e.ctx, "127.0.0.1:50000"), v: v}
}

func (c *client) send(ps ...mq.Packet) {
	c.t.Helper()
	var b []byte
	for _, p := range ps {
		var err error
		if b, err = mq.Encode(b, p, c.v); err != nil {
			c.t.Fatalf("encode %T: %v", p, err)
		}
	}
	c.d.Feed(b)
}

func (c *client) sendRaw(b []byte) { c.d.Feed(b) }

// recv returns every packet the server has written since the last call.
func (c *client) recv() []mq.Packet {
	c.t.Helper()
	c.d.Pump()
	buf := c.d.Output()
	var out []mq.Packet
	for len(buf) > 0 {
		p, n, err := mq.Decode(buf, c.v, 0)
		if errors.Is(err, codec.ErrIncomplete) {
			c.t.Fatalf("server wrote a partial packet: % x", buf)
		}
		if err != nil {
			c.t.Fatalf("server wrote an undecodable packet: %v (% x)", err, buf)
		}
		out = append(out, p)
		buf = buf[n:]
	}
	return out
}

// one expects exactly one packet of type T.
func one[T mq.Packet](c *client) T {
	c.t.Helper()
	ps := c.recv()
	if len(ps) != 1 {
		c.t.Fatalf("got %d packets %v, want one %T", len(ps), types(ps), *new(T))
	}
	p, ok := ps[0].(T)
	if !ok {
		c.t.Fatalf("got %T, want %T", ps[0], *new(T))
	}
	return p
}

func types(ps []mq.Packet) []string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Type().String())
	}
	return s
}

func (c *client) connect(p *mq.Connect) *mq.Connack {
	c.t.Helper()
	p.ProtocolLevel = c.v
	if p.ProtocolName == "" {
		p.ProtocolName = mq.ProtocolNameMQTT
		if c.v == mq.V31 {
			p.ProtocolName = mq.ProtocolNameV31
		}
	}
	c.send(p)
	return one[*mq.Connack](c)
}

func (c *client) mustConnect(id string, clean bool) *mq.Connack {
	c.t.Helper()
	ack := c.connect(&mq.Connect{ClientID: id, CleanStart: clean, KeepAlive: 60})
	if ack.ReasonCode != mq.Success {
		c.t.Fatalf("CONNACK %v", ack.ReasonCode)
	}
	return ack
}

func (c *client) subscribe(filter string, qos byte) *mq.Suback {
	c.t.Helper()
	c.send(&mq.Subscribe{PacketID: 1, Subscriptions: []mq.Subscription{{Filter: filter, QoS: qos}}})
	ps := c.recv()
	if len(ps) == 0 {
		c.t.Fatal("no SUBACK")
	}
	ack, ok := ps[0].(*mq.Suback)
	if !ok {
		c.t.Fatalf("got %T, want SUBACK first", ps[0])
	}
	return ack
}

func (c *client) closed() bool { ok, _ := c.d.Closed(); return ok }

func (c *client) advance(d time.Duration) { c.d.Advance(d) }

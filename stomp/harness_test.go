package stomp

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-stomp/stomp/v3/frame"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/adaptertest"
	sc "github.com/manifold-iot/manifold/codec/stomp"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
)

// testContext is adaptertest.Context (a deny list in place of the
// authorization sources) with one accepted password, recording the topics
// it authorizes for publish.
type testContext struct {
	adaptertest.Context
	seen   []string // topics authorized for publish, in order (when record)
	record bool
}

func (c *testContext) Authenticate(req adapters.AuthRequest) error {
	if req.Client.Username == "bad" || string(req.Password) == "wrong" {
		return errors.New("bad username or password")
	}
	return nil
}
func (c *testContext) Authorize(ci *core.ClientInfo, a core.Action, topic string, qos core.QoS, retain bool) bool {
	if a == core.ActionPublish && c.record {
		c.seen = append(c.seen, topic)
	}
	return c.Context.Authorize(ci, a, topic, qos, retain)
}

type env struct {
	t   *testing.T
	ctx *testContext
	ad  *Adapter
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	return newEnvBroker(t, mod, nil)
}

func newEnvBroker(t *testing.T, mod func(*Config), bmod func(*broker.Config)) *env {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	bcfg := broker.DefaultConfig()
	if bmod != nil {
		bmod(&bcfg)
	}
	b := broker.New(bcfg, zerolog.Nop())
	t.Cleanup(b.Close)
	return &env{t: t, ctx: &testContext{Context: adaptertest.Context{Broker: b}, record: true}, ad: NewAdapter(cfg)}
}

// client is a test STOMP client speaking through the driver.
type client struct {
	t *testing.T
	d *adaptertest.Driver
	v sc.Version
}

func (e *env) dial() *client {
	return &client{t: e.t, d: adaptertest.Dial(e.t, e.ad, e.ctx, "127.0.0.1:50000"), v: sc.V12}
}

// send writes a frame: command, then header name/value pairs, body last if
// the count is odd.
func (c *client) send(cmd string, kv ...string) {
	c.t.Helper()
	f := frame.New(cmd)
	for i := 0; i+1 < len(kv); i += 2 {
		f.Header.Add(kv[i], kv[i+1])
	}
	if len(kv)%2 == 1 {
		f.Body = []byte(kv[len(kv)-1])
	}
	v := c.v
	if cmd == frame.CONNECT || cmd == frame.STOMP {
		v = 0
	}
	b, err := sc.Encode(nil, f, v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.d.Feed(b)
}

// frames decodes everything the channel wrote since the last call.
func (c *client) frames() []*frame.Frame {
	c.t.Helper()
	c.d.Pump()
	out := c.d.Output()
	var fs []*frame.Frame
	for len(out) > 0 {
		f, n, err := sc.Decode(out, c.v, sc.Limits{})
		if err != nil {
			c.t.Fatalf("decode of channel output %q: %v", out, err)
		}
		out = out[n:]
		if fr, ok := f.(*frame.Frame); ok {
			fs = append(fs, fr)
		}
	}
	return fs
}

// expect checks the commands of the frames written since the last call.
func (c *client) expect(cmds ...string) []*frame.Frame {
	c.t.Helper()
	fs := c.frames()
	var got []string
	for _, f := range fs {
		got = append(got, f.Command)
	}
	if strings.Join(got, " ") != strings.Join(cmds, " ") {
		c.t.Fatalf("frames %v, want %v (%s)", got, cmds, describe(fs))
	}
	return fs
}

func describe(fs []*frame.Frame) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.Command)
		for i := 0; i < f.Header.Len(); i++ {
			k, v := f.Header.GetAt(i)
			b.WriteString(" " + k + "=" + v)
		}
		b.WriteString(" body=" + string(f.Body) + "; ")
	}
	return b.String()
}

// connect opens a 1.2 session.
func (c *client) connect(kv ...string) *frame.Frame {
	c.t.Helper()
	c.send(frame.CONNECT, append([]string{"accept-version", "1.2", "host", "test"}, kv...)...)
	return c.expect(frame.CONNECTED)[0]
}

func (c *client) closed() bool {
	closed, _ := c.d.Closed()
	return closed
}

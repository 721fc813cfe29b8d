package coap

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/udp"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/adaptertest"
	"github.com/manifold-iot/manifold/adapters/coapnet"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/session"
	"github.com/manifold-iot/manifold/internal/testkit"
)

// testContext is adaptertest.Context (a deny list in place of the
// authorization sources) with a user table for authentication.
type testContext struct {
	adaptertest.Context
	mu    sync.Mutex
	users map[string]string // username → password; empty: anyone
}

func (c *testContext) Authenticate(req adapters.AuthRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.users) == 0 {
		return nil
	}
	if p, ok := c.users[req.Client.Username]; ok && p == string(req.Password) {
		return nil
	}
	return errors.New("bad username or password")
}

// env is a running gateway over a real broker.
type env struct {
	t    *testing.T
	ctx  *testContext
	srv  *Server
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Listeners.UDP = map[string]coapnet.UDPListener{"default": {Bind: "127.0.0.1:0"}}
	cfg.AckTimeout = 100 * time.Millisecond
	cfg.MaxRetransmit = 2
	return cfg
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	return newEnvWith(t, mod, nil)
}

func newEnvBroker(t *testing.T, bmod func(*broker.Config)) *env {
	t.Helper()
	return newEnvWith(t, nil, bmod)
}

func newEnvWith(t *testing.T, mod func(*Config), bmod func(*broker.Config)) *env {
	t.Helper()
	cfg := testConfig()
	if mod != nil {
		mod(&cfg)
	}
	bcfg := broker.DefaultConfig()
	if bmod != nil {
		bmod(&bcfg)
	}
	b := broker.New(bcfg, zerolog.Nop())
	t.Cleanup(b.Close)
	logs := &syncBuffer{}
	ctx := &testContext{Context: adaptertest.Context{Broker: b}}
	srv, err := New(cfg, ctx, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.ListenAndServe(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return &env{t: t, ctx: ctx, srv: srv, logs: logs}
}

func (e *env) addr() string { return e.srv.Addr("udp:default").String() }

// dial is a go-coap client of the gateway.
func (e *env) dial() *udpclient.Conn {
	e.t.Helper()
	cc, err := udp.Dial(e.addr())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// mqtt is an in-process core client: a subscriber or publisher on the MQTT side.
type mqtt struct {
	t    *testing.T
	b    *broker.Broker
	id   string
	sess *session.Session
	mu   sync.Mutex
	got  []*core.Message
}

func (m *mqtt) Notify() {
	var ds []session.Delivery
	ds, _ = m.sess.Take(ds, time.Now(), 0)
	m.mu.Lock()
	for _, d := range ds {
		if d.Msg != nil {
			m.got = append(m.got, d.Msg)
		}
		if d.PacketID != 0 {
			m.sess.Ack(d.PacketID)
		}
	}
	m.mu.Unlock()
}
func (m *mqtt) Kick(error) {}

func (e *env) mqttClient(id string) *mqtt {
	m := &mqtt{t: e.t, b: e.ctx.Broker, id: id}
	res := e.ctx.Connect(broker.ConnectRequest{Client: &core.ClientInfo{ClientID: id, Proto: "mqtt"}, Conn: m, CleanStart: true})
	m.sess = res.Session
	return m
}

func (m *mqtt) subscribe(filter string, qos core.QoS) {
	if _, err := m.b.Subscribe(m.id, m, filter, core.SubOptions{QoS: qos}); err != nil {
		m.t.Fatal(err)
	}
}

func (m *mqtt) publish(topic, payload string, qos core.QoS) {
	m.t.Helper()
	if _, err := m.b.Publish(&core.Message{Topic: topic, Payload: []byte(payload), QoS: qos, From: m.id}); err != nil {
		m.t.Fatal(err)
	}
}

func (m *mqtt) messages() []*core.Message {
	m.Notify()
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*core.Message(nil), m.got...)
}

// eventually fails the test unless cond holds within d.
func eventually(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	testkit.MustEventually(t, d, cond)
}

func queries(qs ...string) []message.Option {
	var out []message.Option
	for _, q := range qs {
		out = append(out, message.Option{ID: message.URIQuery, Value: []byte(q)})
	}
	return out
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func body(t *testing.T, m *pool.Message) string {
	t.Helper()
	b, err := m.ReadBody()
	if err != nil && m.Body() != nil {
		t.Fatal(err)
	}
	return string(b)
}

// raw is a bare UDP socket speaking CoAP by hand, for what no well-behaved
// client does: never acknowledging, answering RST, retransmitting.
type raw struct {
	t    *testing.T
	conn *net.UDPConn
	mid  uint16
}

func (e *env) raw() *raw {
	e.t.Helper()
	a, _ := net.ResolveUDPAddr("udp", e.addr())
	c, err := net.DialUDP("udp", nil, a)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return &raw{t: e.t, conn: c, mid: 100}
}

func (r *raw) nextMID() int32 { r.mid++; return int32(r.mid) }

func (r *raw) sendMsg(m message.Message) {
	r.t.Helper()
	buf := make([]byte, 2048)
	n, err := coder.DefaultCoder.Encode(m, buf)
	if err != nil {
		r.t.Fatal(err)
	}
	r.sendBytes(buf[:n])
}

func (r *raw) sendBytes(b []byte) {
	r.t.Helper()
	if _, err := r.conn.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// recv reads one message, or returns false after d.
func (r *raw) recv(d time.Duration) (message.Message, bool) {
	r.t.Helper()
	buf := make([]byte, 4096)
	_ = r.conn.SetReadDeadline(time.Now().Add(d))
	n, err := r.conn.Read(buf)
	if err != nil {
		return message.Message{}, false
	}
	m := message.Message{Options: make(message.Options, 0, 16)}
	if _, err := coder.DefaultCoder.Decode(buf[:n], &m); err != nil {
		r.t.Fatalf("server sent undecodable datagram: %v", err)
	}
	return m, true
}

func (r *raw) mustRecv() message.Message {
	r.t.Helper()
	m, ok := r.recv(3 * time.Second)
	if !ok {
		r.t.Fatal("no datagram from the server")
	}
	return m
}

// newRequest builds a request with path segments and queries.
func newRequest(typ message.Type, code codes.Code, mid int32, token []byte, path string, qs ...string) message.Message {
	var opts message.Options
	buf := make([]byte, 256)
	for _, seg := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		opts, _, _ = opts.AddString(buf, message.URIPath, seg)
		buf = make([]byte, 256)
	}
	for _, q := range qs {
		opts = append(opts, message.Option{ID: message.URIQuery, Value: []byte(q)})
	}
	sort.SliceStable(opts, func(i, j int) bool { return opts[i].ID < opts[j].ID })
	return message.Message{Type: typ, Code: code, MessageID: mid, Token: token, Options: opts}
}

func withObserve(m message.Message, v uint32) message.Message {
	buf := make([]byte, 4)
	m.Options, _, _ = m.Options.SetUint32(buf, message.Observe, v)
	return m
}

// discard is a broker.Conn that ignores everything.
type discard struct{}

func (discard) Notify()    {}
func (discard) Kick(error) {}

func (c *testContext) clientInfo(id string) *core.ClientInfo {
	return &core.ClientInfo{ClientID: id, Proto: "mqtt"}
}

func coreSub0() core.SubOptions { return core.SubOptions{} }

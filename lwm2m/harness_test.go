package lwm2m

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	piondtls "github.com/pion/dtls/v3"
	"github.com/plgd-dev/go-coap/v3/dtls"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/udp"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/adaptertest"
	"github.com/manifold-iot/manifold/adapters/coapnet"
	codec "github.com/manifold-iot/manifold/codec/lwm2m"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/session"
	"github.com/manifold-iot/manifold/internal/testkit"
	"github.com/manifold-iot/manifold/lwm2m/objects"
)

// testContext is adaptertest.Context (allowing everything) with a user
// table for authentication.
type testContext struct {
	adaptertest.Context
	mu    sync.Mutex
	users map[string]string // client id → password; empty: anyone
}

func (c *testContext) Authenticate(req adapters.AuthRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.users) == 0 {
		return nil
	}
	if p, ok := c.users[req.Client.ClientID]; ok && p == string(req.Password) {
		return nil
	}
	return errors.New("bad credentials")
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

// env is a running gateway over a real broker, with an MQTT-side client
// subscribed to every uplink.
type env struct {
	t    testing.TB
	ctx  *testContext
	srv  *Server
	logs *syncBuffer
	mq   *mqtt
}

const testPSKIdentity, testPSK = "dev-psk", "secret-key-0123"

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.XMLDir = "../configs/lwm2m"
	cfg.Listeners.UDP = map[string]coapnet.UDPListener{"default": {Bind: "127.0.0.1:0"}}
	cfg.Listeners.DTLS = map[string]coapnet.DTLSListener{"default": {
		Bind: "127.0.0.1:0", PSK: map[string]string{testPSKIdentity: testPSK},
	}}
	cfg.RequestTimeout = 2 * time.Second
	cfg.AckTimeout = 200 * time.Millisecond
	cfg.MaxRetransmit = 2
	return cfg
}

func newEnv(t testing.TB, mod func(*Config)) *env {
	t.Helper()
	cfg := testConfig()
	if mod != nil {
		mod(&cfg)
	}
	b := broker.New(broker.DefaultConfig(), zerolog.Nop())
	t.Cleanup(b.Close)
	logs := &syncBuffer{}
	ctx := &testContext{Context: adaptertest.Context{Broker: b}}
	srv, err := New(cfg, ctx, nil, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.ListenAndServe(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	e := &env{t: t, ctx: ctx, srv: srv, logs: logs}
	e.mq = e.mqttClient("observer")
	e.mq.subscribe("lwm2m/#")
	return e
}

// mqtt is an in-process core client on the MQTT side.
type mqtt struct {
	t    testing.TB
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

func (m *mqtt) subscribe(filter string) {
	if _, err := m.b.Subscribe(m.id, m, filter, core.SubOptions{QoS: core.QoS1}); err != nil {
		m.t.Fatal(err)
	}
}

// command publishes a command to an endpoint's dn topic.
func (e *env) command(ep, payload string) {
	e.t.Helper()
	if _, err := e.ctx.Publish(&core.Message{Topic: "lwm2m/" + ep + "/dn/dm", Payload: []byte(payload), From: "app"}); err != nil {
		e.t.Fatal(err)
	}
}

// uplinkMsg is one uplink as a test reads it.
type uplinkMsg struct {
	Topic string
	Body  map[string]any
	Raw   string
}

// waitUplink waits for an uplink on topic whose payload satisfies match,
// and removes it from what later calls see.
func (e *env) waitUplink(topic string, match func(map[string]any) bool) uplinkMsg {
	e.t.Helper()
	var found uplinkMsg
	eventually(e.t, 5*time.Second, func() bool {
		e.mq.Notify()
		e.mq.mu.Lock()
		defer e.mq.mu.Unlock()
		for i, m := range e.mq.got {
			if m.Topic != topic {
				continue
			}
			var body map[string]any
			if json.Unmarshal(m.Payload, &body) != nil {
				continue
			}
			if match == nil || match(body) {
				found = uplinkMsg{Topic: m.Topic, Body: body, Raw: string(m.Payload)}
				e.mq.got = append(e.mq.got[:i], e.mq.got[i+1:]...)
				return true
			}
		}
		return false
	})
	return found
}

// msgType matches an uplink by msgType.
func msgType(t string) func(map[string]any) bool {
	return func(b map[string]any) bool { return b["msgType"] == t }
}

// eventually fails the test unless cond holds within d.
func eventually(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	testkit.MustEventually(t, d, cond)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// device is a Go LwM2M test client: it registers with the gateway and
// serves objects 1 and 3 from a table, answering reads in its format (TLV
// for a 1.0 device, SenML JSON for a 1.1 device).
type device struct {
	t       testing.TB
	name    string
	version string // "1.0" or "1.1"
	queue   bool
	format  codec.ContentFormat
	reg     *objects.Registry
	cc      *udpclient.Conn
	loc     []string

	mu       sync.Mutex
	values   map[codec.Path]codec.Value
	executed []string // path + " " + args
	observed map[codec.Path][]byte
	seq      uint32
	writes   []codec.ContentFormat
	attrs    []string
	garbage  bool // answer reads with a malformed payload
}

func newDevice(t testing.TB, name, version string) *device {
	reg, err := objects.LoadDir("../configs/lwm2m")
	if err != nil {
		t.Fatal(err)
	}
	d := &device{t: t, name: name, version: version, reg: reg, format: codec.FormatTLV,
		observed: map[codec.Path][]byte{},
		values: map[codec.Path]codec.Value{
			codec.ResourcePath(3, 0, 0):  codec.StringValue("Manifold"),
			codec.ResourcePath(3, 0, 1):  codec.StringValue("Test Device"),
			codec.ResourcePath(3, 0, 9):  codec.IntegerValue(80),
			codec.ResourcePath(3, 0, 13): codec.TimeValue(1700000000),
			codec.ResourcePath(1, 0, 0):  codec.IntegerValue(1),
			codec.ResourcePath(1, 0, 1):  codec.IntegerValue(300),
		}}
	if version == "1.1" {
		d.format = codec.FormatSenMLJSON
	}
	return d
}

// dialUDP connects the device to the gateway's UDP listener.
func (d *device) dialUDP(addr string) {
	cc, err := udp.Dial(addr, options.WithHandlerFunc(d.handle))
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { _ = cc.Close() })
	d.cc = cc
}

// dialDTLS connects the device over DTLS with a pre-shared key.
func (d *device) dialDTLS(addr, identity, key string) error {
	cc, err := dtls.Dial(addr, dtls.NewDTLSClientOptions(
		piondtls.WithPSK(func([]byte) ([]byte, error) { return []byte(key), nil }),
		piondtls.WithPSKIdentityHint([]byte(identity)),
		piondtls.WithCipherSuites(piondtls.TLS_PSK_WITH_AES_128_CCM_8),
	), options.WithHandlerFunc(d.handle))
	if err != nil {
		return err
	}
	d.t.Cleanup(func() { _ = cc.Close() })
	d.cc = cc
	return nil
}

// register sends Register and returns the response code.
func (d *device) register(extra ...string) codes.Code {
	d.t.Helper()
	b := "U"
	if d.queue {
		b = "UQ"
	}
	q := []string{"ep=" + d.name, "lt=60", "lwm2m=" + d.version, "b=" + b}
	q = append(q, extra...)
	resp := d.post("/rd", "</>;rt=\"oma.lwm2m\",</1/0>,</3/0>", q...)
	if resp.Code() == codes.Created {
		d.loc, _ = locationPath(resp)
	}
	return resp.Code()
}

func locationPath(m *pool.Message) ([]string, error) {
	var out []string
	for _, o := range m.Options() {
		if o.ID == message.LocationPath {
			out = append(out, string(o.Value))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no Location-Path")
	}
	return out, nil
}

// update sends an Update with an optional object list.
func (d *device) update(payload string, qs ...string) codes.Code {
	d.t.Helper()
	return d.post("/"+strings.Join(d.loc, "/"), payload, qs...).Code()
}

func (d *device) deregister() codes.Code {
	d.t.Helper()
	resp, err := d.cc.Delete(ctxT(d.t), "/"+strings.Join(d.loc, "/"))
	if err != nil {
		d.t.Fatal(err)
	}
	return resp.Code()
}

func (d *device) post(path, payload string, qs ...string) *pool.Message {
	d.t.Helper()
	opts := queryOpts(qs...)
	var body *bytes.Reader
	if payload != "" {
		body = bytes.NewReader([]byte(payload))
	}
	var resp *pool.Message
	var err error
	if body != nil {
		resp, err = d.cc.Post(ctxT(d.t), path, message.AppLinkFormat, body, opts...)
	} else {
		resp, err = d.cc.Post(ctxT(d.t), path, message.AppLinkFormat, nil, opts...)
	}
	if err != nil {
		d.t.Fatal(err)
	}
	return resp
}

// handle serves the gateway's requests to the device.
func (d *device) handle(w *responsewriter.ResponseWriter[*udpclient.Conn], r *pool.Message) {
	path, _ := r.Options().Path()
	p, err := codec.ParsePath(path)
	if err != nil {
		_ = w.SetResponse(codes.NotFound, message.TextPlain, nil)
		return
	}
	switch r.Code() {
	case codes.GET:
		if acc, err := r.Accept(); err == nil && acc == message.AppLinkFormat {
			d.discover(w, p)
			return
		}
		if obs, err := r.Observe(); err == nil {
			d.mu.Lock()
			if obs == 0 {
				d.observed[p] = append([]byte(nil), r.Token()...)
			} else {
				delete(d.observed, p)
			}
			d.mu.Unlock()
			if obs == 0 {
				d.read(w, p, true)
				return
			}
		}
		d.read(w, p, false)
	case codes.PUT:
		if n, _ := r.BodySize(); n == 0 {
			// Write-Attributes: the attributes are the query.
			qs, _ := r.Queries()
			d.mu.Lock()
			d.attrs = append(d.attrs, p.String()+"?"+strings.Join(qs, "&"))
			d.mu.Unlock()
			_ = w.SetResponse(codes.Changed, message.TextPlain, nil)
			return
		}
		d.write(w, r, p)
	case codes.POST:
		if p.IsResource() {
			args, _ := r.ReadBody()
			d.mu.Lock()
			d.executed = append(d.executed, p.String()+" "+string(args))
			d.mu.Unlock()
			_ = w.SetResponse(codes.Changed, message.TextPlain, nil)
			return
		}
		d.write(w, r, p)
	case codes.DELETE:
		_ = w.SetResponse(codes.Deleted, message.TextPlain, nil)
	default:
		_ = w.SetResponse(codes.MethodNotAllowed, message.TextPlain, nil)
	}
}

func (d *device) records(p codec.Path) []codec.Record {
	d.mu.Lock()
	defer d.mu.Unlock()
	var recs []codec.Record
	for rp, v := range d.values {
		if rp.Under(p) {
			recs = append(recs, codec.Record{Path: rp, Value: v})
		}
	}
	codec.SortRecords(recs)
	return recs
}

func (d *device) read(w *responsewriter.ResponseWriter[*udpclient.Conn], p codec.Path, observe bool) {
	d.mu.Lock()
	garbage := d.garbage
	d.mu.Unlock()
	if garbage {
		_ = w.SetResponse(codes.Content, message.MediaType(codec.FormatTLV), bytes.NewReader([]byte{0xff, 0x01}))
		return
	}
	recs := d.records(p)
	if len(recs) == 0 {
		_ = w.SetResponse(codes.NotFound, message.TextPlain, nil)
		return
	}
	body, err := codec.Encode(d.format, nil, p, recs)
	if err != nil {
		d.t.Errorf("device encode: %v", err)
		return
	}
	_ = w.SetResponse(codes.Content, message.MediaType(d.format), bytes.NewReader(body))
	if observe {
		d.mu.Lock()
		d.seq++
		w.Message().SetObserve(d.seq)
		d.mu.Unlock()
	}
}

func (d *device) discover(w *responsewriter.ResponseWriter[*udpclient.Conn], p codec.Path) {
	var links []codec.Link
	for _, r := range d.records(p) {
		links = append(links, codec.Link{Target: r.Path.String()})
	}
	_ = w.SetResponse(codes.Content, message.AppLinkFormat, bytes.NewReader(codec.EncodeLinkFormat(nil, links)))
}

func (d *device) write(w *responsewriter.ResponseWriter[*udpclient.Conn], r *pool.Message, p codec.Path) {
	cf, err := r.ContentFormat()
	if err != nil {
		_ = w.SetResponse(codes.BadRequest, message.TextPlain, nil)
		return
	}
	body, _ := r.ReadBody()
	recs, err := codec.Decode(codec.ContentFormat(cf), p, body, d.reg)
	if err != nil {
		_ = w.SetResponse(codes.BadRequest, message.TextPlain, nil)
		return
	}
	d.mu.Lock()
	d.writes = append(d.writes, codec.ContentFormat(cf))
	for _, rec := range recs {
		d.values[rec.Path] = rec.Value
	}
	d.mu.Unlock()
	if r.Code() == codes.POST && p.IsObject() {
		_ = w.SetResponse(codes.Created, message.TextPlain, nil)
		return
	}
	_ = w.SetResponse(codes.Changed, message.TextPlain, nil)
}

// set changes a value and notifies its observer, if any (RFC 7641 §4.2).
func (d *device) set(p codec.Path, v codec.Value) {
	d.t.Helper()
	d.mu.Lock()
	d.values[p] = v
	var tok []byte
	var obsPath codec.Path
	for op, t := range d.observed {
		if p.Under(op) {
			tok, obsPath = t, op
		}
	}
	d.seq++
	seq := d.seq
	d.mu.Unlock()
	if tok == nil {
		return
	}
	body, err := codec.Encode(d.format, nil, obsPath, d.records(obsPath))
	if err != nil {
		d.t.Fatal(err)
	}
	m := d.cc.AcquireMessage(context.Background())
	defer d.cc.ReleaseMessage(m)
	m.SetCode(codes.Content)
	m.SetToken(tok)
	m.SetObserve(seq)
	m.SetContentFormat(message.MediaType(d.format))
	m.SetBody(bytes.NewReader(body))
	m.SetType(message.NonConfirmable)
	m.SetMessageID(d.cc.GetMessageID())
	if err := d.cc.WriteMessage(m); err != nil {
		d.t.Fatal(err)
	}
}

func (d *device) observing(p codec.Path) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.observed[p]
	return ok
}

func (s *Server) byNameLocked(name string) *endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byName[name]
}

func queryOpts(qs ...string) message.Options {
	var opts message.Options
	for _, q := range qs {
		opts = append(opts, message.Option{ID: message.URIQuery, Value: []byte(q)})
	}
	return opts
}

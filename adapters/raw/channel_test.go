package raw

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/adaptertest"
	rawcodec "github.com/manifold-iot/manifold/codec/raw"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/session"
)

// logBuf collects log lines for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// testContext is adaptertest.Context (a deny list in place of the
// authorization sources) with a refused-user set for authentication.
type testContext struct {
	adaptertest.Context
	refuse map[string]bool // client ids whose authentication fails
}

func (c *testContext) Authenticate(req adapters.AuthRequest) error {
	if c.refuse[req.Client.ClientID] {
		return errors.New("bad credentials")
	}
	return nil
}

type env struct {
	t    *testing.T
	b    *broker.Broker
	ctx  *testContext
	logs *logBuf
	cfg  Config
}

func newEnv(t *testing.T) *env {
	t.Helper()
	b := broker.New(broker.DefaultConfig(), zerolog.Nop())
	t.Cleanup(b.Close)
	logs := &logBuf{}
	ctx := &testContext{Context: adaptertest.Context{Broker: b, Log: zerolog.New(logs)}, refuse: map[string]bool{}}
	return &env{t: t, b: b, ctx: ctx, logs: logs, cfg: DefaultConfig()}
}

func (e *env) dial(remote string) *adaptertest.Driver {
	e.t.Helper()
	a, err := NewAdapter(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return adaptertest.Dial(e.t, a, e.ctx, remote)
}

// subscriber is an in-process MQTT client of the broker.
type subscriber struct {
	t    *testing.T
	sess *session.Session
}

func (subscriber) Notify()    {}
func (subscriber) Kick(error) {}

func (e *env) subscribe(filter string) *subscriber {
	e.t.Helper()
	s := &subscriber{t: e.t}
	res := e.b.Connect(broker.ConnectRequest{Client: &core.ClientInfo{ClientID: "sub-" + filter, Proto: "mqtt"}, Conn: s, CleanStart: true})
	s.sess = res.Session
	if _, err := e.b.Subscribe("sub-"+filter, s, filter, core.SubOptions{QoS: core.QoS1}); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// messages returns "topic payload" for each message queued since the last call.
func (s *subscriber) messages() []string {
	ds, _ := s.sess.Take(nil, time.Now(), 0)
	var out []string
	for _, d := range ds {
		out = append(out, d.Msg.Topic+" "+string(d.Msg.Payload))
		if d.QoS == core.QoS1 {
			s.sess.Ack(d.PacketID)
		}
	}
	return out
}

func (e *env) publish(topic, payload string, qos core.QoS) {
	e.t.Helper()
	if _, err := e.b.Publish(&core.Message{Topic: topic, Payload: []byte(payload), QoS: qos}); err != nil {
		e.t.Fatal(err)
	}
}

func equal(a, b []string) bool { return strings.Join(a, "|") == strings.Join(b, "|") }

func TestConfigOnlyPeerAddress(t *testing.T) {
	e := newEnv(t)
	sub := e.subscribe("raw/#")
	d := e.dial("127.0.0.1:5000")
	d.Feed([]byte("hello\ntemp=21"))
	if got := sub.messages(); !equal(got, []string{"raw/127.0.0.1:5000/up hello"}) {
		t.Fatalf("uplink %q", got)
	}
	d.Feed([]byte(".5\r\n"))
	if got := sub.messages(); !equal(got, []string{"raw/127.0.0.1:5000/up temp=21.5"}) {
		t.Fatalf("uplink %q", got)
	}

	for _, qos := range []core.QoS{core.QoS0, core.QoS1, core.QoS2} {
		e.publish("raw/127.0.0.1:5000/dn", "cmd", qos)
		d.Pump()
		if out := string(d.Output()); out != "cmd\n" {
			t.Fatalf("downlink at QoS %d: %q", qos, out)
		}
	}
	if closed, err := d.Closed(); closed {
		t.Fatalf("closed: %v", err)
	}
}

func TestConfigOnlyDownlinkQoS1Acknowledged(t *testing.T) {
	e := newEnv(t)
	e.cfg.DnQoS = core.QoS1
	d := e.dial("127.0.0.1:5001")
	// More than the session's inflight window: each written delivery must
	// be acknowledged, or the window would stall the rest.
	const n = 100
	for i := range n {
		e.publish("raw/127.0.0.1:5001/dn", string(rune('a'+i%26)), core.QoS1)
	}
	d.Pump()
	if lines := strings.Count(string(d.Output()), "\n"); lines != n {
		t.Fatalf("%d frames written, want %d", lines, n)
	}
}

func TestConfigOnlyRegexClientID(t *testing.T) {
	e := newEnv(t)
	e.cfg.ClientIDRegex = `^ID:(\w+)$`
	sub := e.subscribe("raw/#")
	d := e.dial("127.0.0.1:5002")
	d.Feed([]byte("ID:dev42\nreading 1\n"))
	want := []string{"raw/dev42/up ID:dev42", "raw/dev42/up reading 1"}
	if got := sub.messages(); !equal(got, want) {
		t.Fatalf("uplink %q, want %q", got, want)
	}
	e.publish("raw/dev42/dn", "reboot", core.QoS0)
	sub.messages()
	d.Pump()
	if out := string(d.Output()); out != "reboot\n" {
		t.Fatalf("downlink %q", out)
	}

	t.Run("id_frame_not_published", func(t *testing.T) {
		e.cfg.PublishIDFrame = false
		d := e.dial("127.0.0.1:5003")
		d.Feed([]byte("ID:dev43\nx\n"))
		if got := sub.messages(); !equal(got, []string{"raw/dev43/up x"}) {
			t.Fatalf("uplink %q", got)
		}
	})
}

func TestConfigOnlyRegexMismatchCloses(t *testing.T) {
	e := newEnv(t)
	e.cfg.ClientIDRegex = `^ID:(\w+)$`
	sub := e.subscribe("raw/#")
	d := e.dial("127.0.0.1:5004")
	d.Feed([]byte("hello\n"))
	if closed, err := d.Closed(); !closed || !errors.Is(err, ErrNoClientID) {
		t.Fatalf("closed=%v err=%v, want ErrNoClientID", closed, err)
	}
	if !strings.Contains(e.logs.String(), `"message":"clientid_not_found"`) {
		t.Fatalf("no clientid_not_found log line: %s", e.logs)
	}
	if got := sub.messages(); len(got) != 0 {
		t.Fatalf("published %q", got)
	}
}

func TestConfigOnlyAuthFailureCloses(t *testing.T) {
	e := newEnv(t)
	e.ctx.refuse["127.0.0.1:5005"] = true
	d := e.dial("127.0.0.1:5005")
	if closed, err := d.Closed(); !closed || !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("closed=%v err=%v, want ErrAuthFailed", closed, err)
	}
	if !strings.Contains(e.logs.String(), `"message":"auth_failed"`) {
		t.Fatalf("no auth_failed log line: %s", e.logs)
	}
}

func TestConfigOnlyACL(t *testing.T) {
	for _, action := range []string{"ignore", "disconnect"} {
		t.Run(action, func(t *testing.T) {
			e := newEnv(t)
			e.ctx.DenyWith = action
			e.ctx.Deny("publish:raw/127.0.0.1:5006/up")
			sub := e.subscribe("raw/#")
			d := e.dial("127.0.0.1:5006")
			d.Feed([]byte("secret\n"))
			if got := sub.messages(); len(got) != 0 {
				t.Fatalf("denied publish delivered: %q", got)
			}
			closed, err := d.Closed()
			if want := action == "disconnect"; closed != want {
				t.Fatalf("closed=%v (%v), want %v", closed, err, want)
			}
			if !strings.Contains(e.logs.String(), `"message":"publish_denied"`) {
				t.Fatalf("no publish_denied log line: %s", e.logs)
			}
		})
	}
	t.Run("downlink_subscribe_denied", func(t *testing.T) {
		e := newEnv(t)
		e.ctx.Deny("subscribe:raw/127.0.0.1:5007/dn")
		d := e.dial("127.0.0.1:5007")
		e.publish("raw/127.0.0.1:5007/dn", "cmd", core.QoS0)
		d.Pump()
		if out := d.Output(); len(out) != 0 {
			t.Fatalf("denied downlink written: %q", out)
		}
		if !strings.Contains(e.logs.String(), `"message":"subscribe_denied"`) {
			t.Fatalf("no subscribe_denied log line: %s", e.logs)
		}
	})
}

func TestIdleTimeout(t *testing.T) {
	e := newEnv(t)
	e.cfg.IdleTimeout = 10 * time.Second
	d := e.dial("127.0.0.1:5008")
	d.Advance(6 * time.Second)
	d.Feed([]byte("alive\n"))
	d.Advance(6 * time.Second) // 12s since open, 6s since the last frame
	if closed, _ := d.Closed(); closed {
		t.Fatal("closed although a frame came within idle_timeout")
	}
	d.Advance(3 * time.Second) // 9s of silence
	if closed, _ := d.Closed(); closed {
		t.Fatal("closed although a frame came within idle_timeout")
	}
	// Two silent checks (the driver fires one per Advance) close it.
	d.Advance(10 * time.Second)
	d.Advance(10 * time.Second)
	if closed, err := d.Closed(); !closed || !errors.Is(err, ErrIdleTimeout) {
		t.Fatalf("closed=%v err=%v, want ErrIdleTimeout", closed, err)
	}
	if !strings.Contains(e.logs.String(), `"message":"idle_timeout"`) {
		t.Fatalf("no idle_timeout log line: %s", e.logs)
	}
}

func TestMalformedFramesClose(t *testing.T) {
	tests := []struct {
		name    string
		framing rawcodec.Config
		in      string
		want    error
	}{
		{"line_too_long", rawcodec.Config{Type: rawcodec.TypeLine, MaxLength: 8}, "0123456789\n", rawcodec.ErrTooLong},
		{"length_over_max", rawcodec.Config{Type: rawcodec.TypeLength, LengthBytes: 2, MaxLength: 100}, "\x10\x00", rawcodec.ErrTooLong},
		{"length_smaller_than_header", rawcodec.Config{Type: rawcodec.TypeLength, LengthBytes: 4, LengthIncludesHeader: true}, "\x00\x00\x00\x03", rawcodec.ErrBadLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.Framing = tt.framing
			d := e.dial("127.0.0.1:5009")
			d.Feed([]byte(tt.in))
			if closed, err := d.Closed(); !closed || !errors.Is(err, tt.want) {
				t.Fatalf("closed=%v err=%v, want %v", closed, err, tt.want)
			}
			if !strings.Contains(e.logs.String(), `"message":"frame_error"`) {
				t.Fatalf("no frame_error log line: %s", e.logs)
			}
		})
	}
}

func TestLengthFramingDownlink(t *testing.T) {
	e := newEnv(t)
	e.cfg.Framing = rawcodec.Config{Type: rawcodec.TypeLength, LengthBytes: 2, Endian: "little"}
	sub := e.subscribe("raw/#")
	d := e.dial("127.0.0.1:5010")
	d.Feed([]byte("\x02\x00hi"))
	if got := sub.messages(); !equal(got, []string{"raw/127.0.0.1:5010/up hi"}) {
		t.Fatalf("uplink %q", got)
	}
	e.publish("raw/127.0.0.1:5010/dn", "abc", core.QoS0)
	d.Pump()
	if out := string(d.Output()); out != "\x03\x00abc" {
		t.Fatalf("downlink %q", out)
	}
}

func TestMountpoint(t *testing.T) {
	e := newEnv(t)
	e.cfg.Mountpoint = "site1/"
	sub := e.subscribe("site1/#")
	d := e.dial("127.0.0.1:5011")
	d.Feed([]byte("x\n"))
	if got := sub.messages(); !equal(got, []string{"site1/raw/127.0.0.1:5011/up x"}) {
		t.Fatalf("uplink %q", got)
	}
	e.publish("site1/raw/127.0.0.1:5011/dn", "y", core.QoS0)
	d.Pump()
	if out := string(d.Output()); out != "y\n" {
		t.Fatalf("downlink %q", out)
	}
}

func TestTakeoverClosesOlderConnection(t *testing.T) {
	e := newEnv(t)
	e.cfg.ClientIDRegex = `^(\w+)$`
	d1 := e.dial("127.0.0.1:5012")
	d1.Feed([]byte("dev\n"))
	d2 := e.dial("127.0.0.1:5013")
	d2.Feed([]byte("dev\n"))
	d1.Pump()
	if closed, err := d1.Closed(); !closed || !errors.Is(err, broker.ErrTakenOver) {
		t.Fatalf("older connection closed=%v err=%v", closed, err)
	}
	e.publish("raw/dev/dn", "to-new", core.QoS0)
	d2.Pump()
	if out := string(d2.Output()); out != "to-new\n" {
		t.Fatalf("newer connection got %q", out)
	}
}

func TestPersistentSessionQueuesWhileAway(t *testing.T) {
	e := newEnv(t)
	e.cfg.ClientIDRegex = `^(\w+)$`
	e.cfg.PublishIDFrame = false
	e.cfg.CleanSession = false
	e.cfg.DnQoS = core.QoS1
	d := e.dial("127.0.0.1:5014")
	d.Feed([]byte("dev\n"))
	d.Hangup(nil)
	e.publish("raw/dev/dn", "while-away", core.QoS1)
	d = e.dial("127.0.0.1:5015")
	d.Feed([]byte("dev\n"))
	d.Pump()
	if out := string(d.Output()); out != "while-away\n" {
		t.Fatalf("reconnected client got %q", out)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"default", func(*Config) {}, ""},
		{"unknown_handler", func(c *Config) { c.Handler = "nope" }, `gateway.raw.handler: no handler registered as "nope"`},
		{"bad_framing", func(c *Config) { c.Framing.Type = "xml" }, "gateway.raw.framing.type"},
		{"empty_up_topic", func(c *Config) { c.UpTopic = "" }, "gateway.raw.up_topic"},
		{"wildcard_up_topic", func(c *Config) { c.UpTopic = "raw/#" }, "gateway.raw.up_topic"},
		{"qos", func(c *Config) { c.UpQoS = 3 }, "gateway.raw.up_qos"},
		{"regex_syntax", func(c *Config) { c.ClientIDRegex = "(" }, "gateway.raw.clientid_regex"},
		{"regex_no_group", func(c *Config) { c.ClientIDRegex = "ID:.*" }, "gateway.raw.clientid_regex: needs a capture group"},
		{"negative_idle", func(c *Config) { c.IdleTimeout = -1 }, "gateway.raw.idle_timeout"},
		{"key", func(c *Config) { c.Key = "gateway.raw.listeners.tcp.default"; c.DnQoS = 9 }, "gateway.raw.listeners.tcp.default.dn_qos"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mod(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
			if _, err := NewAdapter(c); err == nil {
				t.Fatal("NewAdapter accepted an invalid config")
			}
		})
	}
}

func TestExpand(t *testing.T) {
	ci := &core.ClientInfo{ClientID: "dev", Username: "u"}
	if got := expand("a/${clientid}/{clientid}/${username}/${peerhost}", ci); got != "a/dev/dev/u/" {
		t.Fatalf("got %q", got)
	}
}

// TestConfigYAML decodes the listener block README.md documents: every key
// is a field, durations and QoS parse, and the result validates.
func TestConfigYAML(t *testing.T) {
	doc := `
framing:
  type: length
  max_length: 1024
  length_bytes: 4
  endian: little
  length_includes_header: true
handler: ""
up_topic: "raw/${clientid}/up"
up_qos: 1
up_retain: true
dn_topic: "raw/${clientid}/dn"
dn_qos: 2
clientid_regex: '^ID:(\w+)'
publish_id_frame: false
idle_timeout: 90s
clean_session: false
session_expiry: 2h
mountpoint: "site/"
`
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Config{
		Framing: rawcodec.Config{Type: "length", MaxLength: 1024, LengthBytes: 4, Endian: "little", LengthIncludesHeader: true},
		UpTopic: "raw/${clientid}/up", UpQoS: 1, UpRetain: true, DnTopic: "raw/${clientid}/dn", DnQoS: 2,
		ClientIDRegex: `^ID:(\w+)`, IdleTimeout: 90 * time.Second, SessionExpiry: 2 * time.Hour, Mountpoint: "site/",
	}
	if c != want {
		t.Fatalf("decoded %+v\nwant    %+v", c, want)
	}
}

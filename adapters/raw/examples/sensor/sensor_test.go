package sensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/adaptertest"
	"github.com/manifold-iot/manifold/adapters/raw"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/session"
)

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// testContext is adaptertest.Context (a deny list in place of the
// authorization sources) where passwords must be "secret" when given.
type testContext struct {
	adaptertest.Context
}

func (c *testContext) Authenticate(req adapters.AuthRequest) error {
	if len(req.Password) > 0 && string(req.Password) != "secret" {
		return errors.New("bad password")
	}
	return nil
}

type env struct {
	t    testing.TB
	b    *broker.Broker
	ctx  *testContext
	logs *logBuf
	ad   *raw.Adapter
}

func newEnv(t testing.TB) *env {
	t.Helper()
	b := broker.New(broker.DefaultConfig(), zerolog.Nop())
	t.Cleanup(b.Close)
	logs := &logBuf{}
	ad, err := raw.NewAdapter(Config())
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, b: b, ctx: &testContext{Context: adaptertest.Context{Broker: b, Log: zerolog.New(logs)}}, logs: logs, ad: ad}
}

// frame is body with its 2-byte big-endian length.
func frame(body []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(body))), body...)
}

// frames cuts the server's output into bodies.
func frames(t *testing.T, out []byte) [][]byte {
	t.Helper()
	var fs [][]byte
	for len(out) > 0 {
		if len(out) < 2 || len(out) < 2+int(binary.BigEndian.Uint16(out)) {
			t.Fatalf("partial frame % x", out)
		}
		n := int(binary.BigEndian.Uint16(out))
		fs = append(fs, out[2:2+n])
		out = out[2+n:]
	}
	return fs
}

type subscriber struct{ sess *session.Session }

func (subscriber) Notify()    {}
func (subscriber) Kick(error) {}

func (e *env) subscribe(filter string) *subscriber {
	s := &subscriber{}
	s.sess = e.b.Connect(broker.ConnectRequest{Client: &core.ClientInfo{ClientID: "app", Proto: "mqtt"}, Conn: s, CleanStart: true}).Session
	if _, err := e.b.Subscribe("app", s, filter, core.SubOptions{}); err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (s *subscriber) messages() []string {
	ds, _ := s.sess.Take(nil, time.Now(), 0)
	var out []string
	for _, d := range ds {
		out = append(out, d.Msg.Topic+" "+string(d.Msg.Payload))
	}
	return out
}

func TestSensorSession(t *testing.T) {
	e := newEnv(t)
	app := e.subscribe("sensors/#")
	d := adaptertest.Dial(t, e.ad, e.ctx, "127.0.0.1:6000")

	d.Feed(frame(Hello("thermo-1", "secret")))
	if fs := frames(t, d.Output()); len(fs) != 1 || !bytes.Equal(fs[0], []byte{TypeHelloAck, 0}) {
		t.Fatalf("HELLO answered % x", fs)
	}
	// Two readings in one write, the second split across two.
	two := append(frame(Reading(1, 21500)), frame(Reading(2, -1250))...)
	d.Feed(two[:10])
	d.Feed(two[10:])
	want := []string{`sensors/thermo-1/reading {"sensor":1,"value":21.5}`, `sensors/thermo-1/reading {"sensor":2,"value":-1.25}`}
	if got := app.messages(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("readings published %q, want %q", got, want)
	}

	if _, err := e.b.Publish(&core.Message{Topic: "sensors/thermo-1/cmd", Payload: []byte("calibrate"), QoS: core.QoS1}); err != nil {
		t.Fatal(err)
	}
	d.Pump()
	if fs := frames(t, d.Output()); len(fs) != 1 || string(fs[0]) != "\x03calibrate" {
		t.Fatalf("CMD frame % x", fs)
	}

	d.Feed(frame([]byte{TypePing}))
	if fs := frames(t, d.Output()); len(fs) != 1 || fs[0][0] != TypePong {
		t.Fatalf("PING answered % x", fs)
	}
	if closed, err := d.Closed(); closed {
		t.Fatalf("closed: %v", err)
	}
	if at, ok := d.TimerSet(0); !ok || time.Until(at) < Keepalive/2-time.Second {
		t.Fatalf("keepalive timer %v %v, want the handler's %v check", at, ok, Keepalive)
	}
}

func TestSensorErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    [][]byte
		want  error
		reply byte
		log   string
	}{
		{"reading_before_hello", [][]byte{Reading(1, 1)}, ErrBadFrame, TypeError, "sensor_bad_frame"},
		{"short_reading", [][]byte{Hello("a", ""), {TypeReading, 1, 2}}, ErrBadFrame, TypeError, "sensor_bad_frame"},
		{"unknown_type", [][]byte{Hello("a", ""), {0x55}}, ErrBadFrame, TypeError, "sensor_bad_frame"},
		{"empty_frame", [][]byte{{}}, ErrBadFrame, TypeError, "sensor_bad_frame"},
		{"empty_id", [][]byte{{TypeHello}}, ErrBadFrame, TypeError, "sensor_bad_frame"},
		{"second_hello", [][]byte{Hello("a", ""), Hello("b", "")}, ErrBadFrame, TypeError, "sensor_bad_frame"},
		{"wrong_password", [][]byte{Hello("a", "guess")}, ErrRefused, TypeHelloAck, "sensor_hello_refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			d := adaptertest.Dial(t, e.ad, e.ctx, "127.0.0.1:6001")
			for _, b := range tt.in {
				d.Feed(frame(b))
			}
			closed, err := d.Closed()
			if !closed || !errors.Is(err, tt.want) {
				t.Fatalf("closed=%v err=%v, want %v", closed, err, tt.want)
			}
			fs := frames(t, d.Output())
			if len(fs) == 0 || fs[len(fs)-1][0] != tt.reply {
				t.Fatalf("last reply % x, want type 0x%02x", fs, tt.reply)
			}
			if !strings.Contains(e.logs.String(), `"message":"`+tt.log+`"`) {
				t.Fatalf("no %s log line: %s", tt.log, e.logs)
			}
		})
	}
}

func TestSensorHelloTimeout(t *testing.T) {
	e := newEnv(t)
	d := adaptertest.Dial(t, e.ad, e.ctx, "127.0.0.1:6002")
	d.Advance(HelloTimeout - time.Second)
	if closed, _ := d.Closed(); closed {
		t.Fatal("closed before the hello timeout")
	}
	d.Advance(2 * time.Second)
	if closed, err := d.Closed(); !closed || !errors.Is(err, ErrNoHello) {
		t.Fatalf("closed=%v err=%v, want ErrNoHello", closed, err)
	}
	if fs := frames(t, d.Output()); len(fs) != 1 || fs[0][0] != TypeError {
		t.Fatalf("reply % x, want ERROR", fs)
	}
}

func TestSensorPublishDenied(t *testing.T) {
	e := newEnv(t)
	e.ctx.Deny("publish:sensors/a/reading")
	app := e.subscribe("sensors/#")
	d := adaptertest.Dial(t, e.ad, e.ctx, "127.0.0.1:6003")
	d.Feed(frame(Hello("a", "")))
	d.Feed(frame(Reading(1, 1000)))
	if got := app.messages(); len(got) != 0 {
		t.Fatalf("denied reading published: %q", got)
	}
	if !strings.Contains(e.logs.String(), `"message":"publish_denied"`) {
		t.Fatalf("no publish_denied log line: %s", e.logs)
	}
}

func TestAdapterConformance(t *testing.T) {
	adaptertest.Run(t, adaptertest.Fixture{
		New: func(t *testing.T) (adapters.Adapter, adapters.Context) {
			e := newEnv(t)
			return e.ad, e.ctx
		},
		Hello:   frame(Hello("conf", "")),
		Garbage: []byte{0xff, 0xff}, // a length over max_length
	})
}

// FuzzDecode feeds any bytes, after a HELLO or not, through the framer and
// the handler's frame parsing: never a panic (which the channel would
// recover and log as handler_panic), and any close is one of the
// protocol's own reasons.
func FuzzDecode(f *testing.F) {
	f.Add(true, frame(Reading(1, 21500)))
	f.Add(false, frame(Hello("x", "secret")))
	f.Add(true, []byte{0, 1, TypePing, 0, 0})
	f.Add(true, []byte{0xff, 0xff, 0})
	f.Fuzz(func(t *testing.T, hello bool, b []byte) {
		e := newEnv(t)
		d := adaptertest.Dial(t, e.ad, e.ctx, "127.0.0.1:6004")
		if hello {
			d.Feed(frame(Hello("fuzz", "")))
		}
		d.Feed(b)
		d.Pump()
		if strings.Contains(e.logs.String(), "handler_panic") {
			t.Fatalf("handler panicked: %s", e.logs)
		}
		if closed, err := d.Closed(); closed && !errors.Is(err, ErrBadFrame) && !errors.Is(err, ErrRefused) &&
			!strings.Contains(err.Error(), "raw:") {
			t.Fatalf("closed for %v", err)
		}
	})
}

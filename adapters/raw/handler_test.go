package raw

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/core"
)

// scripted is a Handler whose callbacks run the test's functions and
// record what happened.
type scripted struct {
	onConnect func(Conn) error
	onFrame   func(Conn, []byte)
	onMessage func(Conn, *core.Message)
	onTimer   func(Conn, string)
	closed    []error
}

func (s *scripted) OnConnect(c Conn) error {
	if s.onConnect != nil {
		return s.onConnect(c)
	}
	return nil
}
func (s *scripted) OnFrame(c Conn, f []byte) {
	if s.onFrame != nil {
		s.onFrame(c, f)
	}
}
func (s *scripted) OnMessage(c Conn, m *core.Message) {
	if s.onMessage != nil {
		s.onMessage(c, m)
	}
}
func (s *scripted) OnTimer(c Conn, name string) {
	if s.onTimer != nil {
		s.onTimer(c, name)
	}
}
func (s *scripted) OnClose(_ Conn, reason error) { s.closed = append(s.closed, reason) }

// current is the handler the "scripted" factory returns next; tests in
// this package run one at a time.
var current *scripted

func init() { Register("scripted", func() Handler { return current }) }

func handlerEnv(t *testing.T, h *scripted) *env {
	current = h
	e := newEnv(t)
	e.cfg.Handler = "scripted"
	return e
}

func TestHandlerBeforeAuthenticate(t *testing.T) {
	var errs []error
	h := &scripted{onFrame: func(c Conn, f []byte) {
		errs = append(errs, c.Publish("t", f, 0, false), c.Subscribe("t", 0), c.Unsubscribe("t"))
	}}
	e := handlerEnv(t, h)
	d := e.dial("127.0.0.1:7000")
	d.Feed([]byte("x\n"))
	for _, err := range errs {
		if !errors.Is(err, ErrNotAuthenticated) {
			t.Fatalf("before Authenticate: %v, want ErrNotAuthenticated", err)
		}
	}
	if len(errs) != 3 {
		t.Fatalf("%d results", len(errs))
	}
}

func TestHandlerRoundTrip(t *testing.T) {
	h := &scripted{}
	h.onFrame = func(c Conn, f []byte) {
		switch {
		case strings.HasPrefix(string(f), "login "):
			if err := c.Authenticate(string(f[6:]), "user", nil); err != nil {
				c.Send([]byte("ERR " + err.Error()))
				return
			}
			if err := c.Subscribe("cmd/"+c.ClientID(), core.QoS1); err != nil {
				t.Errorf("subscribe: %v", err)
			}
			c.Send([]byte("OK"))
		case string(f) == "unsub":
			if err := c.Unsubscribe("cmd/" + c.ClientID()); err != nil {
				t.Errorf("unsubscribe: %v", err)
			}
		case string(f) == "again":
			if err := c.Authenticate("other", "", nil); !errors.Is(err, ErrAlreadyConnected) {
				t.Errorf("second Authenticate: %v", err)
			}
		default:
			buf := []byte("data " + string(f))
			if err := c.Publish("up/"+c.ClientID(), buf, core.QoS1, false); err != nil {
				t.Errorf("publish: %v", err)
			}
			buf[0] = 'X' // the payload was copied
		}
	}
	h.onMessage = func(c Conn, m *core.Message) { c.Send([]byte(m.Topic + "=" + string(m.Payload))) }
	e := handlerEnv(t, h)
	e.cfg.Mountpoint = "m/"
	sub := e.subscribe("m/#")
	d := e.dial("127.0.0.1:7001")
	d.Feed([]byte("login dev\nhello\nagain\n"))
	if out := string(d.Output()); out != "OK\n" {
		t.Fatalf("output %q", out)
	}
	if got := sub.messages(); !equal(got, []string{"m/up/dev data hello"}) {
		t.Fatalf("published %q", got)
	}
	e.publish("m/cmd/dev", "go", core.QoS1)
	d.Pump()
	if out := string(d.Output()); out != "cmd/dev=go\n" {
		t.Fatalf("message written as %q (topic without the mountpoint)", out)
	}
	d.Feed([]byte("unsub\n"))
	e.publish("m/cmd/dev", "gone", core.QoS1)
	d.Pump()
	if out := d.Output(); len(out) != 0 {
		t.Fatalf("after Unsubscribe: %q", out)
	}
	d.Hangup(nil)
	if len(h.closed) != 1 || h.closed[0] != nil {
		t.Fatalf("OnClose calls %v", h.closed)
	}
}

func TestHandlerAuthenticateRefused(t *testing.T) {
	var got error
	h := &scripted{onFrame: func(c Conn, f []byte) { got = c.Authenticate(string(f), "", []byte("pw")) }}
	e := handlerEnv(t, h)
	e.ctx.refuse["bad"] = true
	d := e.dial("127.0.0.1:7002")
	d.Feed([]byte("bad\n"))
	if !errors.Is(got, ErrAuthFailed) {
		t.Fatalf("Authenticate: %v", got)
	}
	if closed, _ := d.Closed(); closed {
		t.Fatal("a refused Authenticate closed the connection: the handler decides")
	}
}

func TestHandlerTimersAndKeepalive(t *testing.T) {
	var fired []string
	h := &scripted{
		onConnect: func(c Conn) error {
			c.StartTimer("a", time.Second)
			c.StartTimer("b", 2*time.Second)
			c.StartTimer("b", 0) // cancelled
			c.SetKeepalive(0)
			return nil
		},
		onTimer: func(c Conn, name string) {
			fired = append(fired, name)
			if len(fired) < 3 {
				c.StartTimer("a", time.Second) // periodic, by re-arming
			}
		},
	}
	e := handlerEnv(t, h)
	e.cfg.IdleTimeout = time.Second
	d := e.dial("127.0.0.1:7003")
	for range 5 {
		d.Advance(1100 * time.Millisecond)
	}
	if strings.Join(fired, ",") != "a,a,a" {
		t.Fatalf("timers fired %v", fired)
	}
	if closed, err := d.Closed(); closed {
		t.Fatalf("closed with keepalive disabled: %v", err)
	}
}

func TestHandlerConnectRefusedAndPanics(t *testing.T) {
	t.Run("on_connect_error", func(t *testing.T) {
		refuse := errors.New("not today")
		e := handlerEnv(t, &scripted{onConnect: func(Conn) error { return refuse }})
		d := e.dial("127.0.0.1:7004")
		if closed, err := d.Closed(); !closed || !errors.Is(err, refuse) {
			t.Fatalf("closed=%v err=%v", closed, err)
		}
	})
	t.Run("panic_closes_one_connection", func(t *testing.T) {
		e := handlerEnv(t, &scripted{onFrame: func(Conn, []byte) { panic("boom") }})
		d := e.dial("127.0.0.1:7005")
		d.Feed([]byte("x\n"))
		if closed, err := d.Closed(); !closed || !errors.Is(err, ErrHandlerPanic) {
			t.Fatalf("closed=%v err=%v", closed, err)
		}
		if !strings.Contains(e.logs.String(), `"message":"handler_panic"`) {
			t.Fatalf("no handler_panic log line: %s", e.logs)
		}
	})
	t.Run("close_after_send", func(t *testing.T) {
		bye := errors.New("bye")
		e := handlerEnv(t, &scripted{onFrame: func(c Conn, _ []byte) {
			c.Send([]byte("last"))
			c.Close(bye)
			c.Send([]byte("ignored"))
		}})
		d := e.dial("127.0.0.1:7006")
		d.Feed([]byte("x\n"))
		if out := string(d.Output()); out != "last\n" {
			t.Fatalf("output %q", out)
		}
		if closed, err := d.Closed(); !closed || !errors.Is(err, bye) {
			t.Fatalf("closed=%v err=%v", closed, err)
		}
	})
}

func TestRegister(t *testing.T) {
	for name, f := range map[string]func(){
		"duplicate":   func() { Register("scripted", func() Handler { return nil }) },
		"empty_name":  func() { Register("", func() Handler { return nil }) },
		"nil_factory": func() { Register("x", nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}

// TestHandlerNoReentrantOnMessage: a retained message matching a
// subscription made inside OnFrame arrives in a later OnMessage, never
// inside the Subscribe or Authenticate call.
func TestHandlerNoReentrantOnMessage(t *testing.T) {
	var events []string
	h := &scripted{
		onFrame: func(c Conn, f []byte) {
			events = append(events, "frame:begin")
			if err := c.Authenticate(string(f), "", nil); err != nil {
				t.Fatal(err)
			}
			if err := c.Subscribe("cfg/"+c.ClientID(), core.QoS1); err != nil {
				t.Fatal(err)
			}
			events = append(events, "frame:end")
		},
		onMessage: func(_ Conn, m *core.Message) { events = append(events, "message:"+string(m.Payload)) },
	}
	e := handlerEnv(t, h)
	if _, err := e.b.Publish(&core.Message{Topic: "cfg/dev", Payload: []byte("v1"), QoS: core.QoS1, Retain: true}); err != nil {
		t.Fatal(err)
	}
	d := e.dial("127.0.0.1:7007")
	d.Feed([]byte("dev\n"))
	d.Pump()
	if got := strings.Join(events, ","); got != "frame:begin,frame:end,message:v1" {
		t.Fatalf("events %s", got)
	}
}

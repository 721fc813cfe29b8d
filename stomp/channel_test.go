package stomp

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/adaptertest"
	sc "github.com/manifold-iot/manifold/codec/stomp"
	"github.com/manifold-iot/manifold/core/broker"
)

func TestAdapterConformance(t *testing.T) {
	adaptertest.Run(t, adaptertest.Fixture{
		New: func(t *testing.T) (adapters.Adapter, adapters.Context) {
			e := newEnv(t, nil)
			return e.ad, e.ctx
		},
		Hello:   []byte("CONNECT\naccept-version:1.2\nhost:x\n\n\x00"),
		Garbage: []byte("HELLO\n\n\x00"),
	})
}

func TestConnectNegotiatesVersion(t *testing.T) {
	tests := []struct {
		name    string
		cmd     string
		headers []string
		version string // "" none (1.0)
		err     bool
	}{
		{"no accept-version is 1.0", frame.CONNECT, nil, "", false},
		{"1.0", frame.CONNECT, []string{"accept-version", "1.0"}, "1.0", false},
		{"highest common", frame.CONNECT, []string{"accept-version", "1.0,1.1"}, "1.1", false},
		{"1.2 with STOMP", frame.STOMP, []string{"accept-version", "1.1,1.2", "host", "h"}, "1.2", false},
		{"unsupported", frame.CONNECT, []string{"accept-version", "2.0"}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newEnv(t, nil).dial()
			c.send(tc.cmd, tc.headers...)
			if tc.err {
				fs := c.expect(frame.ERROR)
				if fs[0].Header.Get("version") != "1.0,1.1,1.2" || !c.closed() {
					t.Fatalf("ERROR %s, closed %v", describe(fs), c.closed())
				}
				return
			}
			fs := c.expect(frame.CONNECTED)
			if got := fs[0].Header.Get("version"); got != tc.version {
				t.Errorf("version %q, want %q", got, tc.version)
			}
			if fs[0].Header.Get("session") == "" || fs[0].Header.Get("server") == "" {
				t.Errorf("CONNECTED lacks session or server: %s", describe(fs))
			}
		})
	}
}

func TestConnectRefusals(t *testing.T) {
	tests := []struct {
		name  string
		first []string
	}{
		{"bad password", []string{frame.CONNECT, "accept-version", "1.2", "login", "u", "passcode", "wrong"}},
		{"SEND before CONNECT", []string{frame.SEND, "destination", "a"}},
		{"bad heart-beat", []string{frame.CONNECT, "accept-version", "1.2", "heart-beat", "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newEnv(t, nil).dial()
			c.send(tc.first[0], tc.first[1:]...)
			fs := c.expect(frame.ERROR)
			if fs[0].Header.Get("message") == "" || len(fs[0].Body) == 0 || !c.closed() {
				t.Fatalf("ERROR %s closed %v", describe(fs), c.closed())
			}
		})
	}
}

func TestSendSubscribeAllVersions(t *testing.T) {
	for _, v := range []string{"1.0", "1.1", "1.2"} {
		t.Run(v, func(t *testing.T) {
			e := newEnv(t, nil)
			sub, pub := e.dial(), e.dial()
			ver, _ := sc.ParseVersion(v)
			sub.v, pub.v = ver, ver
			sub.send(frame.CONNECT, "accept-version", v)
			sub.expect(frame.CONNECTED)
			pub.send(frame.CONNECT, "accept-version", v)
			pub.expect(frame.CONNECTED)
			sub.send(frame.SUBSCRIBE, "id", "s1", "destination", "chat/+", "receipt", "r1")
			fs := sub.expect(frame.RECEIPT)
			if fs[0].Header.Get("receipt-id") != "r1" {
				t.Fatalf("receipt %s", describe(fs))
			}
			pub.send(frame.SEND, "destination", "chat/lobby", "content-type", "text/plain", "x-colour", "blue:green", "hello\x00world")
			pub.expect()
			fs = sub.expect(frame.MESSAGE)
			h := fs[0].Header
			if h.Get("destination") != "chat/lobby" || h.Get("subscription") != "s1" || h.Get("message-id") == "" ||
				h.Get("content-type") != "text/plain" || h.Get("x-colour") != "blue:green" || string(fs[0].Body) != "hello\x00world" {
				t.Fatalf("MESSAGE %s", describe(fs))
			}
			if h.Get("content-length") != "11" {
				t.Errorf("content-length %q", h.Get("content-length"))
			}
		})
	}
}

func TestMountpoint(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mountpoint = "stomp/${username}/" })
	c := e.dial()
	c.connect("login", "alice")
	c.send(frame.SUBSCRIBE, "id", "0", "destination", "t/#")
	c.send(frame.SEND, "destination", "t/1", "x")
	fs := c.expect(frame.MESSAGE)
	if got := fs[0].Header.Get("destination"); got != "t/1" {
		t.Errorf("destination %q, want the unmounted t/1", got)
	}
	if len(e.ctx.seen) != 1 || e.ctx.seen[0] != "stomp/alice/t/1" {
		t.Errorf("published on %v, want [stomp/alice/t/1]", e.ctx.seen)
	}
}

func TestFrameErrors(t *testing.T) {
	tests := []struct {
		name string
		kv   []string
		cmd  string
	}{
		{"duplicate subscription id", []string{"id", "a", "destination", "x/2"}, frame.SUBSCRIBE},
		{"duplicate destination", []string{"id", "b", "destination", "x/1"}, frame.SUBSCRIBE},
		{"subscribe without id", []string{"destination", "y"}, frame.SUBSCRIBE},
		{"bad ack mode", []string{"id", "c", "destination", "y", "ack", "sometimes"}, frame.SUBSCRIBE},
		{"invalid filter", []string{"id", "c", "destination", "a/#/b"}, frame.SUBSCRIBE},
		{"send without destination", []string{"content-type", "text/plain"}, frame.SEND},
		{"send bad qos", []string{"destination", "a", "qos", "3"}, frame.SEND},
		{"send wildcard topic", []string{"destination", "a/+"}, frame.SEND},
		{"unknown transaction", []string{"transaction", "t9"}, frame.COMMIT},
		{"unsubscribe unknown", []string{"id", "zz"}, frame.UNSUBSCRIBE},
		{"server frame", []string{}, frame.MESSAGE},
		{"second CONNECT", []string{"accept-version", "1.2"}, frame.CONNECT},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newEnv(t, nil).dial()
			c.connect()
			c.send(frame.SUBSCRIBE, "id", "a", "destination", "x/1")
			c.expect()
			c.send(tc.cmd, append(tc.kv, "receipt", "rr")...)
			fs := c.expect(frame.ERROR)
			if fs[0].Header.Get("message") == "" || len(fs[0].Body) == 0 || !c.closed() {
				t.Fatalf("ERROR %s closed %v", describe(fs), c.closed())
			}
			if tc.cmd != frame.CONNECT && fs[0].Header.Get("receipt-id") != "rr" {
				t.Errorf("ERROR without receipt-id: %s", describe(fs))
			}
		})
	}
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{
		{"max_headers", "SEND\ndestination:a\nb:1\nc:2\nd:3\n\n\x00"},
		{"max_headers_length", "SEND\ndestination:" + string(make([]byte, 100)) + "\n\n\x00"},
		{"max_body_length", "SEND\ndestination:a\n\n0123456789012345678901234567890123456789\x00"},
		{"max_frame_size", "SEND\ndestination:aaaaaaaaaaaaaaaaaaaaaaaa\nb:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\n\x00"},
		{"unknown command", "FLY\n\n\x00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) {
				c.Limits = sc.Limits{MaxHeaders: 3, MaxHeadersLength: 50, MaxBodyLength: 32, MaxFrameSize: 80}
			})
			c := e.dial()
			c.connect()
			c.d.Feed([]byte(tc.raw))
			fs := c.expect(frame.ERROR)
			if !c.closed() || fs[0].Header.Get("message") == "" {
				t.Fatalf("ERROR %s closed %v", describe(fs), c.closed())
			}
		})
	}
}

func TestACLDenied(t *testing.T) {
	for _, tc := range []struct{ name, deny, cmd, dest string }{
		{"send", "publish:secret/x", frame.SEND, "secret/x"},
		{"subscribe", "subscribe:secret/#", frame.SUBSCRIBE, "secret/#"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.ctx.Deny(tc.deny)
			c := e.dial()
			c.connect()
			c.send(tc.cmd, "id", "1", "destination", tc.dest)
			fs := c.expect(frame.ERROR)
			if fs[0].Header.Get("message") != "not authorized" || !c.closed() {
				t.Fatalf("%s", describe(fs))
			}
		})
	}
}

func TestClientAckAndNack(t *testing.T) {
	for _, mode := range []string{ackClient, ackClientIndividual} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, nil)
			sub, pub := e.dial(), e.dial()
			sub.connect("client-id", "sub")
			pub.connect()
			sub.send(frame.SUBSCRIBE, "id", "0", "destination", "q", "ack", mode)
			pub.send(frame.SEND, "destination", "q", "qos", "1", "m1")
			pub.send(frame.SEND, "destination", "q", "qos", "1", "m2")
			fs := sub.expect(frame.MESSAGE, frame.MESSAGE)
			if fs[0].Header.Get("ack") == "" {
				t.Fatalf("no ack header: %s", describe(fs))
			}
			// NACK the second: it comes again.
			sub.send(frame.NACK, "id", fs[1].Header.Get("ack"))
			var again []*frame.Frame
			if mode == ackClient {
				// NACK in client mode is cumulative: m1 comes again too.
				again = sub.expect(frame.MESSAGE, frame.MESSAGE)
			} else {
				again = sub.expect(frame.MESSAGE)
			}
			if string(again[len(again)-1].Body) != "m2" {
				t.Fatalf("redelivered %s", describe(again))
			}
			// ACK everything outstanding.
			for _, f := range again {
				sub.send(frame.ACK, "id", f.Header.Get("ack"))
			}
			if mode == ackClientIndividual {
				sub.send(frame.ACK, "id", fs[0].Header.Get("ack"))
			}
			sub.expect()
			if got := e.ctx.Session("sub").Stats().Inflight; got != 0 {
				t.Errorf("inflight after acking everything = %d", got)
			}
		})
	}
}

func TestIndividualAckSettlesOne(t *testing.T) {
	e := newEnv(t, nil)
	sub, pub := e.dial(), e.dial()
	sub.connect("client-id", "sub")
	pub.connect()
	sub.send(frame.SUBSCRIBE, "id", "0", "destination", "q", "ack", ackClientIndividual)
	pub.send(frame.SEND, "destination", "q", "qos", "1", "m1")
	pub.send(frame.SEND, "destination", "q", "qos", "1", "m2")
	fs := sub.expect(frame.MESSAGE, frame.MESSAGE)
	sub.send(frame.ACK, "id", fs[1].Header.Get("ack"))
	if got := e.ctx.Session("sub").Stats().Inflight; got != 1 {
		t.Fatalf("inflight = %d after acking one of two", got)
	}
	sub.send(frame.ACK, "id", fs[0].Header.Get("ack"))
	if got := e.ctx.Session("sub").Stats().Inflight; got != 0 {
		t.Fatalf("inflight = %d after acking both", got)
	}
}

func TestPersistentSessionRedelivers(t *testing.T) {
	e := newEnv(t, nil)
	sub, pub := e.dial(), e.dial()
	sub.connect("client-id", "dur", "clean-session", "false")
	pub.connect()
	sub.send(frame.SUBSCRIBE, "id", "s", "destination", "q", "ack", ackClient)
	pub.send(frame.SEND, "destination", "q", "qos", "1", "keep")
	sub.expect(frame.MESSAGE)
	sub.d.Hangup(nil)

	back := e.dial()
	back.connect("client-id", "dur", "clean-session", "false")
	back.send(frame.SUBSCRIBE, "id", "s", "destination", "q", "ack", ackClient)
	fs := back.expect(frame.MESSAGE)
	if string(fs[0].Body) != "keep" || fs[0].Header.Get("subscription") != "s" {
		t.Fatalf("redelivered %s", describe(fs))
	}
	back.send(frame.ACK, "id", fs[0].Header.Get("ack"))
	if got := e.ctx.Session("dur").Stats().Inflight; got != 0 {
		t.Fatalf("inflight = %d after ACK", got)
	}
}

func TestTransactions(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.connect()
	c.send(frame.SUBSCRIBE, "id", "0", "destination", "tx/#")
	c.send(frame.BEGIN, "transaction", "t1")
	c.send(frame.SEND, "destination", "tx/a", "transaction", "t1", "one")
	c.send(frame.SEND, "destination", "tx/b", "transaction", "t1", "two")
	c.expect()
	c.send(frame.COMMIT, "transaction", "t1", "receipt", "c")
	fs := c.expect(frame.RECEIPT, frame.MESSAGE, frame.MESSAGE)
	if string(fs[1].Body) != "one" || string(fs[2].Body) != "two" {
		t.Fatalf("%s", describe(fs))
	}
	c.send(frame.BEGIN, "transaction", "t2")
	c.send(frame.SEND, "destination", "tx/c", "transaction", "t2", "three")
	c.send(frame.ABORT, "transaction", "t2", "receipt", "a")
	c.expect(frame.RECEIPT)
	c.send(frame.BEGIN, "transaction", "t3")
	c.send(frame.BEGIN, "transaction", "t3")
	c.expect(frame.ERROR)
}

func TestTransactionalAck(t *testing.T) {
	e := newEnv(t, nil)
	sub, pub := e.dial(), e.dial()
	sub.connect("client-id", "s")
	pub.connect()
	sub.send(frame.SUBSCRIBE, "id", "0", "destination", "q", "ack", ackClientIndividual)
	pub.send(frame.SEND, "destination", "q", "qos", "1", "m")
	fs := sub.expect(frame.MESSAGE)
	sub.send(frame.BEGIN, "transaction", "t")
	sub.send(frame.ACK, "id", fs[0].Header.Get("ack"), "transaction", "t")
	if got := e.ctx.Session("s").Stats().Inflight; got != 1 {
		t.Fatalf("ACK inside a transaction took effect before COMMIT (inflight %d)", got)
	}
	sub.send(frame.COMMIT, "transaction", "t")
	if got := e.ctx.Session("s").Stats().Inflight; got != 0 {
		t.Fatalf("inflight %d after COMMIT", got)
	}
}

func TestHeartbeats(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	f := c.connect("heart-beat", "4000,3000")
	if got := f.Header.Get("heart-beat"); got != "3000,4000" {
		t.Errorf("CONNECTED heart-beat %q, want 3000,4000", got)
	}
	c.d.Advance(3 * time.Second)
	if out := c.d.Output(); string(out) != "\n" {
		t.Errorf("heart-beat sent %q, want an EOL", out)
	}
	if c.closed() {
		t.Fatal("closed before the client's heart-beats were overdue")
	}
	c.d.Advance(6 * time.Second)
	if !c.closed() {
		t.Fatal("silent client not closed after twice its heart-beat")
	}
}

func TestTextOnlyRefusesBinary(t *testing.T) {
	e := newEnv(t, nil)
	d := adaptertest.Dial(t, textOnly{e.ad}, e.ctx, "127.0.0.1:50001")
	c := &client{t: t, d: d, v: sc.V12}
	c.connect()
	c.send(frame.SEND, "destination", "a", "\xff\xfe")
	fs := c.expect(frame.ERROR)
	if !c.closed() {
		t.Fatalf("%s", describe(fs))
	}
}

// textOnly dials its channels as SockJS does.
type textOnly struct{ *Adapter }

func (a textOnly) NewChannel(ci adapters.ConnInfo, ctx adapters.Context) (adapters.Channel, error) {
	ci.TextOnly = true
	return a.Adapter.NewChannel(ci, ctx)
}

func TestDisconnectWithReceipt(t *testing.T) {
	c := newEnv(t, nil).dial()
	c.connect()
	c.send(frame.DISCONNECT, "receipt", "bye")
	fs := c.expect(frame.RECEIPT)
	if fs[0].Header.Get("receipt-id") != "bye" || !c.closed() {
		t.Fatalf("%s closed %v", describe(fs), c.closed())
	}
}

func TestRetainAndQoSHeaders(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.connect()
	c.send(frame.SEND, "destination", "r/1", "retain", "true", "qos", "1", "kept")
	c.expect()
	if m := e.ctx.Retained().Get("r/1"); m == nil || string(m.Payload) != "kept" || m.QoS != 1 {
		t.Fatalf("retained %+v", m)
	}
	c.send(frame.SUBSCRIBE, "id", "0", "destination", "r/#")
	fs := c.expect(frame.MESSAGE)
	if fs[0].Header.Get("retain") != "true" || string(fs[0].Body) != "kept" {
		t.Fatalf("%s", describe(fs))
	}
	// Custom headers only: qos and retain are not passed on as headers.
	c.send(frame.SEND, "destination", "r/2", "qos", "1", "x-a", "b", "live")
	fs = c.expect(frame.MESSAGE)
	if fs[0].Header.Get("qos") != "" || fs[0].Header.Get("retain") != "" || fs[0].Header.Get("x-a") != "b" {
		t.Fatalf("%s", describe(fs))
	}
}

func TestUnsubscribe(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.connect()
	c.send(frame.SUBSCRIBE, "id", "s", "destination", "u/#")
	c.send(frame.UNSUBSCRIBE, "id", "s", "receipt", "gone")
	c.expect(frame.RECEIPT)
	c.send(frame.SEND, "destination", "u/1", "x")
	c.expect()
	// The id may be used again.
	c.send(frame.SUBSCRIBE, "id", "s", "destination", "u/#")
	c.send(frame.SEND, "destination", "u/1", "y")
	c.expect(frame.MESSAGE)
}

func TestTakeoverSendsError(t *testing.T) {
	e := newEnv(t, nil)
	first, second := e.dial(), e.dial()
	first.connect("client-id", "same")
	second.connect("client-id", "same")
	fs := first.expect(frame.ERROR)
	if fs[0].Header.Get("message") != "session taken over" || !first.closed() {
		t.Fatalf("%s", describe(fs))
	}
}

func TestClientModeQoS0HasAckHeader(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.connect()
	c.send(frame.SUBSCRIBE, "id", "0", "destination", "z", "ack", ackClient)
	c.send(frame.SEND, "destination", "z", "x")
	fs := c.expect(frame.MESSAGE)
	if fs[0].Header.Get("ack") == "" {
		t.Fatalf("%s", describe(fs))
	}
	c.send(frame.ACK, "id", fs[0].Header.Get("ack"), "receipt", "r")
	c.expect(frame.RECEIPT) // accepted, nothing to settle
}

func TestReceiptPushBack(t *testing.T) {
	e := newEnvBroker(t, nil, func(b *broker.Config) {
		b.Session.MaxQueueLen = 2
		b.Session.MaxInflight = 1
	})
	sub, pub := e.dial(), e.dial()
	sub.connect("client-id", "slow")
	pub.connect()
	sub.send(frame.SUBSCRIBE, "id", "0", "destination", "pb", "ack", ackClientIndividual)
	sub.expect()
	// The subscriber reads nothing yet: its queue reaches max_mqueue_len
	// with the second message.
	for i := range 4 {
		pub.send(frame.SEND, "destination", "pb", "qos", "1", "receipt", fmt.Sprint("r", i), "m")
	}
	pub.expect(frame.RECEIPT) // r0; r1 filled the queue, r2 and r3 wait behind it
	// The subscriber drains: the held receipts go out, in order.
	for range 4 {
		for _, f := range sub.frames() {
			sub.send(frame.ACK, "id", f.Header.Get("ack"))
		}
	}
	fs := pub.expect(frame.RECEIPT, frame.RECEIPT, frame.RECEIPT)
	for i, f := range fs {
		if got := f.Header.Get("receipt-id"); got != fmt.Sprint("r", i+1) {
			t.Fatalf("receipt %d is %s: %s", i, got, describe(fs))
		}
	}
}

func TestReceiptHoldIsBounded(t *testing.T) {
	e := newEnvBroker(t, nil, func(b *broker.Config) {
		b.Session.MaxQueueLen = 1
	})
	sub, pub := e.dial(), e.dial()
	sub.connect("client-id", "stuck")
	pub.connect()
	sub.send(frame.SUBSCRIBE, "id", "0", "destination", "pb", "ack", ackClientIndividual)
	pub.send(frame.SEND, "destination", "pb", "qos", "1", "receipt", "a", "m")
	pub.expect()
	pub.d.Advance(6 * time.Second) // past ReceiptHold: the receipt goes anyway
	if fs := pub.expect(frame.RECEIPT); fs[0].Header.Get("receipt-id") != "a" {
		t.Fatalf("%s", describe(fs))
	}
}

package coap

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
)

func TestPublishReachesMQTTSubscriber(t *testing.T) {
	tests := []struct {
		name    string
		nonConf bool
		qs      []string
		wantQoS core.QoS
		retain  bool
	}{
		{"CON maps to QoS 1", false, nil, core.QoS1, false},
		{"NON maps to QoS 0", true, nil, core.QoS0, false},
		{"qos query wins", false, []string{"qos=0"}, core.QoS0, false},
		{"retained", false, []string{"retain=true"}, core.QoS1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			sub := e.mqttClient("sub")
			sub.subscribe("sensors/#", core.QoS2)
			cc := e.dial()
			req, err := cc.NewPostRequest(ctxT(t), "/ps/sensors/1/temp", message.TextPlain, strings.NewReader("21.5"),
				queries(append([]string{"clientid=c1"}, tc.qs...)...)...)
			if err != nil {
				t.Fatal(err)
			}
			if tc.nonConf {
				req.SetType(message.NonConfirmable)
			}
			resp, err := cc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Code() != codes.Changed {
				t.Fatalf("code %v, want 2.04", resp.Code())
			}
			eventually(t, 2*time.Second, func() bool { return len(sub.messages()) == 1 })
			m := sub.messages()[0]
			if m.Topic != "sensors/1/temp" || string(m.Payload) != "21.5" || m.QoS != tc.wantQoS || m.From != "c1" {
				t.Fatalf("got %s %q qos %d from %s", m.Topic, m.Payload, m.QoS, m.From)
			}
			if got := e.ctx.Retained().Len(); (got == 1) != tc.retain {
				t.Fatalf("retained messages %d, retain %v", got, tc.retain)
			}
		})
	}
}

func TestObserveReceivesMQTTPublish(t *testing.T) {
	e := newEnv(t, nil)
	cc := e.dial()
	got := make(chan string, 8)
	obs, err := cc.Observe(ctxT(t), "/ps/cmd/c1", func(m *pool.Message) {
		if m.Code() == codes.Content {
			b, _ := m.ReadBody()
			got <- string(b)
		}
	}, queries("clientid=c1")...)
	if err != nil {
		t.Fatal(err)
	}
	if first := <-got; first != "" {
		t.Fatalf("registration answered %q, want an empty 2.05", first)
	}
	pub := e.mqttClient("pub")
	pub.publish("cmd/c1", "on", core.QoS1)
	select {
	case p := <-got:
		if p != "on" {
			t.Fatalf("notification %q", p)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no notification")
	}
	// Observe=1 deregisters: the core subscription ends.
	if err := obs.Cancel(ctxT(t), queries("clientid=c1")...); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, func() bool { return len(e.ctx.Subscriptions("c1")) == 0 })
	eventually(t, 2*time.Second, func() bool { return e.srv.Clients() == 0 })
}

// observeRaw registers an observation from a raw socket and returns its token.
func observeRaw(t *testing.T, r *raw, path string, qs ...string) []byte {
	t.Helper()
	tok := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	r.sendMsg(withObserve(newRequest(message.Confirmable, codes.GET, r.nextMID(), tok, path, qs...), 0))
	m := r.mustRecv()
	if m.Code != codes.Content || m.Type != message.Acknowledgement {
		t.Fatalf("registration answered %v %v", m.Type, m.Code)
	}
	if _, err := m.Options.GetUint32(message.Observe); err != nil {
		t.Fatal("registration response has no Observe option")
	}
	return tok
}

func TestRSTToConfirmableNotificationUnsubscribes(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw()
	tok := observeRaw(t, r, "/ps/cmd/c2", "clientid=c2")
	e.mqttClient("pub").publish("cmd/c2", "x", core.QoS1)
	n := r.mustRecv()
	if n.Type != message.Confirmable || !bytes.Equal(n.Token, tok) || string(n.Payload) != "x" {
		t.Fatalf("notification %v %x %q", n.Type, n.Token, n.Payload)
	}
	r.sendMsg(message.Message{Type: message.Reset, Code: codes.Empty, MessageID: n.MessageID})
	eventually(t, 2*time.Second, func() bool { return len(e.ctx.Subscriptions("c2")) == 0 })
	if !strings.Contains(e.logs.String(), "observe_cancelled") {
		t.Fatal("no observe_cancelled log line")
	}
}

func TestNotifyTypeQoS(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw()
	observeRaw(t, r, "/ps/t", "clientid=c3", "qos=1")
	pub := e.mqttClient("pub")
	pub.publish("t", "zero", core.QoS0)
	if n := r.mustRecv(); n.Type != message.NonConfirmable || string(n.Payload) != "zero" {
		t.Fatalf("QoS 0 notification is %v %q, want NON", n.Type, n.Payload)
	}
	pub.publish("t", "one", core.QoS1)
	n := r.mustRecv()
	if n.Type != message.Confirmable || string(n.Payload) != "one" {
		t.Fatalf("QoS 1 notification is %v %q, want CON", n.Type, n.Payload)
	}
	r.sendMsg(message.Message{Type: message.Acknowledgement, Code: codes.Empty, MessageID: n.MessageID})
	eventually(t, 2*time.Second, func() bool { return e.srv.net.Pending() == 0 })
	if len(e.ctx.Subscriptions("c3")) != 1 {
		t.Fatal("an acknowledged notification ended the observation")
	}
}

func TestUnacknowledgedNotificationsEndObservation(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw()
	observeRaw(t, r, "/ps/t", "clientid=c4")
	e.mqttClient("pub").publish("t", "x", core.QoS1)
	first := r.mustRecv()
	// Retransmissions carry the same message id (RFC 7252 §4.2).
	again := r.mustRecv()
	if again.MessageID != first.MessageID {
		t.Fatalf("retransmission has message id %d, want %d", again.MessageID, first.MessageID)
	}
	eventually(t, 3*time.Second, func() bool { return len(e.ctx.Subscriptions("c4")) == 0 && e.srv.Clients() == 0 })
}

func TestObservationSurvivesNATRebinding(t *testing.T) {
	e := newEnv(t, nil)
	r1 := e.raw()
	tok := observeRaw(t, r1, "/ps/t", "clientid=c5")
	r2 := e.raw() // the same device behind a new port
	r2.sendMsg(withObserve(newRequest(message.Confirmable, codes.GET, r2.nextMID(), tok, "/ps/t", "clientid=c5"), 0))
	if m := r2.mustRecv(); m.Code != codes.Content {
		t.Fatalf("re-registration answered %v", m.Code)
	}
	e.mqttClient("pub").publish("t", "moved", core.QoS0)
	if n := r2.mustRecv(); string(n.Payload) != "moved" || !bytes.Equal(n.Token, tok) {
		t.Fatalf("notification %q %x on the new address", n.Payload, n.Token)
	}
	if _, ok := r1.recv(200 * time.Millisecond); ok {
		t.Fatal("the old address still gets notifications")
	}
	if got := len(e.ctx.Subscriptions("c5")); got != 1 {
		t.Fatalf("%d subscriptions, want 1", got)
	}
}

func TestDuplicateConfirmableIsPublishedOnce(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.mqttClient("sub")
	sub.subscribe("#", core.QoS1)
	r := e.raw()
	req := newRequest(message.Confirmable, codes.POST, r.nextMID(), []byte{9}, "/ps/dup", "clientid=c6")
	req.Payload = []byte("once")
	r.sendMsg(req)
	a1 := r.mustRecv()
	// Retransmissions (same message id), as a client whose ACK was lost
	// sends them, until one is answered from the response cache.
	var a2 message.Message
	for i := 0; ; i++ {
		if i == 20 {
			t.Fatal("retransmission never answered")
		}
		r.sendMsg(req)
		var ok bool
		if a2, ok = r.recv(100 * time.Millisecond); ok {
			break
		}
	}
	if a1.Code != codes.Changed || a2.Code != codes.Changed || a1.MessageID != a2.MessageID {
		t.Fatalf("answers %v/%d and %v/%d", a1.Code, a1.MessageID, a2.Code, a2.MessageID)
	}
	eventually(t, time.Second, func() bool { return len(sub.messages()) >= 1 })
	if n := len(sub.messages()); n != 1 {
		t.Fatalf("published %d times", n)
	}
}

func TestUriPortAndUriHostAccepted(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.mqttClient("sub")
	sub.subscribe("p", core.QoS0)
	r := e.raw()
	req := newRequest(message.Confirmable, codes.POST, r.nextMID(), []byte{1}, "/ps/p", "clientid=c7")
	buf := make([]byte, 8)
	req.Options, _, _ = req.Options.SetUint32(buf, message.URIPort, 5683)
	req.Options = req.Options.Set(message.Option{ID: message.URIHost, Value: []byte("127.0.0.1")})
	req.Payload = []byte("v")
	r.sendMsg(req)
	if a := r.mustRecv(); a.Code != codes.Changed {
		t.Fatalf("answered %v", a.Code)
	}
	eventually(t, time.Second, func() bool { return len(sub.messages()) == 1 })
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config, *testContext)
		req  func(r *raw) message.Message
		want codes.Code
		diag string
	}{
		{"bad credentials", func(_ *Config, c *testContext) { c.users = map[string]string{"u": "p"} },
			func(r *raw) message.Message {
				return newRequest(message.Confirmable, codes.POST, r.nextMID(), []byte{1}, "/ps/a", "clientid=x", "username=u", "password=bad")
			}, codes.Unauthorized, "not authorized"},
		{"publish denied", func(_ *Config, c *testContext) { c.Deny("publish:a") },
			func(r *raw) message.Message {
				return newRequest(message.Confirmable, codes.POST, r.nextMID(), []byte{1}, "/ps/a", "clientid=x")
			}, codes.Forbidden, "not authorized to publish"},
		{"subscribe denied", func(_ *Config, c *testContext) { c.Deny("subscribe:a") },
			func(r *raw) message.Message {
				return withObserve(newRequest(message.Confirmable, codes.GET, r.nextMID(), []byte{1}, "/ps/a", "clientid=x"), 0)
			}, codes.Forbidden, "not authorized to subscribe"},
		{"unknown path", nil, func(r *raw) message.Message {
			return newRequest(message.Confirmable, codes.GET, r.nextMID(), []byte{1}, "/nope")
		}, codes.NotFound, "no such resource"},
		{"PUT on /ps", nil, func(r *raw) message.Message {
			return newRequest(message.Confirmable, codes.PUT, r.nextMID(), []byte{1}, "/ps/a")
		}, codes.MethodNotAllowed, "method not allowed"},
		{"DELETE on /ps", nil, func(r *raw) message.Message {
			return newRequest(message.Confirmable, codes.DELETE, r.nextMID(), []byte{1}, "/ps/a")
		}, codes.MethodNotAllowed, "method not allowed"},
		{"observe without token", nil, func(r *raw) message.Message {
			return withObserve(newRequest(message.Confirmable, codes.GET, r.nextMID(), nil, "/ps/a", "clientid=x"), 0)
		}, codes.BadRequest, "observe without token"},
		{"GET without observe", nil, func(r *raw) message.Message {
			return newRequest(message.Confirmable, codes.GET, r.nextMID(), []byte{1}, "/ps/a", "clientid=x")
		}, codes.BadRequest, "invalid observe value"},
		{"bad qos", nil, func(r *raw) message.Message {
			return newRequest(message.Confirmable, codes.POST, r.nextMID(), []byte{1}, "/ps/a", "clientid=x", "qos=7")
		}, codes.BadRequest, "bad qos"},
		{"wildcard publish", nil, func(r *raw) message.Message {
			return newRequest(message.Confirmable, codes.POST, r.nextMID(), []byte{1}, "/ps/a/#", "clientid=x")
		}, codes.BadRequest, "bad topic"},
		{"token required", func(c *Config, _ *testContext) { c.ConnectionRequired = true },
			func(r *raw) message.Message {
				return newRequest(message.Confirmable, codes.POST, r.nextMID(), []byte{1}, "/ps/a", "clientid=x")
			}, codes.BadRequest, "clientid and token required"},
		{"bad token", func(c *Config, _ *testContext) { c.ConnectionRequired = true },
			func(r *raw) message.Message {
				return newRequest(message.Confirmable, codes.POST, r.nextMID(), []byte{1}, "/ps/a", "clientid=x", "token=nope")
			}, codes.Unauthorized, "unknown connection"},
		{"body too large", func(c *Config, _ *testContext) { c.MaxBodySize = 100 },
			func(r *raw) message.Message {
				m := newRequest(message.Confirmable, codes.POST, r.nextMID(), []byte{1}, "/ps/a", "clientid=x")
				m.Payload = bytes.Repeat([]byte("x"), 200)
				return m
			}, codes.RequestEntityTooLarge, "too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) {
				if tc.mod != nil {
					tc.mod(c, &testContext{}) // the config half
				}
			})
			if tc.mod != nil {
				e.ctx.mu.Lock()
				tc.mod(&Config{}, e.ctx) // the policy half
				e.ctx.mu.Unlock()
			}
			r := e.raw()
			r.sendMsg(tc.req(r))
			m := r.mustRecv()
			if m.Code != tc.want {
				t.Fatalf("code %v, want %v (%q)", m.Code, tc.want, m.Payload)
			}
			if !strings.Contains(string(m.Payload), tc.diag) {
				t.Fatalf("diagnostic %q, want it to mention %q", m.Payload, tc.diag)
			}
			if !strings.Contains(e.logs.String(), "coap_") {
				t.Fatal("no log line")
			}
		})
	}
}

func TestTooManyObservations(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxObservations = 1 })
	r := e.raw()
	observeRaw(t, r, "/ps/a", "clientid=c8")
	r.sendMsg(withObserve(newRequest(message.Confirmable, codes.GET, r.nextMID(), []byte{7}, "/ps/b", "clientid=c8"), 0))
	if m := r.mustRecv(); m.Code != codes.ServiceUnavailable {
		t.Fatalf("code %v, want 5.03", m.Code)
	}
}

func TestWellKnownCore(t *testing.T) {
	e := newEnv(t, nil)
	resp, err := e.dial().Get(ctxT(t), "/.well-known/core")
	if err != nil {
		t.Fatal(err)
	}
	if cf, _ := resp.ContentFormat(); resp.Code() != codes.Content || cf != message.AppLinkFormat {
		t.Fatalf("code %v format %v", resp.Code(), cf)
	}
	if b := body(t, resp); !strings.Contains(b, "</ps>") || !strings.Contains(b, "</mqtt>") {
		t.Fatalf("links %q", b)
	}
}

func TestConnectionMode(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ConnectionRequired = true; c.Heartbeat = 200 * time.Millisecond })
	e.ctx.mu.Lock()
	e.ctx.users = map[string]string{"u": "p"}
	e.ctx.mu.Unlock()
	sub := e.mqttClient("sub")
	sub.subscribe("#", core.QoS0)
	cc := e.dial()
	ctx := ctxT(t)

	resp, err := cc.Post(ctx, "/mqtt/connection", message.TextPlain, nil, queries("clientid=d1", "username=u", "password=p")...)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code() != codes.Created {
		t.Fatalf("connect answered %v", resp.Code())
	}
	token := body(t, resp)
	if token == "" {
		t.Fatal("no token")
	}
	if _, err := e.ctx.Broker.Subscribe("d1", nil, "x", core.SubOptions{}); err == nil {
		t.Fatal("a nil conn subscribed")
	}
	code := func(m *pool.Message, err error) codes.Code {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m.Code()
	}
	if c := code(cc.Post(ctx, "/ps/a", message.TextPlain, strings.NewReader("1"), queries("clientid=d1", "token="+token)...)); c != codes.Changed {
		t.Fatalf("publish with token answered %v", c)
	}
	eventually(t, time.Second, func() bool { return len(sub.messages()) == 1 })
	if c := code(cc.Put(ctx, "/mqtt/connection", message.TextPlain, nil, queries("clientid=d1", "token="+token)...)); c != codes.Changed {
		t.Fatalf("heartbeat answered %v", c)
	}
	if c := code(cc.Delete(ctx, "/mqtt/connection", queries("clientid=d1", "token="+token)...)); c != codes.Deleted {
		t.Fatalf("close answered %v", c)
	}
	if c := code(cc.Post(ctx, "/ps/a", message.TextPlain, strings.NewReader("2"), queries("clientid=d1", "token="+token)...)); c != codes.Unauthorized {
		t.Fatalf("publish after close answered %v", c)
	}

	// A connection whose heartbeat stops is closed.
	resp, err = cc.Post(ctx, "/mqtt/connection", message.TextPlain, nil, queries("clientid=d2", "username=u", "password=p")...)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code() != codes.Created {
		t.Fatalf("connect answered %v", resp.Code())
	}
	eventually(t, 3*time.Second, func() bool { return e.srv.Clients() == 0 && e.ctx.Stats().Connected == 1 })

	if c := code(cc.Post(ctx, "/mqtt/connection", message.TextPlain, nil, queries("clientid=d3", "username=u", "password=no")...)); c != codes.Unauthorized {
		t.Fatalf("bad password answered %v", c)
	}
}

func TestEMQX4Form(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.mqttClient("sub")
	sub.subscribe("legacy/#", core.QoS1)
	cc := e.dial()
	resp, err := cc.Put(ctxT(t), "/mqtt/legacy/t", message.TextPlain, strings.NewReader("v4"), queries("c=old", "u=u", "p=p")...)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code() != codes.Changed {
		t.Fatalf("PUT answered %v", resp.Code())
	}
	eventually(t, time.Second, func() bool { return len(sub.messages()) == 1 })
	if m := sub.messages()[0]; m.Topic != "legacy/t" || m.From != "old" {
		t.Fatalf("got %s from %s", m.Topic, m.From)
	}
	r := e.raw()
	observeRaw(t, r, "/mqtt/down", "c=old2")
	if got := e.ctx.Subscriptions("old2")["down"].QoS; got != core.QoS1 {
		t.Fatalf("EMQX 4 subscription QoS %d, want 1", got)
	}
}

func TestMountpoint(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mountpoint = "coap/${clientid}/" })
	sub := e.mqttClient("sub")
	sub.subscribe("coap/#", core.QoS0)
	cc := e.dial()
	if _, err := cc.Post(ctxT(t), "/ps/up", message.TextPlain, strings.NewReader("m"), queries("clientid=m1")...); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, func() bool { return len(sub.messages()) == 1 })
	if got := sub.messages()[0].Topic; got != "coap/m1/up" {
		t.Fatalf("topic %q", got)
	}
}

func TestDuplicateNonConfirmableIsPublishedOnce(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.mqttClient("sub")
	sub.subscribe("#", core.QoS0)
	r := e.raw()
	req := newRequest(message.NonConfirmable, codes.POST, r.nextMID(), []byte{9}, "/ps/dup", "clientid=n1")
	req.Payload = []byte("once")
	r.sendMsg(req)
	if a := r.mustRecv(); a.Code != codes.Changed || a.Type != message.NonConfirmable {
		t.Fatalf("answered %v %v, want a NON 2.04", a.Type, a.Code)
	}
	r.sendMsg(req) // the same message id again: ignored (RFC 7252 §4.5)
	next := newRequest(message.NonConfirmable, codes.POST, r.nextMID(), []byte{10}, "/ps/dup", "clientid=n1")
	next.Payload = []byte("twice")
	r.sendMsg(next)
	if a := r.mustRecv(); !bytes.Equal(a.Token, []byte{10}) {
		t.Fatalf("the duplicate was answered (token %x)", a.Token)
	}
	eventually(t, time.Second, func() bool { return len(sub.messages()) == 2 })
	if got := sub.messages(); string(got[0].Payload) != "once" || string(got[1].Payload) != "twice" {
		t.Fatalf("published %q, %q", got[0].Payload, got[1].Payload)
	}
}

func TestConfirmablePublishIsPushedBack(t *testing.T) {
	bcfgQueue := 2
	e := newEnvBroker(t, func(bc *broker.Config) { bc.Session.MaxQueueLen = bcfgQueue })
	slow := &mqtt{t: t, b: e.ctx.Broker, id: "slow"}
	slow.sess = e.ctx.Connect(broker.ConnectRequest{Client: &core.ClientInfo{ClientID: "slow", Proto: "mqtt"}, Conn: discard{}, CleanStart: true}).Session
	if _, err := e.ctx.Broker.Subscribe("slow", discard{}, "pb", core.SubOptions{QoS: core.QoS1}); err != nil {
		t.Fatal(err)
	}
	r := e.raw()
	publish := func() {
		req := newRequest(message.Confirmable, codes.POST, r.nextMID(), []byte{1}, "/ps/pb", "clientid=pb1")
		req.Payload = []byte("x")
		r.sendMsg(req)
	}
	for range bcfgQueue - 1 {
		publish()
		if a := r.mustRecv(); a.Code != codes.Changed {
			t.Fatalf("code %v", a.Code)
		}
	}
	publish() // the subscriber's queue is at max_mqueue_len: the answer waits
	if a, ok := r.recv(150 * time.Millisecond); ok {
		t.Fatalf("answered %v while the subscriber was pressured", a.Code)
	}
	slow.sess.Take(nil, time.Now(), 0) // the subscriber catches up
	if a := r.mustRecv(); a.Code != codes.Changed {
		t.Fatalf("code %v after the subscriber drained", a.Code)
	}
}

func TestNotifyTypeConAndNon(t *testing.T) {
	tests := []struct {
		notifyType string
		qos        core.QoS
		want       message.Type
	}{
		{"con", core.QoS0, message.Confirmable},
		{"non", core.QoS1, message.NonConfirmable},
		{"qos", core.QoS2, message.Confirmable},
	}
	for _, tc := range tests {
		t.Run(tc.notifyType, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.NotifyType = tc.notifyType })
			r := e.raw()
			observeRaw(t, r, "/ps/t", "clientid=nt", "qos=2")
			pub := e.mqttClient("pub")
			// More than the inflight window (32): a NON delivery must not
			// hold a window slot, a CON one is freed by its ACK.
			for i := range 40 {
				pub.publish("t", "m"+strconv.Itoa(i), tc.qos)
			}
			for i := range 40 {
				n := r.mustRecv()
				if n.Type != tc.want || string(n.Payload) != "m"+strconv.Itoa(i) {
					t.Fatalf("notification %d: %v %q, want %v", i, n.Type, n.Payload, tc.want)
				}
				if n.Type == message.Confirmable {
					r.sendMsg(message.Message{Type: message.Acknowledgement, Code: codes.Empty, MessageID: n.MessageID})
				}
			}
		})
	}
}

func TestConnectionModeObserve(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ConnectionRequired = true })
	cc := e.dial()
	resp, err := cc.Post(ctxT(t), "/mqtt/connection", message.TextPlain, nil, queries("clientid=co1")...)
	if err != nil || resp.Code() != codes.Created {
		t.Fatalf("connect: %v %v", err, resp)
	}
	token := body(t, resp)
	got := make(chan string, 4)
	obs, err := cc.Observe(ctxT(t), "/ps/co/down", func(m *pool.Message) {
		b, _ := m.ReadBody()
		got <- string(b)
	}, queries("clientid=co1", "token="+token)...)
	if err != nil {
		t.Fatal(err)
	}
	<-got
	e.mqttClient("pub").publish("co/down", "to-connection", core.QoS1)
	select {
	case p := <-got:
		if p != "to-connection" {
			t.Fatalf("notification %q", p)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no notification")
	}
	// Ending the observation leaves the connection open.
	if err := obs.Cancel(ctxT(t), queries("clientid=co1", "token="+token)...); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, func() bool { return len(e.ctx.Subscriptions("co1")) == 0 })
	if e.srv.Clients() != 1 {
		t.Fatal("deregistering the last observation closed the connection")
	}
}

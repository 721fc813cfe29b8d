package broker

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/session"
	"github.com/manifold-iot/manifold/internal/testkit"
)

// testConn records what the broker asks of a connection.
type testConn struct {
	mu      sync.Mutex
	kicked  error
	notices int
}

func (c *testConn) Notify() { c.mu.Lock(); c.notices++; c.mu.Unlock() }
func (c *testConn) Kick(reason error) {
	c.mu.Lock()
	c.kicked = reason
	c.mu.Unlock()
}
func (c *testConn) kickReason() error { c.mu.Lock(); defer c.mu.Unlock(); return c.kicked }

func newBroker(t *testing.T, mod func(*Config)) *Broker {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	b := New(cfg, zerolog.Nop())
	t.Cleanup(b.Close)
	return b
}

type client_ struct {
	id   string
	conn *testConn
	res  ConnectResult
}

func connect(t *testing.T, b *Broker, id string, clean bool, expiry time.Duration, will *Will) *client_ {
	t.Helper()
	c := &client_{id: id, conn: &testConn{}}
	c.res = b.Connect(ConnectRequest{Client: &core.ClientInfo{ClientID: id}, Conn: c.conn, CleanStart: clean, Expiry: expiry, Will: will})
	return c
}

func (c *client_) sub(t *testing.T, b *Broker, filter string, opts core.SubOptions) SubscribeResult {
	t.Helper()
	r, err := b.Subscribe(c.id, c.conn, filter, opts)
	if err != nil {
		t.Fatalf("%s subscribe %q: %v", c.id, filter, err)
	}
	return r
}

// take drains the session and acknowledges everything, returning "topic/qos/retain[ids]" strings.
func (c *client_) take() []string {
	var out []string
	for {
		ds, _ := c.res.Session.Take(nil, time.Now(), 0)
		if len(ds) == 0 {
			return out
		}
		out = append(out, c.record(ds)...)
	}
}

func (c *client_) record(ds []session.Delivery) []string {
	var out []string
	for _, d := range ds {
		s := fmt.Sprintf("%s/%d", d.Msg.Topic, d.QoS)
		if d.Retain {
			s += "/r"
		}
		if len(d.SubIDs) > 0 {
			s += fmt.Sprint(d.SubIDs)
		}
		out = append(out, s)
		switch d.QoS {
		case 1:
			c.res.Session.Ack(d.PacketID)
		case 2:
			c.res.Session.Rec(d.PacketID)
			c.res.Session.Comp(d.PacketID)
		}
	}
	return out
}

func pub(t *testing.T, b *Broker, from, topic string, qos core.QoS, retain bool, payload string) int {
	t.Helper()
	res, err := b.Publish(&core.Message{From: from, Topic: topic, QoS: qos, Retain: retain, Payload: []byte(payload)})
	if err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
	return res.Matched
}

func same(a []string, b ...string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestRoutingMergesOverlapsAndDowngrades(t *testing.T) {
	b := newBroker(t, nil)
	s := connect(t, b, "s", true, 0, nil)
	s.sub(t, b, "a/#", core.SubOptions{QoS: 1, SubscriptionID: 7})
	s.sub(t, b, "a/+", core.SubOptions{QoS: 2, SubscriptionID: 9})
	s.sub(t, b, "x", core.SubOptions{QoS: 0})
	if n := pub(t, b, "p", "a/b", 2, false, "hi"); n != 1 {
		t.Fatalf("queued for %d sessions, want 1 (overlaps merge)", n)
	}
	pub(t, b, "p", "x", 2, false, "down")
	pub(t, b, "p", "nobody", 1, false, "")
	if got := s.take(); !same(got, "a/b/2[7 9]", "x/0") {
		t.Fatalf("got %v", got)
	}
	if st := b.Stats(); st.NoSubscriber != 1 || st.Published != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestNoLocalAndRetainAsPublished(t *testing.T) {
	b := newBroker(t, nil)
	s := connect(t, b, "s", true, 0, nil)
	s.sub(t, b, "own", core.SubOptions{QoS: 1, NoLocal: true})
	s.sub(t, b, "rap", core.SubOptions{QoS: 1, RetainAsPublished: true})
	s.sub(t, b, "plain", core.SubOptions{QoS: 1})
	pub(t, b, "s", "own", 1, false, "mine")
	pub(t, b, "other", "own", 1, false, "theirs")
	pub(t, b, "other", "rap", 1, true, "kept flag")
	pub(t, b, "other", "plain", 1, true, "cleared flag")
	if got := s.take(); !same(got, "own/1", "rap/1/r", "plain/1") {
		t.Fatalf("got %v", got)
	}
}

func TestRetainedOnSubscribe(t *testing.T) {
	b := newBroker(t, nil)
	pub(t, b, "p", "r/1", 1, true, "one")
	pub(t, b, "p", "r/2", 0, true, "two")
	pub(t, b, "p", "r/3", 1, true, "three")
	pub(t, b, "p", "r/3", 1, true, "") // clears r/3
	s := connect(t, b, "s", true, 0, nil)
	s.sub(t, b, "r/+", core.SubOptions{QoS: 1})
	if got := s.take(); !same(got, "r/1/1/r", "r/2/0/r") {
		t.Fatalf("rh 0: got %v", got)
	}
	s.sub(t, b, "r/+", core.SubOptions{QoS: 1, RetainHandling: 1})
	if got := s.take(); len(got) != 0 {
		t.Fatalf("rh 1 on an existing subscription sent %v", got)
	}
	s.sub(t, b, "r/1", core.SubOptions{QoS: 1, RetainHandling: 2})
	if got := s.take(); len(got) != 0 {
		t.Fatalf("rh 2 sent %v", got)
	}
	s.sub(t, b, "$share/g/r/+", core.SubOptions{QoS: 1})
	if got := s.take(); len(got) != 0 {
		t.Fatalf("shared subscription got retained %v", got)
	}
}

func TestSessionResumeAndCleanStart(t *testing.T) {
	b := newBroker(t, nil)
	s := connect(t, b, "s", true, time.Hour, nil)
	s.sub(t, b, "t", core.SubOptions{QoS: 1})
	b.Disconnect("s", s.conn, false, nil, "test")
	pub(t, b, "p", "t", 1, false, "offline")

	s2 := connect(t, b, "s", false, time.Hour, nil)
	if !s2.res.SessionPresent || s2.res.Session != s.res.Session {
		t.Fatal("persistent session not resumed")
	}
	if got := s2.take(); !same(got, "t/1") {
		t.Fatalf("offline message: got %v", got)
	}
	b.Disconnect("s", s2.conn, false, nil, "test")

	s3 := connect(t, b, "s", true, 0, nil)
	if s3.res.SessionPresent {
		t.Fatal("clean start resumed the session")
	}
	if n := pub(t, b, "p", "t", 1, false, "after clean"); n != 0 {
		t.Fatalf("clean start kept the old subscription (%d deliveries)", n)
	}
	b.Disconnect("s", s3.conn, false, nil, "test")
	if b.Session("s") != nil || b.Stats().Clients != 0 {
		t.Fatal("session with expiry 0 outlived its connection")
	}
}

func TestTakeoverKicksTheOldConnection(t *testing.T) {
	b := newBroker(t, nil)
	will := &Will{Msg: &core.Message{Topic: "will/old", QoS: 1, Payload: []byte("bye")}}
	w := connect(t, b, "watcher", true, 0, nil)
	w.sub(t, b, "will/#", core.SubOptions{QoS: 1})
	old := connect(t, b, "dup", true, 0, will)
	old.sub(t, b, "t", core.SubOptions{QoS: 1})
	cur := connect(t, b, "dup", false, 0, nil)
	if !errors.Is(old.conn.kickReason(), ErrTakenOver) {
		t.Fatalf("old connection kicked with %v", old.conn.kickReason())
	}
	if !cur.res.SessionPresent {
		t.Fatal("takeover without clean start must resume the session")
	}
	if got := w.take(); !same(got, "will/old/1") {
		t.Fatalf("takeover of a session with expiry 0 must publish the old will: %v", got)
	}
	// The old connection closing late changes nothing.
	b.Disconnect("dup", old.conn, true, nil, "test")
	if b.Session("dup") == nil || !b.Session("dup").Online() {
		t.Fatal("late disconnect of the old connection unbound the new one")
	}
	pub(t, b, "p", "t", 1, false, "x")
	if got := cur.take(); !same(got, "t/1") {
		t.Fatalf("subscription not carried over: %v", got)
	}
}

func TestWillOnAbruptDisconnectOnly(t *testing.T) {
	b := newBroker(t, nil)
	w := connect(t, b, "w", true, 0, nil)
	w.sub(t, b, "will/+", core.SubOptions{QoS: 1})
	a := connect(t, b, "a", true, 0, &Will{Msg: &core.Message{From: "a", Topic: "will/a", QoS: 1}})
	n := connect(t, b, "n", true, 0, &Will{Msg: &core.Message{From: "n", Topic: "will/n", QoS: 1}})
	b.Disconnect("a", a.conn, true, nil, "test")
	b.Disconnect("n", n.conn, false, nil, "test")
	if got := w.take(); !same(got, "will/a/1") {
		t.Fatalf("got %v, want only the abrupt client's will", got)
	}
}

func TestWillDelay(t *testing.T) {
	b := newBroker(t, nil)
	w := connect(t, b, "w", true, 0, nil)
	w.sub(t, b, "will/+", core.SubOptions{QoS: 1})
	will := func(id string) *Will {
		return &Will{Msg: &core.Message{From: id, Topic: "will/" + id, QoS: 1}, Delay: 50 * time.Millisecond}
	}
	back := connect(t, b, "back", false, time.Hour, will("back"))
	gone := connect(t, b, "gone", false, time.Hour, will("gone"))
	b.Disconnect("back", back.conn, true, nil, "test")
	b.Disconnect("gone", gone.conn, true, nil, "test")
	connect(t, b, "back", false, time.Hour, nil) // back in time: no will
	var got []string
	testkit.Eventually(5*time.Second, func() bool { got = w.take(); return len(got) > 0 })
	time.Sleep(100 * time.Millisecond) // give a wrongly scheduled second will time to show up
	got = append(got, w.take()...)
	if !same(got, "will/gone/1") {
		t.Fatalf("got %v, want only will/gone", got)
	}
}

func TestSessionExpiry(t *testing.T) {
	b := newBroker(t, nil)
	s := connect(t, b, "s", false, 30*time.Millisecond, nil)
	s.sub(t, b, "t", core.SubOptions{QoS: 1})
	b.Disconnect("s", s.conn, false, nil, "test")
	if !testkit.Eventually(5*time.Second, func() bool { return b.Session("s") == nil }) {
		t.Fatal("session did not expire")
	}
	if b.Stats().Subscriptions != 0 {
		t.Fatalf("expired session left %d subscriptions", b.Stats().Subscriptions)
	}
}

func TestSharedSubscriptionStrategies(t *testing.T) {
	for _, strategy := range []string{"round_robin", "random", "hash_topic", "hash_clientid", "sticky"} {
		t.Run(strategy, func(t *testing.T) {
			b := newBroker(t, func(c *Config) { c.SharedStrategy = strategy })
			m1 := connect(t, b, "m1", true, 0, nil)
			m2 := connect(t, b, "m2", true, 0, nil)
			m1.sub(t, b, "$share/g/s/+", core.SubOptions{QoS: 1})
			m2.sub(t, b, "$share/g/s/+", core.SubOptions{QoS: 1})
			plain := connect(t, b, "plain", true, 0, nil)
			plain.sub(t, b, "$queue/s/+", core.SubOptions{QoS: 1})
			const total = 40
			for i := range total {
				pub(t, b, "p", "s/x", 1, false, fmt.Sprint(i))
			}
			n1, n2, nq := len(m1.take()), len(m2.take()), len(plain.take())
			if n1+n2 != total || nq != total {
				t.Fatalf("group g got %d+%d, $queue got %d; want %d each", n1, n2, nq, total)
			}
			if strategy == "round_robin" && (n1 != total/2 || n2 != total/2) {
				t.Fatalf("round_robin split %d/%d", n1, n2)
			}
			if (strategy == "hash_topic" || strategy == "hash_clientid" || strategy == "sticky") && n1 != 0 && n2 != 0 {
				t.Fatalf("%s split one topic and publisher across members: %d/%d", strategy, n1, n2)
			}
		})
	}
}

func TestSharedPrefersOnlineMembers(t *testing.T) {
	b := newBroker(t, nil)
	on := connect(t, b, "on", true, 0, nil)
	off := connect(t, b, "off", false, time.Hour, nil)
	on.sub(t, b, "$share/g/t", core.SubOptions{QoS: 1})
	off.sub(t, b, "$share/g/t", core.SubOptions{QoS: 1})
	b.Disconnect("off", off.conn, false, nil, "test")
	for range 10 {
		pub(t, b, "p", "t", 1, false, "x")
	}
	if got := len(on.take()); got != 10 {
		t.Fatalf("online member got %d of 10", got)
	}
}

func TestSubscribeValidation(t *testing.T) {
	b := newBroker(t, func(c *Config) { c.WildcardSubscription = false; c.MaxQoS = 1; c.MaxSubscriptions = 2 })
	s := connect(t, b, "s", true, 0, nil)
	cases := []struct {
		filter string
		opts   core.SubOptions
		want   error
	}{
		{"a/#", core.SubOptions{}, ErrWildcardUnsupported},
		{"a/b#", core.SubOptions{}, ErrFilterInvalid},
		{"$share//t", core.SubOptions{}, ErrFilterInvalid},
		{"$share/g/t", core.SubOptions{NoLocal: true}, ErrFilterInvalid},
	}
	for _, tc := range cases {
		if _, err := b.Subscribe("s", s.conn, tc.filter, tc.opts); !errors.Is(err, tc.want) {
			t.Errorf("subscribe %q: %v, want %v", tc.filter, err, tc.want)
		}
	}
	if r := s.sub(t, b, "q", core.SubOptions{QoS: 2}); r.Granted != 1 || !r.New {
		t.Fatalf("granted %+v, want QoS 1 (max_qos_allowed), new", r)
	}
	s.sub(t, b, "q2", core.SubOptions{})
	if _, err := b.Subscribe("s", s.conn, "q3", core.SubOptions{}); !errors.Is(err, ErrTooManySubs) {
		t.Fatalf("third subscription: %v, want ErrTooManySubs", err)
	}
	if _, err := b.Subscribe("s", &testConn{}, "q", core.SubOptions{}); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("subscribe from a stale connection: %v", err)
	}
	if ok, _ := b.Unsubscribe("s", s.conn, "q"); !ok {
		t.Fatal("unsubscribe of an existing subscription reported none")
	}
	if ok, _ := b.Unsubscribe("s", s.conn, "q"); ok {
		t.Fatal("second unsubscribe reported a subscription")
	}
}

func TestPublishValidation(t *testing.T) {
	b := newBroker(t, func(c *Config) { c.RetainAvailable = false; c.MaxQoS = 1 })
	for _, tc := range []struct {
		m    core.Message
		want error
	}{
		{core.Message{Topic: "a/+"}, ErrTopicInvalid},
		{core.Message{Topic: ""}, ErrTopicInvalid},
		{core.Message{Topic: "a", Retain: true}, ErrRetainUnsupported},
		{core.Message{Topic: "a", QoS: 2}, ErrQoSUnsupported},
	} {
		if _, err := b.Publish(&tc.m); !errors.Is(err, tc.want) {
			t.Errorf("publish %+v: %v, want %v", tc.m, err, tc.want)
		}
	}
}

// The acknowledged-message guarantee at the core: with an unlimited queue,
// every QoS 1 message published concurrently reaches every subscriber once.
func TestConcurrentPublishDeliversEverything(t *testing.T) {
	b := newBroker(t, func(c *Config) { c.Session = session.Config{MaxInflight: 64} })
	subs := []*client_{connect(t, b, "s1", true, 0, nil), connect(t, b, "s2", true, 0, nil)}
	for _, s := range subs {
		s.sub(t, b, "load/#", core.SubOptions{QoS: 1})
	}
	const pubs, per = 4, 1000
	var wg sync.WaitGroup
	for p := range pubs {
		wg.Go(func() {
			for i := range per {
				pub(t, b, fmt.Sprint(p), fmt.Sprintf("load/%d", p), 1, false, fmt.Sprint(i))
			}
		})
	}
	counts := make([]int, len(subs))
	deadline := time.Now().Add(20 * time.Second)
	for (counts[0] < pubs*per || counts[1] < pubs*per) && time.Now().Before(deadline) {
		for i, s := range subs {
			counts[i] += len(s.take())
		}
	}
	wg.Wait()
	if counts[0] != pubs*per || counts[1] != pubs*per {
		t.Fatalf("delivered %v, want %d each", counts, pubs*per)
	}
}

func TestDelayedPublish(t *testing.T) {
	b := newBroker(t, nil)
	s := connect(t, b, "s", true, 0, nil)
	s.sub(t, b, "d/#", core.SubOptions{QoS: 1})
	start := time.Now()
	if n := pub(t, b, "p", "$delayed/1/d/x", 1, false, "later"); n != 0 {
		t.Fatalf("a delayed message was delivered at once to %d sessions", n)
	}
	if _, err := b.Publish(&core.Message{Topic: "$delayed/abc/d/x"}); !errors.Is(err, ErrDelayedInvalid) {
		t.Fatalf("bad delay: %v, want ErrDelayedInvalid", err)
	}
	var got []string
	testkit.Eventually(5*time.Second, func() bool { got = s.take(); return len(got) > 0 })
	if !same(got, "d/x/1") {
		t.Fatalf("got %v, want the delayed message on d/x", got)
	}
	if el := time.Since(start); el < time.Second {
		t.Fatalf("delivered after %v, before its delay", el)
	}
}

func TestSysClientEvents(t *testing.T) {
	b := newBroker(t, nil)
	w := connect(t, b, "watcher", true, 0, nil)
	w.sub(t, b, "$SYS/brokers/+/clients/#", core.SubOptions{QoS: 0})
	c := connect(t, b, "dev-1", true, 0, nil)
	b.Disconnect("dev-1", c.conn, true, nil, "keepalive_timeout")
	ds, _ := w.res.Session.Take(nil, time.Now(), 0)
	if len(ds) != 2 {
		t.Fatalf("watcher got %d events, want connected and disconnected", len(ds))
	}
	if ds[0].Msg.Topic != "$SYS/brokers/manifold@127.0.0.1/clients/dev-1/connected" ||
		!strings.Contains(string(ds[0].Msg.Payload), `"clientid":"dev-1"`) {
		t.Fatalf("connected event %s %s", ds[0].Msg.Topic, ds[0].Msg.Payload)
	}
	if !strings.HasSuffix(ds[1].Msg.Topic, "/clients/dev-1/disconnected") ||
		!strings.Contains(string(ds[1].Msg.Payload), `"reason":"keepalive_timeout"`) {
		t.Fatalf("disconnected event %s %s", ds[1].Msg.Topic, ds[1].Msg.Payload)
	}
	if st := b.Stats(); st.Published != 0 {
		t.Fatalf("system messages counted as published: %+v", st)
	}
}

func TestSharedRedispatchWhenAMemberLeaves(t *testing.T) {
	b := newBroker(t, func(c *Config) { c.SharedStrategy = "sticky" })
	m1 := connect(t, b, "m1", true, 0, nil)
	m1.sub(t, b, "$share/g/jobs/+", core.SubOptions{QoS: 1})
	for i := range 3 {
		pub(t, b, "p", "jobs/a", 1, false, fmt.Sprint(i))
	}
	// m1 takes one message into flight and leaves without acknowledging.
	ds, _ := m1.res.Session.Take(nil, time.Now(), 1)
	if len(ds) != 1 {
		t.Fatal("m1 got nothing")
	}
	m2 := connect(t, b, "m2", true, 0, nil)
	m2.sub(t, b, "$share/g/jobs/+", core.SubOptions{QoS: 1})
	b.Disconnect("m1", m1.conn, false, nil, "normal")
	got := m2.take()
	if len(got) != 3 {
		t.Fatalf("m2 got %v, want the 3 messages m1 left unacknowledged", got)
	}
}

func TestSysBytesFromTheEdge(t *testing.T) {
	b := newBroker(t, func(c *Config) { c.Sys.Interval = 10 * time.Millisecond })
	b.OnTraffic(func() (uint64, uint64) { return 1234, 5678 })
	w := connect(t, b, "watcher", true, 0, nil)
	w.sub(t, b, "$SYS/brokers/+/metrics/bytes/#", core.SubOptions{QoS: 0})
	b.Start()
	got := map[string]string{}
	testkit.Eventually(5*time.Second, func() bool {
		ds, _ := w.res.Session.Take(nil, time.Now(), 0)
		for _, d := range ds {
			got[d.Msg.Topic[strings.LastIndexByte(d.Msg.Topic, '/')+1:]] = string(d.Msg.Payload)
		}
		return len(got) >= 2
	})
	if got["received"] != "1234" || got["sent"] != "5678" {
		t.Fatalf("$SYS metrics/bytes = %v, want received 1234 and sent 5678", got)
	}
}

package topicmetrics_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/session"
	"github.com/manifold-iot/manifold/core/topicmetrics"
)

type conn struct{}

func (conn) Notify()    {}
func (conn) Kick(error) {}

// newBroker is a broker counting into reg, with small queues.
func newBroker(t *testing.T, reg *topicmetrics.Registry) *broker.Broker {
	cfg := broker.DefaultConfig()
	cfg.TopicMetrics = reg
	cfg.Session = session.Config{MaxQueueLen: 2, Overflow: 1}
	cfg.Sys.ClientConnected, cfg.Sys.ClientDisconnected = false, false
	b := broker.New(cfg, zerolog.Nop())
	t.Cleanup(b.Close)
	return b
}

func subscribe(t *testing.T, b *broker.Broker, id, filter string, qos core.QoS) {
	t.Helper()
	c := conn{}
	b.Connect(broker.ConnectRequest{Client: &core.ClientInfo{ClientID: id}, Conn: c, CleanStart: true})
	if _, err := b.Subscribe(id, c, filter, core.SubOptions{QoS: qos}); err != nil {
		t.Fatal(err)
	}
}

func publish(t *testing.T, b *broker.Broker, topic string, qos core.QoS) {
	t.Helper()
	if _, err := b.Publish(&core.Message{From: "pub", Topic: topic, QoS: qos, Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
}

func TestCountsInOutDroppedThroughTheBroker(t *testing.T) {
	reg := topicmetrics.New()
	b := newBroker(t, reg)
	for _, topic := range []string{"a/b", "nobody/here"} {
		if err := reg.Register(topic); err != nil {
			t.Fatal(err)
		}
	}
	subscribe(t, b, "s1", "a/+", 1)
	subscribe(t, b, "s2", "a/b", 0)
	subscribe(t, b, "s2b", "a/#", 2) // a second subscriber at QoS 2

	publish(t, b, "a/b", 1)         // in 1 (qos1): out s1 q1, s2 q0, s2b q1
	publish(t, b, "a/c", 1)         // not registered: not counted
	publish(t, b, "nobody/here", 0) // in 1, dropped 1 (no subscriber)
	publish(t, b, "nobody/here", 2)

	want := map[string]map[string]float64{
		"a/b": {"messages.in.count": 1, "messages.qos1.in.count": 1, "messages.out.count": 3,
			"messages.qos0.out.count": 1, "messages.qos1.out.count": 2, "messages.dropped.count": 0},
		"nobody/here": {"messages.in.count": 2, "messages.qos0.in.count": 1, "messages.qos2.in.count": 1,
			"messages.out.count": 0, "messages.dropped.count": 2},
	}
	for topic, metrics := range want {
		s, ok := reg.Get(topic)
		if !ok {
			t.Fatalf("%s not registered", topic)
		}
		for k, v := range metrics {
			if s.Metrics[k] != v {
				t.Errorf("%s %s = %v, want %v", topic, k, s.Metrics[k], v)
			}
		}
	}
}

func TestQueueFullCountsDropped(t *testing.T) {
	reg := topicmetrics.New()
	b := newBroker(t, reg)
	_ = reg.Register("q/full")
	subscribe(t, b, "slow", "q/full", 0)
	for range 5 { // max_mqueue_len 2: QoS 0 past it is dropped
		publish(t, b, "q/full", 0)
	}
	s, _ := reg.Get("q/full")
	if in, out, dr := s.Metrics["messages.in.count"], s.Metrics["messages.out.count"], s.Metrics["messages.dropped.count"]; in != 5 || out != 2 || dr != 3 {
		t.Errorf("in/out/dropped = %v/%v/%v, want 5/2/3", in, out, dr)
	}
}

func TestRegisterValidatesAndBounds(t *testing.T) {
	reg := topicmetrics.New()
	for _, tc := range []struct {
		topic string
		want  error
	}{
		{"", topicmetrics.ErrTopicInvalid},
		{"a/+", topicmetrics.ErrTopicInvalid},
		{"a/#", topicmetrics.ErrTopicInvalid},
		{"$share/g/a", topicmetrics.ErrTopicInvalid},
		{"ok/topic", nil},
		{"ok/topic", topicmetrics.ErrExists},
	} {
		t.Run(tc.topic, func(t *testing.T) {
			if err := reg.Register(tc.topic); !errors.Is(err, tc.want) {
				t.Errorf("Register(%q) = %v, want %v", tc.topic, err, tc.want)
			}
		})
	}
	for i := 1; i < topicmetrics.MaxTopics; i++ {
		if err := reg.Register(fmt.Sprintf("t/%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := reg.Register("one/too/many"); !errors.Is(err, topicmetrics.ErrFull) {
		t.Errorf("Register past the limit = %v, want ErrFull", err)
	}
	if err := reg.Deregister("nope"); !errors.Is(err, topicmetrics.ErrNotFound) {
		t.Errorf("Deregister unknown = %v", err)
	}
	_ = reg.DeregisterAll()
	if reg.Lookup("ok/topic") != nil || len(reg.List()) != 0 {
		t.Error("DeregisterAll left topics")
	}
}

func TestResetAndRates(t *testing.T) {
	reg := topicmetrics.New()
	now := time.Unix(1000, 0)
	reg.SetClock(func() time.Time { return now })
	b := newBroker(t, reg)
	_ = reg.Register("r/1")
	_ = reg.Register("r/2")
	subscribe(t, b, "s", "r/+", 0)
	reg.Tick() // baseline
	for range 4 {
		publish(t, b, "r/1", 0)
		publish(t, b, "r/2", 0)
	}
	now = now.Add(2 * time.Second)
	reg.Tick()
	s, _ := reg.Get("r/1")
	// The subscriber's queue (max 2) took r/1's first message and r/2's;
	// r/1's other three were dropped.
	if s.Metrics["messages.in.rate"] != 2 || s.Metrics["messages.out.rate"] != 0.5 || s.Metrics["messages.dropped.rate"] != 1.5 {
		t.Errorf("rates after 4 messages in 2s = %v / %v / %v, want 2 / 0.5 / 1.5", s.Metrics["messages.in.rate"],
			s.Metrics["messages.out.rate"], s.Metrics["messages.dropped.rate"])
	}
	if err := reg.Reset("r/1"); err != nil {
		t.Fatal(err)
	}
	s, _ = reg.Get("r/1")
	if s.Metrics["messages.in.count"] != 0 || s.Metrics["messages.in.rate"] != 0 || s.ResetTime.IsZero() {
		t.Errorf("after reset: %+v", s)
	}
	if s2, _ := reg.Get("r/2"); s2.Metrics["messages.in.count"] != 4 {
		t.Errorf("reset of r/1 touched r/2: %v", s2.Metrics["messages.in.count"])
	}
	_ = reg.Reset("")
	if s2, _ := reg.Get("r/2"); s2.Metrics["messages.in.count"] != 0 {
		t.Errorf("reset all left r/2 at %v", s2.Metrics["messages.in.count"])
	}
	if err := reg.Reset("r/none"); !errors.Is(err, topicmetrics.ErrNotFound) {
		t.Errorf("Reset unknown = %v", err)
	}
}

func TestRegistrationsSurviveReload(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sub", "topic_metrics.json")
	reg := topicmetrics.New()
	if err := reg.Load(file); err != nil {
		t.Fatal(err)
	}
	_ = reg.Register("x/1")
	_ = reg.Register("x/2")
	_ = reg.Deregister("x/1")
	again := topicmetrics.New()
	if err := again.Load(file); err != nil {
		t.Fatal(err)
	}
	if got := again.Topics(); len(got) != 1 || got[0] != "x/2" {
		t.Errorf("reloaded topics = %v, want [x/2]", got)
	}
}

func TestStartClose(t *testing.T) {
	reg := topicmetrics.New()
	reg.Start(time.Millisecond)
	reg.Close()
	reg.Close()
	var nilReg *topicmetrics.Registry
	if nilReg.Lookup("a") != nil {
		t.Error("nil registry found a topic")
	}
}

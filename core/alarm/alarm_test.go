package alarm

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
)

// recorder is a Publisher that keeps every message.
type recorder struct {
	mu   sync.Mutex
	msgs []*core.Message
}

func (r *recorder) Publish(m *core.Message) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	return 1, nil
}

func (r *recorder) topics() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		out = append(out, m.Topic)
	}
	return out
}

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }
func names(as []Alarm) (out []string) {
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out
}

func newRegistry(history int) (*Registry, *recorder, *clock) {
	rec, c := &recorder{}, newClock()
	r := New("n1@host", rec, history, zerolog.Nop())
	r.now = c.now
	return r, rec, c
}

func TestRegistry(t *testing.T) {
	tests := []struct {
		name      string
		history   int
		run       func(r *Registry, c *clock)
		active    []string
		inactive  []string // newest first
		published int
	}{
		{"activate twice is one alarm", 0, func(r *Registry, _ *clock) {
			if !r.Activate("a", "first", nil) {
				t.Error("first Activate reported false")
			}
			if r.Activate("a", "second", nil) {
				t.Error("second Activate reported true")
			}
		}, []string{"a"}, nil, 1},
		{"deactivate moves to history", 0, func(r *Registry, c *clock) {
			r.Activate("a", "m", nil)
			c.advance(time.Second)
			if !r.Deactivate("a") {
				t.Error("Deactivate reported false")
			}
		}, nil, []string{"a"}, 2},
		{"deactivate unknown does nothing", 0, func(r *Registry, _ *clock) {
			if r.Deactivate("nope") {
				t.Error("Deactivate of an unknown alarm reported true")
			}
		}, nil, nil, 0},
		{"raised again after clearing", 0, func(r *Registry, _ *clock) {
			r.Activate("a", "m", nil)
			r.Deactivate("a")
			r.Activate("a", "m", nil)
		}, []string{"a"}, []string{"a"}, 3},
		{"history bounded, oldest dropped", 3, func(r *Registry, c *clock) {
			for i := range 5 {
				n := fmt.Sprint("a", i)
				r.Activate(n, "m", nil)
				c.advance(time.Second)
				r.Deactivate(n)
			}
		}, nil, []string{"a4", "a3", "a2"}, 10},
		{"clear deactivated keeps active", 0, func(r *Registry, _ *clock) {
			r.Activate("a", "m", nil)
			r.Activate("b", "m", nil)
			r.Deactivate("a")
			r.ClearDeactivated()
		}, []string{"b"}, nil, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, rec, c := newRegistry(tc.history)
			tc.run(r, c)
			if got := names(r.List(true)); fmt.Sprint(got) != fmt.Sprint(tc.active) {
				t.Errorf("active %v, want %v", got, tc.active)
			}
			if got := names(r.List(false)); fmt.Sprint(got) != fmt.Sprint(tc.inactive) {
				t.Errorf("deactivated %v, want %v", got, tc.inactive)
			}
			if got := r.ActiveCount(); got != len(tc.active) {
				t.Errorf("ActiveCount %d, want %d", got, len(tc.active))
			}
			if got := len(rec.topics()); got != tc.published {
				t.Errorf("published %d messages, want %d", got, tc.published)
			}
		})
	}
}

func TestAlarmFields(t *testing.T) {
	r, _, c := newRegistry(0)
	start := c.t
	r.Activate("a", "msg", map[string]any{"k": 1})
	c.advance(1500 * time.Millisecond)
	act := r.List(true)[0]
	if act.Node != "n1@host" || act.Message != "msg" || !act.Activated || !act.ActivateAt.Equal(start) ||
		!act.DeactivateAt.IsZero() || act.Details["k"] != 1 || act.Duration(c.t) != 1500*time.Millisecond {
		t.Fatalf("active alarm %+v", act)
	}
	r.Deactivate("a")
	c.advance(time.Hour)
	old := r.List(false)[0]
	if old.Activated || !old.DeactivateAt.Equal(start.Add(1500*time.Millisecond)) || old.Duration(c.t) != 1500*time.Millisecond {
		t.Fatalf("deactivated alarm %+v", old)
	}
}

// subscriber is a broker connection that records nothing but is notified.
type subscriber struct{}

func (subscriber) Notify()    {}
func (subscriber) Kick(error) {}

// TestSysMessages subscribes through a real broker to the alarm topics and
// reads what activation and deactivation publish.
func TestSysMessages(t *testing.T) {
	b := broker.New(broker.DefaultConfig(), zerolog.Nop())
	t.Cleanup(b.Close)
	conn := subscriber{}
	res := b.Connect(broker.ConnectRequest{Client: &core.ClientInfo{ClientID: "watcher"}, Conn: conn, CleanStart: true})
	if _, err := b.Subscribe("watcher", conn, "$SYS/brokers/+/alarms/#", core.SubOptions{QoS: 0}); err != nil {
		t.Fatal(err)
	}
	node := b.Config().NodeName
	r := New(node, b.SysPublisher(), 0, zerolog.Nop())
	r.Activate("high_cpu_usage", "CPU usage is higher than 80%", map[string]any{"usage": "91.00%"})
	r.Activate("high_cpu_usage", "again", nil) // idempotent: nothing published
	r.Deactivate("high_cpu_usage")

	ds, _ := res.Session.Take(nil, time.Now(), 0)
	if len(ds) != 2 {
		t.Fatalf("got %d messages, want 2", len(ds))
	}
	tests := []struct {
		topic     string
		activated bool
	}{
		{"$SYS/brokers/" + node + "/alarms/activate", true},
		{"$SYS/brokers/" + node + "/alarms/deactivate", false},
	}
	for i, tc := range tests {
		t.Run(tc.topic, func(t *testing.T) {
			d := ds[i]
			if d.Msg.Topic != tc.topic || d.Msg.Retain {
				t.Fatalf("topic %q retain %v", d.Msg.Topic, d.Msg.Retain)
			}
			var p map[string]any
			if err := json.Unmarshal(d.Msg.Payload, &p); err != nil {
				t.Fatal(err)
			}
			if p["name"] != "high_cpu_usage" || p["message"] != "CPU usage is higher than 80%" || p["node"] != node ||
				p["activated"] != tc.activated || p["details"].(map[string]any)["usage"] != "91.00%" {
				t.Errorf("payload %s", d.Msg.Payload)
			}
			if _, ok := p["activate_at"].(float64); !ok {
				t.Errorf("activate_at %v", p["activate_at"])
			}
			if tc.activated && p["deactivate_at"] != "infinity" || !tc.activated && p["deactivate_at"] == "infinity" {
				t.Errorf("deactivate_at %v", p["deactivate_at"])
			}
		})
	}
}

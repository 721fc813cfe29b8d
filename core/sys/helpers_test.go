package sys

import (
	"errors"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
)

// recorder is a Publisher that keeps every message it is given; with fail
// set it refuses them.
type recorder struct {
	mu   sync.Mutex
	msgs []*core.Message
	fail bool
}

var errRefused = errors.New("test: refused")

func (r *recorder) Publish(m *core.Message) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return 0, errRefused
	}
	r.msgs = append(r.msgs, m)
	return 1, nil
}

func (r *recorder) all() []*core.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*core.Message(nil), r.msgs...)
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// on returns the messages published to topic, in order.
func (r *recorder) on(topic string) []*core.Message {
	var out []*core.Message
	for _, m := range r.all() {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

// last returns the latest message on topic, or nil.
func (r *recorder) last(topic string) *core.Message {
	ms := r.on(topic)
	if len(ms) == 0 {
		return nil
	}
	return ms[len(ms)-1]
}

// topics returns the set of topics published to.
func (r *recorder) topics() map[string]int {
	out := map[string]int{}
	for _, m := range r.all() {
		out[m.Topic]++
	}
	return out
}

// testConfig is a config for node n1 with every periodic group disabled
// and every event enabled.
func testConfig() Config {
	return Config{
		Node: "n1@host", Version: "1.2.3",
		ClientConnected: true, ClientDisconnected: true, ClientSubscribed: true, ClientUnsubscribed: true,
	}
}

// newSys returns a Sys publishing into a new recorder, stopped when the
// test ends.
func newSys(t *testing.T, cfg Config, stats StatsFunc) (*Sys, *recorder) {
	t.Helper()
	r := &recorder{}
	s := New(cfg, r, stats, zerolog.Nop())
	t.Cleanup(s.Stop)
	return s, r
}

// nopPublisher accepts and forgets every message.
type nopPublisher struct{}

func (nopPublisher) Publish(*core.Message) (int, error) { return 0, nil }

var zeroLog = zerolog.Nop()

package delayed

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
)

// published is one message the recorder saw, and when.
type published struct {
	msg *core.Message
	at  time.Time
}

// recorder is a publish func that keeps what it is given.
type recorder struct {
	mu  sync.Mutex
	got []published
}

func (r *recorder) publish(m *core.Message) {
	r.mu.Lock()
	r.got = append(r.got, published{m, time.Now()})
	r.mu.Unlock()
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *recorder) all() []published {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]published(nil), r.got...)
}

// payloads returns the payloads published so far, in order.
func (r *recorder) payloads() []string {
	var out []string
	for _, p := range r.all() {
		out = append(out, string(p.msg.Payload))
	}
	return out
}

// newSched returns a scheduler publishing into a new recorder, closed when
// the test ends.
func newSched(t testing.TB, cfg Config) (*Scheduler, *recorder) {
	t.Helper()
	r := &recorder{}
	s := New(cfg, r.publish, zerolog.Nop())
	t.Cleanup(s.Close)
	return s, r
}

// msg returns a QoS 1 message on topic with payload p.
func msg(topic, p string) *core.Message {
	return &core.Message{Topic: topic, Payload: []byte(p), QoS: 1, From: "pub"}
}

func itoa(i int) string { return strconv.Itoa(i) }

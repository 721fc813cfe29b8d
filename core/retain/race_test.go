package retain

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/topic"
)

// TestConcurrent runs writers (Set, replace, delete by empty payload,
// Delete), matchers, an expiry sweeper and readers (Get, Walk, Len) at once.
// Run with -race. Every message a matcher receives must match its filter and
// not be expired; at the end the trie, counters and heap must agree.
func TestConcurrent(t *testing.T) {
	const (
		writers  = 4
		matchers = 4
		ops      = 3000
	)
	s := New(Config{MaxRetained: 500})
	levels := []string{"a", "b", "c", "d", "$SYS", ""}
	randTopic := func(r *rand.Rand) string {
		tp := levels[r.IntN(4)] // a first level that is neither empty nor "$"
		for range r.IntN(4) {
			tp += "/" + levels[r.IntN(len(levels))]
		}
		if r.IntN(10) == 0 {
			tp = "$SYS/" + tp
		}
		return tp
	}
	filters := []string{"#", "+", "a/#", "a/+/b", "+/+/+", "$SYS/#", "b/c", "+/#", "/#", "a//+"}
	// clock is the broker's time: writers stamp messages with it, matchers
	// match at it, and it only moves forward.
	var clock atomic.Int64
	now := func() time.Time { return base.Add(time.Duration(clock.Load()) * time.Millisecond) }
	var stop atomic.Bool
	var wg sync.WaitGroup
	fail := t.Errorf // safe from any goroutine
	var full, expired, matches atomic.Int64

	var writersWG sync.WaitGroup
	for w := range writers {
		writersWG.Add(1)
		go func() {
			defer writersWG.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range ops {
				tp := randTopic(r)
				switch x := r.IntN(10); {
				case x < 5:
					m := &core.Message{Topic: tp, Payload: []byte("x"), Timestamp: now()}
					if r.IntN(2) == 0 {
						m.ExpiryInterval = time.Duration(1+r.IntN(50)) * time.Millisecond
					}
					switch err := s.Set(m); {
					case errors.Is(err, ErrFull):
						full.Add(1)
					case err != nil:
						fail("Set(%q): %v", tp, err)
					}
				case x < 7:
					if err := s.Set(&core.Message{Topic: tp}); err != nil {
						fail("Set(%q, empty): %v", tp, err)
					}
				case x < 9:
					s.Delete(tp)
				default:
					clock.Add(1)
				}
			}
		}()
	}
	for m := range matchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(m), 2))
			for i := 0; i < ops && !stop.Load(); i++ {
				f := filters[r.IntN(len(filters))]
				at := now()
				matches.Add(1)
				s.Match(f, at, func(msg *core.Message) bool {
					if !topic.Match(f, msg.Topic) {
						fail("Match(%q) yielded %q", f, msg.Topic)
					}
					if msg.Expired(at) {
						fail("Match(%q) yielded expired %q", f, msg.Topic)
					}
					return r.IntN(20) != 0 // sometimes stop early
				})
			}
		}()
	}
	wg.Add(1)
	go func() { // sweeper and readers
		defer wg.Done()
		r := rand.New(rand.NewPCG(9, 9))
		for !stop.Load() {
			expired.Add(int64(s.Expire(now())))
			if m := s.Get(randTopic(r)); m != nil && m.Payload == nil {
				fail("Get returned a message without payload")
			}
			n := 0
			s.Walk(func(*core.Message) bool { n++; return true })
			if n > 500 {
				fail("Walk saw %d messages over MaxRetained", n)
			}
			_ = s.Len()
		}
	}()
	writersWG.Wait()
	stop.Store(true)
	wg.Wait()
	t.Logf("%d Match calls, %d expired by Expire, %d Sets refused as full, %d left",
		matches.Load(), expired.Load(), full.Load(), s.Len())
	checkInvariants(t, s)

	// Drain: after deleting everything nothing may be left.
	var all []string
	s.Walk(func(m *core.Message) bool { all = append(all, m.Topic); return true })
	for _, tp := range all {
		s.Delete(tp)
	}
	if s.Len() != 0 || s.nodes != 0 || len(s.expiry) != 0 {
		t.Fatalf("after deleting all: Len %d, nodes %d, heap %d", s.Len(), s.nodes, len(s.expiry))
	}
}

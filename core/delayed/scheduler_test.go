package delayed

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/internal/testkit"
)

func TestPublishesInDueOrder(t *testing.T) {
	s, r := newSched(t, DefaultConfig())
	for _, d := range []int{60, 20, 0, 40, 80} {
		if err := s.Add(msg("t/"+itoa(d), itoa(d)), time.Duration(d)*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	testkit.MustEventually(t, 2*time.Second, func() bool { return r.len() == 5 })
	if got := r.payloads(); !slices.Equal(got, []string{"0", "20", "40", "60", "80"}) {
		t.Fatalf("published %v", got)
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d after everything was published", s.Len())
	}
}

func TestSameDueKeepsInsertionOrder(t *testing.T) {
	s, r := newSched(t, DefaultConfig())
	// Equal due times cannot be made through Add (the clock moves between
	// calls), so schedule the copies directly, some at a second, earlier
	// instant interleaved, all within one pass of the heap.
	due := int64(time.Since(s.base) + 30*time.Millisecond)
	var want, early []string
	for i := range 500 {
		m := msg("t", itoa(i))
		d := due
		if i%7 == 0 {
			d -= int64(time.Millisecond)
			early = append(early, itoa(i))
		} else {
			want = append(want, itoa(i))
		}
		if err := s.schedule(m, d, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	want = append(early, want...)
	testkit.MustEventually(t, 2*time.Second, func() bool { return r.len() == 500 })
	if got := r.payloads(); !slices.Equal(got, want) {
		t.Fatalf("published %v\nwant %v", got, want)
	}
}

func TestEarlierMessageResetsTimer(t *testing.T) {
	s, r := newSched(t, DefaultConfig())
	if err := s.Add(msg("late", "late"), time.Hour); err != nil {
		t.Fatal(err)
	}
	// Let run arm its timer for the hour-long message before adding one
	// that must go out long before it.
	testkit.MustEventually(t, time.Second, func() bool { return len(s.wake) == 0 })
	start := time.Now()
	if err := s.Add(msg("soon", "soon"), 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	testkit.MustEventually(t, 2*time.Second, func() bool { return r.len() == 1 })
	got := r.all()[0]
	if string(got.msg.Payload) != "soon" || got.at.Sub(start) < 10*time.Millisecond {
		t.Fatalf("published %q after %v", got.msg.Payload, got.at.Sub(start))
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d, want the hour-long message still waiting", s.Len())
	}
}

func TestManyMessagesPublishedExactlyOnce(t *testing.T) {
	const workers, per = 8, 1250 // 10k messages
	s, r := newSched(t, DefaultConfig())
	added := make([]time.Time, workers*per)
	delays := make([]time.Duration, workers*per)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range per {
				n := w*per + i
				delays[n] = time.Duration(rng.IntN(50)) * time.Millisecond
				added[n] = time.Now()
				if err := s.Add(msg("t/"+itoa(w), itoa(n)), delays[n]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	testkit.MustEventually(t, 10*time.Second, func() bool { return r.len() >= workers*per })

	seen := make([]int, workers*per)
	for _, p := range r.all() {
		n := atoi(t, string(p.msg.Payload))
		seen[n]++
		if early := delays[n] - p.at.Sub(added[n]); early > 0 {
			t.Fatalf("message %d published %v early", n, early)
		}
	}
	for n, c := range seen {
		if c != 1 {
			t.Fatalf("message %d published %d times", n, c)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d", s.Len())
	}
}

func TestPublishedCopy(t *testing.T) {
	s, r := newSched(t, DefaultConfig())
	sent := time.Now().Add(-time.Second)
	orig := &core.Message{
		ID: 42, Topic: "$delayed/1/real/topic", Payload: []byte("p"), QoS: 2, Retain: true,
		From: "c1", Timestamp: sent, ContentType: "text/plain",
		ExpiryInterval: time.Hour,
	}
	keep := *orig
	if err := s.Add(orig, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	testkit.MustEventually(t, 2*time.Second, func() bool { return r.len() == 1 })
	got := r.all()[0].msg
	if got == orig || got.Topic != "real/topic" || got.ID != 0 || got.QoS != 2 || !got.Retain ||
		got.From != "c1" || got.ContentType != "text/plain" || string(got.Payload) != "p" {
		t.Fatalf("published %+v", got)
	}
	if !got.Timestamp.After(sent.Add(time.Second)) {
		t.Fatalf("Timestamp %v not fresh", got.Timestamp)
	}
	// The expiry interval keeps counting from the original publish.
	if got.ExpiryInterval >= time.Hour-time.Second || got.ExpiryInterval < time.Hour-5*time.Second {
		t.Fatalf("ExpiryInterval %v, want about 1h - 1s", got.ExpiryInterval)
	}
	if orig.Topic != keep.Topic || orig.ID != keep.ID || !orig.Timestamp.Equal(keep.Timestamp) {
		t.Fatalf("Add modified the caller's message: %+v", orig)
	}
}

func TestExpiredWhileWaitingIsDropped(t *testing.T) {
	s, r := newSched(t, DefaultConfig())
	m := msg("t", "expires")
	m.ExpiryInterval = 10 * time.Millisecond
	if err := s.Add(m, 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(msg("t", "marker"), 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	testkit.MustEventually(t, 2*time.Second, func() bool { return r.len() >= 1 })
	if got := r.payloads(); !slices.Equal(got, []string{"marker"}) {
		t.Fatalf("published %v, want only the marker", got)
	}
}

func TestAddRejectsBadDelayedTopic(t *testing.T) {
	s, _ := newSched(t, DefaultConfig())
	if err := s.Add(msg("$delayed/x/a", ""), time.Second); !errors.Is(err, ErrBadDelay) {
		t.Fatalf("err = %v, want ErrBadDelay", err)
	}
	if err := s.Add(msg("$delayed/1/", ""), time.Second); !errors.Is(err, ErrBadTopic) {
		t.Fatalf("err = %v, want ErrBadTopic", err)
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d", s.Len())
	}
}

func TestErrFull(t *testing.T) {
	s, r := newSched(t, Config{MaxDelayed: 3})
	for i := range 3 {
		if err := s.Add(msg("t", itoa(i)), time.Duration(i)*20*time.Millisecond+20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Add(msg("t", "x"), time.Millisecond); !errors.Is(err, ErrFull) {
		t.Fatalf("err = %v, want ErrFull", err)
	}
	if s.Len() != 3 {
		t.Fatalf("Len = %d", s.Len())
	}
	// Room frees up as messages go out.
	testkit.MustEventually(t, 2*time.Second, func() bool { return r.len() >= 1 })
	if err := s.Add(msg("t", "x"), 0); err != nil {
		t.Fatalf("after a publish: %v", err)
	}
}

func TestWalk(t *testing.T) {
	s, _ := newSched(t, DefaultConfig())
	before := time.Now()
	for i, d := range []time.Duration{time.Hour, time.Minute, 2 * time.Hour} {
		m := msg("$delayed/9/w/"+itoa(i), itoa(i))
		m.ID = uint64(i + 1)
		if err := s.Add(m, d); err != nil {
			t.Fatal(err)
		}
	}
	after := time.Now()
	got := map[string]time.Duration{}
	s.Walk(func(m *core.Message, due time.Time) bool {
		if m.ID == 0 || m.Topic != "w/"+string(m.Payload) {
			t.Errorf("walked %+v", m)
		}
		got[string(m.Payload)] = due.Sub(before)
		if due.Before(before) || due.After(after.Add(3*time.Hour)) {
			t.Errorf("due %v out of range", due)
		}
		return true
	})
	for k, d := range map[string]time.Duration{"0": time.Hour, "1": time.Minute, "2": 2 * time.Hour} {
		if got[k] < d || got[k] > d+after.Sub(before) {
			t.Fatalf("message %s due in %v, want %v", k, got[k], d)
		}
	}
	n := 0
	s.Walk(func(*core.Message, time.Time) bool { n++; return false })
	if n != 1 {
		t.Fatalf("Walk went on after fn returned false: %d calls", n)
	}
}

func TestCloseStopsPublishing(t *testing.T) {
	var published atomic.Int64
	s := New(DefaultConfig(), func(*core.Message) { published.Add(1) }, zerolog.Nop())
	for i := range 5000 {
		if err := s.Add(msg("t", itoa(i)), 0); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		if err := s.Add(msg("t", itoa(i)), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	testkit.MustEventually(t, 2*time.Second, func() bool { return published.Load() > 0 })
	s.Close()
	n := published.Load()
	select {
	case <-s.exited:
	default:
		t.Fatal("Close returned with the goroutine still running")
	}
	if published.Load() != n || n == 5010 {
		t.Fatalf("published %d then %d of 5010", n, published.Load())
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d after Close, want pending messages dropped", s.Len())
	}
	if err := s.Add(msg("t", "late"), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
	s.Close() // a second Close is harmless
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Config{MaxDelayed: -1}).Validate(); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("err = %v", err)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

package delayed

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
)

// Errors returned by Scheduler and Config.
var (
	ErrFull      = errors.New("delayed: too many delayed messages")
	ErrClosed    = errors.New("delayed: scheduler closed")
	ErrBadConfig = errors.New("delayed: invalid config")
)

// Config limits a Scheduler. The key is that of EMQX's delayed module.
type Config struct {
	// MaxDelayed is the most messages the scheduler holds at once; Add past
	// it fails with ErrFull. 0 means unlimited (EMQX's default).
	MaxDelayed int `yaml:"max_delayed_messages"`
}

// DefaultConfig returns the configuration used when none is given: no limit.
func DefaultConfig() Config { return Config{} }

// Validate reports a configuration error, naming the key.
func (c Config) Validate() error {
	if c.MaxDelayed < 0 {
		return fmt.Errorf("max_delayed_messages: %d is negative: %w", c.MaxDelayed, ErrBadConfig)
	}
	return nil
}

// maxBatch bounds how many due messages one pass takes off the heap, so a
// burst of due messages never holds mu (and so Add) for long.
const maxBatch = 256

// maxWait caps a delay given to Add so that a due time never overflows.
const maxWait = time.Duration(1 << 62)

// entry is one waiting message. due is in nanoseconds since Scheduler.base
// (a monotonic reading, so wall-clock jumps move nothing); seq breaks ties
// so that messages due at the same instant go out in the order they came.
type entry struct {
	due int64
	seq uint64
	msg *core.Message // the scheduler's own copy; never modified after Add
	at  time.Time     // the wall-clock due time, as AddAt was given it (for OnFire)
}

// Scheduler holds delayed messages and publishes each when it falls due.
// It is safe for concurrent use.
type Scheduler struct {
	cfg     Config
	onFire  func(m *core.Message, at time.Time) // set before use
	publish func(*core.Message)
	log     zerolog.Logger
	base    time.Time

	mu     sync.Mutex
	heap   []entry // guarded by mu; a min-heap by (due, seq)
	seq    uint64  // guarded by mu
	closed bool    // guarded by mu

	wake   chan struct{} // capacity 1: the earliest due time moved earlier
	done   chan struct{} // closed by Close
	exited chan struct{} // closed when run returns
}

// New starts a scheduler that calls publish, from its own goroutine, with
// each message as it falls due. publish must not block for long (the
// broker's Publish does not) and must not call Close.
func New(cfg Config, publish func(*core.Message), log zerolog.Logger) *Scheduler {
	s := &Scheduler{
		cfg:     cfg,
		publish: publish,
		log:     log,
		base:    time.Now(),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
	}
	go s.run()
	return s
}

// Add schedules m to be published after delay (a negative delay counts as
// zero). If m.Topic is a $delayed topic its prefix and seconds field are
// stripped (the delay argument wins over the seconds field: the caller has
// already parsed it), and an invalid one is refused with Parse's error;
// any other topic is published as it is, which is how a restart refills the
// scheduler from Walk's output. Add keeps its own copy of m, so m stays the
// caller's. It fails with ErrFull when Config.MaxDelayed messages are
// waiting and with ErrClosed after Close.
func (s *Scheduler) Add(m *core.Message, delay time.Duration) error {
	return s.add(m, delay, time.Now().Add(delay))
}

// AddAt is Add with a wall-clock due time: a time already past falls due at
// once (a restart publishes what fell due while the node was down). The
// OnFire callback gets at back unchanged.
func (s *Scheduler) AddAt(m *core.Message, at time.Time) error {
	return s.add(m, time.Until(at), at)
}

// OnFire sets a function called, on the scheduler's goroutine, after each
// message has fallen due (published, or dropped because it expired while it
// waited), with the scheduler's copy of the message (its ID unchanged) and
// the due time it was added with. Set it before adding messages.
func (s *Scheduler) OnFire(fn func(m *core.Message, at time.Time)) { s.onFire = fn }

func (s *Scheduler) add(m *core.Message, delay time.Duration, at time.Time) error {
	name := m.Topic
	if _, real, ok, err := Parse(name); ok {
		if err != nil {
			return err
		}
		name = real
	}
	delay = min(max(delay, 0), maxWait)
	now := time.Now()
	cp := new(core.Message)
	*cp = *m
	cp.Topic = name
	if cp.Timestamp.IsZero() {
		cp.Timestamp = now // the expiry interval counts from here
	}
	return s.schedule(cp, int64(now.Sub(s.base)+delay), at)
}

// schedule adds the scheduler's own copy cp to fall due at due.
func (s *Scheduler) schedule(cp *core.Message, due int64, at time.Time) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.cfg.MaxDelayed > 0 && len(s.heap) >= s.cfg.MaxDelayed {
		s.mu.Unlock()
		return ErrFull
	}
	s.seq++
	first := s.push(entry{due: due, seq: s.seq, msg: cp, at: at}) == 0
	s.mu.Unlock()
	if first {
		// The timer is set for a later message (or none): wake run to reset it.
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Len returns the number of messages waiting.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.heap)
}

// Walk calls fn with each waiting message and the time it falls due, in no
// particular order, until fn returns false; it is for listing (the HTTP
// API) and persistence. The message's Topic is the real topic; its ID,
// Timestamp and properties are those of the original publish. fn runs with
// the scheduler locked: it must not call the Scheduler, must be quick, and
// must not modify the message (it may keep it: it is never modified).
func (s *Scheduler) Walk(fn func(m *core.Message, due time.Time) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.heap {
		if !fn(s.heap[i].msg, s.base.Add(time.Duration(s.heap[i].due))) {
			return
		}
	}
}

// Close stops the scheduler's goroutine and drops every waiting message:
// nothing is persisted yet, so delayed messages do not survive a restart.
// When Close returns, publish is not running and will not be called again.
// Close may be called more than once, but not from publish.
func (s *Scheduler) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.exited
		return
	}
	s.closed = true
	n := len(s.heap)
	s.heap = nil
	s.mu.Unlock()
	close(s.done)
	<-s.exited
	if n > 0 {
		s.log.Info().Int("count", n).Msg("delayed_messages_dropped")
	}
}

// run is the scheduler's one goroutine: it publishes what is due, then
// sleeps on one timer set for the earliest remaining message, or until Add
// brings an earlier one or Close is called.
func (s *Scheduler) run() {
	defer close(s.exited)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	batch := make([]entry, 0, maxBatch)
	for {
		now := int64(time.Since(s.base))
		s.mu.Lock()
		for len(s.heap) > 0 && s.heap[0].due <= now && len(batch) < maxBatch {
			batch = append(batch, s.pop())
		}
		next, pending := int64(0), len(s.heap) > 0
		if pending {
			next = s.heap[0].due
		}
		s.mu.Unlock()

		for i, e := range batch {
			select {
			case <-s.done:
				return
			default:
			}
			s.fire(e.msg)
			if s.onFire != nil {
				s.onFire(e.msg, e.at)
			}
			batch[i] = entry{}
		}
		batch = batch[:0]

		if pending {
			wait := time.Duration(next - int64(time.Since(s.base)))
			if wait <= 0 {
				select {
				case <-s.done:
					return
				default:
					continue // more are due already: no need to sleep
				}
			}
			timer.Reset(wait)
		} else {
			timer.Stop()
		}
		select {
		case <-s.done:
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// fire publishes a copy of the waiting message m (which Walk may have
// handed out, so it is not modified). The copy gets a fresh Timestamp and a
// zero ID, so the broker numbers it as a new message; its expiry interval
// keeps counting from the original publish: what the wait used up is
// subtracted, and a message that expired while waiting is dropped, as MQTT 5
// asks of a message the server still holds when its interval has passed
// [MQTT-3.3.2-5] (EMQX, which republishes the original message with its
// original timestamp, behaves the same).
func (s *Scheduler) fire(m *core.Message) {
	now := time.Now()
	out := new(core.Message)
	*out = *m
	out.ID = 0
	out.Timestamp = now
	if m.ExpiryInterval > 0 {
		left := m.ExpiryInterval - now.Sub(m.Timestamp)
		if left <= 0 {
			if e := s.log.Debug(); e.Enabled() {
				e.Str("topic", m.Topic).Str("clientid", m.From).Msg("delayed_message_expired")
			}
			return
		}
		out.ExpiryInterval = left
	}
	s.publish(out)
}

// before orders the heap by due time, then by arrival.
func before(a, b *entry) bool {
	return a.due < b.due || (a.due == b.due && a.seq < b.seq)
}

// push adds e and returns its final index (0: it is now the earliest).
// Caller holds mu.
func (s *Scheduler) push(e entry) int {
	s.heap = append(s.heap, e)
	i := len(s.heap) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !before(&s.heap[i], &s.heap[p]) {
			break
		}
		s.heap[i], s.heap[p] = s.heap[p], s.heap[i]
		i = p
	}
	return i
}

// pop removes and returns the earliest entry; the heap must not be empty.
// Caller holds mu.
func (s *Scheduler) pop() entry {
	h := s.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = entry{} // release the message
	h = h[:last]
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		c := l
		if r := l + 1; r < len(h) && before(&h[r], &h[l]) {
			c = r
		}
		if before(&h[i], &h[c]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	// Give memory back after a burst has drained.
	if cap(h) > 1024 && len(h) < cap(h)/4 {
		h = append(make([]entry, 0, cap(h)/2), h...)
	}
	s.heap = h
	return top
}

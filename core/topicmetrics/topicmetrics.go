package topicmetrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/topic"
)

// MaxTopics bounds the registered topics (EMQX's limit).
const MaxTopics = 512

// Errors of Register and Deregister.
var (
	ErrTopicInvalid = errors.New("topicmetrics: topic must be a topic name without wildcards")
	ErrExists       = errors.New("topicmetrics: topic already registered")
	ErrFull         = errors.New("topicmetrics: too many topics registered")
	ErrNotFound     = errors.New("topicmetrics: topic not registered")
)

// Metrics are one registered topic's counters. Its methods are safe for
// concurrent use.
type Metrics struct {
	topic   string
	created time.Time

	in, out, dropped atomic.Uint64
	inQoS, outQoS    [3]atomic.Uint64
	reset            atomic.Int64 // unix nanoseconds of the last reset; 0 never

	// rates are float64 bits, per second, written by the ticker only.
	inRate, outRate, droppedRate atomic.Uint64
	rateMu                       sync.Mutex // guarded by rateMu: the ticker's previous readings
	last                         [3]uint64
	lastAt                       time.Time
}

// In counts one message published to the topic.
func (m *Metrics) In(q core.QoS) {
	m.in.Add(1)
	m.inQoS[q&3%3].Add(1)
}

// Out counts one copy queued for a subscriber at q.
func (m *Metrics) Out(q core.QoS) {
	m.out.Add(1)
	m.outQoS[q&3%3].Add(1)
}

// Dropped counts one message or copy dropped.
func (m *Metrics) Dropped() { m.dropped.Add(1) }

// Snapshot is a registered topic's counters at one moment, with EMQX's
// metric names as keys.
type Snapshot struct {
	Topic      string
	CreateTime time.Time
	ResetTime  time.Time // zero: never reset
	Metrics    map[string]float64
}

func (m *Metrics) snapshot() Snapshot {
	s := Snapshot{Topic: m.topic, CreateTime: m.created, Metrics: make(map[string]float64, 15)}
	if r := m.reset.Load(); r != 0 {
		s.ResetTime = time.Unix(0, r)
	}
	s.Metrics["messages.in.count"] = float64(m.in.Load())
	s.Metrics["messages.out.count"] = float64(m.out.Load())
	s.Metrics["messages.dropped.count"] = float64(m.dropped.Load())
	s.Metrics["messages.in.rate"] = math.Float64frombits(m.inRate.Load())
	s.Metrics["messages.out.rate"] = math.Float64frombits(m.outRate.Load())
	s.Metrics["messages.dropped.rate"] = math.Float64frombits(m.droppedRate.Load())
	for q, name := range []string{"qos0", "qos1", "qos2"} {
		s.Metrics["messages."+name+".in.count"] = float64(m.inQoS[q].Load())
		s.Metrics["messages."+name+".out.count"] = float64(m.outQoS[q].Load())
	}
	return s
}

func (m *Metrics) doReset(now time.Time) {
	m.in.Store(0)
	m.out.Store(0)
	m.dropped.Store(0)
	for q := range m.inQoS {
		m.inQoS[q].Store(0)
		m.outQoS[q].Store(0)
	}
	m.inRate.Store(0)
	m.outRate.Store(0)
	m.droppedRate.Store(0)
	m.rateMu.Lock()
	m.last, m.lastAt = [3]uint64{}, now
	m.rateMu.Unlock()
	m.reset.Store(now.UnixNano())
}

// tick updates the rates from the counters' change since the last tick.
func (m *Metrics) tick(now time.Time) {
	m.rateMu.Lock()
	defer m.rateMu.Unlock()
	cur := [3]uint64{m.in.Load(), m.out.Load(), m.dropped.Load()}
	if !m.lastAt.IsZero() {
		if secs := now.Sub(m.lastAt).Seconds(); secs > 0 {
			for i, r := range []*atomic.Uint64{&m.inRate, &m.outRate, &m.droppedRate} {
				d := float64(0)
				if cur[i] >= m.last[i] { // a reset in between reads as 0
					d = float64(cur[i]-m.last[i]) / secs
				}
				r.Store(math.Float64bits(math.Round(d*100) / 100))
			}
		}
	}
	m.last, m.lastAt = cur, now
}

// Registry is the node's registered topics.
type Registry struct {
	topics atomic.Pointer[map[string]*Metrics] // nil while none is registered; never modified once stored

	mu   sync.Mutex // serializes writers
	file string     // guarded by mu; where the topic list is saved, "" nowhere
	stop chan struct{}
	done chan struct{}
	once sync.Once
	now  func() time.Time
}

// New returns an empty registry; Start begins the rate ticker.
func New() *Registry {
	return &Registry{now: time.Now, stop: make(chan struct{}), done: make(chan struct{})}
}

// Lookup returns the metrics of a registered topic, or nil; a nil registry
// has none. It is called on every publish.
func (r *Registry) Lookup(topic string) *Metrics {
	if r == nil {
		return nil
	}
	p := r.topics.Load()
	if p == nil {
		return nil
	}
	return (*p)[topic]
}

// Register starts counting topic.
func (r *Registry) Register(name string) error {
	if topic.ValidName(name, 0) != nil || strings.HasPrefix(name, "$share/") {
		return ErrTopicInvalid
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.load()
	if old[name] != nil {
		return ErrExists
	}
	if len(old) >= MaxTopics {
		return ErrFull
	}
	m := make(map[string]*Metrics, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[name] = &Metrics{topic: name, created: r.now(), lastAt: r.now()}
	r.topics.Store(&m)
	return r.saveLocked()
}

// Deregister stops counting topic.
func (r *Registry) Deregister(topic string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.load()
	if old[topic] == nil {
		return ErrNotFound
	}
	if len(old) == 1 {
		r.topics.Store(nil)
		return r.saveLocked()
	}
	m := make(map[string]*Metrics, len(old)-1)
	for k, v := range old {
		if k != topic {
			m[k] = v
		}
	}
	r.topics.Store(&m)
	return r.saveLocked()
}

// DeregisterAll stops counting every topic.
func (r *Registry) DeregisterAll() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.topics.Store(nil)
	return r.saveLocked()
}

// Load registers the topics saved in file (a JSON list of names; a missing
// file is an empty list) and saves every later change there, so that
// registrations survive a restart as EMQX's do in its configuration.
func (r *Registry) Load(file string) error {
	data, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("topicmetrics: %w", err)
	}
	var topics []string
	if len(data) > 0 {
		if err := json.Unmarshal(data, &topics); err != nil {
			return fmt.Errorf("topicmetrics: %s is corrupt: %w", file, err)
		}
	}
	for _, t := range topics {
		if err := r.Register(t); err != nil && !errors.Is(err, ErrExists) {
			return fmt.Errorf("topicmetrics: %s: topic %q: %w", file, t, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.file = file
	return nil
}

// saveLocked writes the topic list to r.file (atomically, mode 0600); caller holds mu.
func (r *Registry) saveLocked() error {
	if r.file == "" {
		return nil
	}
	topics := make([]string, 0)
	for k := range r.load() {
		topics = append(topics, k)
	}
	slices.Sort(topics)
	data, err := json.Marshal(topics)
	if err == nil {
		if err = os.MkdirAll(filepath.Dir(r.file), 0o750); err == nil {
			if err = os.WriteFile(r.file+".tmp", data, 0o600); err == nil {
				err = os.Rename(r.file+".tmp", r.file)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("topicmetrics: saving %s: %w", r.file, err)
	}
	return nil
}

func (r *Registry) load() map[string]*Metrics {
	if p := r.topics.Load(); p != nil {
		return *p
	}
	return nil
}

// Reset zeroes the counters of topic, or of every topic when topic is "".
func (r *Registry) Reset(topic string) error {
	now := r.now()
	m := r.load()
	if topic == "" {
		for _, v := range m {
			v.doReset(now)
		}
		return nil
	}
	v := m[topic]
	if v == nil {
		return ErrNotFound
	}
	v.doReset(now)
	return nil
}

// Get returns one registered topic's snapshot.
func (r *Registry) Get(topic string) (Snapshot, bool) {
	v := r.load()[topic]
	if v == nil {
		return Snapshot{}, false
	}
	return v.snapshot(), true
}

// List returns every registered topic's snapshot, by topic.
func (r *Registry) List() []Snapshot {
	m := r.load()
	out := make([]Snapshot, 0, len(m))
	for _, v := range m {
		out = append(out, v.snapshot())
	}
	slices.SortFunc(out, func(a, b Snapshot) int { return strings.Compare(a.Topic, b.Topic) })
	return out
}

// Topics returns the registered topic names, sorted (for persistence).
func (r *Registry) Topics() []string {
	m := r.load()
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Start begins the ticker that computes rates every interval (0: one second).
func (r *Registry) Start(interval time.Duration) {
	if interval <= 0 {
		interval = time.Second
	}
	go func() {
		defer close(r.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				r.Tick()
			}
		}
	}()
}

// Tick updates every registered topic's rates now (the ticker calls it).
func (r *Registry) Tick() {
	now := r.now()
	for _, v := range r.load() {
		v.tick(now)
	}
}

// Close stops the ticker started by Start; it may be called more than once,
// and without Start.
func (r *Registry) Close() {
	r.once.Do(func() { close(r.stop) })
}

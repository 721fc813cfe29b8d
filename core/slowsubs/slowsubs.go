package slowsubs

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// StatsWhole is the only stats_type measured: publish to acknowledgement.
const StatsWhole = "whole"

// MaxTopK bounds top_k_num (EMQX's limit).
const MaxTopK = 1000

// ErrConfig is returned for settings out of range.
var ErrConfig = errors.New("slowsubs: invalid settings")

// Config is the slow_subs.* settings.
type Config struct {
	Enable         bool
	Threshold      time.Duration // latencies below it are ignored
	ExpireInterval time.Duration // an entry not refreshed for this long is dropped
	TopKNum        int           // entries kept, 1..MaxTopK
	StatsType      string        // StatsWhole
}

// DefaultConfig is EMQX's default: disabled, 500ms, 300s, top 10, whole.
func DefaultConfig() Config {
	return Config{Threshold: 500 * time.Millisecond, ExpireInterval: 300 * time.Second, TopKNum: 10, StatsType: StatsWhole}
}

// Validate checks c's ranges; the error names the key.
func (c Config) Validate() error {
	switch {
	case c.Threshold < time.Millisecond:
		return fmt.Errorf("%w: threshold must be at least 1ms", ErrConfig)
	case c.ExpireInterval < time.Second:
		return fmt.Errorf("%w: expire_interval must be at least 1s", ErrConfig)
	case c.TopKNum < 1 || c.TopKNum > MaxTopK:
		return fmt.Errorf("%w: top_k_num must be from 1 to %d", ErrConfig, MaxTopK)
	case c.StatsType != StatsWhole:
		return fmt.Errorf("%w: stats_type must be whole (internal and response are not measured)", ErrConfig)
	}
	return nil
}

// Entry is one slow (client, topic) pair.
type Entry struct {
	ClientID   string
	Topic      string
	Latency    time.Duration // the latest latency above the threshold
	LastUpdate time.Time     // when it was measured
}

type key struct{ clientID, topic string }

// Tracker is the slow-subscriber table of one node; safe for concurrent use.
type Tracker struct {
	on        atomic.Bool  // cfg.Enable, read on every acknowledgement
	threshold atomic.Int64 // cfg.Threshold in ns, read before taking mu

	mu      sync.Mutex
	cfg     Config           // guarded by mu
	entries map[key]*Entry   // guarded by mu; at most cfg.TopKNum
	now     func() time.Time // for tests
}

// New returns a tracker with cfg (assumed valid).
func New(cfg Config) *Tracker {
	t := &Tracker{entries: map[key]*Entry{}, now: time.Now}
	t.apply(cfg)
	return t
}

func (t *Tracker) apply(cfg Config) {
	t.cfg = cfg
	t.threshold.Store(int64(cfg.Threshold))
	t.on.Store(cfg.Enable)
}

// Enabled reports whether acknowledgements should be observed; false for a
// nil tracker. It is the only cost on the acknowledgement path while the
// feature is off.
func (t *Tracker) Enabled() bool { return t != nil && t.on.Load() }

// Observe records the delivery of a message published at published to
// clientID on topic, acknowledged now.
func (t *Tracker) Observe(clientID, topic string, published time.Time) {
	if published.IsZero() {
		return
	}
	now := t.now()
	lat := now.Sub(published)
	if int64(lat) < t.threshold.Load() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.cfg.Enable {
		return
	}
	k := key{clientID, topic}
	if e := t.entries[k]; e != nil {
		e.Latency, e.LastUpdate = lat, now
		return
	}
	t.expireLocked(now)
	if len(t.entries) >= t.cfg.TopKNum {
		// Replace the smallest latency if the new one is larger.
		minK, minE := t.fastestLocked()
		if minE == nil || lat <= minE.Latency {
			return
		}
		delete(t.entries, minK)
	}
	t.entries[k] = &Entry{ClientID: clientID, Topic: topic, Latency: lat, LastUpdate: now}
}

// expireLocked drops entries older than the expire interval; caller holds mu.
func (t *Tracker) expireLocked(now time.Time) {
	for k, e := range t.entries {
		if now.Sub(e.LastUpdate) >= t.cfg.ExpireInterval {
			delete(t.entries, k)
		}
	}
}

// TopK returns the live entries, slowest first.
func (t *Tracker) TopK() []Entry {
	t.mu.Lock()
	t.expireLocked(t.now())
	out := make([]Entry, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, *e)
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b Entry) int {
		if a.Latency != b.Latency {
			if a.Latency > b.Latency {
				return -1
			}
			return 1
		}
		if a.ClientID != b.ClientID {
			if a.ClientID < b.ClientID {
				return -1
			}
			return 1
		}
		if a.Topic < b.Topic {
			return -1
		}
		if a.Topic > b.Topic {
			return 1
		}
		return 0
	})
	return out
}

// Clear drops every entry.
func (t *Tracker) Clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.entries)
}

// Settings returns the current settings.
func (t *Tracker) Settings() Config {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cfg
}

// SetSettings validates and applies cfg. A smaller top_k_num drops the
// fastest entries; disabling clears the table (as EMQX does).
func (t *Tracker) SetSettings(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.apply(cfg)
	if !cfg.Enable {
		clear(t.entries)
		return nil
	}
	for len(t.entries) > cfg.TopKNum {
		k, _ := t.fastestLocked()
		delete(t.entries, k)
	}
	return nil
}

// fastestLocked returns the entry with the smallest latency; caller holds mu.
func (t *Tracker) fastestLocked() (key, *Entry) {
	var minK key
	var minE *Entry
	for k, e := range t.entries {
		if minE == nil || e.Latency < minE.Latency {
			minK, minE = k, e
		}
	}
	return minK, minE
}

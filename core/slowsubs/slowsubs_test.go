package slowsubs

import (
	"errors"
	"testing"
	"time"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTracker(k int) (*Tracker, *clock) {
	cfg := DefaultConfig()
	cfg.Enable, cfg.TopKNum, cfg.Threshold, cfg.ExpireInterval = true, k, 100*time.Millisecond, time.Minute
	t := New(cfg)
	c := &clock{t: time.Unix(1_000_000, 0)}
	t.now = c.now
	return t, c
}

func TestTopKKeepsSlowestAboveThreshold(t *testing.T) {
	tr, c := newTracker(3)
	obs := func(client string, ms int) { tr.Observe(client, "t/1", c.t.Add(-time.Duration(ms)*time.Millisecond)) }
	obs("fast", 50) // below threshold
	obs("a", 200)
	obs("b", 300)
	obs("c", 400)
	obs("d", 150) // smaller than all three kept: ignored
	obs("e", 500) // evicts a (200ms)
	got := tr.TopK()
	want := []string{"e", "c", "b"}
	if len(got) != len(want) {
		t.Fatalf("TopK = %+v, want clients %v", got, want)
	}
	for i, e := range got {
		if e.ClientID != want[i] {
			t.Errorf("TopK[%d] = %s, want %s", i, e.ClientID, want[i])
		}
	}
	if got[0].Latency != 500*time.Millisecond || !got[0].LastUpdate.Equal(c.t) {
		t.Errorf("slowest = %+v", got[0])
	}
	// The same pair keeps its latest latency, even if it is smaller.
	obs("e", 120)
	if got := tr.TopK(); got[len(got)-1].ClientID != "e" || got[len(got)-1].Latency != 120*time.Millisecond {
		t.Errorf("after update TopK = %+v", got)
	}
}

func TestEntriesExpire(t *testing.T) {
	tr, c := newTracker(10)
	tr.Observe("a", "x", c.t.Add(-time.Second))
	c.t = c.t.Add(30 * time.Second)
	tr.Observe("b", "x", c.t.Add(-time.Second))
	if n := len(tr.TopK()); n != 2 {
		t.Fatalf("TopK has %d entries, want 2", n)
	}
	c.t = c.t.Add(31 * time.Second) // a is 61s old, b 31s
	got := tr.TopK()
	if len(got) != 1 || got[0].ClientID != "b" {
		t.Fatalf("after expiry TopK = %+v, want only b", got)
	}
}

func TestDisabledAndClear(t *testing.T) {
	tr, c := newTracker(10)
	tr.Observe("a", "x", c.t.Add(-time.Second))
	tr.Clear()
	if n := len(tr.TopK()); n != 0 {
		t.Fatalf("after Clear: %d entries", n)
	}
	cfg := tr.Settings()
	cfg.Enable = false
	if err := tr.SetSettings(cfg); err != nil {
		t.Fatal(err)
	}
	if tr.Enabled() {
		t.Error("Enabled after disable")
	}
	tr.Observe("a", "x", c.t.Add(-time.Second))
	if n := len(tr.TopK()); n != 0 {
		t.Errorf("disabled tracker recorded %d entries", n)
	}
	var nilT *Tracker
	if nilT.Enabled() {
		t.Error("nil tracker enabled")
	}
}

func TestSetSettingsShrinksAndValidates(t *testing.T) {
	tr, c := newTracker(5)
	for i, id := range []string{"a", "b", "c", "d"} {
		tr.Observe(id, "x", c.t.Add(-time.Duration(i+1)*time.Second))
	}
	cfg := tr.Settings()
	cfg.TopKNum = 2
	if err := tr.SetSettings(cfg); err != nil {
		t.Fatal(err)
	}
	got := tr.TopK()
	if len(got) != 2 || got[0].ClientID != "d" || got[1].ClientID != "c" {
		t.Errorf("after shrink TopK = %+v, want d, c", got)
	}
	for name, mod := range map[string]func(*Config){
		"threshold":       func(c *Config) { c.Threshold = 0 },
		"expire_interval": func(c *Config) { c.ExpireInterval = time.Millisecond },
		"top_k_num zero":  func(c *Config) { c.TopKNum = 0 },
		"top_k_num big":   func(c *Config) { c.TopKNum = MaxTopK + 1 },
		"stats_type":      func(c *Config) { c.StatsType = "internal" },
	} {
		t.Run(name, func(t *testing.T) {
			bad := DefaultConfig()
			mod(&bad)
			if err := tr.SetSettings(bad); !errors.Is(err, ErrConfig) {
				t.Errorf("SetSettings = %v, want ErrConfig", err)
			}
		})
	}
}

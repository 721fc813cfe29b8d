package trace

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
)

// TestFullQueueDropsAndSaysSo: while the writer is held up, events past the
// queue's bound are dropped without blocking the caller, counted, and the
// next line of the trace reports them.
func TestFullQueueDropsAndSaysSo(t *testing.T) {
	tr := New(filepath.Join(t.TempDir(), "trace"), 0, zerolog.Nop())
	defer tr.Close()
	if _, err := tr.Create(Spec{Name: "d", Type: TypeTopic, Topic: "#"}); err != nil {
		t.Fatal(err)
	}
	tr.mu.Lock()
	tt := tr.traces["d"]
	tr.mu.Unlock()
	tt.wmu.Lock() // the writer blocks on its first record
	m := &core.Message{Topic: "x", Payload: []byte("p")}
	const extra = 100
	for range queueLen + 1 + extra { // one taken by the writer, queueLen queued
		tr.Published(m)
	}
	tt.wmu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	var log string
	for !strings.Contains(log, "[trace_dropped] count=") {
		if time.Now().After(deadline) {
			t.Fatalf("no trace_dropped line; dropped=%d", tt.dropped.Load())
		}
		time.Sleep(5 * time.Millisecond)
		tr.Published(m) // a later event carries the report
		f, _, err := tr.Open("d")
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(f)
		_ = f.Close()
		log = string(data)
	}
	if d := tt.dropped.Load(); d < extra {
		t.Errorf("dropped = %d, want at least %d", d, extra)
	}
	if i, _ := tr.Get("d"); i.Dropped != tt.dropped.Load() {
		t.Errorf("Info.Dropped = %d", i.Dropped)
	}
}

package pebble

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/store"
)

// publisher imitates a QoS 1 publisher with an inflight window: a ticket
// every ticketEvery messages, at most window tickets outstanding.
type publisher struct {
	s       store.Store
	pending []chanWaker
	window  int
}

const ticketEvery = 100

func (p *publisher) mark() {
	w := make(chanWaker)
	p.s.Mark().WhenDrained(w)
	p.pending = append(p.pending, w)
	if len(p.pending) > p.window {
		<-p.pending[0]
		p.pending = p.pending[1:]
	}
}

func (p *publisher) wait() {
	for _, w := range p.pending {
		<-w
	}
	p.pending = p.pending[:0]
}

func benchOpen(b *testing.B, opts store.Options) *Store {
	b.Helper()
	s, err := Open(b.TempDir(), opts, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func msg64(id uint64) *core.Message {
	return &core.Message{ID: id, Topic: "sensors/room1/temp", Payload: make([]byte, 64), QoS: core.QoS1, Timestamp: time.Now()}
}

func benchEnqueue(b *testing.B, fsync store.Fsync) {
	s := benchOpen(b, store.Options{Fsync: fsync})
	s.PutSession(store.SessionRecord{ClientID: "bench"})
	p := &publisher{s: s, window: 10}
	m := msg64(1)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		seq := uint64(i + 1)
		if err := s.Enqueue("bench", &store.Entry{Seq: seq, Msg: m, QoS: core.QoS1}); err != nil {
			b.Fatal(err)
		}
		if seq%ticketEvery == 0 {
			p.mark()
		}
	}
	p.mark()
	p.wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64(s.Stats().Batches)/float64(b.N), "batches/msg")
}

// BenchmarkEnqueueInterval stores 64-byte messages in one session under
// FsyncInterval, a ticket per 100 messages.
func BenchmarkEnqueueInterval(b *testing.B) { benchEnqueue(b, store.FsyncInterval) }

// BenchmarkEnqueueAlways is BenchmarkEnqueueInterval under FsyncAlways.
func BenchmarkEnqueueAlways(b *testing.B) { benchEnqueue(b, store.FsyncAlways) }

// BenchmarkLoadQueue pages a stored queue in, 256 entries at a time; one op
// is one entry.
func BenchmarkLoadQueue(b *testing.B) {
	const n = 100_000
	s := benchOpen(b, store.Options{})
	s.PutSession(store.SessionRecord{ClientID: "bench"})
	for i := uint64(1); i <= n; i++ {
		if err := s.Enqueue("bench", &store.Entry{Seq: i, Msg: msg64(i), QoS: core.QoS1}); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	pages := make(chan []store.Entry, 1)
	b.ReportAllocs()
	b.ResetTimer()
	after := uint64(0)
	for done := 0; done < b.N; {
		s.LoadQueue("bench", after, 256, func(e []store.Entry, err error) {
			if err != nil {
				b.Error(err)
			}
			pages <- e
		})
		page := <-pages
		if len(page) == 0 {
			after = 0
			continue
		}
		after = page[len(page)-1].Seq
		done += len(page)
	}
}

// BenchmarkStoreReplay is issue 4's "offline queue store + replay": a
// publisher stores b.N 64-byte QoS 1 messages for an offline session (a
// ticket per 100, 10 outstanding), then the session reconnects and replays
// them, paging 256 at a time and removing each as it is acknowledged.
// msgs/s counts each message once (stored and replayed).
func BenchmarkStoreReplay(b *testing.B) {
	for _, tc := range []struct {
		name  string
		fsync store.Fsync
	}{{"interval", store.FsyncInterval}, {"always", store.FsyncAlways}} {
		b.Run(tc.name, func(b *testing.B) {
			s := benchOpen(b, store.Options{Fsync: tc.fsync})
			s.PutSession(store.SessionRecord{ClientID: "bench"})
			p := &publisher{s: s, window: 10}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				seq := uint64(i + 1)
				if err := s.Enqueue("bench", &store.Entry{Seq: seq, Msg: msg64(seq), QoS: core.QoS1}); err != nil {
					b.Fatal(err)
				}
				if seq%ticketEvery == 0 {
					p.mark()
				}
			}
			p.mark()
			p.wait()
			stored := time.Since(start)
			pages := make(chan []store.Entry, 1)
			after := uint64(0)
			for {
				s.LoadQueue("bench", after, 256, func(e []store.Entry, err error) {
					if err != nil {
						b.Error(err)
					}
					pages <- e
				})
				page := <-pages
				if len(page) == 0 {
					break
				}
				for _, e := range page {
					s.Remove("bench", e.Seq, false, e.Msg.ID, false)
				}
				after = page[len(page)-1].Seq
			}
			if err := s.Flush(); err != nil {
				b.Fatal(err)
			}
			total := time.Since(start)
			b.ReportMetric(float64(b.N)/total.Seconds(), "msgs/s")
			b.ReportMetric(float64(b.N)/stored.Seconds(), "stored/s")
			b.ReportMetric(float64(b.N)/(total-stored).Seconds(), "replayed/s")
		})
	}
}

// BenchmarkRestore1M restores a store holding 1,000,000 queued messages
// (1000 sessions × 1000; every tenth body shared).
func BenchmarkRestore1M(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(dir, store.Options{Fsync: store.FsyncNever}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	const sessions, each = 1000, 1000
	shared := msg64(1 << 40)
	ids := make([]string, sessions)
	for c := range ids {
		ids[c] = "client-" + string(rune('a'+c%26)) + time.Duration(c).String()
		s.PutSession(store.SessionRecord{ClientID: ids[c], Expiry: time.Hour})
	}
	for i := uint64(1); i <= each; i++ {
		for _, id := range ids {
			e := &store.Entry{Seq: i, Msg: msg64(i), QoS: core.QoS1}
			if i%10 == 0 {
				e.Msg, e.SharedBody = shared, true
			}
			if err := s.Enqueue(id, e); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s, err := Open(dir, store.Options{}, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		r, err := s.Restore()
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, rs := range r.Sessions {
			n += rs.Queued
		}
		if n != sessions*each {
			b.Fatalf("restored %d queued, want %d", n, sessions*each)
		}
		b.StopTimer()
		_ = s.Close()
		b.StartTimer()
	}
}

// BenchmarkFanOutShared stores each 64-byte message for 100 offline
// sessions with its body shared (written once, referenced 100 times); one
// op is one message fanned out.
func BenchmarkFanOutShared(b *testing.B) {
	s := benchOpen(b, store.Options{})
	const sessions = 100
	ids := make([]string, sessions)
	for i := range ids {
		ids[i] = "fan-" + time.Duration(i).String()
		s.PutSession(store.SessionRecord{ClientID: ids[i]})
	}
	p := &publisher{s: s, window: 10}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		m := msg64(uint64(i + 1))
		for _, id := range ids {
			if err := s.Enqueue(id, &store.Entry{Seq: uint64(i + 1), Msg: m, QoS: core.QoS1, SharedBody: true}); err != nil {
				b.Fatal(err)
			}
		}
		p.mark()
	}
	p.wait()
	b.ReportMetric(float64(s.Stats().QueuedBytes)/float64(b.N*sessions), "disk-B/entry")
}

package delayed

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
)

// BenchmarkAdd adds messages that never fall due during the run, so the
// heap grows to b.N entries: the cost per Add is O(log n) sifting plus one
// copy of the message.
func BenchmarkAdd(b *testing.B) {
	s := New(DefaultConfig(), func(*core.Message) {}, zerolog.Nop())
	defer s.Close()
	m := &core.Message{Topic: "sensors/1/temp", Payload: []byte(`{"v":21.5}`), QoS: 1}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		// Varying delays so that pushes sift, not just append.
		if err := s.Add(m, time.Hour+time.Duration(i*7919%100000)*time.Millisecond); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddParallel measures Add under contention from many publishers.
func BenchmarkAddParallel(b *testing.B) {
	s := New(DefaultConfig(), func(*core.Message) {}, zerolog.Nop())
	defer s.Close()
	m := &core.Message{Topic: "sensors/1/temp", Payload: []byte(`{"v":21.5}`), QoS: 1}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if err := s.Add(m, time.Hour+time.Duration(i%1000)*time.Millisecond); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAddAndPublish measures the whole path for messages due at once:
// Add, the heap pop and the published copy.
func BenchmarkAddAndPublish(b *testing.B) {
	var n atomic.Int64
	s := New(DefaultConfig(), func(*core.Message) { n.Add(1) }, zerolog.Nop())
	defer s.Close()
	m := &core.Message{Topic: "$delayed/0/sensors/1/temp", Payload: []byte(`{"v":21.5}`), QoS: 1}
	b.ReportAllocs()
	want := int64(0)
	for b.Loop() {
		want++
		if err := s.Add(m, 0); err != nil {
			b.Fatal(err)
		}
	}
	for n.Load() < want {
		time.Sleep(100 * time.Microsecond)
	}
}

package retain

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/core"
)

// benchMetrics are the ten retained topics of each benchmark device, so a
// store of n messages holds n/10 devices and sensors/+/temp matches a tenth.
var benchMetrics = [10]string{"temp", "hum", "pres", "co2", "lux", "volt", "rssi", "fw", "state", "loc"}

// benchTopic returns retained topic i: sensors/<i/10>/<metric i%10>.
func benchTopic(i int) string {
	return "sensors/" + strconv.Itoa(i/10) + "/" + benchMetrics[i%10]
}

var (
	benchMu     sync.Mutex
	benchStores = map[int]*Store{}
)

// benchStore returns a store of n retained messages, built once per n.
func benchStore(b *testing.B, n int) *Store {
	benchMu.Lock()
	defer benchMu.Unlock()
	if s := benchStores[n]; s != nil {
		return s
	}
	s := New(DefaultConfig())
	payload := []byte(`{"v":21.5}`)
	for i := range n {
		if err := s.Set(&core.Message{Topic: benchTopic(i), Payload: payload, Retain: true, Timestamp: base}); err != nil {
			b.Fatal(err)
		}
	}
	benchStores[n] = s
	return s
}

var benchSizes = []struct {
	name string
	n    int
}{{"1k", 1_000}, {"10k", 10_000}, {"100k", 100_000}, {"1M", 1_000_000}}

// BenchmarkMatchLiteral matches a filter of literal levels (one message) in
// stores of growing size: the cost must stay flat, not grow with the store.
func BenchmarkMatchLiteral(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			s := benchStore(b, sz.n)
			filter := benchTopic(sz.n/2 + 3)
			n := 0
			fn := func(*core.Message) bool { n++; return true }
			b.ReportAllocs()
			for b.Loop() {
				s.Match(filter, base, fn)
			}
			if n == 0 {
				b.Fatal("no match")
			}
		})
	}
}

// BenchmarkMatchPlus matches sensors/+/temp: 1 in 10 of the store. ns/match
// is the cost per delivered message.
func BenchmarkMatchPlus(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			benchMatchMany(b, benchStore(b, sz.n), "sensors/+/temp", sz.n/10)
		})
	}
}

// BenchmarkMatchHash matches a whole subtree: one device (sensors/<id>/#,
// 10 messages) and the whole store (#, 1M messages).
func BenchmarkMatchHash(b *testing.B) {
	s := benchStore(b, 1_000_000)
	b.Run("device", func(b *testing.B) { benchMatchMany(b, s, "sensors/4242/#", 10) })
	b.Run("all", func(b *testing.B) { benchMatchMany(b, s, "#", 1_000_000) })
}

func benchMatchMany(b *testing.B, s *Store, filter string, want int) {
	n := 0
	fn := func(*core.Message) bool { n++; return true }
	b.ReportAllocs()
	ops := 0
	for b.Loop() {
		s.Match(filter, base, fn)
		ops++
	}
	if n != want*ops {
		b.Fatalf("%d matches in %d ops, want %d per op", n, ops, want)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/match")
}

// BenchmarkSet measures Set of a new topic, of a replacement (the common
// case: devices republish their state), of a replacement carrying an
// expiry (heap fix), and a delete by empty payload followed by a re-Set.
func BenchmarkSet(b *testing.B) {
	payload := []byte(`{"v":21.5}`)
	const n = 100_000
	topics := make([]string, n)
	for i := range topics {
		topics[i] = benchTopic(i)
	}
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		s := New(DefaultConfig())
		i := 0
		for b.Loop() {
			if i == n {
				b.StopTimer()
				s = New(DefaultConfig())
				i = 0
				b.StartTimer()
			}
			_ = s.Set(&core.Message{Topic: topics[i], Payload: payload})
			i++
		}
	})
	b.Run("replace", func(b *testing.B) {
		s := New(DefaultConfig())
		for _, tp := range topics {
			_ = s.Set(&core.Message{Topic: tp, Payload: payload})
		}
		msgs := make([]*core.Message, n)
		for i, tp := range topics {
			msgs[i] = &core.Message{Topic: tp, Payload: payload}
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_ = s.Set(msgs[i%n])
			i++
		}
	})
	b.Run("replace-expiring", func(b *testing.B) {
		s := New(DefaultConfig())
		msgs := make([]*core.Message, n)
		for i, tp := range topics {
			msgs[i] = &core.Message{Topic: tp, Payload: payload, Timestamp: base.Add(time.Duration(i)), ExpiryInterval: time.Hour}
			_ = s.Set(msgs[i])
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_ = s.Set(msgs[i%n])
			i++
		}
	})
	b.Run("delete-reset", func(b *testing.B) {
		s := New(DefaultConfig())
		msgs := make([]*core.Message, n)
		for i, tp := range topics {
			msgs[i] = &core.Message{Topic: tp, Payload: payload}
			_ = s.Set(msgs[i])
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			m := msgs[i%n]
			_ = s.Set(&core.Message{Topic: m.Topic})
			_ = s.Set(m)
			i++
		}
	})
}

// BenchmarkExpire measures Expire removing a full ExpireBatch of expired
// messages (the whole store); ns/msg is the cost per removed message.
func BenchmarkExpire(b *testing.B) {
	payload := []byte("x")
	b.ReportAllocs()
	ops := 0
	for b.Loop() {
		ops++
		b.StopTimer()
		s := New(DefaultConfig())
		for i := range ExpireBatch {
			_ = s.Set(&core.Message{Topic: benchTopic(i), Payload: payload, Timestamp: base.Add(time.Duration(i)), ExpiryInterval: time.Second})
		}
		b.StartTimer()
		if got := s.Expire(base.Add(time.Hour)); got != ExpireBatch {
			b.Fatalf("Expire = %d", got)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(ops*ExpireBatch), "ns/msg")
}

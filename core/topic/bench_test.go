package topic

import (
	"flag"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchSub stands in for the broker's subscription record.
type benchSub struct{ id int }

const benchTenants = 1000

// benchFilter returns the filter of device subscription i. The mix:
// 80% exact telemetry filters, 10% with a "+" level, 10% ending in "#".
//
//	tenant/<i%1000>/device/<i>/telemetry
//	tenant/<i%1000>/device/<i>/+/state
//	tenant/<i%1000>/device/<i>/#
func benchFilter(buf []byte, i int) []byte {
	buf = append(buf[:0], "tenant/"...)
	buf = strconv.AppendInt(buf, int64(i%benchTenants), 10)
	buf = append(buf, "/device/"...)
	buf = strconv.AppendInt(buf, int64(i), 10)
	switch i % 10 {
	case 8:
		return append(buf, "/+/state"...)
	case 9:
		return append(buf, "/#"...)
	}
	return append(buf, "/telemetry"...)
}

// benchExtras are the few hundred filters spanning many devices: per-tenant
// firehoses for 300 tenants, a telemetry pipeline, an alarm watcher and a
// catch-all.
func benchExtras() []string {
	var fs []string
	for t := range 300 {
		fs = append(fs, "tenant/"+strconv.Itoa(t)+"/#")
	}
	return append(fs, "tenant/+/device/+/telemetry", "tenant/+/+/+/alarm", "#", "$SYS/#")
}

// benchTopic returns a topic that device subscription i's filter matches.
func benchTopic(i int) string {
	t := "tenant/" + strconv.Itoa(i%benchTenants) + "/device/" + strconv.Itoa(i)
	switch i % 10 {
	case 8:
		return t + "/door/state"
	case 9:
		return t + "/alarm"
	}
	return t + "/telemetry"
}

// fillTrie subscribes n device filters plus the extras, with values taken
// from one array (so the values' own memory is not the trie's).
func fillTrie(tr *Trie[*benchSub], n int) {
	vals := make([]benchSub, n+len(benchExtras()))
	var buf []byte
	for i := range n {
		buf = benchFilter(buf, i)
		vals[i].id = i
		tr.Insert(string(buf), "", &vals[i])
	}
	for j, f := range benchExtras() {
		tr.Insert(f, "", &vals[n+j])
	}
}

// uncachedView returns a Trie sharing t's nodes with no cache, for measuring
// the walk alone. Read-only: t must not change while it is used.
func uncachedView[V comparable](t *Trie[V]) *Trie[V] {
	u := &Trie[V]{nodes: t.nodes}
	u.root = t.root
	return u
}

var bench1M struct {
	once   sync.Once
	trie   *Trie[*benchSub]
	hot    []string // 1000 topics: fit the cache
	spread []string // 256k topics: 64× the cache
}

func setup1M(b *testing.B) {
	bench1M.once.Do(func() {
		const n = 1_000_000
		start := time.Now()
		bench1M.trie = NewTrie[*benchSub](DefaultConfig())
		fillTrie(bench1M.trie, n)
		rng := rand.New(rand.NewPCG(1, 1))
		for range 1000 {
			bench1M.hot = append(bench1M.hot, benchTopic(rng.IntN(n)))
		}
		for range 1 << 18 {
			bench1M.spread = append(bench1M.spread, benchTopic(rng.IntN(n)))
		}
		b.Logf("1M subscriptions in %v, %+v", time.Since(start), bench1M.trie.Stats())
	})
}

func BenchmarkMatch1M(b *testing.B) {
	setup1M(b)
	tr := bench1M.trie
	run := func(tr *Trie[*benchSub], topics []string) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := tr.Match(topics[i%len(topics)])
				if len(r.Subs) == 0 {
					b.Fatal("no match")
				}
				i++
			}
		}
	}
	for _, topic := range bench1M.hot {
		tr.Match(topic)
	}
	b.Run("cached", run(tr, bench1M.hot))
	b.Run("uncached-nocache", run(uncachedView(tr), bench1M.spread))
	b.Run("uncached-miss", run(tr, bench1M.spread))
}

func BenchmarkMatchParallel(b *testing.B) {
	setup1M(b)
	tr := bench1M.trie
	run := func(tr *Trie[*benchSub], topics []string) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			var seed sync.Mutex
			next := uint64(0)
			b.RunParallel(func(pb *testing.PB) {
				seed.Lock()
				next++
				rng := rand.New(rand.NewPCG(next, 3))
				seed.Unlock()
				for pb.Next() {
					if r := tr.Match(topics[rng.IntN(len(topics))]); len(r.Subs) == 0 {
						b.Error("no match")
						return
					}
				}
			})
		}
	}
	for _, topic := range bench1M.hot {
		tr.Match(topic)
	}
	b.Run("cached", run(tr, bench1M.hot))
	b.Run("uncached-nocache", run(uncachedView(tr), bench1M.spread))
}

func BenchmarkInsert(b *testing.B) {
	b.Run("exact", func(b *testing.B) {
		b.ReportAllocs()
		tr := NewTrie[*benchSub](DefaultConfig())
		v := &benchSub{}
		var buf []byte
		i := 0
		for b.Loop() {
			buf = benchFilter(buf, i*10) // i*10: the telemetry kind
			tr.Insert(string(buf), "", v)
			i++
		}
	})
	// A wildcard filter must be checked against every cached topic.
	b.Run("wildcard-full-cache", func(b *testing.B) {
		b.ReportAllocs()
		tr := NewTrie[*benchSub](DefaultConfig())
		tr.Insert("#", "", &benchSub{})
		for i := range 2 * DefaultCacheSize {
			tr.Match(benchTopic(i))
		}
		b.Logf("%+v", tr.Stats())
		v := &benchSub{}
		var buf []byte
		i := 0
		for b.Loop() {
			buf = benchFilter(buf, i*10+8) // the +/state kind
			tr.Insert(string(buf), "", v)
			i++
		}
	})
	// Subscribe then unsubscribe a filter whose topic is hot in the cache.
	b.Run("churn-cached", func(b *testing.B) {
		b.ReportAllocs()
		tr := NewTrie[*benchSub](DefaultConfig())
		fillTrie(tr, 10000)
		topic := benchTopic(10)
		tr.Match(topic)
		v := &benchSub{}
		for b.Loop() {
			tr.Insert("tenant/10/device/10/telemetry", "", v)
			tr.Remove("tenant/10/device/10/telemetry", "", v)
		}
	})
}

// BenchmarkMemory10M measures the heap a trie of 10M distinct filters uses
// and the uncached match time at that size. It runs only when named
// explicitly (-bench Memory10M); MANIFOLD_TOPIC_MEM_N overrides the count.
func BenchmarkMemory10M(b *testing.B) {
	if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), "Memory") {
		b.Skip("run with -bench Memory10M")
	}
	n := 10_000_000
	if s := os.Getenv("MANIFOLD_TOPIC_MEM_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	vals := make([]benchSub, n) // the values are the broker's, not the trie's
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	tr := NewTrie[*benchSub](DefaultConfig())
	var buf []byte
	for i := range n {
		buf = benchFilter(buf, i)
		tr.Insert(string(buf), "", &vals[i])
	}
	built := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perFilter := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	b.Logf("%d filters in %v: heap %.0f MiB, %.1f B/filter, %+v",
		n, built, float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), perFilter, tr.Stats())

	topics := make([]string, 1<<18)
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range topics {
		topics[i] = benchTopic(rng.IntN(n))
	}
	u := uncachedView(tr)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if r := u.Match(topics[i&(len(topics)-1)]); len(r.Subs) == 0 {
			b.Fatal("no match")
		}
		i++
	}
	b.ReportMetric(perFilter, "B/filter")
	runtime.KeepAlive(tr)
	runtime.KeepAlive(vals)
}

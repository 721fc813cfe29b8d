package bench

import (
	"math"
	"testing"
	"time"
)

func within(got, want time.Duration, tol float64) bool {
	return math.Abs(float64(got-want)) <= tol*float64(want)+1
}

func TestHistogramPercentiles(t *testing.T) {
	var h Histogram
	// 1 µs .. 100 ms in 1 µs steps: quantile q is q * 100 ms.
	for v := int64(1); v <= 100_000; v++ {
		h.Record(v * 1000)
	}
	var s Snapshot
	h.AddTo(&s)
	cases := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 50 * time.Millisecond},
		{0.99, 99 * time.Millisecond},
		{0.999, 99900 * time.Microsecond},
		{0.01, time.Millisecond},
	}
	for _, tc := range cases {
		if got := s.Quantile(tc.q); !within(got, tc.want, 1.0/64) {
			t.Errorf("p%v = %v, want %v ± 1.6%%", tc.q*100, got, tc.want)
		}
	}
	if s.Total != 100_000 || s.Max != 100*int64(time.Millisecond) {
		t.Errorf("total %d max %d", s.Total, s.Max)
	}
	if m := s.Mean(); !within(m, 50*time.Millisecond, 0.02) {
		t.Errorf("mean %v", m)
	}
}

func TestHistogramSmallAndHugeValues(t *testing.T) {
	var h Histogram
	for v := int64(0); v < 64; v++ {
		h.Record(v)
	}
	h.Record(-5)            // clock skew: counted as 0
	h.Record(math.MaxInt64) // clamped into the last bucket
	var s Snapshot
	h.AddTo(&s)
	if s.Total != 66 {
		t.Fatalf("total %d", s.Total)
	}
	if got := s.Quantile(0.5); got != 32 && got != 31 { // exact below 64 ns
		t.Errorf("p50 of 0..63 = %d", got)
	}
	if got := s.Quantile(1); got <= 0 {
		t.Errorf("p100 = %v", got)
	}
}

func TestHistogramMergeAndInterval(t *testing.T) {
	var a, b Histogram
	for i := 0; i < 900; i++ {
		a.Record(int64(time.Millisecond))
	}
	for i := 0; i < 100; i++ {
		b.Record(int64(10 * time.Millisecond))
	}
	var s Snapshot
	a.AddTo(&s)
	b.AddTo(&s)
	if s.Total != 1000 {
		t.Fatalf("merged total %d", s.Total)
	}
	if p50, p99 := s.Quantile(0.5), s.Quantile(0.99); !within(p50, time.Millisecond, 1.0/64) || !within(p99, 10*time.Millisecond, 1.0/64) {
		t.Errorf("merged p50 %v p99 %v", p50, p99)
	}
	// The next interval holds only new values.
	for i := 0; i < 10; i++ {
		a.Record(int64(5 * time.Millisecond))
	}
	var s2 Snapshot
	a.AddTo(&s2)
	b.AddTo(&s2)
	d := s2.Sub(&s)
	if d.Total != 10 || !within(d.Quantile(0.5), 5*time.Millisecond, 1.0/64) {
		t.Errorf("interval: total %d p50 %v", d.Total, d.Quantile(0.5))
	}
	var empty Snapshot
	if empty.Quantile(0.99) != 0 || empty.Mean() != 0 {
		t.Error("empty snapshot has values")
	}
}

func TestBucketErrorBound(t *testing.T) {
	for _, v := range []int64{64, 100, 1000, 123456, 1 << 30, 987654321012} {
		got := bucketValue(bucketOf(v))
		if math.Abs(float64(got-v)) > float64(v)/64 {
			t.Errorf("value %d lands in a bucket worth %d", v, got)
		}
	}
}

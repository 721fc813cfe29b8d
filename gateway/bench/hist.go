package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram layout: values below 2^subBits are exact; above, each power of
// two is split into 2^subBits linear sub-buckets, so the relative error is
// under 1/64 (1.6%). Values are nanoseconds, capped at maxValue.
const (
	subBits  = 6
	subCount = 1 << subBits
	maxShift = 40 // 2^(40+6) ns is about 19.5 hours; longer latencies are clamped
	nBuckets = (maxShift + 1) * subCount
	maxValue = int64(1)<<(maxShift+subBits) - 1
)

// Histogram is a bounded, mergeable latency histogram (log-linear buckets,
// HDR-like). Record may run concurrently with Snapshot: counts are atomic.
type Histogram struct {
	counts [nBuckets]atomic.Uint64
	max    atomic.Int64
}

// bucketOf maps a value to its bucket index.
func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	if v > maxValue {
		v = maxValue
	}
	u := uint64(v)
	if u < subCount {
		return int(u)
	}
	shift := bits.Len64(u) - subBits - 1 // u>>shift is in [subCount, 2*subCount)
	return (shift+1)*subCount + int(u>>shift) - subCount
}

// bucketValue is the middle of a bucket's value range.
func bucketValue(i int) int64 {
	if i < subCount {
		return int64(i)
	}
	shift := i/subCount - 1
	lo := int64(i%subCount+subCount) << shift
	return lo + (int64(1)<<shift)/2
}

// Record adds one value in nanoseconds.
func (h *Histogram) Record(ns int64) {
	h.counts[bucketOf(ns)].Add(1)
	for {
		m := h.max.Load()
		if ns <= m || h.max.CompareAndSwap(m, ns) {
			return
		}
	}
}

// Snapshot is a point-in-time copy of one or more histograms.
type Snapshot struct {
	Counts [nBuckets]uint64
	Total  uint64
	Max    int64
}

// AddTo adds the histogram's current counts to s (merging histograms).
func (h *Histogram) AddTo(s *Snapshot) {
	for i := range h.counts {
		n := h.counts[i].Load()
		s.Counts[i] += n
		s.Total += n
	}
	if m := h.max.Load(); m > s.Max {
		s.Max = m
	}
}

// Sub returns s minus an earlier snapshot of the same histograms: the values
// recorded in between. Max stays the all-time maximum.
func (s *Snapshot) Sub(prev *Snapshot) *Snapshot {
	d := &Snapshot{Max: s.Max}
	for i := range s.Counts {
		d.Counts[i] = s.Counts[i] - prev.Counts[i]
		d.Total += d.Counts[i]
	}
	return d
}

// Quantile returns the value at quantile q (0..1), 0 when empty.
func (s *Snapshot) Quantile(q float64) time.Duration {
	if s.Total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.Total)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, n := range s.Counts {
		seen += n
		if seen >= rank {
			v := bucketValue(i)
			if s.Max > 0 && v > s.Max {
				v = s.Max
			}
			return time.Duration(v)
		}
	}
	return time.Duration(s.Max)
}

// Mean returns the mean of the recorded values (bucket middles).
func (s *Snapshot) Mean() time.Duration {
	if s.Total == 0 {
		return 0
	}
	var sum float64
	for i, n := range s.Counts {
		if n > 0 {
			sum += float64(n) * float64(bucketValue(i))
		}
	}
	return time.Duration(sum / float64(s.Total))
}

// Package lograte keeps a log line that can repeat per connection (refused
// connections, failed handshakes) from flooding the log: one line per
// interval, with a count of the ones held back.
package lograte

import (
	"sync/atomic"
	"time"
)

// Limiter lets one log line through per interval and counts what it held
// back. The zero value is ready; it is safe for concurrent use.
type Limiter struct {
	next       atomic.Int64 // unix nanos before which lines are suppressed
	suppressed atomic.Int64
}

// Allow reports whether a line may be logged now, and how many were
// suppressed since the last one that was.
func (r *Limiter) Allow(every time.Duration) (bool, int64) {
	now := time.Now().UnixNano()
	next := r.next.Load()
	if now < next || !r.next.CompareAndSwap(next, now+int64(every)) {
		r.suppressed.Add(1)
		return false, 0
	}
	return true, r.suppressed.Swap(0)
}

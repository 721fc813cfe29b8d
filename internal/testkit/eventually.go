package testkit

import (
	"testing"
	"time"
)

// pollMax is the longest pause between two looks at a condition.
const pollMax = 10 * time.Millisecond

// Eventually polls cond until it holds or within has passed, and reports
// whether it held. It looks once more at the deadline, pauses briefly
// between looks (1ms at first, doubling up to 10ms) and never sleeps past
// the deadline.
func Eventually(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	pause := time.Millisecond
	for {
		if cond() {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		time.Sleep(min(pause, left))
		pause = min(2*pause, pollMax)
	}
}

// MustEventually is Eventually that fails the test (t.Fatalf) when cond has
// not held within the given time.
func MustEventually(t testing.TB, within time.Duration, cond func() bool) {
	t.Helper()
	if !Eventually(within, cond) {
		t.Fatalf("condition not met within %v", within)
	}
}

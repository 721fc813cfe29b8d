package testkit

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestEventually(t *testing.T) {
	tests := []struct {
		name   string
		after  int // cond holds from this call on; <0: never
		within time.Duration
		want   bool
	}{
		{"holds at once", 0, time.Second, true},
		{"holds after a few looks", 3, 5 * time.Second, true},
		{"never holds", -1, 20 * time.Millisecond, false},
		{"no time at all still looks once", 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			cond := func() bool { n := int(calls.Add(1)) - 1; return tc.after >= 0 && n >= tc.after }
			if got := Eventually(tc.within, cond); got != tc.want {
				t.Fatalf("Eventually = %v after %d looks, want %v", got, calls.Load(), tc.want)
			}
			if tc.after < 0 && calls.Load() < 2 {
				t.Fatalf("looked %d times before giving up, want a poll", calls.Load())
			}
		})
	}
}

// fakeT records a Fatalf instead of stopping the test.
type fakeT struct {
	testing.TB
	failed string
}

func (f *fakeT) Helper()                           {}
func (f *fakeT) Fatalf(format string, args ...any) { f.failed = format }

func TestMustEventually(t *testing.T) {
	ok := &fakeT{TB: t}
	MustEventually(ok, time.Second, func() bool { return true })
	if ok.failed != "" {
		t.Fatalf("failed although the condition held: %q", ok.failed)
	}
	bad := &fakeT{TB: t}
	MustEventually(bad, 10*time.Millisecond, func() bool { return false })
	if bad.failed == "" {
		t.Fatal("did not fail although the condition never held")
	}
}

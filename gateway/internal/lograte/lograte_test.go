package lograte

import (
	"testing"
	"time"
)

func TestAllowOncePerInterval(t *testing.T) {
	var l Limiter
	if ok, n := l.Allow(time.Hour); !ok || n != 0 {
		t.Fatalf("first line: %v %d", ok, n)
	}
	for range 3 {
		if ok, _ := l.Allow(time.Hour); ok {
			t.Fatal("a second line within the interval got through")
		}
	}
	l.next.Store(0) // the interval has passed
	if ok, n := l.Allow(time.Hour); !ok || n != 3 {
		t.Fatalf("after the interval: %v, suppressed %d, want true and 3", ok, n)
	}
}

package edge

import (
	"testing"
	"time"
)

// TestTraffic checks the listener's byte counters: exactly the bytes of the
// lines on TCP; on WebSocket the upgrade and the frames too.
func TestTraffic(t *testing.T) {
	t.Run("tcp", func(t *testing.T) {
		s := startServer(t, testConfig(), newLineAdapter())
		c := dial(t, s)
		c.send("hello\nworld\n")
		c.expect("hello")
		c.expect("world")
		c.send("hel") // a partial line is not counted until it is decoded
		if !eventually(t, 2*time.Second, func() bool { rx, tx := s.Traffic(); return rx == 12 && tx == 12 }) {
			rx, tx := s.Traffic()
			t.Fatalf("Traffic() = %d, %d; want 12, 12", rx, tx)
		}
	})
	t.Run("ws", func(t *testing.T) {
		s := startWS(t, wsTestConfig(), newLineAdapter(), nil)
		c := dialWSRaw(t, s)
		c.upgrade()
		c.sendBinary("hello\n")
		c.expect("hello")
		// The upgrade request and the 6-byte masked frame (2+4+6); the 101
		// response and the 8-byte reply frame.
		if !eventually(t, 2*time.Second, func() bool { rx, tx := s.Traffic(); return rx > 12 && tx > 8 }) {
			rx, tx := s.Traffic()
			t.Fatalf("Traffic() = %d, %d", rx, tx)
		}
	})
}

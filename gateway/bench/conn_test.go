package bench

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/manifold-iot/manifold/codec/mqtt"
)

// limitWriter accepts n bytes, then fails.
type limitWriter struct{ n int }

func (w *limitWriter) Write(p []byte) (int, error) {
	if len(p) <= w.n {
		w.n -= len(p)
		return len(p), nil
	}
	k := w.n
	w.n = 0
	return k, errors.New("broker stopped reading")
}

// A publish counts as sent only once all of its bytes reached the socket.
func TestSentCountsWrittenPublishesOnly(t *testing.T) {
	cases := []struct {
		name     string
		accept   int
		wantSent uint64
	}{
		{"all written", 1 << 20, 10},
		{"nothing written", 0, 0},
		{"three and a half written", 3*100 + 50, 3},
		{"exactly four written", 400, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := newClient(&rawConn{w: &limitWriter{n: tc.accept}}, mqtt.V311)
			var sent atomic.Uint64
			cl.sent, cl.pktLen = &sent, 100
			pkt := make([]byte, 100)
			for range 10 {
				if err := cl.writePublish(pkt); err != nil {
					t.Fatal(err) // 1000 bytes fit the 64 KiB buffer: no write yet
				}
			}
			if sent.Load() != 0 {
				t.Fatalf("counted %d before any write", sent.Load())
			}
			_ = cl.flush()
			if got := sent.Load(); got != tc.wantSent {
				t.Errorf("sent %d, want %d", got, tc.wantSent)
			}
		})
	}
}

func TestAckPackets(t *testing.T) {
	// Each acknowledgement decodes, on every version, as its type with the
	// packet id (5.0 omits the Success reason code, MQTT 5.0 §3.4.2.1).
	id := func(p mqtt.Packet) uint16 {
		switch a := p.(type) {
		case *mqtt.Puback:
			return a.PacketID
		case *mqtt.Pubrec:
			return a.PacketID
		case *mqtt.Pubrel:
			return a.PacketID
		case *mqtt.Pubcomp:
			return a.PacketID
		}
		return 0
	}
	for _, v := range []byte{mqtt.V31, mqtt.V311, mqtt.V5} {
		for _, typ := range []mqtt.PacketType{mqtt.TypePuback, mqtt.TypePubrec, mqtt.TypePubrel, mqtt.TypePubcomp} {
			b := ackPacket(typ, 0x1234)
			p, n, err := mqtt.Decode(b[:], v, 0)
			if err != nil || n != 4 || p.Type() != typ || id(p) != 0x1234 {
				t.Errorf("v%d %v: %v %d %v", v, typ, p, n, err)
			}
		}
	}
}

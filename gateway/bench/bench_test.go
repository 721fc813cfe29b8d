package bench

import (
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/codec/mqtt"
)

// The per-message paths of the generator must not allocate, or the tool
// measures the garbage collector instead of the broker.

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	for i := range b.N {
		h.Record(int64(i&0xffff) * 1000)
	}
}

func BenchmarkTrackerObserve(b *testing.B) {
	var t Tracker
	t.Observe(0, 0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t.Observe(uint32(i&7), uint64(i>>3)&(1<<20-1))
	}
}

func BenchmarkSubscriberRecord(b *testing.B) {
	s := &subscriber{magic: Magic}
	pay := NewPayload(64, Header{Magic: Magic, Publisher: 1})
	pkt, err := mqtt.Encode(nil, &mqtt.Publish{QoS: 1, PacketID: 1, Topic: "bench/1", Payload: pay}, mqtt.V311)
	if err != nil {
		b.Fatal(err)
	}
	dec := mqtt.Decoder{Version: mqtt.V311}
	now := time.Now().UnixNano()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		PutSeq(pkt[len(pkt)-64:], uint64(i)&(1<<20-1), now)
		p, _, err := dec.DecodePacket(pkt)
		if err != nil {
			b.Fatal(err)
		}
		s.record(p.(*mqtt.Publish).Payload, now+1000)
	}
}

func BenchmarkPublishWrite(b *testing.B) {
	cl := newClient(&rawConn{w: io.Discard}, mqtt.V311)
	var sent atomic.Uint64
	pay := NewPayload(64, Header{Magic: Magic})
	pkt, err := mqtt.Encode(nil, &mqtt.Publish{Topic: "bench/1", Payload: pay}, mqtt.V311)
	if err != nil {
		b.Fatal(err)
	}
	cl.sent, cl.pktLen = &sent, len(pkt)
	payload := pkt[len(pkt)-64:]
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		PutSeq(payload, uint64(i), time.Now().UnixNano())
		if err := cl.writePublish(pkt); err != nil {
			b.Fatal(err)
		}
	}
	_ = cl.flush()
	if sent.Load() != uint64(b.N) {
		b.Fatalf("sent %d of %d", sent.Load(), b.N)
	}
}

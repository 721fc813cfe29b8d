package stomp

import (
	"testing"

	"github.com/go-stomp/stomp/v3/frame"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters/adaptertest"
	sc "github.com/manifold-iot/manifold/codec/stomp"
	"github.com/manifold-iot/manifold/core/broker"
)

// BenchmarkSendToSubscriber is one SEND routed through the core to a STOMP
// subscriber and written as a MESSAGE frame.
func BenchmarkSendToSubscriber(b *testing.B) {
	br := broker.New(broker.DefaultConfig(), zerolog.Nop())
	defer br.Close()
	ctx := &testContext{Context: adaptertest.Context{Broker: br}}
	ad := NewAdapter(DefaultConfig())
	sub := adaptertest.Dial(b, ad, ctx, "127.0.0.1:50000")
	pub := adaptertest.Dial(b, ad, ctx, "127.0.0.1:50001")
	hello := []byte("CONNECT\naccept-version:1.2\nhost:x\n\n\x00")
	sub.Feed(hello)
	pub.Feed(hello)
	sub.Feed([]byte("SUBSCRIBE\nid:0\ndestination:bench/#\n\n\x00"))
	sub.Output()
	pub.Output()
	send, err := sc.Encode(nil, frame.New(frame.SEND, frame.Destination, "bench/1", frame.ContentType, "text/plain"), sc.V12)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		pub.Feed(send)
		sub.Pump()
		if len(sub.Output()) == 0 {
			b.Fatal("no MESSAGE")
		}
	}
}

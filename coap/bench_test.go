package coap

import (
	"bytes"
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/udp"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core/broker"
)

// BenchmarkHandlePublishNON is the gateway's share of a NON publish: routing,
// query parsing, authentication, authorization and the core's Publish (with
// one matching subscriber), without the network.
func BenchmarkHandlePublishNON(b *testing.B) {
	bk := broker.New(broker.DefaultConfig(), zerolog.Nop())
	defer bk.Close()
	ctx := &testContext{Broker: bk, log: zerolog.Nop(), deny: map[string]bool{}}
	s, err := New(DefaultConfig(), ctx, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	sub := &mqtt{b: bk, id: "sub"}
	sub.sess = bk.Connect(broker.ConnectRequest{Client: ctx.clientInfo("sub"), Conn: discard{}, CleanStart: true}).Session
	if _, err := bk.Subscribe("sub", discard{}, "bench/#", coreSub0()); err != nil {
		b.Fatal(err)
	}
	req := newRequest(message.NonConfirmable, codes.POST, 1, []byte{1, 2, 3, 4}, "/ps/bench/t", "clientid=b1")
	req.Payload = []byte("21.5")
	buf := make([]byte, 256)
	n, _ := coder.DefaultCoder.Encode(req, buf)
	m := pool.NewMessage(context.Background())
	if _, err := m.UnmarshalWithDecoder(coder.DefaultCoder, buf[:n]); err != nil {
		b.Fatal(err)
	}
	r := &request{msg: m, peer: netip.MustParseAddrPort("127.0.0.1:5000"), listener: "udp:default"}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if resp := s.handle(r); resp.code != codes.Changed {
			b.Fatalf("code %v", resp.code)
		}
		if i%256 == 0 {
			sub.sess.Take(nil, time.Now(), 0) // keep the subscriber's queue from filling
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
}

// BenchmarkLoopbackPublishNON is NON POST /ps/… publishes from go-coap
// clients over loopback UDP into the core, each waiting for its 2.04.
func BenchmarkLoopbackPublishNON(b *testing.B) {
	bk := broker.New(broker.DefaultConfig(), zerolog.Nop())
	defer bk.Close()
	ctx := &testContext{Broker: bk, log: zerolog.Nop(), deny: map[string]bool{}}
	cfg := testConfig()
	s, err := New(cfg, ctx, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	if err := s.ListenAndServe(); err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown()
	addr := s.Addr("udp:default").String()
	var seq atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		cc, err := udp.Dial(addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer func() { _ = cc.Close() }()
		id := "clientid=lb" + string(rune('a'+seq.Add(1)%26))
		for pb.Next() {
			req, err := cc.NewPostRequest(context.Background(), "/ps/bench/t", message.TextPlain, bytes.NewReader([]byte("21.5")), queries(id)...)
			if err != nil {
				b.Error(err)
				return
			}
			req.SetType(message.NonConfirmable)
			resp, err := cc.Do(req)
			cc.ReleaseMessage(req)
			if err != nil {
				b.Error(err)
				return
			}
			if resp.Code() != codes.Changed {
				b.Errorf("code %v", resp.Code())
			}
			cc.ReleaseMessage(resp)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
}

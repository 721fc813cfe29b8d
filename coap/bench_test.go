package coap

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters/adaptertest"
	"github.com/manifold-iot/manifold/core/broker"
)

// BenchmarkHandlePublishNON is the gateway's share of a NON publish: routing,
// query parsing, authentication, authorization and the core's Publish (with
// one matching subscriber), without the network.
func BenchmarkHandlePublishNON(b *testing.B) {
	bk := broker.New(broker.DefaultConfig(), zerolog.Nop())
	defer bk.Close()
	ctx := &testContext{Context: adaptertest.Context{Broker: bk}}
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

// BenchmarkLoopbackPublishNON is NON POST /ps/… publishes over loopback UDP
// into the core: 64 peers (each within RFC 7252's message id reuse rule),
// each keeping 16 requests outstanding and sending the next when a 2.04
// arrives. msg/s counts what the core accepted.
func BenchmarkLoopbackPublishNON(b *testing.B) {
	bk := broker.New(broker.DefaultConfig(), zerolog.Nop())
	defer bk.Close()
	ctx := &testContext{Context: adaptertest.Context{Broker: bk}}
	s, err := New(testConfig(), ctx, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	if err := s.ListenAndServe(); err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown()
	raddr, _ := net.ResolveUDPAddr("udp", s.Addr("udp:default").String())
	const peers, window = 64, 16
	per := b.N/peers + 1
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for p := 0; p < peers; p++ {
		conn, err := net.DialUDP("udp", nil, raddr)
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func(p int, conn *net.UDPConn) {
			defer wg.Done()
			defer func() { _ = conn.Close() }()
			req := newRequest(message.NonConfirmable, codes.POST, 0, []byte{byte(p)}, "/ps/bench/t", "clientid=lb"+strconv.Itoa(p))
			req.Payload = []byte("21.5")
			out := make([]byte, 256)
			in := make([]byte, 256)
			sent, answered := 0, 0
			send := func() {
				req.MessageID = int32(sent + 1)
				n, _ := coder.DefaultCoder.Encode(req, out)
				_, _ = conn.Write(out[:n])
				sent++
			}
			for sent < per && sent < window {
				send()
			}
			for answered < sent {
				_ = conn.SetReadDeadline(time.Now().Add(time.Second))
				if _, err := conn.Read(in); err != nil {
					return // a lost datagram ends this peer's run
				}
				answered++
				if sent < per {
					send()
				}
			}
		}(p, conn)
	}
	wg.Wait()
	b.ReportMetric(float64(bk.Stats().Published)/time.Since(start).Seconds(), "msg/s")
}

package mqtt

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters/adaptertest"
	mq "github.com/manifold-iot/manifold/codec/mqtt"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
)

// BenchmarkDeliver: the subscriber side of the hot path (QoS 0, 64-byte
// payloads): take a batch of 64 from the session and encode each PUBLISH
// into the call's buffer. ns/op is per message.
func BenchmarkDeliver(b *testing.B) {
	for _, v := range []struct {
		name string
		v    byte
		qos  byte
	}{{"v311", mq.V311, 0}, {"v5", mq.V5, 0}} {
		b.Run(v.name, func(b *testing.B) {
			cfg := broker.DefaultConfig()
			cfg.Session.MaxQueueLen = 0
			br := broker.New(cfg, zerolog.Nop())
			b.Cleanup(br.Close)
			ctx := &testContext{Context: adaptertest.Context{Broker: br}, anonymous: true}
			d := adaptertest.Dial(b, NewAdapter(DefaultConfig()), ctx, "127.0.0.1:40000")
			connect, _ := mq.Encode(nil, &mq.Connect{ProtocolName: "MQTT", ProtocolLevel: v.v, ClientID: "s", CleanStart: true}, v.v)
			d.Feed(connect)
			sub, _ := mq.Encode(nil, &mq.Subscribe{PacketID: 1, Subscriptions: []mq.Subscription{{Filter: "t/#", QoS: v.qos}}}, v.v)
			d.Feed(sub)
			d.Output()
			ch := d.Ch.(*channel)
			payload := make([]byte, 64)
			const batch = 64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				b.StopTimer()
				for range batch {
					br.Publish(&core.Message{Topic: "t/x", QoS: core.QoS(v.qos), Payload: payload})
				}
				b.StartTimer()
				ch.begin()
				r := ch.deliver()
				if len(r.Out) == 0 {
					b.Fatal("nothing delivered")
				}
			}
		})
	}
}

// BenchmarkConnectIdle: accept a connection and its CONNECT (v3.1.1, clean,
// keepalive 60 s) and keep it open. allocs/op and B/op are the cost of a
// connect; live-B/conn is what stays on the heap for each idle connection
// (channel, session, broker client and the test driver's own state; the
// edge's and gnet's per-connection state are not in it).
func BenchmarkConnectIdle(b *testing.B) {
	cfg := broker.DefaultConfig()
	br := broker.New(cfg, zerolog.Nop())
	b.Cleanup(br.Close)
	ctx := &testContext{Context: adaptertest.Context{Broker: br}, anonymous: true}
	a := NewAdapter(DefaultConfig())
	packets := make([][]byte, b.N)
	for i := range packets {
		packets[i], _ = mq.Encode(nil, &mq.Connect{ProtocolName: "MQTT", ProtocolLevel: mq.V311,
			ClientID: fmt.Sprintf("dev-%07d", i), CleanStart: true, KeepAlive: 60}, mq.V311)
	}
	keep := make([]*adaptertest.Driver, 0, b.N)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		d := adaptertest.Dial(b, a, ctx, "127.0.0.1:40000")
		d.Feed(packets[i])
		keep = append(keep, d)
	}
	b.StopTimer()
	packets = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(b.N), "live-B/conn")
	runtime.KeepAlive(keep)
}

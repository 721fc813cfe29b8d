package mqtt

import (
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
			ctx := &testContext{Broker: br, log: zerolog.Nop(), deny: map[string]bool{}, anonymous: true}
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

package sn

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters/adaptertest"
	snc "github.com/manifold-iot/manifold/codec/sn"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/session"
)

// BenchmarkPublishQoS0 is the MQTT-SN inbound hot path: HandleIn of a QoS 0
// PUBLISH (registered topic id, 64-byte payload) routed by a real broker to
// one subscriber, whose queue is drained every 256 messages. ns/op is per
// message; msg/s is the rate into the core on one goroutine.
func BenchmarkPublishQoS0(b *testing.B) {
	bcfg := broker.DefaultConfig()
	bcfg.Session.MaxQueueLen = 0
	br := broker.New(bcfg, zerolog.Nop())
	b.Cleanup(br.Close)
	ctx := &testContext{Context: adaptertest.Context{Broker: br}}
	sub := &recorder{}
	br.Connect(broker.ConnectRequest{Client: &core.ClientInfo{ClientID: "sub"}, Conn: sub, CleanStart: true})
	if _, err := br.Subscribe("sub", sub, "bench/#", core.SubOptions{}); err != nil {
		b.Fatal(err)
	}
	sess := br.Session("sub")

	d := adaptertest.Dial(b, NewAdapter(DefaultConfig(), nil), ctx, "127.0.0.1:40000")
	feed := func(m snc.Message) {
		raw, _ := snc.Encode(nil, m)
		d.Feed(raw)
	}
	feed(&snc.Connect{ProtocolID: 1, CleanSession: true, ClientID: "pub"})
	feed(&snc.Register{MsgID: 1, TopicName: "bench/t"})
	d.Output()
	ch := d.Ch
	frame := &snc.Publish{TopicID: FirstDynamicID, Data: make([]byte, 64)}
	var ds []session.Delivery
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ch.HandleIn(frame)
		if i%256 == 255 {
			ds, _ = sess.Take(ds[:0], time.Now(), 0)
			clear(ds)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	if st := br.Stats(); st.Published < uint64(b.N) {
		b.Fatalf("published %d of %d", st.Published, b.N)
	}
}

package raw

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters/adaptertest"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
)

func benchEnv(b *testing.B) (*broker.Broker, *adaptertest.Driver) {
	br := broker.New(broker.DefaultConfig(), zerolog.Nop())
	b.Cleanup(br.Close)
	ctx := &testContext{Context: adaptertest.Context{Broker: br}, refuse: map[string]bool{}}
	a, err := NewAdapter(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	return br, adaptertest.Dial(b, a, ctx, "127.0.0.1:9000")
}

// BenchmarkUplink: one line in, decoded, authorized and published to one
// subscriber.
func BenchmarkUplink(b *testing.B) {
	br, d := benchEnv(b)
	s := &subscriber{}
	s.sess = br.Connect(broker.ConnectRequest{Client: &core.ClientInfo{ClientID: "sub"}, Conn: s, CleanStart: true}).Session
	if _, err := br.Subscribe("sub", s, "raw/#", core.SubOptions{}); err != nil {
		b.Fatal(err)
	}
	line := []byte("temperature=21.5;humidity=40\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for i := 0; b.Loop(); i++ {
		d.Feed(line)
		if i%256 == 255 {
			s.sess.Take(nil, time.Now(), 0) // keep the subscriber's queue short
		}
	}
}

// BenchmarkDownlink: a message published on the downlink topic, taken from
// the session and written as a line.
func BenchmarkDownlink(b *testing.B) {
	br, d := benchEnv(b)
	payload := []byte("set interval 60")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := br.Publish(&core.Message{Topic: "raw/127.0.0.1:9000/dn", Payload: payload}); err != nil {
			b.Fatal(err)
		}
		d.Pump()
		d.Output()
	}
}

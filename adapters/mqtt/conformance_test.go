package mqtt

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/adaptertest"
	mq "github.com/manifold-iot/manifold/codec/mqtt"
	"github.com/manifold-iot/manifold/core/broker"
)

func TestAdapterConformance(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			hello, err := mq.Encode(nil, &mq.Connect{ProtocolName: "MQTT", ProtocolLevel: v.v, ClientID: "conf", CleanStart: true, KeepAlive: 30}, v.v)
			if v.v == mq.V31 {
				hello, err = mq.Encode(nil, &mq.Connect{ProtocolName: mq.ProtocolNameV31, ProtocolLevel: v.v, ClientID: "conf", CleanStart: true, KeepAlive: 30}, v.v)
			}
			if err != nil {
				t.Fatal(err)
			}
			adaptertest.Run(t, adaptertest.Fixture{
				New: func(t *testing.T) (adapters.Adapter, adapters.Context) {
					b := broker.New(broker.DefaultConfig(), zerolog.Nop())
					t.Cleanup(b.Close)
					return NewAdapter(DefaultConfig()), &testContext{Context: adaptertest.Context{Broker: b}, anonymous: true}
				},
				Hello:   hello,
				Garbage: []byte{0x00, 0x00}, // packet type 0 is reserved [MQTT-2.1.3-1]
			})
		})
	}
}

package sn

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/adaptertest"
	snc "github.com/manifold-iot/manifold/codec/sn"
	"github.com/manifold-iot/manifold/core/broker"
)

func TestAdapterConformance(t *testing.T) {
	hello, err := snc.Encode(nil, &snc.Connect{ProtocolID: 1, CleanSession: true, Duration: 30, ClientID: "conf"})
	if err != nil {
		t.Fatal(err)
	}
	adaptertest.Run(t, adaptertest.Fixture{
		New: func(t *testing.T) (adapters.Adapter, adapters.Context) {
			b := broker.New(broker.DefaultConfig(), zerolog.Nop())
			t.Cleanup(b.Close)
			return NewAdapter(DefaultConfig(), nil), &testContext{Context: adaptertest.Context{Broker: b}}
		},
		Hello:   hello,
		Garbage: []byte{2, 0x03}, // message type 0x03 is reserved (MQTT-SN 1.2 Table 3)
	})
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		key  string
	}{
		{"defaults", func(*Config) {}, ""},
		{"predefined id 0", func(c *Config) { c.Predefined = []Predefined{{ID: 0, Topic: "a"}} }, "predefined[0].id"},
		{"predefined id 1025", func(c *Config) { c.Predefined = []Predefined{{ID: 1025, Topic: "a"}} }, "predefined[0].id"},
		{"predefined duplicate", func(c *Config) { c.Predefined = []Predefined{{ID: 1, Topic: "a"}, {ID: 1, Topic: "b"}} }, "predefined[1].id"},
		{"predefined wildcard", func(c *Config) { c.Predefined = []Predefined{{ID: 1, Topic: "a/#"}} }, "predefined[0].topic"},
		{"advertise interval", func(c *Config) { c.Broadcast = true; c.AdvertiseInterval = 0 }, "advertise_interval"},
		{"broadcast address", func(c *Config) { c.Broadcast = true; c.BroadcastAddress = "x" }, "broadcast_address"},
		{"mountpoint wildcard", func(c *Config) { c.Mountpoint = "a/+/" }, "mountpoint"},
		{"retry interval", func(c *Config) { c.RetryInterval = 0 }, "retry_interval"},
		{"max retries", func(c *Config) { c.MaxRetries = 0 }, "max_retries"},
		{"sleep buffer", func(c *Config) { c.MaxSleepBuffer = 0 }, "max_sleep_buffer"},
		{"max datagram", func(c *Config) { c.MaxDatagram = 70000 }, "max_datagram"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !contains(err.Error(), "gateway.mqttsn."+tc.key) {
				t.Fatalf("err = %v, want one naming %s", err, tc.key)
			}
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

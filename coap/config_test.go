package coap

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/manifold-iot/manifold/adapters/coapnet"
)

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Listeners.UDP["default"].Bind != "0.0.0.0:5683" || cfg.NotifyType != "qos" || cfg.Heartbeat != 30*time.Second {
		t.Fatalf("defaults %+v", cfg)
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		key  string
	}{
		{"notify_type", func(c *Config) { c.NotifyType = "sometimes" }, "gateway.coap.notify_type"},
		{"subscribe_qos", func(c *Config) { c.SubscribeQoS = "qos3" }, "gateway.coap.subscribe_qos"},
		{"publish_qos", func(c *Config) { c.PublishQoS = "" }, "gateway.coap.publish_qos"},
		{"heartbeat", func(c *Config) { c.Heartbeat = 0 }, "gateway.coap.heartbeat"},
		{"max_clients", func(c *Config) { c.MaxClients = 0 }, "gateway.coap.max_clients"},
		{"max_observations", func(c *Config) { c.MaxObservations = -1 }, "gateway.coap.max_observations"},
		{"max_body_size", func(c *Config) { c.MaxBodySize = 1 }, "gateway.coap.max_body_size"},
		{"ack_timeout", func(c *Config) { c.AckTimeout = 0 }, "gateway.coap.ack_timeout"},
		{"max_retransmit", func(c *Config) { c.MaxRetransmit = 0 }, "gateway.coap.max_retransmit"},
		{"udp bind", func(c *Config) { c.Listeners.UDP["default"] = coapnet.UDPListener{Bind: "nonsense"} },
			"gateway.coap.listeners.udp.default.bind"},
		{"dtls without credentials", func(c *Config) {
			c.Listeners.DTLS = map[string]coapnet.DTLSListener{"default": {Bind: ":5684"}}
		}, "gateway.coap.listeners.dtls.default"},
		{"dtls bad psk", func(c *Config) {
			c.Listeners.DTLS = map[string]coapnet.DTLSListener{"default": {Bind: ":5684", PSK: map[string]string{"id": "0xZZ"}}}
		}, "gateway.coap.listeners.dtls.default.psk.id"},
		{"dtls verify", func(c *Config) {
			c.Listeners.DTLS = map[string]coapnet.DTLSListener{"default": {Bind: ":5684", PSK: map[string]string{"id": "k"}, Verify: "maybe"}}
		}, "gateway.coap.listeners.dtls.default.verify"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mod(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tc.key) {
				t.Fatalf("error %v, want it to start with %q", err, tc.key)
			}
		})
	}
}

func TestConfigYAML(t *testing.T) {
	src := `
mountpoint: "coap/"
connection_required: true
heartbeat: 45s
notify_type: con
subscribe_qos: qos1
publish_qos: qos0
listeners:
  udp:
    default: { bind: "0.0.0.0:5683" }
  dtls:
    default:
      bind: "0.0.0.0:5684"
      psk: { "device-1": "0x736563726574" }
`
	cfg := DefaultConfig()
	if err := yaml.Unmarshal([]byte(src), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if !cfg.ConnectionRequired || cfg.Heartbeat != 45*time.Second || cfg.NotifyType != "con" ||
		cfg.Listeners.DTLS["default"].PSK["device-1"] != "0x736563726574" || cfg.MaxObservations != 32 {
		t.Fatalf("decoded %+v", cfg)
	}
}

package lwm2m

import (
	"strings"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/adapters/coapnet"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string // "" = valid
	}{
		{"default", func(*Config) {}, ""},
		{"xml_dir", func(c *Config) { c.XMLDir = "" }, "gateway.lwm2m.xml_dir"},
		{"lifetime_min", func(c *Config) { c.LifetimeMin = 0 }, "gateway.lwm2m.lifetime_min"},
		{"lifetime_max", func(c *Config) { c.LifetimeMax = time.Second }, "gateway.lwm2m.lifetime_max"},
		{"qmode_time_window", func(c *Config) { c.QModeTimeWindow = 0 }, "gateway.lwm2m.qmode_time_window"},
		{"update_condition", func(c *Config) { c.UpdateMsgPublishCondition = "never" }, "gateway.lwm2m.update_msg_publish_condition"},
		{"max_clients", func(c *Config) { c.MaxClients = 0 }, "gateway.lwm2m.max_clients"},
		{"max_queued_commands", func(c *Config) { c.MaxQueuedCommands = 0 }, "gateway.lwm2m.max_queued_commands"},
		{"request_timeout", func(c *Config) { c.RequestTimeout = 0 }, "gateway.lwm2m.request_timeout"},
		{"max_retransmit", func(c *Config) { c.MaxRetransmit = 0 }, "gateway.lwm2m.max_retransmit"},
		{"translator_topic", func(c *Config) { c.Translators.Notify.Topic = "" }, "gateway.lwm2m.translators.notify.topic"},
		{"translator_wildcard", func(c *Config) { c.Translators.Response.Topic = "up/#" }, "gateway.lwm2m.translators.response.topic"},
		{"translator_qos", func(c *Config) { c.Translators.Command.QoS = 3 }, "gateway.lwm2m.translators.command.qos"},
		{"listener", func(c *Config) {
			c.Listeners.DTLS = map[string]coapnet.DTLSListener{"default": {Bind: ":5784"}}
		}, "gateway.lwm2m.listeners.dtls.default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestMountpoint(t *testing.T) {
	c := DefaultConfig()
	if got := c.mountpoint("dev1"); got != "lwm2m/dev1/" {
		t.Fatalf("got %q", got)
	}
	c.Mountpoint = "t/${clientid}/"
	if got := c.mountpoint("dev1"); got != "t/dev1/" {
		t.Fatalf("got %q", got)
	}
}

func TestParseParams(t *testing.T) {
	s := &Server{cfg: DefaultConfig()}
	for _, tc := range []struct {
		name     string
		q        query
		register bool
		want     regParams
		diag     string
	}{
		{"defaults", query{}, true, regParams{lifetime: defaultLifetime, version: "1.0", binding: "U"}, ""},
		{"lwm2m_1", query{"lwm2m": "1", "lt": "60"}, true, regParams{lifetime: time.Minute, hasLT: true, version: "1.0", binding: "U"}, ""},
		{"uq", query{"lwm2m": "1.1", "b": "UQ"}, true, regParams{lifetime: defaultLifetime, version: "1.1", binding: "UQ", hasB: true, queue: true}, ""},
		{"q_param", query{"lwm2m": "1.1", "b": "U", "Q": ""}, true, regParams{lifetime: defaultLifetime, version: "1.1", binding: "U", hasB: true, queue: true}, ""},
		{"update_without_lt", query{}, false, regParams{lifetime: defaultLifetime, version: "1.0", binding: "U"}, ""},
		{"lt_min", query{"lt": "15"}, true, regParams{lifetime: 15 * time.Second, hasLT: true, version: "1.0", binding: "U"}, ""},
		{"lt_below", query{"lt": "14"}, true, regParams{}, "lifetime out of range"},
		{"lt_negative", query{"lt": "-1"}, true, regParams{}, "bad lt"},
		{"version", query{"lwm2m": "1.2"}, true, regParams{}, "unsupported lwm2m version"},
		{"binding", query{"b": "US"}, true, regParams{}, "unsupported binding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, diag := s.parseParams(tc.q, tc.register)
			if diag != tc.diag {
				t.Fatalf("diag %q, want %q", diag, tc.diag)
			}
			if diag == "" && got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

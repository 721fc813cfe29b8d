package config

import (
	"errors"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		subs   []string // empty: valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"bad trusted proxy", func(c *Config) { c.Listeners.WS["default"].WebSocket.TrustedProxies = []string{"10.0.0.1"} },
			[]string{`listeners.ws.default.websocket.trusted_proxies: expected CIDR networks like 10.0.0.0/8, got "10.0.0.1"`}},
		{"qos 3", func(c *Config) { c.MQTT.MaxQoSAllowed = 3 },
			[]string{"mqtt.max_qos_allowed: expected an integer 0..2, got 3"}},
		{"keepalive multiplier below 1", func(c *Config) { c.MQTT.KeepaliveMultiplier = 0.5 },
			[]string{"mqtt.keepalive_multiplier: expected a number >= 1, got 0.5"}},
		{"unknown log level", func(c *Config) { c.Log.Level = "trace" },
			[]string{`log.level: expected one of debug|info|warning|error, got "trace"`}},
		{"unknown log format", func(c *Config) { c.Log.Format = "xml" },
			[]string{`log.format: expected one of auto|json|console, got "xml"`}},
		{"bad strategy", func(c *Config) { c.MQTT.SharedSubscriptionStrategy = "fastest" },
			[]string{`mqtt.shared_subscription_strategy: expected one of random|round_robin`, `got "fastest"`}},
		{"inflight zero", func(c *Config) { c.MQTT.MaxInflight = 0 },
			[]string{"mqtt.max_inflight: expected an integer 1..65535, got 0"}},
		{"percentage over 100", func(c *Config) { c.Sysmon.OS.SysmemHighWatermark = 150 },
			[]string{`sysmon.os.sysmem_high_watermark: expected a percentage from 0% to 100% such as 70%, got "150%"`}},
		{"cpu low above high", func(c *Config) { c.Sysmon.OS.CPULowWatermark = 90 },
			[]string{"sysmon.os.cpu_low_watermark: 90% is above sysmon.os.cpu_high_watermark 80%"}},
		{"connections low above high", func(c *Config) { c.Sysmon.Connections.LowWatermark = 95 },
			[]string{"sysmon.connections.low_watermark: 95% is above sysmon.connections.high_watermark 90%"}},
		{"alarm size limit zero", func(c *Config) { c.Alarm.SizeLimit = 0 },
			[]string{"alarm.size_limit: expected an integer 1..3000, got 0"}},
		{"server keepalive zero is disabled", func(c *Config) { c.MQTT.ServerKeepalive = 0 }, nil},
		{"server keepalive too large", func(c *Config) { c.MQTT.ServerKeepalive = 70000 },
			[]string{"mqtt.server_keepalive: expected an integer 1..65535 or disabled, got 70000"}},
		{"client id limit too small", func(c *Config) { c.MQTT.MaxClientIDLen = 10 },
			[]string{"mqtt.max_clientid_len: expected an integer 23..65535, got 10"}},
		{"packet size too large", func(c *Config) { c.MQTT.MaxPacketSize = 1 << 30 },
			[]string{`mqtt.max_packet_size: expected a size such as 1024, 64KB, 1MB or 1GB (1..268435455), got "1GB"`}},
		{"negative duration", func(c *Config) { c.MQTT.SessionExpiryInterval = Duration(-time.Second) },
			[]string{`mqtt.session_expiry_interval: expected a duration such as 500ms, 30s, 1m, 2h, 1d or 1h30m, got "-1s"`}},
		{"zero retry interval", func(c *Config) { c.MQTT.RetryInterval = 0 },
			[]string{`mqtt.retry_interval: expected a duration such as 500ms, 30s, 1m, 2h, 1d or 1h30m (>= 1ms), got "0s"`}},
		{"bad peer cert source", func(c *Config) { c.MQTT.PeerCertAsUsername = "serial" },
			[]string{`mqtt.peer_cert_as_username: expected one of disabled|cn|dn|crt|pem|md5, got "serial"`}},
		{"bad priority", func(c *Config) { c.MQTT.MqueuePriorities = map[string]int{"a": 0} },
			[]string{"mqtt.mqueue_priorities.a: expected an integer 1..255, got 0"}},
		{"node name without host", func(c *Config) { c.Node.Name = "manifold" },
			[]string{`node.name: expected name@host such as "manifold@127.0.0.1", got "manifold"`}},
		{"empty data dir", func(c *Config) { c.Node.DataDir = "" },
			[]string{"node.data_dir: expected a directory"}},
		{"empty bind", func(c *Config) { c.Listeners.TCP["default"].Bind = "" },
			[]string{`listeners.tcp.default.bind: expected an address such as`, `got ""`}},
		{"unnormalized but valid bind", func(c *Config) { c.Listeners.TCP["default"].Bind = "1883" }, nil},
		{"same address twice", func(c *Config) { c.Listeners.WS["default"].Bind = "127.0.0.1:1883" },
			[]string{"listeners.ws.default.bind: 127.0.0.1:1883 is already used by listeners.tcp.default (0.0.0.0:1883)"}},
		{"dashboard on an mqtt port", func(c *Config) { c.Dashboard.Listeners.HTTP.Bind = "0.0.0.0:8083" },
			[]string{"dashboard.listeners.http.bind: 0.0.0.0:8083 is already used by listeners.ws.default"}},
		{"same port on different hosts", func(c *Config) {
			c.Listeners.TCP["default"].Bind = "127.0.0.1:1883"
			c.Listeners.WS["default"].Bind = "10.0.0.1:1883"
		}, nil},
		{"port 0 twice", func(c *Config) {
			c.Listeners.TCP["default"].Bind = "127.0.0.1:0"
			c.Listeners.WS["default"].Bind = "127.0.0.1:0"
		}, nil},
		{"disabled listeners may share", func(c *Config) {
			c.Listeners.SSL["default"].Bind = "0.0.0.0:1883"
		}, nil},
		{"bad tls version", func(c *Config) { c.Listeners.SSL["default"].SSLOptions.Versions = []string{"sslv3"} },
			[]string{`listeners.ssl.default.ssl_options.versions.1: expected one of tlsv1.3|tlsv1.2|tlsv1.1|tlsv1, got "sslv3"`}},
		{"enabled tls listener without versions", func(c *Config) {
			c.Listeners.SSL["default"].Enable = true
			c.Listeners.SSL["default"].SSLOptions.Versions = nil
		}, []string{"listeners.ssl.default.ssl_options.versions: expected at least one"}},
		{"websocket path", func(c *Config) { c.Listeners.WS["default"].WebSocket.MQTTPath = "mqtt" },
			[]string{`listeners.ws.default.websocket.mqtt_path: expected a path starting with /, got "mqtt"`}},
		{"no source type", func(c *Config) { c.Authorization.Sources = append(c.Authorization.Sources, AuthzSource{Enable: true}) },
			[]string{`authorization.sources.2.type: expected one of file|`, `got ""`}},
		{"no_match", func(c *Config) { c.Authorization.NoMatch = "maybe" },
			[]string{`authorization.no_match: expected one of allow|deny, got "maybe"`}},
		{"cache size", func(c *Config) { c.Authorization.Cache.MaxSize = 0 },
			[]string{"authorization.cache.max_size: expected a positive integer, got 0"}},
		{"empty dashboard password", func(c *Config) { c.Dashboard.DefaultPassword = "" },
			[]string{"dashboard.default_password: expected a password"}},
		{"several problems at once", func(c *Config) {
			c.MQTT.MaxQoSAllowed = 3
			c.Log.Level = "x"
		}, []string{"mqtt.max_qos_allowed", "log.level"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.modify(c)
			err := c.Validate()
			if len(tc.subs) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			wantErr(t, err, ErrInvalid, tc.subs...)
			var e *Error
			if !errors.As(err, &e) || e.Key == "" || e.Source != "" {
				t.Errorf("want an *Error with a key and no source, got %#v", e)
			}
		})
	}
}

func TestLoadLocatesValidationErrors(t *testing.T) {
	tests := []struct {
		name, content string
		subs          []string
	}{
		{"the key itself", "listeners:\n  ws:\n    default:\n      bind: 1883\n",
			[]string{":4: listeners.ws.default.bind: 0.0.0.0:1883 is already used by listeners.tcp.default"}},
		{"the nearest key set", "listeners:\n  tcp:\n    other:\n      enable: true\n",
			[]string{":3: listeners.tcp.other.bind: expected an address such as"}},
		{"a list element", "authorization:\n  sources:\n    - type: file\n      path: a\n    - type: file\n      path: b\n",
			[]string{":5: authorization.sources.2.type: a source of type file is already"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.content)
			_, _, err := Load(path, nil)
			wantErr(t, err, ErrInvalid, append(tc.subs, path)...)
		})
	}
}

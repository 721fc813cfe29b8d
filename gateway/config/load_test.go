package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadNoFileIsDefault(t *testing.T) {
	cfg, warns := mustLoad(t, "", nil)
	if len(warns) != 0 {
		t.Errorf("unexpected warnings %v", warns)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("Load(\"\", nil) = %+v, want Default()", cfg)
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
}

func TestLoadEmptyFiles(t *testing.T) {
	tests := []struct{ name, content string }{
		{"empty", ""},
		{"comments only", "# nothing here\n"},
		{"null document", "~\n"},
		{"empty sections", "node:\nmqtt:\nlisteners:\n  tcp:\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.content)
			cfg, _ := mustLoad(t, path, nil)
			if want := resolvedDefault(filepath.Dir(path)); !reflect.DeepEqual(cfg, want) {
				t.Errorf("got %+v, want the defaults", cfg)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, _, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	wantErr(t, err, os.ErrNotExist, "nope.yaml")
}

func TestLoadUnknownKey(t *testing.T) {
	tests := []struct {
		name, content string
		subs          []string
	}{
		{"typo with suggestion", "mqtt:\n  max_inflight: 10\n\n  max_inflght: 12\n",
			[]string{":4: mqtt.max_inflght: unknown key (did you mean mqtt.max_inflight?)"}},
		{"no suggestion when far", "mqtt:\n  completely_wrong: 1\n",
			[]string{":2: mqtt.completely_wrong: unknown key"}},
		{"top level section", "mqqt:\n  max_inflight: 1\n",
			[]string{":1: mqqt: unknown key (did you mean mqtt?)"}},
		{"deep in a listener", "listeners:\n  tcp:\n    default:\n      tcp_options:\n        backlog: 5\n        nodelya: true\n",
			[]string{":6: listeners.tcp.default.tcp_options.nodelya: unknown key (did you mean listeners.tcp.default.tcp_options.nodelay?)"}},
		{"listener kind", "listeners:\n  tpc:\n    default: {}\n",
			[]string{":2: listeners.tpc: unknown key (did you mean listeners.tcp?)"}},
		{"ssl options on a tcp listener", "listeners:\n  tcp:\n    default:\n      ssl_options: {}\n",
			[]string{":4: listeners.tcp.default.ssl_options: unknown key"}},
		{"dir is not a key", "dir: /tmp\n", []string{":1: dir: unknown key"}},
		{"file source extra key", "authorization:\n  sources:\n    - type: file\n      pth: a.conf\n",
			[]string{":4: authorization.sources.1.pth: unknown key (did you mean authorization.sources.1.path?)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.content)
			_, _, err := Load(path, nil)
			wantErr(t, err, ErrUnknownKey, append(tc.subs, path)...)
		})
	}
}

func TestLoadBadValueFromFile(t *testing.T) {
	tests := []struct {
		name, content string
		subs          []string
	}{
		{"integer", "mqtt:\n  max_inflight: abc\n",
			[]string{":2: mqtt.max_inflight: expected an integer 1..65535, got \"abc\""}},
		{"integer out of range", "mqtt:\n  max_inflight: 0\n",
			[]string{":2: mqtt.max_inflight: expected an integer 1..65535, got \"0\""}},
		{"qos 3", "mqtt:\n  max_qos_allowed: 3\n",
			[]string{":2: mqtt.max_qos_allowed: expected an integer 0..2, got \"3\""}},
		{"float below minimum", "mqtt:\n  keepalive_multiplier: 0.5\n",
			[]string{"mqtt.keepalive_multiplier: expected a number >= 1, got \"0.5\""}},
		{"boolean", "mqtt:\n  retain_available: yes\n",
			[]string{":2: mqtt.retain_available: expected true or false, got \"yes\""}},
		{"duration without unit", "mqtt:\n  retry_interval: 30\n",
			[]string{":2: mqtt.retry_interval: expected a duration such as 500ms, 30s, 1m, 2h, 1d or 1h30m (>= 1ms), got \"30\""}},
		{"duration or infinity", "mqtt:\n  message_expiry_interval: forever\n",
			[]string{"mqtt.message_expiry_interval: expected a duration such as", "or infinity, got \"forever\""}},
		{"size", "mqtt:\n  max_packet_size: 1XB\n",
			[]string{":2: mqtt.max_packet_size: expected a size such as 1024, 64KB, 1MB or 1GB (1..268435455), got \"1XB\""}},
		{"size too large", "mqtt:\n  max_packet_size: 1GB\n",
			[]string{"mqtt.max_packet_size: expected a size", "got \"1GB\""}},
		{"limit or infinity", "listeners:\n  tcp:\n    default:\n      max_connections: lots\n",
			[]string{":4: listeners.tcp.default.max_connections: expected a non-negative integer or infinity, got \"lots\""}},
		{"keepalive or disabled", "mqtt:\n  server_keepalive: off\n",
			[]string{"mqtt.server_keepalive: expected an integer 1..65535 or disabled, got \"off\""}},
		{"enumeration", "mqtt:\n  shared_subscription_strategy: fastest\n",
			[]string{":2: mqtt.shared_subscription_strategy: expected one of random|round_robin|round_robin_per_group|sticky|local|hash_topic|hash_clientid, got \"fastest\""}},
		{"peer cert words", "mqtt:\n  peer_cert_as_username: serial\n",
			[]string{"mqtt.peer_cert_as_username: expected one of disabled|cn|dn|crt|pem|md5, got \"serial\""}},
		{"log level", "log:\n  level: verbose\n",
			[]string{":2: log.level: expected one of debug|info|warning|error, got \"verbose\""}},
		{"bind", "listeners:\n  tcp:\n    default:\n      bind: \"localhost\"\n",
			[]string{":4: listeners.tcp.default.bind: expected an address such as", "got \"localhost\""}},
		{"tls version in a list", "listeners:\n  ssl:\n    default:\n      ssl_options:\n        versions:\n          - tlsv1.3\n          - sslv3\n",
			[]string{":7: listeners.ssl.default.ssl_options.versions.2: expected one of tlsv1.3|tlsv1.2|tlsv1.1|tlsv1, got \"sslv3\""}},
		{"mapping where a scalar goes", "mqtt:\n  max_inflight:\n    value: 3\n",
			[]string{":2: mqtt.max_inflight: expected an integer 1..65535, got a mapping"}},
		{"list where a scalar goes", "node:\n  name: [a, b]\n",
			[]string{":2: node.name: expected a string, got a list"}},
		{"scalar where a section goes", "mqtt: 5\n",
			[]string{":1: mqtt: expected a mapping, got \"5\""}},
		{"scalar where listeners go", "listeners:\n  tcp: default\n",
			[]string{":2: listeners.tcp: expected a mapping, got \"default\""}},
		{"mapping where a list goes", "authorization:\n  sources:\n    type: file\n",
			[]string{":2: authorization.sources: expected a list, got a mapping"}},
		{"empty integer", "mqtt:\n  max_inflight:\n",
			[]string{":2: mqtt.max_inflight: expected an integer 1..65535, got an empty value"}},
		{"priority out of range", "mqtt:\n  mqueue_priorities:\n    a/b: 300\n",
			[]string{":3: mqtt.mqueue_priorities.a/b: expected an integer 1..255, got \"300\""}},
		{"listener name with a dot", "listeners:\n  tcp:\n    a.b:\n      bind: 1884\n",
			[]string{":3: listeners.tcp.a.b: invalid name"}},
		{"gateway not a mapping", "gateway:\n  stomp: yes\n",
			[]string{":2: gateway.stomp: expected a mapping, got \"yes\""}},
		{"duplicate key", "mqtt:\n  max_inflight: 1\n  max_inflight: 2\n",
			[]string{":3: mqtt.max_inflight: duplicate key (first at line 2)"}},
		{"merge key", "base: &b\n  max_inflight: 1\nmqtt:\n  <<: *b\n",
			[]string{"merge keys"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.content)
			_, _, err := Load(path, nil)
			wantErr(t, err, nil, append(tc.subs, path)...)
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnknownKey) {
				t.Errorf("error %q wraps no sentinel", err)
			}
		})
	}
}

func TestLoadReportsEveryError(t *testing.T) {
	path := writeConfig(t, "mqtt:\n  max_inflight: abc\n  max_qos_allowed: 9\n  bogus: 1\n")
	_, _, err := Load(path, nil)
	wantErr(t, err, nil, ":2: mqtt.max_inflight", ":3: mqtt.max_qos_allowed", ":4: mqtt.bogus")
	var e *Error
	if !errors.As(err, &e) || e.Key != "mqtt.max_inflight" {
		t.Errorf("errors.As found %+v, want the first error, about mqtt.max_inflight", e)
	}
}

func TestLoadSyntaxError(t *testing.T) {
	tests := []struct {
		name, content string
		line          int
	}{
		{"unclosed flow list", "node:\n  name: a@b\nmqtt:\n  max_inflight: [\n", 4},
		{"mapping in a scalar on line 1", "node: name: x\n", 1},
		{"mapping in a scalar later", "node:\n  name: x\nmqtt:\n  max_inflight: a: b\n", 4},
		{"unterminated quote", "node:\n  name: 'x\n", 2},
		{"unknown anchor", "node:\n  name: x\nmqtt: *nope\n", 3},
		{"two documents", "node: {}\n---\nmqtt: {}\n", 2},
		{"top level list", "- a\n- b\n", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.content)
			_, _, err := Load(path, nil)
			wantErr(t, err, nil, fmt.Sprintf("%s:%d: ", path, tc.line))
		})
	}
}

func TestLoadListeners(t *testing.T) {
	tests := []struct {
		name, content string
		check         func(t *testing.T, c *Config)
	}{
		{"partial override keeps the rest", "listeners:\n  tcp:\n    default:\n      bind: 127.0.0.1:11883\n",
			func(t *testing.T, c *Config) {
				d := Default()
				tcp := c.Listeners.TCP["default"]
				if tcp.Bind != "127.0.0.1:11883" {
					t.Errorf("tcp bind = %q", tcp.Bind)
				}
				tcp.Bind = d.Listeners.TCP["default"].Bind
				if !reflect.DeepEqual(tcp, d.Listeners.TCP["default"]) {
					t.Errorf("other tcp fields changed: %+v", tcp)
				}
				if !reflect.DeepEqual(c.Listeners.WS, d.Listeners.WS) || len(c.Listeners.SSL) != 1 || len(c.Listeners.WSS) != 1 {
					t.Errorf("other listeners changed: %+v", c.Listeners)
				}
			}},
		{"disable a default listener", "listeners:\n  ws:\n    default:\n      enable: false\n",
			func(t *testing.T, c *Config) {
				if c.Listeners.WS["default"].Enable {
					t.Error("ws default still enabled")
				}
				if c.Listeners.WS["default"].WebSocket.MQTTPath != "/mqtt" {
					t.Error("disabling lost the other fields")
				}
			}},
		{"a second listener takes the defaults", "listeners:\n  tcp:\n    other:\n      bind: 1884\n      tcp_options:\n        backlog: 10\n",
			func(t *testing.T, c *Config) {
				o := c.Listeners.TCP["other"]
				if o == nil {
					t.Fatal("listener other missing")
				}
				want := &TCPListener{}
				want.SetDefaults()
				want.Bind = "0.0.0.0:1884"
				want.TCPOptions.Backlog = 10
				if !reflect.DeepEqual(o, want) {
					t.Errorf("other = %+v, want %+v", o, want)
				}
				if c.Listeners.TCP["default"].Bind != "0.0.0.0:1883" {
					t.Error("default listener changed")
				}
			}},
		{"a new wss listener is enabled with default tls and websocket options", "listeners:\n  wss:\n    extra:\n      bind: 127.0.0.1:0\n      enable: false\n",
			func(t *testing.T, c *Config) {
				x := c.Listeners.WSS["extra"]
				if x.WebSocket.MQTTPath != "/mqtt" || len(x.SSLOptions.Versions) != 2 || x.TCPOptions.Backlog != 1024 {
					t.Errorf("extra = %+v", x)
				}
			}},
		{"words and zero", "listeners:\n  ws:\n    default:\n      max_connections: 0\n      websocket:\n        max_frame_size: 64KB\n",
			func(t *testing.T, c *Config) {
				ws := c.Listeners.WS["default"]
				if ws.MaxConnections != 0 || ws.WebSocket.MaxFrameSize != 64<<10 {
					t.Errorf("ws = %+v", ws)
				}
			}},
		{"comma-separated or list", "listeners:\n  ws:\n    default:\n      websocket:\n        supported_subprotocols: [mqtt, mqtt-v5]\n        check_origins: \"http://a, http://b\"\n",
			func(t *testing.T, c *Config) {
				w := c.Listeners.WS["default"].WebSocket
				if !reflect.DeepEqual(w.SupportedSubprotocols, []string{"mqtt", "mqtt-v5"}) || !reflect.DeepEqual(w.CheckOrigins, []string{"http://a", "http://b"}) {
					t.Errorf("websocket = %+v", w)
				}
			}},
		{"anchors and aliases", "listeners:\n  tcp:\n    a: &l {bind: 1884, max_connections: 10, enable: false}\n    b: *l\n",
			func(t *testing.T, c *Config) {
				if c.Listeners.TCP["b"].MaxConnections != 10 || c.Listeners.TCP["b"].Bind != "0.0.0.0:1884" {
					t.Errorf("b = %+v", c.Listeners.TCP["b"])
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _ := mustLoad(t, writeConfig(t, tc.content), nil)
			tc.check(t, cfg)
		})
	}
}

func TestLoadValues(t *testing.T) {
	cfg, _ := mustLoad(t, writeConfig(t, `
log:
  level: WARN
  format: JSON
mqtt:
  max_packet_size: 64kib
  server_keepalive: 60
  keepalive_multiplier: 2
  session_expiry_interval: 1d
  message_expiry_interval: 1h30m
  max_mqueue_len: infinity
  mqueue_priorities:
    alarms/#: 10
  max_subscriptions: 100
  peer_cert_as_clientid: CN
  response_information: 42
sys_topics:
  sys_msg_interval: disabled
`), nil)
	tests := []struct {
		name      string
		got, want any
	}{
		{"warn is warning", cfg.Log.Level, LogWarning},
		{"enumerations are lowercased", cfg.Log.Format, "json"},
		{"size", cfg.MQTT.MaxPacketSize, ByteSize(64 << 10)},
		{"keepalive seconds", cfg.MQTT.ServerKeepalive, 60},
		{"integer as float", cfg.MQTT.KeepaliveMultiplier, 2.0},
		{"days", cfg.MQTT.SessionExpiryInterval.Duration(), 24 * time.Hour},
		{"combined duration", cfg.MQTT.MessageExpiryInterval.Duration(), 90 * time.Minute},
		{"infinity is zero", cfg.MQTT.MaxMqueueLen, 0},
		{"priorities", cfg.MQTT.MqueuePriorities, map[string]int{"alarms/#": 10}},
		{"limit", cfg.MQTT.MaxSubscriptions, 100},
		{"peer cert", cfg.MQTT.PeerCertAsClientID, "cn"},
		{"number as string", cfg.MQTT.ResponseInformation, "42"},
		{"disabled is zero", cfg.SysTopics.SysMsgInterval, Duration(0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("got %#v, want %#v", tc.got, tc.want)
			}
		})
	}
}

func TestLoadResolvesPaths(t *testing.T) {
	path := writeConfig(t, `
node:
  data_dir: var/data
listeners:
  ssl:
    default:
      ssl_options:
        certfile: /etc/manifold/cert.pem
authorization:
  sources:
    - type: file
      path: rules/acl.conf
api_key:
  bootstrap_file: keys.txt
`)
	dir := filepath.Dir(path)
	cfg, _ := mustLoad(t, path, nil)
	ssl := cfg.Listeners.SSL["default"].SSLOptions
	tests := []struct{ name, got, want string }{
		{"dir is recorded", cfg.Dir, dir},
		{"data_dir stays relative", cfg.Node.DataDir, "var/data"},
		{"absolute stays", ssl.Certfile, "/etc/manifold/cert.pem"},
		{"relative certificate", ssl.Keyfile, filepath.Join(dir, "certs/key.pem")},
		{"wss certificate", cfg.Listeners.WSS["default"].SSLOptions.Cacertfile, filepath.Join(dir, "certs/cacert.pem")},
		{"acl file", cfg.Authorization.Sources[0].Path, filepath.Join(dir, "rules/acl.conf")},
		{"bootstrap file", cfg.APIKey.BootstrapFile, filepath.Join(dir, "keys.txt")},
		{"resolving again changes nothing", cfg.ResolvePath(ssl.Keyfile), ssl.Keyfile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestLoadTLSListeners(t *testing.T) {
	certDir := func(t *testing.T, files ...string) string {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, "certs", f), []byte("pem"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	tests := []struct {
		name    string
		files   []string
		content string
		subs    []string // empty: loads
	}{
		{"disabled needs no certificates", nil, "listeners:\n  ssl:\n    default:\n      bind: 8883\n", nil},
		{"enabled without certificates", nil, "listeners:\n  ssl:\n    default:\n      enable: true\n",
			[]string{":3: listeners.ssl.default.ssl_options.certfile: file", "certs/cert.pem does not exist", "listeners.ssl.default.ssl_options.keyfile"}},
		{"enabled with certificates", []string{"cert.pem", "key.pem"}, "listeners:\n  ssl:\n    default:\n      enable: true\n", nil},
		{"verify_peer needs the CA file", []string{"cert.pem", "key.pem"}, "listeners:\n  wss:\n    default:\n      enable: true\n      ssl_options:\n        verify: verify_peer\n",
			[]string{"listeners.wss.default.ssl_options.cacertfile: file"}},
		{"verify_peer with the CA file", []string{"cert.pem", "key.pem", "cacert.pem"}, "listeners:\n  wss:\n    default:\n      enable: true\n      ssl_options:\n        verify: verify_peer\n", nil},
		{"a new ssl listener is enabled", nil, "listeners:\n  ssl:\n    mine:\n      bind: 8884\n",
			[]string{"listeners.ssl.mine.ssl_options.certfile"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(certDir(t, tc.files...), "manifold.yaml")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := Load(path, nil)
			if len(tc.subs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, ErrInvalid, tc.subs...)
		})
	}
}

func TestLoadAuthorizationSources(t *testing.T) {
	tests := []struct {
		name, content string
		subs          []string
		check         func(t *testing.T, c *Config)
	}{
		{name: "replace the default list", content: "authorization:\n  sources:\n    - type: file\n      path: other.conf\n      enable: false\n",
			check: func(t *testing.T, c *Config) {
				if len(c.Authorization.Sources) != 1 || c.Authorization.Sources[0].Enable || !strings.HasSuffix(c.Authorization.Sources[0].Path, "other.conf") {
					t.Errorf("sources = %+v", c.Authorization.Sources)
				}
			}},
		{name: "other types keep their keys raw", content: "authorization:\n  sources:\n    - type: http\n      url: http://127.0.0.1:8080/authz\n      method: post\n",
			check: func(t *testing.T, c *Config) {
				s := c.Authorization.Sources[0]
				if !s.Enable || s.Extra.Key() != "authorization.sources.1" || !reflect.DeepEqual(s.Extra.Keys(), []string{"url", "method"}) {
					t.Errorf("source = %+v, extra keys %v", s, s.Extra.Keys())
				}
				var http struct {
					URL    string `yaml:"url"`
					Method string `yaml:"method" oneof:"get|post"`
				}
				if err := s.Extra.Decode(&http); err != nil || http.URL != "http://127.0.0.1:8080/authz" || http.Method != "post" {
					t.Errorf("Decode = %+v, %v", http, err)
				}
			}},
		{name: "empty list", content: "authorization:\n  sources: []\n",
			check: func(t *testing.T, c *Config) {
				if c.Authorization.Sources != nil {
					t.Errorf("sources = %+v", c.Authorization.Sources)
				}
			}},
		{name: "unknown type", content: "authorization:\n  sources:\n    - type: acl\n",
			subs: []string{":3: authorization.sources.1.type: expected one of file|built_in_database|http|redis|mysql|postgresql|mongodb|ldap, got \"acl\""}},
		{name: "missing type", content: "authorization:\n  sources:\n    - path: a.conf\n",
			subs: []string{":3: authorization.sources.1.type: expected one of file"}},
		{name: "file without path", content: "authorization:\n  sources:\n    - type: file\n",
			subs: []string{":3: authorization.sources.1.path: expected the path of an ACL file"}},
		{name: "path on another type", content: "authorization:\n  sources:\n    - type: redis\n      path: x\n",
			subs: []string{":4: authorization.sources.1.path: only a source of type file has a path"}},
		{name: "same type twice", content: "authorization:\n  sources:\n    - {type: file, path: a.conf}\n    - {type: file, path: b.conf}\n",
			subs: []string{":4: authorization.sources.2.type: a source of type file is already at authorization.sources.1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.content)
			cfg, _, err := Load(path, nil)
			if tc.check == nil {
				wantErr(t, err, ErrInvalid, append(tc.subs, path)...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg)
		})
	}
}

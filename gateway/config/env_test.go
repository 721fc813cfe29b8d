package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEnvOverrides(t *testing.T) {
	tests := []struct {
		name  string
		file  string // "" for no file
		env   []string
		check func(t *testing.T, c *Config)
	}{
		{"set a listener's bind", "", []string{"MANIFOLD_LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:11883"},
			func(t *testing.T, c *Config) {
				if got := c.Listeners.TCP["default"].Bind; got != "127.0.0.1:11883" {
					t.Errorf("bind = %q", got)
				}
			}},
		{"bare port is normalized", "", []string{"MANIFOLD_LISTENERS__TCP__DEFAULT__BIND=11883"},
			func(t *testing.T, c *Config) {
				if got := c.Listeners.TCP["default"].Bind; got != "0.0.0.0:11883" {
					t.Errorf("bind = %q", got)
				}
			}},
		{"environment wins over the file", "mqtt:\n  max_inflight: 10\n", []string{"MANIFOLD_MQTT__MAX_INFLIGHT=20"},
			func(t *testing.T, c *Config) {
				if c.MQTT.MaxInflight != 20 {
					t.Errorf("max_inflight = %d", c.MQTT.MaxInflight)
				}
			}},
		{"names are case-insensitive", "", []string{"MANIFOLD_mqtt__Max_Inflight=7", "MANIFOLD_Log__LEVEL=debug"},
			func(t *testing.T, c *Config) {
				if c.MQTT.MaxInflight != 7 || c.Log.Level != LogDebug {
					t.Errorf("max_inflight = %d, log.level = %q", c.MQTT.MaxInflight, c.Log.Level)
				}
			}},
		{"matches keys of the file case-insensitively", "listeners:\n  tcp:\n    Internal:\n      bind: 1884\n", []string{"MANIFOLD_LISTENERS__TCP__INTERNAL__BIND=1885"},
			func(t *testing.T, c *Config) {
				if len(c.Listeners.TCP) != 2 || c.Listeners.TCP["Internal"].Bind != "0.0.0.0:1885" {
					t.Errorf("tcp listeners = %v", c.Listeners.TCP)
				}
			}},
		{"sysmon keys", "", []string{"MANIFOLD_SYSMON__OS__CPU_HIGH_WATERMARK=95%", "MANIFOLD_SYSMON__DISK__DISK_CHECK_INTERVAL=disabled",
			"MANIFOLD_ALARM__SIZE_LIMIT=10"},
			func(t *testing.T, c *Config) {
				if c.Sysmon.OS.CPUHighWatermark != 95 || c.Sysmon.Disk.DiskCheckInterval != 0 || c.Alarm.SizeLimit != 10 {
					t.Errorf("sysmon = %+v, alarm = %+v", c.Sysmon, c.Alarm)
				}
			}},
		{"values read like YAML scalars", "", []string{
			"MANIFOLD_MQTT__RETAIN_AVAILABLE=false", "MANIFOLD_MQTT__RETRY_INTERVAL=1m",
			"MANIFOLD_MQTT__MAX_PACKET_SIZE=2MB", "MANIFOLD_MQTT__KEEPALIVE_MULTIPLIER=2.5",
			"MANIFOLD_MQTT__MAX_SUBSCRIPTIONS=infinity", "MANIFOLD_MQTT__SERVER_KEEPALIVE=disabled",
			"MANIFOLD_MQTT__RESPONSE_INFORMATION=\"quoted # text\"", "MANIFOLD_NODE__NAME=  n@h  ",
		},
			func(t *testing.T, c *Config) {
				m := c.MQTT
				if m.RetainAvailable || m.RetryInterval.Duration() != time.Minute || m.MaxPacketSize != 2<<20 ||
					m.KeepaliveMultiplier != 2.5 || m.MaxSubscriptions != 0 || m.ServerKeepalive != 0 ||
					m.ResponseInformation != "quoted # text" || c.Node.Name != "n@h" {
					t.Errorf("mqtt = %+v, node.name = %q", m, c.Node.Name)
				}
			}},
		{"create a new listener", "", []string{"MANIFOLD_LISTENERS__TCP__INTERNAL__BIND=127.0.0.1:11884"},
			func(t *testing.T, c *Config) {
				want := &TCPListener{}
				want.SetDefaults()
				want.Bind = "127.0.0.1:11884"
				if got := c.Listeners.TCP["internal"]; !reflect.DeepEqual(got, want) {
					t.Errorf("internal = %+v, want %+v", got, want)
				}
				if c.Listeners.TCP["default"] == nil {
					t.Error("default listener lost")
				}
			}},
		{"list element by index over the default list", "", []string{"MANIFOLD_AUTHORIZATION__SOURCES__1__PATH=/etc/acl.conf"},
			func(t *testing.T, c *Config) {
				want := []AuthzSource{{Type: "file", Enable: true, Path: "/etc/acl.conf"}}
				if !reflect.DeepEqual(c.Authorization.Sources, want) {
					t.Errorf("sources = %+v", c.Authorization.Sources)
				}
			}},
		{"list element by index over the file's list", "authorization:\n  sources:\n    - type: file\n      path: a.conf\n", []string{"MANIFOLD_AUTHORIZATION__SOURCES__1__ENABLE=false"},
			func(t *testing.T, c *Config) {
				s := c.Authorization.Sources
				if len(s) != 1 || s[0].Enable || !strings.HasSuffix(s[0].Path, "a.conf") {
					t.Errorf("sources = %+v", s)
				}
			}},
		{"list element appended", "", []string{"MANIFOLD_AUTHORIZATION__SOURCES__2__TYPE=http", "MANIFOLD_AUTHORIZATION__SOURCES__2__URL=http://x"},
			func(t *testing.T, c *Config) {
				s := c.Authorization.Sources
				if len(s) != 2 || s[1].Type != "http" || !s[1].Enable || !reflect.DeepEqual(s[1].Extra.Keys(), []string{"url"}) {
					t.Errorf("sources = %+v", s)
				}
			}},
		{"whole list as a flow sequence", "", []string{"MANIFOLD_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__VERSIONS=[tlsv1.3]"},
			func(t *testing.T, c *Config) {
				if got := c.Listeners.SSL["default"].SSLOptions.Versions; !reflect.DeepEqual(got, []string{"tlsv1.3"}) {
					t.Errorf("versions = %v", got)
				}
			}},
		{"whole list comma-separated", "", []string{"MANIFOLD_LISTENERS__WSS__DEFAULT__SSL_OPTIONS__VERSIONS=tlsv1.2, TLSv1.3"},
			func(t *testing.T, c *Config) {
				if got := c.Listeners.WSS["default"].SSLOptions.Versions; !reflect.DeepEqual(got, []string{"tlsv1.2", "tlsv1.3"}) {
					t.Errorf("versions = %v", got)
				}
			}},
		{"list element of a scalar list", "", []string{"MANIFOLD_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__VERSIONS__2=tlsv1.1"},
			func(t *testing.T, c *Config) {
				if got := c.Listeners.SSL["default"].SSLOptions.Versions; !reflect.DeepEqual(got, []string{"tlsv1.3", "tlsv1.1"}) {
					t.Errorf("versions = %v", got)
				}
			}},
		{"flow mapping merges", "mqtt:\n  max_inflight: 5\n", []string{"MANIFOLD_MQTT={max_awaiting_rel: 7}"},
			func(t *testing.T, c *Config) {
				if c.MQTT.MaxInflight != 5 || c.MQTT.MaxAwaitingRel != 7 {
					t.Errorf("mqtt = %+v", c.MQTT)
				}
			}},
		{"into a null section of the file", "mqtt:\n", []string{"MANIFOLD_MQTT__MAX_INFLIGHT=9"},
			func(t *testing.T, c *Config) {
				if c.MQTT.MaxInflight != 9 {
					t.Errorf("max_inflight = %d", c.MQTT.MaxInflight)
				}
			}},
		{"alias target is not changed", "listeners:\n  tcp:\n    a: &l {bind: 1884, enable: false}\n    b: *l\n", []string{"MANIFOLD_LISTENERS__TCP__B__BIND=1885"},
			func(t *testing.T, c *Config) {
				if c.Listeners.TCP["a"].Bind != "0.0.0.0:1884" || c.Listeners.TCP["b"].Bind != "0.0.0.0:1885" {
					t.Errorf("a = %+v, b = %+v", c.Listeners.TCP["a"], c.Listeners.TCP["b"])
				}
			}},
		{"gateway sections stay raw", "", []string{"MANIFOLD_GATEWAY__EXPROTO__LISTENERS__TCP__DEFAULT__BIND=61613"},
			func(t *testing.T, c *Config) {
				s, ok := c.Gateway.Other["exproto"]
				if !ok || s.Key() != "gateway.exproto" || !reflect.DeepEqual(s.Keys(), []string{"listeners"}) {
					t.Fatalf("gateway = %+v", c.Gateway)
				}
				if got := s.Origin("gateway.exproto.listeners.tcp.default.bind"); got != "MANIFOLD_GATEWAY__EXPROTO__LISTENERS__TCP__DEFAULT__BIND" {
					t.Errorf("Origin = %q", got)
				}
			}},
		{"other variables are ignored", "", []string{"MANIFOLD=1", "MANIFOLDX_MQTT__MAX_INFLIGHT=abc", "manifold_mqtt__max_inflight=abc", "PATH=/bin", "MANIFOLD_NO_VALUE"},
			func(t *testing.T, c *Config) {
				if !reflect.DeepEqual(c, Default()) {
					t.Errorf("config changed: %+v", c)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeConfig(t, tc.file)
			}
			cfg, warns := mustLoad(t, path, tc.env)
			if len(warns) != 0 {
				t.Errorf("unexpected warnings: %v", warns)
			}
			tc.check(t, cfg)
		})
	}
}

func TestEnvErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		subs []string
	}{
		{"integer", "", []string{"MANIFOLD_MQTT__MAX_INFLIGHT=abc"},
			[]string{`MANIFOLD_MQTT__MAX_INFLIGHT: mqtt.max_inflight: expected an integer 1..65535, got "abc"`}},
		{"over a file value", "mqtt:\n  max_inflight: 4\n", []string{"MANIFOLD_MQTT__MAX_INFLIGHT=abc"},
			[]string{`MANIFOLD_MQTT__MAX_INFLIGHT: mqtt.max_inflight: expected an integer 1..65535, got "abc"`}},
		{"boolean", "", []string{"MANIFOLD_LISTENERS__WS__DEFAULT__ENABLE=1"},
			[]string{`MANIFOLD_LISTENERS__WS__DEFAULT__ENABLE: listeners.ws.default.enable: expected true or false, got "1"`}},
		{"bind of a new listener", "", []string{"MANIFOLD_LISTENERS__TCP__X__BIND=nowhere"},
			[]string{`MANIFOLD_LISTENERS__TCP__X__BIND: listeners.tcp.x.bind: expected an address such as`}},
		{"list element", "", []string{"MANIFOLD_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__VERSIONS=tlsv1.3,sslv3"},
			[]string{`MANIFOLD_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__VERSIONS: listeners.ssl.default.ssl_options.versions.2: expected one of`}},
		{"index out of range of the default list", "", []string{"MANIFOLD_AUTHORIZATION__SOURCES__3__PATH=x"},
			[]string{`MANIFOLD_AUTHORIZATION__SOURCES__3__PATH: authorization.sources.3: index 3 is out of range: the list has 1 elements`}},
		{"index out of range of the file's list", "authorization:\n  sources: [{type: file, path: a}]\n", []string{"MANIFOLD_AUTHORIZATION__SOURCES__5__PATH=x"},
			[]string{`MANIFOLD_AUTHORIZATION__SOURCES__5__PATH: authorization.sources.5: index 5 is out of range`}},
		{"validation error located at the variable", "", []string{"MANIFOLD_LISTENERS__WS__DEFAULT__BIND=1883"},
			[]string{`MANIFOLD_LISTENERS__WS__DEFAULT__BIND: listeners.ws.default.bind: 0.0.0.0:1883 is already used by listeners.tcp.default`}},
		{"a new listener needs a bind", "", []string{"MANIFOLD_LISTENERS__TCP__X__ENABLE=true"},
			[]string{`MANIFOLD_LISTENERS__TCP__X__ENABLE: listeners.tcp.x.bind: expected an address such as`, `got ""`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeConfig(t, tc.file)
			}
			_, _, err := Load(path, tc.env)
			wantErr(t, err, ErrInvalid, tc.subs...)
		})
	}
}

func TestEnvWarnings(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		want []string
	}{
		{"unknown key", "", []string{"MANIFOLD_MQTT__FOO=1"},
			[]string{"MANIFOLD_MQTT__FOO: unknown key mqtt.foo, ignored"}},
		{"unknown key with a suggestion", "", []string{"MANIFOLD_MQTT__MAX_INFLGHT=1"},
			[]string{"MANIFOLD_MQTT__MAX_INFLGHT: unknown key mqtt.max_inflght, ignored (did you mean mqtt.max_inflight?)"}},
		{"unknown section, two variables", "", []string{"MANIFOLD_FOO__B=1", "MANIFOLD_FOO__A=1"},
			[]string{"MANIFOLD_FOO__A: unknown key foo.a, ignored", "MANIFOLD_FOO__B: unknown key foo.b, ignored"}},
		{"unknown key under a file section", "mqtt:\n  max_inflight: 3\n", []string{"MANIFOLD_MQTT__BAR__BAZ=1"},
			[]string{"MANIFOLD_MQTT__BAR__BAZ: unknown key mqtt.bar.baz, ignored"}},
		{"under a single value", "", []string{"MANIFOLD_MQTT__MAX_INFLIGHT=5", "MANIFOLD_MQTT__MAX_INFLIGHT__X=1"},
			[]string{"MANIFOLD_MQTT__MAX_INFLIGHT__X: unknown key mqtt.max_inflight.x, ignored (mqtt.max_inflight holds a single value)"}},
		{"no key at all", "", []string{"MANIFOLD_=1"},
			[]string{"MANIFOLD_: not a key path (empty segment between double underscores), ignored"}},
		{"empty segment", "", []string{"MANIFOLD_MQTT____MAX_INFLIGHT=1"},
			[]string{"MANIFOLD_MQTT____MAX_INFLIGHT: not a key path (empty segment between double underscores), ignored"}},
		{"non-numeric index into a list of the file", "authorization:\n  sources: [{type: file, path: a}]\n", []string{"MANIFOLD_AUTHORIZATION__SOURCES__FIRST__PATH=x"},
			[]string{"MANIFOLD_AUTHORIZATION__SOURCES__FIRST__PATH: unknown key authorization.sources.first.path, ignored (authorization.sources is a list: expected an index 1..2)"}},
		{"non-numeric index into the default list", "", []string{"MANIFOLD_AUTHORIZATION__SOURCES__FIRST__PATH=x"},
			[]string{"MANIFOLD_AUTHORIZATION__SOURCES__FIRST__PATH: unknown key authorization.sources.first.path, ignored"}},
		{"extra key of a file source", "", []string{"MANIFOLD_AUTHORIZATION__SOURCES__1__PTH=x"},
			[]string{"MANIFOLD_AUTHORIZATION__SOURCES__1__PTH: unknown key authorization.sources.1.pth, ignored (did you mean authorization.sources.1.path?)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeConfig(t, tc.file)
			}
			_, warns := mustLoad(t, path, tc.env)
			got := make([]string, len(warns))
			for i, w := range warns {
				got[i] = w.String()
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("warnings:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

package config

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// stompTestConfig stands in for a gateway package's typed config.
type stompTestConfig struct {
	Frame struct {
		MaxHeaders    int      `yaml:"max_headers" range:"1.."`
		MaxBodyLength ByteSize `yaml:"max_body_length"`
	} `yaml:"frame"`
	IdleTimeout Duration `yaml:"idle_timeout" range:"1ms.."`
	Listeners   struct {
		TCP map[string]*TCPListener `yaml:"tcp"`
	} `yaml:"listeners"`
}

func defaultStomp() stompTestConfig {
	var c stompTestConfig
	c.Frame.MaxHeaders = 10
	c.Frame.MaxBodyLength = 8 << 10
	c.IdleTimeout = Duration(30 * time.Second)
	l := &TCPListener{}
	l.SetDefaults()
	l.Bind = "0.0.0.0:61613"
	c.Listeners.TCP = map[string]*TCPListener{"default": l}
	return c
}

const stompFile = `gateway:
  exproto:
    frame:
      max_headers: 20
    listeners:
      tcp:
        extra:
          bind: 61614
`

func TestSectionDecode(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   []string
		subs  []string // expected error parts; empty for success
		check func(t *testing.T, c stompTestConfig)
	}{
		{name: "values over defaults", file: stompFile,
			check: func(t *testing.T, c stompTestConfig) {
				want := defaultStomp()
				want.Frame.MaxHeaders = 20
				extra := &TCPListener{}
				extra.SetDefaults()
				extra.Bind = "0.0.0.0:61614"
				want.Listeners.TCP["extra"] = extra
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got %+v, want %+v", c, want)
				}
			}},
		{name: "environment into the section", file: stompFile, env: []string{"MANIFOLD_GATEWAY__EXPROTO__LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:61615", "MANIFOLD_GATEWAY__EXPROTO__IDLE_TIMEOUT=1m"},
			check: func(t *testing.T, c stompTestConfig) {
				if c.Listeners.TCP["default"].Bind != "127.0.0.1:61615" || c.IdleTimeout.Duration() != time.Minute || c.Frame.MaxHeaders != 20 {
					t.Errorf("got %+v", c)
				}
			}},
		{name: "unknown key", file: "gateway:\n  exproto:\n    frame:\n      max_headrs: 5\n",
			subs: []string{":4: gateway.exproto.frame.max_headrs: unknown key (did you mean gateway.exproto.frame.max_headers?)"}},
		{name: "bad value", file: "gateway:\n  exproto:\n    idle_timeout: soon\n",
			subs: []string{":3: gateway.exproto.idle_timeout: expected a duration such as 500ms, 30s, 1m, 2h, 1d or 1h30m (>= 1ms), got \"soon\""}},
		{name: "out of range", file: "gateway:\n  exproto:\n    frame: {max_headers: 0}\n",
			subs: []string{":3: gateway.exproto.frame.max_headers: expected a positive integer, got \"0\""}},
		{name: "wrong shape", file: "gateway:\n  exproto:\n    listeners: [tcp]\n",
			subs: []string{":3: gateway.exproto.listeners: expected a mapping, got a list"}},
		{name: "bad value from the environment", file: stompFile, env: []string{"MANIFOLD_GATEWAY__EXPROTO__FRAME__MAX_BODY_LENGTH=huge"},
			subs: []string{"MANIFOLD_GATEWAY__EXPROTO__FRAME__MAX_BODY_LENGTH: gateway.exproto.frame.max_body_length: expected a size such as 1024, 64KB, 1MB or 1GB, got \"huge\""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.file)
			cfg, _ := mustLoad(t, path, tc.env)
			got := defaultStomp()
			err := cfg.Gateway.Other["exproto"].Decode(&got)
			if len(tc.subs) > 0 {
				if len(tc.env) == 0 {
					tc.subs = append(tc.subs, path)
				}
				wantErr(t, err, nil, tc.subs...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, got)
		})
	}
}

func TestSectionDecodeWarnings(t *testing.T) {
	cfg, warns := mustLoad(t, "", []string{"MANIFOLD_GATEWAY__EXPROTO__FRAME__MAX_HEADRS=5"})
	if len(warns) != 0 {
		t.Errorf("Load warned about a raw section: %v", warns)
	}
	s := cfg.Gateway.Other["exproto"]
	got := defaultStomp()
	if err := s.Decode(&got); err != nil {
		t.Errorf("Decode: %v", err)
	}
	warns, err := s.DecodeWithWarnings(&got)
	if err != nil {
		t.Fatal(err)
	}
	want := []Warning{{Source: "MANIFOLD_GATEWAY__EXPROTO__FRAME__MAX_HEADRS", Key: "gateway.exproto.frame.max_headrs",
		Message: "unknown key gateway.exproto.frame.max_headrs, ignored (did you mean gateway.exproto.frame.max_headers?)"}}
	if !reflect.DeepEqual(warns, want) {
		t.Errorf("warnings = %+v, want %+v", warns, want)
	}
}

func TestSectionEdges(t *testing.T) {
	path := writeConfig(t, "gateway:\n  exproto:\n  ocpp: {}\n")
	cfg, _ := mustLoad(t, path, nil)
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"present but empty sections exist", func(t *testing.T) {
			for _, name := range []string{"exproto", "ocpp"} {
				s, ok := cfg.Gateway.Other[name]
				if !ok || !s.IsZero() || s.Key() != "gateway."+name {
					t.Errorf("gateway.%s = %+v, present %v", name, s, ok)
				}
			}
		}},
		{"decoding an empty section keeps the defaults", func(t *testing.T) {
			got := defaultStomp()
			if err := cfg.Gateway.Other["exproto"].Decode(&got); err != nil || !reflect.DeepEqual(got, defaultStomp()) {
				t.Errorf("got %+v, %v", got, err)
			}
		}},
		{"the zero section decodes to nothing", func(t *testing.T) {
			got := defaultStomp()
			if err := (Section{}).Decode(&got); err != nil || !reflect.DeepEqual(got, defaultStomp()) {
				t.Errorf("got %+v, %v", got, err)
			}
		}},
		{"decode needs a pointer", func(t *testing.T) {
			if err := cfg.Gateway.Other["ocpp"].Decode(defaultStomp()); err == nil {
				t.Error("Decode of a non-pointer succeeded")
			}
			var nilPtr *stompTestConfig
			if err := cfg.Gateway.Other["ocpp"].Decode(nilPtr); err == nil {
				t.Error("Decode of a nil pointer succeeded")
			}
		}},
		{"no gateways by default", func(t *testing.T) {
			if len(Default().Gateway.Other) != 0 {
				t.Errorf("Default().Gateway = %v", Default().Gateway.Other)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

func TestSectionOrigin(t *testing.T) {
	path := writeConfig(t, stompFile)
	cfg, _ := mustLoad(t, path, []string{"MANIFOLD_GATEWAY__EXPROTO__IDLE_TIMEOUT=1m"})
	s := cfg.Gateway.Other["exproto"]
	tests := []struct{ name, key, want string }{
		{"a key of the file", "gateway.exproto.frame.max_headers", path + ":4"},
		{"a key from the environment", "gateway.exproto.idle_timeout", "MANIFOLD_GATEWAY__EXPROTO__IDLE_TIMEOUT"},
		{"an unset key falls back to its parent", "gateway.exproto.listeners.tcp.extra.mountpoint", path + ":7"},
		{"an unset key whose parents are unset", "gateway.exproto.frame2.x", path + ":2"},
		{"a key outside the section", "mqtt.max_inflight", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.Origin(tc.key); got != tc.want {
				t.Errorf("Origin(%q) = %q, want %q", tc.key, got, tc.want)
			}
		})
	}
}

func TestSectionConcurrentDecode(t *testing.T) {
	cfg, _ := mustLoad(t, writeConfig(t, stompFile), []string{"MANIFOLD_GATEWAY__EXPROTO__FRAME__MAX_HEADRS=1"})
	s := cfg.Gateway.Other["exproto"]
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := defaultStomp()
			if _, err := s.DecodeWithWarnings(&got); err != nil || got.Frame.MaxHeaders != 20 {
				t.Errorf("got %+v, %v", got.Frame, err)
			}
		}()
	}
	wg.Wait()
}

// walkerTestConfig exercises the field kinds the strict decoder supports for
// the packages that decode Sections.
type walkerTestConfig struct {
	Optional *int              `yaml:"optional"`
	Port     uint16            `yaml:"port"`
	Raw      any               `yaml:"raw"`
	Addrs    []Address         `yaml:"addrs"`
	Limits   map[string]uint32 `yaml:"limits" range:"1..100"`
	Named    map[string]struct {
		Size ByteSize `yaml:"size"`
	} `yaml:"named"`
}

func TestSectionDecodeFieldKinds(t *testing.T) {
	tests := []struct {
		name, yaml string
		subs       []string
		check      func(t *testing.T, c walkerTestConfig)
	}{
		{name: "values", yaml: "optional: 5\nport: 8080\nraw: {a: [1, 2]}\naddrs: \"1883, [::1]:1884\"\nlimits: {a: 7}\nnamed: {x: {size: 1KB}}\n",
			check: func(t *testing.T, c walkerTestConfig) {
				if c.Optional == nil || *c.Optional != 5 || c.Port != 8080 || c.Limits["a"] != 7 || c.Named["x"].Size != 1024 {
					t.Errorf("got %+v", c)
				}
				if want := []Address{"0.0.0.0:1883", "[::1]:1884"}; !reflect.DeepEqual(c.Addrs, want) {
					t.Errorf("addrs = %v", c.Addrs)
				}
				if want := map[string]any{"a": []any{1, 2}}; !reflect.DeepEqual(c.Raw, want) {
					t.Errorf("raw = %#v", c.Raw)
				}
			}},
		{name: "nulls", yaml: "optional: ~\nraw: ~\naddrs: ~\n",
			check: func(t *testing.T, c walkerTestConfig) {
				if c.Optional != nil || c.Raw != nil || c.Addrs != nil {
					t.Errorf("got %+v", c)
				}
			}},
		{name: "unsigned overflow", yaml: "port: 70000\n", subs: []string{"gateway.t.port: expected an integer 0..65535, got \"70000\""}},
		{name: "unsigned negative", yaml: "port: -1\n", subs: []string{"gateway.t.port: expected an integer 0..65535, got \"-1\""}},
		{name: "map value range", yaml: "limits: {a: 101}\n", subs: []string{"gateway.t.limits.a: expected an integer 1..100, got \"101\""}},
		{name: "address in a list", yaml: "addrs: [1883, nowhere]\n", subs: []string{"gateway.t.addrs.2: expected an address such as"}},
		{name: "struct map value", yaml: "named: {x: {size: big}}\n", subs: []string{"gateway.t.named.x.size: expected a size"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			content := "gateway:\n  t:\n"
			for _, line := range strings.Split(strings.TrimSuffix(tc.yaml, "\n"), "\n") {
				content += "    " + line + "\n"
			}
			cfg, _ := mustLoad(t, writeConfig(t, content), nil)
			var got walkerTestConfig
			got.Raw = "default"
			err := cfg.Gateway.Other["t"].Decode(&got)
			if len(tc.subs) > 0 {
				wantErr(t, err, ErrInvalid, tc.subs...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, got)
		})
	}
}

func TestSectionsMarshal(t *testing.T) {
	content := `authorization:
  sources:
    - type: http
      url: http://127.0.0.1/authz
gateway:
  exproto:
    frame: {max_headers: 20}
`
	first, _ := mustLoad(t, writeConfig(t, content), nil)
	out1, err := yaml.Marshal(first)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := mustLoad(t, writeConfig(t, string(out1)), nil)
	out2, err := yaml.Marshal(second)
	if err != nil {
		t.Fatal(err)
	}
	if string(out1) != string(out2) {
		t.Errorf("marshal, load, marshal is not stable:\n%s\n---\n%s", out1, out2)
	}
	for _, want := range []string{"url: http://127.0.0.1/authz", "max_headers: 20"} {
		t.Run(want, func(t *testing.T) {
			if !strings.Contains(string(out1), want) {
				t.Errorf("marshalled config lacks %q:\n%s", want, out1)
			}
		})
	}
}

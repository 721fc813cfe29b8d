package config

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// shippedConfig is the documented configuration file, from this package's directory.
const shippedConfig = "../../configs/manifold.yaml"

func TestShippedConfigLoadsToDefault(t *testing.T) {
	cfg, warns := mustLoad(t, shippedConfig, nil)
	if len(warns) > 0 {
		t.Errorf("unexpected warnings: %v", warns)
	}
	dir, err := filepath.Abs(filepath.Dir(shippedConfig))
	if err != nil {
		t.Fatal(err)
	}
	if want := resolvedDefault(dir); !reflect.DeepEqual(cfg, want) {
		t.Errorf("configs/manifold.yaml does not load to Default():\n got %+v\nwant %+v", cfg, want)
	}
}

// leafPaths lists the key paths of every leaf of v, walking yaml tags and
// descending into map entries and list elements (numbered from 1). Empty maps
// and lists are leaves themselves, so that the key must still be documented.
func leafPaths(path string, v reflect.Value, out *[]string) {
	t := v.Type()
	switch {
	case t == sectionType || isScalarType(t):
		*out = append(*out, path)
	case t.Kind() == reflect.Pointer:
		leafPaths(path, v.Elem(), out)
	case t.Kind() == reflect.Struct:
		si := structInfoOf(t)
		for _, name := range si.names {
			leafPaths(join(path, name), v.FieldByIndex(si.fields[name].index), out)
		}
	case t.Kind() == reflect.Map:
		if v.Len() == 0 || isScalarType(t.Elem()) {
			*out = append(*out, path)
			return
		}
		for _, k := range v.MapKeys() {
			leafPaths(join(path, k.String()), v.MapIndex(k), out)
		}
	case t.Kind() == reflect.Slice:
		if v.Len() == 0 || isScalarType(t.Elem()) {
			*out = append(*out, path)
			return
		}
		for i := 0; i < v.Len(); i++ {
			leafPaths(join(path, strconv.Itoa(i+1)), v.Index(i), out)
		}
	}
}

// yamlKeys lists every key path of a YAML tree, with leaves marked true if
// the key (or, for the first key of a list item, the item) has a comment above it.
func yamlKeys(path string, n *yaml.Node, commented bool, out map[string]bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		yamlKeys(path, n.Content[0], false, out)
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			c := k.HeadComment != "" || i == 0 && commented
			out[join(path, k.Value)] = c
			yamlKeys(join(path, k.Value), v, c, out)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			yamlKeys(join(path, strconv.Itoa(i+1)), item, item.HeadComment != "", out)
		}
	}
}

func TestShippedConfigDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(shippedConfig)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	yamlKeys("", &doc, false, documented)

	var leaves []string
	leafPaths("", reflect.ValueOf(Default()).Elem(), &leaves)
	sort.Strings(leaves)
	if len(leaves) < 100 {
		t.Fatalf("only %d leaf keys found; the walk is broken", len(leaves))
	}
	for _, key := range leaves {
		t.Run(key, func(t *testing.T) {
			commented, ok := documented[key]
			switch {
			case !ok:
				t.Errorf("%s is missing from configs/manifold.yaml", key)
			case !commented:
				t.Errorf("%s has no comment above it in configs/manifold.yaml", key)
			}
		})
	}
}

func TestShippedConfigHeader(t *testing.T) {
	data, err := os.ReadFile(shippedConfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MANIFOLD_", "double underscore", "directory of this file", "data_dir", "Durations", "Sizes", "infinity", "disabled"} {
		t.Run(want, func(t *testing.T) {
			if !strings.Contains(string(data), want) {
				t.Errorf("configs/manifold.yaml does not mention %q", want)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
	}{
		{"defaults", func(*Config) {}},
		{"changed values", func(c *Config) {
			c.MQTT.MaxInflight = 64
			c.MQTT.ServerKeepalive = 30
			c.MQTT.MqueuePriorities = map[string]int{"a/b": 5}
			c.MQTT.PeerCertAsUsername = "cn"
			c.Listeners.TCP["other"] = &TCPListener{}
			c.Listeners.TCP["other"].SetDefaults()
			c.Listeners.TCP["other"].Bind = "127.0.0.1:1884"
			c.Listeners.TCP["other"].TCPOptions.Buffer = 64 << 10
			c.Listeners.SSL["default"].SSLOptions.Ciphers = []string{"TLS_AES_128_GCM_SHA256"}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := Default()
			tc.modify(want)
			data, err := yaml.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			path := writeConfig(t, string(data))
			got := mustLoadCfg(t, path)
			want.Dir = filepath.Dir(path)
			want.resolvePaths()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("marshal and load changed the config:\n%s\n got %+v\nwant %+v", data, got, want)
			}
		})
	}
}

func mustLoadCfg(t *testing.T, path string) *Config {
	t.Helper()
	cfg, _ := mustLoad(t, path, nil)
	return cfg
}

func TestEnabledListeners(t *testing.T) {
	cfg, _ := mustLoad(t, writeConfig(t, `
listeners:
  tcp:
    b: {bind: 1885}
    a: {bind: 1884}
  ws:
    default: {enable: false}
dashboard:
  listeners:
    http: {bind: "127.0.0.1:18084"}
`), nil)
	want := []ListenerRef{
		{KindTCP, "a", "0.0.0.0:1884"},
		{KindTCP, "b", "0.0.0.0:1885"},
		{KindTCP, "default", "0.0.0.0:1883"},
		{KindDashboard, "http", "127.0.0.1:18084"},
	}
	if got := cfg.EnabledListeners(); !reflect.DeepEqual(got, want) {
		t.Errorf("EnabledListeners() = %v, want %v", got, want)
	}
	keys := []struct{ ref ListenerRef }{{want[0]}, {want[3]}}
	for _, k := range keys {
		t.Run(k.ref.Kind, func(t *testing.T) {
			wantKey := "listeners.tcp.a"
			if k.ref.Kind == KindDashboard {
				wantKey = "dashboard.listeners.http"
			}
			if got := k.ref.Key(); got != wantKey {
				t.Errorf("Key() = %q, want %q", got, wantKey)
			}
		})
	}
}

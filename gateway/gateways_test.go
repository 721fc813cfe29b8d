package gateway

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/gateway/config"
)

// TestNewRejectsBadGatewayConfig: a gateway setting the protocol packages
// refuse stops New with an error naming its key, before anything binds.
func TestNewRejectsBadGatewayConfig(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *config.Config)
		want   string
	}{
		{"mqttsn dtls without keys", func(c *config.Config) { c.Gateway.MQTTSN.Listeners.DTLS["default"].Enable = true },
			"gateway.mqttsn.listeners.dtls.default: enabled without keys"},
		{"mqttsn psk file missing", func(c *config.Config) {
			l := c.Gateway.MQTTSN.Listeners.DTLS["default"]
			l.Enable, l.PSKAuthentication.InitFile = true, "/nonexistent/psk.txt"
		}, "gateway.mqttsn.listeners.dtls.default.psk_authentication.init_file"},
		{"mqttsn psk not hex", func(c *config.Config) {
			l := c.Gateway.MQTTSN.Listeners.DTLS["default"]
			l.Enable, l.PSKAuthentication.Identities = true, map[string]string{"s1": "zz"}
		}, "gateway.mqttsn.listeners.dtls.default.psk_authentication.identities.s1"},
		{"mqttsn duplicate predefined topic", func(c *config.Config) {
			c.Gateway.MQTTSN.Predefined = []config.MQTTSNPredefined{{ID: 1, Topic: "a"}, {ID: 2, Topic: "a"}}
		}, "gateway.mqttsn.predefined"},
		{"coap dtls without keys", func(c *config.Config) { c.Gateway.CoAP.Listeners.DTLS["default"].Enable = true },
			"gateway.coap.listeners.dtls.default"},
		{"lwm2m dtls without keys", func(c *config.Config) { c.Gateway.LwM2M.Listeners.DTLS["default"].Enable = true },
			"gateway.lwm2m.listeners.dtls.default"},
		{"lwm2m xml_dir missing", func(c *config.Config) { c.Gateway.LwM2M.XMLDir = "/nonexistent/lwm2m" },
			"gateway.lwm2m.xml_dir"},
		{"lwm2m lifetime_max below lifetime_min", func(c *config.Config) {
			c.Gateway.LwM2M.LifetimeMin, c.Gateway.LwM2M.LifetimeMax = config.Duration(time.Hour), config.Duration(time.Minute)
		}, "gateway.lwm2m.lifetime_max"},
		{"raw unknown handler", func(c *config.Config) { c.Gateway.Raw.Listeners.TCP["default"].Handler = "nope" },
			"gateway.raw.listeners.tcp.default.handler"},
		{"raw bad delimiter framing", func(c *config.Config) { c.Gateway.Raw.Listeners.UDP["default"].Framing.Type = "delimiter" },
			"gateway.raw.listeners.udp.default.framing"},
		{"raw ssl without certificates", func(c *config.Config) {
			l := &config.RawSSLListener{}
			l.SetDefaults()
			l.Bind = "127.0.0.1:0"
			l.SSLOptions.Certfile = "/nonexistent/cert.pem"
			c.Gateway.Raw.Listeners.SSL["s"] = l
		}, "gateway.raw.listeners.ssl.s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			tc.modify(cfg)
			srv, err := New(cfg, zerolog.Nop())
			if err == nil {
				_ = srv.Shutdown(context.Background())
				t.Fatalf("New succeeded, want an error naming %s", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %s", err, tc.want)
			}
		})
	}
}

// TestLwM2MBadObjectFileStopsNew: gateway.lwm2m's object definitions load
// in New, before anything binds; a broken XML file stops it with an error
// naming the key and the file.
func TestLwM2MBadObjectFileStopsNew(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "3.xml")
	if err := os.WriteFile(bad, []byte("<LWM2M><Object><ObjectID>3</ObjectID>"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Gateway.LwM2M.XMLDir = dir
	srv, err := New(cfg, zerolog.Nop())
	if err == nil {
		_ = srv.Shutdown(context.Background())
		t.Fatal("New succeeded with a broken object definition")
	}
	for _, want := range []string{"gateway.lwm2m.xml_dir", bad} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// TestGatewayListenersRegistered: every enabled gateway listener of the
// default configuration runs and is known to Addr by gateway, kind and name.
func TestGatewayListenersRegistered(t *testing.T) {
	srv, _ := startServer(t, testConfig(t))
	for _, id := range []string{"stomp:tcp:default", "mqttsn:udp:default", "coap:udp:default", "lwm2m:udp:default", "raw:tcp:default", "raw:udp:default"} {
		t.Run(id, func(t *testing.T) {
			var a net.Addr
			deadline := time.Now().Add(5 * time.Second)
			for a == nil && time.Now().Before(deadline) {
				if a = srv.Addr(id); a == nil {
					time.Sleep(10 * time.Millisecond)
				}
			}
			if a == nil || strings.HasSuffix(a.String(), ":0") {
				t.Fatalf("Addr(%q) = %v", id, a)
			}
		})
	}
}

func TestFileRegistryStore(t *testing.T) {
	dir := t.TempDir()
	st, err := newFileRegistryStore(filepath.Join(dir, "reg"))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x/", 200)
	tests := []struct {
		name, id string
		file     string // the file name, "" to skip the check
	}{
		{"plain", "sensor-1", "sensor-1.json"},
		{"escaped", "a/../b c", "a%2F%2E%2E%2Fb%20c.json"},
		{"empty", "", ""},
		{"too long for a file name", long, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := st.Load(tc.id); err != nil || len(got) != 0 {
				t.Fatalf("Load of an unknown client = %v, %v", got, err)
			}
			want := map[uint16]string{1025: "sensors/1/temp", 1026: "a/b"}
			if err := st.Save(tc.id, want); err != nil {
				t.Fatal(err)
			}
			if tc.file != "" {
				if _, err := os.Stat(filepath.Join(dir, "reg", tc.file)); err != nil {
					t.Fatalf("file: %v", err)
				}
			}
			// A fresh store on the same directory (a restart) reads it back.
			again, err := newFileRegistryStore(filepath.Join(dir, "reg"))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := again.Load(tc.id); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("Load = %v, %v; want %v", got, err, want)
			}
			if err := again.Delete(tc.id); err != nil {
				t.Fatal(err)
			}
			if got, err := st.Load(tc.id); err != nil || len(got) != 0 {
				t.Fatalf("Load after Delete = %v, %v", got, err)
			}
			if err := again.Delete(tc.id); err != nil {
				t.Fatalf("second Delete: %v", err)
			}
		})
	}
	entries, err := os.ReadDir(filepath.Join(dir, "reg"))
	if err != nil || len(entries) != 0 {
		t.Fatalf("left behind %v (%v)", entries, err)
	}
}

func TestFileRegistryStoreRejectsCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	st, err := newFileRegistryStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"truncated": `{"clientid":"truncated","topics":{"1025":`,
		"badid":     `{"clientid":"badid","topics":{"x":"a"}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Load(name); err == nil {
			t.Errorf("%s: Load succeeded", name)
		}
	}
	// A file recording another client id (a hash collision) is no registry.
	if err := os.WriteFile(filepath.Join(dir, "other.json"), []byte(`{"clientid":"someone","topics":{"1025":"a"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Load("other"); err != nil || len(got) != 0 {
		t.Errorf("foreign file: %v, %v", got, err)
	}
}

// TestMQTTSNAdvertises: with gateway.mqttsn.broadcast the UDP listener
// sends ADVERTISE (gateway_id, interval in seconds) to broadcast_address
// from its own port, at start and then every advertise_interval.
func TestMQTTSNAdvertises(t *testing.T) {
	watch, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	cfg := testConfig(t)
	g := &cfg.Gateway.MQTTSN
	g.Broadcast, g.GatewayID = true, 7
	g.AdvertiseInterval = config.Duration(time.Second)
	g.BroadcastAddress = watch.LocalAddr().String()
	srv, _ := startServer(t, cfg)

	buf := make([]byte, 64)
	for i := range 2 {
		_ = watch.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := watch.ReadFrom(buf)
		if err != nil {
			t.Fatalf("ADVERTISE %d: %v", i+1, err)
		}
		// MQTT-SN 1.2 §5.4.1: Length 5, MsgType 0x00, GwId, Duration (s).
		if want := []byte{5, 0x00, 7, 0, 1}; !reflect.DeepEqual(buf[:n], want) {
			t.Fatalf("ADVERTISE %d = % x, want % x", i+1, buf[:n], want)
		}
		if a := srv.Addr("mqttsn:udp:default"); a == nil || from.String() != a.String() {
			t.Fatalf("ADVERTISE from %v, want the listener's address %v", from, a)
		}
	}
}

package bench

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/gateway"
	"github.com/manifold-iot/manifold/gateway/config"
)

// startBroker runs an in-process Manifold on loopback ports and returns the
// host and port of the listener key ("tcp:default" or "ws:default").
func startBroker(t *testing.T, key string) (string, int) {
	t.Helper()
	cfg := config.Default()
	cfg.Node.DataDir = t.TempDir()
	cfg.Listeners.TCP["default"].Bind = "127.0.0.1:0"
	cfg.Listeners.WS["default"].Bind = "127.0.0.1:0"
	cfg.Listeners.WS["default"].Enable = key == "ws:default"
	cfg.Dashboard.Listeners.HTTP.Enable = false
	cfg.Authorization.Sources = nil
	noGateways(cfg)
	return startConfigured(t, cfg, key)
}

// noGateways turns off the datagram and raw gateways, whose default ports
// parallel tests would share.
func noGateways(cfg *config.Config) {
	cfg.Gateway.MQTTSN.Enable = false
	cfg.Gateway.CoAP.Enable = false
	cfg.Gateway.LwM2M.Enable = false
	cfg.Gateway.Raw.Enable = false
}

// startConfigured runs an in-process Manifold with cfg and returns the host
// and port of the listener key.
func startConfigured(t *testing.T, cfg *config.Config, key string) (string, int) {
	t.Helper()
	srv, err := gateway.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("broker did not stop")
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if a := srv.Addr(key); a != nil {
			host, port, _ := net.SplitHostPort(a.String())
			p, _ := strconv.Atoi(port)
			return host, p
		}
		select {
		case err := <-done:
			t.Fatalf("broker stopped: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("listener %s never started", key)
	return "", 0
}

func parse(t *testing.T, args ...string) *Config {
	t.Helper()
	c, err := Parse(args, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPubSubAgainstManifold(t *testing.T) {
	cases := []struct {
		name string
		key  string
		args []string
	}{
		{"qos1 tcp 3.1.1", "tcp:default", []string{"-q", "1"}},
		{"qos2 tcp 5.0", "tcp:default", []string{"-q", "2", "-V", "5", "--inflight", "100"}},
		{"qos1 ws 5.0", "ws:default", []string{"-q", "1", "-V", "5", "--ws"}},
		{"qos1 tcp 3.1 paced", "tcp:default", []string{"-q", "1", "-V", "3", "--rate", "4000"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			host, port := startBroker(t, tc.key)
			args := append([]string{"pubsub", "-h", host, "-p", strconv.Itoa(port), "-c", "2", "-L", "2000",
				"--duration", "60s", "--drain", "30s", "--quiet", "--pid", strconv.Itoa(os.Getpid())}, tc.args...)
			res, err := Run(context.Background(), parse(t, args...), nil)
			if err != nil {
				t.Fatal(err)
			}
			checks := []struct {
				name      string
				got, want any
			}{
				{"sent", res.Sent, uint64(2000)},
				{"acked", res.Acked, uint64(2000)},
				{"rejected", res.Rejected, uint64(0)},
				{"received", res.Received, uint64(2000)},
				{"expected", res.Expected, uint64(2000)},
				{"lost", res.Lost, uint64(0)},
				{"duplicated", res.Duplicated, uint64(0)},
				{"out of order", res.OutOfOrder, uint64(0)},
				{"foreign", res.Foreign, uint64(0)},
				{"latency samples", res.Latency.Count, uint64(2000)},
				{"errors", len(res.Errors), 0},
				{"has broker figures", res.Broker != nil, true},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v (errors %v)", c.name, c.got, c.want, res.Errors)
				}
			}
			if res.Latency.P50 <= 0 || res.Latency.P99 < res.Latency.P50 || res.Latency.P999 < res.Latency.P99 {
				t.Errorf("latency percentiles %+v", res.Latency)
			}
			var out strings.Builder
			res.WriteTable(&out)
			for _, row := range []string{"sent", "received", "lost", "duplicated", "out-of-order", "latency p50", "latency p99", "latency p99.9", "broker CPU", "µs per message", "broker RSS"} {
				if !strings.Contains(out.String(), row) {
					t.Errorf("summary lacks %q:\n%s", row, out.String())
				}
			}
		})
	}
}

// kv parses the one-line summary.
func kv(t *testing.T, line string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			t.Fatalf("field %q is not key=value", f)
		}
		m[k] = v
	}
	return m
}

func TestSubAndPubSeparately(t *testing.T) {
	host, port := startBroker(t, "tcp:default")
	common := []string{"-h", host, "-p", strconv.Itoa(port), "--quiet", "--format", "kv"}
	sub := parse(t, append([]string{"sub", "-t", "sep/+", "-q", "1", "-L", "600", "--duration", "60s"}, common...)...)
	ready := make(chan struct{})
	sub.ready = func() { close(ready) }
	subDone := make(chan *Result, 1)
	go func() {
		res, err := Run(context.Background(), sub, nil)
		if err != nil {
			t.Error(err)
		}
		subDone <- res
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the subscriber never subscribed")
	}
	var out, errOut strings.Builder
	if code := Main(append([]string{"pub", "-t", "sep/%i", "-c", "3", "-q", "1", "-L", "600"}, common...), &out, &errOut); code != 0 {
		t.Fatalf("pub exit %d: %s", code, errOut.String())
	}
	if m := kv(t, out.String()); m["sent"] != "600" || m["acked"] != "600" || m["stalled_pubs"] != "0" {
		t.Errorf("pub summary %v", m)
	}
	res := <-subDone
	if res == nil {
		return
	}
	if res.Received != 600 || res.Duplicated != 0 || res.Lost != 0 || res.OutOfOrder != 0 || res.Foreign != 0 {
		t.Errorf("sub result %+v", res)
	}
}

func TestConnMode(t *testing.T) {
	host, port := startBroker(t, "tcp:default")
	res, err := Run(context.Background(), parse(t, "conn", "-h", host, "-p", strconv.Itoa(port), "-c", "50",
		"--conn-rate", "2000", "--duration", "10ms", "--ifaddr", "127.0.0.2,127.0.0.3", "--quiet"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 50 || res.Failed != 0 || res.Alive != 50 || res.ConnackRate <= 0 || res.ConnLatency.Count != 50 {
		t.Errorf("conn result %+v", res)
	}
	var out strings.Builder
	res.WriteKV(&out)
	if m := kv(t, out.String()); m["connected"] != "50" || m["alive"] != "50" {
		t.Errorf("kv %v", m)
	}
}

func TestConnRefusedIsAnError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	res, err := Run(context.Background(), parse(t, "conn", "-p", strconv.Itoa(port), "-c", "3", "--quiet"), nil)
	if err == nil || res == nil || res.Failed != 3 || !strings.Contains(res.FirstError, "refused") {
		t.Errorf("err %v res %+v", err, res)
	}
}

func TestPubSubOverTLS(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("openssl not installed (CI must install it)")
		}
		t.Skip("openssl not installed: apt-get install openssl")
	}
	dir := t.TempDir()
	if out, err := exec.Command("../../scripts/gen-certs.sh", dir).CombinedOutput(); err != nil {
		t.Fatalf("gen-certs.sh: %v\n%s", err, out)
	}
	for _, tc := range []struct{ key, flag string }{{"ssl:default", ""}, {"wss:default", "--ws"}} {
		t.Run(tc.key, func(t *testing.T) {
			cfg := config.Default()
			cfg.Node.DataDir = t.TempDir()
			cfg.Listeners.TCP["default"].Enable = false
			cfg.Listeners.WS["default"].Enable = false
			cfg.Dashboard.Listeners.HTTP.Enable = false
			cfg.Authorization.Sources = nil
			noGateways(cfg)
			certs := func(o *config.SSLOptions) {
				o.Certfile = filepath.Join(dir, "cert.pem")
				o.Keyfile = filepath.Join(dir, "key.pem")
				o.Cacertfile = filepath.Join(dir, "cacert.pem")
			}
			ssl, wss := cfg.Listeners.SSL["default"], cfg.Listeners.WSS["default"]
			ssl.Bind, wss.Bind = "127.0.0.1:0", "127.0.0.1:0"
			certs(&ssl.SSLOptions)
			certs(&wss.SSLOptions)
			cfg.Listeners.SSL["default"].Enable = tc.key == "ssl:default"
			cfg.Listeners.WSS["default"].Enable = tc.key == "wss:default"
			host, port := startConfigured(t, cfg, tc.key)
			args := []string{"pubsub", "-h", host, "-p", strconv.Itoa(port), "--tls", "--tls-verify", "--cacert",
				filepath.Join(dir, "cacert.pem"), "-c", "2", "-q", "1", "-L", "500", "--quiet"}
			if tc.flag != "" {
				args = append(args, tc.flag)
			}
			res, err := Run(context.Background(), parse(t, args...), nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent != 500 || res.Received != 500 || res.Lost != 0 || res.Duplicated != 0 || len(res.Errors) != 0 {
				t.Errorf("result %+v", res)
			}
		})
	}
}

// A subscriber that only receives still pings within the keep-alive, so the
// broker does not close it (MQTT 5.0 §3.1.2.10) during a long quiet run.
func TestQuietClientsStayConnected(t *testing.T) {
	host, port := startBroker(t, "tcp:default")
	res, err := Run(context.Background(), parse(t, "sub", "-h", host, "-p", strconv.Itoa(port), "-c", "2",
		"-k", "2", "--duration", "3500ms", "--quiet"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 0 {
		t.Errorf("clients were closed: %v", res.Errors)
	}
}

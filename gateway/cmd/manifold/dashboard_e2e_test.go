package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// dashboardScripts returns scripts/e2e/dashboard with playwright-core
// installed: a failure in CI (.ci/run runs npm ci there), a skip elsewhere.
func dashboardScripts(t *testing.T) string {
	t.Helper()
	needTool(t, "node")
	dir, err := filepath.Abs("../../../scripts/e2e/dashboard")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("playwright-core not installed in %s (.ci/run runs npm ci there)", dir)
		}
		t.Skipf("playwright-core not installed: (cd %s && npm ci)", dir)
	}
	return dir
}

// listenerAddr is the bound address of the first listener_started event
// with proto.
func (b *runningBroker) listenerAddr(t *testing.T, proto string) string {
	t.Helper()
	for _, ev := range b.logs.find("listener_started") {
		if ev["proto"] == proto {
			if a, _ := ev["addr"].(string); a != "" {
				return a
			}
		}
	}
	t.Fatalf("no %s listener_started; log:\n%s", proto, b.logs.String())
	return ""
}

// artifactsDir is $TEST_ARTIFACTS_DIR (created) or the test's temp dir.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TEST_ARTIFACTS_DIR")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestE2EDashboardInChromium drives the web dashboard in headless Chromium
// against the real binary: the forced password change, the overview's live
// numbers while a client publishes, finding and kicking that client, and
// the page's own MQTT-over-WebSocket client talking to mosquitto clients.
func TestE2EDashboardInChromium(t *testing.T) {
	dir := dashboardScripts(t)
	needTool(t, "mosquitto_sub")
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not installed (.ci/run installs it)")
		}
		t.Skip("chromium not installed: apt-get install chromium")
	}
	b := startBroker(t,
		"MANIFOLD_DASHBOARD__LISTENERS__HTTP__ENABLE=true", "MANIFOLD_DASHBOARD__LISTENERS__HTTP__BIND=127.0.0.1:0",
		"MANIFOLD_LISTENERS__WS__DEFAULT__ENABLE=true", "MANIFOLD_LISTENERS__WS__DEFAULT__BIND=127.0.0.1:0")
	dashboard := "http://" + b.listenerAddr(t, "dashboard") + "/"
	wsURL := "ws://" + b.listenerAddr(t, "ws") + "/mqtt"

	// e2e-pub subscribes to what it publishes, so both message rates move.
	var lost atomic.Bool
	pub := pahov3.NewClient(pahov3.NewClientOptions().AddBroker("tcp://" + b.addr).SetClientID("e2e-pub").
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectionLostHandler(func(pahov3.Client, error) { lost.Store(true) }))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("paho connect: %v", tok.Error())
	}
	t.Cleanup(func() { pub.Disconnect(100) })
	if tok := pub.Subscribe("e2e/load", 0, func(pahov3.Client, pahov3.Message) {}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("paho subscribe: %v", tok.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	publishing := make(chan struct{})
	go func() {
		defer close(publishing)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 6000 && !lost.Load(); i++ { // at most two minutes of traffic
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				pub.Publish("e2e/load", 0, false, "load")
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-publishing })

	// mosquitto_sub waits for what the browser publishes.
	watcher := b.startSub(t, "-i", "e2e-watch", "-t", "e2e/ws", "-q", "1", "-C", "1", "-W", "90")
	b.waitSubscribed(t, "e2e-watch")

	shot := filepath.Join(artifactsDir(t), "dashboard-overview.png")
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "dashboard.js"), dashboard, wsURL, chromium, shot, "e2e-Secret-42")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
	}()
	expect := func(prefix string) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok || !strings.HasPrefix(l, prefix) {
				t.Fatalf("dashboard.js: want %q, got %q (closed %v); stderr:\n%s", prefix, l, !ok, stderr.String())
			}
			return l
		case <-time.After(60 * time.Second):
			t.Fatalf("dashboard.js: no %q within 60 s; stderr:\n%s", prefix, stderr.String())
		}
		return ""
	}

	expect("logged-in")
	if !eventually(t, 5*time.Second, func() bool { return len(b.logs.find("api_password_changed")) == 1 }) {
		t.Fatal("the broker did not log the password change")
	}
	expect("screenshot ")
	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("overview screenshot: %s", shot)

	expect("kicked")
	if !eventually(t, 10*time.Second, lost.Load) {
		t.Fatal("e2e-pub was not disconnected by the Kick button")
	}

	expect("published")
	if got := watcher.wait(t, 30*time.Second); strings.TrimSpace(got) != "hello from the browser "+strings.Repeat("b", 200) {
		t.Fatalf("mosquitto_sub got %q from the browser", got)
	}
	if out, err := b.mosquitto(t, 10*time.Second, "mosquitto_pub", "-t", "e2e/ws", "-q", "1", "-m", "hello from mosquitto "+strings.Repeat("m", 200)); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, out)
	}
	if _, err := io.WriteString(stdin, "sent\n"); err != nil {
		t.Fatal(err)
	}

	key, secret, ok := strings.Cut(strings.TrimPrefix(expect("apikey "), "apikey "), ":")
	if !ok {
		t.Fatal("the page showed no key:secret")
	}
	var nodes []map[string]any
	if st := apiGet(t, strings.TrimSuffix(dashboard, "/"), key, secret, "/api/v5/nodes", &nodes); st != 200 || len(nodes) != 1 {
		t.Fatalf("the API key the page showed: GET /api/v5/nodes %d %v", st, nodes)
	}
	if _, err := io.WriteString(stdin, "key works\n"); err != nil {
		t.Fatal(err)
	}
	expect("ok")
}

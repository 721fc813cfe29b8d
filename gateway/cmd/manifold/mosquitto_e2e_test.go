package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// broker is a manifold process started for one test.
type runningBroker struct {
	cmd  *exec.Cmd
	logs *logLines
	addr string // the MQTT TCP listener, 127.0.0.1:port
	done chan struct{}
}

// startBroker runs bin/manifold on the shipped config with every listener on
// a free loopback port (or disabled) and returns once it accepts MQTT.
func startBroker(t *testing.T, env ...string) *runningBroker {
	t.Helper()
	cmd := exec.Command(binPath, "start", "-c", shippedConfig(t))
	cmd.Env = append(os.Environ(),
		"MANIFOLD_LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_LISTENERS__WS__DEFAULT__ENABLE=false",
		"MANIFOLD_DASHBOARD__LISTENERS__HTTP__ENABLE=false",
		"MANIFOLD_GATEWAY__STOMP__LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_GATEWAY__STOMP__LISTENERS__HTTP__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_GATEWAY__MQTTSN__LISTENERS__UDP__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_GATEWAY__COAP__LISTENERS__UDP__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_GATEWAY__LWM2M__LISTENERS__UDP__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_GATEWAY__RAW__LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_GATEWAY__RAW__LISTENERS__UDP__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_NODE__DATA_DIR="+t.TempDir(),
		"MANIFOLD_LOG__LEVEL=debug",
	)
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &runningBroker{cmd: cmd, logs: &logLines{}, done: make(chan struct{})}
	go b.logs.read(bufio.NewScanner(stderr), b.done)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-b.done
		}
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("broker log:\n%s", b.logs.String())
		}
	})
	if !eventually(t, 10*time.Second, func() bool {
		// Every listener (ws, ssl, the gateways') is up once server_started
		// is logged; tests look their addresses up right after.
		if len(b.logs.find("server_started")) == 0 {
			return false
		}
		for _, ev := range b.logs.find("listener_started") {
			if ev["proto"] == "tcp" && ev["listener"] == "default" {
				b.addr, _ = ev["addr"].(string)
				return b.addr != ""
			}
		}
		return false
	}) {
		t.Fatalf("broker did not report its tcp listener; log:\n%s", b.logs.String())
	}
	return b
}

func (b *runningBroker) hostPort() (string, string) {
	i := strings.LastIndexByte(b.addr, ':')
	return b.addr[:i], b.addr[i+1:]
}

// needTool skips outside CI when a third-party client is missing; in CI a
// missing client is a failure (.ci/run installs it).
func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed (.ci/run installs it)", name)
		}
		t.Skipf("%s not installed: apt-get install mosquitto-clients (or run .ci/run)", name)
	}
}

// mosquitto runs a mosquitto client against b and returns its output.
func (b *runningBroker) mosquitto(t *testing.T, timeout time.Duration, tool string, args ...string) (string, error) {
	t.Helper()
	host, port := b.hostPort()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, append([]string{"-h", host, "-p", port}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// lockedBuffer is an output buffer a child process writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// subscriber starts mosquitto_sub in the background; wait collects its output.
type subscriber struct {
	cmd *exec.Cmd
	out *lockedBuffer
}

func (b *runningBroker) startSub(t *testing.T, args ...string) *subscriber {
	t.Helper()
	host, port := b.hostPort()
	cmd := exec.Command("mosquitto_sub", append([]string{"-h", host, "-p", port}, args...)...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return &subscriber{cmd: cmd, out: out}
}

// waitSubscribed waits until the broker has logged n subscriptions by clientid.
func (b *runningBroker) waitSubscribed(t *testing.T, clientID string) {
	t.Helper()
	if !eventually(t, 5*time.Second, func() bool {
		for _, ev := range b.logs.find("client_subscribed") {
			if ev["clientid"] == clientID {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("%s never subscribed", clientID)
	}
}

func (s *subscriber) wait(t *testing.T, timeout time.Duration) string {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(timeout):
		_ = s.cmd.Process.Kill()
		<-done
		t.Fatalf("mosquitto_sub did not finish; output so far: %q", s.out.String())
	}
	return s.out.String()
}

func TestE2EMosquittoQoS2ToV5Subscriber(t *testing.T) {
	needTool(t, "mosquitto_sub")
	b := startBroker(t)
	sub := b.startSub(t, "-V", "mqttv5", "-i", "sub-a", "-t", "a/#", "-q", "1", "-C", "1", "-v")
	b.waitSubscribed(t, "sub-a")
	if out, err := b.mosquitto(t, 10*time.Second, "mosquitto_pub", "-t", "a/b", "-m", "hi", "-q", "2"); err != nil {
		t.Fatalf("mosquitto_pub: %v: %s", err, out)
	}
	if got := sub.wait(t, 10*time.Second); strings.TrimSpace(got) != "a/b hi" {
		t.Fatalf("subscriber got %q, want %q", got, "a/b hi")
	}
}

func TestE2EMosquittoSysUptime(t *testing.T) {
	needTool(t, "mosquitto_sub")
	b := startBroker(t)
	out, err := b.mosquitto(t, 10*time.Second, "mosquitto_sub", "-t", "$SYS/brokers/+/uptime", "-C", "1", "-v", "-W", "8")
	if err != nil || !strings.HasPrefix(out, "$SYS/brokers/") {
		t.Fatalf("mosquitto_sub $SYS uptime: %v: %q", err, out)
	}
}

func TestE2EMosquittoRetained(t *testing.T) {
	needTool(t, "mosquitto_sub")
	b := startBroker(t)
	for _, v := range []string{"mqttv311", "mqttv5"} {
		if out, err := b.mosquitto(t, 10*time.Second, "mosquitto_pub", "-V", v, "-t", "r/"+v, "-m", "kept-"+v, "-r", "-q", "1"); err != nil {
			t.Fatalf("mosquitto_pub: %v: %s", err, out)
		}
		out, err := b.mosquitto(t, 10*time.Second, "mosquitto_sub", "-V", v, "-t", "r/"+v, "-C", "1", "-W", "5")
		if err != nil || strings.TrimSpace(out) != "kept-"+v {
			t.Fatalf("%s retained: %v: %q", v, err, out)
		}
	}
}

func TestE2EMosquittoWillOnAbruptClose(t *testing.T) {
	needTool(t, "mosquitto_sub")
	b := startBroker(t)
	watcher := b.startSub(t, "-i", "watcher", "-t", "will/#", "-C", "1", "-v")
	b.waitSubscribed(t, "watcher")
	victim := b.startSub(t, "-i", "victim", "-t", "x", "--will-topic", "will/victim", "--will-payload", "gone", "--will-qos", "1")
	if !eventually(t, 5*time.Second, func() bool {
		for _, ev := range b.logs.find("client_connected") {
			if ev["clientid"] == "victim" {
				return true
			}
		}
		return false
	}) {
		t.Fatal("victim never connected")
	}
	_ = victim.cmd.Process.Kill() // no DISCONNECT: the will must be published
	if got := watcher.wait(t, 10*time.Second); strings.TrimSpace(got) != "will/victim gone" {
		t.Fatalf("watcher got %q", got)
	}
}

func TestE2EMosquittoPersistentSession(t *testing.T) {
	needTool(t, "mosquitto_sub")
	b := startBroker(t)
	for _, v := range []string{"mqttv311", "mqttv5"} {
		t.Run(v, func(t *testing.T) {
			id := "persist-" + v
			args := []string{"-V", v, "-i", id, "-c", "-q", "1", "-t", "p/" + v}
			if v == "mqttv5" {
				args = append(args, "-x", "600")
			}
			// Subscribe, then go away with the session kept.
			if out, err := b.mosquitto(t, 10*time.Second, "mosquitto_sub", append(args, "-W", "1")...); err != nil && !strings.Contains(out, "Timed out") {
				t.Logf("first mosquitto_sub: %v %q", err, out)
			}
			if out, err := b.mosquitto(t, 10*time.Second, "mosquitto_pub", "-V", v, "-t", "p/"+v, "-m", "while-away", "-q", "1"); err != nil {
				t.Fatalf("mosquitto_pub: %v: %s", err, out)
			}
			out, err := b.mosquitto(t, 10*time.Second, "mosquitto_sub", append(args, "-C", "1", "-W", "5")...)
			if err != nil || strings.TrimSpace(out) != "while-away" {
				t.Fatalf("offline message not delivered on reconnect: %v: %q", err, out)
			}
		})
	}
}

func TestE2EMosquittoACLDeny(t *testing.T) {
	needTool(t, "mosquitto_sub")
	dir := t.TempDir()
	acl := "{deny, all, subscribe, [\"test/nosubscribe\"]}.\n{deny, all, publish, [\"test/nopublish\"]}.\n{allow, all}.\n"
	if err := os.WriteFile(dir+"/acl.conf", []byte(acl), 0o644); err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, "MANIFOLD_AUTHORIZATION__SOURCES__1__PATH="+dir+"/acl.conf")
	for _, v := range []string{"mqttv311", "mqttv5"} {
		out, err := b.mosquitto(t, 10*time.Second, "mosquitto_sub", "-V", v, "-t", "test/nosubscribe", "-C", "1", "-W", "3")
		if !strings.Contains(strings.ToLower(out), "denied") {
			t.Fatalf("%s subscribe to test/nosubscribe: %v %q, want a denial", v, err, out)
		}
	}
	// A denied publish is dropped (and, on v5 QoS 1, answered with 0x87).
	watcher := b.startSub(t, "-i", "acl-watcher", "-t", "test/#", "-v")
	b.waitSubscribed(t, "acl-watcher")
	if out, err := b.mosquitto(t, 10*time.Second, "mosquitto_pub", "-V", "mqttv5", "-q", "1", "-t", "test/nopublish", "-m", "x"); err != nil {
		t.Logf("mosquitto_pub to a denied topic: %v %q", err, out)
	}
	if out, err := b.mosquitto(t, 10*time.Second, "mosquitto_pub", "-t", "test/ok", "-m", "y"); err != nil {
		t.Fatalf("mosquitto_pub: %v %q", err, out)
	}
	if !eventually(t, 5*time.Second, func() bool { return strings.Contains(watcher.out.String(), "test/ok y") }) {
		t.Fatalf("watcher got %q", watcher.out.String())
	}
	if strings.Contains(watcher.out.String(), "nopublish") {
		t.Fatalf("a denied publish was delivered: %q", watcher.out.String())
	}
	if len(b.logs.find("publish_denied")) == 0 {
		t.Fatal("the denied publish was not logged")
	}
}

func TestE2EMQTTjsOverWebSocket(t *testing.T) {
	needTool(t, "node")
	dir, err := filepath.Abs("../../../scripts/e2e/mqttjs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "mqtt")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("MQTT.js not installed in %s (.ci/run runs npm ci there)", dir)
		}
		t.Skipf("MQTT.js not installed: (cd %s && npm ci)", dir)
	}
	b := startBroker(t, "MANIFOLD_LISTENERS__WS__DEFAULT__ENABLE=true", "MANIFOLD_LISTENERS__WS__DEFAULT__BIND=127.0.0.1:0")
	var wsAddr string
	for _, ev := range b.logs.find("listener_started") {
		if ev["proto"] == "ws" {
			wsAddr, _ = ev["addr"].(string)
		}
	}
	if wsAddr == "" {
		t.Fatalf("no ws listener; log:\n%s", b.logs.String())
	}
	for _, v := range []string{"3", "4", "5"} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, "node", filepath.Join(dir, "roundtrip.js"), "ws://"+wsAddr+"/mqtt", v).CombinedOutput()
		cancel()
		if err != nil || !strings.Contains(string(out), "ok "+v) {
			t.Fatalf("MQTT.js protocol version %s over WebSocket: %v\n%s", v, err, out)
		}
	}
}

func TestE2EMosquittoMutualTLS(t *testing.T) {
	needTool(t, "mosquitto_sub")
	needTool(t, "openssl")
	certs := t.TempDir()
	if out, err := exec.Command("../../../scripts/gen-certs.sh", certs).CombinedOutput(); err != nil {
		t.Fatalf("gen-certs.sh: %v\n%s", err, out)
	}
	b := startBroker(t,
		"MANIFOLD_LISTENERS__SSL__DEFAULT__ENABLE=true",
		"MANIFOLD_LISTENERS__SSL__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__CERTFILE="+certs+"/cert.pem",
		"MANIFOLD_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__KEYFILE="+certs+"/key.pem",
		"MANIFOLD_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__CACERTFILE="+certs+"/cacert.pem",
		"MANIFOLD_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__VERIFY=verify_peer",
		"MANIFOLD_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__FAIL_IF_NO_PEER_CERT=true",
		"MANIFOLD_MQTT__PEER_CERT_AS_CLIENTID=cn",
	)
	var tlsAddr string
	for _, ev := range b.logs.find("listener_started") {
		if ev["proto"] == "ssl" {
			tlsAddr, _ = ev["addr"].(string)
		}
	}
	if tlsAddr == "" {
		t.Fatal("no ssl listener started")
	}
	port := tlsAddr[strings.LastIndexByte(tlsAddr, ':')+1:]
	tlsArgs := []string{"-h", "localhost", "-p", port, "--cafile", certs + "/cacert.pem"}
	withCert := append(tlsArgs, "--cert", certs+"/client-cert.pem", "--key", certs+"/client-key.pem")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub := exec.CommandContext(ctx, "mosquitto_sub", append(withCert, "-t", "tls/#", "-C", "1", "-v")...)
	out := &lockedBuffer{}
	sub.Stdout, sub.Stderr = out, out
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	b.waitSubscribed(t, "device-1") // the certificate's CN became the client id
	// Published over plain TCP: over mTLS the same certificate would name
	// the same client id and take the subscriber's session over.
	if o, err := b.mosquitto(t, 10*time.Second, "mosquitto_pub", "-t", "tls/x", "-m", "secret", "-q", "1"); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, o)
	}
	if err := sub.Wait(); err != nil || strings.TrimSpace(out.String()) != "tls/x secret" {
		t.Fatalf("subscriber over mTLS: %v %q", err, out.String())
	}
	// Without a client certificate the handshake is refused.
	if o, err := exec.Command("mosquitto_pub", append(tlsArgs, "-t", "tls/x", "-m", "nope")...).CombinedOutput(); err == nil {
		t.Fatalf("mosquitto_pub without a client certificate succeeded: %s", o)
	}
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stompAddr returns the address of the broker's STOMP listener of kind
// (tcp or http), from its listener_started event.
func (b *runningBroker) stompAddr(t *testing.T, kind string) string {
	t.Helper()
	var addr string
	if !eventually(t, 10*time.Second, func() bool {
		for _, ev := range b.logs.find("listener_started") {
			if ev["gateway"] == "stomp" && ev["kind"] == kind {
				addr, _ = ev["addr"].(string)
			}
		}
		return addr != ""
	}) {
		t.Fatalf("no stomp %s listener; log:\n%s", kind, b.logs.String())
	}
	return addr
}

// stompScripts returns scripts/e2e/stomp with its npm packages installed:
// a failure in CI (.ci/run runs npm ci there), a skip elsewhere.
func stompScripts(t *testing.T) string {
	t.Helper()
	needTool(t, "node")
	dir, err := filepath.Abs("../../../scripts/e2e/stomp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@stomp", "stompjs")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("STOMP npm clients not installed in %s (.ci/run runs npm ci there)", dir)
		}
		t.Skipf("STOMP npm clients not installed: (cd %s && npm ci)", dir)
	}
	return dir
}

// pythonStomp returns a python3 that has the stomp module (Debian
// python3-stomp), or fails in CI / skips elsewhere.
func pythonStomp(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if err := exec.Command(py, "-c", "import stomp.__main__").Run(); err == nil {
			return py
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("python3 -m stomp not available: apt-get install python3-stomp (.ci/run installs it)")
	}
	t.Skip("python3 -m stomp not available: apt-get install python3-stomp")
	return ""
}

func runNode(t *testing.T, timeout time.Duration, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "node", append([]string{filepath.Join(dir, args[0])}, args[1:]...)...).CombinedOutput()
	return string(out), err
}

func TestE2EStompPythonAllVersions(t *testing.T) {
	py := pythonStomp(t)
	needTool(t, "mosquitto_pub")
	b := startBroker(t)
	host, port, _ := strings.Cut(b.stompAddr(t, "tcp"), ":")
	for _, v := range []string{"1.0", "1.1", "1.2"} {
		t.Run(v, func(t *testing.T) {
			topic := "py/" + strings.ReplaceAll(v, ".", "")
			watcher := b.startSub(t, "-i", "watch"+topic[3:], "-t", topic, "-C", "1", "-v")
			b.waitSubscribed(t, "watch"+topic[3:])

			cmd := exec.Command(py, "-m", "stomp", "-H", host, "-P", port, "-S", v)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			out := &lockedBuffer{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			say := func(line string) {
				if _, err := io.WriteString(stdin, line+"\n"); err != nil {
					t.Fatal(err)
				}
			}
			// SUBSCRIBE and SEND on one connection are handled in order:
			// seeing our own message proves the subscription is live.
			say("subscribe " + topic)
			say("send " + topic + " hello from python " + v)
			if !eventually(t, 10*time.Second, func() bool { return strings.Contains(out.String(), "hello from python "+v) }) {
				t.Fatalf("python did not get its own message; output:\n%s\nbroker log:\n%s", out.String(), b.logs.String())
			}
			// STOMP → MQTT
			if got := watcher.wait(t, 10*time.Second); !strings.Contains(got, topic+" hello from python "+v) {
				t.Fatalf("mosquitto_sub got %q", got)
			}
			// MQTT → STOMP
			if o, err := b.mosquitto(t, 5*time.Second, "mosquitto_pub", "-t", topic, "-m", "from mqtt "+v); err != nil {
				t.Fatalf("mosquitto_pub: %v %s", err, o)
			}
			if !eventually(t, 10*time.Second, func() bool { return strings.Contains(out.String(), "from mqtt "+v) }) {
				t.Fatalf("python did not get the MQTT message; output:\n%s", out.String())
			}
			say("exit")
		})
	}
	if len(b.logs.find("stomp_error")) != 0 {
		t.Errorf("unexpected ERROR frames: %v", b.logs.find("stomp_error"))
	}
}

func TestE2EStompJSOverWebSocketAndSockJS(t *testing.T) {
	dir := stompScripts(t)
	b := startBroker(t)
	httpAddr := b.stompAddr(t, "http")
	for _, v := range []string{"1.0", "1.1", "1.2"} {
		t.Run(v+"/websocket", func(t *testing.T) {
			out, err := runNode(t, 30*time.Second, dir, "stompjs.js", "ws://"+httpAddr+"/stomp/websocket", v)
			if err != nil || !strings.Contains(out, "ok "+v) {
				t.Fatalf("stompjs %s over WebSocket: %v\n%s", v, err, out)
			}
		})
		for _, tr := range []string{"websocket", "xhr-streaming", "xhr-polling"} {
			t.Run(v+"/sockjs-"+tr, func(t *testing.T) {
				out, err := runNode(t, 30*time.Second, dir, "stompjs.js", "http://"+httpAddr+"/stomp", v, "sockjs", tr)
				if err != nil || !strings.Contains(out, "ok "+v) {
					t.Fatalf("stompjs %s over SockJS %s: %v\n%s", v, tr, err, out)
				}
			})
		}
	}
}

func TestE2EStompitOverTCP(t *testing.T) {
	dir := stompScripts(t)
	b := startBroker(t)
	host, port, _ := strings.Cut(b.stompAddr(t, "tcp"), ":")
	for _, v := range []string{"1.0", "1.1", "1.2"} {
		out, err := runNode(t, 20*time.Second, dir, "stompit.js", host, port, v)
		if err != nil || !strings.Contains(out, "ok stompit "+v) {
			t.Fatalf("stompit %s: %v\n%s", v, err, out)
		}
	}
}

func TestE2EStompSysEventsAndBadFrames(t *testing.T) {
	needTool(t, "mosquitto_sub")
	b := startBroker(t)
	events := b.startSub(t, "-i", "sys", "-t", "$SYS/brokers/+/gateway/stomp/clients/+/connected", "-C", "1")
	b.waitSubscribed(t, "sys")
	s := dialTCP(t, b.stompAddr(t, "tcp"))
	s.write(t, "CONNECT\naccept-version:1.2\nhost:x\nclient-id:web1\n\n\x00")
	if got := s.readUntil(t, "\x00"); !strings.HasPrefix(got, "CONNECTED\n") {
		t.Fatalf("%q", got)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(events.wait(t, 10*time.Second))), &ev); err != nil {
		t.Fatal(err)
	}
	if ev["clientid"] != "web1" || ev["proto_name"] != "STOMP" || ev["proto_ver"] != float64(12) {
		t.Errorf("connected event %v", ev)
	}
	// A bad frame: an ERROR frame with a message header, a log line, a close.
	s.write(t, "NONSENSE\n\n\x00")
	got := s.readUntil(t, "\x00")
	if !strings.HasPrefix(got, "ERROR\n") || !strings.Contains(got, "message:") {
		t.Fatalf("%q", got)
	}
	if !eventually(t, 5*time.Second, func() bool { return len(b.logs.find("parse_frame_failed")) > 0 }) {
		t.Fatal("no parse_frame_failed log line")
	}
	if len(b.logs.find("panic")) != 0 {
		t.Fatal("panic logged")
	}
}

func TestE2EStompDemoChatInChromium(t *testing.T) {
	dir := stompScripts(t)
	needTool(t, "mosquitto_pub")
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not installed (.ci/run installs it)")
		}
		t.Skip("chromium not installed: apt-get install chromium")
	}
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "chat.js"), "http://"+b.stompAddr(t, "http")+"/", chromium)
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
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("chat.js: %q %s", lines.Text(), stderr.String())
	}
	if o, err := b.mosquitto(t, 5*time.Second, "mosquitto_pub", "-t", "chat/lobby", "-m", "from-mqtt"); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, o)
	}
	if !lines.Scan() || lines.Text() != "ok chat" {
		t.Fatalf("chat.js: %q %s", lines.Text(), stderr.String())
	}
}

// rawConn is a plain TCP connection for hand-written STOMP frames.
type rawConn struct {
	c   net.Conn
	buf []byte
}

func dialTCP(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{c: c}
}

func (r *rawConn) write(t *testing.T, s string) {
	t.Helper()
	if _, err := r.c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// readUntil reads up to and including the first sep.
func (r *rawConn) readUntil(t *testing.T, sep string) string {
	t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if i := strings.Index(string(r.buf), sep); i >= 0 {
			s := string(r.buf[:i+len(sep)])
			r.buf = r.buf[i+len(sep):]
			return s
		}
		tmp := make([]byte, 4096)
		n, err := r.c.Read(tmp)
		if err != nil {
			t.Fatalf("read: %v (have %q)", err, r.buf)
		}
		r.buf = append(r.buf, tmp[:n]...)
	}
}

func TestE2EStompPythonOverTLS(t *testing.T) {
	py := pythonStomp(t)
	needTool(t, "openssl")
	certs := t.TempDir()
	if out, err := exec.Command("../../../scripts/gen-certs.sh", certs).CombinedOutput(); err != nil {
		t.Fatalf("gen-certs.sh: %v\n%s", err, out)
	}
	b := startBroker(t,
		"MANIFOLD_GATEWAY__STOMP__LISTENERS__SSL__DEFAULT__ENABLE=true",
		"MANIFOLD_GATEWAY__STOMP__LISTENERS__SSL__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_GATEWAY__STOMP__LISTENERS__SSL__DEFAULT__SSL_OPTIONS__CERTFILE="+certs+"/cert.pem",
		"MANIFOLD_GATEWAY__STOMP__LISTENERS__SSL__DEFAULT__SSL_OPTIONS__KEYFILE="+certs+"/key.pem",
		"MANIFOLD_GATEWAY__STOMP__LISTENERS__SSL__DEFAULT__SSL_OPTIONS__CACERTFILE="+certs+"/cacert.pem",
	)
	host, port, _ := strings.Cut(b.stompAddr(t, "ssl"), ":")
	// stomp.py 8.0.0's command-line client now and then opens its TLS
	// connections and closes them without sending CONNECT (seen in about one
	// run in five, with the library itself connecting every time): a run
	// that never connects is tried again, at most three times.
	var out *lockedBuffer
	for attempt := 1; attempt <= 3; attempt++ {
		cmd := exec.Command(py, "-m", "stomp", "-H", host, "-P", port, "-S", "1.2", "--ssl", "--ssl-ca-file", certs+"/cacert.pem")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		out = &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(stdin, "subscribe tls/x\nsend tls/x over tls\n")
		got := eventually(t, 10*time.Second, func() bool { return strings.Contains(out.String(), "over tls") })
		_, _ = io.WriteString(stdin, "exit\n")
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if got {
			return
		}
		if strings.Contains(out.String(), "CONNECTED") || strings.Contains(out.String(), "onconnected") {
			break // it connected and still missed the message: that is ours
		}
		t.Logf("attempt %d: python stomp CLI never connected; output:\n%s", attempt, out.String())
	}
	t.Fatalf("python over TLS did not get its message; output:\n%s\nbroker log:\n%s", out.String(), b.logs.String())
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/internal/testkit"
)

// binPath is the manifold binary built once for the end-to-end tests.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "manifold-e2e")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "manifold")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		panic("building manifold: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// shippedConfig is the repository's configs/manifold.yaml.
func shippedConfig(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../../configs/manifold.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// logLines collects a process's JSON log events as they are written.
type logLines struct {
	mu     sync.Mutex
	events []map[string]any
	raw    bytes.Buffer
}

func (l *logLines) read(r *bufio.Scanner, done chan<- struct{}) {
	defer close(done)
	for r.Scan() {
		l.mu.Lock()
		l.raw.Write(r.Bytes())
		l.raw.WriteByte('\n')
		var ev map[string]any
		if json.Unmarshal(r.Bytes(), &ev) == nil {
			l.events = append(l.events, ev)
		}
		l.mu.Unlock()
	}
}

func (l *logLines) find(msg string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, ev := range l.events {
		if ev["message"] == msg {
			out = append(out, ev)
		}
	}
	return out
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.raw.String()
}

// eventually polls cond until it holds or within has passed.
func eventually(t *testing.T, within time.Duration, cond func() bool) bool {
	t.Helper()
	return testkit.Eventually(within, cond)
}

func TestE2EStartLogsListenersAndStopsOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(binPath, "start", "-c", shippedConfig(t))
			cmd.Env = append(os.Environ(), "MANIFOLD_LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:0",
				"MANIFOLD_LISTENERS__WS__DEFAULT__BIND=127.0.0.1:0", "MANIFOLD_DASHBOARD__LISTENERS__HTTP__BIND=127.0.0.1:0",
				"MANIFOLD_GATEWAY__STOMP__LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:0",
				"MANIFOLD_GATEWAY__STOMP__LISTENERS__HTTP__DEFAULT__BIND=127.0.0.1:0",
				"MANIFOLD_GATEWAY__MQTTSN__LISTENERS__UDP__DEFAULT__BIND=127.0.0.1:0",
				"MANIFOLD_GATEWAY__COAP__LISTENERS__UDP__DEFAULT__BIND=127.0.0.1:0",
				"MANIFOLD_GATEWAY__LWM2M__LISTENERS__UDP__DEFAULT__BIND=127.0.0.1:0",
				"MANIFOLD_GATEWAY__RAW__LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:0",
				"MANIFOLD_GATEWAY__RAW__LISTENERS__UDP__DEFAULT__BIND=127.0.0.1:0",
				"MANIFOLD_NODE__DATA_DIR="+t.TempDir()) // not data/ beside the test
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill() }) // a failed test leaves no broker behind
			var logs logLines
			done := make(chan struct{})
			go logs.read(bufio.NewScanner(stderr), done)

			if !eventually(t, 10*time.Second, func() bool { return len(logs.find("server_started")) > 0 }) {
				_ = cmd.Process.Kill()
				t.Fatalf("no server_started event; log:\n%s", logs.String())
			}
			addrs := map[string]string{}
			for _, ev := range logs.find("listener_started") {
				if a, ok := ev["addr"].(string); ok {
					addrs[ev["proto"].(string)] = a
				}
			}
			// Both MQTT listeners bound real ports and accept connections.
			for _, proto := range []string{"tcp", "ws"} {
				a := addrs[proto]
				if !strings.HasPrefix(a, "127.0.0.1:") || a == "127.0.0.1:0" {
					t.Fatalf("want a %s listener_started with its real address; got %v", proto, addrs)
				}
				conn, err := net.Dial("tcp", a)
				if err != nil {
					t.Fatalf("dial the %s listener: %v", proto, err)
				}
				conn.Close()
			}

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			<-done
			if err := cmd.Wait(); err != nil {
				t.Fatalf("manifold exited with %v after %v; log:\n%s", err, sig, logs.String())
			}
			if len(logs.find("server_stopped")) != 1 {
				t.Fatalf("want one server_stopped event; log:\n%s", logs.String())
			}
		})
	}
}

func TestE2EBadConfigExitsBeforeStarting(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typo, []byte("node:\n  name: test@127.0.0.1\nmqtt:\n  max_inflght: 10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"typo in the file", []string{"start", "-c", typo}, nil, []string{"typo.yaml:4", "mqtt.max_inflght", "unknown key"}},
		{"bad value from the environment", []string{"start", "-c", shippedConfig(t)}, []string{"MANIFOLD_MQTT__MAX_INFLIGHT=abc"}, []string{"MANIFOLD_MQTT__MAX_INFLIGHT", "mqtt.max_inflight"}},
		{"lwm2m object definitions missing", []string{"start", "-c", shippedConfig(t)}, []string{"MANIFOLD_GATEWAY__LWM2M__XML_DIR=/nonexistent/lwm2m",
			"MANIFOLD_NODE__DATA_DIR=" + t.TempDir()}, // the store opens before the gateways load
			[]string{"gateway.lwm2m.xml_dir", "/nonexistent/lwm2m"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binPath, tc.args...)
			cmd.Env = append(os.Environ(), tc.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("want a non-zero exit, got %v; stderr:\n%s", err, stderr.String())
			}
			for _, s := range tc.want {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), "server_started") {
				t.Errorf("server started despite the bad config:\n%s", stderr.String())
			}
		})
	}
}

func TestE2EUnknownEnvVariableIsAWarning(t *testing.T) {
	cmd := exec.Command(binPath, "start", "-c", shippedConfig(t))
	cmd.Env = append(os.Environ(), "MANIFOLD_MQTT__NO_SUCH_KEY=1", "MANIFOLD_LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_LISTENERS__WS__DEFAULT__ENABLE=false", "MANIFOLD_DASHBOARD__LISTENERS__HTTP__ENABLE=false",
		"MANIFOLD_GATEWAY__STOMP__ENABLE=false", "MANIFOLD_GATEWAY__MQTTSN__ENABLE=false", "MANIFOLD_GATEWAY__COAP__ENABLE=false",
		"MANIFOLD_GATEWAY__LWM2M__ENABLE=false", "MANIFOLD_GATEWAY__RAW__ENABLE=false", "MANIFOLD_NODE__DATA_DIR="+t.TempDir())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var logs logLines
	done := make(chan struct{})
	go logs.read(bufio.NewScanner(stderr), done)
	started := eventually(t, 10*time.Second, func() bool { return len(logs.find("server_started")) > 0 })
	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-done
	_ = cmd.Wait()
	if !started {
		t.Fatalf("server did not start; log:\n%s", logs.String())
	}
	warnings := logs.find("config_warning")
	if len(warnings) != 1 || !strings.Contains(warnings[0]["warning"].(string), "MANIFOLD_MQTT__NO_SUCH_KEY") {
		t.Fatalf("want one config_warning naming the variable, got %v", warnings)
	}
}

package main

import (
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// gwAddr returns the address of the broker's listener of gateway gw and
// kind (tcp, udp, dtls, …), from its listener_started event.
func (b *runningBroker) gwAddr(t *testing.T, gw, kind string) string {
	t.Helper()
	var addr string
	if !eventually(t, 10*time.Second, func() bool {
		for _, ev := range b.logs.find("listener_started") {
			if ev["gateway"] == gw && ev["kind"] == kind {
				addr, _ = ev["addr"].(string)
			}
		}
		return addr != ""
	}) {
		t.Fatalf("no %s %s listener; log:\n%s", gw, kind, b.logs.String())
	}
	return addr
}

// TestE2ERawTCPWithNetcat is issue 9's acceptance, as a new user tries it
// with the shipped config: a line written with nc reaches mosquitto_sub on
// raw/<id>/up, and mosquitto_pub on raw/<id>/dn comes back on the TCP
// connection as a line.
func TestE2ERawTCPWithNetcat(t *testing.T) {
	needTool(t, "mosquitto_sub")
	needTool(t, "nc")
	b := startBroker(t)
	host, port, _ := strings.Cut(b.gwAddr(t, "raw", "tcp"), ":")

	watcher := b.startSub(t, "-i", "rawwatch", "-t", "raw/#", "-v", "-C", "1")
	b.waitSubscribed(t, "rawwatch")

	nc := exec.Command("nc", host, port)
	stdin, err := nc.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &lockedBuffer{}
	nc.Stdout, nc.Stderr = out, out
	if err := nc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Process.Kill(); _ = nc.Wait() })
	if _, err := io.WriteString(stdin, "hello\n"); err != nil {
		t.Fatal(err)
	}

	// raw/127.0.0.1:53122/up hello
	got := strings.TrimSpace(watcher.wait(t, 10*time.Second))
	topic, payload, _ := strings.Cut(got, " ")
	id := strings.TrimSuffix(strings.TrimPrefix(topic, "raw/"), "/up")
	if payload != "hello" || !strings.HasPrefix(topic, "raw/127.0.0.1:") || !strings.HasSuffix(topic, "/up") {
		t.Fatalf("mosquitto_sub got %q, want raw/127.0.0.1:<port>/up hello", got)
	}

	// The device subscribed to its downlink topic when it connected.
	b.waitSubscribed(t, id)
	if o, err := b.mosquitto(t, 5*time.Second, "mosquitto_pub", "-t", "raw/"+id+"/dn", "-m", "cmd"); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, o)
	}
	if !eventually(t, 10*time.Second, func() bool { return out.String() == "cmd\n" }) {
		t.Fatalf("nc got %q, want \"cmd\\n\"", out.String())
	}
}

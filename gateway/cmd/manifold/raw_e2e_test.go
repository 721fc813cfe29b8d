package main

import (
	"io"
	"net"
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

// TestE2ERawUDPAndSensorHandler: the shipped raw UDP listener publishes a
// datagram and writes a downlink message back as one; a raw listener added
// from the environment with handler: sensor (compiled into the binary)
// speaks the example's binary protocol.
func TestE2ERawUDPAndSensorHandler(t *testing.T) {
	needTool(t, "mosquitto_sub")
	b := startBroker(t,
		"MANIFOLD_GATEWAY__RAW__LISTENERS__TCP__SENSORS__BIND=127.0.0.1:0",
		"MANIFOLD_GATEWAY__RAW__LISTENERS__TCP__SENSORS__HANDLER=sensor",
		"MANIFOLD_GATEWAY__RAW__LISTENERS__TCP__SENSORS__FRAMING__TYPE=length")

	t.Run("udp", func(t *testing.T) {
		watcher := b.startSub(t, "-i", "rawudpwatch", "-t", "raw/#", "-v", "-C", "1")
		b.waitSubscribed(t, "rawudpwatch")
		c, err := net.Dial("udp", b.gwAddr(t, "raw", "udp"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		id := c.LocalAddr().String()
		if got := strings.TrimSpace(watcher.wait(t, 10*time.Second)); got != "raw/"+id+"/up ping" {
			t.Fatalf("mosquitto_sub got %q, want raw/%s/up ping", got, id)
		}
		b.waitSubscribed(t, id)
		if o, err := b.mosquitto(t, 5*time.Second, "mosquitto_pub", "-t", "raw/"+id+"/dn", "-m", "cmd"); err != nil {
			t.Fatalf("mosquitto_pub: %v %s", err, o)
		}
		buf := make([]byte, 64)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "cmd" {
			t.Fatalf("datagram %q, %v; want cmd", buf[:n], err)
		}
	})

	t.Run("sensor handler", func(t *testing.T) {
		var addr string
		if !eventually(t, 10*time.Second, func() bool {
			for _, ev := range b.logs.find("listener_started") {
				if ev["gateway"] == "raw" && ev["listener"] == "sensors" {
					addr, _ = ev["addr"].(string)
				}
			}
			return addr != ""
		}) {
			t.Fatal("no raw tcp sensors listener")
		}
		watcher := b.startSub(t, "-i", "sensorwatch", "-t", "sensors/#", "-v", "-C", "1")
		b.waitSubscribed(t, "sensorwatch")
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// HELLO "greenhouse-3", then READING sensor 7 = 19.875 (README).
		if _, err := c.Write([]byte("\x00\x0d\x01greenhouse-3\x00\x06\x02\x07\x00\x00\x4d\xa3")); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(watcher.wait(t, 10*time.Second)); got != `sensors/greenhouse-3/reading {"sensor":7,"value":19.875}` {
			t.Fatalf("mosquitto_sub got %q", got)
		}
	})
}

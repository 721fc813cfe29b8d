package edge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/manifold-iot/manifold/adapters/raw"
	"github.com/manifold-iot/manifold/adapters/raw/examples/sensor"
	rawcodec "github.com/manifold-iot/manifold/codec/raw"
)

// rawEdge serves the raw adapter on gnet TCP over the broker of an
// mqttEdge, whose MQTT listener the test's subscribers use.
func (e *mqttEdge) raw(t testing.TB, cfg raw.Config) *Server {
	t.Helper()
	ad, err := raw.NewAdapter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tc := testConfig()
	tc.Name = "tcp:raw"
	tc.IdleTimeout = -1 // the channel has its own
	s := NewTCP(tc, ad, e.ctx, testLogger(t))
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

func dialTCP(t testing.TB, s *Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// TestRawAcceptance is the issue's acceptance as a Go test: `printf
// 'hello\n' | nc` is seen by an MQTT subscriber of raw/#, and a message
// published on raw/<id>/dn arrives on the TCP connection as a line.
func TestRawAcceptance(t *testing.T) {
	e := newMQTTEdge(t)
	mq := e.tcp(t)
	rs := e.raw(t, raw.DefaultConfig())

	sub, got := pahoOver(t, dialTCP(t, mq), "raw-watcher")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "raw/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}

	dev := dialTCP(t, rs)
	id := dev.LocalAddr().String() // the client id is the peer address
	if _, err := dev.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, got); m.Topic != "raw/"+id+"/up" || string(m.Payload) != "hello" {
		t.Fatalf("subscriber got %s %q, want raw/%s/up hello", m.Topic, m.Payload, id)
	}

	pub, _ := pahoOver(t, dialTCP(t, mq), "raw-commander")
	if _, err := pub.Publish(ctx, &paho.Publish{Topic: "raw/" + id + "/dn", QoS: 1, Payload: []byte("cmd")}); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(dev).ReadString('\n')
	if err != nil || line != "cmd\n" {
		t.Fatalf("device read %q %v, want \"cmd\\n\"", line, err)
	}
}

// TestRawMalformedCloses: a line over max_length and a length field over
// it close the TCP connection.
func TestRawMalformedCloses(t *testing.T) {
	e := newMQTTEdge(t)
	for name, tc := range map[string]struct {
		framing rawcodec.Config
		in      []byte
	}{
		"line_too_long":   {rawcodec.Config{Type: rawcodec.TypeLine, MaxLength: 16}, []byte("this line is longer than sixteen bytes\n")},
		"length_over_max": {rawcodec.Config{Type: rawcodec.TypeLength, LengthBytes: 4, MaxLength: 1024}, []byte{0x7f, 0xff, 0xff, 0xff}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := raw.DefaultConfig()
			cfg.Framing = tc.framing
			c := dialTCP(t, e.raw(t, cfg))
			if _, err := c.Write(tc.in); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadAll(c); err != nil {
				t.Fatalf("connection not closed cleanly by the server: %v", err)
			}
		})
	}
}

// TestRawSensorHandler runs the example handler over real gnet TCP: a Go
// device says HELLO, sends a reading an MQTT client receives as JSON, and
// gets the MQTT client's command as a CMD frame.
func TestRawSensorHandler(t *testing.T) {
	e := newMQTTEdge(t)
	mq := e.tcp(t)
	rs := e.raw(t, sensor.Config())

	app, got := pahoOver(t, dialTCP(t, mq), "sensor-app")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := app.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "sensors/+/reading", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}

	dev := dialTCP(t, rs)
	br := bufio.NewReader(dev)
	write := func(body []byte) {
		t.Helper()
		if _, err := dev.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(body))), body...)); err != nil {
			t.Fatal(err)
		}
	}
	read := func() []byte {
		t.Helper()
		var hdr [2]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, binary.BigEndian.Uint16(hdr[:]))
		if _, err := io.ReadFull(br, b); err != nil {
			t.Fatal(err)
		}
		return b
	}

	write(sensor.Hello("greenhouse-3", ""))
	if ack := read(); len(ack) != 2 || ack[0] != sensor.TypeHelloAck || ack[1] != 0 {
		t.Fatalf("HELLO_ACK % x", ack)
	}
	write(sensor.Reading(7, 19875))
	if m := recv(t, got); m.Topic != "sensors/greenhouse-3/reading" || string(m.Payload) != `{"sensor":7,"value":19.875}` {
		t.Fatalf("app got %s %s", m.Topic, m.Payload)
	}
	if _, err := app.Publish(ctx, &paho.Publish{Topic: "sensors/greenhouse-3/cmd", QoS: 1, Payload: []byte("vent open")}); err != nil {
		t.Fatal(err)
	}
	if cmd := read(); string(cmd) != "\x03vent open" {
		t.Fatalf("CMD frame %q", cmd)
	}
	write([]byte{0x55}) // unknown type: ERROR, then closed
	if b := read(); b[0] != sensor.TypeError {
		t.Fatalf("reply % x, want ERROR", b)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("after ERROR: %v, want EOF", err)
	}
}

// syncBuffer is a bytes.Buffer a child process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestRawMosquittoClients is the acceptance with the real mosquitto
// clients on the MQTT side (a Go socket plays nc): mosquitto_sub -t
// 'raw/#' -v prints the device's line, and mosquitto_pub's message
// reaches the device as a line.
func TestRawMosquittoClients(t *testing.T) {
	for _, tool := range []string{"mosquitto_sub", "mosquitto_pub"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s not installed (.ci/run installs it)", tool)
			}
			t.Skipf("%s not installed: apt-get install mosquitto-clients", tool)
		}
	}
	e := newMQTTEdge(t)
	_, port, _ := net.SplitHostPort(e.tcp(t).Addr().String())
	rs := e.raw(t, raw.DefaultConfig())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := &syncBuffer{}
	sub := exec.CommandContext(ctx, "mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-i", "mosq-raw", "-t", "raw/#", "-v", "-C", "1")
	sub.Stdout, sub.Stderr = out, out
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	if !eventually(t, 5*time.Second, func() bool { return len(e.b.Subscriptions("mosq-raw")) == 1 }) {
		t.Fatalf("mosquitto_sub did not subscribe: %s", out.String())
	}
	dev := dialTCP(t, rs)
	id := dev.LocalAddr().String()
	if _, err := dev.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if err := sub.Wait(); err != nil {
		t.Fatalf("mosquitto_sub: %v\n%s", err, out.String())
	}
	if want := "raw/" + id + "/up hello\n"; out.String() != want {
		t.Fatalf("mosquitto_sub printed %q, want %q", out.String(), want)
	}
	pub := exec.CommandContext(ctx, "mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-t", "raw/"+id+"/dn", "-m", "cmd")
	if b, err := pub.CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub: %v\n%s", err, b)
	}
	line, err := bufio.NewReader(dev).ReadString('\n')
	if err != nil || line != "cmd\n" {
		t.Fatalf("device read %q %v, want \"cmd\\n\"", line, err)
	}
}

// These tests run the raw adapter on the gnet UDP driver.

package edge

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/manifold-iot/manifold/adapters/raw"
	rawcodec "github.com/manifold-iot/manifold/codec/raw"
)

func (e *mqttEdge) rawUDP(t testing.TB, cfg raw.Config) *UDPServer {
	t.Helper()
	ad, err := raw.NewAdapter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := NewUDP(UDPConfig{Name: "udp:raw", Bind: "127.0.0.1:0"}, ad, e.ctx, testLogger(t))
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

// TestRawUDP: datagram framing (one datagram, one frame) and line framing
// (several frames in one datagram) both publish each frame, and a downlink
// message comes back as one datagram per frame.
func TestRawUDP(t *testing.T) {
	for name, tc := range map[string]struct {
		framing rawcodec.Config
		send    string
		frames  []string
		dnWire  string
	}{
		"datagram": {rawcodec.Config{Type: rawcodec.TypeDatagram}, "temp=21.5", []string{"temp=21.5"}, "cmd"},
		"line":     {rawcodec.Config{Type: rawcodec.TypeLine}, "a\nb\n", []string{"a", "b"}, "cmd\n"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newMQTTEdge(t)
			mq := e.tcp(t)
			cfg := raw.DefaultConfig()
			cfg.Framing = tc.framing
			us := e.rawUDP(t, cfg)

			sub, got := pahoOver(t, dialTCP(t, mq), "udp-watcher")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "raw/#", QoS: 1}}}); err != nil {
				t.Fatal(err)
			}
			dev, err := net.Dial("udp", us.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer dev.Close()
			id := dev.LocalAddr().String()
			if _, err := dev.Write([]byte(tc.send)); err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.frames {
				if m := recv(t, got); m.Topic != "raw/"+id+"/up" || string(m.Payload) != want {
					t.Fatalf("got %s %q, want raw/%s/up %q", m.Topic, m.Payload, id, want)
				}
			}
			if _, err := sub.Publish(ctx, &paho.Publish{Topic: "raw/" + id + "/dn", QoS: 1, Payload: []byte("cmd")}); err != nil {
				t.Fatal(err)
			}
			_ = dev.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 1500)
			n, err := dev.Read(buf)
			if err != nil || string(buf[:n]) != tc.dnWire {
				t.Fatalf("device read %q %v, want %q", buf[:n], err, tc.dnWire)
			}
		})
	}
}

package gateway

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/codec"
	mq "github.com/manifold-iot/manifold/codec/mqtt"
	"github.com/manifold-iot/manifold/gateway/config"
)

// testConfig binds the MQTT listener to a free loopback port and turns off
// the listeners this build does not serve yet.
func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Node.DataDir = t.TempDir()
	cfg.Listeners.TCP["default"].Bind = "127.0.0.1:0"
	cfg.Listeners.WS["default"].Enable = false
	cfg.Dashboard.Listeners.HTTP.Enable = false
	cfg.Authorization.Sources = nil
	cfg.Gateway.STOMP.Listeners.TCP["default"].Bind = "127.0.0.1:0"
	cfg.Gateway.STOMP.Listeners.HTTP["default"].Bind = "127.0.0.1:0"
	cfg.Gateway.MQTTSN.Listeners.UDP["default"].Bind = "127.0.0.1:0"
	cfg.Gateway.CoAP.Listeners.UDP["default"].Bind = "127.0.0.1:0"
	cfg.Gateway.LwM2M.Listeners.UDP["default"].Bind = "127.0.0.1:0"
	cfg.Gateway.LwM2M.XMLDir = "../configs/lwm2m" // no config file: relative to this package
	cfg.Gateway.Raw.Listeners.TCP["default"].Bind = "127.0.0.1:0"
	cfg.Gateway.Raw.Listeners.UDP["default"].Bind = "127.0.0.1:0"
	return cfg
}

func startServer(t *testing.T, cfg *config.Config) (*Server, string) {
	t.Helper()
	srv, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if a := srv.Addr("tcp:default"); a != nil {
			return srv, a.String()
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("tcp listener never started")
	return nil, ""
}

// rawClient is a minimal MQTT client over a real socket.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	v    byte
	buf  []byte
}

func dialMQTT(t *testing.T, addr string, v byte, id string) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &rawClient{t: t, conn: conn, v: v}
	c.send(&mq.Connect{ProtocolName: "MQTT", ProtocolLevel: v, ClientID: id, CleanStart: true, KeepAlive: 30})
	if ack, ok := c.read().(*mq.Connack); !ok || ack.ReasonCode != mq.Success {
		t.Fatalf("CONNACK %+v", ack)
	}
	return c
}

func (c *rawClient) send(p mq.Packet) {
	c.t.Helper()
	b, err := mq.Encode(nil, p, c.v)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) read() mq.Packet {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	tmp := make([]byte, 4096)
	for {
		p, n, err := mq.Decode(c.buf, c.v, 0)
		if err == nil {
			c.buf = c.buf[n:]
			return p
		}
		if !errors.Is(err, codec.ErrIncomplete) {
			c.t.Fatalf("decode: %v", err)
		}
		k, err := c.conn.Read(tmp)
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		c.buf = append(c.buf, tmp[:k]...)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	if _, err := New(nil, zerolog.Nop()); err == nil {
		t.Fatal("New(nil) succeeded")
	}
	cfg := config.Default()
	cfg.MQTT.MaxQoSAllowed = 3
	if _, err := New(cfg, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "mqtt.max_qos_allowed") {
		t.Fatalf("New with max_qos_allowed 3: error %v, want one naming mqtt.max_qos_allowed", err)
	}
	cfg = config.Default()
	cfg.Authorization.Sources[0].Path = "/nonexistent/acl.conf"
	if _, err := New(cfg, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "authorization.sources.1") {
		t.Fatalf("New with a missing ACL file: error %v, want one naming authorization.sources.1", err)
	}
}

func TestServerRoutesBetweenRealConnections(t *testing.T) {
	_, addr := startServer(t, testConfig(t))
	sub := dialMQTT(t, addr, mq.V5, "sub")
	sub.send(&mq.Subscribe{PacketID: 1, Subscriptions: []mq.Subscription{{Filter: "a/#", QoS: 1}}})
	if ack, ok := sub.read().(*mq.Suback); !ok || ack.ReasonCodes[0] != 1 {
		t.Fatalf("SUBACK %+v", ack)
	}
	pub := dialMQTT(t, addr, mq.V311, "pub")
	pub.send(&mq.Publish{Topic: "a/b", QoS: 1, PacketID: 7, Payload: []byte("hello")})
	if ack, ok := pub.read().(*mq.Puback); !ok || ack.PacketID != 7 {
		t.Fatalf("PUBACK %+v", ack)
	}
	got, ok := sub.read().(*mq.Publish)
	if !ok || got.Topic != "a/b" || !bytes.Equal(got.Payload, []byte("hello")) || got.QoS != 1 {
		t.Fatalf("delivered %+v", got)
	}
}

func TestRunFailsWhenTheAddressIsTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := testConfig(t)
	cfg.Listeners.TCP["default"].Bind = config.Address(l.Addr().String())
	srv, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "listeners.tcp.default.bind") {
			t.Fatalf("Run: %v, want an error naming listeners.tcp.default.bind", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not fail on a taken address")
	}
}

func TestDelayedPublishIsAuthorizedOnItsRealTopic(t *testing.T) {
	dir := t.TempDir()
	acl := dir + "/acl.conf"
	if err := os.WriteFile(acl, []byte("{deny, all, publish, [\"secret/#\"]}.\n{allow, all}.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Authorization.Sources = []config.AuthzSource{{Type: "file", Enable: true, Path: acl}}
	_, addr := startServer(t, cfg)
	c := dialMQTT(t, addr, mq.V5, "sneaky")
	c.send(&mq.Publish{Topic: "$delayed/1/secret/x", QoS: 1, PacketID: 1, Payload: []byte("x")})
	if ack, ok := c.read().(*mq.Puback); !ok || ack.ReasonCode != mq.NotAuthorized {
		t.Fatalf("PUBACK %+v, want 0x87: the delayed message's real topic is denied", ack)
	}
	c.send(&mq.Publish{Topic: "$delayed/1/open/x", QoS: 1, PacketID: 2, Payload: []byte("x")})
	if ack, ok := c.read().(*mq.Puback); !ok || ack.ReasonCode != mq.Success {
		t.Fatalf("PUBACK %+v, want Success (held for later, not \"no matching subscribers\")", ack)
	}
}

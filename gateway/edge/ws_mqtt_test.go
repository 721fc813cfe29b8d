package edge

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/gobwas/ws"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters/adaptertest"
	mqttad "github.com/manifold-iot/manifold/adapters/mqtt"
	"github.com/manifold-iot/manifold/codec"
	mq "github.com/manifold-iot/manifold/codec/mqtt"
	"github.com/manifold-iot/manifold/core/broker"
)

// mqttEdge is a real broker behind the real MQTT channel, served by the
// edge over WebSocket (and TCP, for comparisons).
type mqttEdge struct {
	b   *broker.Broker
	ctx *adaptertest.Context
	ad  *mqttad.Adapter
}

func newMQTTEdge(t testing.TB) *mqttEdge {
	t.Helper()
	b := broker.New(broker.DefaultConfig(), zerolog.Nop())
	t.Cleanup(b.Close)
	return &mqttEdge{b: b, ctx: &adaptertest.Context{Broker: b}, ad: mqttad.NewAdapter(mqttad.DefaultConfig())}
}

func (e *mqttEdge) ws(t testing.TB) *Server {
	cfg := wsTestConfig()
	cfg.IdleTimeout = -1 // as the gateway runs it: the channel has its own
	return startWS(t, cfg, e.ad, e.ctx)
}

func (e *mqttEdge) tcp(t testing.TB) *Server {
	t.Helper()
	cfg := testConfig()
	cfg.IdleTimeout = -1
	s := NewTCP(cfg, e.ad, e.ctx, testLogger(t))
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

// wsNetConn is a net.Conn over a gobwas/ws client connection: writes are
// masked binary frames, reads return the binary payloads as a stream. It is
// how paho.golang (which takes any net.Conn) talks MQTT over WebSocket.
type wsNetConn struct {
	net.Conn
	br     *bufio.Reader
	remain int64
	wmu    sync.Mutex
}

func dialWSNet(t testing.TB, s *Server) net.Conn {
	t.Helper()
	conn, br, hs, err := dialGobwas(t, s, "/mqtt", "mqtt")
	if err != nil {
		t.Fatal(err)
	}
	if hs.Protocol != "mqtt" {
		t.Fatalf("subprotocol %q, want mqtt", hs.Protocol)
	}
	return &wsNetConn{Conn: conn, br: br}
}

func (c *wsNetConn) Read(p []byte) (int, error) {
	for c.remain == 0 {
		h, err := ws.ReadHeader(c.br)
		if err != nil {
			return 0, err
		}
		switch h.OpCode {
		case ws.OpBinary, ws.OpContinuation:
			c.remain = h.Length
		case ws.OpClose:
			return 0, io.EOF
		default:
			if _, err := c.br.Discard(int(h.Length)); err != nil {
				return 0, err
			}
		}
	}
	if int64(len(p)) > c.remain {
		p = p[:c.remain]
	}
	n, err := c.br.Read(p)
	c.remain -= int64(n)
	return n, err
}

func (c *wsNetConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := ws.WriteFrame(c.Conn, ws.MaskFrame(ws.NewBinaryFrame(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// pahoOver connects a paho.golang MQTT 5 client over conn; received
// messages arrive on the returned channel.
func pahoOver(t testing.TB, conn net.Conn, id string) (*paho.Client, chan *paho.Publish) {
	t.Helper()
	got := make(chan *paho.Publish, 2000)
	c := paho.NewClient(paho.ClientConfig{
		Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			got <- pr.Packet
			return true, nil
		}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, &paho.Connect{ClientID: id, KeepAlive: 30, CleanStart: true})
	if err != nil || ack.ReasonCode != 0 {
		t.Fatalf("connect %s: %v %+v", id, err, ack)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c, got
}

func recv(t testing.TB, ch chan *paho.Publish) *paho.Publish {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(15 * time.Second): // generous: CI runs every package at once under -race
		t.Fatal("no message received")
		return nil
	}
}

// TestWSMQTTPaho is a real MQTT 5 round trip over WebSocket: paho.golang
// clients on gobwas/ws connections, the real MQTT channel, a real broker.
func TestWSMQTTPaho(t *testing.T) {
	e := newMQTTEdge(t)
	s := e.ws(t)
	sub, got := pahoOver(t, dialWSNet(t, s), "ws-sub")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if sa, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "ws/#", QoS: 2}}}); err != nil || sa.Reasons[0] != 2 {
		t.Fatalf("subscribe: %v %+v", err, sa)
	}
	pub, _ := pahoOver(t, dialWSNet(t, s), "ws-pub")
	for qos := byte(0); qos <= 2; qos++ {
		if _, err := pub.Publish(ctx, &paho.Publish{Topic: "ws/q", QoS: qos, Payload: []byte{qos}}); err != nil {
			t.Fatalf("publish QoS %d: %v", qos, err)
		}
		if m := recv(t, got); m.Topic != "ws/q" || m.QoS != qos || len(m.Payload) != 1 || m.Payload[0] != qos {
			t.Fatalf("received %+v", m)
		}
	}

	t.Run("1000_messages", func(t *testing.T) {
		const n = 1000
		errc := make(chan error, 1)
		go func() {
			for i := 0; i < n; i++ {
				qos := byte(i % 2)
				if _, err := pub.Publish(ctx, &paho.Publish{Topic: "ws/many", QoS: qos, Payload: fmt.Appendf(nil, "m-%d", i)}); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		for i := 0; i < n; i++ {
			if m := recv(t, got); string(m.Payload) != fmt.Sprintf("m-%d", i) {
				t.Fatalf("message %d: %q", i, m.Payload)
			}
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	})
}

// TestWSMQTTAutopaho connects autopaho, whose ws:// transport is
// gorilla/websocket: a second, independent WebSocket client.
func TestWSMQTTAutopaho(t *testing.T) {
	e := newMQTTEdge(t)
	s := e.ws(t)
	u, _ := url.Parse("ws://" + s.Addr().String() + "/mqtt")
	got := make(chan *paho.Publish, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cm, err := autopaho.NewConnection(ctx, autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		KeepAlive:                     30,
		ConnectTimeout:                2 * time.Second,
		CleanStartOnInitialConnection: true,
		ClientConfig: paho.ClientConfig{
			ClientID: "autopaho",
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
				got <- pr.Packet
				return true, nil
			}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer dcancel()
		_ = cm.Disconnect(dctx)
	})
	if err := cm.AwaitConnection(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "gorilla/+", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cm.Publish(ctx, &paho.Publish{Topic: "gorilla/x", QoS: 1, Payload: []byte("over gorilla")}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, got); string(m.Payload) != "over gorilla" {
		t.Fatalf("received %+v", m)
	}
}

// TestWSMQTTFraming drives the real MQTT channel with frames cut at awkward
// places: CONNECT split inside its header across two frames, then
// SUBSCRIBE, PUBLISH and PINGREQ in one frame.
func TestWSMQTTFraming(t *testing.T) {
	e := newMQTTEdge(t)
	s := e.ws(t)
	c := dialWSRaw(t, s)
	c.upgrade()
	enc := func(ps ...mq.Packet) []byte {
		var b []byte
		for _, p := range ps {
			var err error
			if b, err = mq.Encode(b, p, mq.V5); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}
	connect := enc(&mq.Connect{ProtocolLevel: mq.V5, ClientID: "framed", CleanStart: true, KeepAlive: 30})
	c.sendFrame(true, opBinary, string(connect[:1]))
	c.sendFrame(true, opBinary, string(connect[1:]))
	var buf []byte
	read := func() mq.Packet {
		t.Helper()
		for {
			p, n, err := mq.Decode(buf, mq.V5, 0)
			if err == nil {
				buf = buf[n:]
				return p
			}
			if !errors.Is(err, codec.ErrIncomplete) {
				t.Fatalf("decode: %v", err)
			}
			h, data, err := c.readFrame()
			if err != nil || h.OpCode != ws.OpBinary {
				t.Fatalf("frame %+v: %v", h, err)
			}
			buf = append(buf, data...)
		}
	}
	if ack, ok := read().(*mq.Connack); !ok || ack.ReasonCode != mq.Success {
		t.Fatalf("CONNACK %+v", ack)
	}
	c.sendBinary(string(enc(
		&mq.Subscribe{PacketID: 1, Subscriptions: []mq.Subscription{{Filter: "f/#", QoS: 1}}},
		&mq.Publish{Topic: "f/1", QoS: 1, PacketID: 2, Payload: []byte("one frame")},
		&mq.Pingreq{},
	)))
	var suback, puback, pingresp, publish bool
	for !(suback && puback && pingresp && publish) {
		switch p := read().(type) {
		case *mq.Suback:
			suback = true
		case *mq.Puback:
			puback = p.PacketID == 2
		case *mq.Pingresp:
			pingresp = true
		case *mq.Publish:
			publish = string(p.Payload) == "one frame" && p.Topic == "f/1"
			if p.QoS == 1 {
				c.sendBinary(string(enc(&mq.Puback{PacketID: p.PacketID})))
			}
		default:
			t.Fatalf("unexpected %T", p)
		}
	}
	c.sendBinary(string(enc(&mq.Disconnect{})))
	c.expectClose(ws.StatusNormalClosure)
}

// mqttBenchClient is an allocation-free MQTT client for the benchmark: it
// writes pre-encoded (and, over WebSocket, pre-masked) PUBLISH packets and
// counts the PUBLISH packets it reads.
type mqttBenchClient struct {
	nc  net.Conn
	br  *bufio.Reader
	ws  bool
	rem int64 // WebSocket payload bytes left in the current frame
}

func (c *mqttBenchClient) readByte() (byte, error) {
	if c.ws {
		for c.rem == 0 {
			var h [2]byte
			if _, err := io.ReadFull(c.br, h[:]); err != nil {
				return 0, err
			}
			n := int64(h[1] & 0x7F)
			switch n {
			case 126:
				var e [2]byte
				if _, err := io.ReadFull(c.br, e[:]); err != nil {
					return 0, err
				}
				n = int64(e[0])<<8 | int64(e[1])
			case 127:
				var e [8]byte
				if _, err := io.ReadFull(c.br, e[:]); err != nil {
					return 0, err
				}
				n = 0
				for _, b := range e {
					n = n<<8 | int64(b)
				}
			}
			if h[0]&0x0F != opBinary {
				return 0, fmt.Errorf("frame opcode %#x", h[0]&0x0F)
			}
			c.rem = n
		}
		c.rem--
	}
	return c.br.ReadByte()
}

// readPacket reads one MQTT packet and returns its type.
func (c *mqttBenchClient) readPacket() (byte, error) {
	t, err := c.readByte()
	if err != nil {
		return 0, err
	}
	rem, mult := 0, 1
	for {
		b, err := c.readByte()
		if err != nil {
			return 0, err
		}
		rem += int(b&0x7F) * mult
		if b&0x80 == 0 {
			break
		}
		mult <<= 7
	}
	for ; rem > 0; rem-- {
		if _, err := c.readByte(); err != nil {
			return 0, err
		}
	}
	return t >> 4, nil
}

func dialBenchClient(b *testing.B, s *Server, overWS bool, id string) *mqttBenchClient {
	b.Helper()
	var c *mqttBenchClient
	if overWS {
		rc := dialWSRaw(b, s)
		rc.upgrade()
		c = &mqttBenchClient{nc: rc.Conn, br: rc.r, ws: true}
	} else {
		nc, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = nc.Close() })
		c = &mqttBenchClient{nc: nc, br: bufio.NewReaderSize(nc, 64<<10)}
	}
	c.write(b, &mq.Connect{ProtocolLevel: mq.V311, ClientID: id, CleanStart: true, KeepAlive: 60})
	if typ, err := c.readPacket(); err != nil || typ != 2 {
		b.Fatalf("CONNACK: type %d, %v", typ, err)
	}
	return c
}

func (c *mqttBenchClient) frame(b *testing.B, ps ...mq.Packet) []byte {
	b.Helper()
	var raw []byte
	for _, p := range ps {
		var err error
		if raw, err = mq.Encode(raw, p, mq.V311); err != nil {
			b.Fatal(err)
		}
	}
	if !c.ws {
		return raw
	}
	return (&wsClient{key: [4]byte{1, 2, 3, 4}}).frame(true, opBinary, raw, false)
}

func (c *mqttBenchClient) write(b *testing.B, ps ...mq.Packet) {
	b.Helper()
	if _, err := c.nc.Write(c.frame(b, ps...)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMQTTPublish is one QoS 0 PUBLISH (64-byte payload) per op from a
// publisher to a subscriber through the real MQTT channel and broker, over
// TCP and over WebSocket (each publisher write is one masked frame of 16
// packets; each subscriber delivery batch one frame). ns/op is per message;
// allocs/op are the whole process's.
func BenchmarkMQTTPublish(b *testing.B) {
	for _, transport := range []string{"tcp", "ws"} {
		b.Run(transport, func(b *testing.B) {
			e := newMQTTEdge(b)
			var s *Server
			if transport == "ws" {
				s = e.ws(b)
			} else {
				s = e.tcp(b)
			}
			overWS := transport == "ws"
			sub := dialBenchClient(b, s, overWS, "bench-sub")
			sub.write(b, &mq.Subscribe{PacketID: 1, Subscriptions: []mq.Subscription{{Filter: "bench/t", QoS: 0}}})
			if typ, err := sub.readPacket(); err != nil || typ != 9 {
				b.Fatalf("SUBACK: type %d, %v", typ, err)
			}
			pub := dialBenchClient(b, s, overWS, "bench-pub")
			const batch = 16
			pkts := make([]mq.Packet, batch)
			for i := range pkts {
				pkts[i] = &mq.Publish{Topic: "bench/t", Payload: make([]byte, 64)}
			}
			burst := pub.frame(b, pkts...)
			_ = sub.nc.SetDeadline(time.Now().Add(time.Minute))

			var mu sync.Mutex
			received := 0
			done := make(chan error, 1)
			b.ReportAllocs()
			b.ResetTimer()
			go func() {
				for i := 0; i < b.N; i++ {
					if typ, err := sub.readPacket(); err != nil || typ != 3 {
						done <- fmt.Errorf("message %d: type %d, %v", i, typ, err)
						return
					}
					if i%batch == batch-1 {
						mu.Lock()
						received = i + 1
						mu.Unlock()
					}
				}
				done <- nil
			}()
			// A window of 32 bursts (512 messages) keeps the subscriber's queue (1000)
			// from overflowing, so every message is delivered.
			for sent := 0; sent < b.N; sent += batch {
				for {
					mu.Lock()
					r := received
					mu.Unlock()
					if sent-r < 32*batch {
						break
					}
					time.Sleep(20 * time.Microsecond)
				}
				if _, err := pub.nc.Write(burst); err != nil {
					b.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

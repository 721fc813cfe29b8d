package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v3"

	snc "github.com/manifold-iot/manifold/codec/sn"
)

// snClient is a minimal MQTT-SN client over a datagram connection (UDP or
// DTLS), one message per datagram, built on codec/sn.
type snClient struct {
	t    *testing.T
	conn net.Conn
	buf  []byte
}

func dialSN(t *testing.T, addr string) *snClient {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &snClient{t: t, conn: c, buf: make([]byte, 65536)}
}

func (c *snClient) send(m snc.Message) {
	c.t.Helper()
	b, err := snc.Encode(nil, m)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// next reads one message, failing the test after d.
func (c *snClient) next(d time.Duration) snc.Message {
	c.t.Helper()
	m, err := c.read(d)
	if err != nil {
		c.t.Fatalf("mqtt-sn: %v", err)
	}
	return m
}

func (c *snClient) read(d time.Duration) (snc.Message, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	n, err := c.conn.Read(c.buf)
	if err != nil {
		return nil, err
	}
	m, _, err := snc.Decode(c.buf[:n])
	return m, err
}

// expect reads until a message of type T arrives (answering the gateway's
// REGISTERs on the way) and returns it.
func expect[T snc.Message](c *snClient) T {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		m := c.next(time.Until(deadline))
		if r, ok := m.(*snc.Register); ok {
			c.send(&snc.Regack{TopicID: r.TopicID, MsgID: r.MsgID, ReturnCode: snc.Accepted})
		}
		if v, ok := m.(T); ok {
			return v
		}
		if _, ok := m.(*snc.Register); !ok {
			var zero T
			c.t.Fatalf("mqtt-sn: got %T %+v, want %T", m, m, zero)
		}
	}
	var zero T
	c.t.Fatalf("mqtt-sn: no %T within 10s", zero)
	return zero
}

func (c *snClient) connect(id string, clean bool) {
	c.t.Helper()
	c.send(&snc.Connect{CleanSession: clean, ProtocolID: 1, Duration: 60, ClientID: id})
	if ack := expect[*snc.Connack](c); ack.ReturnCode != snc.Accepted {
		c.t.Fatalf("CONNACK %v", ack.ReturnCode)
	}
}

func (c *snClient) register(topic string, msgID uint16) uint16 {
	c.t.Helper()
	c.send(&snc.Register{MsgID: msgID, TopicName: topic})
	ack := expect[*snc.Regack](c)
	if ack.ReturnCode != snc.Accepted || ack.MsgID != msgID || ack.TopicID == 0 {
		c.t.Fatalf("REGACK %+v", ack)
	}
	return ack.TopicID
}

func (c *snClient) publishQoS1(topicID, msgID uint16, data string) {
	c.t.Helper()
	c.send(&snc.Publish{QoS: 1, TopicIDType: snc.TopicNormal, TopicID: topicID, MsgID: msgID, Data: []byte(data)})
	if ack := expect[*snc.Puback](c); ack.ReturnCode != snc.Accepted || ack.MsgID != msgID {
		c.t.Fatalf("PUBACK %+v", ack)
	}
}

func (c *snClient) subscribe(filter string, qos byte, msgID uint16) uint16 {
	c.t.Helper()
	c.send(&snc.Subscribe{QoS: qos, TopicIDType: snc.TopicNormal, MsgID: msgID, TopicName: filter})
	ack := expect[*snc.Suback](c)
	if ack.ReturnCode != snc.Accepted || ack.MsgID != msgID {
		c.t.Fatalf("SUBACK %+v", ack)
	}
	return ack.TopicID
}

// TestE2EMQTTSN is issue 7's acceptance with the shipped config: an
// MQTT-SN sensor's QoS 1 publish reaches mosquitto_sub, and mosquitto_pub
// reaches an MQTT-SN subscriber.
func TestE2EMQTTSN(t *testing.T) {
	needTool(t, "mosquitto_sub")
	b := startBroker(t)
	addr := b.gwAddr(t, "mqttsn", "udp")

	t.Run("publish to mosquitto_sub", func(t *testing.T) {
		watcher := b.startSub(t, "-i", "snwatch", "-t", "sensors/#", "-v", "-C", "1")
		b.waitSubscribed(t, "snwatch")
		c := dialSN(t, addr)
		c.connect("sensor-1", true)
		id := c.register("sensors/1/temp", 1)
		c.publishQoS1(id, 2, "21.5")
		if got := strings.TrimSpace(watcher.wait(t, 10*time.Second)); got != "sensors/1/temp 21.5" {
			t.Fatalf("mosquitto_sub got %q", got)
		}
	})

	t.Run("mosquitto_pub to a subscriber", func(t *testing.T) {
		c := dialSN(t, addr)
		c.connect("sensor-2", true)
		id := c.subscribe("sensors/1/cmd", 1, 1)
		if o, err := b.mosquitto(t, 5*time.Second, "mosquitto_pub", "-t", "sensors/1/cmd", "-q", "1", "-m", "on"); err != nil {
			t.Fatalf("mosquitto_pub: %v %s", err, o)
		}
		p := expect[*snc.Publish](c)
		if p.TopicID != id || string(p.Data) != "on" || p.QoS != 1 {
			t.Fatalf("PUBLISH %+v, want topic id %d, data on, QoS 1", p, id)
		}
		c.send(&snc.Puback{TopicID: p.TopicID, MsgID: p.MsgID, ReturnCode: snc.Accepted})
	})

	for _, qos := range []byte{0, 1} {
		t.Run("sleeping client at QoS "+strconv.Itoa(int(qos)), func(t *testing.T) {
			const n = 100
			name := "sleeper" + strconv.Itoa(int(qos))
			c := dialSN(t, addr)
			c.connect(name, true)
			id := c.subscribe(name+"/cmd", qos, 1)
			c.send(&snc.Disconnect{HasDuration: true, Duration: 60})
			expect[*snc.Disconnect](c) // asleep
			lines := make([]string, n)
			for i := range lines {
				lines[i] = "m" + strconv.Itoa(i)
			}
			host, port := b.hostPort()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			pub := exec.CommandContext(ctx, "mosquitto_pub", "-h", host, "-p", port, "-t", name+"/cmd", "-q", "1", "-l") // QoS 1: routed before it exits
			pub.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
			if out, err := pub.CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_pub -l: %v %s", err, out)
			}
			// Nothing is sent to a sleeping client.
			if m, err := c.read(300 * time.Millisecond); err == nil {
				t.Fatalf("asleep, got %T %+v", m, m)
			}
			c.send(&snc.Pingreq{ClientID: name})
			for i := range n {
				p := expect[*snc.Publish](c)
				if p.TopicID != id || string(p.Data) != lines[i] || p.QoS != qos {
					t.Fatalf("message %d: PUBLISH QoS %d topic %d %q, want QoS %d topic %d %q", i, p.QoS, p.TopicID, p.Data, qos, id, lines[i])
				}
				if qos == 1 {
					c.send(&snc.Puback{TopicID: p.TopicID, MsgID: p.MsgID, ReturnCode: snc.Accepted})
				}
			}
			expect[*snc.Pingresp](c)
		})
	}
}

// TestE2EMQTTSNTopicIDsSurviveARestart: a topic id registered by a
// CleanSession=0 client still names its topic after the binary restarts.
func TestE2EMQTTSNTopicIDsSurviveARestart(t *testing.T) {
	needTool(t, "mosquitto_sub")
	dir := t.TempDir()
	b := startBroker(t, storeEnv(dir)...)
	c := dialSN(t, b.gwAddr(t, "mqttsn", "udp"))
	c.connect("keeper", false)
	id := c.register("sensors/9/temp", 1)
	c.send(&snc.Disconnect{})
	expect[*snc.Disconnect](c)
	if _, err := os.Stat(filepath.Join(dir, "mqttsn-registry", "keeper.json")); err != nil {
		t.Fatalf("registry file: %v", err)
	}
	b.crash(t)

	b = startBroker(t, storeEnv(dir)...)
	watcher := b.startSub(t, "-i", "snwatch2", "-t", "sensors/#", "-v", "-C", "1")
	b.waitSubscribed(t, "snwatch2")
	c = dialSN(t, b.gwAddr(t, "mqttsn", "udp"))
	c.connect("keeper", false)
	c.publishQoS1(id, 2, "19")
	if got := strings.TrimSpace(watcher.wait(t, 10*time.Second)); got != "sensors/9/temp 19" {
		t.Fatalf("mosquitto_sub got %q", got)
	}
}

// TestE2EMQTTSNOverDTLSPSK: the DTLS listener, enabled with an identity
// from the environment, carries a pion/dtls PSK client's publish.
func TestE2EMQTTSNOverDTLSPSK(t *testing.T) {
	needTool(t, "mosquitto_sub")
	b := startBroker(t,
		"MANIFOLD_GATEWAY__MQTTSN__LISTENERS__DTLS__DEFAULT__ENABLE=true",
		"MANIFOLD_GATEWAY__MQTTSN__LISTENERS__DTLS__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_GATEWAY__MQTTSN__LISTENERS__DTLS__DEFAULT__PSK_AUTHENTICATION__IDENTITIES__SENSOR-1=00112233445566778899aabbccddeeff")
	raddr, err := net.ResolveUDPAddr("udp", b.gwAddr(t, "mqttsn", "dtls"))
	if err != nil {
		t.Fatal(err)
	}
	key := []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	conn, err := dtls.DialWithOptions("udp", raddr,
		dtls.WithPSK(func([]byte) ([]byte, error) { return key, nil }),
		dtls.WithPSKIdentityHint([]byte("sensor-1")),
		dtls.WithCipherSuites(dtls.TLS_PSK_WITH_AES_128_CCM_8))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := conn.HandshakeContext(ctx); err != nil {
		t.Fatalf("DTLS handshake: %v", err)
	}
	watcher := b.startSub(t, "-i", "dtlswatch", "-t", "sensors/#", "-v", "-C", "1")
	b.waitSubscribed(t, "dtlswatch")
	c := &snClient{t: t, conn: conn, buf: make([]byte, 65536)}
	c.connect("sensor-dtls", true)
	id := c.register("sensors/3/temp", 1)
	c.publishQoS1(id, 2, "22")
	if got := strings.TrimSpace(watcher.wait(t, 10*time.Second)); got != "sensors/3/temp 22" {
		t.Fatalf("mosquitto_sub got %q", got)
	}
}

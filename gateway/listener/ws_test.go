package listener

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/gorilla/websocket"

	mq "github.com/manifold-iot/manifold/codec/mqtt"
	"github.com/manifold-iot/manifold/gateway/config"
)

// wsClient is a minimal RFC 6455 client for tests that need control over
// framing (a packet across frames, several in one, a text frame).
type wsClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	resp *http.Response
	buf  []byte // payload bytes received and not yet consumed as lines
	pong []byte // last pong payload
	code int    // close code received, 0 if none
}

// dialWS connects, shakes hands, and sends the upgrade request with the
// given extra header lines; it returns the client and the HTTP response.
func (e *env) dialWS(path string, headers ...string) (*wsClient, *http.Response) {
	e.t.Helper()
	c, err := e.dialTLS(clientTLS(e.t, e.dir, false))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	req := "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key) + "\r\n"
	version := "Sec-WebSocket-Version: 13"
	for _, h := range headers {
		if strings.HasPrefix(h, "Sec-WebSocket-Version:") {
			version = h
			continue
		}
		req += h + "\r\n"
	}
	req += version + "\r\n"
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		e.t.Fatal(err)
	}
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		e.t.Fatalf("upgrade response: %v", err)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		if got, want := resp.Header.Get("Sec-WebSocket-Accept"), wsAccept(base64.StdEncoding.EncodeToString(key)); got != want {
			e.t.Fatalf("Sec-WebSocket-Accept %q, want %q", got, want)
		}
	}
	return &wsClient{t: e.t, conn: c, r: r, resp: resp}, resp
}

// wsLineClient is a lineClient over WebSocket.
func (e *env) wsLineClient() *lineClient {
	e.t.Helper()
	w, resp := e.dialWS("/mqtt", "Sec-WebSocket-Protocol: mqtt")
	if resp.StatusCode != http.StatusSwitchingProtocols {
		e.t.Fatalf("upgrade: %s", resp.Status)
	}
	lc := &lineClient{t: e.t, conn: w.conn, ws: w}
	lc.expect("HELLO")
	return lc
}

// writeFrame sends one masked frame.
func (w *wsClient) writeFrame(fin bool, op byte, payload []byte) error {
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	b := []byte{op, 0x80}
	if fin {
		b[0] |= 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b[1] |= byte(n)
	case n <= 0xffff:
		b[1] |= 126
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b[1] |= 127
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, mask[:]...)
	p := append([]byte(nil), payload...)
	wsMask(p, mask, 0)
	_, err := w.conn.Write(append(b, p...))
	return err
}

// readFrame reads one frame from the server, which must be unmasked.
func (w *wsClient) readFrame() (op byte, fin bool, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(w.r, h[:]); err != nil {
		return
	}
	op, fin = h[0]&0x0f, h[0]&0x80 != 0
	if h[1]&0x80 != 0 {
		return op, fin, nil, errors.New("masked frame from the server")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var x [2]byte
		if _, err = io.ReadFull(w.r, x[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(x[:]))
	case 127:
		var x [8]byte
		if _, err = io.ReadFull(w.r, x[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(x[:])
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(w.r, payload)
	return
}

// data reads frames until a binary one, recording pongs and close frames;
// after a close frame it returns io.EOF.
func (w *wsClient) data() ([]byte, error) {
	for {
		op, fin, p, err := w.readFrame()
		if err != nil {
			return nil, err
		}
		switch op {
		case wsOpBinary:
			if !fin {
				return nil, errors.New("fragmented frame from the server")
			}
			return p, nil
		case wsOpPong:
			w.pong = p
		case wsOpClose:
			w.code = int(wsCloseCode(p))
			return nil, io.EOF
		default:
			return nil, fmt.Errorf("unexpected opcode %#x", op)
		}
	}
}

func (w *wsClient) line() (string, error) {
	for {
		if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
			s := string(w.buf[:i])
			w.buf = w.buf[i+1:]
			return s, nil
		}
		p, err := w.data()
		if err != nil {
			return "", err
		}
		w.buf = append(w.buf, p...)
	}
}

// packets reads MQTT packets (v3.1.1) until n have arrived.
func (w *wsClient) packets(n int) []mq.Packet {
	w.t.Helper()
	var out []mq.Packet
	for len(out) < n {
		for len(w.buf) > 0 {
			p, used, err := mq.Decode(w.buf, mq.V311, 0)
			if err != nil {
				break
			}
			out = append(out, p)
			w.buf = w.buf[used:]
		}
		if len(out) >= n {
			break
		}
		b, err := w.data()
		if err != nil {
			w.t.Fatalf("after %d packets: %v", len(out), err)
		}
		w.buf = append(w.buf, b...)
	}
	return out
}

func encodeV311(t *testing.T, ps ...mq.Packet) []byte {
	t.Helper()
	var b []byte
	for _, p := range ps {
		var err error
		if b, err = mq.Encode(b, p, mq.V311); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestWSSRoundTripPahoV3(t *testing.T) {
	e := newEnv(t, true)
	received := make(chan string, 10)
	opts := pahov3.NewClientOptions().AddBroker("wss://" + e.addr + "/mqtt").SetClientID("wss-paho").
		SetTLSConfig(clientTLS(t, e.dir, false)).SetProtocolVersion(4).SetAutoReconnect(false).
		SetDefaultPublishHandler(func(_ pahov3.Client, m pahov3.Message) { received <- string(m.Payload()) })
	c := pahov3.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect over wss: %v", tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Subscribe("wss/t", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	for i := range 3 {
		if tok := c.Publish("wss/t", 1, false, fmt.Sprint("m", i)); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	for i := range 3 {
		select {
		case m := <-received:
			if m != fmt.Sprint("m", i) {
				t.Fatalf("got %q, want m%d", m, i)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no message over wss")
		}
	}
	infos, _ := e.ad.snapshot()
	if len(infos) != 1 || infos[0].Listener != "wss:default" || infos[0].TLS == nil {
		t.Fatalf("ConnInfo %+v", infos)
	}
}

func TestWSSSubprotocolEchoGorilla(t *testing.T) {
	e := newEnv(t, true)
	d := websocket.Dialer{TLSClientConfig: clientTLS(t, e.dir, false), Subprotocols: []string{"foo", "mqtt"},
		HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial("wss://"+e.addr+"/mqtt", nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer ws.Close()
	if ws.Subprotocol() != "mqtt" {
		t.Fatalf("subprotocol %q, want mqtt", ws.Subprotocol())
	}
	// CONNECT split in two frames (a fragmented message), then SUBSCRIBE
	// and PINGREQ in one frame.
	connect := encodeV311(t, &mq.Connect{ProtocolName: "MQTT", ProtocolLevel: mq.V311, CleanStart: true, KeepAlive: 30, ClientID: "gorilla"})
	w, err := ws.NextWriter(websocket.BinaryMessage)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(connect[:5])
	_ = w.Close()
	if err := ws.WriteMessage(websocket.BinaryMessage, connect[5:]); err != nil {
		t.Fatal(err)
	}
	both := encodeV311(t, &mq.Subscribe{PacketID: 1, Subscriptions: []mq.Subscription{{Filter: "g/#", QoS: 1}}}, &mq.Pingreq{})
	if err := ws.WriteMessage(websocket.BinaryMessage, both); err != nil {
		t.Fatal(err)
	}
	var got []byte
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(got) < 4+5+2 { // CONNACK, SUBACK, PINGRESP
		mt, p, err := ws.ReadMessage()
		if err != nil || mt != websocket.BinaryMessage {
			t.Fatalf("read: %v (type %d)", err, mt)
		}
		got = append(got, p...)
	}
	if want := []byte{0x20, 2, 0, 0, 0x90, 3, 0, 1, 1, 0xd0, 0}; !bytes.Equal(got, want) {
		t.Fatalf("got % x, want % x", got, want)
	}
	// Ping → pong with the same payload.
	pong := make(chan string, 1)
	ws.SetPongHandler(func(s string) error { pong <- s; return nil })
	if err := ws.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	go func() { _, _, _ = ws.ReadMessage() }() // the reader runs the pong handler
	select {
	case s := <-pong:
		if s != "are you there" {
			t.Fatalf("pong %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong")
	}
}

func TestWSSFramingAndClose(t *testing.T) {
	e := newEnv(t, true)
	w, resp := e.dialWS("/mqtt", "Sec-WebSocket-Protocol: foo, mqtt-v5")
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Protocol") != "mqtt-v5" {
		t.Fatalf("upgrade: %s, protocol %q", resp.Status, resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	connect := encodeV311(t, &mq.Connect{ProtocolName: "MQTT", ProtocolLevel: mq.V311, CleanStart: true, KeepAlive: 30, ClientID: "raw"})
	// One byte per frame, a ping in the middle of the fragmented message.
	for i, b := range connect {
		op := byte(wsOpContinuation)
		if i == 0 {
			op = wsOpBinary
		}
		if err := w.writeFrame(i == len(connect)-1, op, []byte{b}); err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			if err := w.writeFrame(true, wsOpPing, []byte("p")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if ps := w.packets(1); ps[0].Type() != mq.TypeConnack {
		t.Fatalf("got %v, want CONNACK", ps[0].Type())
	}
	if string(w.pong) != "p" {
		t.Fatalf("pong payload %q", w.pong)
	}
	// The peer's close frame is echoed, then the connection ends cleanly.
	if err := w.writeFrame(true, wsOpClose, []byte{0x03, 0xe8}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.data(); err != io.EOF || w.code != 1000 {
		t.Fatalf("after close: %v, code %d; want our close frame 1000", err, w.code)
	}
	e.closedMQTT(0, nil)
}

// closedMQTT waits for channel i's single Close.
func (e *env) closedMQTT(i int, want error) {
	e.t.Helper()
	e.closedWith(i, want)
}

func TestWSSProtocolErrors(t *testing.T) {
	e := newEnv(t, true)
	cases := []struct {
		name string
		send func(w *wsClient) error
		code int
		err  error
	}{
		{"text frame", func(w *wsClient) error { return w.writeFrame(true, wsOpText, []byte("hi")) }, 1003, ErrWebSocketText},
		{"unmasked frame", func(w *wsClient) error {
			_, err := w.conn.Write([]byte{0x82, 0x01, 0x10})
			return err
		}, 1002, ErrWebSocketProtocol},
		{"continuation without a start", func(w *wsClient) error { return w.writeFrame(true, wsOpContinuation, []byte{1}) }, 1002, ErrWebSocketProtocol},
		{"reserved opcode", func(w *wsClient) error { return w.writeFrame(true, 0x3, nil) }, 1002, ErrWebSocketProtocol},
		{"fragmented ping", func(w *wsClient) error { return w.writeFrame(false, wsOpPing, nil) }, 1002, ErrWebSocketProtocol},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, resp := e.dialWS("/mqtt", "Sec-WebSocket-Protocol: mqtt")
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatal(resp.Status)
			}
			if err := tc.send(w); err != nil {
				t.Fatal(err)
			}
			if _, err := w.data(); err != io.EOF || w.code != tc.code {
				t.Fatalf("got %v, close code %d; want close %d", err, w.code, tc.code)
			}
			e.closedWith(i, tc.err)
		})
	}
}

func TestWSSMaxFrameSize(t *testing.T) {
	e := newEnv(t, true, func(_ *config.SSLOptions, c *Config) { c.WebSocket.MaxFrameSize = 64 })
	w, _ := e.dialWS("/mqtt", "Sec-WebSocket-Protocol: mqtt")
	if err := w.writeFrame(true, wsOpBinary, make([]byte, 65)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.data(); err != io.EOF || w.code != 1009 {
		t.Fatalf("got %v, close code %d; want 1009", err, w.code)
	}
	e.closedWith(0, ErrWebSocketFrameTooLarge)
}

func TestWSSUpgradeRefusals(t *testing.T) {
	e := newEnv(t, true, func(_ *config.SSLOptions, c *Config) {
		c.WebSocket.FailIfNoSubprotocol = true
		c.WebSocket.CheckOrigin = true
		c.WebSocket.Origins = []string{"https://ok.example"}
	})
	cases := []struct {
		name    string
		path    string
		headers []string
		status  int
	}{
		{"wrong path", "/other", []string{"Sec-WebSocket-Protocol: mqtt"}, 404},
		{"no subprotocol", "/mqtt", nil, 400},
		{"unsupported subprotocol", "/mqtt", []string{"Sec-WebSocket-Protocol: amqp"}, 400},
		{"bad origin", "/mqtt", []string{"Sec-WebSocket-Protocol: mqtt", "Origin: https://evil.example"}, 403},
		{"good origin", "/mqtt", []string{"Sec-WebSocket-Protocol: mqtt", "Origin: https://ok.example"}, 101},
		{"no origin allowed", "/mqtt", []string{"Sec-WebSocket-Protocol: mqtt"}, 101},
		{"old version", "/mqtt", []string{"Sec-WebSocket-Protocol: mqtt", "Sec-WebSocket-Version: 8"}, 426},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, resp := e.dialWS(tc.path, tc.headers...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %s, want %d", resp.Status, tc.status)
			}
		})
	}
	// Without fail_if_no_subprotocol an upgrade with none is accepted, and
	// no protocol is echoed.
	e2 := newEnv(t, true, func(_ *config.SSLOptions, c *Config) { c.WebSocket.FailIfNoSubprotocol = false })
	if _, resp := e2.dialWS("/mqtt"); resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Protocol") != "" {
		t.Fatalf("status %s, protocol %q", resp.Status, resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	if infos, _ := e.ad.snapshot(); len(infos) != 2 {
		t.Fatalf("%d channels, want 2 (refused upgrades get none)", len(infos))
	}
}

// A client may send its first frames right behind the upgrade request,
// before our answer; they must not be lost.
func TestWSSFramesRightAfterUpgradeRequest(t *testing.T) {
	e := lineEnv(t, true)
	c, err := e.dialTLS(clientTLS(t, e.dir, false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	w := &wsClient{t: t, conn: c}
	var req bytes.Buffer
	req.WriteString("GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n")
	w.conn = &captureConn{Conn: c, buf: &req}
	if err := w.writeFrame(true, wsOpBinary, []byte("early\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(req.Bytes()); err != nil { // request and frame in one write
		t.Fatal(err)
	}
	w.conn = c
	w.r = bufio.NewReader(c)
	resp, err := http.ReadResponse(w.r, nil)
	if err != nil || resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	lc := &lineClient{t: t, conn: c, ws: w}
	lc.expect("HELLO", "early")
}

// captureConn collects writes into buf instead of sending them.
type captureConn struct {
	*tls.Conn
	buf *bytes.Buffer
}

func (c *captureConn) Write(p []byte) (int, error) { return c.buf.Write(p) }

func TestWSMaskRotation(t *testing.T) {
	mask := [4]byte{1, 2, 3, 4}
	for pos := range 4 {
		for n := range 40 {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(i * 7)
			}
			want := append([]byte(nil), b...)
			for i := range want {
				want[i] ^= mask[(pos+i)&3]
			}
			wsMask(b, mask, pos)
			if !bytes.Equal(b, want) {
				t.Fatalf("pos %d len %d: % x, want % x", pos, n, b, want)
			}
		}
	}
	if got := strings.ToUpper(fmt.Sprintf("% x", wsFrameInPlace(append(make([]byte, wsMaxHeader), "hi"...), wsMaxHeader))); got != "82 02 68 69" {
		t.Fatalf("frame %s", got)
	}
}

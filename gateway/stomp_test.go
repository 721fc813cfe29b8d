package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"
	"github.com/gorilla/websocket"

	mq "github.com/manifold-iot/manifold/codec/mqtt"
	sc "github.com/manifold-iot/manifold/codec/stomp"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/internal/testkit"
)

// stompConn is a minimal STOMP client over a byte stream for these tests.
type stompConn struct {
	t   *testing.T
	c   net.Conn
	buf []byte
}

func dialSTOMP(t *testing.T, addr string) *stompConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &stompConn{t: t, c: c}
}

func (s *stompConn) send(cmd string, kv ...string) {
	s.t.Helper()
	f := frame.New(cmd, kv...)
	b, err := sc.Encode(nil, f, sc.V12)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.c.Write(b); err != nil {
		s.t.Fatal(err)
	}
}

func (s *stompConn) read() *frame.Frame {
	s.t.Helper()
	_ = s.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, n, err := sc.Decode(s.buf, sc.V12, sc.Limits{})
		if err == nil {
			s.buf = s.buf[n:]
			if fr, ok := f.(*frame.Frame); ok {
				return fr
			}
			continue
		}
		tmp := make([]byte, 4096)
		m, rerr := s.c.Read(tmp)
		if rerr != nil {
			s.t.Fatalf("read: %v (have %q)", rerr, s.buf)
		}
		s.buf = append(s.buf, tmp[:m]...)
	}
}

func TestStompOverTCPMeetsMQTT(t *testing.T) {
	srv, addr := startServer(t, testConfig(t))
	st := dialSTOMP(t, gwAddr(t, srv, "stomp:tcp:default"))
	st.send("CONNECT", "accept-version", "1.2", "host", "x")
	if f := st.read(); f.Command != "CONNECTED" {
		t.Fatalf("%v", f)
	}
	st.send("SUBSCRIBE", "id", "0", "destination", "chat/#", "receipt", "s")
	if f := st.read(); f.Command != "RECEIPT" {
		t.Fatalf("%v", f)
	}
	// MQTT → STOMP
	m := dialMQTT(t, addr, mq.V311, "m")
	m.send(&mq.Publish{Topic: "chat/lobby", Payload: []byte("from mqtt")})
	if f := st.read(); f.Command != "MESSAGE" || string(f.Body) != "from mqtt" || f.Header.Get("destination") != "chat/lobby" {
		t.Fatalf("%v %q", f.Header, f.Body)
	}
	// STOMP → MQTT
	m.send(&mq.Subscribe{PacketID: 1, Subscriptions: []mq.Subscription{{Filter: "chat/#"}}})
	if _, ok := m.read().(*mq.Suback); !ok {
		t.Fatal("no SUBACK")
	}
	st.send("SEND", "destination", "chat/lobby", "receipt", "p")
	if f := st.read(); f.Command != "RECEIPT" {
		t.Fatalf("%v", f)
	}
	for {
		p, ok := m.read().(*mq.Publish)
		if !ok {
			t.Fatal("no PUBLISH")
		}
		if p.Topic == "chat/lobby" && len(p.Payload) == 0 {
			break
		}
	}
}

func TestStompOverWebSocket(t *testing.T) {
	srv, _ := startServer(t, testConfig(t))
	url := "ws://" + gwAddr(t, srv, "stomp:http:default") + "/stomp/websocket"
	d := websocket.Dialer{Subprotocols: []string{"v12.stomp"}}
	c, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if resp.Header.Get("Sec-WebSocket-Protocol") != "v12.stomp" {
		t.Errorf("subprotocol %q", resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	write := func(s string) {
		if err := c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	read := func() string {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	write("CONNECT\naccept-version:1.2\nhost:x\n\n\x00")
	if got := read(); !strings.HasPrefix(got, "CONNECTED\n") {
		t.Fatalf("%q", got)
	}
	// A frame split over two messages, and two frames in one.
	write("SUBSCRIBE\nid:0\ndestination:a\n")
	write("\n\x00SEND\ndestination:a\n\nhi\x00")
	if got := read(); !strings.HasPrefix(got, "MESSAGE\n") || !strings.HasSuffix(got, "\n\nhi\x00") {
		t.Fatalf("%q", got)
	}
}

func TestStompOverSockJSXHRPolling(t *testing.T) {
	srv, _ := startServer(t, testConfig(t))
	base := "http://" + gwAddr(t, srv, "stomp:http:default") + "/stomp/000/sess1/"
	post := func(path, body string) string {
		resp, err := http.Post(base+path, "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := post("xhr", ""); got != "o\n" {
		t.Fatalf("open frame %q", got)
	}
	send := func(frames ...string) {
		b, _ := json.Marshal(frames)
		post("xhr_send", string(b))
	}
	poll := func() []string {
		got := post("xhr", "")
		// sockjs-go detaches the previous poll's receiver asynchronously: a
		// poll sent right after one returned may be told another connection
		// is still open (2010); sockjs-client then polls again, and so do we.
		for i := 0; i < 50 && strings.HasPrefix(got, "c[2010,"); i++ {
			time.Sleep(10 * time.Millisecond)
			got = post("xhr", "")
		}
		if !strings.HasPrefix(got, "a") {
			t.Fatalf("poll %q", got)
		}
		var msgs []string
		if err := json.NewDecoder(bufio.NewReader(strings.NewReader(got[1:]))).Decode(&msgs); err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	send("CONNECT\naccept-version:1.1\nhost:x\n\n\x00")
	if msgs := poll(); !strings.HasPrefix(msgs[0], "CONNECTED\n") {
		t.Fatalf("%q", msgs)
	}
	send("SUBSCRIBE\nid:0\ndestination:s/#\n\n\x00", "SEND\ndestination:s/1\n\nsockjs\x00")
	if msgs := poll(); !strings.Contains(msgs[0], "\n\nsockjs\x00") {
		t.Fatalf("%q", msgs)
	}
	// A binary payload cannot cross SockJS: it is not delivered, the next
	// text one is.
	for _, p := range [][]byte{{0xff, 0xfe}, []byte("text")} {
		if _, err := srv.Broker().Publish(&core.Message{Topic: "s/2", Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	if msgs := poll(); len(msgs) != 1 || !strings.HasSuffix(msgs[0], "\n\ntext\x00") {
		t.Fatalf("%q", msgs)
	}
	// A bad frame gets an ERROR frame, then the session closes.
	send("BOGUS\n\n\x00")
	msgs := poll()
	if !strings.HasPrefix(msgs[0], "ERROR\n") {
		t.Fatalf("%q", msgs)
	}
}

func TestStompDemoPage(t *testing.T) {
	srv, _ := startServer(t, testConfig(t))
	resp, err := http.Get("http://" + gwAddr(t, srv, "stomp:http:default") + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte("<html")) && !bytes.Contains(b, []byte("<!doctype html")) {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}
}

// gwAddr waits for a gateway listener to be up (they start after the MQTT
// listeners) and returns its address.
func gwAddr(t *testing.T, srv *Server, key string) string {
	t.Helper()
	var a net.Addr
	if !testkit.Eventually(5*time.Second, func() bool { a = srv.Addr(key); return a != nil }) {
		t.Fatalf("listener %s never started", key)
	}
	return a.String()
}

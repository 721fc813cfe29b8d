package edge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/manifold-iot/manifold/adapters"
)

func wsTestConfig() WSConfig {
	cfg := DefaultWSConfig()
	cfg.TCPConfig = testConfig()
	cfg.Name = DefaultWSName
	return cfg
}

// startWS starts a WebSocket listener for a and stops it when the test ends.
func startWS(t testing.TB, cfg WSConfig, a adapters.Adapter, ctx adapters.Context) *Server {
	t.Helper()
	s := NewWS(cfg, a, ctx, testLogger(t))
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Start(sctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

// wsClient is a hand-rolled WebSocket client: it writes exactly the frames
// a test asks for (malformed ones too) and reads the server's frames with
// gobwas/ws's header parser, which checks them independently.
type wsClient struct {
	t testing.TB
	net.Conn
	r    *bufio.Reader
	key  [4]byte
	data []byte // binary payload read but not yet consumed as lines
}

func dialWSRaw(t testing.TB, s *Server) *wsClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return &wsClient{t: t, Conn: nc, r: bufio.NewReaderSize(nc, 64<<10), key: [4]byte{0x37, 0xfa, 0x21, 0x3d}}
}

// upgradeReq is a valid Upgrade for path with extra header lines.
func upgradeReq(path string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", path)
	b.WriteString("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// roundTrip sends a raw request and reads the HTTP response (its body too).
func (c *wsClient) roundTrip(req string) (*http.Response, string) {
	c.t.Helper()
	c.send(req)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	var body []byte
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ = io.ReadAll(resp.Body)
	}
	return resp, string(body)
}

// upgrade completes a handshake offering "mqtt".
func (c *wsClient) upgrade() {
	c.t.Helper()
	resp, body := c.roundTrip(upgradeReq("/mqtt", "Sec-WebSocket-Protocol: mqtt"))
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.t.Fatalf("status %d %q", resp.StatusCode, body)
	}
}

func (c *wsClient) send(s string) {
	c.t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// frame encodes a client frame, masked unless unmasked is set.
func (c *wsClient) frame(fin bool, op byte, payload []byte, unmasked bool) []byte {
	var b []byte
	b0 := op
	if fin {
		b0 |= 0x80
	}
	mbit := byte(0x80)
	if unmasked {
		mbit = 0
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, b0, mbit|byte(n))
	case n <= 0xFFFF:
		b = append(b, b0, mbit|126, byte(n>>8), byte(n))
	default:
		b = append(b, b0, mbit|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if unmasked {
		return append(b, payload...)
	}
	b = append(b, c.key[:]...)
	start := len(b)
	b = append(b, payload...)
	for i := range payload {
		b[start+i] ^= c.key[i&3]
	}
	return b
}

func (c *wsClient) sendFrame(fin bool, op byte, payload string) {
	c.t.Helper()
	if _, err := c.Write(c.frame(fin, op, []byte(payload), false)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *wsClient) sendBinary(payload string) { c.t.Helper(); c.sendFrame(true, opBinary, payload) }

// readFrame reads one server frame; server frames must be unmasked, final
// or continuation-free, without reserved bits.
func (c *wsClient) readFrame() (ws.Header, []byte, error) {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	h, err := ws.ReadHeader(c.r)
	if err != nil {
		return h, nil, err
	}
	if h.Masked || h.Rsv != 0 || !h.Fin || h.OpCode == ws.OpContinuation || h.OpCode == ws.OpText {
		c.t.Fatalf("bad server frame header %+v", h)
	}
	p := make([]byte, h.Length)
	_, err = io.ReadFull(c.r, p)
	return h, p, err
}

// readLine reads one line out of the binary frames the server sends.
func (c *wsClient) readLine() (string, error) {
	for {
		if i := bytes.IndexByte(c.data, '\n'); i >= 0 {
			l := string(c.data[:i])
			c.data = c.data[i+1:]
			return l, nil
		}
		h, p, err := c.readFrame()
		if err != nil {
			return "", err
		}
		if h.OpCode != ws.OpBinary {
			return "", fmt.Errorf("got %v frame %q, want binary", h.OpCode, p)
		}
		c.data = append(c.data, p...)
	}
}

func (c *wsClient) expect(want string) {
	c.t.Helper()
	got, err := c.readLine()
	if err != nil || got != want {
		c.t.Fatalf("read: got %q, %v; want %q", got, err, want)
	}
}

// expectClose reads frames up to a close frame with code (0: an empty
// close frame) and then EOF; it returns the binary payload before it.
func (c *wsClient) expectClose(code ws.StatusCode) string {
	c.t.Helper()
	var data []byte
	for {
		h, p, err := c.readFrame()
		if err != nil {
			c.t.Fatalf("want a close frame %d, got %v", code, err)
		}
		switch h.OpCode {
		case ws.OpBinary:
			data = append(data, p...)
			continue
		case ws.OpClose:
		default:
			c.t.Fatalf("unexpected %v frame before close", h.OpCode)
		}
		got, _ := ws.ParseCloseFrameData(p)
		if got != code {
			c.t.Fatalf("close code %d, want %d", got, code)
		}
		break
	}
	c.expectEOF()
	return string(data)
}

func (c *wsClient) expectEOF() {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := c.r.ReadByte()
	if err == nil {
		c.t.Fatalf("read %#x, want EOF", b)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.t.Fatal("connection still open")
	}
}

// channel finds the line channel serving c.
func (c *wsClient) channel(a *lineAdapter) *lineChannel { return channelFor(c.t, a, c.LocalAddr()) }

// dialGobwas connects with gobwas/ws's client, offering protocols.
func dialGobwas(t testing.TB, s *Server, path string, protocols ...string) (net.Conn, *bufio.Reader, ws.Handshake, error) {
	t.Helper()
	d := ws.Dialer{Protocols: protocols, Timeout: 2 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, hs, err := d.Dial(ctx, "ws://"+s.Addr().String()+path)
	if err == nil {
		t.Cleanup(func() { _ = conn.Close() })
		if br == nil {
			br = bufio.NewReader(conn)
		}
	}
	return conn, br, hs, err
}

func TestWSHandshake(t *testing.T) {
	a := newLineAdapter()
	s := startWS(t, wsTestConfig(), a, nil)

	t.Run("subprotocol_echo_in_client_order", func(t *testing.T) {
		for _, tc := range []struct {
			offer []string
			want  string
		}{
			{[]string{"mqtt"}, "mqtt"}, // MQTT 5 §6
			{[]string{"mqttv3.1"}, "mqttv3.1"},
			{[]string{"chat", "mqtt-v5", "mqtt"}, "mqtt-v5"},
			{[]string{"MQTT", "mqtt-v3.1.1"}, "mqtt-v3.1.1"}, // names are case-sensitive
		} {
			conn, br, hs, err := dialGobwas(t, s, "/mqtt", tc.offer...)
			if err != nil {
				t.Fatalf("%v: %v", tc.offer, err)
			}
			if hs.Protocol != tc.want {
				t.Errorf("%v: protocol %q, want %q", tc.offer, hs.Protocol, tc.want)
			}
			if err := ws.WriteFrame(conn, ws.MaskFrame(ws.NewBinaryFrame([]byte("hi\n")))); err != nil {
				t.Fatal(err)
			}
			f, err := ws.ReadFrame(br)
			if err != nil || f.Header.OpCode != ws.OpBinary || string(f.Payload) != "hi\n" {
				t.Fatalf("echo: %+v %q %v", f.Header, f.Payload, err)
			}
		}
	})
	t.Run("accept_and_conn_info", func(t *testing.T) {
		// RFC 6455 §1.3's example key and accept value.
		c := dialWSRaw(t, s)
		resp, _ := c.roundTrip(upgradeReq("/mqtt?token=x", "Sec-WebSocket-Protocol: mqtt"))
		if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" ||
			resp.Header.Get("Sec-WebSocket-Protocol") != "mqtt" || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
			t.Fatalf("response %d %v", resp.StatusCode, resp.Header)
		}
		ch := c.channel(a)
		if ch.ci.Listener != "ws:default" || ch.ci.Local.String() != s.Addr().String() || ch.ci.Handle == nil {
			t.Fatalf("ConnInfo %+v", ch.ci)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		long := "X-Filler: " + strings.Repeat("a", 9000)
		for _, tc := range []struct {
			name, req string
			status    int
		}{
			{"wrong_path", upgradeReq("/other", "Sec-WebSocket-Protocol: mqtt"), 404},
			{"no_subprotocol", upgradeReq("/mqtt"), 400},
			{"unsupported_subprotocol", upgradeReq("/mqtt", "Sec-WebSocket-Protocol: chat, superchat"), 400},
			{"post", strings.Replace(upgradeReq("/mqtt", "Sec-WebSocket-Protocol: mqtt"), "GET", "POST", 1), 405},
			{"http_1_0", strings.Replace(upgradeReq("/mqtt", "Sec-WebSocket-Protocol: mqtt"), "HTTP/1.1", "HTTP/1.0", 1), 400},
			{"no_upgrade", strings.Replace(upgradeReq("/mqtt", "Sec-WebSocket-Protocol: mqtt"), "Upgrade: websocket\r\n", "", 1), 400},
			{"no_connection_upgrade", strings.Replace(upgradeReq("/mqtt", "Sec-WebSocket-Protocol: mqtt"), "Connection: Upgrade", "Connection: keep-alive", 1), 400},
			{"no_host", strings.Replace(upgradeReq("/mqtt", "Sec-WebSocket-Protocol: mqtt"), "Host: example.com\r\n", "", 1), 400},
			{"bad_key", strings.Replace(upgradeReq("/mqtt", "Sec-WebSocket-Protocol: mqtt"), "dGhlIHNhbXBsZSBub25jZQ==", "short", 1), 400},
			{"version_8", strings.Replace(upgradeReq("/mqtt", "Sec-WebSocket-Protocol: mqtt"), "Version: 13", "Version: 8", 1), 426},
			{"header_too_large", upgradeReq("/mqtt", "Sec-WebSocket-Protocol: mqtt", long), 431},
			{"folded_header", upgradeReq("/mqtt", "Sec-WebSocket-Protocol: mqtt", "X-A: b", " folded"), 400},
			{"not_http", "\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00", 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := dialWSRaw(t, s)
				resp, body := c.roundTrip(tc.req)
				if resp.StatusCode != tc.status || body == "" {
					t.Fatalf("status %d %q, want %d", resp.StatusCode, body, tc.status)
				}
				if tc.status == 426 && resp.Header.Get("Sec-WebSocket-Version") != "13" {
					t.Errorf("426 without Sec-WebSocket-Version: %v", resp.Header)
				}
				c.expectEOF()
			})
		}
		if !eventually(t, 2*time.Second, func() bool { return s.Connections() == 0 }) {
			t.Fatalf("Connections = %d after refusals", s.Connections())
		}
	})
	t.Run("gobwas_sees_404", func(t *testing.T) {
		_, _, _, err := dialGobwas(t, s, "/nope", "mqtt")
		var se ws.StatusError
		if !errors.As(err, &se) || int(se) != 404 {
			t.Fatalf("err %v, want status 404", err)
		}
	})
	t.Run("byte_by_byte_then_pipelined_frame", func(t *testing.T) {
		// The request trickles in; the first frame comes in the same
		// write as the request's last byte.
		c := dialWSRaw(t, s)
		req := upgradeReq("/mqtt", "Sec-WebSocket-Protocol: mqttv3.1")
		for i := 0; i < len(req)-1; i++ {
			c.send(req[i : i+1])
		}
		c.send(req[len(req)-1:] + string(c.frame(true, opBinary, []byte("early\n"), false)))
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(c.r, nil)
		if err != nil || resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Protocol") != "mqttv3.1" {
			t.Fatalf("response %v %v", resp, err)
		}
		c.expect("early")
	})
}

func TestWSHandshakePolicy(t *testing.T) {
	t.Run("subprotocol_optional", func(t *testing.T) {
		cfg := wsTestConfig()
		cfg.FailIfNoSubprotocol = false
		s := startWS(t, cfg, newLineAdapter(), nil)
		for _, offer := range [][]string{nil, {"chat"}} {
			conn, br, hs, err := dialGobwas(t, s, "/mqtt", offer...)
			if err != nil || hs.Protocol != "" {
				t.Fatalf("offer %v: %v, protocol %q", offer, err, hs.Protocol)
			}
			_ = ws.WriteFrame(conn, ws.MaskFrame(ws.NewBinaryFrame([]byte("ok\n"))))
			if f, err := ws.ReadFrame(br); err != nil || string(f.Payload) != "ok\n" {
				t.Fatalf("echo %q %v", f.Payload, err)
			}
		}
	})
	t.Run("origin", func(t *testing.T) {
		cfg := wsTestConfig()
		cfg.CheckOrigin = true
		cfg.AllowedOrigins = []string{"http://localhost:18083"}
		cfg.AllowOriginAbsence = false
		s := startWS(t, cfg, newLineAdapter(), nil)
		for _, tc := range []struct {
			origin string
			status int
		}{
			{"Origin: http://localhost:18083", 101},
			{"Origin: HTTP://LOCALHOST:18083", 101},
			{"Origin: http://evil.example", 403},
			{"", 403},
		} {
			c := dialWSRaw(t, s)
			extra := []string{"Sec-WebSocket-Protocol: mqtt"}
			if tc.origin != "" {
				extra = append(extra, tc.origin)
			}
			if resp, body := c.roundTrip(upgradeReq("/mqtt", extra...)); resp.StatusCode != tc.status {
				t.Errorf("%q: status %d %q, want %d", tc.origin, resp.StatusCode, body, tc.status)
			}
		}
		cfg.AllowOriginAbsence = true
		s = startWS(t, cfg, newLineAdapter(), nil)
		c := dialWSRaw(t, s)
		if resp, body := c.roundTrip(upgradeReq("/mqtt", "Sec-WebSocket-Protocol: mqtt")); resp.StatusCode != 101 {
			t.Errorf("absent origin allowed: status %d %q", resp.StatusCode, body)
		}
	})
	t.Run("proxy_headers", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			trusted []netip.Prefix
			headers []string
			want    func(peer netip.AddrPort) string
		}{
			{"address_and_port", nil, []string{"X-Forwarded-For: 203.0.113.7, 10.0.0.1", "X-Forwarded-Port: 4242"},
				func(netip.AddrPort) string { return "203.0.113.7:4242" }},
			{"address_only", nil, []string{"x-forwarded-for: 2001:db8::1"},
				func(p netip.AddrPort) string {
					return netip.AddrPortFrom(netip.MustParseAddr("2001:db8::1"), p.Port()).String()
				}},
			{"garbage_ignored", nil, []string{"X-Forwarded-For: unknown", "X-Forwarded-Port: 99999"},
				func(p netip.AddrPort) string { return p.String() }},
			{"untrusted_peer", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, []string{"X-Forwarded-For: 203.0.113.7"},
				func(p netip.AddrPort) string { return p.String() }},
			{"trusted_peer", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, []string{"X-Forwarded-For: 203.0.113.7"},
				func(p netip.AddrPort) string {
					return netip.AddrPortFrom(netip.MustParseAddr("203.0.113.7"), p.Port()).String()
				}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cfg := wsTestConfig()
				cfg.TrustedProxies = tc.trusted
				a := newLineAdapter()
				s := startWS(t, cfg, a, nil)
				c := dialWSRaw(t, s)
				if resp, _ := c.roundTrip(upgradeReq("/mqtt", append([]string{"Sec-WebSocket-Protocol: mqtt"}, tc.headers...)...)); resp.StatusCode != 101 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				ch := onlyChannel(t, a)
				peer := netip.MustParseAddrPort(c.LocalAddr().String())
				if got, want := ch.ci.Remote.String(), tc.want(peer); got != want {
					t.Fatalf("Remote = %s, want %s", got, want)
				}
			})
		}
	})
	t.Run("handshake_timeout", func(t *testing.T) {
		cfg := wsTestConfig()
		cfg.HandshakeTimeout = 100 * time.Millisecond
		cfg.IdleTimeout = -1
		a := newLineAdapter()
		s := startWS(t, cfg, a, nil)
		c := dialWSRaw(t, s)
		c.send("GET /mqtt HTTP/1.1\r\n") // and nothing more
		c.expectEOF()
		if !eventually(t, 2*time.Second, func() bool { return s.Connections() == 0 }) || len(a.channels()) != 0 {
			t.Fatalf("Connections = %d, channels %d", s.Connections(), len(a.channels()))
		}
	})
	t.Run("adapter_refusal", func(t *testing.T) {
		a := newLineAdapter()
		a.refuse.Store(true)
		s := startWS(t, wsTestConfig(), a, nil)
		c := dialWSRaw(t, s)
		if resp, _ := c.roundTrip(upgradeReq("/mqtt", "Sec-WebSocket-Protocol: mqtt")); resp.StatusCode != 403 {
			t.Fatalf("status %d, want 403", resp.StatusCode)
		}
		c.expectEOF()
		if !eventually(t, 2*time.Second, func() bool { return s.Connections() == 0 }) {
			t.Fatalf("Connections = %d", s.Connections())
		}
	})
	t.Run("config", func(t *testing.T) {
		cfg := wsTestConfig()
		cfg.Path = "mqtt"
		cfg.MaxFrameSize = -1
		cfg.Subprotocols = []string{"mqtt", "bad value"}
		err := NewWS(cfg, newLineAdapter(), nil, testLogger(t)).Start(context.Background())
		for _, key := range []string{
			"listeners.ws.default.websocket.mqtt_path",
			"listeners.ws.default.websocket.max_frame_size",
			"listeners.ws.default.websocket.supported_subprotocols.2",
		} {
			if err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("error %v does not name %s", err, key)
			}
		}
	})
}

func TestWSFrames(t *testing.T) {
	a := newLineAdapter()
	cfg := wsTestConfig()
	cfg.MaxFrameSize = 4096
	s := startWS(t, cfg, a, nil)

	t.Run("several_lines_in_one_frame_one_reply_frame", func(t *testing.T) {
		c := dialWSRaw(t, s)
		c.upgrade()
		c.sendBinary("a\nbb\nccc\n")
		// All replies of one event are one frame.
		h, p, err := c.readFrame()
		if err != nil || h.OpCode != ws.OpBinary || string(p) != "a\nbb\nccc\n" {
			t.Fatalf("%+v %q %v", h, p, err)
		}
	})
	t.Run("line_split_across_frames", func(t *testing.T) {
		c := dialWSRaw(t, s)
		c.upgrade()
		c.sendBinary("hel")
		c.sendBinary("lo\nwor")
		c.send(string(c.frame(true, opBinary, []byte("ld\n"), false)) + string(c.frame(true, opBinary, []byte("x"), false)))
		c.sendBinary("\n")
		for _, w := range []string{"hello", "world", "x"} {
			c.expect(w)
		}
	})
	t.Run("frame_byte_by_byte", func(t *testing.T) {
		c := dialWSRaw(t, s)
		c.upgrade()
		f := c.frame(true, opBinary, []byte(strings.Repeat("z", 300)+"\n"), false) // 16-bit length
		for i := range f {
			c.send(string(f[i : i+1]))
		}
		c.expect(strings.Repeat("z", 300))
	})
	t.Run("continuation_frames", func(t *testing.T) {
		c := dialWSRaw(t, s)
		c.upgrade()
		c.sendFrame(false, opBinary, "he")
		c.sendFrame(false, opContinuation, "")
		c.sendFrame(false, opContinuation, "ll")
		c.sendFrame(true, opContinuation, "o\nnext")
		c.sendBinary("\n")
		c.expect("hello")
		c.expect("next")
	})
	t.Run("ping_pong_inside_fragmented_message", func(t *testing.T) {
		c := dialWSRaw(t, s)
		c.upgrade()
		c.sendFrame(false, opBinary, "frag")
		c.sendFrame(true, opPing, "are you there")
		c.sendFrame(true, opPong, "unsolicited") // ignored
		c.sendFrame(true, opContinuation, "ment\n")
		h, p, err := c.readFrame()
		if err != nil || h.OpCode != ws.OpPong || string(p) != "are you there" {
			t.Fatalf("want pong echoing the payload, got %+v %q %v", h, p, err)
		}
		c.expect("fragment")
	})
	t.Run("large_frame_many_reads", func(t *testing.T) {
		// 64-bit length (no MaxFrameSize on this listener): the frame
		// spans many reads and lines straddle them.
		c := dialWSRaw(t, startWS(t, wsTestConfig(), a, nil))
		c.upgrade()
		var b strings.Builder
		const n = 4000
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "line-%d-%s\n", i, strings.Repeat("q", i%50))
		}
		errc := make(chan error, 1)
		go func() { _, err := c.Write(c.frame(true, opBinary, []byte(b.String()), false)); errc <- err }()
		for i := 0; i < n; i++ {
			want := fmt.Sprintf("line-%d-%s", i, strings.Repeat("q", i%50))
			if got, err := c.readLine(); err != nil || got != want {
				t.Fatalf("line %d: %q %v", i, got, err)
			}
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("close_handshake", func(t *testing.T) {
		c := dialWSRaw(t, s)
		c.upgrade()
		c.sendBinary("last\n")
		c.expect("last")
		ch := c.channel(a)
		c.send(string(c.frame(true, opClose, append([]byte{0x03, 0xe8}, "bye"...), false)))
		c.expectClose(ws.StatusNormalClosure)
		if !eventually(t, 2*time.Second, func() bool { return ch.closes.Load() == 1 }) || ch.closeReason() != nil {
			t.Fatalf("peer close: %v", ch)
		}
	})
	t.Run("empty_close_echoed_empty", func(t *testing.T) {
		c := dialWSRaw(t, s)
		c.upgrade()
		c.sendFrame(true, opClose, "")
		c.expectClose(0)
	})
	t.Run("channel_shutdown_sends_close_1000_after_last_bytes", func(t *testing.T) {
		c := dialWSRaw(t, s)
		c.upgrade()
		c.sendBinary("one\nQUIT\nignored\n")
		if data := c.expectClose(ws.StatusNormalClosure); data != "one\nBYE\n" {
			t.Fatalf("data before close %q", data)
		}
	})
	t.Run("posted_kick", func(t *testing.T) {
		c := dialWSRaw(t, s)
		c.upgrade()
		c.sendBinary("hi\n")
		c.expect("hi")
		c.channel(a).ci.Handle.Post("kick")
		if data := c.expectClose(ws.StatusNormalClosure); data != "KICKED\n" {
			t.Fatalf("data before close %q", data)
		}
	})
	t.Run("timer", func(t *testing.T) {
		c := dialWSRaw(t, s)
		c.upgrade()
		c.sendBinary("TIMER 10\n")
		c.expect("OK")
		c.expect("TICK")
	})
}

func TestWSFrameErrors(t *testing.T) {
	a := newLineAdapter()
	a.max = 4096 // over MaxInboundBuffered: the edge's bound comes first
	cfg := wsTestConfig()
	cfg.MaxFrameSize = 1024
	cfg.MaxInboundBuffered = 2048
	s := startWS(t, cfg, a, nil)
	for _, tc := range []struct {
		name  string
		frame func(c *wsClient) []byte
		code  ws.StatusCode
		err   error
	}{
		{"text_frame", func(c *wsClient) []byte { return c.frame(true, opText, []byte("hi\n"), false) },
			ws.StatusUnsupportedData, ErrWSUnsupportedData}, // [MQTT-6.0.0-1]
		{"unmasked", func(c *wsClient) []byte { return c.frame(true, opBinary, []byte("hi\n"), true) },
			ws.StatusProtocolError, ErrWSProtocol},
		{"over_max_frame_size", func(c *wsClient) []byte { return c.frame(true, opBinary, make([]byte, 1025), false) },
			ws.StatusMessageTooBig, ErrWSFrameTooLarge},
		{"control_over_125", func(c *wsClient) []byte { return c.frame(true, opPing, make([]byte, 126), false) },
			ws.StatusProtocolError, ErrWSProtocol},
		{"fragmented_control", func(c *wsClient) []byte { return c.frame(false, opPing, []byte("x"), false) },
			ws.StatusProtocolError, ErrWSProtocol},
		{"continuation_without_start", func(c *wsClient) []byte { return c.frame(true, opContinuation, []byte("x"), false) },
			ws.StatusProtocolError, ErrWSProtocol},
		{"data_inside_fragmented_message", func(c *wsClient) []byte {
			return append(c.frame(false, opBinary, []byte("x"), false), c.frame(true, opBinary, []byte("y"), false)...)
		}, ws.StatusProtocolError, ErrWSProtocol},
		{"reserved_bits", func(c *wsClient) []byte {
			f := c.frame(true, opBinary, []byte("x\n"), false)
			f[0] |= 0x40 // RSV1: permessage-deflate was not negotiated
			return f
		}, ws.StatusProtocolError, ErrWSProtocol},
		{"reserved_opcode", func(c *wsClient) []byte { return c.frame(true, 0x3, []byte("x"), false) },
			ws.StatusProtocolError, ErrWSProtocol},
		{"close_one_byte", func(c *wsClient) []byte { return c.frame(true, opClose, []byte{3}, false) },
			ws.StatusProtocolError, ErrWSProtocol},
		{"close_reserved_code", func(c *wsClient) []byte { return c.frame(true, opClose, []byte{0x03, 0xed}, false) }, // 1005
			ws.StatusProtocolError, ErrWSProtocol},
		{"close_reason_not_utf8", func(c *wsClient) []byte { return c.frame(true, opClose, []byte{0x03, 0xe8, 0xff}, false) },
			ws.StatusInvalidFramePayloadData, ErrWSInvalidClose},
		{"inbound_bound", func(c *wsClient) []byte {
			// A line (application frame) never ends: 3 frames of 1000 bytes
			// pass MaxInboundBuffered.
			var b []byte
			for i := 0; i < 3; i++ {
				b = append(b, c.frame(true, opBinary, bytes.Repeat([]byte("x"), 1000), false)...)
			}
			return b
		}, ws.StatusMessageTooBig, ErrInboundTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialWSRaw(t, s)
			c.upgrade()
			c.sendBinary("ok\n")
			c.expect("ok")
			ch := c.channel(a)
			if _, err := c.Write(tc.frame(c)); err != nil {
				t.Fatal(err)
			}
			data := c.expectClose(tc.code)
			if !eventually(t, 2*time.Second, func() bool { return ch.closes.Load() == 1 }) || !errors.Is(ch.closeReason(), tc.err) {
				t.Fatalf("close reason: %v, want %v", ch, tc.err)
			}
			// The channel had its say (HandleFrameError) before the close.
			if !strings.HasPrefix(data, "ERR ") || ch.frameErrs.Load() != 1 || ch.afterClose.Load() != 0 {
				t.Fatalf("data before close %q, %v", data, ch)
			}
		})
	}
	t.Run("codec_error", func(t *testing.T) {
		// The line codec refuses lines over 1024 bytes: a decode error is
		// a protocol error of the connection (1002).
		a := newLineAdapter()
		c := dialWSRaw(t, startWS(t, wsTestConfig(), a, nil))
		c.upgrade()
		ch := c.channel(a)
		c.sendBinary(strings.Repeat("y", 600))
		c.sendBinary(strings.Repeat("y", 600))
		if data := c.expectClose(ws.StatusProtocolError); !strings.HasPrefix(data, "ERR ") {
			t.Fatalf("data before close %q", data)
		}
		if !eventually(t, 2*time.Second, func() bool { return ch.closes.Load() == 1 }) || !errors.Is(ch.closeReason(), errLineTooLong) {
			t.Fatal(ch)
		}
	})
	if !eventually(t, 2*time.Second, func() bool { return s.Connections() == 0 }) {
		t.Fatalf("Connections = %d", s.Connections())
	}
}

// TestWSDeliveries queues 1000 messages for a subscriber over WebSocket:
// each drain's batch is one frame, and every line arrives in order.
func TestWSDeliveries(t *testing.T) {
	a := newLineAdapter()
	s := startWS(t, wsTestConfig(), a, nil)
	c := dialWSRaw(t, s)
	c.upgrade()
	c.sendBinary("SUB\n")
	c.expect("SUBSCRIBED")
	var ch *lineChannel
	select {
	case ch = <-a.subs:
	case <-time.After(2 * time.Second):
		t.Fatal("no subscriber")
	}
	const n = 1000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i += 10 {
			lines := make([]string, 10)
			for j := range lines {
				lines[j] = fmt.Sprintf("msg-%d", i+j)
			}
			ch.enqueue(lines...)
			ch.ci.Handle.Notify()
		}
	}()
	for i := 0; i < n; i++ {
		c.expect(fmt.Sprintf("msg-%d", i))
	}
	<-done
	if d := ch.delivers.Load(); d > n/10+5 {
		t.Logf("%d drains for %d messages", d, n)
	}
}

func TestWSRepliesAroundControlFrames(t *testing.T) {
	t.Run("open_replies_follow_the_101", func(t *testing.T) {
		a := newLineAdapter()
		a.greet = true
		c := dialWSRaw(t, startWS(t, wsTestConfig(), a, nil))
		c.upgrade()
		c.expect("HELLO")
	})
	t.Run("data_pong_data_in_one_event", func(t *testing.T) {
		// One read holds a line, a ping and a line: the replies are a
		// binary frame, the pong and a second binary frame, in order.
		a := newLineAdapter()
		c := dialWSRaw(t, startWS(t, wsTestConfig(), a, nil))
		c.upgrade()
		var b []byte
		b = append(b, c.frame(true, opBinary, []byte("first\n"), false)...)
		b = append(b, c.frame(true, opPing, []byte("p"), false)...)
		b = append(b, c.frame(true, opBinary, []byte(strings.Repeat("s", 200)+"\n"), false)...)
		c.send(string(b))
		for _, want := range []struct {
			op   ws.OpCode
			data string
		}{{ws.OpBinary, "first\n"}, {ws.OpPong, "p"}, {ws.OpBinary, strings.Repeat("s", 200) + "\n"}} {
			h, p, err := c.readFrame()
			if err != nil || h.OpCode != want.op || string(p) != want.data {
				t.Fatalf("got %v %q %v; want %v %q", h.OpCode, p, err, want.op, want.data)
			}
		}
	})
}

// TestWSOutboundFraming checks seal against gobwas/ws's parser for every
// header size, at the head of the buffer and behind other bytes.
func TestWSOutboundFraming(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 70000} {
		for _, prefix := range []int{0, 7} {
			w := newWSConn(&wsSettings{})
			out := bytes.Repeat([]byte{'P'}, prefix)
			out = w.openData(out)
			payload := bytes.Repeat([]byte{'x'}, n)
			out = append(out, payload...)
			out = w.seal(out)
			out = out[w.skip:]
			if n == 0 {
				if len(out) != prefix {
					t.Fatalf("n=0 prefix=%d: empty frame not dropped (%d bytes)", prefix, len(out))
				}
				continue
			}
			if prefix > 0 && w.skip != 0 {
				t.Fatalf("skip %d behind a prefix", w.skip)
			}
			r := bytes.NewReader(out[prefix:])
			h, err := ws.ReadHeader(r)
			if err != nil || h.OpCode != ws.OpBinary || !h.Fin || h.Masked || h.Length != int64(n) {
				t.Fatalf("n=%d prefix=%d: header %+v %v", n, prefix, h, err)
			}
			if rest, _ := io.ReadAll(r); !bytes.Equal(rest, payload) {
				t.Fatalf("n=%d prefix=%d: payload differs", n, prefix)
			}
		}
	}
}

// TestWSMask checks the word-at-a-time unmasking against gobwas/ws.Cipher
// for every length and key offset, and in pieces.
func TestWSMask(t *testing.T) {
	key := [4]byte{0xde, 0xad, 0xbe, 0xef}
	src := make([]byte, 300)
	for i := range src {
		src[i] = byte(i * 7)
	}
	for n := 0; n < len(src); n++ {
		for pos := 0; pos < 4; pos++ {
			want := append([]byte(nil), src[:n]...)
			ws.Cipher(want, key, pos)
			got := append([]byte(nil), src[:n]...)
			if next := mask(key, pos, got); next != (pos+n)&3 || !bytes.Equal(got, want) {
				t.Fatalf("n=%d pos=%d: differs from ws.Cipher", n, pos)
			}
		}
	}
	// In pieces, as a payload arrives over several reads.
	got := append([]byte(nil), src...)
	pos := 0
	for _, cut := range [][2]int{{0, 3}, {3, 50}, {50, 51}, {51, 300}} {
		pos = mask(key, pos, got[cut[0]:cut[1]])
	}
	want := append([]byte(nil), src...)
	ws.Cipher(want, key, 0)
	if !bytes.Equal(got, want) {
		t.Fatal("piecewise unmasking differs")
	}
}

package edge

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/panjf2000/gnet/v2"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
)

// WebSocket opcodes and close codes (RFC 6455 §5.2, §7.4.1).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA

	closeNormal          = 1000
	closeProtocolError   = 1002
	closeUnsupportedData = 1003
	closeInvalidPayload  = 1007
	closeMessageTooBig   = 1009

	// wsMaxHeader is the longest server frame header: no mask, 64-bit
	// length. Each outgoing data frame reserves it and uses what it needs.
	wsMaxHeader = 10
	// maxControlPayload bounds control frames (RFC 6455 §5.5).
	maxControlPayload = 125
	// appBufMin is the smallest application buffer a connection gets.
	appBufMin = 4 << 10
)

var reservedHeader [wsMaxHeader]byte

// errWSPeerClosed is the edge's close reason after the peer's close frame;
// the channel is told nil, as for a TCP EOF.
var errWSPeerClosed = errors.New("edge: websocket closed by the peer")

// NewWS makes an MQTT over WebSocket listener for adapter a: the same Server
// (Start, Addr, Stop, Connections) as NewTCP, whose connections first answer
// the HTTP Upgrade handshake and then carry the channel's bytes in binary
// WebSocket frames. The channel sees the same byte stream as over TCP.
// Zero config fields take their defaults (see WSConfig).
func NewWS(cfg WSConfig, a adapters.Adapter, ctx adapters.Context, log zerolog.Logger) *Server {
	cfg = cfg.withDefaults()
	s := NewTCP(cfg.TCPConfig, a, ctx, log)
	s.ws = newWSSettings(cfg)
	return s
}

// wsSettings is a WSConfig prepared for the loops: header names lowered,
// limits typed. It is immutable and shared by the listener's connections.
type wsSettings struct {
	cfg          WSConfig
	maxFrame     uint64 // 0: unlimited
	addrHeader   string // lower case; "" disabled
	portHeader   string // lower case; "" disabled
	subprotocols []string
	origins      []string
}

func newWSSettings(cfg WSConfig) *wsSettings {
	return &wsSettings{
		cfg:          cfg,
		maxFrame:     uint64(max(cfg.MaxFrameSize, 0)),
		addrHeader:   strings.ToLower(cfg.ProxyAddressHeader),
		portHeader:   strings.ToLower(cfg.ProxyPortHeader),
		subprotocols: slices.Clone(cfg.Subprotocols),
		origins:      slices.Clone(cfg.AllowedOrigins),
	}
}

// wsConn is the WebSocket transport state of one connection, between gnet's
// bytes and the channel's codec. It is touched only on the connection's loop.
type wsConn struct {
	set      *wsSettings
	upgraded bool // the 101 went out: frames from here on

	// Inbound. A data frame's payload is unmasked as it arrives (in gnet's
	// buffer, in place) and handed to the codec; only an incomplete
	// application frame is copied, into app.
	remain     uint64  // payload bytes of the current data frame still to come
	key        [4]byte // its masking key
	keyPos     int     // offset into key of the next payload byte
	fragmented bool    // a data message is open: continuations expected
	app        []byte  // the start of an incomplete application frame (borrowed from the loop)
	peerCode   uint16  // close code of the peer's close frame (0: none given)
	errCode    uint16  // close code chosen for an inbound error

	// Outbound. Everything one event writes goes into the loop's output
	// buffer: one binary frame for the channel's bytes (its header space
	// reserved at frameAt and filled when sealed), control frames between.
	frameAt   int // offset of the open data frame's reserved header; -1 none
	skip      int // unused header bytes at the head of the output buffer
	closeSent bool
	closeRecv bool // the peer's close frame has arrived
}

func newWSConn(set *wsSettings) *wsConn { return &wsConn{set: set, frameAt: -1} }

// openData makes sure a binary frame is open at the end of out, so what the
// channel writes next becomes its payload.
func (w *wsConn) openData(out []byte) []byte {
	if w.frameAt >= 0 {
		return out
	}
	w.frameAt = len(out)
	return append(out, reservedHeader[:]...)
}

// seal writes the open data frame's header (or drops the frame if it is
// empty). The header is right-aligned in its reserved space: at the head of
// the buffer the unused bytes are skipped at write time (the usual case, no
// copy); further in, the frame is moved down over them.
func (w *wsConn) seal(out []byte) []byte {
	at := w.frameAt
	if at < 0 {
		return out
	}
	w.frameAt = -1
	n := len(out) - at - wsMaxHeader
	if n == 0 {
		return out[:at]
	}
	h := frameHeaderLen(n)
	hs := at + wsMaxHeader - h
	putFrameHeader(out[hs:at+wsMaxHeader], opBinary, n)
	if at == 0 {
		w.skip = hs
		return out
	}
	copy(out[at:], out[hs:])
	return out[:len(out)-(hs-at)]
}

// appendControl seals the open data frame and appends a control frame.
func (w *wsConn) appendControl(out []byte, op byte, payload []byte) []byte {
	out = w.seal(out)
	out = append(out, 0x80|op, byte(len(payload)))
	return append(out, payload...)
}

// appendClose appends the close frame for reason stop: the peer's code
// echoed, the code of an inbound error, or 1000 for a channel's Shutdown.
// RFC 6455 §5.5.1, §7.4.
func (w *wsConn) appendClose(out []byte, stop error) []byte {
	w.closeSent = true
	var code uint16
	switch {
	case stop == errWSPeerClosed:
		code = w.peerCode // 0: the peer gave none, so neither do we
	case w.errCode != 0:
		code = w.errCode
	default:
		code = closeNormal
	}
	if code == 0 {
		return w.appendControl(out, opClose, nil)
	}
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], code)
	return w.appendControl(out, opClose, b[:])
}

// closeCodeFor is the close code of an inbound error.
func closeCodeFor(err error) uint16 {
	switch {
	case errors.Is(err, ErrWSUnsupportedData):
		return closeUnsupportedData
	case errors.Is(err, ErrWSFrameTooLarge), errors.Is(err, ErrInboundTooLarge):
		return closeMessageTooBig
	case errors.Is(err, ErrWSInvalidClose):
		return closeInvalidPayload
	}
	// ErrWSProtocol, and bytes the channel's codec could not decode: the
	// protocol carried by the connection was broken.
	return closeProtocolError
}

func frameHeaderLen(n int) int {
	switch {
	case n < 126:
		return 2
	case n <= 0xFFFF:
		return 4
	}
	return 10
}

// putFrameHeader writes a final, unmasked (server) frame header into b,
// which is exactly frameHeaderLen(n) long.
func putFrameHeader(b []byte, op byte, n int) {
	b[0] = 0x80 | op
	switch len(b) {
	case 2:
		b[1] = byte(n)
	case 4:
		b[1] = 126
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	default:
		b[1] = 127
		binary.BigEndian.PutUint64(b[2:], uint64(n))
	}
}

// mask XORs b with key, starting at key offset pos, and returns the offset
// after b. It works eight bytes at a time (RFC 6455 §5.3).
func mask(key [4]byte, pos int, b []byte) int {
	var rk [4]byte
	for i := range rk {
		rk[i] = key[(pos+i)&3]
	}
	next := (pos + len(b)) & 3
	k32 := uint64(binary.LittleEndian.Uint32(rk[:]))
	k64 := k32 | k32<<32
	for len(b) >= 32 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
		binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^k64)
		binary.LittleEndian.PutUint64(b[16:], binary.LittleEndian.Uint64(b[16:])^k64)
		binary.LittleEndian.PutUint64(b[24:], binary.LittleEndian.Uint64(b[24:])^k64)
		b = b[32:]
	}
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= rk[i&3]
	}
	return next
}

// frameHeader is one parsed client frame header.
type frameHeader struct {
	fin    bool
	op     byte
	length uint64
	key    [4]byte
	size   int // header bytes
}

func wsProtocolError(detail string) error { return fmt.Errorf("%w: %s", ErrWSProtocol, detail) }

// parseFrameHeader parses and checks the frame header at the head of b. It
// returns size 0 when b holds only part of it; the checks that need only
// the first two bytes run as soon as they are there.
func (w *wsConn) parseFrameHeader(b []byte) (frameHeader, error) {
	var h frameHeader
	if len(b) < 2 {
		return h, nil
	}
	b0, b1 := b[0], b[1]
	h.fin, h.op = b0&0x80 != 0, b0&0x0F
	if b0&0x70 != 0 {
		return h, wsProtocolError("reserved bits set") // no extension was negotiated [RFC 6455 §5.2]
	}
	if b1&0x80 == 0 {
		return h, wsProtocolError("unmasked client frame") // RFC 6455 §5.1
	}
	switch h.op {
	case opBinary:
		if w.fragmented {
			return h, wsProtocolError("new data frame inside a fragmented message") // §5.4
		}
	case opContinuation:
		if !w.fragmented {
			return h, wsProtocolError("continuation frame without a message") // §5.4
		}
	case opText:
		return h, ErrWSUnsupportedData // [MQTT-6.0.0-1]
	case opClose, opPing, opPong:
		if !h.fin {
			return h, wsProtocolError("fragmented control frame") // §5.5
		}
		if b1&0x7F > maxControlPayload {
			return h, wsProtocolError("control frame over 125 bytes") // §5.5
		}
	default:
		return h, wsProtocolError(fmt.Sprintf("reserved opcode %#x", h.op)) // §5.2
	}
	size := 2 + 4
	switch b1 & 0x7F {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if len(b) < size {
		return h, nil
	}
	switch l := b1 & 0x7F; l {
	case 126:
		h.length = uint64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		h.length = binary.BigEndian.Uint64(b[2:])
		if h.length>>63 != 0 {
			return h, wsProtocolError("64-bit length with the high bit set") // §5.2
		}
	default:
		h.length = uint64(l)
	}
	if m := w.set.maxFrame; m > 0 && h.length > m {
		return h, ErrWSFrameTooLarge
	}
	copy(h.key[:], b[size-4:size])
	h.size = size
	return h, nil
}

// checkClose validates a close frame's (unmasked) payload and remembers the
// code to echo. RFC 6455 §5.5.1, §7.4.
func (w *wsConn) checkClose(p []byte) error {
	switch {
	case len(p) == 0:
		return nil
	case len(p) == 1:
		return wsProtocolError("close frame with a 1-byte payload")
	}
	code := binary.BigEndian.Uint16(p)
	if !validCloseCode(code) {
		return wsProtocolError(fmt.Sprintf("close code %d", code))
	}
	if !utf8.Valid(p[2:]) {
		return ErrWSInvalidClose
	}
	w.peerCode = code
	return nil
}

// validCloseCode reports whether a peer may send code (RFC 6455 §7.4.1,
// §7.4.2: 1004-1006 and 1015 are never sent; 3000-4999 are registered or
// private).
func validCloseCode(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// onTrafficWS is OnTraffic for a WebSocket connection: the handshake first,
// then frames. Data payloads are unmasked in place in gnet's buffer and
// decoded straight from it; only the start of an incomplete application
// frame is copied (into the per-connection app buffer, which the next
// payload extends). Like the TCP path, every frame decoded is handled and
// its replies encoded before the bytes behind it are discarded or reused.
func (c *conn) onTrafficWS() gnet.Action {
	gc, ls, w := c.gc, c.ls, c.ws
	ls.streak = 0
	if c.closed {
		_, _ = gc.Discard(-1)
		return gnet.Close
	}
	if c.closing {
		// Whatever the peer sends now (its close frame, most likely) is read
		// and dropped; once it has spoken the socket can close cleanly.
		_, _ = gc.Discard(-1)
		if c.awaitPeer {
			c.awaitPeer = false
			if gc.OutboundBuffered() == 0 {
				return gnet.Close
			}
		}
		return gnet.None
	}
	buf, _ := gc.Peek(-1)
	out := ls.take()
	var stop, frameErr error
	pos := 0
	if !w.upgraded {
		pos, out, stop = c.handshake(buf, out)
		if pos == 0 && stop == nil {
			ls.keep(out)
			return gnet.None // the request is not complete yet
		}
	}
	for stop == nil && pos < len(buf) {
		if w.remain == 0 {
			h, err := w.parseFrameHeader(buf[pos:])
			if err != nil {
				frameErr = err
				break
			}
			if h.size == 0 {
				break // the rest of the header has not come yet
			}
			if h.op >= opClose {
				// A control frame is handled whole; it may come between
				// the fragments of a message (RFC 6455 §5.4).
				end := pos + h.size + int(h.length)
				if end > len(buf) {
					break
				}
				p := buf[pos+h.size : end]
				mask(h.key, 0, p)
				pos = end
				switch h.op {
				case opPing:
					out = w.appendControl(out, opPong, p) // §5.5.3: echo the payload
				case opClose:
					w.closeRecv = true
					if frameErr = w.checkClose(p); frameErr == nil {
						stop = errWSPeerClosed // echo it, then close (§5.5.1)
					}
				}
				continue // pong: ignored (§5.5.3)
			}
			pos += h.size
			w.fragmented = !h.fin
			w.remain, w.key, w.keyPos = h.length, h.key, 0
			continue
		}
		n := len(buf) - pos
		if uint64(n) > w.remain {
			n = int(w.remain)
		}
		p := buf[pos : pos+n]
		w.keyPos = mask(w.key, w.keyPos, p)
		w.remain -= uint64(n)
		pos += n
		out, stop, frameErr = c.payload(out, p)
	}
	if stop == nil && frameErr == nil && pos > 0 { // Discard(0) would discard everything
		// What stays unread is at most a frame header or a control frame.
		_, _ = gc.Discard(pos)
		ls.rx.Add(uint64(pos))
	}
	if frameErr != nil {
		if e := c.ls.s.log.Debug(); e.Enabled() {
			e.Err(frameErr).Stringer("peer", gc.RemoteAddr()).Msg("parse_frame_failed")
		}
		w.errCode = closeCodeFor(frameErr)
		// The connection closes whatever the replies say.
		out, _ = c.encode(out, c.ch.HandleFrameError(frameErr).Out)
		stop = frameErr
	}
	return c.finishTraffic(out, stop)
}

// payload hands unmasked data-frame bytes to the codec: straight from p
// when no application frame is pending, else after what is pending. The
// start of an incomplete application frame is kept in the app buffer.
func (c *conn) payload(out, p []byte) ([]byte, error, error) {
	w := c.ws
	var used int
	var stop, frameErr error
	if len(w.app) == 0 {
		used, out, stop, frameErr = c.decodeAll(out, p)
		if stop != nil || frameErr != nil {
			return out, stop, frameErr
		}
		if used < len(p) {
			b := c.ls.getApp()
			if cap(b) < len(p)-used {
				b = make([]byte, 0, max(appBufMin, len(p)-used))
			}
			w.app = append(b, p[used:]...)
		}
	} else {
		w.app = append(w.app, p...)
		used, out, stop, frameErr = c.decodeAll(out, w.app)
		if stop != nil || frameErr != nil {
			return out, stop, frameErr
		}
		if used > 0 {
			w.app = w.app[:copy(w.app, w.app[used:])]
			if len(w.app) == 0 {
				c.ls.putApp(w.app)
				w.app = nil
			}
		}
	}
	if len(w.app) > c.ls.s.cfg.MaxInboundBuffered {
		return out, nil, ErrInboundTooLarge
	}
	return out, nil, nil
}

// releaseWS gives the connection's buffer back to the loop; on close.
func (c *conn) releaseWS() {
	if w := c.ws; w != nil && w.app != nil {
		c.ls.putApp(w.app)
		w.app = nil
	}
}

// remote is the client's address: the socket's peer, or what a trusted
// proxy's headers say.
func (s *wsSettings) remote(peer netip.AddrPort, addr, port []byte) netip.AddrPort {
	if len(addr) == 0 && len(port) == 0 {
		return peer
	}
	if tp := s.cfg.TrustedProxies; len(tp) > 0 {
		trusted := false
		for _, p := range tp {
			if p.Contains(peer.Addr()) {
				trusted = true
				break
			}
		}
		if !trusted {
			return peer
		}
	}
	ip, p := peer.Addr(), peer.Port()
	if a := firstListItem(addr); a != "" {
		if ap, err := netip.ParseAddrPort(a); err == nil {
			ip, p = ap.Addr().Unmap(), ap.Port()
		} else if x, err := netip.ParseAddr(strings.Trim(a, "[]")); err == nil {
			ip = x.Unmap()
		}
	}
	if v := firstListItem(port); v != "" {
		if n, ok := parsePort(v); ok {
			p = n
		}
	}
	return netip.AddrPortFrom(ip, p)
}

// firstListItem is the first element of a comma-separated header value
// ("client, proxy1, proxy2": the client).
func firstListItem(v []byte) string {
	for i, b := range v {
		if b == ',' {
			v = v[:i]
			break
		}
	}
	return strings.TrimSpace(string(v))
}

func parsePort(s string) (uint16, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	if n == 0 || n > 0xFFFF {
		return 0, false
	}
	return uint16(n), true
}

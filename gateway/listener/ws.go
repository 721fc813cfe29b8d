package listener

import (
	"bufio"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// RFC 6455 constants.
const (
	wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" // §1.3

	wsOpContinuation = 0x0
	wsOpText         = 0x1
	wsOpBinary       = 0x2
	wsOpClose        = 0x8
	wsOpPing         = 0x9
	wsOpPong         = 0xA

	wsCloseNormal      = 1000
	wsCloseProtocol    = 1002
	wsCloseUnsupported = 1003
	wsCloseNoStatus    = 1005 // §7.1.5: never sent; "the close frame had no code"
	wsCloseTooBig      = 1009

	// wsMaxHeader is the longest header of a frame the server sends
	// (unmasked, 64-bit length).
	wsMaxHeader = 10
)

// wsError is a WebSocket protocol failure: the close code to send and the
// error the channel is closed with.
type wsError struct {
	code uint16
	err  error
}

func (e *wsError) Error() string { return e.err.Error() }
func (e *wsError) Unwrap() error { return e.err }

func wsProtocolError(format string, args ...any) *wsError {
	return &wsError{code: wsCloseProtocol, err: fmt.Errorf("%w: "+format, append([]any{ErrWebSocketProtocol}, args...)...)}
}

// upgradeError is a refused WebSocket upgrade: the HTTP status it got.
type upgradeError struct {
	status int
	err    error
}

func (e *upgradeError) Error() string {
	if e.status == 0 {
		return fmt.Sprintf("websocket upgrade: %v", e.err)
	}
	return fmt.Sprintf("websocket upgrade: %d %s: %v", e.status, http.StatusText(e.status), e.err)
}
func (e *upgradeError) Unwrap() error { return e.err }

var errUpgradeTooLarge = errors.New("upgrade request too large")

// upgrade reads the HTTP upgrade request from the TLS connection and
// answers it (RFC 6455 §4.2). Bytes the client sent after the request stay
// in the returned reader's buffer, so frames sent without waiting for our
// answer are not lost.
func (s *Server) upgrade(tc *tls.Conn) (*wsReader, error) {
	lr := &limitedReader{r: tc, n: maxUpgradeRequest}
	br := bufio.NewReaderSize(lr, 4096)
	req, err := http.ReadRequest(br)
	if err != nil {
		if errors.Is(err, errUpgradeTooLarge) {
			writeHTTPError(tc, http.StatusRequestHeaderFieldsTooLarge, "")
			return nil, &upgradeError{http.StatusRequestHeaderFieldsTooLarge, err}
		}
		if isTimeout(err) || isEOF(err) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &upgradeError{0, err} // nothing to answer
		}
		writeHTTPError(tc, http.StatusBadRequest, "")
		return nil, &upgradeError{http.StatusBadRequest, err}
	}
	if req.Body != nil {
		_ = req.Body.Close()
	}
	proto, status, extra, err := s.checkUpgrade(req)
	if err != nil {
		writeHTTPError(tc, status, extra)
		return nil, &upgradeError{status, err}
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	b.WriteString(wsAccept(req.Header.Get("Sec-WebSocket-Key")))
	b.WriteString("\r\n")
	if proto != "" {
		b.WriteString("Sec-WebSocket-Protocol: " + proto + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(tc, b.String()); err != nil {
		return nil, err
	}
	lr.n = -1 // the frames that follow are bounded by the frame reader
	return &wsReader{br: br, max: s.cfg.WebSocket.MaxFrameSize}, nil
}

// checkUpgrade validates an upgrade request and picks the subprotocol. On
// failure it returns the HTTP status (and any header line) to answer with.
func (s *Server) checkUpgrade(req *http.Request) (proto string, status int, extra string, err error) {
	wc := s.cfg.WebSocket
	if req.URL.Path != wc.Path {
		return "", http.StatusNotFound, "", fmt.Errorf("path %q is not %q", req.URL.Path, wc.Path)
	}
	if req.Method != http.MethodGet {
		return "", http.StatusMethodNotAllowed, "Allow: GET\r\n", fmt.Errorf("method %s", req.Method)
	}
	if !req.ProtoAtLeast(1, 1) ||
		!headerHasToken(req.Header, "Connection", "upgrade") ||
		!headerHasToken(req.Header, "Upgrade", "websocket") {
		return "", http.StatusUpgradeRequired, "Upgrade: websocket\r\nConnection: Upgrade\r\n",
			errors.New("not a websocket upgrade request")
	}
	if v := req.Header.Get("Sec-WebSocket-Version"); v != "13" {
		return "", http.StatusUpgradeRequired, "Sec-WebSocket-Version: 13\r\n", fmt.Errorf("websocket version %q", v)
	}
	if k, err := base64.StdEncoding.DecodeString(req.Header.Get("Sec-WebSocket-Key")); err != nil || len(k) != 16 {
		return "", http.StatusBadRequest, "", errors.New("bad Sec-WebSocket-Key") // §4.2.1 item 5
	}
	if wc.CheckOrigin {
		origin := req.Header.Get("Origin")
		switch {
		case origin == "" && !wc.AllowOriginAbsence:
			return "", http.StatusForbidden, "", errors.New("no Origin")
		case origin != "" && !containsFold(wc.Origins, origin):
			return "", http.StatusForbidden, "", fmt.Errorf("origin %q not allowed", origin)
		}
	}
	// The first protocol the client offers that we support is echoed as the
	// client spelled it (§4.2.2).
	var offered []string
	for _, v := range req.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				offered = append(offered, p)
			}
		}
	}
	for _, p := range offered {
		if containsFold(wc.Subprotocols, p) {
			return p, 0, "", nil
		}
	}
	if wc.FailIfNoSubprotocol {
		return "", http.StatusBadRequest, "", fmt.Errorf("no supported subprotocol in %q", offered)
	}
	return "", 0, "", nil
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// wsAccept is Sec-WebSocket-Accept for key (§4.2.2 item 5.4).
func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

func writeHTTPError(tc *tls.Conn, status int, extra string) {
	body := http.StatusText(status) + "\n"
	_, _ = fmt.Fprintf(tc, "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n%s\r\n%s",
		status, http.StatusText(status), len(body), extra, body)
}

// limitedReader fails with errUpgradeTooLarge once n bytes have been read;
// n < 0 is no limit.
type limitedReader struct {
	r io.Reader
	n int
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n == 0 {
		return 0, errUpgradeTooLarge
	}
	if l.n > 0 && len(p) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	if l.n > 0 {
		l.n -= n
	}
	return n, err
}

// wsReader turns the client's frames into a byte stream for the codec and
// control messages for the owner. An MQTT packet may span frames and a frame
// may hold several packets (MQTT 5.0 §6.0), so data frames are not
// reassembled: their payloads are passed on as they arrive. It runs on the
// reader goroutine.
type wsReader struct {
	br  *bufio.Reader
	max int64 // largest frame accepted; 0 is unlimited

	remaining  int64   // payload bytes of the current data frame still to read
	mask       [4]byte // the current data frame's mask
	pos        int     // the mask offset of the next payload byte
	fragmented bool    // inside a binary message whose FIN has not come
	err        error   // to report once the data read with it is handed over

	hdr [12]byte
	ctl [125]byte
}

// next reads the next piece of the stream: data (into buf), a control
// frame, or the end (inEnd with the error; a *wsError for a protocol
// violation).
func (w *wsReader) next(buf []byte) inbound {
	if w.err != nil {
		return inbound{kind: inEnd, err: w.err}
	}
	for w.remaining == 0 {
		op, n, err := w.header()
		if err != nil {
			return inbound{kind: inEnd, err: err}
		}
		if op >= wsOpClose {
			b := w.ctl[:n]
			if _, err := io.ReadFull(w.br, b); err != nil {
				return inbound{kind: inEnd, err: err}
			}
			wsMask(b, w.mask, 0)
			switch op {
			case wsOpClose:
				if n == 1 {
					return inbound{kind: inEnd, err: wsProtocolError("close frame with a 1-byte payload")} // §5.5.1
				}
				return inbound{kind: inClose, b: b}
			case wsOpPing:
				return inbound{kind: inPing, b: b}
			default:
				return inbound{kind: inPong, b: b}
			}
		}
		w.remaining, w.pos = n, 0
	}
	n := len(buf)
	if int64(n) > w.remaining {
		n = int(w.remaining)
	}
	n, err := w.br.Read(buf[:n])
	if n == 0 {
		if err == nil {
			err = io.ErrNoProgress
		}
		return inbound{kind: inEnd, err: err}
	}
	w.err = err
	wsMask(buf[:n], w.mask, w.pos)
	w.pos = (w.pos + n) & 3
	w.remaining -= int64(n)
	return inbound{kind: inData, b: buf[:n]}
}

// header reads and checks one frame header (§5.2); it returns the opcode
// and the payload length, and keeps the mask.
func (w *wsReader) header() (op byte, n int64, err error) {
	h := w.hdr[:2]
	if _, err = io.ReadFull(w.br, h); err != nil {
		return
	}
	fin, op := h[0]&0x80 != 0, h[0]&0x0f
	masked := h[1]&0x80 != 0
	n = int64(h[1] & 0x7f)
	if h[0]&0x70 != 0 {
		return op, n, wsProtocolError("reserved bits set, no extension negotiated")
	}
	switch n {
	case 126:
		if _, err = io.ReadFull(w.br, w.hdr[:2]); err != nil {
			return
		}
		n = int64(binary.BigEndian.Uint16(w.hdr[:2]))
	case 127:
		if _, err = io.ReadFull(w.br, w.hdr[:8]); err != nil {
			return
		}
		u := binary.BigEndian.Uint64(w.hdr[:8])
		if u>>63 != 0 {
			return op, 0, wsProtocolError("payload length with its top bit set")
		}
		n = int64(u)
	}
	if !masked {
		return op, n, wsProtocolError("unmasked frame from a client") // §5.1
	}
	if _, err = io.ReadFull(w.br, w.mask[:]); err != nil {
		return
	}
	switch op {
	case wsOpContinuation:
		if !w.fragmented {
			return op, n, wsProtocolError("continuation frame outside a fragmented message")
		}
	case wsOpBinary:
		if w.fragmented {
			return op, n, wsProtocolError("new message inside a fragmented one")
		}
	case wsOpText:
		// [MQTT-6.0.0-1] MQTT Control Packets travel in binary frames; any
		// other data frame closes the connection.
		return op, n, &wsError{code: wsCloseUnsupported, err: ErrWebSocketText}
	case wsOpClose, wsOpPing, wsOpPong:
		if !fin || n > 125 { // §5.5
			return op, n, wsProtocolError("fragmented or oversized control frame")
		}
		return op, n, nil
	default:
		return op, n, wsProtocolError("reserved opcode %#x", op)
	}
	if w.max > 0 && n > w.max {
		return op, n, &wsError{code: wsCloseTooBig, err: fmt.Errorf("%w: %d bytes", ErrWebSocketFrameTooLarge, n)}
	}
	w.fragmented = !fin
	return op, n, nil
}

// wsMask XORs b with the mask, starting at mask offset pos (§5.3).
func wsMask(b []byte, mask [4]byte, pos int) {
	if len(b) >= 16 {
		// Eight bytes at a time with the mask rotated to pos.
		var m [8]byte
		for i := range m {
			m[i] = mask[(pos+i)&3]
		}
		m64 := binary.LittleEndian.Uint64(m[:])
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^m64)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= mask[(pos+i)&3]
	}
}

// wsFrameInPlace writes a binary frame header for out[room:] into the room
// kept before it and returns the whole frame.
func wsFrameInPlace(out []byte, room int) []byte {
	n := len(out) - room
	var h int
	switch {
	case n < 126:
		h = 2
		out[room-1] = byte(n)
	case n <= 0xffff:
		h = 4
		out[room-3] = 126
		binary.BigEndian.PutUint16(out[room-2:room], uint16(n))
	default:
		h = 10
		out[room-9] = 127
		binary.BigEndian.PutUint64(out[room-8:room], uint64(n))
	}
	out[room-h] = 0x80 | wsOpBinary // FIN: every write is a whole message
	return out[room-h:]
}

// wsControlFrame is an unmasked control frame (payload <= 125 bytes).
func wsControlFrame(op byte, payload []byte) []byte {
	b := make([]byte, 2, 2+len(payload))
	b[0], b[1] = 0x80|op, byte(len(payload))
	return append(b, payload...)
}

// wsCloseFrame is our close frame; wsCloseNoStatus sends one without a code.
func wsCloseFrame(code uint16) []byte {
	if code == wsCloseNoStatus {
		return wsControlFrame(wsOpClose, nil)
	}
	var p [2]byte
	binary.BigEndian.PutUint16(p[:], code)
	return wsControlFrame(wsOpClose, p[:])
}

// wsCloseCode is the status code a close frame's payload carries.
func wsCloseCode(p []byte) uint16 {
	if len(p) < 2 {
		return wsCloseNoStatus
	}
	code := binary.BigEndian.Uint16(p)
	switch {
	case code < 1000, code == wsCloseNoStatus, code == 1006, code == 1015, code >= 5000:
		// Codes an endpoint must not send (§7.4): answer as if it had none
		// that can be echoed.
		return wsCloseProtocol
	}
	return code
}

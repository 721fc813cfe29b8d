package edge

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/manifold-iot/manifold/adapters"
)

// wsGUID is appended to Sec-WebSocket-Key to make Sec-WebSocket-Accept
// (RFC 6455 §1.3, §4.2.2).
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

var (
	crlf     = []byte("\r\n")
	crlfcrlf = []byte("\r\n\r\n")
)

// upgradeRequest is what the handshake needs from the request's headers;
// the slices point into the inbound buffer.
type upgradeRequest struct {
	host, upgrade, connection, key, version []byte
	origin, proxyAddr, proxyPort            []byte
	hasOrigin, offered                      bool
	subprotocol                             string // the first offered that we accept
}

// httpError is a refused handshake: the status, a short reason (the body),
// and extra header lines.
type httpError struct {
	status int
	text   string
	reason string
	extra  string
}

func (e *httpError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.text, e.reason) }

var statusText = map[int]string{
	400: "Bad Request",
	403: "Forbidden",
	404: "Not Found",
	405: "Method Not Allowed",
	426: "Upgrade Required",
	431: "Request Header Fields Too Large",
}

func refuse(status int, reason string) *httpError {
	return &httpError{status: status, text: statusText[status], reason: reason}
}

// handshake answers the HTTP Upgrade request at the head of buf (RFC 6455
// §4.2). It returns the request's length with the 101 response and the
// channel's opening replies appended to out, or 0 when the request is not
// complete yet; a refused request gets its HTTP error in out and a non-nil
// stop (the connection closes once it is sent).
func (c *conn) handshake(buf, out []byte) (int, []byte, error) {
	w, set := c.ws, c.ws.set
	end := bytes.Index(buf[:min(len(buf), maxHandshakeBytes)], crlfcrlf)
	if end < 0 {
		var herr *httpError
		switch {
		case len(buf) > 0 && (buf[0] < 'A' || buf[0] > 'Z'):
			herr = refuse(400, "not an HTTP request") // an MQTT client on the WebSocket port
		case len(buf) >= maxHandshakeBytes:
			herr = refuse(431, "request header over 8 KiB")
		default:
			if i := bytes.Index(buf, crlf); i >= 0 {
				if _, herr = set.checkRequestLine(buf[:i]); herr == nil {
					return 0, out, nil
				}
			} else {
				return 0, out, nil
			}
		}
		return 0, c.refuseUpgrade(out, herr), fmt.Errorf("%w: %v", ErrWSHandshake, herr)
	}
	n := end + len(crlfcrlf)
	var req upgradeRequest
	herr := set.parseRequest(buf[:end], &req)
	if herr == nil {
		herr = set.checkRequest(&req)
	}
	var keyBuf [18]byte
	if herr == nil {
		// RFC 6455 §4.2.1: a base64-encoded 16-byte value (24 characters).
		if k, err := base64.StdEncoding.Decode(keyBuf[:], req.key); err != nil || k != 16 || len(req.key) != 24 {
			herr = refuse(400, "bad Sec-WebSocket-Key")
		}
	}
	if herr != nil {
		return n, c.refuseUpgrade(out, herr), fmt.Errorf("%w: %v", ErrWSHandshake, herr)
	}

	s := c.ls.s
	ci := adapters.ConnInfo{
		Listener: s.cfg.Name,
		Local:    localAddrPort(c.gc),
		Remote:   set.remote(addrPort(c.gc.RemoteAddr()), req.proxyAddr, req.proxyPort),
		Handle:   c,
	}
	ch, err := s.adapter.NewChannel(ci, s.ctx)
	if err != nil {
		if ok, more := s.rejected.Allow(time.Second); ok {
			s.log.Info().Err(err).Int64("suppressed", more).Stringer("peer", c.gc.RemoteAddr()).Msg("connection_refused")
		}
		return n, c.refuseUpgrade(out, refuse(403, "connection refused")), err
	}
	c.ch = ch
	c.stopHandshakeTimer()

	// RFC 6455 §4.2.2: the accept value is the base64 SHA-1 of the key and
	// the GUID.
	var sum [len("dGhlIHNhbXBsZSBub25jZQ==") + len(wsGUID)]byte
	copy(sum[copy(sum[:], req.key):], wsGUID)
	digest := sha1.Sum(sum[:])
	var accept [28]byte
	base64.StdEncoding.Encode(accept[:], digest[:])
	out = append(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	out = append(out, accept[:]...)
	if req.subprotocol != "" {
		// MQTT 5 §6: the server selects one of the offered values; an
		// MQTT client offering "mqtt" gets "mqtt" back.
		out = append(out, "\r\nSec-WebSocket-Protocol: "...)
		out = append(out, req.subprotocol...)
	}
	out = append(out, "\r\n\r\n"...)
	w.upgraded = true
	if e := s.log.Debug(); e.Enabled() {
		e.Stringer("peer", c.gc.RemoteAddr()).Str("client", ci.Remote.String()).
			Str("subprotocol", req.subprotocol).Msg("ws_upgraded")
	}
	out, stop := c.apply(out, ch.Open())
	return n, out, stop
}

// refuseUpgrade appends the HTTP error response and logs why.
func (c *conn) refuseUpgrade(out []byte, e *httpError) []byte {
	if l := c.ls.s.log.Debug(); l.Enabled() {
		l.Int("status", e.status).Str("reason", e.reason).Stringer("peer", c.gc.RemoteAddr()).Msg("ws_handshake_refused")
	}
	body := e.reason + "\n"
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(e.status), 10)
	out = append(out, ' ')
	out = append(out, e.text...)
	out = append(out, "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	out = append(out, "\r\n"...)
	out = append(out, e.extra...)
	out = append(out, "\r\n"...)
	return append(out, body...)
}

// checkRequestLine checks "GET <path> HTTP/1.1" and returns the path.
func (s *wsSettings) checkRequestLine(line []byte) ([]byte, *httpError) {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return nil, refuse(400, "malformed request line")
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return nil, refuse(400, "malformed request line")
	}
	method, target, version := line[:sp1], rest[:sp2], rest[sp2+1:]
	if !bytes.HasPrefix(version, []byte("HTTP/1.")) || len(version) != len("HTTP/1.1") || version[7] < '1' || version[7] > '9' {
		return nil, refuse(400, "HTTP/1.1 required") // RFC 6455 §4.1
	}
	if string(method) != "GET" {
		e := refuse(405, "only GET upgrades") // RFC 6455 §4.1
		e.extra = "Allow: GET\r\n"
		return nil, e
	}
	path := target
	if i := bytes.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if string(path) != s.cfg.Path {
		return nil, refuse(404, "no WebSocket endpoint at this path")
	}
	return path, nil
}

// parseRequest reads the request line and the headers the handshake needs.
func (s *wsSettings) parseRequest(head []byte, r *upgradeRequest) *httpError {
	i := bytes.Index(head, crlf)
	line := head
	if i >= 0 {
		line, head = head[:i], head[i+2:]
	} else {
		head = nil
	}
	if _, herr := s.checkRequestLine(line); herr != nil {
		return herr
	}
	for len(head) > 0 {
		line = head
		if i := bytes.Index(head, crlf); i >= 0 {
			line, head = head[:i], head[i+2:]
		} else {
			head = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || line[0] == ' ' || line[0] == '\t' {
			return refuse(400, "malformed header line") // obsolete folding is refused too (RFC 9112 §5.2)
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		if !isToken(name) {
			return refuse(400, "malformed header name")
		}
		switch {
		case bytes.EqualFold(name, []byte("host")):
			r.host = value
		case bytes.EqualFold(name, []byte("upgrade")):
			r.upgrade = value
		case bytes.EqualFold(name, []byte("connection")):
			r.connection = value
		case bytes.EqualFold(name, []byte("sec-websocket-key")):
			if r.key != nil {
				return refuse(400, "repeated Sec-WebSocket-Key")
			}
			r.key = value
		case bytes.EqualFold(name, []byte("sec-websocket-version")):
			r.version = value
		case bytes.EqualFold(name, []byte("sec-websocket-protocol")):
			// The header may repeat; the client's order is kept across
			// repetitions (RFC 6455 §11.3.4).
			s.pickSubprotocol(value, r)
		case bytes.EqualFold(name, []byte("origin")):
			r.origin, r.hasOrigin = value, true
		case s.addrHeader != "" && bytes.EqualFold(name, []byte(s.addrHeader)):
			if r.proxyAddr == nil {
				r.proxyAddr = value
			}
		case s.portHeader != "" && bytes.EqualFold(name, []byte(s.portHeader)):
			if r.proxyPort == nil {
				r.proxyPort = value
			}
		}
	}
	return nil
}

// pickSubprotocol takes the client's first offered value that we accept.
func (s *wsSettings) pickSubprotocol(list []byte, r *upgradeRequest) {
	for len(list) > 0 {
		item := list
		if i := bytes.IndexByte(list, ','); i >= 0 {
			item, list = list[:i], list[i+1:]
		} else {
			list = nil
		}
		item = bytes.TrimSpace(item)
		if len(item) == 0 {
			continue
		}
		r.offered = true
		if r.subprotocol != "" {
			continue
		}
		for _, p := range s.subprotocols {
			if string(item) == p { // subprotocol names are case-sensitive
				r.subprotocol = p
				break
			}
		}
	}
}

// checkRequest applies RFC 6455 §4.2.1 and the listener's policy, in
// EMQX's order: origin, then subprotocol.
func (s *wsSettings) checkRequest(r *upgradeRequest) *httpError {
	switch {
	case len(r.host) == 0:
		return refuse(400, "missing Host")
	case !hasToken(r.upgrade, "websocket"):
		return refuse(400, "missing Upgrade: websocket")
	case !hasToken(r.connection, "upgrade"):
		return refuse(400, "missing Connection: Upgrade")
	case len(r.key) == 0:
		return refuse(400, "missing Sec-WebSocket-Key")
	case string(r.version) != "13":
		// RFC 6455 §4.4: say which version we speak.
		e := refuse(426, "Sec-WebSocket-Version 13 required")
		e.extra = "Sec-WebSocket-Version: 13\r\n"
		return e
	}
	if s.cfg.CheckOrigin {
		if !r.hasOrigin {
			if !s.cfg.AllowOriginAbsence {
				return refuse(403, "missing Origin")
			}
		} else if !s.originAllowed(r.origin) {
			return refuse(403, "origin not allowed")
		}
	}
	if r.subprotocol == "" && s.cfg.FailIfNoSubprotocol {
		if r.offered {
			return refuse(400, "no supported subprotocol offered")
		}
		return refuse(400, "missing Sec-WebSocket-Protocol")
	}
	return nil
}

func (s *wsSettings) originAllowed(origin []byte) bool {
	for _, o := range s.origins {
		if bytes.EqualFold(origin, []byte(o)) {
			return true
		}
	}
	return false
}

// hasToken reports whether the comma-separated header value v holds token
// (case-insensitive).
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		item := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if bytes.EqualFold(bytes.TrimSpace(item), []byte(token)) {
			return true
		}
	}
	return false
}

package stomp

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-stomp/stomp/v3/frame"

	"github.com/manifold-iot/manifold/codec"
)

// Version is a STOMP protocol version.
type Version byte

// The STOMP versions this codec speaks. The zero Version is used before
// CONNECT has negotiated one: headers are not unescaped (CONNECT is never
// escaped, STOMP 1.2 Value Encoding).
const (
	V10 Version = 10
	V11 Version = 11
	V12 Version = 12
)

// String returns the version as accept-version spells it: "1.2".
func (v Version) String() string {
	switch v {
	case V10:
		return "1.0"
	case V11:
		return "1.1"
	case V12:
		return "1.2"
	}
	return "unknown"
}

// ParseVersion parses "1.0", "1.1" or "1.2".
func ParseVersion(s string) (Version, bool) {
	switch s {
	case "1.0":
		return V10, true
	case "1.1":
		return V11, true
	case "1.2":
		return V12, true
	}
	return 0, false
}

// Heartbeat is an end-of-line between frames: a peer's heart-beat (STOMP 1.1
// Heart-beating). Encode writes it as a single LF.
type Heartbeat struct{}

// Limits bound what Decode accepts; zero means unlimited.
type Limits struct {
	MaxHeaders       int // header lines per frame (frame.max_headers)
	MaxHeadersLength int // bytes of one header line, name and value (frame.max_headers_length)
	MaxBodyLength    int // bytes of a body (frame.max_body_length)
	MaxFrameSize     int // bytes of a whole frame, command to NUL (max_frame_size)
}

// Codec is one connection's STOMP framing. Version is set by the channel once
// CONNECT has negotiated it; until then headers are taken literally. Codec
// implements codec.Codec.
type Codec struct {
	Version Version
	Limits  Limits
}

var _ codec.Codec = (*Codec)(nil)

// Errors of malformed or oversized input. Every error Decode returns, other
// than codec.ErrIncomplete, is an *Error wrapping one of these.
var (
	ErrMalformed      = errors.New("stomp: malformed frame")
	ErrUnknownCommand = errors.New("stomp: unknown command")
	ErrBadEscape      = errors.New("stomp: undefined escape sequence in header")
	ErrTooManyHeaders = errors.New("stomp: too many headers")
	ErrHeaderTooLong  = errors.New("stomp: header too long")
	ErrBodyTooLong    = errors.New("stomp: body too long")
	ErrFrameTooLarge  = errors.New("stomp: frame too large")
)

// Error is a decoding error: the kind (one of the Err variables, for
// errors.Is) and what was wrong, for the ERROR frame's body.
type Error struct {
	Kind   error
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Detail
}

// Unwrap returns the kind.
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// commands are the frame commands of STOMP 1.2 (client and server frames).
var commands = map[string]string{
	frame.CONNECT: frame.CONNECT, frame.STOMP: frame.STOMP, frame.CONNECTED: frame.CONNECTED,
	frame.SEND: frame.SEND, frame.SUBSCRIBE: frame.SUBSCRIBE, frame.UNSUBSCRIBE: frame.UNSUBSCRIBE,
	frame.ACK: frame.ACK, frame.NACK: frame.NACK, frame.BEGIN: frame.BEGIN, frame.COMMIT: frame.COMMIT,
	frame.ABORT: frame.ABORT, frame.DISCONNECT: frame.DISCONNECT, frame.MESSAGE: frame.MESSAGE,
	frame.RECEIPT: frame.RECEIPT, frame.ERROR: frame.ERROR,
}

// Decode implements codec.Codec: the first heart-beat or frame in buf.
func (c *Codec) Decode(buf []byte) (codec.Frame, int, error) {
	return Decode(buf, c.Version, c.Limits)
}

// Decode returns the first heart-beat (Heartbeat) or frame (*frame.Frame) in
// buf at version v and the bytes it used; codec.ErrIncomplete when buf holds
// only part of one; an *Error for malformed or oversized input.
func Decode(buf []byte, v Version, lim Limits) (codec.Frame, int, error) {
	if len(buf) == 0 {
		return nil, 0, codec.ErrIncomplete
	}
	// STOMP 1.2 Heart-beating: an EOL (LF or CR LF) between frames.
	switch buf[0] {
	case '\n':
		return Heartbeat{}, 1, nil
	case '\r':
		if len(buf) < 2 {
			return nil, 0, codec.ErrIncomplete
		}
		if buf[1] == '\n' {
			return Heartbeat{}, 2, nil
		}
		return nil, 0, errorf(ErrMalformed, "CR not followed by LF")
	}

	// The command line and headers end at the first empty line.
	head, bodyAt, err := splitHead(buf, lim)
	if err != nil {
		return nil, 0, err
	}
	lines := splitLines(head)
	cmd, ok := commands[string(lines[0])]
	if !ok {
		return nil, 0, errorf(ErrUnknownCommand, "%.32q", lines[0])
	}
	hdrs := lines[1:]
	if lim.MaxHeaders > 0 && len(hdrs) > lim.MaxHeaders {
		return nil, 0, errorf(ErrTooManyHeaders, "%d headers, max_headers is %d", len(hdrs), lim.MaxHeaders)
	}
	f := &frame.Frame{Command: cmd, Header: &frame.Header{}}
	// CONNECT and CONNECTED are never escaped (STOMP 1.2 Value Encoding);
	// 1.0 knows no escapes at all.
	escaped := v >= V11 && cmd != frame.CONNECT && cmd != frame.STOMP && cmd != frame.CONNECTED
	for _, line := range hdrs {
		if lim.MaxHeadersLength > 0 && len(line) > lim.MaxHeadersLength {
			return nil, 0, errorf(ErrHeaderTooLong, "a %d-byte header, max_headers_length is %d", len(line), lim.MaxHeadersLength)
		}
		i := bytes.IndexByte(line, ':')
		if i <= 0 {
			return nil, 0, errorf(ErrMalformed, "header line without a name and colon: %.32q", line)
		}
		name, value := line[:i], line[i+1:]
		var k, val string
		if escaped {
			if k, err = unescape(name, v); err != nil {
				return nil, 0, err
			}
			if val, err = unescape(value, v); err != nil {
				return nil, 0, err
			}
		} else {
			k, val = string(name), string(value)
		}
		f.Header.Add(k, val)
	}

	// The body: content-length bytes then NUL, or up to the first NUL.
	rest := buf[bodyAt:]
	if cl, ok := f.Header.Contains(frame.ContentLength); ok {
		n, perr := strconv.Atoi(cl)
		if perr != nil || n < 0 {
			return nil, 0, errorf(ErrMalformed, "content-length %.20q is not a length", cl)
		}
		if lim.MaxBodyLength > 0 && n > lim.MaxBodyLength {
			return nil, 0, errorf(ErrBodyTooLong, "content-length %d, max_body_length is %d", n, lim.MaxBodyLength)
		}
		if lim.MaxFrameSize > 0 && bodyAt+n+1 > lim.MaxFrameSize {
			return nil, 0, errorf(ErrFrameTooLarge, "%d bytes, max_frame_size is %d", bodyAt+n+1, lim.MaxFrameSize)
		}
		if len(rest) < n+1 {
			return nil, 0, codec.ErrIncomplete
		}
		if rest[n] != 0 {
			return nil, 0, errorf(ErrMalformed, "no NUL after content-length %d bytes of body", n)
		}
		if n > 0 {
			f.Body = append([]byte(nil), rest[:n]...)
		}
		return f, bodyAt + n + 1, nil
	}
	end := bytes.IndexByte(rest, 0)
	if end < 0 {
		if lim.MaxBodyLength > 0 && len(rest) > lim.MaxBodyLength {
			return nil, 0, errorf(ErrBodyTooLong, "more than max_body_length %d bytes", lim.MaxBodyLength)
		}
		if lim.MaxFrameSize > 0 && len(buf) >= lim.MaxFrameSize {
			return nil, 0, errorf(ErrFrameTooLarge, "more than max_frame_size %d bytes", lim.MaxFrameSize)
		}
		return nil, 0, codec.ErrIncomplete
	}
	if lim.MaxBodyLength > 0 && end > lim.MaxBodyLength {
		return nil, 0, errorf(ErrBodyTooLong, "%d bytes, max_body_length is %d", end, lim.MaxBodyLength)
	}
	if lim.MaxFrameSize > 0 && bodyAt+end+1 > lim.MaxFrameSize {
		return nil, 0, errorf(ErrFrameTooLarge, "%d bytes, max_frame_size is %d", bodyAt+end+1, lim.MaxFrameSize)
	}
	if end > 0 {
		f.Body = append([]byte(nil), rest[:end]...)
	}
	return f, bodyAt + end + 1, nil
}

// splitHead finds the empty line that ends the command and headers. It
// returns the head without that final EOL pair, and where the body starts.
// Limits are checked on what has arrived so far, so that a peer cannot make
// us buffer an endless header block.
func splitHead(buf []byte, lim Limits) (head []byte, bodyAt int, err error) {
	lineStart, nLines := 0, 0
	for i := 0; i < len(buf); i++ {
		switch buf[i] {
		case 0:
			return nil, 0, errorf(ErrMalformed, "NUL before the end of the headers")
		case '\n':
			line := buf[lineStart:i]
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			if len(line) == 0 {
				if nLines == 0 {
					return nil, 0, errorf(ErrMalformed, "empty command")
				}
				return buf[:lineStart], i + 1, nil
			}
			nLines++
			if lim.MaxHeaders > 0 && nLines-1 > lim.MaxHeaders {
				return nil, 0, errorf(ErrTooManyHeaders, "more than max_headers %d", lim.MaxHeaders)
			}
			lineStart = i + 1
			continue
		}
		if lim.MaxHeadersLength > 0 && nLines > 0 && i-lineStart >= lim.MaxHeadersLength+1 {
			// +1 leaves room for a CR before the LF.
			return nil, 0, errorf(ErrHeaderTooLong, "longer than max_headers_length %d", lim.MaxHeadersLength)
		}
		if nLines == 0 && i-lineStart > maxCommandLen {
			return nil, 0, errorf(ErrUnknownCommand, "%.32q…", buf[:i])
		}
		if lim.MaxFrameSize > 0 && i >= lim.MaxFrameSize {
			return nil, 0, errorf(ErrFrameTooLarge, "headers longer than max_frame_size %d", lim.MaxFrameSize)
		}
	}
	return nil, 0, codec.ErrIncomplete
}

// maxCommandLen is longer than every command (UNSUBSCRIBE) with a CR.
const maxCommandLen = 16

// splitLines splits a head (lines each ended by LF or CR LF) into lines
// without their EOLs.
func splitLines(head []byte) [][]byte {
	var lines [][]byte
	for len(head) > 0 {
		i := bytes.IndexByte(head, '\n')
		line := head[:i]
		head = head[i+1:]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		lines = append(lines, line)
	}
	return lines
}

// unescape decodes a 1.1 or 1.2 header name or value (STOMP 1.2 Value
// Encoding): \n, \c, \\ and, in 1.2, \r; any other escape is an error.
func unescape(b []byte, v Version) (string, error) {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b), nil
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			out = append(out, b[i])
			continue
		}
		if i+1 == len(b) {
			return "", errorf(ErrBadEscape, "a lone backslash at the end")
		}
		i++
		switch b[i] {
		case 'n':
			out = append(out, '\n')
		case 'c':
			out = append(out, ':')
		case '\\':
			out = append(out, '\\')
		case 'r':
			if v < V12 {
				return "", errorf(ErrBadEscape, `\r is a STOMP 1.2 escape`)
			}
			out = append(out, '\r')
		default:
			return "", errorf(ErrBadEscape, `\%c`, b[i])
		}
	}
	return string(out), nil
}

// Encode implements codec.Codec.
func (c *Codec) Encode(dst []byte, f codec.Frame) ([]byte, error) {
	return Encode(dst, f, c.Version)
}

// Encode appends the wire form of f (a *frame.Frame or Heartbeat) at version
// v to dst. A frame with a body always gets a content-length header (any
// content-length it carries is replaced), so binary bodies survive.
func Encode(dst []byte, f codec.Frame, v Version) ([]byte, error) {
	switch fr := f.(type) {
	case Heartbeat, *Heartbeat:
		return append(dst, '\n'), nil
	case *frame.Frame:
		if fr == nil {
			return dst, errors.New("stomp: encode of a nil frame")
		}
		if _, ok := commands[fr.Command]; !ok {
			return dst, fmt.Errorf("stomp: encode of unknown command %q", fr.Command)
		}
		dst = append(dst, fr.Command...)
		dst = append(dst, '\n')
		escaped := v >= V11 && fr.Command != frame.CONNECT && fr.Command != frame.STOMP && fr.Command != frame.CONNECTED
		if fr.Header != nil {
			for i := 0; i < fr.Header.Len(); i++ {
				k, val := fr.Header.GetAt(i)
				if k == frame.ContentLength {
					continue
				}
				if !writable(k, val, v, escaped) {
					return dst, fmt.Errorf("stomp: header %q cannot be written at version %s", k, v)
				}
				dst = appendEscaped(dst, k, true, escaped)
				dst = append(dst, ':')
				dst = appendEscaped(dst, val, false, escaped)
				dst = append(dst, '\n')
			}
		}
		if len(fr.Body) > 0 {
			dst = append(dst, "content-length:"...)
			dst = strconv.AppendInt(dst, int64(len(fr.Body)), 10)
			dst = append(dst, '\n')
		}
		dst = append(dst, '\n')
		dst = append(dst, fr.Body...)
		return append(dst, 0), nil
	}
	return dst, fmt.Errorf("stomp: cannot encode %T", f)
}

// CanWrite reports whether Encode can write header k: v in a frame with
// command at version v so that it reads back the same. Channels check
// headers that come from elsewhere (MQTT user properties, topics) with it.
func CanWrite(command, k, val string, v Version) bool {
	escaped := v >= V11 && command != frame.CONNECT && command != frame.STOMP && command != frame.CONNECTED
	return writable(k, val, v, escaped)
}

// writable reports whether a header can be written so that it reads back
// the same: unescaped (STOMP 1.0, CONNECT, CONNECTED) a name may hold no EOL
// or colon and a value no EOL; 1.1 has no escape for CR.
func writable(k, val string, v Version, escaped bool) bool {
	if k == "" {
		return false
	}
	if !escaped {
		return !strings.ContainsAny(k, "\n\r:") && !strings.ContainsAny(val, "\n\r")
	}
	if v < V12 {
		return !strings.ContainsRune(k, '\r') && !strings.ContainsRune(val, '\r')
	}
	return true
}

// appendEscaped appends s, escaped when escaped is set (STOMP 1.1 and 1.2
// Value Encoding). A colon is escaped in names only: in a value it cannot
// be mistaken for the separator (the first colon of the line is), and
// clients that do not unescape 1.1 headers (stompjs) then read it right.
// A CR is written only at 1.2 (writable refuses it at 1.1).
func appendEscaped(dst []byte, s string, name, escaped bool) []byte {
	if !escaped {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			dst = append(dst, '\\', 'n')
		case ':':
			if name {
				dst = append(dst, '\\', 'c')
			} else {
				dst = append(dst, ':')
			}
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, s[i])
		}
	}
	return dst
}

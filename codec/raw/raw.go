package raw

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/manifold-iot/manifold/codec"
)

// Framing types (Config.Type).
const (
	TypeLine      = "line"
	TypeDelimiter = "delimiter"
	TypeLength    = "length"
	TypeFixed     = "fixed"
	TypeDatagram  = "datagram"
)

// Limits on the configuration.
const (
	// DefaultMaxLength is max_length when none is configured: 64 KiB.
	DefaultMaxLength = 64 << 10
	// MaxMaxLength bounds max_length and size: 16 MiB.
	MaxMaxLength = 16 << 20
)

// Errors Decode and Encode wrap; check them with errors.Is.
var (
	// ErrTooLong: the frame is longer than max_length (or its length field
	// says it would be).
	ErrTooLong = errors.New("raw: frame longer than max_length")
	// ErrBadLength: a length header smaller than the header itself, when
	// length_includes_header is set.
	ErrBadLength = errors.New("raw: bad length field")
	// ErrFrameSize: Encode was given a frame the framing cannot carry (a
	// fixed frame of the wrong size, a body too long for its length header).
	ErrFrameSize = errors.New("raw: frame size not encodable")
)

// Frame is one frame's bytes without its framing: the line without '\n',
// the body without its length header. A decoded Frame points into the
// buffer given to Decode.
type Frame []byte

// Config chooses and parameterises a framer; it appears under each raw
// listener as `framing:`.
type Config struct {
	// Type is line, delimiter, length, fixed or datagram.
	Type string `yaml:"type"`
	// MaxLength is the longest frame body accepted, in bytes (all types but
	// fixed). 0 means DefaultMaxLength.
	MaxLength int `yaml:"max_length"`
	// Delimiter ends each frame (type delimiter): text with Go escapes
	// ("\r\n", "\x00") or hex with a 0x prefix ("0x0d0a").
	Delimiter string `yaml:"delimiter"`
	// LengthBytes is the size of the length header (type length): 1, 2 or 4.
	LengthBytes int `yaml:"length_bytes"`
	// Endian is the byte order of the length header: big (network order,
	// the default) or little.
	Endian string `yaml:"endian"`
	// LengthIncludesHeader says the length counts the header's own bytes.
	LengthIncludesHeader bool `yaml:"length_includes_header"`
	// Size is the size of every frame (type fixed).
	Size int `yaml:"size"`
}

// DefaultConfig is line framing with DefaultMaxLength.
func DefaultConfig() Config {
	return Config{Type: TypeLine, MaxLength: DefaultMaxLength, LengthBytes: 2, Endian: "big"}
}

// Validate checks c; key is the config path its errors name
// ("gateway.raw.listeners.tcp.default.framing").
func (c Config) Validate(key string) error {
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", key, k, fmt.Sprintf(format, args...)))
	}
	switch c.Type {
	case TypeLine, TypeDelimiter, TypeLength, TypeFixed, TypeDatagram:
	default:
		bad("type", "must be line, delimiter, length, fixed or datagram, got %q", c.Type)
	}
	if c.MaxLength < 0 || c.MaxLength > MaxMaxLength {
		bad("max_length", "must be 0 (default) to %d, got %d", MaxMaxLength, c.MaxLength)
	}
	switch c.Type {
	case TypeDelimiter:
		if _, err := ParseDelimiter(c.Delimiter); err != nil {
			bad("delimiter", "%v", err)
		}
	case TypeLength:
		if c.LengthBytes != 1 && c.LengthBytes != 2 && c.LengthBytes != 4 {
			bad("length_bytes", "must be 1, 2 or 4, got %d", c.LengthBytes)
		}
		if c.Endian != "" && c.Endian != "big" && c.Endian != "little" {
			bad("endian", "must be big or little, got %q", c.Endian)
		}
	case TypeFixed:
		if c.Size < 1 || c.Size > MaxMaxLength {
			bad("size", "must be 1 to %d, got %d", MaxMaxLength, c.Size)
		}
	}
	return errors.Join(errs...)
}

// ParseDelimiter turns the delimiter setting into bytes: "0x…" is hex, text
// containing a backslash is unescaped as a Go string ("\r\n", "\x00"),
// anything else is taken as it is. YAML double-quoted strings are unescaped
// by YAML already; single-quoted ones reach here with their backslashes.
func ParseDelimiter(s string) ([]byte, error) {
	var b []byte
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		h, err := hex.DecodeString(s[2:])
		if err != nil {
			return nil, fmt.Errorf("bad hex %q: %w", s, err)
		}
		b = h
	case strings.Contains(s, `\`):
		u, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`)
		if err != nil {
			return nil, fmt.Errorf("bad escape in %q", s)
		}
		b = []byte(u)
	default:
		b = []byte(s)
	}
	if len(b) == 0 {
		return nil, errors.New("must not be empty")
	}
	if len(b) > 16 {
		return nil, fmt.Errorf("at most 16 bytes, got %d", len(b))
	}
	return b, nil
}

// Framer is a codec.Codec for one Config. It keeps no state between calls,
// so one Framer may serve many connections.
type Framer struct {
	typ       string
	max       int
	delim     []byte
	hdr       int
	little    bool
	inclusive bool
	size      int
}

var _ codec.Codec = (*Framer)(nil)

// New returns the framer c describes, or c's validation error (with the key
// "framing").
func New(c Config) (*Framer, error) {
	if err := c.Validate("framing"); err != nil {
		return nil, err
	}
	f := &Framer{typ: c.Type, max: c.MaxLength, hdr: c.LengthBytes, little: c.Endian == "little",
		inclusive: c.LengthIncludesHeader, size: c.Size}
	if f.max == 0 {
		f.max = DefaultMaxLength
	}
	switch c.Type {
	case TypeLine:
		f.delim = []byte{'\n'}
	case TypeDelimiter:
		f.delim, _ = ParseDelimiter(c.Delimiter)
	case TypeFixed:
		f.max = c.Size
	}
	return f, nil
}

// Type is the framing type.
func (f *Framer) Type() string { return f.typ }

// MaxLength is the longest frame body Decode accepts.
func (f *Framer) MaxLength() int { return f.max }

// Decode implements codec.Codec. The Frame is a Frame value pointing into
// buf.
func (f *Framer) Decode(buf []byte) (codec.Frame, int, error) {
	fr, n, err := f.DecodeFrame(buf)
	if err != nil {
		return nil, 0, err
	}
	return fr, n, nil
}

// DecodeFrame is Decode with a concrete result.
func (f *Framer) DecodeFrame(buf []byte) (Frame, int, error) {
	switch f.typ {
	case TypeLine:
		// The line may end "\r\n": look one byte further than max_length
		// allows for the '\r', plus the '\n'.
		fr, n, err := f.decodeDelimited(buf, 2)
		if err == nil && len(fr) > 0 && fr[len(fr)-1] == '\r' {
			fr = fr[:len(fr)-1]
		}
		if err == nil && len(fr) > f.max {
			return nil, 0, fmt.Errorf("%w: %d bytes > %d", ErrTooLong, len(fr), f.max)
		}
		return fr, n, err
	case TypeDelimiter:
		fr, n, err := f.decodeDelimited(buf, len(f.delim))
		if err == nil && len(fr) > f.max {
			return nil, 0, fmt.Errorf("%w: %d bytes > %d", ErrTooLong, len(fr), f.max)
		}
		return fr, n, err
	case TypeLength:
		return f.decodeLength(buf)
	case TypeFixed:
		if len(buf) < f.size {
			return nil, 0, codec.ErrIncomplete
		}
		return Frame(buf[:f.size]), f.size, nil
	default: // datagram
		if len(buf) == 0 {
			return nil, 0, codec.ErrIncomplete
		}
		if len(buf) > f.max {
			return nil, 0, fmt.Errorf("%w: %d bytes > %d", ErrTooLong, len(buf), f.max)
		}
		return Frame(buf), len(buf), nil
	}
}

// decodeDelimited finds f.delim within the first max+slack bytes: a frame
// that has not ended by then is too long, whatever follows.
func (f *Framer) decodeDelimited(buf []byte, slack int) (Frame, int, error) {
	limit := min(len(buf), f.max+slack)
	i := bytes.Index(buf[:limit], f.delim)
	if i < 0 {
		if len(buf) >= f.max+slack {
			return nil, 0, fmt.Errorf("%w: no delimiter within %d bytes", ErrTooLong, f.max+slack)
		}
		return nil, 0, codec.ErrIncomplete
	}
	return Frame(buf[:i]), i + len(f.delim), nil
}

func (f *Framer) decodeLength(buf []byte) (Frame, int, error) {
	if len(buf) < f.hdr {
		return nil, 0, codec.ErrIncomplete
	}
	var l uint64
	switch f.hdr {
	case 1:
		l = uint64(buf[0])
	case 2:
		if f.little {
			l = uint64(binary.LittleEndian.Uint16(buf))
		} else {
			l = uint64(binary.BigEndian.Uint16(buf))
		}
	default:
		if f.little {
			l = uint64(binary.LittleEndian.Uint32(buf))
		} else {
			l = uint64(binary.BigEndian.Uint32(buf))
		}
	}
	if f.inclusive {
		if l < uint64(f.hdr) {
			return nil, 0, fmt.Errorf("%w: length %d smaller than its %d byte header", ErrBadLength, l, f.hdr)
		}
		l -= uint64(f.hdr)
	}
	// Checked before waiting for the body: a huge length field is refused
	// at once rather than buffered up to.
	if l > uint64(f.max) {
		return nil, 0, fmt.Errorf("%w: length field %d > %d", ErrTooLong, l, f.max)
	}
	n := f.hdr + int(l)
	if len(buf) < n {
		return nil, 0, codec.ErrIncomplete
	}
	return Frame(buf[f.hdr:n]), n, nil
}

// Encode implements codec.Codec: f is a Frame, []byte or string, written
// with this framing.
func (f *Framer) Encode(dst []byte, fr codec.Frame) ([]byte, error) {
	var b []byte
	switch v := fr.(type) {
	case Frame:
		b = v
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return dst, fmt.Errorf("raw: cannot encode %T", fr)
	}
	return f.AppendFrame(dst, b)
}

// AppendFrame appends b with this framing to dst.
func (f *Framer) AppendFrame(dst, b []byte) ([]byte, error) {
	switch f.typ {
	case TypeLine, TypeDelimiter:
		dst = append(dst, b...)
		return append(dst, f.delim...), nil
	case TypeLength:
		l := uint64(len(b))
		if f.inclusive {
			l += uint64(f.hdr)
		}
		if l >= 1<<(8*f.hdr) {
			return dst, fmt.Errorf("%w: %d bytes do not fit a %d byte length", ErrFrameSize, len(b), f.hdr)
		}
		switch {
		case f.hdr == 1:
			dst = append(dst, byte(l))
		case f.hdr == 2 && f.little:
			dst = binary.LittleEndian.AppendUint16(dst, uint16(l))
		case f.hdr == 2:
			dst = binary.BigEndian.AppendUint16(dst, uint16(l))
		case f.little:
			dst = binary.LittleEndian.AppendUint32(dst, uint32(l))
		default:
			dst = binary.BigEndian.AppendUint32(dst, uint32(l))
		}
		return append(dst, b...), nil
	case TypeFixed:
		if len(b) != f.size {
			return dst, fmt.Errorf("%w: fixed frames are %d bytes, got %d", ErrFrameSize, f.size, len(b))
		}
		return append(dst, b...), nil
	default:
		return append(dst, b...), nil
	}
}

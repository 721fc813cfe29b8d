package raw

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/manifold-iot/manifold/codec"
)

func mustNew(t testing.TB, c Config) *Framer {
	t.Helper()
	f, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func cfg(mod func(*Config)) Config {
	c := DefaultConfig()
	mod(&c)
	return c
}

func TestDecode(t *testing.T) {
	line := cfg(func(c *Config) { c.MaxLength = 5 })
	delim := cfg(func(c *Config) { c.Type, c.Delimiter, c.MaxLength = TypeDelimiter, `\r\n`, 4 })
	hexDelim := cfg(func(c *Config) { c.Type, c.Delimiter = TypeDelimiter, "0x7e7e" })
	len1 := cfg(func(c *Config) { c.Type, c.LengthBytes, c.MaxLength = TypeLength, 1, 8 })
	len2be := cfg(func(c *Config) { c.Type, c.LengthBytes = TypeLength, 2 })
	len2le := cfg(func(c *Config) { c.Type, c.LengthBytes, c.Endian = TypeLength, 2, "little" })
	len2incl := cfg(func(c *Config) { c.Type, c.LengthBytes, c.LengthIncludesHeader = TypeLength, 2, true })
	len4be := cfg(func(c *Config) { c.Type, c.LengthBytes, c.MaxLength = TypeLength, 4, 100 })
	len4le := cfg(func(c *Config) { c.Type, c.LengthBytes, c.Endian = TypeLength, 4, "little" })
	len4inclLE := cfg(func(c *Config) {
		c.Type, c.LengthBytes, c.Endian, c.LengthIncludesHeader = TypeLength, 4, "little", true
	})
	fixed := cfg(func(c *Config) { c.Type, c.Size = TypeFixed, 3 })
	dgram := cfg(func(c *Config) { c.Type, c.MaxLength = TypeDatagram, 4 })

	tests := []struct {
		name  string
		cfg   Config
		in    string
		frame string
		n     int
		err   error // nil: a frame; codec.ErrIncomplete; ErrTooLong; ErrBadLength
	}{
		{"line", line, "hello\nnext", "hello", 6, nil},
		{"line_crlf", line, "hello\r\n", "hello", 7, nil},
		{"line_empty", line, "\n", "", 1, nil},
		{"line_partial", line, "hel", "", 0, codec.ErrIncomplete},
		{"line_partial_at_max_with_cr", line, "hello\r", "", 0, codec.ErrIncomplete},
		{"line_too_long_no_newline", line, "hello!!", "", 0, ErrTooLong},
		{"line_too_long_with_newline", line, "hello!\n", "", 0, ErrTooLong},
		{"line_cr_counts_when_not_last", line, "hell\ro\n", "", 0, ErrTooLong},
		{"delimiter_escaped_crlf", delim, "abcd\r\nx", "abcd", 6, nil},
		{"delimiter_lone_lf_is_data", delim, "a\nb\r\n", "a\nb", 5, nil},
		{"delimiter_partial", delim, "abcd\r", "", 0, codec.ErrIncomplete},
		{"delimiter_too_long", delim, "abcde\r\n", "", 0, ErrTooLong},
		{"delimiter_hex", hexDelim, "x~~y", "x", 3, nil},
		{"len1", len1, "\x03abcZ", "abc", 4, nil},
		{"len1_zero", len1, "\x00rest", "", 1, nil},
		{"len1_header_only", len1, "", "", 0, codec.ErrIncomplete},
		{"len1_body_partial", len1, "\x03ab", "", 0, codec.ErrIncomplete},
		{"len1_over_max", len1, "\x09", "", 0, ErrTooLong},
		{"len2_big_endian", len2be, "\x00\x02hi", "hi", 4, nil},
		{"len2_big_endian_header_partial", len2be, "\x00", "", 0, codec.ErrIncomplete},
		{"len2_little_endian", len2le, "\x02\x00hi", "hi", 4, nil},
		{"len2_includes_header", len2incl, "\x00\x04hi", "hi", 4, nil},
		{"len2_includes_header_empty_body", len2incl, "\x00\x02", "", 2, nil},
		{"len2_includes_header_too_small", len2incl, "\x00\x01", "", 0, ErrBadLength},
		{"len4_big_endian", len4be, "\x00\x00\x00\x01!", "!", 5, nil},
		{"len4_huge_field_refused_at_once", len4be, "\xff\xff\xff\xff", "", 0, ErrTooLong},
		{"len4_little_endian", len4le, "\x01\x00\x00\x00!", "!", 5, nil},
		{"len4_little_endian_includes_header", len4inclLE, "\x05\x00\x00\x00!", "!", 5, nil},
		{"fixed", fixed, "abcdef", "abc", 3, nil},
		{"fixed_partial", fixed, "ab", "", 0, codec.ErrIncomplete},
		{"datagram", dgram, "abcd", "abcd", 4, nil},
		{"datagram_too_long", dgram, "abcde", "", 0, ErrTooLong},
		{"datagram_empty", dgram, "", "", 0, codec.ErrIncomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustNew(t, tt.cfg)
			got, n, err := f.Decode([]byte(tt.in))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err %v", err)
			}
			if string(got.(Frame)) != tt.frame || n != tt.n {
				t.Fatalf("got %q n=%d, want %q n=%d", got, n, tt.frame, tt.n)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		in   codec.Frame
		out  string
		err  error
	}{
		{"line", DefaultConfig(), Frame("cmd"), "cmd\n", nil},
		{"line_string", DefaultConfig(), "cmd", "cmd\n", nil},
		{"line_bytes", DefaultConfig(), []byte("cmd"), "cmd\n", nil},
		{"delimiter", cfg(func(c *Config) { c.Type, c.Delimiter = TypeDelimiter, "\x00" }), Frame("a"), "a\x00", nil},
		{"len1", cfg(func(c *Config) { c.Type, c.LengthBytes = TypeLength, 1 }), Frame("ab"), "\x02ab", nil},
		{"len1_too_big", cfg(func(c *Config) { c.Type, c.LengthBytes = TypeLength, 1 }), Frame(strings.Repeat("x", 256)), "", ErrFrameSize},
		{"len1_incl_too_big", cfg(func(c *Config) { c.Type, c.LengthBytes, c.LengthIncludesHeader = TypeLength, 1, true }),
			Frame(strings.Repeat("x", 255)), "", ErrFrameSize},
		{"len2_be", cfg(func(c *Config) { c.Type = TypeLength }), Frame("ab"), "\x00\x02ab", nil},
		{"len2_le_incl", cfg(func(c *Config) { c.Type, c.Endian, c.LengthIncludesHeader = TypeLength, "little", true }),
			Frame("ab"), "\x04\x00ab", nil},
		{"len4_be", cfg(func(c *Config) { c.Type, c.LengthBytes = TypeLength, 4 }), Frame(""), "\x00\x00\x00\x00", nil},
		{"len4_le", cfg(func(c *Config) { c.Type, c.LengthBytes, c.Endian = TypeLength, 4, "little" }), Frame("z"), "\x01\x00\x00\x00z", nil},
		{"fixed", cfg(func(c *Config) { c.Type, c.Size = TypeFixed, 2 }), Frame("ab"), "ab", nil},
		{"fixed_wrong_size", cfg(func(c *Config) { c.Type, c.Size = TypeFixed, 2 }), Frame("abc"), "", ErrFrameSize},
		{"datagram", cfg(func(c *Config) { c.Type = TypeDatagram }), Frame("abc"), "abc", nil},
		{"unknown_type", DefaultConfig(), 42, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustNew(t, tt.cfg)
			out, err := f.Encode([]byte("pre:"), tt.in)
			if tt.name == "unknown_type" {
				if err == nil {
					t.Fatal("encoded an int")
				}
				return
			}
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || string(out) != "pre:"+tt.out {
				t.Fatalf("got %q %v, want %q", out, err, "pre:"+tt.out)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" valid; else a substring of the error
	}{
		{"default", DefaultConfig(), ""},
		{"bad_type", cfg(func(c *Config) { c.Type = "json" }), "k.type: must be"},
		{"negative_max", cfg(func(c *Config) { c.MaxLength = -1 }), "k.max_length"},
		{"huge_max", cfg(func(c *Config) { c.MaxLength = MaxMaxLength + 1 }), "k.max_length"},
		{"empty_delimiter", cfg(func(c *Config) { c.Type = TypeDelimiter }), "k.delimiter: must not be empty"},
		{"bad_hex_delimiter", cfg(func(c *Config) { c.Type, c.Delimiter = TypeDelimiter, "0xzz" }), "k.delimiter: bad hex"},
		{"bad_escape_delimiter", cfg(func(c *Config) { c.Type, c.Delimiter = TypeDelimiter, `\q` }), "k.delimiter: bad escape"},
		{"length_bytes_3", cfg(func(c *Config) { c.Type, c.LengthBytes = TypeLength, 3 }), "k.length_bytes"},
		{"endian", cfg(func(c *Config) { c.Type, c.Endian = TypeLength, "middle" }), "k.endian"},
		{"fixed_no_size", cfg(func(c *Config) { c.Type = TypeFixed }), "k.size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate("k")
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseDelimiter(t *testing.T) {
	for in, want := range map[string]string{`\r\n`: "\r\n", "\r\n": "\r\n", `\x00`: "\x00", "0x0D0a": "\r\n", "END": "END", `a"\t`: "a\"\t"} {
		got, err := ParseDelimiter(in)
		if err != nil || string(got) != want {
			t.Errorf("ParseDelimiter(%q) = %q %v, want %q", in, got, err, want)
		}
	}
}

// TestRoundTrip: what Encode writes, Decode reads back, for every framing,
// also when several frames arrive in one buffer.
func TestRoundTrip(t *testing.T) {
	cfgs := map[string]Config{
		"line":      DefaultConfig(),
		"delimiter": cfg(func(c *Config) { c.Type, c.Delimiter = TypeDelimiter, "||" }),
		"len1":      cfg(func(c *Config) { c.Type, c.LengthBytes = TypeLength, 1 }),
		"len2le":    cfg(func(c *Config) { c.Type, c.Endian = TypeLength, "little" }),
		"len4incl":  cfg(func(c *Config) { c.Type, c.LengthBytes, c.LengthIncludesHeader = TypeLength, 4, true }),
		"fixed":     cfg(func(c *Config) { c.Type, c.Size = TypeFixed, 3 }),
	}
	frames := []string{"abc", "xyz", "123"}
	for name, c := range cfgs {
		t.Run(name, func(t *testing.T) {
			f := mustNew(t, c)
			var buf []byte
			for _, s := range frames {
				var err error
				if buf, err = f.Encode(buf, Frame(s)); err != nil {
					t.Fatal(err)
				}
			}
			for _, want := range frames {
				got, n, err := f.Decode(buf)
				if err != nil || string(got.(Frame)) != want {
					t.Fatalf("got %q %v, want %q", got, err, want)
				}
				buf = buf[n:]
			}
			if len(buf) != 0 {
				t.Fatalf("%d bytes left", len(buf))
			}
		})
	}
}

// fuzzDecode checks Decode's contract on any input: no panic; a frame lies
// within the bytes consumed, which lie within buf; never longer than
// max_length; and re-encoding the frame decodes to the same frame.
func fuzzDecode(f *testing.F, c Config, seeds ...string) {
	fr := mustNew(f, c)
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, n, err := fr.Decode(b)
		if err != nil {
			if got != nil || n != 0 {
				t.Fatalf("error %v with frame %q n=%d", err, got, n)
			}
			return
		}
		frame := got.(Frame)
		if n <= 0 || n > len(b) || len(frame) > n || len(frame) > fr.MaxLength() {
			t.Fatalf("frame %d bytes, n=%d, buf %d, max %d", len(frame), n, len(b), fr.MaxLength())
		}
		if fr.Type() == TypeLine || fr.Type() == TypeDelimiter {
			return // a line ending in '\r' (or a delimiter's prefix) does not survive re-encoding, by design
		}
		enc, err := fr.Encode(nil, frame)
		if err != nil {
			t.Fatalf("decoded frame %q does not encode: %v", frame, err)
		}
		again, m, err := fr.Decode(enc)
		if err != nil || m != len(enc) || !bytes.Equal(again.(Frame), frame) {
			t.Fatalf("round trip %q -> %q (%v)", frame, again, err)
		}
	})
}

func FuzzDecodeLine(f *testing.F) {
	fuzzDecode(f, cfg(func(c *Config) { c.MaxLength = 16 }), "hello\n", "a\r\n", "\n", "xxxxxxxxxxxxxxxxxxxxxx\n")
}

func FuzzDecodeDelimiter(f *testing.F) {
	fuzzDecode(f, cfg(func(c *Config) { c.Type, c.Delimiter, c.MaxLength = TypeDelimiter, `\r\n`, 16 }), "ab\r\n", "\r", "\r\n\r\n")
}

func FuzzDecodeLength(f *testing.F) {
	fuzzDecode(f, cfg(func(c *Config) { c.Type, c.MaxLength = TypeLength, 64 }), "\x00\x02hi", "\xff\xff", "\x00")
}

func FuzzDecodeLengthInclusive(f *testing.F) {
	fuzzDecode(f, cfg(func(c *Config) {
		c.Type, c.LengthBytes, c.Endian, c.LengthIncludesHeader, c.MaxLength = TypeLength, 4, "little", true, 64
	}), "\x05\x00\x00\x00!", "\x01\x00\x00\x00", "\xff\xff\xff\xff")
}

func FuzzDecodeFixed(f *testing.F) {
	fuzzDecode(f, cfg(func(c *Config) { c.Type, c.Size = TypeFixed, 4 }), "abcd", "ab")
}

func FuzzDecodeDatagram(f *testing.F) {
	fuzzDecode(f, cfg(func(c *Config) { c.Type, c.MaxLength = TypeDatagram, 16 }), "abc", "")
}

func BenchmarkDecodeLine(b *testing.B) {
	f := mustNew(b, DefaultConfig())
	buf := []byte("temperature=21.5;humidity=40\n")
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.DecodeFrame(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeLength(b *testing.B) {
	f := mustNew(b, cfg(func(c *Config) { c.Type = TypeLength }))
	buf, _ := f.AppendFrame(nil, []byte("temperature=21.5;humidity=40"))
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.DecodeFrame(buf); err != nil {
			b.Fatal(err)
		}
	}
}

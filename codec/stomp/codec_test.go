package stomp

import (
	"errors"
	"reflect"
	"testing"

	"github.com/go-stomp/stomp/v3/frame"

	"github.com/manifold-iot/manifold/codec"
)

// hdr builds a header from name, value pairs.
func hdr(kv ...string) *frame.Header { return frame.NewHeader(kv...) }

// frameCases are well-formed wire frames with the frame they decode to; raw
// is also what Encode writes for want, unless encoded says otherwise.
var frameCases = []struct {
	name    string
	v       Version
	raw     string
	want    *frame.Frame
	encoded string // "" when Encode writes raw back
}{
	{name: "CONNECT 1.0 without accept-version", v: 0,
		raw:  "CONNECT\nlogin:guest\npasscode:a\\nb\n\n\x00",
		want: &frame.Frame{Command: "CONNECT", Header: hdr("login", "guest", "passcode", `a\nb`)}},
	{name: "STOMP 1.2 is never unescaped", v: V12,
		raw:  "STOMP\naccept-version:1.2\nhost:h\\c1\n\n\x00",
		want: &frame.Frame{Command: "STOMP", Header: hdr("accept-version", "1.2", "host", `h\c1`)}},
	{name: "SEND 1.0 takes backslashes literally", v: V10,
		raw:     "SEND\ndestination:a\\cb\n\nhi\x00",
		want:    &frame.Frame{Command: "SEND", Header: hdr("destination", `a\cb`), Body: []byte("hi")},
		encoded: "SEND\ndestination:a\\cb\ncontent-length:2\n\nhi\x00"},
	{name: "SEND 1.1 escapes", v: V11,
		raw:  "SEND\ndestination:a/b\nx\\cy:1\\n2\\\\3\n\n\x00",
		want: &frame.Frame{Command: "SEND", Header: hdr("destination", "a/b", "x:y", "1\n2\\3")}},
	{name: "SEND 1.2 escapes CR", v: V12,
		raw:  "SEND\ndestination:t\nk:a\\rb\n\n\x00",
		want: &frame.Frame{Command: "SEND", Header: hdr("destination", "t", "k", "a\rb")}},
	{name: "CR LF line ends", v: V12,
		raw:     "SEND\r\ndestination:t\r\n\r\nbody\x00",
		want:    &frame.Frame{Command: "SEND", Header: hdr("destination", "t"), Body: []byte("body")},
		encoded: "SEND\ndestination:t\ncontent-length:4\n\nbody\x00"},
	{name: "content-length with NUL in the body", v: V12,
		raw:  "SEND\ndestination:t\ncontent-length:5\n\na\x00b\x00c\x00",
		want: &frame.Frame{Command: "SEND", Header: hdr("destination", "t", "content-length", "5"), Body: []byte("a\x00b\x00c")}},
	{name: "content-length 0", v: V11,
		raw:     "SEND\ndestination:t\ncontent-length:0\n\n\x00",
		want:    &frame.Frame{Command: "SEND", Header: hdr("destination", "t", "content-length", "0")},
		encoded: "SEND\ndestination:t\n\n\x00"},
	{name: "repeated header keeps both, first counts", v: V12,
		raw:  "SEND\ndestination:a\ndestination:b\n\n\x00",
		want: &frame.Frame{Command: "SEND", Header: hdr("destination", "a", "destination", "b")}},
	{name: "empty value", v: V12,
		raw:  "SEND\ndestination:t\nempty:\n\n\x00",
		want: &frame.Frame{Command: "SEND", Header: hdr("destination", "t", "empty", "")}},
	{name: "value with colons", v: V10,
		raw:  "SUBSCRIBE\ndestination:a:b:c\nid:0\n\n\x00",
		want: &frame.Frame{Command: "SUBSCRIBE", Header: hdr("destination", "a:b:c", "id", "0")}},
	{name: "DISCONNECT no headers", v: V12,
		raw:  "DISCONNECT\n\n\x00",
		want: &frame.Frame{Command: "DISCONNECT", Header: hdr()}},
}

func TestDecode(t *testing.T) {
	for _, tc := range frameCases {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(tc.raw + "NEXT")
			f, n, err := Decode(raw, tc.v, Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if n != len(tc.raw) {
				t.Errorf("used %d bytes, want %d", n, len(tc.raw))
			}
			if !reflect.DeepEqual(f, tc.want) {
				t.Errorf("got %#v %v\nwant %#v %v", f, f.(*frame.Frame).Header, tc.want, tc.want.Header)
			}
			// Every strict prefix is incomplete.
			for i := 0; i < len(tc.raw); i++ {
				if _, _, err := Decode([]byte(tc.raw[:i]), tc.v, Limits{}); !errors.Is(err, codec.ErrIncomplete) {
					t.Fatalf("prefix %q: err %v, want ErrIncomplete", tc.raw[:i], err)
				}
			}
		})
	}
}

func TestEncode(t *testing.T) {
	for _, tc := range frameCases {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.v
			if v == 0 {
				v = V12
			}
			want := tc.encoded
			if want == "" {
				want = tc.raw
			}
			got, err := Encode(nil, tc.want, v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want {
				t.Errorf("Encode = %q, want %q", got, want)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	tests := []struct {
		name string
		f    codec.Frame
		v    Version
	}{
		{"newline in a 1.0 value", &frame.Frame{Command: "MESSAGE", Header: hdr("k", "a\nb")}, V10},
		{"colon in a 1.0 name", &frame.Frame{Command: "MESSAGE", Header: hdr("a:b", "v")}, V10},
		{"CR in a 1.1 value", &frame.Frame{Command: "MESSAGE", Header: hdr("k", "a\rb")}, V11},
		{"newline in CONNECTED", &frame.Frame{Command: "CONNECTED", Header: hdr("server", "a\nb")}, V12},
		{"empty name", &frame.Frame{Command: "MESSAGE", Header: hdr("", "v")}, V12},
		{"unknown command", &frame.Frame{Command: "HELLO"}, V12},
		{"not a frame", 42, V12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if b, err := Encode(nil, tc.f, tc.v); err == nil {
				t.Errorf("Encode = %q, want an error", b)
			}
		})
	}
}

func TestEncodeBinaryBodyHasContentLength(t *testing.T) {
	f := &frame.Frame{Command: "MESSAGE", Header: hdr("destination", "t", "content-length", "99"), Body: []byte{0, 1, 0}}
	b, err := Encode(nil, f, V12)
	if err != nil {
		t.Fatal(err)
	}
	if want := "MESSAGE\ndestination:t\ncontent-length:3\n\n\x00\x01\x00\x00"; string(b) != want {
		t.Fatalf("Encode = %q, want %q", b, want)
	}
	g, n, err := Decode(b, V12, Limits{})
	if err != nil || n != len(b) || string(g.(*frame.Frame).Body) != "\x00\x01\x00" {
		t.Fatalf("Decode back = %#v %d %v", g, n, err)
	}
}

func TestHeartbeats(t *testing.T) {
	tests := []struct {
		raw  string
		n    int
		err  error
		want codec.Frame
	}{
		{"\n", 1, nil, Heartbeat{}},
		{"\r\n", 2, nil, Heartbeat{}},
		{"\r", 0, codec.ErrIncomplete, nil},
		{"\rX", 0, ErrMalformed, nil},
		{"", 0, codec.ErrIncomplete, nil},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			f, n, err := Decode([]byte(tc.raw), V12, Limits{})
			if !errors.Is(err, tc.err) || n != tc.n || f != tc.want {
				t.Errorf("Decode = %v %d %v, want %v %d %v", f, n, err, tc.want, tc.n, tc.err)
			}
		})
	}
	if b, _ := Encode(nil, Heartbeat{}, V12); string(b) != "\n" {
		t.Errorf("Encode(Heartbeat) = %q", b)
	}
}

func TestDecodeErrors(t *testing.T) {
	lim := Limits{MaxHeaders: 2, MaxHeadersLength: 20, MaxBodyLength: 4, MaxFrameSize: 64}
	tests := []struct {
		name string
		v    Version
		raw  string
		lim  Limits
		want error
	}{
		{"unknown command", V12, "HELLO\n\n\x00", Limits{}, ErrUnknownCommand},
		{"lowercase command", V12, "send\n\n\x00", Limits{}, ErrUnknownCommand},
		{"endless command line", V12, "SENDSENDSENDSENDSEND", Limits{}, ErrUnknownCommand},
		{"header without colon", V12, "SEND\nfoo\n\n\x00", Limits{}, ErrMalformed},
		{"header without name", V12, "SEND\n:v\n\n\x00", Limits{}, ErrMalformed},
		{"NUL in headers", V12, "SEND\nk:\x00v\n\n\x00", Limits{}, ErrMalformed},
		{"empty command", V12, "\r\n", Limits{}, nil},
		{"bad content-length", V12, "SEND\ncontent-length:x\n\n\x00", Limits{}, ErrMalformed},
		{"negative content-length", V12, "SEND\ncontent-length:-1\n\n\x00", Limits{}, ErrMalformed},
		{"no NUL after content-length", V12, "SEND\ncontent-length:1\n\nab", Limits{}, ErrMalformed},
		{"undefined escape", V12, "SEND\nk:\\t\n\n\x00", Limits{}, ErrBadEscape},
		{"trailing backslash", V11, "SEND\nk:a\\\n\n\x00", Limits{}, ErrBadEscape},
		{"CR escape in 1.1", V11, "SEND\nk:\\r\n\n\x00", Limits{}, ErrBadEscape},
		{"too many headers", V12, "SEND\na:1\nb:2\nc:3\n\n\x00", lim, ErrTooManyHeaders},
		{"too many headers before the end", V12, "SEND\na:1\nb:2\nc:3\n", lim, ErrTooManyHeaders},
		{"header too long", V12, "SEND\nk:0123456789012345678901\n\n\x00", lim, ErrHeaderTooLong},
		{"header too long before its end", V12, "SEND\nk:0123456789012345678901", lim, ErrHeaderTooLong},
		{"body too long by content-length", V12, "SEND\ncontent-length:5\n\n", lim, ErrBodyTooLong},
		{"body too long by NUL", V12, "SEND\n\n12345\x00", lim, ErrBodyTooLong},
		{"body too long before NUL", V12, "SEND\n\n12345", lim, ErrBodyTooLong},
		{"frame too large", V12, "SEND\na:123456\nb:123456\n\n\x00",
			Limits{MaxFrameSize: 20}, ErrFrameTooLarge},
		{"frame too large by content-length", V12, "SEND\ncontent-length:100\n\n",
			Limits{MaxFrameSize: 50}, ErrFrameTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, n, err := Decode([]byte(tc.raw), tc.v, tc.lim)
			if tc.want == nil {
				// "\r\n" is a heart-beat, not a frame.
				if _, ok := f.(Heartbeat); !ok || err != nil {
					t.Fatalf("Decode = %v %d %v", f, n, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %v %d %v, want %v", f, n, err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
		})
	}
}

func TestCodecUsesVersion(t *testing.T) {
	c := &Codec{}
	raw := []byte("SEND\nk:a\\cb\n\n\x00")
	f, _, _ := c.Decode(raw)
	if got := f.(*frame.Frame).Header.Get("k"); got != `a\cb` {
		t.Errorf("before CONNECT: %q", got)
	}
	c.Version = V12
	f, _, _ = c.Decode(raw)
	if got := f.(*frame.Frame).Header.Get("k"); got != "a:b" {
		t.Errorf("at 1.2: %q", got)
	}
	// A colon in a value goes out unescaped: it reads back the same.
	b, err := c.Encode(nil, f)
	if err != nil || string(b) != "SEND\nk:a:b\n\n\x00" {
		t.Errorf("Encode = %q %v", b, err)
	}
}

func TestParseVersion(t *testing.T) {
	for _, v := range []Version{V10, V11, V12} {
		if got, ok := ParseVersion(v.String()); !ok || got != v {
			t.Errorf("ParseVersion(%q) = %v %v", v.String(), got, ok)
		}
	}
	if _, ok := ParseVersion("2.0"); ok {
		t.Error("ParseVersion(2.0) ok")
	}
}

package stomp

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/go-stomp/stomp/v3/frame"

	"github.com/manifold-iot/manifold/codec"
)

// FuzzDecode checks that Decode never panics, returns only typed errors, and
// that every frame it accepts survives Encode and a second Decode unchanged
// (content-length aside, which Encode sets from the body).
func FuzzDecode(f *testing.F) {
	for _, tc := range frameCases {
		f.Add(byte(tc.v), []byte(tc.raw), uint8(0))
	}
	f.Add(byte(V12), []byte("SEND\nk:\\t\n\n\x00"), uint8(3))
	f.Add(byte(V11), []byte("SEND\ncontent-length:3\n\n\x00\x00\x00\x00"), uint8(1))
	f.Add(byte(V10), []byte("\r\n\nSUBSCRIBE\nid:1\n\n\x00"), uint8(2))
	f.Fuzz(func(t *testing.T, vb byte, data []byte, limSel uint8) {
		v := []Version{0, V10, V11, V12}[vb%4]
		lim := Limits{}
		if limSel%2 == 1 {
			lim = Limits{MaxHeaders: 4, MaxHeadersLength: 32, MaxBodyLength: 64, MaxFrameSize: 128}
		}
		got, n, err := Decode(data, v, lim)
		if err != nil {
			var e *Error
			if !errors.Is(err, codec.ErrIncomplete) && !errors.As(err, &e) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if n <= 0 || n > len(data) {
			t.Fatalf("n = %d for %d bytes", n, len(data))
		}
		fr, ok := got.(*frame.Frame)
		if !ok {
			return // a heart-beat
		}
		enc, err := Encode(nil, fr, v)
		if err != nil {
			// Only headers a version cannot write back (1.0 or CONNECT
			// values the decoder took literally) may be refused.
			return
		}
		again, n2, err := Decode(enc, v, Limits{})
		if err != nil || n2 != len(enc) {
			t.Fatalf("re-decode of %q: %v (%d of %d bytes)", enc, err, n2, len(enc))
		}
		fr2 := again.(*frame.Frame)
		if fr.Command != fr2.Command || !bytes.Equal(fr.Body, fr2.Body) || !reflect.DeepEqual(stripLength(fr.Header), stripLength(fr2.Header)) {
			t.Fatalf("round trip changed the frame:\n%#v\n%#v", fr, fr2)
		}
	})
}

func stripLength(h *frame.Header) []string {
	var out []string
	for i := 0; i < h.Len(); i++ {
		k, v := h.GetAt(i)
		if k != frame.ContentLength {
			out = append(out, k, v)
		}
	}
	return out
}

package mqtt

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/manifold-iot/manifold/codec"
)

// FuzzDecode checks that Decode never panics and that every packet it accepts
// survives Encode and a second Decode unchanged (decode∘encode round trip). It
// also checks that a reused Decoder agrees with Decode and that Size matches
// the encoded length.
func FuzzDecode(f *testing.F) {
	for _, tc := range packetCases {
		f.Add(tc.version, tc.raw)
	}
	for _, tc := range malformedCases {
		f.Add(tc.version, tc.raw)
	}
	d := NewDecoder(0, 0)
	f.Fuzz(func(t *testing.T, version byte, data []byte) {
		p, n, err := Decode(data, version, 0)
		d.Version = version
		dp, dn, derr := d.DecodePacket(data)
		if !reflect.DeepEqual(p, dp) || n != dn || !sameError(err, derr) {
			t.Fatalf("Decoder disagrees with Decode:\n%#v %d %v\n%#v %d %v", dp, dn, derr, p, n, err)
		}
		if err != nil {
			var e *Error
			if err != codec.ErrIncomplete && !errors.As(err, &e) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if n <= 0 || n > len(data) {
			t.Fatalf("n = %d for %d bytes", n, len(data))
		}
		enc, err := Encode(nil, p, version)
		if err != nil {
			t.Fatalf("Encode of decoded %#v: %v", p, err)
		}
		if s := Size(p, version); s != len(enc) {
			t.Fatalf("Size = %d, encoded %d bytes", s, len(enc))
		}
		p2, n2, err := Decode(enc, version, 0)
		if err != nil {
			t.Fatalf("Decode of re-encoded % x: %v", enc, err)
		}
		if n2 != len(enc) {
			t.Fatalf("re-decode used %d of %d bytes", n2, len(enc))
		}
		if !reflect.DeepEqual(p, p2) {
			t.Fatalf("round trip changed the packet:\n%#v\n%#v", p, p2)
		}
		// The canonical form is a fixed point.
		enc2, err := Encode(nil, p2, version)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("re-encode differs: % x vs % x (%v)", enc, enc2, err)
		}
	})
}

func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Error() == b.Error()
}

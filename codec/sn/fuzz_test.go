package sn

import (
	"errors"
	"reflect"
	"testing"

	"github.com/manifold-iot/manifold/codec"
)

// FuzzDecode checks that Decode never panics, that its errors are typed, and
// that every message it accepts survives Encode and a second Decode.
func FuzzDecode(f *testing.F) {
	for _, tc := range messageCases {
		f.Add(tc.raw)
	}
	for _, tc := range malformedCases {
		f.Add(tc.raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, n, err := Decode(data)
		if err != nil {
			if !errors.Is(err, codec.ErrIncomplete) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if n < 2 || n > len(data) {
			t.Fatalf("n = %d for %d bytes", n, len(data))
		}
		b, err := Encode(nil, m)
		if err != nil {
			t.Fatalf("Encode of a decoded %v: %v", m.Type(), err)
		}
		m2, n2, err := Decode(b)
		if err != nil || n2 != len(b) {
			t.Fatalf("re-Decode: %v (%d of %d)", err, n2, len(b))
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the message:\n%#v\n%#v", m, m2)
		}
		if len(b) > n {
			t.Fatalf("re-encoding grew: % x -> % x", data[:n], b)
		}
	})
}

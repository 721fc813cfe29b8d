package bench

import (
	"bytes"
	"testing"
)

func TestPayloadRoundTrip(t *testing.T) {
	cases := []struct {
		size int
		h    Header
	}{
		{24, Header{Magic: Magic, Publisher: 0, Seq: 0, SentNanos: 1}},
		{64, Header{Magic: 0xdeadbeef, Publisher: 4242, Seq: 1<<40 + 5, SentNanos: 1_700_000_000_123_456_789}},
		{1000, Header{Magic: Magic, Publisher: 1<<32 - 1, Seq: 1<<64 - 1, SentNanos: -1}},
	}
	for _, tc := range cases {
		b := NewPayload(tc.size, tc.h)
		if len(b) != tc.size {
			t.Fatalf("len = %d, want %d", len(b), tc.size)
		}
		if pad := b[HeaderSize:]; !bytes.Equal(pad, bytes.Repeat([]byte("x"), len(pad))) {
			t.Errorf("padding is not 'x': %q", pad)
		}
		got, err := ParseHeader(b)
		if err != nil || got != tc.h {
			t.Errorf("ParseHeader = %+v, %v; want %+v", got, err, tc.h)
		}
		PutSeq(b, 9, 10)
		got, _ = ParseHeader(b)
		if got.Seq != 9 || got.SentNanos != 10 || got.Publisher != tc.h.Publisher {
			t.Errorf("after PutSeq: %+v", got)
		}
	}
}

func TestParseHeaderShort(t *testing.T) {
	if _, err := ParseHeader(make([]byte, HeaderSize-1)); err == nil {
		t.Error("a 23-byte payload parsed")
	}
}

// The layout is mqttload's (magic u32 | publisher u32 | seq u64 | nanos u64,
// big endian), so the two generators read each other's messages.
func TestPayloadLayout(t *testing.T) {
	b := NewPayload(24, Header{Magic: 0x01020304, Publisher: 0x05060708, Seq: 0x090a0b0c0d0e0f10, SentNanos: 0x1112131415161718})
	want := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24}
	if !bytes.Equal(b, want) {
		t.Errorf("layout % x", b)
	}
}

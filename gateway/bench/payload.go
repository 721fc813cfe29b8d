package bench

import (
	"encoding/binary"
	"errors"
)

// Magic marks the payloads of `manifold bench pub`; a pubsub run uses a
// random magic of its own so stray messages count as foreign.
const Magic uint32 = 0x4D464231 // "MFB1"

// Header is the start of every bench payload (big endian, 24 bytes).
type Header struct {
	Magic     uint32
	Publisher uint32
	Seq       uint64
	SentNanos int64 // unix nanoseconds when the message was written
}

// errShortPayload is returned for a payload shorter than the header.
var errShortPayload = errors.New("payload shorter than the 24-byte bench header")

// NewPayload returns a payload of size bytes (at least HeaderSize) with the
// header h and 'x' padding.
func NewPayload(size int, h Header) []byte {
	if size < HeaderSize {
		size = HeaderSize
	}
	b := make([]byte, size)
	for i := HeaderSize; i < size; i++ {
		b[i] = 'x'
	}
	binary.BigEndian.PutUint32(b, h.Magic)
	binary.BigEndian.PutUint32(b[4:], h.Publisher)
	PutSeq(b, h.Seq, h.SentNanos)
	return b
}

// PutSeq writes the sequence number and send time into a payload in place.
func PutSeq(b []byte, seq uint64, sentNanos int64) {
	binary.BigEndian.PutUint64(b[8:], seq)
	binary.BigEndian.PutUint64(b[16:], uint64(sentNanos))
}

// ParseHeader reads the header of a bench payload.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, errShortPayload
	}
	return Header{
		Magic:     binary.BigEndian.Uint32(b),
		Publisher: binary.BigEndian.Uint32(b[4:]),
		Seq:       binary.BigEndian.Uint64(b[8:]),
		SentNanos: int64(binary.BigEndian.Uint64(b[16:])),
	}, nil
}

package codec

import "errors"

// ErrIncomplete is returned by a Decode when the buffer holds only the start of a
// frame: the caller keeps the bytes and calls Decode again once more have arrived.
var ErrIncomplete = errors.New("codec: incomplete frame")

// Frame is one decoded unit of a wire protocol: an MQTT control packet, a STOMP
// frame, an MQTT-SN message. Each codec defines its own concrete frame types.
type Frame any

// Codec is the per-connection framing an adapter hands to the edge. A Codec may
// keep state (the MQTT protocol version learned from CONNECT, for instance), so
// the edge asks the adapter for a new one per connection.
type Codec interface {
	// Decode returns the first complete frame in buf and the bytes it used, or
	// ErrIncomplete, or an error describing why buf is malformed.
	Decode(buf []byte) (f Frame, n int, err error)
	// Encode appends the wire form of f to dst and returns the extended slice.
	Encode(dst []byte, f Frame) ([]byte, error)
}

// Package stomp is the STOMP 1.0, 1.1 and 1.2 frame codec: an incremental
// frame splitter over a connection's unread bytes and the per-version header
// escaping, on top of github.com/go-stomp/stomp/v3's frame types.
//
// # How bytes become frames
//
// Decode looks at the start of the buffer. End-of-line bytes between frames
// are heart-beats (STOMP 1.1 Heart-beating) and come out one by one as
// Heartbeat values. Otherwise Decode waits for the blank line that ends the
// headers, then for the body: exactly content-length bytes followed by a NUL
// when the frame has a content-length header (so the body may hold NULs), or
// everything up to the first NUL when it has none (STOMP 1.2 Frames). Only a
// complete frame is parsed into a *frame.Frame (go-stomp's type: command,
// ordered headers, body); limits are checked as soon as the bytes that break
// them have arrived, so an oversized frame is refused before it is buffered.
//
// go-stomp's own frame.Reader is not used: it reads from a blocking
// io.Reader, and it unescapes every header the 1.2 way whatever the version
// (STOMP 1.0 has no escapes, 1.1 has no \r, CONNECT and CONNECTED are never
// escaped). Encode likewise writes straight into the caller's buffer and
// always sets content-length on a frame with a body, which go-stomp's
// frame.Writer does not (a binary body with a NUL would end the frame early).
//
// A header repeated in one frame keeps every occurrence in order; the first
// one is the one that counts (STOMP 1.2 Repeated Header Entries), which is
// what frame.Header.Get returns.
//
// Decoded frames own their memory (strings and a copied body): nothing points
// into the caller's buffer after Decode returns.
package stomp

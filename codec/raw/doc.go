// Package raw holds the framers of the raw TCP/UDP gateway: pure codecs that
// cut a byte stream (or a datagram) into frames and put frames back on the
// wire. Five framings exist, chosen by Config.Type:
//
//   - line: a frame is the bytes before '\n' (a trailing '\r' is dropped);
//     Encode appends '\n'.
//   - delimiter: a frame is the bytes before a configured delimiter
//     ("\r\n", "\x00", "0x7e", …); Encode appends the delimiter.
//   - length: a 1, 2 or 4 byte unsigned length header, big or little endian,
//     counting the body alone or the header too, then the body; the frame is
//     the body and Encode writes the header.
//   - fixed: every frame is exactly Size bytes.
//   - datagram: the whole buffer is one frame (meant for UDP, where the edge
//     hands one datagram at a time).
//
// Decode returns a Frame that points into the caller's buffer (copy it to
// keep it), codec.ErrIncomplete when more bytes are needed, or an error
// wrapping ErrTooLong or ErrBadLength for input no frame can be made of.
// Nothing here logs, allocates per byte, or panics on any input: FuzzDecode
// targets prove the last.
package raw

// Package sn is Manifold's MQTT-SN 1.2 wire codec: it turns one datagram's
// bytes into MQTT-SN messages and messages into bytes. It covers every message
// of MQTT-SN 1.2 §5.4 (ADVERTISE through WILLMSGRESP) and the forwarder
// encapsulation of §5.5, both length forms (one octet, or 0x01 followed by
// two octets), the flags octet (§5.3.4) and the three topic id types
// (normal, predefined, short). Like every Manifold codec it does no I/O, no
// logging and never panics on any input (FuzzDecode checks this).
//
// # Data flow
//
// A transport hands the bytes of a datagram to Decode, which returns the
// first message and the bytes it used (its Length field); a datagram normally
// holds one message. Replies go through Encode, which appends to a
// caller-owned buffer and picks the one-octet length form whenever the
// message fits in 255 octets.
//
// # Buffer lifetime
//
// Publish.Data, WillMsg.Msg, WillMsgUpd.Msg and GwInfo.GwAddr reference the
// input buffer: copy them before the buffer is reused. Strings are copies.
//
// # Errors
//
// Decode returns codec.ErrIncomplete when buf is shorter than the Length
// field says (a truncated datagram) and an *Error for malformed input;
// errors.Is(err, ErrMalformed) holds for every *Error. MQTT-SN has no message
// for "malformed": the gateway drops such datagrams and counts them.
package sn

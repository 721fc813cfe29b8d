// Package mqtt is Manifold's MQTT wire codec: it turns bytes into MQTT control
// packets and packets into bytes for MQTT 3.1 (protocol name "MQIsdp", level
// 3), 3.1.1 (level 4) and 5.0 (level 5). It covers all 15 control packets, all
// 27 MQTT 5.0 properties (each checked against the packets it may appear in)
// and all MQTT 5.0 reason codes. Like every Manifold codec it does no I/O, no
// logging and never panics on any input (FuzzDecode checks this); the MQTT
// adapter drives it and the broker core never sees bytes.
//
// # Data flow
//
// The edge appends received bytes to a connection buffer and calls
// Decoder.Decode (or the package-level Decode) until it returns
// codec.ErrIncomplete; each call returns one packet and the number of bytes it
// used. The first packet must be a CONNECT, which is decoded by the protocol
// level it carries; the adapter then sets Decoder.Version to that level, which
// selects the wire format of every later packet. Outgoing packets go through
// Encode, which appends to a caller-owned buffer.
//
// # Buffer lifetime
//
// Decoding never copies payloads. Publish.Payload, Connect.Password,
// Connect.WillPayload, Properties.CorrelationData and
// Properties.AuthenticationData reference the input buffer: they stay valid
// only until the caller overwrites or reuses that buffer, so copy them before
// handing a packet to anything that outlives the read (a retained store, a
// session queue). Strings are always copies (or interned) and are safe to keep.
// The package-level Decode returns a new packet each call; a Decoder reuses its
// PUBLISH, acknowledgement and ping structs, which are valid only until its
// next Decode. Encode allocates nothing when dst has room for the packet (see
// Size).
//
// # Errors and reason codes
//
// Decode returns codec.ErrIncomplete when more bytes are needed and an *Error
// for malformed input. Error.Code is the MQTT 5.0 reason code to answer with
// and Error.Reason names the broken rule and its spec clause:
//
//	var e *mqtt.Error
//	if errors.As(err, &e) { /* send DISCONNECT (or CONNACK) with e.Code */ }
//
// MalformedPacket (0x81) covers bad encodings: a remaining length over four
// bytes or not minimal, reserved flags, QoS 3, ill-formed UTF-8 or U+0000,
// unknown properties or properties not allowed in the packet, lengths that do
// not add up. ProtocolError (0x82) covers well-formed packets that break a
// rule: a first packet other than CONNECT, packet identifier 0, repeated
// properties, SUBSCRIBE without filters, No Local on a shared subscription.
// PacketTooLarge (0x95) is returned as soon as the fixed header shows the
// packet would exceed the maximum size, before its body is buffered.
// UnsupportedProtocolVersion (0x84) means a CONNECT with an unknown protocol
// name or level: answer CONNACK 0x84 on 5.0 and CONNACK 0x01 on 3.x
// (ReasonCode.V3ConnackCode maps the others). ClientIdentifierNotValid (0x85),
// TopicNameInvalid (0x90) and TopicFilterInvalid (0x8F) are used where the
// specification names them. On a 3.x connection the code only picks the CONNACK
// return code, if any; the answer to a malformed packet is closing the
// connection.
//
// ReasonCode itself implements error, and *Error unwraps to its Code, so
// errors.Is(err, mqtt.PacketTooLarge) also works.
package mqtt

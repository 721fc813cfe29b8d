package mqtt

import (
	"sync"

	"github.com/manifold-iot/manifold/codec"
)

// Decoder is the per-connection MQTT codec. It decodes without allocating on
// the hot path by reusing its own PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP,
// PINGREQ and PINGRESP structs: a packet of those types returned by Decode or
// DecodePacket is valid only until the next call (copy it, or the fields you
// need, to keep it). Other packet types are newly allocated, as with the
// package-level Decode. In every case byte slices reference buf.
//
// Topic names, topic filters, content types and response topics are interned
// in a small bounded table, so a repeated topic costs no allocation and the
// strings are safe to keep after the next call.
//
// The zero Decoder is ready to use with Version 0, which accepts only CONNECT.
// Decoding a CONNECT does not change Version: the adapter sets it once it
// accepts the connection (from Connect.ProtocolLevel). A Decoder is not safe
// for concurrent use.
type Decoder struct {
	// Version is the negotiated protocol level (V31, V311, V5), 0 before CONNECT.
	Version byte
	// MaxSize is the largest packet accepted, fixed header included; <= 0 means
	// MaxPacketSize.
	MaxSize int32 // 32 bits: the protocol's limit fits, and a Decoder is in every connection

	st  decodeState
	scr *scratch // allocated on the first PUBLISH, ack or ping: an idle connection pays nothing
}

// scratch holds the packets a Decoder reuses, and the backing arrays for the
// reused packets' repeatable properties.
type scratch struct {
	publish  Publish
	puback   Puback
	pubrec   Pubrec
	pubrel   Pubrel
	pubcomp  Pubcomp
	pingreq  Pingreq
	pingresp Pingresp
	users    []UserProperty
	subID    []uint32
}

var _ codec.Codec = (*Decoder)(nil)

// NewDecoder returns a Decoder for a connection at protocol level version (0
// before CONNECT) that refuses packets larger than maxSize (<= 0: no limit
// beyond the protocol's).
func NewDecoder(version byte, maxSize int) *Decoder {
	return &Decoder{Version: version, MaxSize: int32(min(maxSize, MaxPacketSize))}
}

// Decode implements codec.Codec: it is DecodePacket with the packet returned
// as a codec.Frame (nil on error).
func (d *Decoder) Decode(buf []byte) (codec.Frame, int, error) {
	p, n, err := d.DecodePacket(buf)
	if err != nil {
		return nil, 0, err
	}
	return p, n, nil
}

// Encode implements codec.Codec: it encodes f, which must be a Packet, at
// d.Version (see Encode).
func (d *Decoder) Encode(dst []byte, f codec.Frame) ([]byte, error) {
	p, ok := f.(Packet)
	if !ok {
		return dst, errEncNil
	}
	return Encode(dst, p, d.Version)
}

// DecodePacket returns the first complete packet in buf and the bytes it used,
// codec.ErrIncomplete, or an *Error; see Decode for the rules and the type
// doc for how long the packet stays valid.
func (d *Decoder) DecodePacket(buf []byte) (Packet, int, error) {
	t, flags, hdr, rem, err := readFixedHeader(buf, d.Version, int(d.MaxSize))
	if err != nil {
		return nil, 0, err
	}
	end := hdr + rem
	// Topics and property strings of PUBLISH repeat; a CONNECT's client id
	// does not, so interning it would only grow the table.
	d.st.interning = t == TypePublish
	r := reader{b: buf[hdr:end:end]}
	var p Packet
	if d.scr == nil && (t >= TypePublish && t <= TypePubcomp || t == TypePingreq || t == TypePingresp) {
		d.scr = new(scratch)
	}
	switch t {
	case TypePublish:
		pp := &d.scr.publish
		*pp = Publish{}
		d.lend(&pp.Properties)
		err = d.st.publish(&r, pp, flags, d.Version)
		d.reclaim(&pp.Properties)
		p = pp
	case TypePuback:
		pp := &d.scr.puback
		err, p = d.ackInto(&r, t, &pp.PacketID, &pp.ReasonCode, &pp.Properties), pp
	case TypePubrec:
		pp := &d.scr.pubrec
		err, p = d.ackInto(&r, t, &pp.PacketID, &pp.ReasonCode, &pp.Properties), pp
	case TypePubrel:
		pp := &d.scr.pubrel
		err, p = d.ackInto(&r, t, &pp.PacketID, &pp.ReasonCode, &pp.Properties), pp
	case TypePubcomp:
		pp := &d.scr.pubcomp
		err, p = d.ackInto(&r, t, &pp.PacketID, &pp.ReasonCode, &pp.Properties), pp
	case TypePingreq:
		err, p = empty(&r), &d.scr.pingreq
	case TypePingresp:
		err, p = empty(&r), &d.scr.pingresp
	default:
		p, err = d.st.decodeNew(t, flags, r.b, d.Version)
	}
	if err != nil {
		return nil, 0, err
	}
	return p, end, nil
}

// connectPool recycles CONNECT packets: each connection decodes one, and
// at a connect storm's rate their few hundred bytes each were the largest
// part of the garbage a connect leaves (see Recycle).
var connectPool = sync.Pool{New: func() any { return new(Connect) }}

// Recycle hands back a CONNECT that Decode or DecodePacket returned, once
// the caller is done with it and keeps no pointer to it (its strings and
// the byte slices copied out of it stay valid: only the struct is reused).
// Other packets are ignored. Calling it is optional.
func (d *Decoder) Recycle(p Packet) {
	if c, ok := p.(*Connect); ok && c != nil {
		*c = Connect{}
		connectPool.Put(c)
	}
}

// ackInto decodes a PUBACK, PUBREC, PUBREL or PUBCOMP body into a reused
// packet's fields (the four share their layout).
func (d *Decoder) ackInto(r *reader, t PacketType, id *uint16, rc *ReasonCode, props *Properties) error {
	*id, *rc, *props = 0, 0, Properties{}
	d.lend(props)
	err := d.st.ack(r, t, d.Version, id, rc, props)
	d.reclaim(props)
	return err
}

// lend gives a reused packet's properties the Decoder's backing arrays, so
// appending user properties and subscription identifiers does not allocate
// once they have grown.
func (d *Decoder) lend(p *Properties) {
	p.UserProperties = d.scr.users[:0]
	p.SubscriptionIdentifiers = d.scr.subID[:0]
}

// reclaim keeps whatever the backing arrays grew to, and leaves nil (not an
// empty slice) in the packet when a property was absent, as Decode does.
func (d *Decoder) reclaim(p *Properties) {
	d.scr.users = p.UserProperties[:0]
	d.scr.subID = p.SubscriptionIdentifiers[:0]
	if len(p.UserProperties) == 0 {
		p.UserProperties = nil
	}
	if len(p.SubscriptionIdentifiers) == 0 {
		p.SubscriptionIdentifiers = nil
	}
}

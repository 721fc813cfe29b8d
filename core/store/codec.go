package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/manifold-iot/manifold/core"
)

// ErrMalformed is wrapped by every decode error: a stored value is truncated,
// has trailing bytes, an unknown version or an impossible field.
var ErrMalformed = errors.New("store: malformed stored value")

// Format versions, the first byte of every encoded value. A decoder refuses a
// version it does not know (a newer Manifold wrote it).
const (
	messageVersion = 1
	entryVersion   = 1
	recordVersion  = 1
)

// Message flags (second byte of an encoded message).
const (
	msgQoSMask      = 0x03
	msgRetain       = 0x04
	msgTimestamp    = 0x08 // Timestamp is set (a zero time.Time is not encoded)
	msgCorrelation  = 0x10 // CorrelationData present (even empty)
	msgKnownFlags   = msgQoSMask | msgRetain | msgTimestamp | msgCorrelation
	entryRetain     = 0x01
	entrySharedBody = 0x02 // the body is a reference: Msg.ID, 8 bytes big-endian
	entryInlineBody = 0x04 // the encoded message follows the header
	entryKnownFlags = entryRetain | entrySharedBody | entryInlineBody
)

// AppendMessage appends m's encoding to dst:
//
//	version(1) flags(1) id(uvarint) topic(str) payload(bytes) from(str)
//	[timestamp unix nanos (varint) if flags&0x08] payloadFormat(1)
//	expiry nanos(varint) contentType(str) responseTopic(str)
//	[correlation(bytes) if flags&0x10] nUserProps(uvarint) {key(str) value(str)}
//
// where str and bytes are a uvarint length then the bytes.
func AppendMessage(dst []byte, m *core.Message) []byte {
	flags := byte(m.QoS) & msgQoSMask
	if m.Retain {
		flags |= msgRetain
	}
	if !m.Timestamp.IsZero() {
		flags |= msgTimestamp
	}
	if m.CorrelationData != nil {
		flags |= msgCorrelation
	}
	dst = append(dst, messageVersion, flags)
	dst = binary.AppendUvarint(dst, m.ID)
	dst = appendString(dst, m.Topic)
	dst = appendBytes(dst, m.Payload)
	dst = appendString(dst, m.From)
	if flags&msgTimestamp != 0 {
		dst = binary.AppendVarint(dst, m.Timestamp.UnixNano())
	}
	dst = append(dst, m.PayloadFormat)
	dst = binary.AppendVarint(dst, int64(m.ExpiryInterval))
	dst = appendString(dst, m.ContentType)
	dst = appendString(dst, m.ResponseTopic)
	if flags&msgCorrelation != 0 {
		dst = appendBytes(dst, m.CorrelationData)
	}
	dst = binary.AppendUvarint(dst, uint64(len(m.UserProperties)))
	for _, p := range m.UserProperties {
		dst = appendString(dst, p.Key)
		dst = appendString(dst, p.Value)
	}
	return dst
}

// DecodeMessage decodes a message encoded by AppendMessage. Every field is
// copied out of b, so b may be reused (Pebble's buffers are only valid until
// the iterator moves). The whole of b must be one message.
func DecodeMessage(b []byte) (*core.Message, error) {
	r := reader{b: b}
	m := r.message()
	if r.err == nil && len(r.b) > 0 {
		r.fail("message", fmt.Sprintf("%d trailing bytes", len(r.b)))
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}

// AppendEntry appends e's encoding to dst:
//
//	version(1) flags(1) qos(1) phase(1) packetID(2, big-endian)
//	nSubIDs(uvarint) {subID(uvarint)} shared(str)
//	[bodyID(8, big-endian) if flags&0x02] [message (AppendMessage) if flags&0x04]
//
// Seq is not encoded (it is in the key). In PhaseComp, or when e.Msg is nil,
// there is no body; with e.SharedBody the body is a reference to e.Msg.ID,
// else the message is inline.
func AppendEntry(dst []byte, e *Entry) []byte {
	var flags byte
	if e.Retain {
		flags |= entryRetain
	}
	if e.Msg != nil && e.Phase != PhaseComp {
		if e.SharedBody {
			flags |= entrySharedBody
		} else {
			flags |= entryInlineBody
		}
	}
	dst = append(dst, entryVersion, flags, byte(e.QoS), byte(e.Phase), byte(e.PacketID>>8), byte(e.PacketID))
	dst = binary.AppendUvarint(dst, uint64(len(e.SubIDs)))
	for _, id := range e.SubIDs {
		dst = binary.AppendUvarint(dst, uint64(id))
	}
	dst = appendString(dst, e.Shared)
	switch {
	case flags&entrySharedBody != 0:
		dst = binary.BigEndian.AppendUint64(dst, e.Msg.ID)
	case flags&entryInlineBody != 0:
		dst = AppendMessage(dst, e.Msg)
	}
	return dst
}

// DecodeEntry decodes an entry encoded by AppendEntry (Seq is left 0: it is
// in the key). An inline body is decoded into e.Msg; a shared body is not
// (e.Msg is nil, e.SharedBody is set) and bodyID names it.
func DecodeEntry(b []byte) (e Entry, bodyID uint64, err error) {
	r := reader{b: b}
	flags := r.entryHeader(&e)
	switch {
	case r.err != nil:
	case flags&entrySharedBody != 0:
		bodyID = r.u64("entry body id")
		e.SharedBody = true
	case flags&entryInlineBody != 0:
		e.Msg = r.message()
	}
	if r.err == nil && len(r.b) > 0 {
		r.fail("entry", fmt.Sprintf("%d trailing bytes", len(r.b)))
	}
	if r.err != nil {
		return Entry{}, 0, r.err
	}
	return e, bodyID, nil
}

// EntryBodyRef reads only the header of an encoded entry: whether its body is
// a shared one and which. Restore uses it to count references without
// decoding bodies.
func EntryBodyRef(b []byte) (shared bool, bodyID uint64, err error) {
	r := reader{b: b}
	var e Entry
	flags := r.entryHeader(&e)
	if r.err == nil && flags&entrySharedBody != 0 {
		bodyID = r.u64("entry body id")
		shared = true
	}
	return shared, bodyID, r.err
}

// AppendSessionRecord appends r's encoding (the client id is in the key):
//
//	version(1) username(str) proto(str) expiry nanos(varint)
//	disconnectedAt unix nanos(varint, 0 for zero time)
func AppendSessionRecord(dst []byte, r *SessionRecord) []byte {
	dst = append(dst, recordVersion)
	dst = appendString(dst, r.Username)
	dst = appendString(dst, r.Proto)
	dst = binary.AppendVarint(dst, int64(r.Expiry))
	return AppendTime(dst, r.DisconnectedAt)
}

// DecodeSessionRecord decodes a record encoded by AppendSessionRecord; the
// caller sets ClientID from the key.
func DecodeSessionRecord(b []byte) (SessionRecord, error) {
	r := reader{b: b}
	var s SessionRecord
	if v := r.byte1("session version"); r.err == nil && v != recordVersion {
		r.fail("session version", fmt.Sprintf("unknown version %d", v))
	}
	s.Username = string(r.bytes("session username"))
	s.Proto = string(r.bytes("session proto"))
	s.Expiry = time.Duration(r.varint("session expiry"))
	s.DisconnectedAt = r.time("session disconnected_at")
	if r.err == nil && len(r.b) > 0 {
		r.fail("session", fmt.Sprintf("%d trailing bytes", len(r.b)))
	}
	return s, r.err
}

// AppendSubOptions appends o's encoding:
// version(1) qos(1) flags(1: noLocal 1, retainAsPublished 2) retainHandling(1) subID(uvarint).
func AppendSubOptions(dst []byte, o core.SubOptions) []byte {
	var flags byte
	if o.NoLocal {
		flags |= 1
	}
	if o.RetainAsPublished {
		flags |= 2
	}
	dst = append(dst, recordVersion, byte(o.QoS), flags, o.RetainHandling)
	return binary.AppendUvarint(dst, uint64(o.SubscriptionID))
}

// DecodeSubOptions decodes options encoded by AppendSubOptions.
func DecodeSubOptions(b []byte) (core.SubOptions, error) {
	r := reader{b: b}
	var o core.SubOptions
	if v := r.byte1("suboptions version"); r.err == nil && v != recordVersion {
		r.fail("suboptions version", fmt.Sprintf("unknown version %d", v))
	}
	o.QoS = core.QoS(r.byte1("suboptions qos"))
	flags := r.byte1("suboptions flags")
	o.NoLocal = flags&1 != 0
	o.RetainAsPublished = flags&2 != 0
	o.RetainHandling = r.byte1("suboptions retain_handling")
	id := r.uvarint("suboptions subscription id")
	switch {
	case r.err != nil:
	case o.QoS > core.QoS2 || flags&^3 != 0 || o.RetainHandling > 2:
		r.fail("suboptions", "field out of range")
	case id > math.MaxUint32:
		r.fail("suboptions subscription id", "exceeds 32 bits")
	case len(r.b) > 0:
		r.fail("suboptions", fmt.Sprintf("%d trailing bytes", len(r.b)))
	}
	o.SubscriptionID = uint32(id)
	if r.err != nil {
		return core.SubOptions{}, r.err
	}
	return o, nil
}

// AppendTime appends t as unix nanoseconds (varint); the zero time as 0.
func AppendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(dst, 0)
	}
	return binary.AppendVarint(dst, t.UnixNano())
}

// DecodeTime decodes a time encoded by AppendTime.
func DecodeTime(b []byte) (time.Time, error) {
	r := reader{b: b}
	t := r.time("time")
	if r.err == nil && len(r.b) > 0 {
		r.fail("time", fmt.Sprintf("%d trailing bytes", len(r.b)))
	}
	return t, r.err
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// reader is a bounds-checked cursor over an encoded value. The first error is
// kept and every later read returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(field, why string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s: %s", ErrMalformed, field, why)
	}
}

func (r *reader) byte1(field string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.fail(field, "truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) u64(field string) uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.fail(field, "truncated")
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) uvarint(field string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(field, "bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint(field string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(field, "bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// bytes returns a length-prefixed field, aliasing r.b: callers copy it.
func (r *reader) bytes(field string) []byte {
	n := r.uvarint(field)
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail(field, fmt.Sprintf("length %d exceeds the %d bytes left", n, len(r.b)))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) time(field string) time.Time {
	n := r.varint(field)
	if r.err != nil || n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func (r *reader) message() *core.Message {
	if v := r.byte1("message version"); r.err == nil && v != messageVersion {
		r.fail("message version", fmt.Sprintf("unknown version %d", v))
	}
	flags := r.byte1("message flags")
	if r.err == nil && (flags&^msgKnownFlags != 0 || flags&msgQoSMask > 2) {
		r.fail("message flags", fmt.Sprintf("invalid flags %#x", flags))
	}
	m := &core.Message{
		QoS:    core.QoS(flags & msgQoSMask),
		Retain: flags&msgRetain != 0,
	}
	m.ID = r.uvarint("message id")
	m.Topic = string(r.bytes("message topic"))
	if p := r.bytes("message payload"); len(p) > 0 {
		m.Payload = append([]byte(nil), p...)
	}
	m.From = string(r.bytes("message from"))
	if flags&msgTimestamp != 0 {
		m.Timestamp = time.Unix(0, r.varint("message timestamp"))
	}
	m.PayloadFormat = r.byte1("message payload format")
	m.ExpiryInterval = time.Duration(r.varint("message expiry"))
	m.ContentType = string(r.bytes("message content type"))
	m.ResponseTopic = string(r.bytes("message response topic"))
	if flags&msgCorrelation != 0 {
		m.CorrelationData = append([]byte{}, r.bytes("message correlation data")...)
	}
	n := r.uvarint("message user properties")
	if r.err == nil && n > uint64(len(r.b))/2 { // each property takes at least 2 bytes
		r.fail("message user properties", fmt.Sprintf("count %d exceeds the %d bytes left", n, len(r.b)))
	}
	if r.err == nil && n > 0 {
		m.UserProperties = make([]core.UserProperty, n)
		for i := range m.UserProperties {
			m.UserProperties[i].Key = string(r.bytes("message user property key"))
			m.UserProperties[i].Value = string(r.bytes("message user property value"))
		}
	}
	if r.err != nil {
		return nil
	}
	return m
}

// entryHeader reads an entry up to its body and returns the flags.
func (r *reader) entryHeader(e *Entry) byte {
	if v := r.byte1("entry version"); r.err == nil && v != entryVersion {
		r.fail("entry version", fmt.Sprintf("unknown version %d", v))
	}
	flags := r.byte1("entry flags")
	e.QoS = core.QoS(r.byte1("entry qos"))
	e.Phase = Phase(r.byte1("entry phase"))
	e.PacketID = uint16(r.byte1("entry packet id"))<<8 | uint16(r.byte1("entry packet id"))
	if r.err == nil && (flags&^entryKnownFlags != 0 || flags&entrySharedBody != 0 && flags&entryInlineBody != 0) {
		r.fail("entry flags", fmt.Sprintf("invalid flags %#x", flags))
	}
	if r.err == nil && (e.QoS > core.QoS2 || e.Phase > PhaseComp) {
		r.fail("entry", "qos or phase out of range")
	}
	if r.err == nil && e.Phase == PhaseComp && flags&(entrySharedBody|entryInlineBody) != 0 {
		r.fail("entry", "a body in PhaseComp")
	}
	e.Retain = flags&entryRetain != 0
	n := r.uvarint("entry subscription ids")
	if r.err == nil && n > uint64(len(r.b)) {
		r.fail("entry subscription ids", fmt.Sprintf("count %d exceeds the %d bytes left", n, len(r.b)))
	}
	if r.err == nil && n > 0 {
		e.SubIDs = make([]uint32, n)
		for i := range e.SubIDs {
			id := r.uvarint("entry subscription id")
			if id > math.MaxUint32 {
				r.fail("entry subscription id", "exceeds 32 bits")
			}
			e.SubIDs[i] = uint32(id)
		}
	}
	e.Shared = string(r.bytes("entry shared group"))
	if r.err != nil {
		return 0
	}
	return flags
}

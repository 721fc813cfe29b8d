package mqtt

import (
	"bytes"
	"unicode/utf8"

	"github.com/manifold-iot/manifold/codec"
)

const (
	// maxVarint is the largest Variable Byte Integer (MQTT 5.0 §1.5.5).
	maxVarint = 268_435_455
	// MaxPacketSize is the largest packet MQTT can express: a 5-byte fixed
	// header and the largest remaining length. Decode uses it when maxSize <= 0.
	MaxPacketSize = 1 + 4 + maxVarint
)

// Decode errors are shared values, so the error path allocates nothing.
var (
	errShort            = malformed("packet shorter than its fields")
	errTrailing         = malformed("bytes after the last field (length mismatch)")
	errVarintLong       = malformed("variable byte integer longer than 4 bytes [MQTT-1.5.5-1]")
	errVarintMinimal    = malformed("variable byte integer not minimally encoded [MQTT-1.5.5-1]")
	errTooLarge         = &Error{Code: PacketTooLarge, Reason: "remaining length exceeds the maximum packet size [MQTT-3.2.2-15]"}
	errReservedType     = malformed("reserved packet type 0 (MQTT 5.0 §2.1.2)")
	errAuthV3           = malformed("AUTH is reserved before MQTT 5.0 (MQTT 3.1.1 §2.2.1)")
	errFlags            = malformed("reserved fixed-header flags not as specified [MQTT-2.1.3-1] [MQTT-2.2.2-1]")
	errNotConnected     = protocolErr("first packet must be CONNECT [MQTT-3.1.0-1]")
	errBadVersion       = &Error{Code: UnsupportedProtocolVersion, Reason: "unknown negotiated protocol version"}
	errQoS3             = malformed("PUBLISH QoS 3 [MQTT-3.3.1-4]")
	errDupQoS0          = protocolErr("DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]")
	errUTF8             = malformed("ill-formed UTF-8 string [MQTT-1.5.4-1] [MQTT-1.5.3-1]")
	errUTF8Null         = malformed("UTF-8 string contains U+0000 [MQTT-1.5.4-2] [MQTT-1.5.3-2]")
	errPacketIDZero     = protocolErr("packet identifier 0 [MQTT-2.2.1-3] [MQTT-2.3.1-1]")
	errTopicWildcard    = &Error{Code: TopicNameInvalid, Reason: "wildcard in topic name [MQTT-3.3.2-2]"}
	errTopicEmpty       = &Error{Code: TopicNameInvalid, Reason: "empty topic name [MQTT-4.7.3-1]"}
	errTopicEmptyAlias  = protocolErr("empty topic name without a topic alias (MQTT 5.0 §3.3.2.3.4)")
	errPropLength       = malformed("property length exceeds the packet (MQTT 5.0 §2.2.2.1)")
	errPropUnknown      = malformed("unknown property identifier (MQTT 5.0 §2.2.2.2)")
	errPropBool         = protocolErr("property value other than 0 or 1 (MQTT 5.0 §3.1.2.11, §3.2.2.3, §3.3.2.3.2)")
	errResponseTopic    = protocolErr("response topic is not a valid topic name [MQTT-3.3.2-14]")
	errSubIDZero        = protocolErr("subscription identifier 0 (MQTT 5.0 §3.3.2.3.8, §3.8.2.1.2)")
	errReceiveMaxZero   = protocolErr("receive maximum 0 (MQTT 5.0 §3.1.2.11.3, §3.2.2.3.3)")
	errTopicAliasZero   = protocolErr("topic alias 0 [MQTT-3.3.2-8]")
	errMaxPacketZero    = protocolErr("maximum packet size 0 (MQTT 5.0 §3.1.2.11.4, §3.2.2.3.6)")
	errProtocolName     = &Error{Code: UnsupportedProtocolVersion, Reason: "unknown protocol name or level [MQTT-3.1.2-1] [MQTT-3.1.2-2]"}
	errConnectReserved  = malformed("CONNECT reserved flag set [MQTT-3.1.2-3]")
	errWillFlags        = malformed("will QoS or retain set without the will flag [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15]")
	errWillQoS3         = malformed("will QoS 3 [MQTT-3.1.2-12] [MQTT-3.1.2-14]")
	errPasswordNoUser   = malformed("password flag without user name flag [MQTT-3.1.2-22]")
	errWillTopic        = &Error{Code: TopicNameInvalid, Reason: "will topic is not a valid topic name [MQTT-3.1.3-11] [MQTT-4.7.3-1]"}
	errClientIDEmptyV31 = &Error{Code: ClientIdentifierNotValid, Reason: "MQTT 3.1 client identifier must be 1 to 23 characters"}
	errClientIDEmpty    = &Error{Code: ClientIdentifierNotValid, Reason: "empty client identifier without clean session [MQTT-3.1.3-8]"}
	errConnackFlags     = malformed("CONNACK reserved acknowledge flags set [MQTT-3.2.2-1]")
	errConnackCode      = malformed("CONNACK return code reserved (MQTT 3.1.1 §3.2.2.3)")
	errSessionPresent   = protocolErr("session present with a non-zero reason code [MQTT-3.2.2-4] [MQTT-3.2.2-6]")
	errReasonCode       = protocolErr("reason code not allowed in this packet (MQTT 5.0 §2.4)")
	errNoFilters        = protocolErr("no topic filters [MQTT-3.8.3-3] [MQTT-3.10.3-2]")
	errSubOptsReserved  = malformed("subscription options reserved bits set [MQTT-3.8.3-5] [MQTT-3-8.3-4]")
	errSubQoS3          = malformed("subscription QoS 3 [MQTT-3-8.3-4]")
	errSubQoS3v5        = protocolErr("subscription maximum QoS 3 (MQTT 5.0 §3.8.3.1)")
	errRetainHandling3  = protocolErr("retain handling 3 (MQTT 5.0 §3.8.3.1)")
	errFilter           = &Error{Code: TopicFilterInvalid, Reason: "invalid topic filter [MQTT-4.7.1-1] [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1]"}
	errShareName        = &Error{Code: TopicFilterInvalid, Reason: "invalid shared subscription [MQTT-4.8.2-1] [MQTT-4.8.2-2]"}
	errNoLocalShared    = protocolErr("no local on a shared subscription [MQTT-3.8.3-4]")
	errNoReasonCodes    = protocolErr("acknowledgement without reason codes (MQTT 5.0 §3.9.3, §3.11.3)")
	errSubackCode       = malformed("SUBACK return code reserved [MQTT-3.9.3-2]")
)

// reader walks a complete packet body. Running off its end is a malformed
// packet, not ErrIncomplete: the fixed header already said how long it is.
type reader struct {
	b []byte
	i int
}

func (r *reader) left() int { return len(r.b) - r.i }

func (r *reader) byte() (byte, error) {
	if r.i >= len(r.b) {
		return 0, errShort
	}
	c := r.b[r.i]
	r.i++
	return c, nil
}

func (r *reader) boolByte() (byte, error) {
	c, err := r.byte()
	if err == nil && c > 1 {
		return c, errPropBool
	}
	return c, err
}

func (r *reader) u16() (uint16, error) {
	if len(r.b)-r.i < 2 {
		return 0, errShort
	}
	v := uint16(r.b[r.i])<<8 | uint16(r.b[r.i+1])
	r.i += 2
	return v, nil
}

func (r *reader) u32() (uint32, error) {
	if len(r.b)-r.i < 4 {
		return 0, errShort
	}
	b := r.b[r.i:]
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	r.i += 4
	return v, nil
}

// varint reads a Variable Byte Integer (MQTT 5.0 §1.5.5).
func (r *reader) varint() (uint32, error) {
	var v uint32
	for n := 0; n < 4; n++ {
		if r.i >= len(r.b) {
			return 0, errShort
		}
		c := r.b[r.i]
		r.i++
		v |= uint32(c&0x7F) << (7 * n)
		if c < 0x80 {
			if c == 0 && n > 0 {
				return 0, errVarintMinimal // [MQTT-1.5.5-1]
			}
			return v, nil
		}
	}
	return 0, errVarintLong // [MQTT-1.5.5-1]
}

// binary reads Binary Data (MQTT 5.0 §1.5.6). The result references the input
// and has its capacity clipped, so appending to it never overwrites the next
// field; an empty value is returned as nil.
func (r *reader) binary() ([]byte, error) {
	n, err := r.u16()
	if err != nil {
		return nil, err
	}
	end := r.i + int(n)
	if end > len(r.b) {
		return nil, errShort
	}
	b := r.b[r.i:end:end]
	r.i = end
	if n == 0 {
		return nil, nil
	}
	return b, nil
}

// utf8 reads a UTF-8 Encoded String (MQTT 5.0 §1.5.4) and returns its bytes.
func (r *reader) utf8() ([]byte, error) {
	b, err := r.binary()
	if err != nil {
		return nil, err
	}
	return b, checkUTF8(b)
}

// string reads a UTF-8 Encoded String into a new Go string.
func (r *reader) string() (string, error) {
	b, err := r.utf8()
	return string(b), err
}

// checkUTF8 enforces [MQTT-1.5.4-1] (well-formed UTF-8, no surrogates) and
// [MQTT-1.5.4-2] (no U+0000). ASCII, the common case, is checked byte by byte.
func checkUTF8(b []byte) error {
	for i, c := range b {
		if c == 0 {
			return errUTF8Null
		}
		if c >= utf8.RuneSelf {
			rest := b[i:]
			if !utf8.Valid(rest) { // utf8.Valid rejects surrogates and overlong forms
				return errUTF8
			}
			if bytes.IndexByte(rest, 0) >= 0 {
				return errUTF8Null
			}
			return nil
		}
	}
	return nil
}

// Interning limits: the Decoder keeps at most maxInterned strings of at most
// maxInternLen bytes, so a client cycling through topics costs bounded memory.
const (
	maxInterned  = 1024
	maxInternLen = 256
)

// decodeState is what one decoding pass may reuse: the Decoder's intern table.
// The zero value interns nothing.
type decodeState struct {
	strings   map[string]string
	interning bool
}

// intern returns b as a string, shared with earlier equal strings when interning
// is on. The lookup m[string(b)] does not allocate.
func (s *decodeState) intern(b []byte) string {
	if !s.interning || len(b) > maxInternLen {
		return string(b)
	}
	if v, ok := s.strings[string(b)]; ok {
		return v
	}
	if s.strings == nil {
		s.strings = make(map[string]string, 8)
	} else if len(s.strings) >= maxInterned {
		clear(s.strings)
	}
	v := string(b)
	s.strings[v] = v
	return v
}

func (s *decodeState) internedString(r *reader) (string, error) {
	b, err := r.utf8()
	if err != nil {
		return "", err
	}
	return s.intern(b), nil
}

// Decode returns the first complete packet in buf and the number of bytes it
// used. version is the connection's negotiated protocol level (0 before
// CONNECT; a CONNECT is decoded whatever version says, by its own level).
// maxSize bounds the whole packet; <= 0 means MaxPacketSize. Decode returns
// codec.ErrIncomplete when buf holds only part of a packet, and an *Error with
// the reason code otherwise; a packet over maxSize fails with PacketTooLarge as
// soon as its fixed header is readable. The packet is newly allocated, but its
// byte slices (Publish.Payload, binary properties, will payload, password)
// reference buf and are valid only while buf is.
func Decode(buf []byte, version byte, maxSize int) (Packet, int, error) {
	t, flags, hdr, rem, err := readFixedHeader(buf, version, maxSize)
	if err != nil {
		return nil, 0, err
	}
	var s decodeState
	end := hdr + rem
	p, err := s.decodeNew(t, flags, buf[hdr:end:end], version)
	if err != nil {
		return nil, 0, err
	}
	return p, end, nil
}

// readFixedHeader parses the fixed header (MQTT 5.0 §2.1) and rejects, before
// the body has arrived, what the header alone shows is wrong.
func readFixedHeader(buf []byte, version byte, maxSize int) (t PacketType, flags byte, hdr, rem int, err error) {
	if len(buf) == 0 {
		return 0, 0, 0, 0, codec.ErrIncomplete
	}
	t, flags = PacketType(buf[0]>>4), buf[0]&0x0F
	if err = checkType(t, flags, version); err != nil {
		return
	}
	// Remaining Length: a Variable Byte Integer of at most 4 bytes [MQTT-1.5.5-1].
	i := 1
	for {
		if i >= len(buf) {
			return 0, 0, 0, 0, codec.ErrIncomplete
		}
		c := buf[i]
		rem |= int(c&0x7F) << (7 * (i - 1))
		i++
		if c < 0x80 {
			if c == 0 && i > 2 {
				return 0, 0, 0, 0, errVarintMinimal // [MQTT-1.5.5-1]
			}
			break
		}
		if i == 5 {
			return 0, 0, 0, 0, errVarintLong // [MQTT-1.5.5-1]
		}
	}
	hdr = i
	limit := maxSize
	if limit <= 0 || limit > MaxPacketSize {
		limit = MaxPacketSize
	}
	if hdr+rem > limit {
		// Refuse before buffering the body [MQTT-3.2.2-15] [MQTT-3.1.2-24].
		return 0, 0, 0, 0, errTooLarge
	}
	if len(buf) < hdr+rem {
		return 0, 0, 0, 0, codec.ErrIncomplete
	}
	return t, flags, hdr, rem, nil
}

// checkType validates the first fixed-header byte against the negotiated version.
func checkType(t PacketType, flags byte, version byte) error {
	switch t {
	case 0:
		return errReservedType // MQTT 5.0 §2.1.2: type 0 is reserved
	case TypePublish:
		qos := flags >> 1 & 3
		if qos == 3 {
			return errQoS3 // [MQTT-3.3.1-4]
		}
		if qos == 0 && flags&0x08 != 0 {
			return errDupQoS0 // [MQTT-3.3.1-2]
		}
	case TypePubrel, TypeSubscribe, TypeUnsubscribe:
		// Also enforced for 3.1, whose clients send QoS 1 and no DUP here.
		if flags != 0x02 {
			return errFlags // [MQTT-2.1.3-1] (5.0), [MQTT-2.2.2-1] (3.1.1)
		}
	default:
		if flags != 0 {
			return errFlags // [MQTT-2.1.3-1] (5.0), [MQTT-2.2.2-1] (3.1.1)
		}
	}
	if t == TypeConnect {
		return nil // CONNECT carries its own protocol level
	}
	switch version {
	case 0:
		return errNotConnected // [MQTT-3.1.0-1]
	case V31, V311:
		if t == TypeAuth {
			return errAuthV3 // type 15 is "Reserved" in MQTT 3.1.1 §2.2.1
		}
	case V5:
	default:
		return errBadVersion
	}
	return nil
}

// decodeNew decodes a body into a newly allocated packet of type t.
func (s *decodeState) decodeNew(t PacketType, flags byte, body []byte, v byte) (Packet, error) {
	r := reader{b: body}
	var err error
	var p Packet
	switch t {
	case TypeConnect:
		c := connectPool.Get().(*Connect)
		err, p = s.connect(&r, c), c
	case TypeConnack:
		c := new(Connack)
		err, p = s.connack(&r, c, v), c
	case TypePublish:
		c := new(Publish)
		err, p = s.publish(&r, c, flags, v), c
	case TypePuback:
		c := new(Puback)
		err, p = s.ack(&r, TypePuback, v, &c.PacketID, &c.ReasonCode, &c.Properties), c
	case TypePubrec:
		c := new(Pubrec)
		err, p = s.ack(&r, TypePubrec, v, &c.PacketID, &c.ReasonCode, &c.Properties), c
	case TypePubrel:
		c := new(Pubrel)
		err, p = s.ack(&r, TypePubrel, v, &c.PacketID, &c.ReasonCode, &c.Properties), c
	case TypePubcomp:
		c := new(Pubcomp)
		err, p = s.ack(&r, TypePubcomp, v, &c.PacketID, &c.ReasonCode, &c.Properties), c
	case TypeSubscribe:
		c := new(Subscribe)
		err, p = s.subscribe(&r, c, v), c
	case TypeSuback:
		c := new(Suback)
		err, p = s.suback(&r, c, v), c
	case TypeUnsubscribe:
		c := new(Unsubscribe)
		err, p = s.unsubscribe(&r, c, v), c
	case TypeUnsuback:
		c := new(Unsuback)
		err, p = s.unsuback(&r, c, v), c
	case TypePingreq:
		err, p = empty(&r), &Pingreq{}
	case TypePingresp:
		err, p = empty(&r), &Pingresp{}
	case TypeDisconnect:
		c := new(Disconnect)
		err, p = s.reasonOnly(&r, TypeDisconnect, v, &c.ReasonCode, &c.Properties), c
	case TypeAuth:
		c := new(Auth)
		err, p = s.reasonOnly(&r, TypeAuth, v, &c.ReasonCode, &c.Properties), c
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// empty checks that a PINGREQ, PINGRESP or 3.x DISCONNECT has no body.
func empty(r *reader) error {
	if r.left() != 0 {
		return errTrailing // MQTT 5.0 §3.12, §3.13: no variable header or payload
	}
	return nil
}

// done reports trailing bytes after the last field of a packet.
func done(r *reader) error {
	if r.left() != 0 {
		return errTrailing
	}
	return nil
}

// connect decodes a CONNECT body (MQTT 5.0 §3.1, MQTT 3.1.1 §3.1, MQTT 3.1 §3.1)
// using the protocol level it carries.
func (s *decodeState) connect(r *reader, p *Connect) error {
	name, err := r.utf8()
	if err != nil {
		return err
	}
	level, err := r.byte()
	if err != nil {
		return err
	}
	// [MQTT-3.1.2-1] protocol name, [MQTT-3.1.2-2] protocol level: the caller
	// answers CONNACK 0x01 (3.x) or 0x84 (5.0).
	switch {
	case (level == V311 || level == V5) && string(name) == ProtocolNameMQTT:
		p.ProtocolName = ProtocolNameMQTT
	case level == V31 && string(name) == ProtocolNameV31:
		p.ProtocolName = ProtocolNameV31
	default:
		return errProtocolName
	}
	p.ProtocolLevel = level
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags&0x01 != 0 {
		return errConnectReserved // [MQTT-3.1.2-3]
	}
	p.CleanStart = flags&0x02 != 0
	p.WillFlag = flags&0x04 != 0
	p.WillQoS = flags >> 3 & 3
	p.WillRetain = flags&0x20 != 0
	p.PasswordFlag = flags&0x40 != 0
	p.UsernameFlag = flags&0x80 != 0
	if !p.WillFlag && (p.WillQoS != 0 || p.WillRetain) {
		// [MQTT-3.1.2-11] [MQTT-3.1.2-13] (5.0); [MQTT-3.1.2-13] [MQTT-3.1.2-15] (3.1.1)
		return errWillFlags
	}
	if p.WillQoS == 3 {
		return errWillQoS3 // [MQTT-3.1.2-12] (5.0), [MQTT-3.1.2-14] (3.1.1)
	}
	if level < V5 && p.PasswordFlag && !p.UsernameFlag {
		return errPasswordNoUser // [MQTT-3.1.2-22] (3.1.1); 5.0 allows a password alone
	}
	if p.KeepAlive, err = r.u16(); err != nil {
		return err
	}
	if level == V5 {
		if err = s.decodeProperties(r, &p.Properties, ctxConnect); err != nil {
			return err
		}
	}
	// Payload order: client id, will properties, will topic, will payload,
	// user name, password [MQTT-3.1.3-1].
	if p.ClientID, err = r.string(); err != nil {
		return err
	}
	if p.WillFlag {
		if level == V5 {
			if err = s.decodeProperties(r, &p.WillProperties, ctxWill); err != nil {
				return err
			}
		}
		topic, err := r.utf8()
		if err != nil {
			return err
		}
		if !topicNameOK(topic) {
			return errWillTopic // a will topic is a Topic Name [MQTT-3.1.3-11] [MQTT-4.7.3-1]
		}
		p.WillTopic = string(topic)
		if p.WillPayload, err = r.binary(); err != nil {
			return err
		}
	}
	if p.UsernameFlag {
		if p.Username, err = r.string(); err != nil { // [MQTT-3.1.3-12]
			return err
		}
	}
	if p.PasswordFlag {
		if p.Password, err = r.binary(); err != nil {
			return err
		}
	}
	if err = done(r); err != nil {
		return err
	}
	switch {
	case level == V31 && p.ClientID == "":
		// MQTT 3.1 §3.1 asks for 1 to 23 characters; longer identifiers are
		// accepted here and left to server policy, as most brokers do.
		return errClientIDEmptyV31
	case level == V311 && p.ClientID == "" && !p.CleanStart:
		return errClientIDEmpty // [MQTT-3.1.3-8]
	}
	return nil
}

// connack decodes a CONNACK body (MQTT 5.0 §3.2, MQTT 3.1.1 §3.2).
func (s *decodeState) connack(r *reader, p *Connack, v byte) error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags&0xFE != 0 {
		return errConnackFlags // [MQTT-3.2.2-1]
	}
	p.SessionPresent = flags&1 != 0
	rc, err := r.byte()
	if err != nil {
		return err
	}
	p.ReasonCode = ReasonCode(rc)
	if v == V5 {
		if !p.ReasonCode.validFor(TypeConnack) {
			return errReasonCode // MQTT 5.0 §3.2.2.2
		}
		if err = s.decodeProperties(r, &p.Properties, ctxConnack); err != nil {
			return err
		}
	} else if rc > 5 {
		return errConnackCode // MQTT 3.1.1 §3.2.2.3: 6-255 reserved
	}
	if p.SessionPresent && rc != 0 {
		return errSessionPresent // [MQTT-3.2.2-6] (5.0), [MQTT-3.2.2-4] (3.1.1)
	}
	return done(r)
}

// publish decodes a PUBLISH body (MQTT 5.0 §3.3). The payload references the
// body; the topic goes through the intern table.
func (s *decodeState) publish(r *reader, p *Publish, flags byte, v byte) error {
	p.Dup = flags&0x08 != 0
	p.QoS = flags >> 1 & 3 // QoS 3 and DUP on QoS 0 were refused by checkType
	p.Retain = flags&0x01 != 0
	topic, err := r.utf8()
	if err != nil {
		return err
	}
	if p.QoS > 0 {
		if p.PacketID, err = r.u16(); err != nil {
			return err
		}
		if p.PacketID == 0 {
			return errPacketIDZero // [MQTT-2.2.1-3] (5.0), [MQTT-2.3.1-1] (3.1.1)
		}
	}
	if v == V5 {
		if err = s.decodeProperties(r, &p.Properties, ctxPublish); err != nil {
			return err
		}
	}
	switch {
	case len(topic) == 0 && v != V5:
		return errTopicEmpty // [MQTT-4.7.3-1]
	case len(topic) == 0 && p.Properties.TopicAlias == 0:
		return errTopicEmptyAlias // MQTT 5.0 §3.3.2.3.4
	case hasWildcard(topic):
		return errTopicWildcard // [MQTT-3.3.2-2]
	}
	p.Topic = s.intern(topic)
	if r.left() > 0 {
		p.Payload = r.b[r.i:len(r.b):len(r.b)]
	}
	return nil
}

// ack decodes PUBACK, PUBREC, PUBREL and PUBCOMP (MQTT 5.0 §3.4-§3.7).
func (s *decodeState) ack(r *reader, t PacketType, v byte, id *uint16, rc *ReasonCode, props *Properties) error {
	var err error
	if *id, err = r.u16(); err != nil {
		return err
	}
	if *id == 0 {
		return errPacketIDZero // [MQTT-2.2.1-3]: acknowledgements echo a non-zero id
	}
	if v != V5 || r.left() == 0 {
		// 3.x acks are exactly 2 bytes; a 5.0 remaining length of 2 means
		// Success with no properties [MQTT-3.4.2.1].
		return done(r)
	}
	c, _ := r.byte()
	*rc = ReasonCode(c)
	if !rc.validFor(t) {
		return errReasonCode // [MQTT-3.4.2-1] [MQTT-3.5.2-1] [MQTT-3.6.2-1] [MQTT-3.7.2-1]
	}
	if r.left() > 0 { // remaining length < 4: no property length (MQTT 5.0 §3.4.2.2)
		if err = s.decodeProperties(r, props, ctxOf(t)); err != nil {
			return err
		}
	}
	return done(r)
}

// reasonOnly decodes DISCONNECT and AUTH, whose 5.0 body is an optional reason
// code and optional properties (MQTT 5.0 §3.14.2, §3.15.2).
func (s *decodeState) reasonOnly(r *reader, t PacketType, v byte, rc *ReasonCode, props *Properties) error {
	if v != V5 || r.left() == 0 {
		// 3.x DISCONNECT has no body; a 5.0 remaining length of 0 means
		// Success / Normal disconnection with no properties.
		return done(r)
	}
	c, _ := r.byte()
	*rc = ReasonCode(c)
	if !rc.validFor(t) {
		return errReasonCode // [MQTT-3.14.2-1] [MQTT-3.15.2-1]
	}
	if r.left() > 0 { // remaining length < 2: no property length
		if err := s.decodeProperties(r, props, ctxOf(t)); err != nil {
			return err
		}
	}
	return done(r)
}

// subscribe decodes a SUBSCRIBE body (MQTT 5.0 §3.8).
func (s *decodeState) subscribe(r *reader, p *Subscribe, v byte) error {
	var err error
	if p.PacketID, err = r.u16(); err != nil {
		return err
	}
	if p.PacketID == 0 {
		return errPacketIDZero // [MQTT-2.2.1-3] (5.0), [MQTT-2.3.1-1] (3.1.1)
	}
	if v == V5 {
		if err = s.decodeProperties(r, &p.Properties, ctxSubscribe); err != nil {
			return err
		}
	}
	for r.left() > 0 {
		f, err := r.utf8() // [MQTT-3.8.3-1]
		if err != nil {
			return err
		}
		opts, err := r.byte()
		if err != nil {
			return err
		}
		sub := Subscription{QoS: opts & 0x03}
		if v == V5 {
			if opts&0xC0 != 0 {
				return errSubOptsReserved // [MQTT-3.8.3-5]
			}
			if sub.QoS == 3 {
				return errSubQoS3v5 // MQTT 5.0 §3.8.3.1: Maximum QoS 3 is a Protocol Error
			}
			sub.NoLocal = opts&0x04 != 0
			sub.RetainAsPublished = opts&0x08 != 0
			sub.RetainHandling = opts >> 4 & 0x03
			if sub.RetainHandling == 3 {
				return errRetainHandling3 // MQTT 5.0 §3.8.3.1: Retain Handling 3 is a Protocol Error
			}
		} else {
			if opts&0xFC != 0 {
				return errSubOptsReserved // [MQTT-3-8.3-4] (3.1.1)
			}
			if sub.QoS == 3 {
				return errSubQoS3 // [MQTT-3-8.3-4] (3.1.1)
			}
		}
		if err = checkFilter(f, v); err != nil {
			return err
		}
		if sub.NoLocal && isShared(f) {
			return errNoLocalShared // [MQTT-3.8.3-4]
		}
		sub.Filter = s.intern(f)
		p.Subscriptions = append(p.Subscriptions, sub)
	}
	if len(p.Subscriptions) == 0 {
		return errNoFilters // [MQTT-3.8.3-3]
	}
	return nil
}

// checkFilter validates a SUBSCRIBE or UNSUBSCRIBE topic filter: wildcard
// placement for every version, and the $share syntax on 5.0.
func checkFilter(f []byte, v byte) error {
	if !topicFilterOK(f) {
		return errFilter // [MQTT-4.7.1-1] [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1]
	}
	if v == V5 && isShared(f) && !sharedOK(f) {
		return errShareName // [MQTT-4.8.2-1] [MQTT-4.8.2-2]
	}
	return nil
}

// suback decodes a SUBACK body (MQTT 5.0 §3.9, MQTT 3.1.1 §3.9).
func (s *decodeState) suback(r *reader, p *Suback, v byte) error {
	var err error
	if p.PacketID, err = r.u16(); err != nil {
		return err
	}
	if p.PacketID == 0 {
		return errPacketIDZero
	}
	if v == V5 {
		if err = s.decodeProperties(r, &p.Properties, ctxSuback); err != nil {
			return err
		}
	}
	return reasonList(r, &p.ReasonCodes, TypeSuback, v)
}

// reasonList reads the SUBACK or UNSUBACK payload: one reason code per filter.
func reasonList(r *reader, dst *[]ReasonCode, t PacketType, v byte) error {
	rest := r.b[r.i:]
	if len(rest) == 0 {
		return errNoReasonCodes // one code per filter, and there is at least one filter
	}
	codes := make([]ReasonCode, len(rest))
	for i, c := range rest {
		rc := ReasonCode(c)
		switch {
		case v == V5:
			if !rc.validFor(t) {
				return errReasonCode // MQTT 5.0 §3.9.3, §3.11.3
			}
		case c > 2 && c != 0x80:
			return errSubackCode // [MQTT-3.9.3-2]
		}
		codes[i] = rc
	}
	r.i = len(r.b)
	*dst = codes
	return nil
}

// unsubscribe decodes an UNSUBSCRIBE body (MQTT 5.0 §3.10).
func (s *decodeState) unsubscribe(r *reader, p *Unsubscribe, v byte) error {
	var err error
	if p.PacketID, err = r.u16(); err != nil {
		return err
	}
	if p.PacketID == 0 {
		return errPacketIDZero // [MQTT-2.2.1-3] (5.0), [MQTT-2.3.1-1] (3.1.1)
	}
	if v == V5 {
		if err = s.decodeProperties(r, &p.Properties, ctxUnsubscribe); err != nil {
			return err
		}
	}
	for r.left() > 0 {
		f, err := r.utf8() // [MQTT-3.10.3-1]
		if err != nil {
			return err
		}
		if err = checkFilter(f, v); err != nil {
			return err
		}
		p.Filters = append(p.Filters, s.intern(f))
	}
	if len(p.Filters) == 0 {
		return errNoFilters // [MQTT-3.10.3-2]
	}
	return nil
}

// unsuback decodes an UNSUBACK body (MQTT 5.0 §3.11; 3.x has only the id).
func (s *decodeState) unsuback(r *reader, p *Unsuback, v byte) error {
	var err error
	if p.PacketID, err = r.u16(); err != nil {
		return err
	}
	if p.PacketID == 0 {
		return errPacketIDZero
	}
	if v != V5 {
		return done(r) // MQTT 3.1.1 §3.11: no payload
	}
	if err = s.decodeProperties(r, &p.Properties, ctxUnsuback); err != nil {
		return err
	}
	return reasonList(r, &p.ReasonCodes, TypeUnsuback, v)
}

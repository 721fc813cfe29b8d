package mqtt

import "slices"

// Encode errors. They carry the reason code a peer would use to refuse the
// packet, so errors.As works the same way as for Decode.
var (
	errEncNil         = malformed("encode: nil or unknown packet")
	errEncVersion     = &Error{Code: UnsupportedProtocolVersion, Reason: "encode: unknown protocol version"}
	errEncAuthV3      = protocolErr("encode: AUTH exists only in MQTT 5.0")
	errEncQoS         = malformed("encode: QoS greater than 2 [MQTT-3.3.1-4]")
	errEncDup         = protocolErr("encode: DUP on a QoS 0 PUBLISH [MQTT-3.3.1-2]")
	errEncPacketID    = protocolErr("encode: packet identifier 0 [MQTT-2.2.1-3]")
	errEncTopic       = &Error{Code: TopicNameInvalid, Reason: "encode: empty topic name without a topic alias [MQTT-4.7.3-1]"}
	errEncStringLen   = malformed("encode: string or binary data longer than 65,535 bytes [MQTT-1.5.4]")
	errEncBool        = protocolErr("encode: property value other than 0 or 1")
	errEncSubIDs      = protocolErr("encode: more than one subscription identifier outside PUBLISH")
	errEncSubIDRange  = protocolErr("encode: subscription identifier outside 1..268,435,455")
	errEncTooLarge    = &Error{Code: PacketTooLarge, Reason: "encode: remaining length over 268,435,455"}
	errEncReason      = protocolErr("encode: reason code not allowed in this packet (MQTT 5.0 §2.4)")
	errEncNoFilters   = protocolErr("encode: no topic filters [MQTT-3.8.3-3] [MQTT-3.10.3-2]")
	errEncNoCodes     = protocolErr("encode: no reason codes (MQTT 5.0 §3.9.3, §3.11.3)")
	errEncSubQoS      = malformed("encode: subscription QoS greater than 2")
	errEncRetainHand  = protocolErr("encode: retain handling 3")
	errEncSubackV3    = malformed("encode: SUBACK code not expressible in MQTT 3.1.1 [MQTT-3.9.3-2]")
	errEncProtoName   = &Error{Code: UnsupportedProtocolVersion, Reason: "encode: protocol name does not match protocol level [MQTT-3.1.2-1]"}
	errEncWill        = malformed("encode: will fields set without WillFlag [MQTT-3.1.2-11]")
	errEncWillQoS     = malformed("encode: will QoS greater than 2 [MQTT-3.1.2-12]")
	errEncUsername    = malformed("encode: user name set without UsernameFlag [MQTT-3.1.2-16]")
	errEncPassword    = malformed("encode: password set without PasswordFlag [MQTT-3.1.2-18]")
	errEncPassNoUser  = malformed("encode: password without user name before MQTT 5.0 [MQTT-3.1.2-22]")
	errEncSessPresent = protocolErr("encode: session present with a non-zero reason code [MQTT-3.2.2-6]")
)

// layout is what an encoder learns while sizing a packet and needs again
// while writing it: the first header byte, the remaining length and the
// property lengths.
type layout struct {
	first byte
	rem   int
	props int
	will  int
}

// encoder is implemented by every packet type of this package.
type encoder interface {
	Packet
	layout(version byte) (layout, error)
	appendBody(dst []byte, version byte, l layout) []byte
}

// Encode appends the wire form of p for a connection at protocol level version
// to dst and returns the extended slice. It grows dst once, to the exact size,
// and allocates nothing when dst has room. A Connect is encoded at its own
// ProtocolLevel (version is used only when that is zero). Fields the version
// cannot carry (properties, v5 reason codes and subscription options on 3.x)
// are left out; a packet that cannot be encoded at all (QoS 3, packet id 0,
// an AUTH on 3.1.1, a property not allowed in the packet) returns an *Error and
// dst unchanged.
func Encode(dst []byte, p Packet, version byte) ([]byte, error) {
	e, ok := p.(encoder)
	if !ok {
		return dst, errEncNil
	}
	l, err := e.layout(version)
	if err != nil {
		return dst, err
	}
	dst = slices.Grow(dst, 1+varintLen(l.rem)+l.rem)
	dst = appendVarint(append(dst, l.first), l.rem)
	return e.appendBody(dst, version, l), nil
}

// Size returns the number of bytes Encode would append for p, or -1 if Encode
// would fail. Use it to check a peer's Maximum Packet Size before encoding.
func Size(p Packet, version byte) int {
	e, ok := p.(encoder)
	if !ok {
		return -1
	}
	l, err := e.layout(version)
	if err != nil {
		return -1
	}
	return 1 + varintLen(l.rem) + l.rem
}

func varintLen(v int) int {
	switch {
	case v < 1<<7:
		return 1
	case v < 1<<14:
		return 2
	case v < 1<<21:
		return 3
	}
	return 4
}

func appendVarint(dst []byte, v int) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

func appendU16(dst []byte, v uint16) []byte { return append(dst, byte(v>>8), byte(v)) }

func appendU32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendString(dst []byte, s string) []byte {
	return append(appendU16(dst, uint16(len(s))), s...)
}

func appendBinary(dst []byte, b []byte) []byte {
	return append(appendU16(dst, uint16(len(b))), b...)
}

// checkVersion refuses versions no packet but CONNECT can be encoded for.
func checkVersion(v byte) error {
	if v != V31 && v != V311 && v != V5 {
		return errEncVersion
	}
	return nil
}

// propsLen sizes properties for ctx on 5.0 and returns 0, 0 on 3.x, where
// properties are left out.
func propsLen(p *Properties, ctx propCtx, v byte) (body, props int, err error) {
	if v != V5 {
		return 0, 0, nil
	}
	n, err := p.size(ctx)
	if err != nil {
		return 0, 0, err
	}
	return varintLen(n) + n, n, nil
}

// finish fills in the header fields of a layout and checks the remaining length.
func finish(t PacketType, flags byte, rem, props int) (layout, error) {
	if rem > maxVarint {
		return layout{}, errEncTooLarge
	}
	return layout{first: byte(t)<<4 | flags, rem: rem, props: props}, nil
}

func (p *Connect) level(v byte) byte {
	if p.ProtocolLevel != 0 {
		return p.ProtocolLevel
	}
	return v
}

func (p *Connect) layout(v byte) (layout, error) {
	if p == nil {
		return layout{}, errEncNil
	}
	v = p.level(v)
	if err := checkVersion(v); err != nil {
		return layout{}, err
	}
	name := protocolName(v)
	if p.ProtocolName != "" && p.ProtocolName != name {
		return layout{}, errEncProtoName
	}
	n := 2 + len(name) + 1 + 1 + 2 + 2 + len(p.ClientID)
	pb, pl, err := propsLen(&p.Properties, ctxConnect, v)
	if err != nil {
		return layout{}, err
	}
	n += pb
	var wl int
	if p.WillFlag {
		if p.WillQoS > 2 {
			return layout{}, errEncWillQoS
		}
		var wb int
		if wb, wl, err = propsLen(&p.WillProperties, ctxWill, v); err != nil {
			return layout{}, err
		}
		n += wb + 2 + len(p.WillTopic) + 2 + len(p.WillPayload)
	} else if p.WillQoS != 0 || p.WillRetain || p.WillTopic != "" || p.WillPayload != nil {
		return layout{}, errEncWill
	}
	if p.UsernameFlag {
		n += 2 + len(p.Username)
	} else if p.Username != "" {
		return layout{}, errEncUsername
	}
	if p.PasswordFlag {
		if v < V5 && !p.UsernameFlag {
			return layout{}, errEncPassNoUser
		}
		n += 2 + len(p.Password)
	} else if p.Password != nil {
		return layout{}, errEncPassword
	}
	for _, l := range [...]int{len(p.ClientID), len(p.WillTopic), len(p.WillPayload), len(p.Username), len(p.Password)} {
		if l > maxString {
			return layout{}, errEncStringLen
		}
	}
	l, err := finish(TypeConnect, 0, n, pl)
	l.will = wl
	return l, err
}

func protocolName(level byte) string {
	if level == V31 {
		return ProtocolNameV31
	}
	return ProtocolNameMQTT
}

func (p *Connect) appendBody(dst []byte, v byte, l layout) []byte {
	v = p.level(v)
	dst = append(appendString(dst, protocolName(v)), v)
	var flags byte
	if p.CleanStart {
		flags |= 0x02
	}
	if p.WillFlag {
		flags |= 0x04 | p.WillQoS<<3
		if p.WillRetain {
			flags |= 0x20
		}
	}
	if p.PasswordFlag {
		flags |= 0x40
	}
	if p.UsernameFlag {
		flags |= 0x80
	}
	dst = appendU16(append(dst, flags), p.KeepAlive)
	if v == V5 {
		dst = appendProperties(dst, &p.Properties, l.props)
	}
	dst = appendString(dst, p.ClientID)
	if p.WillFlag {
		if v == V5 {
			dst = appendProperties(dst, &p.WillProperties, l.will)
		}
		dst = appendBinary(appendString(dst, p.WillTopic), p.WillPayload)
	}
	if p.UsernameFlag {
		dst = appendString(dst, p.Username)
	}
	if p.PasswordFlag {
		dst = appendBinary(dst, p.Password)
	}
	return dst
}

func (p *Connack) layout(v byte) (layout, error) {
	if p == nil {
		return layout{}, errEncNil
	}
	if err := checkVersion(v); err != nil {
		return layout{}, err
	}
	rc := p.code(v)
	if v == V5 && !rc.validFor(TypeConnack) {
		return layout{}, errEncReason
	}
	if p.SessionPresent && rc != 0 {
		return layout{}, errEncSessPresent
	}
	pb, pl, err := propsLen(&p.Properties, ctxConnack, v)
	if err != nil {
		return layout{}, err
	}
	return finish(TypeConnack, 0, 2+pb, pl)
}

// code is the reason code as sent at version v: 3.x CONNACK knows only 0..5.
func (p *Connack) code(v byte) ReasonCode {
	if v == V5 {
		return p.ReasonCode
	}
	return p.ReasonCode.V3ConnackCode()
}

func (p *Connack) appendBody(dst []byte, v byte, l layout) []byte {
	var flags byte
	if p.SessionPresent {
		flags = 1
	}
	dst = append(dst, flags, byte(p.code(v)))
	if v == V5 {
		dst = appendProperties(dst, &p.Properties, l.props)
	}
	return dst
}

func (p *Publish) layout(v byte) (layout, error) {
	if p == nil {
		return layout{}, errEncNil
	}
	if err := checkVersion(v); err != nil {
		return layout{}, err
	}
	if p.QoS > 2 {
		return layout{}, errEncQoS
	}
	if p.Dup && p.QoS == 0 {
		return layout{}, errEncDup
	}
	if len(p.Topic) > maxString {
		return layout{}, errEncStringLen
	}
	if p.Topic == "" && (v != V5 || p.Properties.TopicAlias == 0) {
		return layout{}, errEncTopic
	}
	n := 2 + len(p.Topic) + len(p.Payload)
	if p.QoS > 0 {
		if p.PacketID == 0 {
			return layout{}, errEncPacketID
		}
		n += 2
	}
	pb, pl, err := propsLen(&p.Properties, ctxPublish, v)
	if err != nil {
		return layout{}, err
	}
	flags := p.QoS << 1
	if p.Dup {
		flags |= 0x08
	}
	if p.Retain {
		flags |= 0x01
	}
	return finish(TypePublish, flags, n+pb, pl)
}

func (p *Publish) appendBody(dst []byte, v byte, l layout) []byte {
	dst = appendString(dst, p.Topic)
	if p.QoS > 0 {
		dst = appendU16(dst, p.PacketID)
	}
	if v == V5 {
		dst = appendProperties(dst, &p.Properties, l.props)
	}
	return append(dst, p.Payload...)
}

// ackLayout sizes PUBACK, PUBREC, PUBREL and PUBCOMP. On 5.0 the reason code
// and properties are left out when the code is Success and there are no
// properties, and the property length is left out when there are none
// [MQTT-3.4.2.1] (MQTT 5.0 §3.4.2.2).
func ackLayout(t PacketType, flags byte, v byte, id uint16, rc ReasonCode, props *Properties) (layout, error) {
	if err := checkVersion(v); err != nil {
		return layout{}, err
	}
	if id == 0 {
		return layout{}, errEncPacketID
	}
	if v != V5 {
		return finish(t, flags, 2, 0)
	}
	if !rc.validFor(t) {
		return layout{}, errEncReason
	}
	pl, err := props.size(ctxOf(t))
	if err != nil {
		return layout{}, err
	}
	switch {
	case pl == 0 && rc == Success:
		return finish(t, flags, 2, 0)
	case pl == 0:
		return finish(t, flags, 3, 0)
	}
	return finish(t, flags, 3+varintLen(pl)+pl, pl)
}

func ackAppend(dst []byte, l layout, id uint16, rc ReasonCode, props *Properties) []byte {
	dst = appendU16(dst, id)
	if l.rem > 2 {
		dst = append(dst, byte(rc))
	}
	if l.rem > 3 {
		dst = appendProperties(dst, props, l.props)
	}
	return dst
}

func (p *Puback) layout(v byte) (layout, error) {
	if p == nil {
		return layout{}, errEncNil
	}
	return ackLayout(TypePuback, 0, v, p.PacketID, p.ReasonCode, &p.Properties)
}

func (p *Puback) appendBody(dst []byte, _ byte, l layout) []byte {
	return ackAppend(dst, l, p.PacketID, p.ReasonCode, &p.Properties)
}

func (p *Pubrec) layout(v byte) (layout, error) {
	if p == nil {
		return layout{}, errEncNil
	}
	return ackLayout(TypePubrec, 0, v, p.PacketID, p.ReasonCode, &p.Properties)
}

func (p *Pubrec) appendBody(dst []byte, _ byte, l layout) []byte {
	return ackAppend(dst, l, p.PacketID, p.ReasonCode, &p.Properties)
}

func (p *Pubrel) layout(v byte) (layout, error) {
	if p == nil {
		return layout{}, errEncNil
	}
	return ackLayout(TypePubrel, 0x02, v, p.PacketID, p.ReasonCode, &p.Properties)
}

func (p *Pubrel) appendBody(dst []byte, _ byte, l layout) []byte {
	return ackAppend(dst, l, p.PacketID, p.ReasonCode, &p.Properties)
}

func (p *Pubcomp) layout(v byte) (layout, error) {
	if p == nil {
		return layout{}, errEncNil
	}
	return ackLayout(TypePubcomp, 0, v, p.PacketID, p.ReasonCode, &p.Properties)
}

func (p *Pubcomp) appendBody(dst []byte, _ byte, l layout) []byte {
	return ackAppend(dst, l, p.PacketID, p.ReasonCode, &p.Properties)
}

func (p *Subscribe) layout(v byte) (layout, error) {
	if p == nil {
		return layout{}, errEncNil
	}
	if err := checkVersion(v); err != nil {
		return layout{}, err
	}
	if p.PacketID == 0 {
		return layout{}, errEncPacketID
	}
	if len(p.Subscriptions) == 0 {
		return layout{}, errEncNoFilters
	}
	pb, pl, err := propsLen(&p.Properties, ctxSubscribe, v)
	if err != nil {
		return layout{}, err
	}
	n := 2 + pb
	for i := range p.Subscriptions {
		s := &p.Subscriptions[i]
		if s.QoS > 2 {
			return layout{}, errEncSubQoS
		}
		if v == V5 && s.RetainHandling > 2 {
			return layout{}, errEncRetainHand
		}
		if len(s.Filter) > maxString {
			return layout{}, errEncStringLen
		}
		n += 3 + len(s.Filter)
	}
	return finish(TypeSubscribe, 0x02, n, pl)
}

func (p *Subscribe) appendBody(dst []byte, v byte, l layout) []byte {
	dst = appendU16(dst, p.PacketID)
	if v == V5 {
		dst = appendProperties(dst, &p.Properties, l.props)
	}
	for i := range p.Subscriptions {
		s := &p.Subscriptions[i]
		opts := s.QoS
		if v == V5 { // the option bits are reserved before 5.0 [MQTT-3-8.3-4]
			if s.NoLocal {
				opts |= 0x04
			}
			if s.RetainAsPublished {
				opts |= 0x08
			}
			opts |= s.RetainHandling << 4
		}
		dst = append(appendString(dst, s.Filter), opts)
	}
	return dst
}

// subackCode is a SUBACK code as sent at version v: 3.1.1 knows only 0, 1, 2
// and the failure 0x80 [MQTT-3.9.3-2].
func subackCode(rc ReasonCode, v byte) (ReasonCode, error) {
	switch {
	case v == V5:
		if !rc.validFor(TypeSuback) {
			return 0, errEncReason
		}
	case rc.IsError():
		return UnspecifiedError, nil
	case rc > GrantedQoS2:
		return 0, errEncSubackV3
	}
	return rc, nil
}

func (p *Suback) layout(v byte) (layout, error) {
	if p == nil {
		return layout{}, errEncNil
	}
	if err := checkVersion(v); err != nil {
		return layout{}, err
	}
	if p.PacketID == 0 {
		return layout{}, errEncPacketID
	}
	if len(p.ReasonCodes) == 0 {
		return layout{}, errEncNoCodes
	}
	for _, rc := range p.ReasonCodes {
		if _, err := subackCode(rc, v); err != nil {
			return layout{}, err
		}
	}
	pb, pl, err := propsLen(&p.Properties, ctxSuback, v)
	if err != nil {
		return layout{}, err
	}
	return finish(TypeSuback, 0, 2+pb+len(p.ReasonCodes), pl)
}

func (p *Suback) appendBody(dst []byte, v byte, l layout) []byte {
	dst = appendU16(dst, p.PacketID)
	if v == V5 {
		dst = appendProperties(dst, &p.Properties, l.props)
	}
	for _, rc := range p.ReasonCodes {
		c, _ := subackCode(rc, v)
		dst = append(dst, byte(c))
	}
	return dst
}

func (p *Unsubscribe) layout(v byte) (layout, error) {
	if p == nil {
		return layout{}, errEncNil
	}
	if err := checkVersion(v); err != nil {
		return layout{}, err
	}
	if p.PacketID == 0 {
		return layout{}, errEncPacketID
	}
	if len(p.Filters) == 0 {
		return layout{}, errEncNoFilters
	}
	pb, pl, err := propsLen(&p.Properties, ctxUnsubscribe, v)
	if err != nil {
		return layout{}, err
	}
	n := 2 + pb
	for _, f := range p.Filters {
		if len(f) > maxString {
			return layout{}, errEncStringLen
		}
		n += 2 + len(f)
	}
	return finish(TypeUnsubscribe, 0x02, n, pl)
}

func (p *Unsubscribe) appendBody(dst []byte, v byte, l layout) []byte {
	dst = appendU16(dst, p.PacketID)
	if v == V5 {
		dst = appendProperties(dst, &p.Properties, l.props)
	}
	for _, f := range p.Filters {
		dst = appendString(dst, f)
	}
	return dst
}

func (p *Unsuback) layout(v byte) (layout, error) {
	if p == nil {
		return layout{}, errEncNil
	}
	if err := checkVersion(v); err != nil {
		return layout{}, err
	}
	if p.PacketID == 0 {
		return layout{}, errEncPacketID
	}
	if v != V5 {
		return finish(TypeUnsuback, 0, 2, 0) // MQTT 3.1.1 §3.11: no payload
	}
	if len(p.ReasonCodes) == 0 {
		return layout{}, errEncNoCodes
	}
	for _, rc := range p.ReasonCodes {
		if !rc.validFor(TypeUnsuback) {
			return layout{}, errEncReason
		}
	}
	pb, pl, err := propsLen(&p.Properties, ctxUnsuback, v)
	if err != nil {
		return layout{}, err
	}
	return finish(TypeUnsuback, 0, 2+pb+len(p.ReasonCodes), pl)
}

func (p *Unsuback) appendBody(dst []byte, v byte, l layout) []byte {
	dst = appendU16(dst, p.PacketID)
	if v != V5 {
		return dst
	}
	dst = appendProperties(dst, &p.Properties, l.props)
	for _, rc := range p.ReasonCodes {
		dst = append(dst, byte(rc))
	}
	return dst
}

func (p *Pingreq) layout(v byte) (layout, error) {
	if p == nil {
		return layout{}, errEncNil
	}
	if err := checkVersion(v); err != nil {
		return layout{}, err
	}
	return finish(TypePingreq, 0, 0, 0)
}

func (p *Pingreq) appendBody(dst []byte, _ byte, _ layout) []byte { return dst }

func (p *Pingresp) layout(v byte) (layout, error) {
	if p == nil {
		return layout{}, errEncNil
	}
	if err := checkVersion(v); err != nil {
		return layout{}, err
	}
	return finish(TypePingresp, 0, 0, 0)
}

func (p *Pingresp) appendBody(dst []byte, _ byte, _ layout) []byte { return dst }

// reasonOnlyLayout sizes DISCONNECT and AUTH: on 5.0 the body is left out for
// Success with no properties, and the property length when there are none.
func reasonOnlyLayout(t PacketType, v byte, rc ReasonCode, props *Properties) (layout, error) {
	if err := checkVersion(v); err != nil {
		return layout{}, err
	}
	if v != V5 {
		if t == TypeAuth {
			return layout{}, errEncAuthV3
		}
		return finish(t, 0, 0, 0) // 3.x DISCONNECT has no body
	}
	if !rc.validFor(t) {
		return layout{}, errEncReason
	}
	pl, err := props.size(ctxOf(t))
	if err != nil {
		return layout{}, err
	}
	switch {
	case pl == 0 && rc == Success:
		return finish(t, 0, 0, 0)
	case pl == 0 && t == TypeDisconnect:
		return finish(t, 0, 1, 0) // MQTT 5.0 §3.14.2.2: property length may be left out
	}
	return finish(t, 0, 1+varintLen(pl)+pl, pl)
}

func reasonOnlyAppend(dst []byte, l layout, rc ReasonCode, props *Properties) []byte {
	if l.rem > 0 {
		dst = append(dst, byte(rc))
	}
	if l.rem > 1 {
		dst = appendProperties(dst, props, l.props)
	}
	return dst
}

func (p *Disconnect) layout(v byte) (layout, error) {
	if p == nil {
		return layout{}, errEncNil
	}
	return reasonOnlyLayout(TypeDisconnect, v, p.ReasonCode, &p.Properties)
}

func (p *Disconnect) appendBody(dst []byte, _ byte, l layout) []byte {
	return reasonOnlyAppend(dst, l, p.ReasonCode, &p.Properties)
}

func (p *Auth) layout(v byte) (layout, error) {
	if p == nil {
		return layout{}, errEncNil
	}
	return reasonOnlyLayout(TypeAuth, v, p.ReasonCode, &p.Properties)
}

func (p *Auth) appendBody(dst []byte, _ byte, l layout) []byte {
	return reasonOnlyAppend(dst, l, p.ReasonCode, &p.Properties)
}

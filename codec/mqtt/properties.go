package mqtt

// PropertyID identifies an MQTT 5.0 property (MQTT 5.0 §2.2.2.2).
type PropertyID byte

// The 27 MQTT 5.0 property identifiers (MQTT 5.0 §2.2.2.2 Table 2-4).
const (
	PropPayloadFormatIndicator          PropertyID = 0x01
	PropMessageExpiryInterval           PropertyID = 0x02
	PropContentType                     PropertyID = 0x03
	PropResponseTopic                   PropertyID = 0x08
	PropCorrelationData                 PropertyID = 0x09
	PropSubscriptionIdentifier          PropertyID = 0x0B
	PropSessionExpiryInterval           PropertyID = 0x11
	PropAssignedClientIdentifier        PropertyID = 0x12
	PropServerKeepAlive                 PropertyID = 0x13
	PropAuthenticationMethod            PropertyID = 0x15
	PropAuthenticationData              PropertyID = 0x16
	PropRequestProblemInformation       PropertyID = 0x17
	PropWillDelayInterval               PropertyID = 0x18
	PropRequestResponseInformation      PropertyID = 0x19
	PropResponseInformation             PropertyID = 0x1A
	PropServerReference                 PropertyID = 0x1C
	PropReasonString                    PropertyID = 0x1F
	PropReceiveMaximum                  PropertyID = 0x21
	PropTopicAliasMaximum               PropertyID = 0x22
	PropTopicAlias                      PropertyID = 0x23
	PropMaximumQoS                      PropertyID = 0x24
	PropRetainAvailable                 PropertyID = 0x25
	PropUserProperty                    PropertyID = 0x26
	PropMaximumPacketSize               PropertyID = 0x27
	PropWildcardSubscriptionAvailable   PropertyID = 0x28
	PropSubscriptionIdentifierAvailable PropertyID = 0x29
	PropSharedSubscriptionAvailable     PropertyID = 0x2A
)

// propCtx is a set of places a property may appear: bit t for packet type t,
// and bit 0 (type 0 is reserved) for the will properties inside CONNECT.
type propCtx uint16

const (
	ctxWill        propCtx = 1
	ctxConnect     propCtx = 1 << TypeConnect
	ctxConnack     propCtx = 1 << TypeConnack
	ctxPublish     propCtx = 1 << TypePublish
	ctxPuback      propCtx = 1 << TypePuback
	ctxPubrec      propCtx = 1 << TypePubrec
	ctxPubrel      propCtx = 1 << TypePubrel
	ctxPubcomp     propCtx = 1 << TypePubcomp
	ctxSubscribe   propCtx = 1 << TypeSubscribe
	ctxSuback      propCtx = 1 << TypeSuback
	ctxUnsubscribe propCtx = 1 << TypeUnsubscribe
	ctxUnsuback    propCtx = 1 << TypeUnsuback
	ctxDisconnect  propCtx = 1 << TypeDisconnect
	ctxAuth        propCtx = 1 << TypeAuth

	ctxAcks = ctxPuback | ctxPubrec | ctxPubrel | ctxPubcomp
	ctxAll  = ctxWill | ctxConnect | ctxConnack | ctxPublish | ctxAcks | ctxSubscribe |
		ctxSuback | ctxUnsubscribe | ctxUnsuback | ctxDisconnect | ctxAuth
)

func ctxOf(t PacketType) propCtx { return 1 << (t & 15) }

// propSpec is MQTT 5.0 Table 2-4: each property's name and where it is allowed.
// A zero entry is an unassigned identifier.
var propSpec = [0x2B]struct {
	name string
	in   propCtx
}{
	PropPayloadFormatIndicator:          {"Payload Format Indicator", ctxPublish | ctxWill},
	PropMessageExpiryInterval:           {"Message Expiry Interval", ctxPublish | ctxWill},
	PropContentType:                     {"Content Type", ctxPublish | ctxWill},
	PropResponseTopic:                   {"Response Topic", ctxPublish | ctxWill},
	PropCorrelationData:                 {"Correlation Data", ctxPublish | ctxWill},
	PropSubscriptionIdentifier:          {"Subscription Identifier", ctxPublish | ctxSubscribe},
	PropSessionExpiryInterval:           {"Session Expiry Interval", ctxConnect | ctxConnack | ctxDisconnect},
	PropAssignedClientIdentifier:        {"Assigned Client Identifier", ctxConnack},
	PropServerKeepAlive:                 {"Server Keep Alive", ctxConnack},
	PropAuthenticationMethod:            {"Authentication Method", ctxConnect | ctxConnack | ctxAuth},
	PropAuthenticationData:              {"Authentication Data", ctxConnect | ctxConnack | ctxAuth},
	PropRequestProblemInformation:       {"Request Problem Information", ctxConnect},
	PropWillDelayInterval:               {"Will Delay Interval", ctxWill},
	PropRequestResponseInformation:      {"Request Response Information", ctxConnect},
	PropResponseInformation:             {"Response Information", ctxConnack},
	PropServerReference:                 {"Server Reference", ctxConnack | ctxDisconnect},
	PropReasonString:                    {"Reason String", ctxConnack | ctxAcks | ctxSuback | ctxUnsuback | ctxDisconnect | ctxAuth},
	PropReceiveMaximum:                  {"Receive Maximum", ctxConnect | ctxConnack},
	PropTopicAliasMaximum:               {"Topic Alias Maximum", ctxConnect | ctxConnack},
	PropTopicAlias:                      {"Topic Alias", ctxPublish},
	PropMaximumQoS:                      {"Maximum QoS", ctxConnack},
	PropRetainAvailable:                 {"Retain Available", ctxConnack},
	PropUserProperty:                    {"User Property", ctxAll},
	PropMaximumPacketSize:               {"Maximum Packet Size", ctxConnect | ctxConnack},
	PropWildcardSubscriptionAvailable:   {"Wildcard Subscription Available", ctxConnack},
	PropSubscriptionIdentifierAvailable: {"Subscription Identifier Available", ctxConnack},
	PropSharedSubscriptionAvailable:     {"Shared Subscription Available", ctxConnack},
}

// propErrs holds one prebuilt error per property for the two checks that name
// the property, so rejecting a packet allocates nothing.
var propErrs = func() (e [len(propSpec)]struct{ notAllowed, repeated *Error }) {
	for id := range propSpec {
		name := PropertyID(id).String()
		e[id].notAllowed = malformed(name + " property not allowed in this packet (MQTT 5.0 §2.2.2.2)")
		e[id].repeated = protocolErr(name + " property repeated (MQTT 5.0 §2.2.2.2)")
	}
	return e
}()

// String returns the property's name as the specification spells it.
func (id PropertyID) String() string {
	if int(id) < len(propSpec) && propSpec[id].name != "" {
		return propSpec[id].name
	}
	return "unknown property"
}

// allowed reports whether property id may appear in ctx.
func (id PropertyID) allowed(ctx propCtx) bool {
	return int(id) < len(propSpec) && propSpec[id].in&ctx != 0
}

// UserProperty is one name/value pair of the User Property (0x26), which may
// appear any number of times; order and duplicates are kept.
type UserProperty struct {
	// Key is the property name.
	Key string
	// Value is the property value.
	Value string
}

// Properties holds the MQTT 5.0 properties of one packet (or of a will). It is
// a plain struct, not a map, so decoding a PUBLISH's properties allocates
// nothing but the strings.
//
// A property whose zero value means the same as its absence (a zero
// TopicAlias, an empty ContentType, nil CorrelationData) is absent when zero.
// Properties where zero differs from absence have a HasX flag: Decode sets it
// when the property is on the wire, and Encode writes the property when HasX
// is set or the value is non-zero. Byte-slice fields reference the decoded
// buffer. Properties are never sent on 3.1 and 3.1.1 connections.
type Properties struct {
	// PayloadFormatIndicator (0x01): 0 unspecified bytes, 1 UTF-8 payload.
	PayloadFormatIndicator byte
	// MessageExpiryInterval (0x02) is the message lifetime in seconds.
	MessageExpiryInterval uint32
	// HasMessageExpiryInterval reports MessageExpiryInterval is present (absent: never expires).
	HasMessageExpiryInterval bool
	// ContentType (0x03) describes the payload, like a MIME type.
	ContentType string
	// ResponseTopic (0x08) is the topic name for a response message.
	ResponseTopic string
	// CorrelationData (0x09) ties a response to its request.
	CorrelationData []byte
	// SubscriptionIdentifiers (0x0B): in PUBLISH one per matching subscription
	// (it may repeat); in SUBSCRIBE at most one. Values are 1..268,435,455.
	SubscriptionIdentifiers []uint32
	// SessionExpiryInterval (0x11) is the session lifetime in seconds after disconnect.
	SessionExpiryInterval uint32
	// HasSessionExpiryInterval reports SessionExpiryInterval is present.
	HasSessionExpiryInterval bool
	// AssignedClientIdentifier (0x12) is the client id the server chose.
	AssignedClientIdentifier string
	// ServerKeepAlive (0x13) is the keep-alive the server imposes, in seconds.
	ServerKeepAlive uint16
	// HasServerKeepAlive reports ServerKeepAlive is present (0 disables keep-alive).
	HasServerKeepAlive bool
	// AuthenticationMethod (0x15) names the extended authentication method.
	AuthenticationMethod string
	// AuthenticationData (0x16) is method-specific authentication data.
	AuthenticationData []byte
	// RequestProblemInformation (0x17) is 0 or 1; absent means 1.
	RequestProblemInformation byte
	// HasRequestProblemInformation reports RequestProblemInformation is present.
	HasRequestProblemInformation bool
	// WillDelayInterval (0x18) delays the will message, in seconds.
	WillDelayInterval uint32
	// RequestResponseInformation (0x19) is 0 or 1; 1 asks for ResponseInformation.
	RequestResponseInformation byte
	// ResponseInformation (0x1A) is the basis for response topics.
	ResponseInformation string
	// ServerReference (0x1C) names another server to use.
	ServerReference string
	// ReasonString (0x1F) is a human-readable diagnostic.
	ReasonString string
	// ReceiveMaximum (0x21) limits in-flight QoS 1 and 2 messages; 0 is absent (65,535).
	ReceiveMaximum uint16
	// TopicAliasMaximum (0x22) is the highest topic alias accepted; 0 means none.
	TopicAliasMaximum uint16
	// TopicAlias (0x23) stands for the topic name; 0 is absent.
	TopicAlias uint16
	// MaximumQoS (0x24) is 0 or 1; absent means 2.
	MaximumQoS byte
	// HasMaximumQoS reports MaximumQoS is present.
	HasMaximumQoS bool
	// RetainAvailable (0x25) is 0 or 1; absent means 1.
	RetainAvailable byte
	// HasRetainAvailable reports RetainAvailable is present.
	HasRetainAvailable bool
	// UserProperties (0x26) in wire order, duplicates kept.
	UserProperties []UserProperty
	// MaximumPacketSize (0x27) is the largest packet accepted; 0 is absent (no limit).
	MaximumPacketSize uint32
	// WildcardSubscriptionAvailable (0x28) is 0 or 1; absent means 1.
	WildcardSubscriptionAvailable byte
	// HasWildcardSubscriptionAvailable reports WildcardSubscriptionAvailable is present.
	HasWildcardSubscriptionAvailable bool
	// SubscriptionIdentifierAvailable (0x29) is 0 or 1; absent means 1.
	SubscriptionIdentifierAvailable byte
	// HasSubscriptionIdentifierAvailable reports SubscriptionIdentifierAvailable is present.
	HasSubscriptionIdentifierAvailable bool
	// SharedSubscriptionAvailable (0x2A) is 0 or 1; absent means 1.
	SharedSubscriptionAvailable byte
	// HasSharedSubscriptionAvailable reports SharedSubscriptionAvailable is present.
	HasSharedSubscriptionAvailable bool
}

// decodeProperties reads a property length and the properties after it into p,
// checking each identifier against ctx. p must be zero on entry (apart from the
// reusable slices' capacity, which the Decoder keeps).
func (s *decodeState) decodeProperties(r *reader, p *Properties, ctx propCtx) error {
	n, err := r.varint()
	if err != nil {
		return err
	}
	if int(n) > r.left() {
		// MQTT 5.0 §2.2.2.1: the properties must fit in the packet.
		return errPropLength
	}
	end := r.i + int(n)
	pr := reader{b: r.b[:end], i: r.i}
	r.i = end
	var seen uint64
	for pr.left() > 0 {
		idb := pr.b[pr.i]
		pr.i++
		id := PropertyID(idb)
		if int(idb) >= len(propSpec) || propSpec[idb].in == 0 {
			// MQTT 5.0 §2.2.2.2: an unknown identifier makes the packet malformed.
			return errPropUnknown
		}
		if !id.allowed(ctx) {
			// MQTT 5.0 §2.2.2.2: "A Control Packet which contains an Identifier
			// which is not valid for its packet type ... is a Malformed Packet."
			return propErrs[idb].notAllowed
		}
		bit := uint64(1) << idb
		if seen&bit != 0 && id != PropUserProperty && (id != PropSubscriptionIdentifier || ctx != ctxPublish) {
			// MQTT 5.0 §3.x: "It is a Protocol Error to include the X more than
			// once"; only User Property, and Subscription Identifier in PUBLISH,
			// may repeat (MQTT 5.0 §2.2.2.2).
			return propErrs[idb].repeated
		}
		seen |= bit
		switch id {
		case PropPayloadFormatIndicator:
			if p.PayloadFormatIndicator, err = pr.byte(); err == nil && p.PayloadFormatIndicator > 1 {
				return errPropBool // MQTT 5.0 §3.3.2.3.2: 0 or 1
			}
		case PropMessageExpiryInterval:
			p.MessageExpiryInterval, err = pr.u32()
			p.HasMessageExpiryInterval = true
		case PropContentType:
			p.ContentType, err = s.internedString(&pr)
		case PropResponseTopic:
			var b []byte
			if b, err = pr.utf8(); err == nil {
				if !topicNameOK(b) {
					return errResponseTopic // [MQTT-3.3.2-14] a Topic Name, no wildcards
				}
				p.ResponseTopic = s.intern(b)
			}
		case PropCorrelationData:
			p.CorrelationData, err = pr.binary()
		case PropSubscriptionIdentifier:
			var v uint32
			if v, err = pr.varint(); err == nil {
				if v == 0 {
					return errSubIDZero // MQTT 5.0 §3.3.2.3.8: "It is a Protocol Error if the Subscription Identifier has a value of 0"
				}
				p.SubscriptionIdentifiers = append(p.SubscriptionIdentifiers, v)
			}
		case PropSessionExpiryInterval:
			p.SessionExpiryInterval, err = pr.u32()
			p.HasSessionExpiryInterval = true
		case PropAssignedClientIdentifier:
			p.AssignedClientIdentifier, err = pr.string()
		case PropServerKeepAlive:
			p.ServerKeepAlive, err = pr.u16()
			p.HasServerKeepAlive = true
		case PropAuthenticationMethod:
			p.AuthenticationMethod, err = pr.string()
		case PropAuthenticationData:
			p.AuthenticationData, err = pr.binary()
		case PropRequestProblemInformation:
			p.RequestProblemInformation, err = pr.boolByte()
			p.HasRequestProblemInformation = true
		case PropWillDelayInterval:
			p.WillDelayInterval, err = pr.u32()
		case PropRequestResponseInformation:
			p.RequestResponseInformation, err = pr.boolByte()
		case PropResponseInformation:
			p.ResponseInformation, err = pr.string()
		case PropServerReference:
			p.ServerReference, err = pr.string()
		case PropReasonString:
			p.ReasonString, err = pr.string()
		case PropReceiveMaximum:
			if p.ReceiveMaximum, err = pr.u16(); err == nil && p.ReceiveMaximum == 0 {
				return errReceiveMaxZero // MQTT 5.0 §3.1.2.11.3 / §3.2.2.3.3
			}
		case PropTopicAliasMaximum:
			p.TopicAliasMaximum, err = pr.u16()
		case PropTopicAlias:
			if p.TopicAlias, err = pr.u16(); err == nil && p.TopicAlias == 0 {
				return errTopicAliasZero // [MQTT-3.3.2-8]
			}
		case PropMaximumQoS:
			p.MaximumQoS, err = pr.boolByte() // MQTT 5.0 §3.2.2.3.4: 0 or 1
			p.HasMaximumQoS = true
		case PropRetainAvailable:
			p.RetainAvailable, err = pr.boolByte()
			p.HasRetainAvailable = true
		case PropUserProperty:
			var k, v string
			if k, err = pr.string(); err == nil {
				if v, err = pr.string(); err == nil {
					p.UserProperties = append(p.UserProperties, UserProperty{Key: k, Value: v})
				}
			}
		case PropMaximumPacketSize:
			if p.MaximumPacketSize, err = pr.u32(); err == nil && p.MaximumPacketSize == 0 {
				return errMaxPacketZero // MQTT 5.0 §3.1.2.11.4 / §3.2.2.3.6
			}
		case PropWildcardSubscriptionAvailable:
			p.WildcardSubscriptionAvailable, err = pr.boolByte()
			p.HasWildcardSubscriptionAvailable = true
		case PropSubscriptionIdentifierAvailable:
			p.SubscriptionIdentifierAvailable, err = pr.boolByte()
			p.HasSubscriptionIdentifierAvailable = true
		case PropSharedSubscriptionAvailable:
			p.SharedSubscriptionAvailable, err = pr.boolByte()
			p.HasSharedSubscriptionAvailable = true
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// size returns the encoded length of the properties (without the property
// length prefix) and checks that each present property is allowed in ctx and
// has a value the specification permits.
func (p *Properties) size(ctx propCtx) (int, error) {
	n := 0
	check := func(id PropertyID) error {
		if !id.allowed(ctx) {
			return &Error{Code: ProtocolError, Reason: "encode: " + id.String() + " property not allowed in this packet"}
		}
		return nil
	}
	if p.PayloadFormatIndicator != 0 {
		if err := check(PropPayloadFormatIndicator); err != nil {
			return 0, err
		}
		if p.PayloadFormatIndicator > 1 {
			return 0, errEncBool
		}
		n += 2
	}
	if p.HasMessageExpiryInterval || p.MessageExpiryInterval != 0 {
		if err := check(PropMessageExpiryInterval); err != nil {
			return 0, err
		}
		n += 5
	}
	if p.ContentType != "" {
		if err := check(PropContentType); err != nil {
			return 0, err
		}
		n += 3 + len(p.ContentType)
	}
	if p.ResponseTopic != "" {
		if err := check(PropResponseTopic); err != nil {
			return 0, err
		}
		n += 3 + len(p.ResponseTopic)
	}
	if len(p.CorrelationData) > 0 {
		if err := check(PropCorrelationData); err != nil {
			return 0, err
		}
		n += 3 + len(p.CorrelationData)
	}
	if len(p.SubscriptionIdentifiers) > 0 {
		if err := check(PropSubscriptionIdentifier); err != nil {
			return 0, err
		}
		if len(p.SubscriptionIdentifiers) > 1 && ctx != ctxPublish {
			return 0, errEncSubIDs
		}
		for _, v := range p.SubscriptionIdentifiers {
			if v == 0 || v > maxVarint {
				return 0, errEncSubIDRange
			}
			n += 1 + varintLen(int(v))
		}
	}
	if p.HasSessionExpiryInterval || p.SessionExpiryInterval != 0 {
		if err := check(PropSessionExpiryInterval); err != nil {
			return 0, err
		}
		n += 5
	}
	if p.AssignedClientIdentifier != "" {
		if err := check(PropAssignedClientIdentifier); err != nil {
			return 0, err
		}
		n += 3 + len(p.AssignedClientIdentifier)
	}
	if p.HasServerKeepAlive || p.ServerKeepAlive != 0 {
		if err := check(PropServerKeepAlive); err != nil {
			return 0, err
		}
		n += 3
	}
	if p.AuthenticationMethod != "" {
		if err := check(PropAuthenticationMethod); err != nil {
			return 0, err
		}
		n += 3 + len(p.AuthenticationMethod)
	}
	if len(p.AuthenticationData) > 0 {
		if err := check(PropAuthenticationData); err != nil {
			return 0, err
		}
		n += 3 + len(p.AuthenticationData)
	}
	for _, b := range [...]struct {
		id  PropertyID
		has bool
		v   byte
	}{
		{PropRequestProblemInformation, p.HasRequestProblemInformation, p.RequestProblemInformation},
		{PropRequestResponseInformation, false, p.RequestResponseInformation},
		{PropMaximumQoS, p.HasMaximumQoS, p.MaximumQoS},
		{PropRetainAvailable, p.HasRetainAvailable, p.RetainAvailable},
		{PropWildcardSubscriptionAvailable, p.HasWildcardSubscriptionAvailable, p.WildcardSubscriptionAvailable},
		{PropSubscriptionIdentifierAvailable, p.HasSubscriptionIdentifierAvailable, p.SubscriptionIdentifierAvailable},
		{PropSharedSubscriptionAvailable, p.HasSharedSubscriptionAvailable, p.SharedSubscriptionAvailable},
	} {
		if b.has || b.v != 0 {
			if err := check(b.id); err != nil {
				return 0, err
			}
			if b.v > 1 {
				return 0, errEncBool
			}
			n += 2
		}
	}
	if p.WillDelayInterval != 0 {
		if err := check(PropWillDelayInterval); err != nil {
			return 0, err
		}
		n += 5
	}
	for _, s := range [...]struct {
		id PropertyID
		v  string
	}{
		{PropResponseInformation, p.ResponseInformation},
		{PropServerReference, p.ServerReference},
		{PropReasonString, p.ReasonString},
	} {
		if s.v != "" {
			if err := check(s.id); err != nil {
				return 0, err
			}
			n += 3 + len(s.v)
		}
	}
	for _, u := range [...]struct {
		id PropertyID
		v  uint16
	}{
		{PropReceiveMaximum, p.ReceiveMaximum},
		{PropTopicAliasMaximum, p.TopicAliasMaximum},
		{PropTopicAlias, p.TopicAlias},
	} {
		if u.v != 0 {
			if err := check(u.id); err != nil {
				return 0, err
			}
			n += 3
		}
	}
	if len(p.UserProperties) > 0 {
		if err := check(PropUserProperty); err != nil {
			return 0, err
		}
		for _, u := range p.UserProperties {
			if len(u.Key) > 0xFFFF || len(u.Value) > 0xFFFF {
				return 0, errEncStringLen
			}
			n += 5 + len(u.Key) + len(u.Value)
		}
	}
	if p.MaximumPacketSize != 0 {
		if err := check(PropMaximumPacketSize); err != nil {
			return 0, err
		}
		n += 5
	}
	for _, l := range [...]int{len(p.ContentType), len(p.ResponseTopic), len(p.CorrelationData),
		len(p.AssignedClientIdentifier), len(p.AuthenticationMethod), len(p.AuthenticationData),
		len(p.ResponseInformation), len(p.ServerReference), len(p.ReasonString)} {
		if l > 0xFFFF {
			return 0, errEncStringLen
		}
	}
	return n, nil
}

// appendProperties writes the property length n and then the properties in
// ascending identifier order. p must have passed size, which returned n.
func appendProperties(dst []byte, p *Properties, n int) []byte {
	dst = appendVarint(dst, n)
	if p.PayloadFormatIndicator != 0 {
		dst = append(dst, byte(PropPayloadFormatIndicator), p.PayloadFormatIndicator)
	}
	if p.HasMessageExpiryInterval || p.MessageExpiryInterval != 0 {
		dst = appendU32(append(dst, byte(PropMessageExpiryInterval)), p.MessageExpiryInterval)
	}
	if p.ContentType != "" {
		dst = appendString(append(dst, byte(PropContentType)), p.ContentType)
	}
	if p.ResponseTopic != "" {
		dst = appendString(append(dst, byte(PropResponseTopic)), p.ResponseTopic)
	}
	if len(p.CorrelationData) > 0 {
		dst = appendBinary(append(dst, byte(PropCorrelationData)), p.CorrelationData)
	}
	for _, v := range p.SubscriptionIdentifiers {
		dst = appendVarint(append(dst, byte(PropSubscriptionIdentifier)), int(v))
	}
	if p.HasSessionExpiryInterval || p.SessionExpiryInterval != 0 {
		dst = appendU32(append(dst, byte(PropSessionExpiryInterval)), p.SessionExpiryInterval)
	}
	if p.AssignedClientIdentifier != "" {
		dst = appendString(append(dst, byte(PropAssignedClientIdentifier)), p.AssignedClientIdentifier)
	}
	if p.HasServerKeepAlive || p.ServerKeepAlive != 0 {
		dst = appendU16(append(dst, byte(PropServerKeepAlive)), p.ServerKeepAlive)
	}
	if p.AuthenticationMethod != "" {
		dst = appendString(append(dst, byte(PropAuthenticationMethod)), p.AuthenticationMethod)
	}
	if len(p.AuthenticationData) > 0 {
		dst = appendBinary(append(dst, byte(PropAuthenticationData)), p.AuthenticationData)
	}
	if p.HasRequestProblemInformation || p.RequestProblemInformation != 0 {
		dst = append(dst, byte(PropRequestProblemInformation), p.RequestProblemInformation)
	}
	if p.WillDelayInterval != 0 {
		dst = appendU32(append(dst, byte(PropWillDelayInterval)), p.WillDelayInterval)
	}
	if p.RequestResponseInformation != 0 {
		dst = append(dst, byte(PropRequestResponseInformation), p.RequestResponseInformation)
	}
	if p.ResponseInformation != "" {
		dst = appendString(append(dst, byte(PropResponseInformation)), p.ResponseInformation)
	}
	if p.ServerReference != "" {
		dst = appendString(append(dst, byte(PropServerReference)), p.ServerReference)
	}
	if p.ReasonString != "" {
		dst = appendString(append(dst, byte(PropReasonString)), p.ReasonString)
	}
	if p.ReceiveMaximum != 0 {
		dst = appendU16(append(dst, byte(PropReceiveMaximum)), p.ReceiveMaximum)
	}
	if p.TopicAliasMaximum != 0 {
		dst = appendU16(append(dst, byte(PropTopicAliasMaximum)), p.TopicAliasMaximum)
	}
	if p.TopicAlias != 0 {
		dst = appendU16(append(dst, byte(PropTopicAlias)), p.TopicAlias)
	}
	if p.HasMaximumQoS || p.MaximumQoS != 0 {
		dst = append(dst, byte(PropMaximumQoS), p.MaximumQoS)
	}
	if p.HasRetainAvailable || p.RetainAvailable != 0 {
		dst = append(dst, byte(PropRetainAvailable), p.RetainAvailable)
	}
	for _, u := range p.UserProperties {
		dst = appendString(appendString(append(dst, byte(PropUserProperty)), u.Key), u.Value)
	}
	if p.MaximumPacketSize != 0 {
		dst = appendU32(append(dst, byte(PropMaximumPacketSize)), p.MaximumPacketSize)
	}
	if p.HasWildcardSubscriptionAvailable || p.WildcardSubscriptionAvailable != 0 {
		dst = append(dst, byte(PropWildcardSubscriptionAvailable), p.WildcardSubscriptionAvailable)
	}
	if p.HasSubscriptionIdentifierAvailable || p.SubscriptionIdentifierAvailable != 0 {
		dst = append(dst, byte(PropSubscriptionIdentifierAvailable), p.SubscriptionIdentifierAvailable)
	}
	if p.HasSharedSubscriptionAvailable || p.SharedSubscriptionAvailable != 0 {
		dst = append(dst, byte(PropSharedSubscriptionAvailable), p.SharedSubscriptionAvailable)
	}
	return dst
}

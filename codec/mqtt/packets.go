package mqtt

// Protocol levels as carried in the CONNECT variable header. A connection's
// negotiated level selects the wire format of every later packet.
const (
	// V31 is MQTT 3.1 (protocol name "MQIsdp").
	V31 byte = 3
	// V311 is MQTT 3.1.1 (protocol name "MQTT").
	V311 byte = 4
	// V5 is MQTT 5.0 (protocol name "MQTT").
	V5 byte = 5
)

// Protocol names sent in CONNECT [MQTT-3.1.2-1].
const (
	// ProtocolNameV31 is the protocol name of MQTT 3.1.
	ProtocolNameV31 = "MQIsdp"
	// ProtocolNameMQTT is the protocol name of MQTT 3.1.1 and 5.0.
	ProtocolNameMQTT = "MQTT"
)

// PacketType is the MQTT control packet type held in the high nibble of the
// first fixed-header byte (MQTT 5.0 §2.1.2).
type PacketType byte

// Control packet types. Type 0 is reserved; AUTH exists only in MQTT 5.0.
const (
	TypeConnect     PacketType = 1
	TypeConnack     PacketType = 2
	TypePublish     PacketType = 3
	TypePuback      PacketType = 4
	TypePubrec      PacketType = 5
	TypePubrel      PacketType = 6
	TypePubcomp     PacketType = 7
	TypeSubscribe   PacketType = 8
	TypeSuback      PacketType = 9
	TypeUnsubscribe PacketType = 10
	TypeUnsuback    PacketType = 11
	TypePingreq     PacketType = 12
	TypePingresp    PacketType = 13
	TypeDisconnect  PacketType = 14
	TypeAuth        PacketType = 15
)

var packetTypeNames = [16]string{
	"RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
	"SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH",
}

// String returns the packet type's name as the specification spells it (PUBLISH).
func (t PacketType) String() string {
	if t < 16 {
		return packetTypeNames[t]
	}
	return "UNKNOWN"
}

// Packet is one MQTT control packet. It is implemented by the pointer types
// *Connect, *Connack, *Publish, *Puback, *Pubrec, *Pubrel, *Pubcomp,
// *Subscribe, *Suback, *Unsubscribe, *Unsuback, *Pingreq, *Pingresp,
// *Disconnect and *Auth; every Packet is also a codec.Frame.
type Packet interface {
	// Type returns the control packet type.
	Type() PacketType
}

// Connect is the CONNECT packet (MQTT 5.0 §3.1), the first packet a client sends.
// Byte-slice fields reference the decoded buffer (see the package doc).
type Connect struct {
	// ProtocolName is "MQTT" (3.1.1, 5.0) or "MQIsdp" (3.1). Encode fills it in
	// from ProtocolLevel when it is empty.
	ProtocolName string
	// ProtocolLevel is the protocol version the client asks for (V31, V311, V5).
	// Decode sets it from the wire; Encode uses it instead of its version
	// argument unless it is zero.
	ProtocolLevel byte
	// CleanStart is Clean Start in 5.0 and Clean Session in 3.1 and 3.1.1.
	CleanStart bool
	// KeepAlive is the keep-alive interval in seconds.
	KeepAlive uint16
	// ClientID is the client identifier; it may be empty (server-assigned) in
	// 3.1.1 with CleanStart and in 5.0.
	ClientID string
	// UsernameFlag reports that a user name is present (it may be empty).
	UsernameFlag bool
	// Username is the user name; meaningful only with UsernameFlag.
	Username string
	// PasswordFlag reports that a password is present (it may be empty).
	PasswordFlag bool
	// Password is the password as binary data; meaningful only with PasswordFlag.
	Password []byte
	// WillFlag reports that the client registered a will message; the other
	// Will fields must be zero without it.
	WillFlag bool
	// WillQoS is the QoS of the will message (0..2).
	WillQoS byte
	// WillRetain asks for the will message to be retained.
	WillRetain bool
	// WillTopic is the topic the will message is published to.
	WillTopic string
	// WillPayload is the will message payload.
	WillPayload []byte
	// WillProperties are the will properties (5.0 only).
	WillProperties Properties
	// Properties are the CONNECT properties (5.0 only).
	Properties Properties
}

// Connack is the CONNACK packet (MQTT 5.0 §3.2), the server's answer to CONNECT.
type Connack struct {
	// SessionPresent reports that the server resumed an existing session.
	SessionPresent bool
	// ReasonCode is the v5 Connect Reason Code, or the 3.1/3.1.1 return code
	// (0x00..0x05, see ConnRefusedNotAuthorized and ReasonCode.V3ConnackCode).
	ReasonCode ReasonCode
	// Properties are the CONNACK properties (5.0 only).
	Properties Properties
}

// Publish is the PUBLISH packet (MQTT 5.0 §3.3), an application message.
// Payload and binary properties reference the decoded buffer (see the package doc).
type Publish struct {
	// Dup reports a possible redelivery; it must be false for QoS 0 [MQTT-3.3.1-2].
	Dup bool
	// QoS is the delivery quality of service, 0..2 [MQTT-3.3.1-4].
	QoS byte
	// Retain asks the server to retain the message.
	Retain bool
	// Topic is the topic name; it may be empty in 5.0 when Properties.TopicAlias is set.
	Topic string
	// PacketID is the packet identifier, present (and non-zero) only for QoS 1 and 2.
	PacketID uint16
	// Properties are the PUBLISH properties (5.0 only).
	Properties Properties
	// Payload is the application message; nil when empty.
	Payload []byte
}

// Puback is the PUBACK packet (MQTT 5.0 §3.4), the answer to a QoS 1 PUBLISH.
type Puback struct {
	// PacketID is the identifier of the acknowledged PUBLISH.
	PacketID uint16
	// ReasonCode is the v5 reason code; it is not sent on 3.1 and 3.1.1.
	ReasonCode ReasonCode
	// Properties are the PUBACK properties (5.0 only).
	Properties Properties
}

// Pubrec is the PUBREC packet (MQTT 5.0 §3.5), the first answer to a QoS 2 PUBLISH.
type Pubrec struct {
	// PacketID is the identifier of the acknowledged PUBLISH.
	PacketID uint16
	// ReasonCode is the v5 reason code; it is not sent on 3.1 and 3.1.1.
	ReasonCode ReasonCode
	// Properties are the PUBREC properties (5.0 only).
	Properties Properties
}

// Pubrel is the PUBREL packet (MQTT 5.0 §3.6), the answer to PUBREC.
type Pubrel struct {
	// PacketID is the identifier of the QoS 2 exchange.
	PacketID uint16
	// ReasonCode is the v5 reason code; it is not sent on 3.1 and 3.1.1.
	ReasonCode ReasonCode
	// Properties are the PUBREL properties (5.0 only).
	Properties Properties
}

// Pubcomp is the PUBCOMP packet (MQTT 5.0 §3.7), the answer to PUBREL.
type Pubcomp struct {
	// PacketID is the identifier of the QoS 2 exchange.
	PacketID uint16
	// ReasonCode is the v5 reason code; it is not sent on 3.1 and 3.1.1.
	ReasonCode ReasonCode
	// Properties are the PUBCOMP properties (5.0 only).
	Properties Properties
}

// Subscription is one topic filter and its subscription options in SUBSCRIBE
// (MQTT 5.0 §3.8.3.1).
type Subscription struct {
	// Filter is the topic filter, possibly a shared subscription ($share/name/filter).
	Filter string
	// QoS is the maximum QoS the client accepts on this subscription (0..2).
	QoS byte
	// NoLocal asks not to receive the client's own publications (5.0 only).
	NoLocal bool
	// RetainAsPublished keeps the RETAIN flag of forwarded messages (5.0 only).
	RetainAsPublished bool
	// RetainHandling says when retained messages are sent: 0 at subscribe,
	// 1 at subscribe if the subscription is new, 2 never (5.0 only).
	RetainHandling byte
}

// Subscribe is the SUBSCRIBE packet (MQTT 5.0 §3.8).
type Subscribe struct {
	// PacketID is the packet identifier, never zero [MQTT-2.2.1-3].
	PacketID uint16
	// Properties are the SUBSCRIBE properties (5.0 only): at most one
	// subscription identifier, and user properties.
	Properties Properties
	// Subscriptions holds at least one subscription [MQTT-3.8.3-3].
	Subscriptions []Subscription
}

// Suback is the SUBACK packet (MQTT 5.0 §3.9).
type Suback struct {
	// PacketID is the identifier of the acknowledged SUBSCRIBE.
	PacketID uint16
	// Properties are the SUBACK properties (5.0 only).
	Properties Properties
	// ReasonCodes holds one code per subscription: GrantedQoS0..2 or a failure
	// (3.1.1 knows only 0x80, which Encode sends for every failure).
	ReasonCodes []ReasonCode
}

// Unsubscribe is the UNSUBSCRIBE packet (MQTT 5.0 §3.10).
type Unsubscribe struct {
	// PacketID is the packet identifier, never zero.
	PacketID uint16
	// Properties are the UNSUBSCRIBE properties (5.0 only; user properties).
	Properties Properties
	// Filters holds at least one topic filter [MQTT-3.10.3-2].
	Filters []string
}

// Unsuback is the UNSUBACK packet (MQTT 5.0 §3.11).
type Unsuback struct {
	// PacketID is the identifier of the acknowledged UNSUBSCRIBE.
	PacketID uint16
	// Properties are the UNSUBACK properties (5.0 only).
	Properties Properties
	// ReasonCodes holds one code per filter (5.0 only; 3.1 and 3.1.1 UNSUBACK
	// has no payload, and decodes with nil ReasonCodes).
	ReasonCodes []ReasonCode
}

// Pingreq is the PINGREQ packet (MQTT 5.0 §3.12).
type Pingreq struct{}

// Pingresp is the PINGRESP packet (MQTT 5.0 §3.13).
type Pingresp struct{}

// Disconnect is the DISCONNECT packet (MQTT 5.0 §3.14). On 3.1 and 3.1.1 it has
// no body: ReasonCode and Properties are not sent.
type Disconnect struct {
	// ReasonCode is the Disconnect Reason Code (5.0 only).
	ReasonCode ReasonCode
	// Properties are the DISCONNECT properties (5.0 only).
	Properties Properties
}

// Auth is the AUTH packet (MQTT 5.0 §3.15), used for extended authentication;
// it exists only in MQTT 5.0.
type Auth struct {
	// ReasonCode is Success, ContinueAuthentication or ReAuthenticate.
	ReasonCode ReasonCode
	// Properties are the AUTH properties.
	Properties Properties
}

// Type returns TypeConnect.
func (*Connect) Type() PacketType { return TypeConnect }

// Type returns TypeConnack.
func (*Connack) Type() PacketType { return TypeConnack }

// Type returns TypePublish.
func (*Publish) Type() PacketType { return TypePublish }

// Type returns TypePuback.
func (*Puback) Type() PacketType { return TypePuback }

// Type returns TypePubrec.
func (*Pubrec) Type() PacketType { return TypePubrec }

// Type returns TypePubrel.
func (*Pubrel) Type() PacketType { return TypePubrel }

// Type returns TypePubcomp.
func (*Pubcomp) Type() PacketType { return TypePubcomp }

// Type returns TypeSubscribe.
func (*Subscribe) Type() PacketType { return TypeSubscribe }

// Type returns TypeSuback.
func (*Suback) Type() PacketType { return TypeSuback }

// Type returns TypeUnsubscribe.
func (*Unsubscribe) Type() PacketType { return TypeUnsubscribe }

// Type returns TypeUnsuback.
func (*Unsuback) Type() PacketType { return TypeUnsuback }

// Type returns TypePingreq.
func (*Pingreq) Type() PacketType { return TypePingreq }

// Type returns TypePingresp.
func (*Pingresp) Type() PacketType { return TypePingresp }

// Type returns TypeDisconnect.
func (*Disconnect) Type() PacketType { return TypeDisconnect }

// Type returns TypeAuth.
func (*Auth) Type() PacketType { return TypeAuth }

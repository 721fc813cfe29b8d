package mqtt

// ReasonCode is an MQTT 5.0 reason code (MQTT 5.0 §2.4). It implements error so
// a code can travel as an error value; errors.Is(err, MalformedPacket) works on
// every *Error this package returns.
type ReasonCode byte

// MQTT 5.0 reason codes, named as in MQTT 5.0 §2.4 Table 2-6. Several names
// share a value; the meaning depends on the packet that carries the code.
const (
	Success                             ReasonCode = 0x00
	NormalDisconnection                 ReasonCode = 0x00
	GrantedQoS0                         ReasonCode = 0x00
	GrantedQoS1                         ReasonCode = 0x01
	GrantedQoS2                         ReasonCode = 0x02
	DisconnectWithWillMessage           ReasonCode = 0x04
	NoMatchingSubscribers               ReasonCode = 0x10
	NoSubscriptionExisted               ReasonCode = 0x11
	ContinueAuthentication              ReasonCode = 0x18
	ReAuthenticate                      ReasonCode = 0x19
	UnspecifiedError                    ReasonCode = 0x80
	MalformedPacket                     ReasonCode = 0x81
	ProtocolError                       ReasonCode = 0x82
	ImplementationSpecificError         ReasonCode = 0x83
	UnsupportedProtocolVersion          ReasonCode = 0x84
	ClientIdentifierNotValid            ReasonCode = 0x85
	BadUserNameOrPassword               ReasonCode = 0x86
	NotAuthorized                       ReasonCode = 0x87
	ServerUnavailable                   ReasonCode = 0x88
	ServerBusy                          ReasonCode = 0x89
	Banned                              ReasonCode = 0x8A
	ServerShuttingDown                  ReasonCode = 0x8B
	BadAuthenticationMethod             ReasonCode = 0x8C
	KeepAliveTimeout                    ReasonCode = 0x8D
	SessionTakenOver                    ReasonCode = 0x8E
	TopicFilterInvalid                  ReasonCode = 0x8F
	TopicNameInvalid                    ReasonCode = 0x90
	PacketIdentifierInUse               ReasonCode = 0x91
	PacketIdentifierNotFound            ReasonCode = 0x92
	ReceiveMaximumExceeded              ReasonCode = 0x93
	TopicAliasInvalid                   ReasonCode = 0x94
	PacketTooLarge                      ReasonCode = 0x95
	MessageRateTooHigh                  ReasonCode = 0x96
	QuotaExceeded                       ReasonCode = 0x97
	AdministrativeAction                ReasonCode = 0x98
	PayloadFormatInvalid                ReasonCode = 0x99
	RetainNotSupported                  ReasonCode = 0x9A
	QoSNotSupported                     ReasonCode = 0x9B
	UseAnotherServer                    ReasonCode = 0x9C
	ServerMoved                         ReasonCode = 0x9D
	SharedSubscriptionsNotSupported     ReasonCode = 0x9E
	ConnectionRateExceeded              ReasonCode = 0x9F
	MaximumConnectTime                  ReasonCode = 0xA0
	SubscriptionIdentifiersNotSupported ReasonCode = 0xA1
	WildcardSubscriptionsNotSupported   ReasonCode = 0xA2
)

// MQTT 3.1 and 3.1.1 CONNACK return codes (MQTT 3.1.1 §3.2.2.3). A Connack
// decoded on a 3.x connection carries one of these in ReasonCode.
const (
	ConnAccepted                           ReasonCode = 0x00
	ConnRefusedUnacceptableProtocolVersion ReasonCode = 0x01
	ConnRefusedIdentifierRejected          ReasonCode = 0x02
	ConnRefusedServerUnavailable           ReasonCode = 0x03
	ConnRefusedBadUserNameOrPassword       ReasonCode = 0x04
	ConnRefusedNotAuthorized               ReasonCode = 0x05
)

var reasonNames = [256]string{
	0x00: "Success",
	0x01: "Granted QoS 1",
	0x02: "Granted QoS 2",
	0x04: "Disconnect with Will Message",
	0x10: "No matching subscribers",
	0x11: "No subscription existed",
	0x18: "Continue authentication",
	0x19: "Re-authenticate",
	0x80: "Unspecified error",
	0x81: "Malformed Packet",
	0x82: "Protocol Error",
	0x83: "Implementation specific error",
	0x84: "Unsupported Protocol Version",
	0x85: "Client Identifier not valid",
	0x86: "Bad User Name or Password",
	0x87: "Not authorized",
	0x88: "Server unavailable",
	0x89: "Server busy",
	0x8A: "Banned",
	0x8B: "Server shutting down",
	0x8C: "Bad authentication method",
	0x8D: "Keep Alive timeout",
	0x8E: "Session taken over",
	0x8F: "Topic Filter invalid",
	0x90: "Topic Name invalid",
	0x91: "Packet Identifier in use",
	0x92: "Packet Identifier not found",
	0x93: "Receive Maximum exceeded",
	0x94: "Topic Alias invalid",
	0x95: "Packet too large",
	0x96: "Message rate too high",
	0x97: "Quota exceeded",
	0x98: "Administrative action",
	0x99: "Payload format invalid",
	0x9A: "Retain not supported",
	0x9B: "QoS not supported",
	0x9C: "Use another server",
	0x9D: "Server moved",
	0x9E: "Shared Subscriptions not supported",
	0x9F: "Connection rate exceeded",
	0xA0: "Maximum connect time",
	0xA1: "Subscription Identifiers not supported",
	0xA2: "Wildcard Subscriptions not supported",
}

// String returns the MQTT 5.0 name of the code (0x00 is "Success" whatever the
// packet), or "Reason Code 0xNN" for values the specification does not define.
func (rc ReasonCode) String() string {
	if s := reasonNames[rc]; s != "" {
		return s
	}
	const hex = "0123456789ABCDEF"
	return "Reason Code 0x" + string([]byte{hex[rc>>4], hex[rc&0x0F]})
}

// Error makes a ReasonCode usable as an error value.
func (rc ReasonCode) Error() string { return "mqtt: " + rc.String() }

// IsError reports whether the code signals a failure (0x80 and above, MQTT 5.0 §2.4).
func (rc ReasonCode) IsError() bool { return rc >= 0x80 }

// V3ConnackCode maps a reason code to the nearest MQTT 3.1/3.1.1 CONNACK return
// code, so a server can answer CONNACK 0x01 to a 3.1.1 client for the
// UnsupportedProtocolVersion it would send a 5.0 client. Codes 0x00..0x05 are
// returned unchanged. Encode applies this mapping to Connack on 3.x connections.
func (rc ReasonCode) V3ConnackCode() ReasonCode {
	switch rc {
	case 0x00, 0x01, 0x02, 0x03, 0x04, 0x05:
		return rc
	case UnsupportedProtocolVersion:
		return ConnRefusedUnacceptableProtocolVersion
	case ClientIdentifierNotValid:
		return ConnRefusedIdentifierRejected
	case BadUserNameOrPassword, BadAuthenticationMethod:
		return ConnRefusedBadUserNameOrPassword
	case NotAuthorized, Banned:
		return ConnRefusedNotAuthorized
	}
	return ConnRefusedServerUnavailable
}

// Error is a malformed or unencodable packet. Code is the reason code a v5
// server puts in its CONNACK or DISCONNECT; Reason says what was wrong and
// cites the specification clause. Errors returned by Decode are shared values:
// do not modify them.
type Error struct {
	// Code is the MQTT 5.0 reason code for the failure.
	Code ReasonCode
	// Reason is a short description with the spec clause, for logs.
	Reason string
}

// Error implements error.
func (e *Error) Error() string { return "mqtt: " + e.Code.String() + ": " + e.Reason }

// Unwrap returns the reason code, so errors.Is(err, mqtt.PacketTooLarge) works.
func (e *Error) Unwrap() error { return e.Code }

func malformed(reason string) *Error   { return &Error{Code: MalformedPacket, Reason: reason} }
func protocolErr(reason string) *Error { return &Error{Code: ProtocolError, Reason: reason} }

// reasonSets[t] holds, as a 256-bit set, the reason codes MQTT 5.0 allows in
// packet type t. The lists follow the "Reason Code values" table of each packet.
var reasonSets = func() (s [16][4]uint64) {
	add := func(t PacketType, codes ...ReasonCode) {
		for _, c := range codes {
			s[t][c>>6] |= 1 << (c & 63)
		}
	}
	// MQTT 5.0 §3.2.2.2
	add(TypeConnack, Success, UnspecifiedError, MalformedPacket, ProtocolError,
		ImplementationSpecificError, UnsupportedProtocolVersion, ClientIdentifierNotValid,
		BadUserNameOrPassword, NotAuthorized, ServerUnavailable, ServerBusy, Banned,
		BadAuthenticationMethod, TopicNameInvalid, PacketTooLarge, QuotaExceeded,
		PayloadFormatInvalid, RetainNotSupported, QoSNotSupported, UseAnotherServer,
		ServerMoved, ConnectionRateExceeded)
	// MQTT 5.0 §3.4.2.1 and §3.5.2.1
	for _, t := range []PacketType{TypePuback, TypePubrec} {
		add(t, Success, NoMatchingSubscribers, UnspecifiedError, ImplementationSpecificError,
			NotAuthorized, TopicNameInvalid, PacketIdentifierInUse, QuotaExceeded, PayloadFormatInvalid)
	}
	// MQTT 5.0 §3.6.2.1 and §3.7.2.1
	add(TypePubrel, Success, PacketIdentifierNotFound)
	add(TypePubcomp, Success, PacketIdentifierNotFound)
	// MQTT 5.0 §3.9.3
	add(TypeSuback, GrantedQoS0, GrantedQoS1, GrantedQoS2, UnspecifiedError,
		ImplementationSpecificError, NotAuthorized, TopicFilterInvalid, PacketIdentifierInUse,
		QuotaExceeded, SharedSubscriptionsNotSupported, SubscriptionIdentifiersNotSupported,
		WildcardSubscriptionsNotSupported)
	// MQTT 5.0 §3.11.3
	add(TypeUnsuback, Success, NoSubscriptionExisted, UnspecifiedError,
		ImplementationSpecificError, NotAuthorized, TopicFilterInvalid, PacketIdentifierInUse)
	// MQTT 5.0 §3.14.2.1
	add(TypeDisconnect, NormalDisconnection, DisconnectWithWillMessage, UnspecifiedError,
		MalformedPacket, ProtocolError, ImplementationSpecificError, NotAuthorized, ServerBusy,
		ServerShuttingDown, KeepAliveTimeout, SessionTakenOver, TopicFilterInvalid,
		TopicNameInvalid, ReceiveMaximumExceeded, TopicAliasInvalid, PacketTooLarge,
		MessageRateTooHigh, QuotaExceeded, AdministrativeAction, PayloadFormatInvalid,
		RetainNotSupported, QoSNotSupported, UseAnotherServer, ServerMoved,
		SharedSubscriptionsNotSupported, ConnectionRateExceeded, MaximumConnectTime,
		SubscriptionIdentifiersNotSupported, WildcardSubscriptionsNotSupported)
	// MQTT 5.0 §3.15.2.1
	add(TypeAuth, Success, ContinueAuthentication, ReAuthenticate)
	return s
}()

// validFor reports whether MQTT 5.0 allows rc in a packet of type t.
func (rc ReasonCode) validFor(t PacketType) bool {
	return reasonSets[t&15][rc>>6]&(1<<(rc&63)) != 0
}

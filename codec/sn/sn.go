package sn

import (
	"errors"
	"fmt"
)

// MsgType is an MQTT-SN message type (MQTT-SN 1.2 §5.2.2 Table 3).
type MsgType byte

// MQTT-SN 1.2 message types.
const (
	TypeAdvertise     MsgType = 0x00
	TypeSearchGw      MsgType = 0x01
	TypeGwInfo        MsgType = 0x02
	TypeConnect       MsgType = 0x04
	TypeConnack       MsgType = 0x05
	TypeWillTopicReq  MsgType = 0x06
	TypeWillTopic     MsgType = 0x07
	TypeWillMsgReq    MsgType = 0x08
	TypeWillMsg       MsgType = 0x09
	TypeRegister      MsgType = 0x0A
	TypeRegack        MsgType = 0x0B
	TypePublish       MsgType = 0x0C
	TypePuback        MsgType = 0x0D
	TypePubcomp       MsgType = 0x0E
	TypePubrec        MsgType = 0x0F
	TypePubrel        MsgType = 0x10
	TypeSubscribe     MsgType = 0x12
	TypeSuback        MsgType = 0x13
	TypeUnsubscribe   MsgType = 0x14
	TypeUnsuback      MsgType = 0x15
	TypePingreq       MsgType = 0x16
	TypePingresp      MsgType = 0x17
	TypeDisconnect    MsgType = 0x18
	TypeWillTopicUpd  MsgType = 0x1A
	TypeWillTopicResp MsgType = 0x1B
	TypeWillMsgUpd    MsgType = 0x1C
	TypeWillMsgResp   MsgType = 0x1D
	TypeEncapsulated  MsgType = 0xFE
)

var typeNames = map[MsgType]string{
	TypeAdvertise: "ADVERTISE", TypeSearchGw: "SEARCHGW", TypeGwInfo: "GWINFO", TypeConnect: "CONNECT",
	TypeConnack: "CONNACK", TypeWillTopicReq: "WILLTOPICREQ", TypeWillTopic: "WILLTOPIC",
	TypeWillMsgReq: "WILLMSGREQ", TypeWillMsg: "WILLMSG", TypeRegister: "REGISTER", TypeRegack: "REGACK",
	TypePublish: "PUBLISH", TypePuback: "PUBACK", TypePubcomp: "PUBCOMP", TypePubrec: "PUBREC",
	TypePubrel: "PUBREL", TypeSubscribe: "SUBSCRIBE", TypeSuback: "SUBACK", TypeUnsubscribe: "UNSUBSCRIBE",
	TypeUnsuback: "UNSUBACK", TypePingreq: "PINGREQ", TypePingresp: "PINGRESP", TypeDisconnect: "DISCONNECT",
	TypeWillTopicUpd: "WILLTOPICUPD", TypeWillTopicResp: "WILLTOPICRESP", TypeWillMsgUpd: "WILLMSGUPD",
	TypeWillMsgResp: "WILLMSGRESP", TypeEncapsulated: "ENCAPSULATED",
}

// String returns the message type's name as the specification spells it.
func (t MsgType) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("0x%02X", byte(t))
}

// ReturnCode is an MQTT-SN return code (MQTT-SN 1.2 §5.3.10 Table 5).
type ReturnCode byte

// MQTT-SN 1.2 return codes.
const (
	Accepted             ReturnCode = 0x00
	RejectedCongestion   ReturnCode = 0x01
	RejectedInvalidTopic ReturnCode = 0x02
	RejectedNotSupported ReturnCode = 0x03
)

// String names the return code.
func (c ReturnCode) String() string {
	switch c {
	case Accepted:
		return "accepted"
	case RejectedCongestion:
		return "rejected_congestion"
	case RejectedInvalidTopic:
		return "rejected_invalid_topic_id"
	case RejectedNotSupported:
		return "rejected_not_supported"
	}
	return fmt.Sprintf("0x%02X", byte(c))
}

// Topic id types: the TopicIdType bits of the flags octet (MQTT-SN 1.2 §5.3.4).
const (
	TopicNormal     byte = 0x00 // a topic id assigned by REGISTER (or a topic name in SUBSCRIBE)
	TopicPredefined byte = 0x01 // a predefined topic id
	TopicShort      byte = 0x02 // a two-character topic name carried in the topic id field
)

// QoSMinus1 is the flags' QoS value 0b11: QoS -1, publish without a
// connection (MQTT-SN 1.2 §6.8).
const QoSMinus1 byte = 3

// ProtocolID is the only Protocol Id of MQTT-SN 1.2 (§5.3.8).
const ProtocolID byte = 0x01

// MaxLength is the largest message the three-octet length form carries.
const MaxLength = 65535

// ErrMalformed is matched (errors.Is) by every decoding error.
var ErrMalformed = errors.New("sn: malformed message")

// ErrEncode is returned by Encode for a message that cannot be put on the wire.
var ErrEncode = errors.New("sn: cannot encode message")

// Error is a decoding error: the message type (when known) and the rule broken.
type Error struct {
	Type   MsgType
	Reason string
}

func (e *Error) Error() string { return "sn: malformed " + e.Type.String() + ": " + e.Reason }

// Is makes errors.Is(err, ErrMalformed) true.
func (e *Error) Is(target error) bool { return target == ErrMalformed }

// Message is one MQTT-SN message.
type Message interface {
	// Type is the message's MsgType.
	Type() MsgType
}

// ShortTopic returns the two-character topic name a short topic id carries.
func ShortTopic(id uint16) string { return string([]byte{byte(id >> 8), byte(id)}) }

// ShortTopicID packs a two-character topic name into a topic id; ok is false
// when name is not exactly two bytes long.
func ShortTopicID(name string) (id uint16, ok bool) {
	if len(name) != 2 {
		return 0, false
	}
	return uint16(name[0])<<8 | uint16(name[1]), true
}

// Advertise is sent by a gateway every Duration seconds (§5.4.1).
type Advertise struct {
	GwID     byte
	Duration uint16 // seconds until the next ADVERTISE
}

// SearchGw is a client's broadcast search for a gateway (§5.4.2).
type SearchGw struct {
	Radius byte
}

// GwInfo answers SEARCHGW (§5.4.3); GwAddr is present only when a client
// answers on behalf of a gateway.
type GwInfo struct {
	GwID   byte
	GwAddr []byte
}

// Connect opens a connection (§5.4.4).
type Connect struct {
	Will         bool
	CleanSession bool
	ProtocolID   byte
	Duration     uint16 // keepalive in seconds
	ClientID     string
}

// Connack answers CONNECT (§5.4.5).
type Connack struct {
	ReturnCode ReturnCode
}

// WillTopicReq asks the client for its will topic (§5.4.6).
type WillTopicReq struct{}

// WillTopic carries the will topic (§5.4.7). A message with no flags and no
// topic (Empty) deletes the will.
type WillTopic struct {
	QoS    byte
	Retain bool
	Topic  string
}

// WillMsgReq asks the client for its will message (§5.4.8).
type WillMsgReq struct{}

// WillMsg carries the will message (§5.4.9).
type WillMsg struct {
	Msg []byte
}

// Register binds a topic name to a topic id, in either direction (§5.4.10):
// a client sends TopicID 0, the gateway the id it assigns.
type Register struct {
	TopicID   uint16
	MsgID     uint16
	TopicName string
}

// Regack answers REGISTER (§5.4.11).
type Regack struct {
	TopicID    uint16
	MsgID      uint16
	ReturnCode ReturnCode
}

// Publish carries an application message (§5.4.12). For a short topic,
// TopicID holds the two characters (ShortTopic).
type Publish struct {
	Dup         bool
	QoS         byte // 0, 1, 2 or QoSMinus1
	Retain      bool
	TopicIDType byte
	TopicID     uint16
	MsgID       uint16
	Data        []byte
}

// Puback acknowledges a QoS 1 PUBLISH, or refuses any PUBLISH (§5.4.13).
type Puback struct {
	TopicID    uint16
	MsgID      uint16
	ReturnCode ReturnCode
}

// Pubrec is the first acknowledgement of a QoS 2 PUBLISH (§5.4.14).
type Pubrec struct{ MsgID uint16 }

// Pubrel releases a QoS 2 PUBLISH (§5.4.14).
type Pubrel struct{ MsgID uint16 }

// Pubcomp completes a QoS 2 exchange (§5.4.14).
type Pubcomp struct{ MsgID uint16 }

// Subscribe subscribes to a topic name or filter (TopicIDType normal), a
// predefined topic id, or a short topic name (§5.4.15).
type Subscribe struct {
	Dup         bool
	QoS         byte
	TopicIDType byte
	MsgID       uint16
	TopicName   string // TopicNormal
	TopicID     uint16 // TopicPredefined and TopicShort
}

// Suback answers SUBSCRIBE (§5.4.16).
type Suback struct {
	QoS        byte
	TopicID    uint16
	MsgID      uint16
	ReturnCode ReturnCode
}

// Unsubscribe removes a subscription (§5.4.17); topic fields as in Subscribe.
type Unsubscribe struct {
	TopicIDType byte
	MsgID       uint16
	TopicName   string
	TopicID     uint16
}

// Unsuback answers UNSUBSCRIBE (§5.4.18).
type Unsuback struct{ MsgID uint16 }

// Pingreq is a keepalive; with a ClientID it wakes a sleeping client (§5.4.19).
type Pingreq struct{ ClientID string }

// Pingresp answers PINGREQ (§5.4.20).
type Pingresp struct{}

// Disconnect ends a connection, or with a Duration puts the client to sleep
// for that many seconds (§5.4.21).
type Disconnect struct {
	HasDuration bool
	Duration    uint16
}

// WillTopicUpd updates (or, empty, deletes) the will topic (§5.4.22).
type WillTopicUpd struct {
	QoS    byte
	Retain bool
	Topic  string
}

// WillTopicResp answers WILLTOPICUPD (§5.4.23).
type WillTopicResp struct{ ReturnCode ReturnCode }

// WillMsgUpd updates the will message (§5.4.24).
type WillMsgUpd struct{ Msg []byte }

// WillMsgResp answers WILLMSGUPD (§5.4.25).
type WillMsgResp struct{ ReturnCode ReturnCode }

// Encapsulated is a message relayed by a forwarder (§5.5): the radius, the
// wireless node id of the client, and the client's message.
type Encapsulated struct {
	Radius byte
	NodeID []byte
	Msg    Message
}

// Type implementations.

func (*Advertise) Type() MsgType     { return TypeAdvertise }
func (*SearchGw) Type() MsgType      { return TypeSearchGw }
func (*GwInfo) Type() MsgType        { return TypeGwInfo }
func (*Connect) Type() MsgType       { return TypeConnect }
func (*Connack) Type() MsgType       { return TypeConnack }
func (*WillTopicReq) Type() MsgType  { return TypeWillTopicReq }
func (*WillTopic) Type() MsgType     { return TypeWillTopic }
func (*WillMsgReq) Type() MsgType    { return TypeWillMsgReq }
func (*WillMsg) Type() MsgType       { return TypeWillMsg }
func (*Register) Type() MsgType      { return TypeRegister }
func (*Regack) Type() MsgType        { return TypeRegack }
func (*Publish) Type() MsgType       { return TypePublish }
func (*Puback) Type() MsgType        { return TypePuback }
func (*Pubrec) Type() MsgType        { return TypePubrec }
func (*Pubrel) Type() MsgType        { return TypePubrel }
func (*Pubcomp) Type() MsgType       { return TypePubcomp }
func (*Subscribe) Type() MsgType     { return TypeSubscribe }
func (*Suback) Type() MsgType        { return TypeSuback }
func (*Unsubscribe) Type() MsgType   { return TypeUnsubscribe }
func (*Unsuback) Type() MsgType      { return TypeUnsuback }
func (*Pingreq) Type() MsgType       { return TypePingreq }
func (*Pingresp) Type() MsgType      { return TypePingresp }
func (*Disconnect) Type() MsgType    { return TypeDisconnect }
func (*WillTopicUpd) Type() MsgType  { return TypeWillTopicUpd }
func (*WillTopicResp) Type() MsgType { return TypeWillTopicResp }
func (*WillMsgUpd) Type() MsgType    { return TypeWillMsgUpd }
func (*WillMsgResp) Type() MsgType   { return TypeWillMsgResp }
func (*Encapsulated) Type() MsgType  { return TypeEncapsulated }

package sn

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/manifold-iot/manifold/codec"
)

// Flags octet bits (MQTT-SN 1.2 §5.3.4).
const (
	flagDup          = 0x80
	flagQoSShift     = 5
	flagQoSMask      = 0x60
	flagRetain       = 0x10
	flagWill         = 0x08
	flagCleanSession = 0x04
	flagTopicType    = 0x03
)

// header reads the Length field (§5.2.1): one octet, or 0x01 followed by two.
// It returns the total length and the header size.
func header(buf []byte) (total, hdr int, err error) {
	if len(buf) < 1 {
		return 0, 0, codec.ErrIncomplete
	}
	if buf[0] != 0x01 {
		if buf[0] < 2 {
			return 0, 0, &Error{Type: 0xFF, Reason: "length below 2"}
		}
		return int(buf[0]), 1, nil
	}
	if len(buf) < 3 {
		return 0, 0, codec.ErrIncomplete
	}
	total = int(binary.BigEndian.Uint16(buf[1:3]))
	if total < 4 {
		return 0, 0, &Error{Type: 0xFF, Reason: "three-octet length below 4"}
	}
	return total, 3, nil
}

// Decode returns the first message in buf and the number of bytes it used.
// It never panics; see the package doc for errors and buffer lifetime.
func Decode(buf []byte) (Message, int, error) {
	total, hdr, err := header(buf)
	if err != nil {
		return nil, 0, err
	}
	if len(buf) < total || len(buf) < hdr+1 {
		return nil, 0, codec.ErrIncomplete
	}
	t := MsgType(buf[hdr])
	body := buf[hdr+1 : total]
	if t == TypeEncapsulated {
		return decodeEncapsulated(buf, total, body)
	}
	m, err := decodeBody(t, body)
	if err != nil {
		return nil, 0, err
	}
	return m, total, nil
}

// decodeEncapsulated reads a forwarder encapsulation (§5.5): its Length
// covers the encapsulation header only; the client's message follows.
func decodeEncapsulated(buf []byte, hdrLen int, body []byte) (Message, int, error) {
	if len(body) < 1 {
		return nil, 0, &Error{Type: TypeEncapsulated, Reason: "missing Ctrl octet"}
	}
	inner, n, err := Decode(buf[hdrLen:])
	if err != nil {
		return nil, 0, err
	}
	if inner.Type() == TypeEncapsulated {
		return nil, 0, &Error{Type: TypeEncapsulated, Reason: "nested encapsulation"}
	}
	e := &Encapsulated{Radius: body[0] & 0x03, Msg: inner}
	if len(body) > 1 {
		e.NodeID = body[1:]
	}
	return e, hdrLen + n, nil
}

func bad(t MsgType, reason string) error { return &Error{Type: t, Reason: reason} }

func u16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }

func text(t MsgType, b []byte, what string) (string, error) {
	if !utf8.Valid(b) {
		return "", bad(t, what+" is not UTF-8")
	}
	return string(b), nil
}

func qosOf(flags byte) byte { return (flags & flagQoSMask) >> flagQoSShift }

// exact checks a fixed body length.
func exact(t MsgType, body []byte, n int) error {
	if len(body) != n {
		return bad(t, "wrong length")
	}
	return nil
}

func decodeBody(t MsgType, b []byte) (Message, error) {
	switch t {
	case TypeAdvertise:
		if err := exact(t, b, 3); err != nil {
			return nil, err
		}
		return &Advertise{GwID: b[0], Duration: u16(b[1:])}, nil
	case TypeSearchGw:
		if err := exact(t, b, 1); err != nil {
			return nil, err
		}
		return &SearchGw{Radius: b[0]}, nil
	case TypeGwInfo:
		if len(b) < 1 {
			return nil, bad(t, "missing GwId")
		}
		g := &GwInfo{GwID: b[0]}
		if len(b) > 1 {
			g.GwAddr = b[1:]
		}
		return g, nil
	case TypeConnect:
		if len(b) < 4 {
			return nil, bad(t, "too short")
		}
		id, err := text(t, b[4:], "client id")
		if err != nil {
			return nil, err
		}
		return &Connect{Will: b[0]&flagWill != 0, CleanSession: b[0]&flagCleanSession != 0,
			ProtocolID: b[1], Duration: u16(b[2:]), ClientID: id}, nil
	case TypeConnack, TypeWillTopicResp, TypeWillMsgResp:
		if err := exact(t, b, 1); err != nil {
			return nil, err
		}
		switch t {
		case TypeConnack:
			return &Connack{ReturnCode: ReturnCode(b[0])}, nil
		case TypeWillTopicResp:
			return &WillTopicResp{ReturnCode: ReturnCode(b[0])}, nil
		}
		return &WillMsgResp{ReturnCode: ReturnCode(b[0])}, nil
	case TypeWillTopicReq, TypeWillMsgReq, TypePingresp:
		if err := exact(t, b, 0); err != nil {
			return nil, err
		}
		switch t {
		case TypeWillTopicReq:
			return &WillTopicReq{}, nil
		case TypeWillMsgReq:
			return &WillMsgReq{}, nil
		}
		return &Pingresp{}, nil
	case TypeWillTopic, TypeWillTopicUpd:
		var q byte
		var r bool
		var topic string
		if len(b) > 0 {
			q, r = qosOf(b[0]), b[0]&flagRetain != 0
			if q == QoSMinus1 {
				return nil, bad(t, "will QoS -1")
			}
			var err error
			if topic, err = text(t, b[1:], "will topic"); err != nil {
				return nil, err
			}
		}
		if t == TypeWillTopic {
			return &WillTopic{QoS: q, Retain: r, Topic: topic}, nil
		}
		return &WillTopicUpd{QoS: q, Retain: r, Topic: topic}, nil
	case TypeWillMsg:
		return &WillMsg{Msg: b}, nil
	case TypeWillMsgUpd:
		return &WillMsgUpd{Msg: b}, nil
	case TypeRegister:
		if len(b) < 5 {
			return nil, bad(t, "too short")
		}
		name, err := text(t, b[4:], "topic name")
		if err != nil {
			return nil, err
		}
		return &Register{TopicID: u16(b), MsgID: u16(b[2:]), TopicName: name}, nil
	case TypeRegack, TypePuback:
		if err := exact(t, b, 5); err != nil {
			return nil, err
		}
		if t == TypeRegack {
			return &Regack{TopicID: u16(b), MsgID: u16(b[2:]), ReturnCode: ReturnCode(b[4])}, nil
		}
		return &Puback{TopicID: u16(b), MsgID: u16(b[2:]), ReturnCode: ReturnCode(b[4])}, nil
	case TypePublish:
		if len(b) < 5 {
			return nil, bad(t, "too short")
		}
		if b[0]&flagTopicType == 0x03 {
			return nil, bad(t, "reserved topic id type")
		}
		p := &Publish{Dup: b[0]&flagDup != 0, QoS: qosOf(b[0]), Retain: b[0]&flagRetain != 0,
			TopicIDType: b[0] & flagTopicType, TopicID: u16(b[1:]), MsgID: u16(b[3:])}
		if len(b) > 5 {
			p.Data = b[5:]
		}
		return p, nil
	case TypePubrec, TypePubrel, TypePubcomp, TypeUnsuback:
		if err := exact(t, b, 2); err != nil {
			return nil, err
		}
		id := u16(b)
		switch t {
		case TypePubrec:
			return &Pubrec{MsgID: id}, nil
		case TypePubrel:
			return &Pubrel{MsgID: id}, nil
		case TypePubcomp:
			return &Pubcomp{MsgID: id}, nil
		}
		return &Unsuback{MsgID: id}, nil
	case TypeSubscribe, TypeUnsubscribe:
		if len(b) < 4 {
			return nil, bad(t, "too short")
		}
		tt := b[0] & flagTopicType
		var name string
		var id uint16
		switch tt {
		case TopicNormal:
			var err error
			if name, err = text(t, b[3:], "topic name"); err != nil {
				return nil, err
			}
		case TopicPredefined, TopicShort:
			if len(b) != 5 {
				return nil, bad(t, "topic id is not two octets")
			}
			id = u16(b[3:])
		default:
			return nil, bad(t, "reserved topic id type")
		}
		if t == TypeSubscribe {
			q := qosOf(b[0])
			if q == QoSMinus1 {
				return nil, bad(t, "QoS -1")
			}
			return &Subscribe{Dup: b[0]&flagDup != 0, QoS: q, TopicIDType: tt, MsgID: u16(b[1:]), TopicName: name, TopicID: id}, nil
		}
		return &Unsubscribe{TopicIDType: tt, MsgID: u16(b[1:]), TopicName: name, TopicID: id}, nil
	case TypeSuback:
		if err := exact(t, b, 6); err != nil {
			return nil, err
		}
		return &Suback{QoS: qosOf(b[0]), TopicID: u16(b[1:]), MsgID: u16(b[3:]), ReturnCode: ReturnCode(b[5])}, nil
	case TypePingreq:
		id, err := text(t, b, "client id")
		if err != nil {
			return nil, err
		}
		return &Pingreq{ClientID: id}, nil
	case TypeDisconnect:
		switch len(b) {
		case 0:
			return &Disconnect{}, nil
		case 2:
			return &Disconnect{HasDuration: true, Duration: u16(b)}, nil
		}
		return nil, bad(t, "wrong length")
	}
	return nil, bad(t, "unknown message type")
}

// Codec is the MQTT-SN framing for the edge (codec.Codec): frames are
// Message values. It keeps no state; the zero value is ready.
type Codec struct{}

// Decode implements codec.Codec.
func (Codec) Decode(buf []byte) (codec.Frame, int, error) {
	m, n, err := Decode(buf)
	if err != nil {
		return nil, 0, err
	}
	return m, n, nil
}

// Encode implements codec.Codec.
func (Codec) Encode(dst []byte, f codec.Frame) ([]byte, error) {
	m, ok := f.(Message)
	if !ok {
		return dst, ErrEncode
	}
	return Encode(dst, m)
}

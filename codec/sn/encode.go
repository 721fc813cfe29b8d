package sn

import "fmt"

func flagsOf(dup bool, qos byte, retain, will, clean bool, topicType byte) byte {
	f := (qos&3)<<flagQoSShift | topicType&flagTopicType
	if dup {
		f |= flagDup
	}
	if retain {
		f |= flagRetain
	}
	if will {
		f |= flagWill
	}
	if clean {
		f |= flagCleanSession
	}
	return f
}

func put16(b []byte, v uint16) []byte { return append(b, byte(v>>8), byte(v)) }

// Size is the encoded length of m (without a forwarder encapsulation's inner
// message for Encapsulated, whose Size is header plus inner size).
func Size(m Message) int {
	n := bodyLen(m) + 1 // + MsgType
	if n+1 <= 255 {
		n++
	} else {
		n += 3
	}
	if e, ok := m.(*Encapsulated); ok && e.Msg != nil {
		n += Size(e.Msg)
	}
	return n
}

func bodyLen(m Message) int {
	switch p := m.(type) {
	case *Advertise:
		return 3
	case *SearchGw, *Connack, *WillTopicResp, *WillMsgResp:
		return 1
	case *GwInfo:
		return 1 + len(p.GwAddr)
	case *Connect:
		return 4 + len(p.ClientID)
	case *WillTopicReq, *WillMsgReq, *Pingresp:
		return 0
	case *WillTopic:
		return willTopicLen(p.QoS, p.Retain, p.Topic)
	case *WillTopicUpd:
		return willTopicLen(p.QoS, p.Retain, p.Topic)
	case *WillMsg:
		return len(p.Msg)
	case *WillMsgUpd:
		return len(p.Msg)
	case *Register:
		return 4 + len(p.TopicName)
	case *Regack, *Puback:
		return 5
	case *Publish:
		return 5 + len(p.Data)
	case *Pubrec, *Pubrel, *Pubcomp, *Unsuback:
		return 2
	case *Subscribe:
		return 3 + topicLen(p.TopicIDType, p.TopicName)
	case *Unsubscribe:
		return 3 + topicLen(p.TopicIDType, p.TopicName)
	case *Suback:
		return 6
	case *Pingreq:
		return len(p.ClientID)
	case *Disconnect:
		if p.HasDuration {
			return 2
		}
		return 0
	case *Encapsulated:
		return 1 + len(p.NodeID)
	}
	return 0
}

func willTopicLen(qos byte, retain bool, topic string) int {
	if topic == "" && qos == 0 && !retain {
		return 0 // the empty form: delete the will
	}
	return 1 + len(topic)
}

func topicLen(tt byte, name string) int {
	if tt == TopicNormal {
		return len(name)
	}
	return 2
}

// Encode appends the wire form of m to dst. The one-octet length form is used
// whenever the message fits in 255 octets (MQTT-SN 1.2 §5.2.1).
func Encode(dst []byte, m Message) ([]byte, error) {
	if m == nil {
		return dst, fmt.Errorf("%w: nil message", ErrEncode)
	}
	n := bodyLen(m) + 1
	switch {
	case n+1 <= 255:
		dst = append(dst, byte(n+1))
	case n+3 <= MaxLength:
		dst = append(dst, 0x01)
		dst = put16(dst, uint16(n+3))
	default:
		return dst, fmt.Errorf("%w: %s of %d octets", ErrEncode, m.Type(), n+3)
	}
	dst = append(dst, byte(m.Type()))
	switch p := m.(type) {
	case *Advertise:
		dst = put16(append(dst, p.GwID), p.Duration)
	case *SearchGw:
		dst = append(dst, p.Radius)
	case *GwInfo:
		dst = append(append(dst, p.GwID), p.GwAddr...)
	case *Connect:
		dst = append(dst, flagsOf(false, 0, false, p.Will, p.CleanSession, 0), p.ProtocolID)
		dst = append(put16(dst, p.Duration), p.ClientID...)
	case *Connack:
		dst = append(dst, byte(p.ReturnCode))
	case *WillTopicResp:
		dst = append(dst, byte(p.ReturnCode))
	case *WillMsgResp:
		dst = append(dst, byte(p.ReturnCode))
	case *WillTopicReq, *WillMsgReq, *Pingresp:
	case *WillTopic:
		dst = appendWillTopic(dst, p.QoS, p.Retain, p.Topic)
	case *WillTopicUpd:
		dst = appendWillTopic(dst, p.QoS, p.Retain, p.Topic)
	case *WillMsg:
		dst = append(dst, p.Msg...)
	case *WillMsgUpd:
		dst = append(dst, p.Msg...)
	case *Register:
		dst = append(put16(put16(dst, p.TopicID), p.MsgID), p.TopicName...)
	case *Regack:
		dst = append(put16(put16(dst, p.TopicID), p.MsgID), byte(p.ReturnCode))
	case *Puback:
		dst = append(put16(put16(dst, p.TopicID), p.MsgID), byte(p.ReturnCode))
	case *Publish:
		dst = append(dst, flagsOf(p.Dup, p.QoS, p.Retain, false, false, p.TopicIDType))
		dst = append(put16(put16(dst, p.TopicID), p.MsgID), p.Data...)
	case *Pubrec:
		dst = put16(dst, p.MsgID)
	case *Pubrel:
		dst = put16(dst, p.MsgID)
	case *Pubcomp:
		dst = put16(dst, p.MsgID)
	case *Unsuback:
		dst = put16(dst, p.MsgID)
	case *Subscribe:
		dst = put16(append(dst, flagsOf(p.Dup, p.QoS, false, false, false, p.TopicIDType)), p.MsgID)
		dst = appendTopic(dst, p.TopicIDType, p.TopicName, p.TopicID)
	case *Unsubscribe:
		dst = put16(append(dst, flagsOf(false, 0, false, false, false, p.TopicIDType)), p.MsgID)
		dst = appendTopic(dst, p.TopicIDType, p.TopicName, p.TopicID)
	case *Suback:
		dst = append(dst, flagsOf(false, p.QoS, false, false, false, 0))
		dst = append(put16(put16(dst, p.TopicID), p.MsgID), byte(p.ReturnCode))
	case *Pingreq:
		dst = append(dst, p.ClientID...)
	case *Disconnect:
		if p.HasDuration {
			dst = put16(dst, p.Duration)
		}
	case *Encapsulated:
		if p.Msg == nil || p.Msg.Type() == TypeEncapsulated {
			return dst, fmt.Errorf("%w: encapsulation of %v", ErrEncode, p.Msg)
		}
		dst = append(append(dst, p.Radius&0x03), p.NodeID...)
		return Encode(dst, p.Msg)
	default:
		return dst, fmt.Errorf("%w: unknown message %T", ErrEncode, m)
	}
	return dst, nil
}

func appendWillTopic(dst []byte, qos byte, retain bool, topic string) []byte {
	if topic == "" && qos == 0 && !retain {
		return dst
	}
	return append(append(dst, flagsOf(false, qos, retain, false, false, 0)), topic...)
}

func appendTopic(dst []byte, tt byte, name string, id uint16) []byte {
	if tt == TopicNormal {
		return append(dst, name...)
	}
	return put16(dst, id)
}

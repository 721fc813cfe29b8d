package sn

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/manifold-iot/manifold/codec"
)

// messageCases is one table for both directions: each message encodes to raw
// and raw decodes to the message (MQTT-SN 1.2 §5.4).
var messageCases = []struct {
	name string
	msg  Message
	raw  []byte
}{
	{"ADVERTISE", &Advertise{GwID: 1, Duration: 900}, []byte{5, 0x00, 1, 0x03, 0x84}},
	{"SEARCHGW", &SearchGw{Radius: 1}, []byte{3, 0x01, 1}},
	{"GWINFO from gateway", &GwInfo{GwID: 7}, []byte{3, 0x02, 7}},
	{"GWINFO from client", &GwInfo{GwID: 7, GwAddr: []byte{127, 0, 0, 1}}, []byte{7, 0x02, 7, 127, 0, 0, 1}},
	{"CONNECT clean with will", &Connect{Will: true, CleanSession: true, ProtocolID: 1, Duration: 30, ClientID: "c1"},
		[]byte{8, 0x04, 0x0C, 0x01, 0, 30, 'c', '1'}},
	{"CONNECT persistent", &Connect{ProtocolID: 1, Duration: 60, ClientID: "x"}, []byte{7, 0x04, 0x00, 0x01, 0, 60, 'x'}},
	{"CONNACK accepted", &Connack{ReturnCode: Accepted}, []byte{3, 0x05, 0}},
	{"CONNACK congestion", &Connack{ReturnCode: RejectedCongestion}, []byte{3, 0x05, 1}},
	{"WILLTOPICREQ", &WillTopicReq{}, []byte{2, 0x06}},
	{"WILLTOPIC qos1 retain", &WillTopic{QoS: 1, Retain: true, Topic: "w/t"}, []byte{6, 0x07, 0x30, 'w', '/', 't'}},
	{"WILLTOPIC empty", &WillTopic{}, []byte{2, 0x07}},
	{"WILLMSGREQ", &WillMsgReq{}, []byte{2, 0x08}},
	{"WILLMSG", &WillMsg{Msg: []byte("bye")}, []byte{5, 0x09, 'b', 'y', 'e'}},
	{"REGISTER from client", &Register{MsgID: 3, TopicName: "a/b"}, []byte{9, 0x0A, 0, 0, 0, 3, 'a', '/', 'b'}},
	{"REGISTER from gateway", &Register{TopicID: 1025, MsgID: 1, TopicName: "a"}, []byte{7, 0x0A, 0x04, 0x01, 0, 1, 'a'}},
	{"REGACK", &Regack{TopicID: 1025, MsgID: 3, ReturnCode: Accepted}, []byte{7, 0x0B, 0x04, 0x01, 0, 3, 0}},
	{"REGACK invalid topic", &Regack{MsgID: 3, ReturnCode: RejectedInvalidTopic}, []byte{7, 0x0B, 0, 0, 0, 3, 2}},
	{"PUBLISH qos0 normal", &Publish{TopicID: 1025, Data: []byte("hi")}, []byte{9, 0x0C, 0x00, 0x04, 0x01, 0, 0, 'h', 'i'}},
	{"PUBLISH qos1 dup retain predefined", &Publish{Dup: true, QoS: 1, Retain: true, TopicIDType: TopicPredefined, TopicID: 5, MsgID: 9, Data: []byte{0}},
		[]byte{8, 0x0C, 0xB1, 0, 5, 0, 9, 0}},
	{"PUBLISH qos2 short", &Publish{QoS: 2, TopicIDType: TopicShort, TopicID: 0x6162, MsgID: 1}, []byte{7, 0x0C, 0x42, 'a', 'b', 0, 1}},
	{"PUBLISH qos -1", &Publish{QoS: QoSMinus1, TopicIDType: TopicPredefined, TopicID: 1, Data: []byte("x")}, []byte{8, 0x0C, 0x61, 0, 1, 0, 0, 'x'}},
	{"PUBACK", &Puback{TopicID: 1025, MsgID: 9, ReturnCode: RejectedInvalidTopic}, []byte{7, 0x0D, 0x04, 0x01, 0, 9, 2}},
	{"PUBCOMP", &Pubcomp{MsgID: 258}, []byte{4, 0x0E, 1, 2}},
	{"PUBREC", &Pubrec{MsgID: 1}, []byte{4, 0x0F, 0, 1}},
	{"PUBREL", &Pubrel{MsgID: 1}, []byte{4, 0x10, 0, 1}},
	{"SUBSCRIBE by name", &Subscribe{QoS: 1, MsgID: 2, TopicName: "s/#"}, []byte{8, 0x12, 0x20, 0, 2, 's', '/', '#'}},
	{"SUBSCRIBE predefined", &Subscribe{QoS: 2, TopicIDType: TopicPredefined, MsgID: 2, TopicID: 7}, []byte{7, 0x12, 0x41, 0, 2, 0, 7}},
	{"SUBSCRIBE short dup", &Subscribe{Dup: true, TopicIDType: TopicShort, MsgID: 2, TopicID: 0x7879}, []byte{7, 0x12, 0x82, 0, 2, 'x', 'y'}},
	{"SUBACK", &Suback{QoS: 1, TopicID: 1025, MsgID: 2, ReturnCode: Accepted}, []byte{8, 0x13, 0x20, 0x04, 0x01, 0, 2, 0}},
	{"UNSUBSCRIBE by name", &Unsubscribe{MsgID: 4, TopicName: "s/+"}, []byte{8, 0x14, 0, 0, 4, 's', '/', '+'}},
	{"UNSUBSCRIBE predefined", &Unsubscribe{TopicIDType: TopicPredefined, MsgID: 4, TopicID: 1}, []byte{7, 0x14, 0x01, 0, 4, 0, 1}},
	{"UNSUBACK", &Unsuback{MsgID: 4}, []byte{4, 0x15, 0, 4}},
	{"PINGREQ", &Pingreq{}, []byte{2, 0x16}},
	{"PINGREQ wake", &Pingreq{ClientID: "c1"}, []byte{4, 0x16, 'c', '1'}},
	{"PINGRESP", &Pingresp{}, []byte{2, 0x17}},
	{"DISCONNECT", &Disconnect{}, []byte{2, 0x18}},
	{"DISCONNECT sleep", &Disconnect{HasDuration: true, Duration: 600}, []byte{4, 0x18, 0x02, 0x58}},
	{"WILLTOPICUPD", &WillTopicUpd{QoS: 2, Topic: "n"}, []byte{4, 0x1A, 0x40, 'n'}},
	{"WILLTOPICUPD delete", &WillTopicUpd{}, []byte{2, 0x1A}},
	{"WILLTOPICRESP", &WillTopicResp{ReturnCode: Accepted}, []byte{3, 0x1B, 0}},
	{"WILLMSGUPD", &WillMsgUpd{Msg: []byte("m")}, []byte{3, 0x1C, 'm'}},
	{"WILLMSGRESP", &WillMsgResp{ReturnCode: RejectedNotSupported}, []byte{3, 0x1D, 3}},
	{"forwarder encapsulation", &Encapsulated{Radius: 1, NodeID: []byte{0xAA, 0xBB}, Msg: &Pingreq{}},
		[]byte{5, 0xFE, 1, 0xAA, 0xBB, 2, 0x16}},
	{"three-octet length", &Publish{TopicID: 1, Data: bytes.Repeat([]byte{'z'}, 300)},
		append([]byte{0x01, 0x01, 0x35, 0x0C, 0, 0, 1, 0, 0}, bytes.Repeat([]byte{'z'}, 300)...)},
}

func TestEncodeDecode(t *testing.T) {
	for _, tc := range messageCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode(nil, tc.msg)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(got, tc.raw) {
				t.Fatalf("Encode = % x, want % x", got, tc.raw)
			}
			if n := Size(tc.msg); n != len(tc.raw) {
				t.Fatalf("Size = %d, want %d", n, len(tc.raw))
			}
			m, n, err := Decode(tc.raw)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if n != len(tc.raw) {
				t.Fatalf("Decode used %d of %d bytes", n, len(tc.raw))
			}
			if !reflect.DeepEqual(m, tc.msg) {
				t.Fatalf("Decode = %#v, want %#v", m, tc.msg)
			}
			if m.Type().String() == "" || strings.HasPrefix(m.Type().String(), "0x") {
				t.Fatalf("type %v has no name", m.Type())
			}
		})
	}
}

// A sender may use the three-octet form for a short message; it must decode.
func TestDecodeLongFormShortMessage(t *testing.T) {
	m, n, err := Decode([]byte{0x01, 0, 5, 0x16, 'c'})
	if err != nil || n != 5 || m.(*Pingreq).ClientID != "c" {
		t.Fatalf("got %#v %d %v", m, n, err)
	}
}

var malformedCases = []struct {
	name string
	raw  []byte
	want error // ErrMalformed or codec.ErrIncomplete
}{
	{"empty", nil, codec.ErrIncomplete},
	{"length 0", []byte{0, 0x16}, ErrMalformed},
	{"length 1", []byte{1}, codec.ErrIncomplete}, // the three-octet marker, cut short
	{"three-octet length below 4", []byte{1, 0, 3, 0x16}, ErrMalformed},
	{"truncated datagram", []byte{5, 0x0C, 0}, codec.ErrIncomplete},
	{"unknown type", []byte{2, 0x03}, ErrMalformed},
	{"reserved type 0x11", []byte{2, 0x11}, ErrMalformed},
	{"CONNECT too short", []byte{4, 0x04, 0, 1}, ErrMalformed},
	{"CONNECT client id not UTF-8", []byte{7, 0x04, 0, 1, 0, 10, 0xFF}, ErrMalformed},
	{"CONNACK too long", []byte{4, 0x05, 0, 0}, ErrMalformed},
	{"PUBLISH reserved topic type", []byte{7, 0x0C, 0x03, 0, 1, 0, 0}, ErrMalformed},
	{"PUBLISH too short", []byte{6, 0x0C, 0, 0, 1, 0}, ErrMalformed},
	{"PUBACK short", []byte{6, 0x0D, 0, 1, 0, 1}, ErrMalformed},
	{"SUBSCRIBE no topic", []byte{5, 0x12, 0, 0, 1}, ErrMalformed},
	{"SUBSCRIBE predefined 3 octets", []byte{8, 0x12, 0x01, 0, 1, 0, 1, 2}, ErrMalformed},
	{"SUBSCRIBE QoS -1", []byte{6, 0x12, 0x60, 0, 1, 'a'}, ErrMalformed},
	{"SUBSCRIBE name not UTF-8", []byte{6, 0x12, 0, 0, 1, 0xC0}, ErrMalformed},
	{"REGISTER empty name", []byte{6, 0x0A, 0, 0, 0, 1}, ErrMalformed},
	{"DISCONNECT one octet", []byte{3, 0x18, 1}, ErrMalformed},
	{"WILLTOPIC QoS -1", []byte{4, 0x07, 0x60, 'a'}, ErrMalformed},
	{"ADVERTISE short", []byte{4, 0x00, 1, 0}, ErrMalformed},
	{"encapsulation without ctrl", []byte{2, 0xFE, 2, 0x16}, ErrMalformed},
	{"encapsulation nested", []byte{3, 0xFE, 0, 3, 0xFE, 0, 2, 0x16}, ErrMalformed},
	{"encapsulation inner truncated", []byte{3, 0xFE, 0, 5, 0x16}, codec.ErrIncomplete},
}

func TestDecodeMalformed(t *testing.T) {
	for _, tc := range malformedCases {
		t.Run(tc.name, func(t *testing.T) {
			m, n, err := Decode(tc.raw)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %#v, %d, %v; want %v", m, n, err, tc.want)
			}
			if m != nil || n != 0 {
				t.Fatalf("a failed Decode returned %#v, %d", m, n)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    Message
	}{
		{"too long", &Publish{Data: make([]byte, 70000)}},
		{"nil", nil},
		{"nested encapsulation", &Encapsulated{Msg: &Encapsulated{Msg: &Pingreq{}}}},
		{"empty encapsulation", &Encapsulated{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Encode(nil, tc.m); !errors.Is(err, ErrEncode) {
				t.Fatalf("Encode err = %v, want ErrEncode", err)
			}
		})
	}
	if _, err := (Codec{}).Encode(nil, "not a message"); !errors.Is(err, ErrEncode) {
		t.Fatalf("Codec.Encode of a string: %v", err)
	}
}

func TestShortTopic(t *testing.T) {
	id, ok := ShortTopicID("ab")
	if !ok || id != 0x6162 || ShortTopic(id) != "ab" {
		t.Fatalf("ShortTopicID(ab) = %x %v", id, ok)
	}
	if _, ok := ShortTopicID("abc"); ok {
		t.Fatal("three characters accepted as a short topic")
	}
}

package mqtt

import (
	"errors"
	"testing"
)

// malformedCase is one broken packet and the reason code Decode must report.
type malformedCase struct {
	name    string
	version byte
	raw     []byte
	code    ReasonCode
}

var malformedCases = []malformedCase{
	// Fixed header.
	{"remaining length over 4 bytes [MQTT-1.5.5-1]", V311, cat("\x30\xff\xff\xff\xff\x01"), MalformedPacket},
	{"remaining length not minimal [MQTT-1.5.5-1]", V311, cat("\xc0\x80\x00"), MalformedPacket},
	{"reserved packet type 0", V311, cat("\x00\x00"), MalformedPacket},
	{"AUTH before MQTT 5.0", V311, cat("\xf0\x00"), MalformedPacket},
	{"PUBREL flags 0b0000 [MQTT-2.1.3-1]", V311, cat("\x60\x02\x00\x01"), MalformedPacket},
	{"SUBSCRIBE flags 0b0000 [MQTT-2.1.3-1]", V311, cat("\x80\x06\x00\x01\x00\x01a\x00"), MalformedPacket},
	{"UNSUBSCRIBE flags 0b0011 [MQTT-2.1.3-1]", V5, cat("\xa3\x06\x00\x01\x00\x00\x01a"), MalformedPacket},
	{"PINGREQ flags set [MQTT-2.1.3-1]", V311, cat("\xc1\x00"), MalformedPacket},
	{"CONNECT flags set [MQTT-2.1.3-1]", 0, cat("\x18\x00"), MalformedPacket},
	{"packet before CONNECT [MQTT-3.1.0-1]", 0, cat("\xc0\x00"), ProtocolError},
	{"unknown negotiated version", 7, cat("\xc0\x00"), UnsupportedProtocolVersion},

	// PUBLISH.
	{"PUBLISH QoS 3 [MQTT-3.3.1-4]", V311, cat("\x36\x05\x00\x01a\x00\x01"), MalformedPacket},
	{"PUBLISH DUP on QoS 0 [MQTT-3.3.1-2]", V311, cat("\x38\x03\x00\x01a"), ProtocolError},
	{"PUBLISH topic ill-formed UTF-8 [MQTT-1.5.4-1]", V311, cat("\x30\x04\x00\x02\xc3\x28"), MalformedPacket},
	{"PUBLISH topic surrogate [MQTT-1.5.4-1]", V311, cat("\x30\x05\x00\x03\xed\xa0\x80"), MalformedPacket},
	{"PUBLISH topic U+0000 [MQTT-1.5.4-2]", V311, cat("\x30\x04\x00\x02a\x00"), MalformedPacket},
	{"PUBLISH topic U+0000 after non-ASCII [MQTT-1.5.4-2]", V311, cat("\x30\x05\x00\x03\xc3\xa9\x00"), MalformedPacket},
	{"PUBLISH topic with + [MQTT-3.3.2-2]", V311, cat("\x30\x05\x00\x03a/+"), TopicNameInvalid},
	{"PUBLISH topic with # [MQTT-3.3.2-2]", V5, cat("\x30\x04\x00\x01#\x00"), TopicNameInvalid},
	{"PUBLISH empty topic 3.1.1 [MQTT-4.7.3-1]", V311, cat("\x30\x02\x00\x00"), TopicNameInvalid},
	{"PUBLISH empty topic without alias [MQTT-3.3.2-1]", V5, cat("\x30\x03\x00\x00\x00"), ProtocolError},
	{"PUBLISH packet id 0 [MQTT-2.2.1-3]", V311, cat("\x32\x05\x00\x01a\x00\x00"), ProtocolError},
	{"PUBLISH string longer than packet", V311, cat("\x30\x03\x00\x05a"), MalformedPacket},
	{"PUBLISH topic alias 0 [MQTT-3.3.2-8]", V5, cat("\x30\x07\x00\x01a\x03\x23\x00\x00"), ProtocolError},
	{"PUBLISH topic alias repeated (MQTT 5.0 §2.2.2.2)", V5, cat("\x30\x0a\x00\x01a\x06\x23\x00\x01\x23\x00\x02"), ProtocolError},
	{"PUBLISH content type repeated (MQTT 5.0 §2.2.2.2)", V5, cat("\x30\x0c\x00\x01a\x08\x03\x00\x01x\x03\x00\x01y"), ProtocolError},
	{"PUBLISH session expiry not allowed (MQTT 5.0 §2.2.2.2)", V5, cat("\x30\x09\x00\x01a\x05\x11\x00\x00\x00\x01"), MalformedPacket},
	{"PUBLISH unknown property 0x04", V5, cat("\x30\x06\x00\x01a\x02\x04\x00"), MalformedPacket},
	{"PUBLISH property length exceeds packet", V5, cat("\x30\x04\x00\x01a\x05"), MalformedPacket},
	{"PUBLISH property crosses property length", V5, cat("\x30\x07\x00\x01a\x02\x23\x00\x01"), MalformedPacket},
	{"PUBLISH property length not minimal", V5, cat("\x30\x05\x00\x01a\x80\x00"), MalformedPacket},
	{"PUBLISH subscription identifier 0", V5, cat("\x30\x06\x00\x01a\x02\x0b\x00"), ProtocolError},
	{"PUBLISH subscription identifier not minimal", V5, cat("\x30\x07\x00\x01a\x03\x0b\x81\x00"), MalformedPacket},
	{"PUBLISH payload format indicator 2", V5, cat("\x30\x06\x00\x01a\x02\x01\x02"), ProtocolError},
	{"PUBLISH response topic with wildcard [MQTT-3.3.2-14]", V5, cat("\x30\x09\x00\x01a\x05\x08\x00\x02a#"), ProtocolError},
	{"PUBLISH user property key U+0000", V5, cat("\x30\x0a\x00\x01a\x06\x26\x00\x01\x00\x00\x00"), MalformedPacket},

	// Acknowledgements.
	{"PUBACK packet id 0 [MQTT-2.2.1-3]", V311, cat("\x40\x02\x00\x00"), ProtocolError},
	{"PUBACK 3.1.1 trailing byte", V311, cat("\x40\x03\x00\x01\x00"), MalformedPacket},
	{"PUBACK too short", V5, cat("\x40\x01\x00"), MalformedPacket},
	{"PUBACK reason not allowed [MQTT-3.4.2-1]", V5, cat("\x40\x03\x00\x01\x8f"), ProtocolError},
	{"PUBREL reason not allowed [MQTT-3.6.2-1]", V5, cat("\x62\x03\x00\x01\x10"), ProtocolError},
	{"PUBCOMP trailing after properties", V5, cat("\x70\x05\x00\x01\x00\x00\x00"), MalformedPacket},
	{"PUBREC content type not allowed", V5, cat("\x50\x08\x00\x01\x00\x04\x03\x00\x01x"), MalformedPacket},
	{"CONNACK reserved flags [MQTT-3.2.2-1]", V311, cat("\x20\x02\x02\x00"), MalformedPacket},
	{"CONNACK 3.1.1 reserved return code", V311, cat("\x20\x02\x00\x06"), MalformedPacket},
	{"CONNACK session present on failure [MQTT-3.2.2-6]", V5, cat("\x20\x03\x01\x87\x00"), ProtocolError},
	{"CONNACK v5 reason not allowed", V5, cat("\x20\x03\x00\x10\x00"), ProtocolError},
	{"CONNACK v5 missing property length", V5, cat("\x20\x02\x00\x00"), MalformedPacket},
	{"CONNACK receive maximum 0", V5, cat("\x20\x06\x00\x00\x03\x21\x00\x00"), ProtocolError},
	{"CONNACK maximum packet size 0", V5, cat("\x20\x08\x00\x00\x05\x27\x00\x00\x00\x00"), ProtocolError},
	{"CONNACK maximum QoS 2", V5, cat("\x20\x05\x00\x00\x02\x24\x02"), ProtocolError},
	{"CONNACK retain available repeated", V5, cat("\x20\x07\x00\x00\x04\x25\x01\x25\x01"), ProtocolError},
	{"SUBACK 3.1.1 reserved code [MQTT-3.9.3-2]", V311, cat("\x90\x03\x00\x01\x03"), MalformedPacket},
	{"SUBACK v5 reason not allowed", V5, cat("\x90\x04\x00\x01\x00\x04"), ProtocolError},
	{"SUBACK without codes", V5, cat("\x90\x03\x00\x01\x00"), ProtocolError},
	{"UNSUBACK 3.1.1 with payload", V311, cat("\xb0\x03\x00\x01\x00"), MalformedPacket},
	{"UNSUBACK v5 reason not allowed", V5, cat("\xb0\x04\x00\x01\x00\x01"), ProtocolError},
	{"DISCONNECT 3.1.1 with body", V311, cat("\xe0\x01\x00"), MalformedPacket},
	{"DISCONNECT v5 reason not allowed", V5, cat("\xe0\x01\x01"), ProtocolError},
	{"DISCONNECT v5 topic alias not allowed", V5, cat("\xe0\x05\x00\x03\x23\x00\x01"), MalformedPacket},
	{"AUTH v5 reason not allowed", V5, cat("\xf0\x02\x80\x00"), ProtocolError},
	{"PINGREQ with body", V311, cat("\xc0\x01\x00"), MalformedPacket},
	{"PINGRESP with body", V5, cat("\xd0\x01\x00"), MalformedPacket},

	// SUBSCRIBE and UNSUBSCRIBE.
	{"SUBSCRIBE packet id 0 [MQTT-2.2.1-3]", V311, cat("\x82\x06\x00\x00\x00\x01a\x00"), ProtocolError},
	{"SUBSCRIBE no filters [MQTT-3.8.3-3]", V311, cat("\x82\x02\x00\x01"), ProtocolError},
	{"SUBSCRIBE v5 no filters [MQTT-3.8.3-3]", V5, cat("\x82\x03\x00\x01\x00"), ProtocolError},
	{"SUBSCRIBE missing options byte", V311, cat("\x82\x05\x00\x01\x00\x01a"), MalformedPacket},
	{"SUBSCRIBE 3.1.1 reserved option bits [MQTT-3-8.3-4]", V311, cat("\x82\x06\x00\x01\x00\x01a\x04"), MalformedPacket},
	{"SUBSCRIBE 3.1.1 QoS 3 [MQTT-3-8.3-4]", V311, cat("\x82\x06\x00\x01\x00\x01a\x03"), MalformedPacket},
	{"SUBSCRIBE v5 reserved option bits [MQTT-3.8.3-5]", V5, cat("\x82\x07\x00\x01\x00\x00\x01a\x40"), MalformedPacket},
	{"SUBSCRIBE v5 QoS 3", V5, cat("\x82\x07\x00\x01\x00\x00\x01a\x03"), ProtocolError},
	{"SUBSCRIBE v5 retain handling 3", V5, cat("\x82\x07\x00\x01\x00\x00\x01a\x30"), ProtocolError},
	{"SUBSCRIBE no local on shared [MQTT-3.8.3-4]", V5, cat("\x82\x10\x00\x01\x00\x00\x0a$share/g/a\x04"), ProtocolError},
	{"SUBSCRIBE # not last [MQTT-4.7.1-2]", V311, cat("\x82\x0a\x00\x01\x00\x05a/#/b\x00"), TopicFilterInvalid},
	{"SUBSCRIBE # not a whole level [MQTT-4.7.1-2]", V311, cat("\x82\x07\x00\x01\x00\x02a#\x00"), TopicFilterInvalid},
	{"SUBSCRIBE + not a whole level [MQTT-4.7.1-3]", V311, cat("\x82\x07\x00\x01\x00\x02a+\x00"), TopicFilterInvalid},
	{"SUBSCRIBE empty filter [MQTT-4.7.3-1]", V311, cat("\x82\x05\x00\x01\x00\x00\x00"), TopicFilterInvalid},
	{"SUBSCRIBE filter ill-formed UTF-8", V311, cat("\x82\x06\x00\x01\x00\x01\xff\x00"), MalformedPacket},
	{"SUBSCRIBE empty share name [MQTT-4.8.2-1]", V5, cat("\x82\x0f\x00\x01\x00\x00\x09$share//a\x00"), TopicFilterInvalid},
	{"SUBSCRIBE share without filter [MQTT-4.8.2-2]", V5, cat("\x82\x0e\x00\x01\x00\x00\x08$share/g\x00"), TopicFilterInvalid},
	{"SUBSCRIBE subscription identifier repeated", V5, cat("\x82\x0a\x00\x01\x04\x0b\x01\x0b\x02\x00\x01a\x00"), ProtocolError},
	{"SUBSCRIBE reason string not allowed", V5, cat("\x82\x0b\x00\x01\x04\x1f\x00\x01r\x00\x01a\x00"), MalformedPacket},
	{"UNSUBSCRIBE no filters [MQTT-3.10.3-2]", V5, cat("\xa2\x03\x00\x01\x00"), ProtocolError},
	{"UNSUBSCRIBE packet id 0", V311, cat("\xa2\x05\x00\x00\x00\x01a"), ProtocolError},
	{"UNSUBSCRIBE invalid filter", V311, cat("\xa2\x06\x00\x01\x00\x02++"), TopicFilterInvalid},
	{"UNSUBSCRIBE subscription identifier not allowed", V5, cat("\xa2\x08\x00\x01\x02\x0b\x01\x00\x01a"), MalformedPacket},

	// CONNECT.
	{"CONNECT reserved flag [MQTT-3.1.2-3]", 0, cat("\x10\x0d\x00\x04MQTT\x04\x03\x00\x3c\x00\x01c"), MalformedPacket},
	{"CONNECT will QoS without will flag [MQTT-3.1.2-11]", 0, cat("\x10\x0d\x00\x04MQTT\x04\x0a\x00\x3c\x00\x01c"), MalformedPacket},
	{"CONNECT will retain without will flag [MQTT-3.1.2-13]", 0, cat("\x10\x0d\x00\x04MQTT\x04\x22\x00\x3c\x00\x01c"), MalformedPacket},
	{"CONNECT will QoS 3 [MQTT-3.1.2-14]", 0, cat("\x10\x0d\x00\x04MQTT\x04\x1e\x00\x3c\x00\x01c"), MalformedPacket},
	{"CONNECT password without user name [MQTT-3.1.2-22]", 0, cat("\x10\x10\x00\x04MQTT\x04\x42\x00\x3c\x00\x01c\x00\x01p"), MalformedPacket},
	{"CONNECT unknown level [MQTT-3.1.2-2]", 0, cat("\x10\x0d\x00\x04MQTT\x06\x02\x00\x3c\x00\x01c"), UnsupportedProtocolVersion},
	{"CONNECT unknown name [MQTT-3.1.2-1]", 0, cat("\x10\x0d\x00\x04MQTX\x04\x02\x00\x3c\x00\x01c"), UnsupportedProtocolVersion},
	{"CONNECT MQIsdp at level 4", 0, cat("\x10\x0f\x00\x06MQIsdp\x04\x02\x00\x3c\x00\x01c"), UnsupportedProtocolVersion},
	{"CONNECT MQTT at level 3", 0, cat("\x10\x0d\x00\x04MQTT\x03\x02\x00\x3c\x00\x01c"), UnsupportedProtocolVersion},
	{"CONNECT empty client id without clean session [MQTT-3.1.3-8]", 0, cat("\x10\x0c\x00\x04MQTT\x04\x00\x00\x3c\x00\x00"), ClientIdentifierNotValid},
	{"CONNECT 3.1 empty client id", 0, cat("\x10\x0e\x00\x06MQIsdp\x03\x02\x00\x3c\x00\x00"), ClientIdentifierNotValid},
	{"CONNECT client id surrogate [MQTT-1.5.4-1]", 0, cat("\x10\x0f\x00\x04MQTT\x04\x02\x00\x3c\x00\x03\xed\xbf\xbf"), MalformedPacket},
	{"CONNECT will topic with wildcard", 0, cat("\x10\x13\x00\x04MQTT\x04\x06\x00\x3c\x00\x01c\x00\x01#\x00\x01x"), TopicNameInvalid},
	{"CONNECT will topic empty", 0, cat("\x10\x12\x00\x04MQTT\x04\x06\x00\x3c\x00\x01c\x00\x00\x00\x01x"), TopicNameInvalid},
	{"CONNECT trailing byte", 0, cat("\x10\x0e\x00\x04MQTT\x04\x02\x00\x3c\x00\x01c\x00"), MalformedPacket},
	{"CONNECT truncated user name", 0, cat("\x10\x0f\x00\x04MQTT\x04\x82\x00\x3c\x00\x01c\x00\x05"), MalformedPacket},
	{"CONNECT session expiry repeated (MQTT 5.0 §2.2.2.2)", 0, cat("\x10\x18\x00\x04MQTT\x05\x02\x00\x3c\x0a\x11\x00\x00\x00\x01\x11\x00\x00\x00\x02\x00\x01c"), ProtocolError},
	{"CONNECT topic alias not allowed (MQTT 5.0 §2.2.2.2)", 0, cat("\x10\x11\x00\x04MQTT\x05\x02\x00\x3c\x03\x23\x00\x01\x00\x01c"), MalformedPacket},
	{"CONNECT will property session expiry not allowed", 0, cat("\x10\x19\x00\x04MQTT\x05\x06\x00\x3c\x00\x00\x01c\x05\x11\x00\x00\x00\x01\x00\x01t\x00\x00"), MalformedPacket},
	{"CONNECT request problem information 2", 0, cat("\x10\x10\x00\x04MQTT\x05\x02\x00\x3c\x02\x17\x02\x00\x01c"), ProtocolError},
	{"CONNECT receive maximum 0", 0, cat("\x10\x11\x00\x04MQTT\x05\x02\x00\x3c\x03\x21\x00\x00\x00\x01c"), ProtocolError},
}

func TestDecodeMalformed(t *testing.T) {
	for _, tc := range malformedCases {
		t.Run(tc.name, func(t *testing.T) {
			p, n, err := Decode(tc.raw, tc.version, 0)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode = %#v, %d, %v; want *Error", p, n, err)
			}
			if e.Code != tc.code {
				t.Errorf("code = %#02x %v (%s), want %#02x %v", byte(e.Code), e.Code, e.Reason, byte(tc.code), tc.code)
			}
			if p != nil || n != 0 {
				t.Errorf("Decode returned %v, %d alongside the error", p, n)
			}
			if !errors.Is(err, tc.code) {
				t.Errorf("errors.Is(err, %v) = false", tc.code)
			}
			d := NewDecoder(tc.version, 0)
			if _, _, err2 := d.DecodePacket(tc.raw); err2 != err {
				t.Errorf("Decoder error = %v, Decode error = %v", err2, err)
			}
		})
	}
}

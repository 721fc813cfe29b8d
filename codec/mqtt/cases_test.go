package mqtt

import "strings"

// packetCase is one row of the shared packet table: the wire bytes, written by
// hand from the specification, and the packet they decode to. The same rows
// drive TestDecode, TestEncode, TestDecoder, TestIncomplete and the FuzzDecode
// seed corpus.
type packetCase struct {
	name    string
	version byte
	raw     []byte
	packet  Packet
	// decodeOnly marks a valid but non-canonical wire form (an optional field
	// spelled out): it decodes to packet, and Encode writes the shorter form.
	decodeOnly bool
}

// cat joins hand-written wire fragments, one field per line in the table.
func cat(parts ...string) []byte { return []byte(strings.Join(parts, "")) }

var (
	payload200   = strings.Repeat("z", 200)
	payload16379 = strings.Repeat("y", 16379)
)

var packetCases = []packetCase{
	// ---------------------------------------------------------------- MQTT 3.1
	{
		name: "CONNECT v3.1 minimal", version: V31,
		raw: cat(
			"\x10\x10",       // CONNECT, remaining length 16
			"\x00\x06MQIsdp", // protocol name
			"\x03",           // protocol level 3
			"\x02",           // flags: clean session
			"\x00\x3c",       // keep alive 60
			"\x00\x02c1",     // client id
		),
		packet: &Connect{ProtocolName: "MQIsdp", ProtocolLevel: V31, CleanStart: true, KeepAlive: 60, ClientID: "c1"},
	},
	{
		name: "CONNECT v3.1 will user password", version: V31,
		raw: cat(
			"\x10\x28",
			"\x00\x06MQIsdp\x03",
			"\xee",          // user, password, will retain, will QoS 1, will, clean session
			"\x00\x0a",      // keep alive 10
			"\x00\x05dev-1", // client id
			"\x00\x08dev/gone",
			"\x00\x03bye",
			"\x00\x01u",
			"\x00\x01p",
		),
		packet: &Connect{
			ProtocolName: "MQIsdp", ProtocolLevel: V31, CleanStart: true, KeepAlive: 10, ClientID: "dev-1",
			WillFlag: true, WillQoS: 1, WillRetain: true, WillTopic: "dev/gone", WillPayload: []byte("bye"),
			UsernameFlag: true, Username: "u", PasswordFlag: true, Password: []byte("p"),
		},
	},
	{name: "CONNACK v3.1 accepted", version: V31, raw: cat("\x20\x02", "\x00\x00"), packet: &Connack{}},
	{
		name: "CONNACK v3.1 identifier rejected", version: V31, raw: cat("\x20\x02", "\x00\x02"),
		packet: &Connack{ReasonCode: ConnRefusedIdentifierRejected},
	},
	{
		name: "PUBLISH v3.1 QoS 0", version: V31,
		raw:    cat("\x30\x07", "\x00\x03a/b", "hi"),
		packet: &Publish{Topic: "a/b", Payload: []byte("hi")},
	},
	{
		name: "PUBLISH v3.1 QoS 2 dup retain", version: V31,
		raw:    cat("\x3d\x06", "\x00\x01t", "\x00\x07", "x"),
		packet: &Publish{Dup: true, QoS: 2, Retain: true, Topic: "t", PacketID: 7, Payload: []byte("x")},
	},
	{name: "PUBACK v3.1", version: V31, raw: cat("\x40\x02", "\x00\x07"), packet: &Puback{PacketID: 7}},
	{name: "PUBREC v3.1", version: V31, raw: cat("\x50\x02", "\x00\x07"), packet: &Pubrec{PacketID: 7}},
	{name: "PUBREL v3.1", version: V31, raw: cat("\x62\x02", "\x00\x07"), packet: &Pubrel{PacketID: 7}},
	{name: "PUBCOMP v3.1", version: V31, raw: cat("\x70\x02", "\x00\x07"), packet: &Pubcomp{PacketID: 7}},
	{
		name: "SUBSCRIBE v3.1 two filters", version: V31,
		raw: cat("\x82\x0e", "\x00\x01", "\x00\x03a/+", "\x01", "\x00\x03b/#", "\x02"),
		packet: &Subscribe{PacketID: 1, Subscriptions: []Subscription{
			{Filter: "a/+", QoS: 1}, {Filter: "b/#", QoS: 2},
		}},
	},
	{
		name: "SUBACK v3.1", version: V31, raw: cat("\x90\x04", "\x00\x01", "\x01\x02"),
		packet: &Suback{PacketID: 1, ReasonCodes: []ReasonCode{GrantedQoS1, GrantedQoS2}},
	},
	{
		name: "UNSUBSCRIBE v3.1", version: V31, raw: cat("\xa2\x07", "\x00\x02", "\x00\x03a/+"),
		packet: &Unsubscribe{PacketID: 2, Filters: []string{"a/+"}},
	},
	{name: "UNSUBACK v3.1", version: V31, raw: cat("\xb0\x02", "\x00\x02"), packet: &Unsuback{PacketID: 2}},
	{name: "PINGREQ v3.1", version: V31, raw: cat("\xc0\x00"), packet: &Pingreq{}},
	{name: "PINGRESP v3.1", version: V31, raw: cat("\xd0\x00"), packet: &Pingresp{}},
	{name: "DISCONNECT v3.1", version: V31, raw: cat("\xe0\x00"), packet: &Disconnect{}},

	// -------------------------------------------------------------- MQTT 3.1.1
	{
		name: "CONNECT v3.1.1 empty client id", version: V311,
		raw:    cat("\x10\x0c", "\x00\x04MQTT", "\x04", "\x02", "\x00\x3c", "\x00\x00"),
		packet: &Connect{ProtocolName: "MQTT", ProtocolLevel: V311, CleanStart: true, KeepAlive: 60},
	},
	{
		name: "CONNECT v3.1.1 will user password", version: V311,
		raw: cat(
			"\x10\x2e",
			"\x00\x04MQTT\x04",
			"\xd4",     // user, password, will QoS 2, will; no clean session
			"\x01\x2c", // keep alive 300
			"\x00\x06client",
			"\x00\x0dstatus/client",
			"\x00\x00", // empty will message
			"\x00\x04user",
			"\x00\x03\x01\x02\x03", // binary password
		),
		packet: &Connect{
			ProtocolName: "MQTT", ProtocolLevel: V311, KeepAlive: 300, ClientID: "client",
			WillFlag: true, WillQoS: 2, WillTopic: "status/client",
			UsernameFlag: true, Username: "user", PasswordFlag: true, Password: []byte{1, 2, 3},
		},
	},
	{
		name: "CONNECT v3.1.1 empty user name", version: V311,
		raw:    cat("\x10\x0f", "\x00\x04MQTT\x04", "\x82", "\x00\x1e", "\x00\x01c", "\x00\x00"),
		packet: &Connect{ProtocolName: "MQTT", ProtocolLevel: V311, CleanStart: true, KeepAlive: 30, ClientID: "c", UsernameFlag: true},
	},
	{name: "CONNACK v3.1.1 session present", version: V311, raw: cat("\x20\x02", "\x01\x00"), packet: &Connack{SessionPresent: true}},
	{
		name: "CONNACK v3.1.1 not authorized", version: V311, raw: cat("\x20\x02", "\x00\x05"),
		packet: &Connack{ReasonCode: ConnRefusedNotAuthorized},
	},
	{
		name: "PUBLISH v3.1.1 QoS 1 empty payload", version: V311,
		raw:    cat("\x32\x10", "\x00\x0csensors/temp", "\x12\x34"),
		packet: &Publish{QoS: 1, Topic: "sensors/temp", PacketID: 0x1234},
	},
	{
		name: "PUBLISH v3.1.1 QoS 0 retain", version: V311,
		raw:    cat("\x31\x05", "\x00\x01x", "{}"),
		packet: &Publish{Retain: true, Topic: "x", Payload: []byte("{}")},
	},
	{
		name: "PUBLISH v3.1.1 two-byte remaining length", version: V311,
		raw:    cat("\x30\xcd\x01", "\x00\x03big", payload200), // 205 = 0x4D | 1<<7
		packet: &Publish{Topic: "big", Payload: []byte(payload200)},
	},
	{
		name: "PUBLISH v3.1.1 three-byte remaining length", version: V311,
		raw:    cat("\x30\x80\x80\x01", "\x00\x03big", payload16379), // 16384 = 1<<14
		packet: &Publish{Topic: "big", Payload: []byte(payload16379)},
	},
	{name: "PUBACK v3.1.1", version: V311, raw: cat("\x40\x02", "\x00\x01"), packet: &Puback{PacketID: 1}},
	{name: "PUBREC v3.1.1", version: V311, raw: cat("\x50\x02", "\xff\xff"), packet: &Pubrec{PacketID: 0xFFFF}},
	{name: "PUBREL v3.1.1", version: V311, raw: cat("\x62\x02", "\x00\x01"), packet: &Pubrel{PacketID: 1}},
	{name: "PUBCOMP v3.1.1", version: V311, raw: cat("\x70\x02", "\x00\x01"), packet: &Pubcomp{PacketID: 1}},
	{
		name: "SUBSCRIBE v3.1.1 three filters", version: V311,
		raw: cat("\x82\x1c", "\x00\x0a", "\x00\x01#", "\x00", "\x00\x01+", "\x01", "\x00\x0fsport/+/player1", "\x02"),
		packet: &Subscribe{PacketID: 10, Subscriptions: []Subscription{
			{Filter: "#"}, {Filter: "+", QoS: 1}, {Filter: "sport/+/player1", QoS: 2},
		}},
	},
	{
		name: "SUBACK v3.1.1 with failure", version: V311, raw: cat("\x90\x05", "\x00\x0a", "\x00\x01\x80"),
		packet: &Suback{PacketID: 10, ReasonCodes: []ReasonCode{GrantedQoS0, GrantedQoS1, UnspecifiedError}},
	},
	{
		name: "UNSUBSCRIBE v3.1.1 two filters", version: V311,
		raw:    cat("\xa2\x0c", "\x00\x0b", "\x00\x03a/b", "\x00\x03c/#"),
		packet: &Unsubscribe{PacketID: 11, Filters: []string{"a/b", "c/#"}},
	},
	{name: "UNSUBACK v3.1.1", version: V311, raw: cat("\xb0\x02", "\x00\x0b"), packet: &Unsuback{PacketID: 11}},
	{name: "PINGREQ v3.1.1", version: V311, raw: cat("\xc0\x00"), packet: &Pingreq{}},
	{name: "PINGRESP v3.1.1", version: V311, raw: cat("\xd0\x00"), packet: &Pingresp{}},
	{name: "DISCONNECT v3.1.1", version: V311, raw: cat("\xe0\x00"), packet: &Disconnect{}},

	// ---------------------------------------------------------------- MQTT 5.0
	{
		name: "CONNECT v5 minimal", version: V5,
		raw:    cat("\x10\x0d", "\x00\x04MQTT\x05", "\x02", "\x00\x3c", "\x00", "\x00\x00"),
		packet: &Connect{ProtocolName: "MQTT", ProtocolLevel: V5, CleanStart: true, KeepAlive: 60},
	},
	{
		name: "CONNECT v5 all properties and will properties", version: V5,
		raw: cat(
			"\x10\x8d\x01", // remaining length 141
			"\x00\x04MQTT\x05",
			"\xee",                         // user, password, will retain, will QoS 1, will, clean start
			"\x00\x1e",                     // keep alive 30
			"\x30",                         // property length 48
			"\x11\x00\x00\x0e\x10",         // session expiry interval 3600
			"\x15\x00\x0bSCRAM-SHA-1",      // authentication method
			"\x16\x00\x04\x01\x02\x03\x04", // authentication data
			"\x17\x00",                     // request problem information 0
			"\x19\x01",                     // request response information 1
			"\x21\x00\x14",                 // receive maximum 20
			"\x22\x00\x0a",                 // topic alias maximum 10
			"\x26\x00\x01k\x00\x01v",       // user property k=v
			"\x27\x00\x01\x00\x00",         // maximum packet size 65536
			"\x00\x03cid",                  // client id
			"\x2f",                         // will property length 47
			"\x01\x01",                     // payload format indicator: UTF-8
			"\x02\x00\x00\x00\x3c",         // message expiry interval 60
			"\x03\x00\x0atext/plain",       // content type
			"\x08\x00\x06resp/x",           // response topic
			"\x09\x00\x03id1",              // correlation data
			"\x18\x00\x00\x00\x05",         // will delay interval 5
			"\x26\x00\x01a\x00\x01b",       // user property a=b
			"\x00\x06will/t",               // will topic
			"\x00\x04gone",                 // will payload
			"\x00\x05alice",                // user name
			"\x00\x06secret",               // password
		),
		packet: &Connect{
			ProtocolName: "MQTT", ProtocolLevel: V5, CleanStart: true, KeepAlive: 30, ClientID: "cid",
			Properties: Properties{
				SessionExpiryInterval: 3600, HasSessionExpiryInterval: true,
				AuthenticationMethod: "SCRAM-SHA-1", AuthenticationData: []byte{1, 2, 3, 4},
				HasRequestProblemInformation: true, RequestResponseInformation: 1,
				ReceiveMaximum: 20, TopicAliasMaximum: 10,
				UserProperties:    []UserProperty{{Key: "k", Value: "v"}},
				MaximumPacketSize: 65536,
			},
			WillFlag: true, WillQoS: 1, WillRetain: true, WillTopic: "will/t", WillPayload: []byte("gone"),
			WillProperties: Properties{
				PayloadFormatIndicator: 1, MessageExpiryInterval: 60, HasMessageExpiryInterval: true,
				ContentType: "text/plain", ResponseTopic: "resp/x", CorrelationData: []byte("id1"),
				WillDelayInterval: 5, UserProperties: []UserProperty{{Key: "a", Value: "b"}},
			},
			UsernameFlag: true, Username: "alice", PasswordFlag: true, Password: []byte("secret"),
		},
	},
	{
		name: "CONNECT v5 password without user name", version: V5,
		raw:    cat("\x10\x12", "\x00\x04MQTT\x05", "\x42", "\x00\x00", "\x00", "\x00\x01p", "\x00\x02pw"),
		packet: &Connect{ProtocolName: "MQTT", ProtocolLevel: V5, CleanStart: true, ClientID: "p", PasswordFlag: true, Password: []byte("pw")},
	},
	{name: "CONNACK v5 minimal", version: V5, raw: cat("\x20\x03", "\x00\x00", "\x00"), packet: &Connack{}},
	{
		name: "CONNACK v5 not authorized", version: V5, raw: cat("\x20\x03", "\x00\x87", "\x00"),
		packet: &Connack{ReasonCode: NotAuthorized},
	},
	{
		name: "CONNACK v5 all properties", version: V5,
		raw: cat(
			"\x20\x5c",
			"\x01",                   // session present
			"\x00",                   // success
			"\x59",                   // property length 89
			"\x11\x00\x00\x00\x00",   // session expiry interval 0
			"\x12\x00\x06auto-1",     // assigned client identifier
			"\x13\x00\x00",           // server keep alive 0
			"\x15\x00\x05TOKEN",      // authentication method
			"\x16\x00\x02ok",         // authentication data
			"\x1a\x00\x05resp/",      // response information
			"\x1c\x00\x0aother:1883", // server reference
			"\x1f\x00\x07welcome",    // reason string
			"\x21\x00\x64",           // receive maximum 100
			"\x22\x00\x05",           // topic alias maximum 5
			"\x24\x01",               // maximum QoS 1
			"\x25\x00",               // retain available 0
			"\x26\x00\x01x\x00\x01y", // user property x=y
			"\x27\x00\x00\x10\x00",   // maximum packet size 4096
			"\x28\x00",               // wildcard subscription available 0
			"\x29\x00",               // subscription identifier available 0
			"\x2a\x01",               // shared subscription available 1
		),
		packet: &Connack{SessionPresent: true, Properties: Properties{
			HasSessionExpiryInterval: true, AssignedClientIdentifier: "auto-1", HasServerKeepAlive: true,
			AuthenticationMethod: "TOKEN", AuthenticationData: []byte("ok"), ResponseInformation: "resp/",
			ServerReference: "other:1883", ReasonString: "welcome", ReceiveMaximum: 100, TopicAliasMaximum: 5,
			MaximumQoS: 1, HasMaximumQoS: true, HasRetainAvailable: true,
			UserProperties: []UserProperty{{Key: "x", Value: "y"}}, MaximumPacketSize: 4096,
			HasWildcardSubscriptionAvailable: true, HasSubscriptionIdentifierAvailable: true,
			SharedSubscriptionAvailable: 1, HasSharedSubscriptionAvailable: true,
		}},
	},
	{
		name: "PUBLISH v5 QoS 0 no properties", version: V5,
		raw:    cat("\x30\x05", "\x00\x01a", "\x00", "p"),
		packet: &Publish{Topic: "a", Payload: []byte("p")},
	},
	{
		name: "PUBLISH v5 QoS 1 all properties", version: V5,
		raw: cat(
			"\x32\x4e",
			"\x00\x05req/1",
			"\x00\x05",             // packet id 5
			"\x42",                 // property length 66
			"\x01\x01",             // payload format indicator
			"\x02\x00\x00\x00\x00", // message expiry interval 0
			"\x03\x00\x10application/json",
			"\x08\x00\x06resp/1",
			"\x09\x00\x02\xca\xfe",     // correlation data
			"\x0b\x01",                 // subscription identifier 1
			"\x0b\x80\x01",             // subscription identifier 128
			"\x23\x00\x03",             // topic alias 3
			"\x26\x00\x02k1\x00\x02v1", // user property k1=v1
			"\x26\x00\x02k1\x00\x02v2", // user property k1=v2 (repeated key)
			"{}",
		),
		packet: &Publish{QoS: 1, Topic: "req/1", PacketID: 5, Payload: []byte("{}"), Properties: Properties{
			PayloadFormatIndicator: 1, HasMessageExpiryInterval: true, ContentType: "application/json",
			ResponseTopic: "resp/1", CorrelationData: []byte{0xca, 0xfe}, SubscriptionIdentifiers: []uint32{1, 128},
			TopicAlias: 3, UserProperties: []UserProperty{{Key: "k1", Value: "v1"}, {Key: "k1", Value: "v2"}},
		}},
	},
	{
		name: "PUBLISH v5 topic alias with empty topic", version: V5,
		raw:    cat("\x30\x07", "\x00\x00", "\x03\x23\x00\x01", "x"),
		packet: &Publish{Properties: Properties{TopicAlias: 1}, Payload: []byte("x")},
	},
	{name: "PUBACK v5 short form", version: V5, raw: cat("\x40\x02", "\x00\x01"), packet: &Puback{PacketID: 1}},
	{
		name: "PUBACK v5 reason code only", version: V5, raw: cat("\x40\x03", "\x00\x01", "\x10"),
		packet: &Puback{PacketID: 1, ReasonCode: NoMatchingSubscribers},
	},
	{
		name: "PUBACK v5 reason and properties", version: V5,
		raw: cat("\x40\x12", "\x00\x01", "\x97", "\x0e", "\x1f\x00\x04full", "\x26\x00\x01a\x00\x01b"),
		packet: &Puback{PacketID: 1, ReasonCode: QuotaExceeded, Properties: Properties{
			ReasonString: "full", UserProperties: []UserProperty{{Key: "a", Value: "b"}},
		}},
	},
	{
		name: "PUBACK v5 success with empty properties", version: V5, decodeOnly: true,
		raw: cat("\x40\x04", "\x00\x01", "\x00", "\x00"), packet: &Puback{PacketID: 1},
	},
	{
		name: "PUBACK v5 success without property length", version: V5, decodeOnly: true,
		raw: cat("\x40\x03", "\x00\x01", "\x00"), packet: &Puback{PacketID: 1},
	},
	{
		name: "PUBREC v5 no matching subscribers", version: V5, raw: cat("\x50\x03", "\x00\x02", "\x10"),
		packet: &Pubrec{PacketID: 2, ReasonCode: NoMatchingSubscribers},
	},
	{
		name: "PUBREL v5 packet identifier not found", version: V5, raw: cat("\x62\x03", "\x00\x02", "\x92"),
		packet: &Pubrel{PacketID: 2, ReasonCode: PacketIdentifierNotFound},
	},
	{
		name: "PUBREL v5 reason string", version: V5, raw: cat("\x62\x08", "\x00\x02", "\x00", "\x04", "\x1f\x00\x01r"),
		packet: &Pubrel{PacketID: 2, Properties: Properties{ReasonString: "r"}},
	},
	{name: "PUBCOMP v5 short form", version: V5, raw: cat("\x70\x02", "\x00\x02"), packet: &Pubcomp{PacketID: 2}},
	{
		name: "SUBSCRIBE v5 options and properties", version: V5,
		raw: cat(
			"\x82\x21",
			"\x00\x03",
			"\x09",                   // property length 9
			"\x0b\x0a",               // subscription identifier 10
			"\x26\x00\x01s\x00\x01t", // user property s=t
			"\x00\x03a/b", "\x1d",    // QoS 1, no local, retain as published, retain handling 1
			"\x00\x0c$share/g/c/#", "\x22", // QoS 2, retain handling 2
		),
		packet: &Subscribe{PacketID: 3,
			Properties: Properties{SubscriptionIdentifiers: []uint32{10}, UserProperties: []UserProperty{{Key: "s", Value: "t"}}},
			Subscriptions: []Subscription{
				{Filter: "a/b", QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 1},
				{Filter: "$share/g/c/#", QoS: 2, RetainHandling: 2},
			},
		},
	},
	{
		name: "SUBACK v5 reason string", version: V5,
		raw: cat("\x90\x0a", "\x00\x03", "\x05", "\x1f\x00\x02ok", "\x01\x9e"),
		packet: &Suback{PacketID: 3, Properties: Properties{ReasonString: "ok"},
			ReasonCodes: []ReasonCode{GrantedQoS1, SharedSubscriptionsNotSupported}},
	},
	{
		name: "SUBACK v5 no properties", version: V5, raw: cat("\x90\x04", "\x00\x03", "\x00", "\x00"),
		packet: &Suback{PacketID: 3, ReasonCodes: []ReasonCode{GrantedQoS0}},
	},
	{
		name: "UNSUBSCRIBE v5 user property", version: V5,
		raw: cat("\xa2\x1d", "\x00\x04", "\x07", "\x26\x00\x01u\x00\x01v", "\x00\x03a/b", "\x00\x0c$share/g/c/#"),
		packet: &Unsubscribe{PacketID: 4, Properties: Properties{UserProperties: []UserProperty{{Key: "u", Value: "v"}}},
			Filters: []string{"a/b", "$share/g/c/#"}},
	},
	{
		name: "UNSUBACK v5", version: V5, raw: cat("\xb0\x05", "\x00\x04", "\x00", "\x00\x11"),
		packet: &Unsuback{PacketID: 4, ReasonCodes: []ReasonCode{Success, NoSubscriptionExisted}},
	},
	{
		name: "UNSUBACK v5 reason string", version: V5, raw: cat("\xb0\x09", "\x00\x04", "\x05", "\x1f\x00\x02no", "\x87"),
		packet: &Unsuback{PacketID: 4, Properties: Properties{ReasonString: "no"}, ReasonCodes: []ReasonCode{NotAuthorized}},
	},
	{name: "PINGREQ v5", version: V5, raw: cat("\xc0\x00"), packet: &Pingreq{}},
	{name: "PINGRESP v5", version: V5, raw: cat("\xd0\x00"), packet: &Pingresp{}},
	{name: "DISCONNECT v5 short form", version: V5, raw: cat("\xe0\x00"), packet: &Disconnect{}},
	{
		name: "DISCONNECT v5 reason code only", version: V5, raw: cat("\xe0\x01", "\x04"),
		packet: &Disconnect{ReasonCode: DisconnectWithWillMessage},
	},
	{
		name: "DISCONNECT v5 properties", version: V5,
		raw: cat(
			"\xe0\x1e",
			"\x9c",                   // use another server
			"\x1c",                   // property length 28
			"\x11\x00\x00\x00\x00",   // session expiry interval 0
			"\x1c\x00\x04srv2",       // server reference
			"\x1f\x00\x06moving",     // reason string
			"\x26\x00\x01a\x00\x011", // user property a=1
		),
		packet: &Disconnect{ReasonCode: UseAnotherServer, Properties: Properties{
			HasSessionExpiryInterval: true, ServerReference: "srv2", ReasonString: "moving",
			UserProperties: []UserProperty{{Key: "a", Value: "1"}},
		}},
	},
	{
		name: "DISCONNECT v5 success with empty properties", version: V5, decodeOnly: true,
		raw: cat("\xe0\x02", "\x00", "\x00"), packet: &Disconnect{},
	},
	{name: "AUTH v5 short form", version: V5, raw: cat("\xf0\x00"), packet: &Auth{}},
	{
		name: "AUTH v5 continue authentication", version: V5,
		raw: cat("\xf0\x18", "\x18", "\x16", "\x15\x00\x05SCRAM", "\x16\x00\x04data", "\x1f\x00\x04more"),
		packet: &Auth{ReasonCode: ContinueAuthentication, Properties: Properties{
			AuthenticationMethod: "SCRAM", AuthenticationData: []byte("data"), ReasonString: "more",
		}},
	},
	{
		name: "AUTH v5 re-authenticate", version: V5, raw: cat("\xf0\x02", "\x19", "\x00"),
		packet: &Auth{ReasonCode: ReAuthenticate},
	},
}

package mqtt

import "testing"

// benchPackets are the hot packets the edge decodes and encodes. PUBLISH
// properties are the usual request/response set; user properties are left
// out because their strings must be allocated.
func benchPackets() []struct {
	name    string
	version byte
	packet  Packet
} {
	v5props := Properties{
		PayloadFormatIndicator: 1, MessageExpiryInterval: 60, HasMessageExpiryInterval: true,
		ContentType: "application/json", ResponseTopic: "replies/device-42", CorrelationData: []byte("req-0001"),
		SubscriptionIdentifiers: []uint32{7}, TopicAlias: 3,
	}
	pub := func(qos byte, size int, props Properties) *Publish {
		p := &Publish{QoS: qos, Topic: "factory/line-3/sensor/temperature", Payload: make([]byte, size), Properties: props}
		if qos > 0 {
			p.PacketID = 4711
		}
		return p
	}
	subs := []Subscription{
		{Filter: "factory/+/sensor/#", QoS: 1},
		{Filter: "alerts/#", QoS: 2, NoLocal: true, RetainHandling: 1},
		{Filter: "$share/workers/jobs/+", QoS: 1},
	}
	return []struct {
		name    string
		version byte
		packet  Packet
	}{
		{"CONNECT/v311", V311, &Connect{ProtocolLevel: V311, CleanStart: true, KeepAlive: 60, ClientID: "device-42",
			UsernameFlag: true, Username: "device", PasswordFlag: true, Password: []byte("secret")}},
		{"CONNECT/v5", V5, &Connect{ProtocolLevel: V5, CleanStart: true, KeepAlive: 60, ClientID: "device-42",
			UsernameFlag: true, Username: "device", PasswordFlag: true, Password: []byte("secret"),
			Properties: Properties{SessionExpiryInterval: 3600, ReceiveMaximum: 100, TopicAliasMaximum: 16, MaximumPacketSize: 1 << 20}}},
		{"PUBLISH/v311/QoS0/64B", V311, pub(0, 64, Properties{})},
		{"PUBLISH/v311/QoS1/64B", V311, pub(1, 64, Properties{})},
		{"PUBLISH/v311/QoS0/4KiB", V311, pub(0, 4096, Properties{})},
		{"PUBLISH/v311/QoS1/4KiB", V311, pub(1, 4096, Properties{})},
		{"PUBLISH/v5/QoS0/64B/props", V5, pub(0, 64, v5props)},
		{"PUBLISH/v5/QoS1/64B/props", V5, pub(1, 64, v5props)},
		{"PUBLISH/v5/QoS1/4KiB/props", V5, pub(1, 4096, v5props)},
		{"PUBACK/v5", V5, &Puback{PacketID: 4711}},
		{"SUBSCRIBE/v311", V311, &Subscribe{PacketID: 1, Subscriptions: []Subscription{subs[0], {Filter: "alerts/#", QoS: 2}}}},
		{"SUBSCRIBE/v5", V5, &Subscribe{PacketID: 1, Subscriptions: subs, Properties: Properties{SubscriptionIdentifiers: []uint32{9}}}},
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, bc := range benchPackets() {
		raw, err := Encode(nil, bc.packet, bc.version)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			d := NewDecoder(bc.version, 0)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := d.DecodePacket(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, bc := range benchPackets() {
		dst := make([]byte, 0, Size(bc.packet, bc.version))
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(cap(dst)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = Encode(dst[:0], bc.packet, bc.version); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

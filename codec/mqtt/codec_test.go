package mqtt

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/manifold-iot/manifold/codec"
)

func TestDecode(t *testing.T) {
	for _, tc := range packetCases {
		t.Run(tc.name, func(t *testing.T) {
			p, n, err := Decode(tc.raw, tc.version, 0)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if n != len(tc.raw) {
				t.Errorf("n = %d, want %d", n, len(tc.raw))
			}
			if !reflect.DeepEqual(p, tc.packet) {
				t.Errorf("Decode =\n%#v\nwant\n%#v", p, tc.packet)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	for _, tc := range packetCases {
		if tc.decodeOnly {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode(nil, tc.packet, tc.version)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(got, tc.raw) {
				t.Errorf("Encode =\n% x\nwant\n% x", got, tc.raw)
			}
			if s := Size(tc.packet, tc.version); s != len(tc.raw) {
				t.Errorf("Size = %d, want %d", s, len(tc.raw))
			}
			// Encode appends: existing bytes are kept.
			prefix := []byte("prefix")
			got, err = Encode(prefix, tc.packet, tc.version)
			if err != nil || !bytes.Equal(got, append([]byte("prefix"), tc.raw...)) {
				t.Errorf("Encode after prefix = % x, %v", got, err)
			}
		})
	}
}

// TestDecoder runs the table through a reused Decoder, which must return the
// same packets as Decode even though it recycles structs and interns strings.
func TestDecoder(t *testing.T) {
	d := NewDecoder(0, 0)
	for round := 0; round < 2; round++ {
		for _, tc := range packetCases {
			t.Run(tc.name, func(t *testing.T) {
				d.Version = tc.version
				f, n, err := d.Decode(tc.raw)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if n != len(tc.raw) {
					t.Errorf("n = %d, want %d", n, len(tc.raw))
				}
				if !reflect.DeepEqual(f, codec.Frame(tc.packet)) {
					t.Errorf("Decode =\n%#v\nwant\n%#v", f, tc.packet)
				}
				if tc.decodeOnly {
					return
				}
				got, err := d.Encode(nil, f)
				if err != nil || !bytes.Equal(got, tc.raw) {
					t.Errorf("Encode = % x, %v; want % x", got, err, tc.raw)
				}
			})
		}
	}
}

// TestIncomplete truncates every case at every length and expects
// ErrIncomplete: a prefix of a valid packet is never an error.
func TestIncomplete(t *testing.T) {
	d := &Decoder{}
	for _, tc := range packetCases {
		t.Run(tc.name, func(t *testing.T) {
			d.Version = tc.version
			for i := 0; i < len(tc.raw); i++ {
				if _, _, err := Decode(tc.raw[:i], tc.version, 0); err != codec.ErrIncomplete {
					t.Fatalf("Decode(raw[:%d]) error = %v, want ErrIncomplete", i, err)
				}
				if _, _, err := d.Decode(tc.raw[:i]); err != codec.ErrIncomplete {
					t.Fatalf("Decoder.Decode(raw[:%d]) error = %v, want ErrIncomplete", i, err)
				}
			}
		})
	}
}

// TestDecodeStream decodes several packets from one buffer, as the edge does.
func TestDecodeStream(t *testing.T) {
	var buf []byte
	var want []Packet
	for _, tc := range packetCases {
		if tc.version == V311 {
			buf = append(buf, tc.raw...)
			want = append(want, tc.packet)
		}
	}
	d := NewDecoder(V311, 0)
	for i, w := range want {
		p, n, err := d.DecodePacket(buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !reflect.DeepEqual(p, w) {
			t.Fatalf("packet %d = %#v, want %#v", i, p, w)
		}
		buf = buf[n:]
	}
	if _, _, err := d.DecodePacket(buf); err != codec.ErrIncomplete {
		t.Fatalf("after the last packet: %v, want ErrIncomplete", err)
	}
}

func TestPacketTooLargeEarly(t *testing.T) {
	tests := []struct {
		name    string
		raw     []byte
		maxSize int
		want    error
	}{
		// Only the fixed header has arrived; the body would be 268,435,455 bytes.
		{name: "header only, over limit", raw: []byte("\x30\xff\xff\xff\x7f"), maxSize: 1024, want: PacketTooLarge},
		{name: "header only, spec maximum", raw: []byte("\x30\xff\xff\xff\x7f"), maxSize: 0, want: codec.ErrIncomplete},
		{name: "one byte over", raw: []byte("\x30\x05\x00\x01a"), maxSize: 6, want: PacketTooLarge},
		{name: "exactly at limit", raw: []byte("\x30\x04\x00\x01ab"), maxSize: 6, want: nil},
		{name: "CONNECT over limit", raw: []byte("\x10\x80\x01"), maxSize: 100, want: PacketTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Decode(tc.raw, V311, tc.maxSize)
			if !errors.Is(err, tc.want) && err != tc.want {
				t.Fatalf("Decode error = %v, want %v", err, tc.want)
			}
			d := NewDecoder(V311, tc.maxSize)
			if _, _, err := d.Decode(tc.raw); !errors.Is(err, tc.want) && err != tc.want {
				t.Fatalf("Decoder.Decode error = %v, want %v", err, tc.want)
			}
			var e *Error
			if tc.want == PacketTooLarge && (!errors.As(err, &e) || e.Code != PacketTooLarge) {
				t.Fatalf("errors.As: %v", err)
			}
		})
	}
}

// TestDecoderReuse checks the Decoder's documented lifetime rules: PUBLISH
// structs are reused, topics are interned, and CONNECT does not move Version.
func TestDecoderReuse(t *testing.T) {
	d := NewDecoder(V5, 0)
	a := cat("\x30\x0c", "\x00\x03a/b", "\x05\x26\x00\x00\x00\x00", "1") // user property with empty key and value
	b := cat("\x30\x07", "\x00\x03a/b", "\x00", "2")
	p1, _, err := d.DecodePacket(a)
	if err != nil {
		t.Fatal(err)
	}
	topic := p1.(*Publish).Topic
	p2, _, err := d.DecodePacket(b)
	if err != nil {
		t.Fatal(err)
	}
	if p1 != p2 {
		t.Error("Decoder did not reuse its Publish")
	}
	if pub := p2.(*Publish); pub.Properties.UserProperties != nil || string(pub.Payload) != "2" {
		t.Errorf("reused Publish kept stale fields: %#v", pub)
	}
	if topic != "a/b" {
		t.Errorf("interned topic changed to %q", topic)
	}

	d = NewDecoder(0, 0)
	c, _, err := d.DecodePacket(packetCases[0].raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.(*Connect).ProtocolLevel != V31 || d.Version != 0 {
		t.Errorf("level %d, Decoder.Version %d; want 3 and 0", c.(*Connect).ProtocolLevel, d.Version)
	}
	if _, _, err := d.DecodePacket([]byte("\xc0\x00")); !errors.Is(err, ProtocolError) {
		t.Errorf("PINGREQ before CONNECT: %v, want Protocol Error", err)
	}
}

func TestInternBounded(t *testing.T) {
	var s decodeState
	s.interning = true
	for i := 0; i < 3*maxInterned; i++ {
		s.intern([]byte{byte(i), byte(i >> 8), 'x'})
	}
	if len(s.strings) > maxInterned {
		t.Fatalf("intern table has %d entries, limit %d", len(s.strings), maxInterned)
	}
	long := bytes.Repeat([]byte("a"), maxInternLen+1)
	if s.intern(long) != string(long) || s.strings[string(long)] != "" {
		t.Fatal("long strings must not be interned")
	}
}

// TestEncodeDowngrade checks what Encode leaves out or maps on 3.x connections.
func TestEncodeDowngrade(t *testing.T) {
	tests := []struct {
		name    string
		version byte
		packet  Packet
		want    []byte
	}{
		{"PUBACK drops reason and properties", V311,
			&Puback{PacketID: 1, ReasonCode: NoMatchingSubscribers, Properties: Properties{ReasonString: "x"}},
			cat("\x40\x02", "\x00\x01")},
		{"PUBLISH drops properties", V311,
			&Publish{Topic: "t", Properties: Properties{ContentType: "c", TopicAlias: 2}},
			cat("\x30\x03", "\x00\x01t")},
		{"CONNACK maps v5 codes", V311, &Connack{ReasonCode: BadAuthenticationMethod}, cat("\x20\x02", "\x00\x04")},
		{"CONNACK maps unsupported version", V31, &Connack{ReasonCode: UnsupportedProtocolVersion}, cat("\x20\x02", "\x00\x01")},
		{"SUBACK maps failures to 0x80", V311,
			&Suback{PacketID: 1, ReasonCodes: []ReasonCode{GrantedQoS2, NotAuthorized}}, cat("\x90\x04", "\x00\x01", "\x02\x80")},
		{"SUBSCRIBE drops v5 options", V311,
			&Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: "a", QoS: 1, NoLocal: true, RetainHandling: 2}}},
			cat("\x82\x06", "\x00\x01", "\x00\x01a", "\x01")},
		{"UNSUBACK drops codes", V311, &Unsuback{PacketID: 1, ReasonCodes: []ReasonCode{Success}}, cat("\xb0\x02", "\x00\x01")},
		{"DISCONNECT drops reason", V311, &Disconnect{ReasonCode: ServerShuttingDown}, cat("\xe0\x00")},
		{"CONNECT uses its own level", V5,
			&Connect{ProtocolLevel: V311, ClientID: "c", CleanStart: true},
			cat("\x10\x0d", "\x00\x04MQTT\x04", "\x02", "\x00\x00", "\x00\x01c")},
		{"CONNECT takes the level from version", V31, &Connect{ClientID: "c"},
			cat("\x10\x0f", "\x00\x06MQIsdp\x03", "\x00", "\x00\x00", "\x00\x01c")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode(nil, tc.packet, tc.version)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("Encode = % x, want % x", got, tc.want)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	long := string(make([]byte, 0x10000))
	tests := []struct {
		name    string
		version byte
		packet  Packet
		code    ReasonCode
	}{
		{"nil packet", V5, nil, MalformedPacket},
		{"typed nil packet", V5, (*Publish)(nil), MalformedPacket},
		{"unknown version", 9, &Pingreq{}, UnsupportedProtocolVersion},
		{"PUBLISH QoS 3", V311, &Publish{Topic: "t", QoS: 3, PacketID: 1}, MalformedPacket},
		{"PUBLISH DUP on QoS 0", V311, &Publish{Topic: "t", Dup: true}, ProtocolError},
		{"PUBLISH packet id 0", V311, &Publish{Topic: "t", QoS: 1}, ProtocolError},
		{"PUBLISH empty topic on 3.1.1", V311, &Publish{}, TopicNameInvalid},
		{"PUBLISH empty topic without alias", V5, &Publish{}, TopicNameInvalid},
		{"PUBLISH topic too long", V311, &Publish{Topic: long}, MalformedPacket},
		{"PUBLISH property not allowed", V5, &Publish{Topic: "t", Properties: Properties{ReasonString: "x"}}, ProtocolError},
		{"PUBLISH subscription identifier 0", V5, &Publish{Topic: "t", Properties: Properties{SubscriptionIdentifiers: []uint32{0}}}, ProtocolError},
		{"PUBLISH payload format 2", V5, &Publish{Topic: "t", Properties: Properties{PayloadFormatIndicator: 2}}, ProtocolError},
		{"PUBLISH user property too long", V5, &Publish{Topic: "t", Properties: Properties{UserProperties: []UserProperty{{Key: long}}}}, MalformedPacket},
		{"PUBLISH content type too long", V5, &Publish{Topic: "t", Properties: Properties{ContentType: long}}, MalformedPacket},
		{"PUBACK packet id 0", V5, &Puback{}, ProtocolError},
		{"PUBACK reason not allowed", V5, &Puback{PacketID: 1, ReasonCode: PacketIdentifierNotFound}, ProtocolError},
		{"PUBREL reason not allowed", V5, &Pubrel{PacketID: 1, ReasonCode: QuotaExceeded}, ProtocolError},
		{"CONNACK reason not allowed", V5, &Connack{ReasonCode: NoMatchingSubscribers}, ProtocolError},
		{"CONNACK session present on failure", V5, &Connack{SessionPresent: true, ReasonCode: NotAuthorized}, ProtocolError},
		{"CONNACK maximum QoS 2", V5, &Connack{Properties: Properties{MaximumQoS: 2}}, ProtocolError},
		{"CONNECT topic alias not allowed", V5, &Connect{Properties: Properties{TopicAlias: 1}}, ProtocolError},
		{"CONNECT will delay outside will", V5, &Connect{Properties: Properties{WillDelayInterval: 1}}, ProtocolError},
		{"CONNECT will QoS without will flag", V311, &Connect{WillQoS: 1}, MalformedPacket},
		{"CONNECT will QoS 3", V311, &Connect{WillFlag: true, WillQoS: 3, WillTopic: "t"}, MalformedPacket},
		{"CONNECT user name without flag", V311, &Connect{Username: "u"}, MalformedPacket},
		{"CONNECT password without flag", V311, &Connect{Password: []byte("p")}, MalformedPacket},
		{"CONNECT password without user name", V311, &Connect{PasswordFlag: true}, MalformedPacket},
		{"CONNECT name does not match level", V311, &Connect{ProtocolName: "MQIsdp"}, UnsupportedProtocolVersion},
		{"CONNECT unknown level", 0, &Connect{}, UnsupportedProtocolVersion},
		{"SUBSCRIBE no filters", V311, &Subscribe{PacketID: 1}, ProtocolError},
		{"SUBSCRIBE packet id 0", V311, &Subscribe{Subscriptions: []Subscription{{Filter: "a"}}}, ProtocolError},
		{"SUBSCRIBE QoS 3", V311, &Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: "a", QoS: 3}}}, MalformedPacket},
		{"SUBSCRIBE retain handling 3", V5, &Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: "a", RetainHandling: 3}}}, ProtocolError},
		{"SUBSCRIBE two subscription identifiers", V5, &Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: "a"}},
			Properties: Properties{SubscriptionIdentifiers: []uint32{1, 2}}}, ProtocolError},
		{"SUBACK no codes", V5, &Suback{PacketID: 1}, ProtocolError},
		{"SUBACK reason not allowed", V5, &Suback{PacketID: 1, ReasonCodes: []ReasonCode{NoMatchingSubscribers}}, ProtocolError},
		{"SUBACK code not expressible on 3.1.1", V311, &Suback{PacketID: 1, ReasonCodes: []ReasonCode{NoMatchingSubscribers}}, MalformedPacket},
		{"UNSUBSCRIBE no filters", V5, &Unsubscribe{PacketID: 1}, ProtocolError},
		{"UNSUBSCRIBE subscription identifier", V5, &Unsubscribe{PacketID: 1, Filters: []string{"a"},
			Properties: Properties{SubscriptionIdentifiers: []uint32{1}}}, ProtocolError},
		{"UNSUBACK no codes", V5, &Unsuback{PacketID: 1}, ProtocolError},
		{"UNSUBACK reason not allowed", V5, &Unsuback{PacketID: 1, ReasonCodes: []ReasonCode{GrantedQoS1}}, ProtocolError},
		{"DISCONNECT reason not allowed", V5, &Disconnect{ReasonCode: GrantedQoS1}, ProtocolError},
		{"AUTH on 3.1.1", V311, &Auth{}, ProtocolError},
		{"AUTH reason not allowed", V5, &Auth{ReasonCode: UnspecifiedError}, ProtocolError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := Encode(dst, tc.packet, tc.version)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Encode error = %v, want *Error", err)
			}
			if e.Code != tc.code {
				t.Errorf("code = %v (%s), want %v", e.Code, e.Reason, tc.code)
			}
			if string(got) != "keep" {
				t.Errorf("dst changed to %q", got)
			}
			if s := Size(tc.packet, tc.version); s != -1 {
				t.Errorf("Size = %d, want -1", s)
			}
		})
	}
}

// TestZeroAllocs pins the hot-path guarantees the benchmarks report.
func TestZeroAllocs(t *testing.T) {
	pub := &Publish{QoS: 1, Topic: "sensors/a/temp", PacketID: 9, Payload: make([]byte, 64),
		Properties: Properties{ContentType: "text/plain", MessageExpiryInterval: 30, CorrelationData: []byte("c"),
			ResponseTopic: "r/1", SubscriptionIdentifiers: []uint32{5}, TopicAlias: 1}}
	for _, v := range []byte{V311, V5} {
		buf, err := Encode(nil, pub, v)
		if err != nil {
			t.Fatal(err)
		}
		d := NewDecoder(v, 0)
		if n := testing.AllocsPerRun(100, func() {
			if _, _, err := d.DecodePacket(buf); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("v%d PUBLISH decode: %v allocs, want 0", v, n)
		}
		dst := make([]byte, 0, 256)
		if n := testing.AllocsPerRun(100, func() {
			if _, err := Encode(dst[:0], pub, v); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("v%d PUBLISH encode: %v allocs, want 0", v, n)
		}
	}
}

func TestCodecInterface(t *testing.T) {
	var c codec.Codec = NewDecoder(V311, 0)
	if _, err := c.Encode(nil, "not a packet"); err == nil {
		t.Error("Encode of a non-packet frame succeeded")
	}
	f, n, err := c.Decode([]byte("\x40\x02\x00\x01"))
	if err != nil || n != 4 {
		t.Fatalf("Decode = %v, %d, %v", f, n, err)
	}
	if _, ok := f.(*Puback); !ok {
		t.Fatalf("frame is %T, want *Puback", f)
	}
	if f, _, err := c.Decode([]byte("\x40\x02\x00\x00")); f != nil || err == nil {
		t.Fatalf("Decode of bad packet = %v, %v; want nil frame and an error", f, err)
	}
}

package sn

import "testing"

func BenchmarkDecodePublish(b *testing.B) {
	raw, _ := Encode(nil, &Publish{QoS: 1, TopicID: 1025, MsgID: 7, Data: make([]byte, 64)})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodePublish(b *testing.B) {
	p := &Publish{QoS: 1, TopicID: 1025, MsgID: 7, Data: make([]byte, 64)}
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = Encode(buf[:0], p)
	}
}

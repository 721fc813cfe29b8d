package stomp

import (
	"testing"

	"github.com/go-stomp/stomp/v3/frame"
)

func BenchmarkDecodeSend(b *testing.B) {
	raw := []byte("SEND\ndestination:chat/lobby\ncontent-type:text/plain\ncontent-length:11\n\nhello world\x00")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(raw, V12, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeMessage(b *testing.B) {
	f := &frame.Frame{Command: frame.MESSAGE, Header: frame.NewHeader("subscription", "0", "message-id", "12",
		"destination", "chat/lobby", "content-type", "text/plain"), Body: []byte("hello world")}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = Encode(buf[:0], f, V12); err != nil {
			b.Fatal(err)
		}
	}
}

package edge

import (
	"errors"
	"testing"
)

// seedFrame is a masked client frame (zero key) for the fuzz seeds.
func seedFrame(b0 byte, payload []byte) []byte {
	b := []byte{b0, 0x80 | byte(len(payload)), 0, 0, 0, 0}
	return append(b, payload...)
}

// FuzzWSFrames feeds arbitrary bytes to the WebSocket frame reader as a
// client's stream after the handshake: frame headers are parsed and checked,
// payloads unmasked, close payloads validated, fragmentation tracked as the
// connection does. It must never panic, never claim a header longer than
// the bytes it was given, and refuse only with the edge's WebSocket errors.
func FuzzWSFrames(f *testing.F) {
	f.Add(seedFrame(0x82, []byte("hello")))                                      // binary
	f.Add(append(seedFrame(0x02, []byte("a")), seedFrame(0x80, []byte("b"))...)) // fragmented
	f.Add(seedFrame(0x88, []byte{0x03, 0xe8, 'b', 'y', 'e'}))                    // close 1000
	f.Add(seedFrame(0x89, []byte("ping")))                                       // ping
	f.Add([]byte{0x82, 0xFE, 0x01, 0x00, 1, 2, 3, 4})                            // 16-bit length
	f.Add([]byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})             // 64-bit, high bit
	f.Add([]byte{0x81, 0x80, 0, 0, 0, 0})                                        // text
	cfg := DefaultWSConfig()
	cfg.MaxFrameSize = 1 << 16
	set := newWSSettings(cfg)
	f.Fuzz(func(t *testing.T, b []byte) {
		w := newWSConn(set)
		for len(b) > 0 {
			h, err := w.parseFrameHeader(b)
			if err != nil {
				if !errors.Is(err, ErrWSProtocol) && !errors.Is(err, ErrWSUnsupportedData) && !errors.Is(err, ErrWSFrameTooLarge) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if h.size == 0 {
				if len(b) >= 14 {
					t.Fatalf("%d bytes called an incomplete header", len(b))
				}
				return // incomplete
			}
			if h.size > len(b) || (h.size != 6 && h.size != 8 && h.size != 14) {
				t.Fatalf("header size %d of %d bytes", h.size, len(b))
			}
			if h.length > uint64(len(b)-h.size) {
				return // the payload has not arrived
			}
			p := append([]byte(nil), b[h.size:h.size+int(h.length)]...)
			mask(h.key, 0, p)
			switch h.op {
			case opClose:
				if err := w.checkClose(p); err != nil && !errors.Is(err, ErrWSProtocol) && !errors.Is(err, ErrWSInvalidClose) {
					t.Fatalf("close payload % x: unexpected error %v", p, err)
				}
				return // nothing is read after a close
			case opBinary:
				w.fragmented = !h.fin
			case opContinuation:
				w.fragmented = !h.fin
			}
			b = b[h.size+int(h.length):]
		}
	})
}

// FuzzWSHandshake feeds arbitrary request heads to the upgrade request
// parser and checker: no panic, and a refusal is an HTTP error status.
func FuzzWSHandshake(f *testing.F) {
	f.Add([]byte("GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Add([]byte("POST /mqtt HTTP/1.1\r\nUpgrade: websocket\r\n"))
	set := newWSSettings(DefaultWSConfig())
	f.Fuzz(func(t *testing.T, head []byte) {
		var r upgradeRequest
		herr := set.parseRequest(head, &r)
		if herr == nil {
			herr = set.checkRequest(&r)
		}
		if herr != nil && (herr.status < 400 || herr.status > 599) {
			t.Fatalf("refused with status %d", herr.status)
		}
	})
}

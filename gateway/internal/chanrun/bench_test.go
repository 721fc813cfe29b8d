package chanrun

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
)

// byteCodec frames single bytes, boxed without allocating.
type byteCodec struct{}

func (byteCodec) Decode(b []byte) (codec.Frame, int, error) {
	if len(b) == 0 {
		return nil, 0, codec.ErrIncomplete
	}
	return b[0], 1, nil
}

func (byteCodec) Encode(dst []byte, f codec.Frame) ([]byte, error) { return append(dst, f.(byte)), nil }

// echoChannel echoes every frame and answers HandleDeliver with one frame,
// from a Replies buffer it reuses, as real channels do.
type echoChannel struct {
	fakeChannel
	out [1]codec.Frame
}

func (c *echoChannel) Codec() codec.Codec { return byteCodec{} }

func (c *echoChannel) HandleIn(f codec.Frame) adapters.Replies {
	c.out[0] = f
	return adapters.Replies{Out: c.out[:]}
}

func (c *echoChannel) HandleDeliver() adapters.Replies {
	c.out[0] = byte('d')
	return adapters.Replies{Out: c.out[:]}
}

func (c *echoChannel) HandleEvent(ev any) adapters.Replies {
	c.out[0] = ev
	return adapters.Replies{Out: c.out[:]}
}

type nopTransport struct{ n int }

func (t *nopTransport) Send(b []byte) { t.n += len(b) }

func benchRunner(b *testing.B, cfg Config) *Runner {
	log := zerolog.Nop()
	cfg.Log, cfg.Name, cfg.MaxInbound = &log, "bench", 1<<10
	r := &Runner{}
	r.Init(cfg, &nopTransport{})
	r.Start(&echoChannel{})
	b.ReportAllocs()
	return r
}

// BenchmarkStreamMessage is one read of 16 one-byte frames: Buffer, Decode
// (HandleIn, Apply, encode per frame) and one Flush.
func BenchmarkStreamMessage(b *testing.B) {
	r := benchRunner(b, Config{Room: 14})
	msg := []byte("0123456789abcdef")
	for b.Loop() {
		r.Buffer(msg)
		r.Decode()
		r.Flush()
	}
}

// BenchmarkDatagramMessage is the same 16 frames, each sent on its own.
func BenchmarkDatagramMessage(b *testing.B) {
	r := benchRunner(b, Config{PerFrame: true})
	ch := r.Channel()
	for b.Loop() {
		for i := range 16 {
			r.Apply(ch.HandleIn(byte(i)))
		}
		r.Flush()
	}
}

// BenchmarkNotifyDeliver is Notify from another goroutine's point of view
// and the owner's wake-up: HandleDeliver, Apply, Flush.
func BenchmarkNotifyDeliver(b *testing.B) {
	r := benchRunner(b, Config{})
	for b.Loop() {
		r.Notify()
		<-r.wake
		r.onWake()
	}
}

// BenchmarkPostEvent is one Post and the wake-up that runs it.
func BenchmarkPostEvent(b *testing.B) {
	r := benchRunner(b, Config{})
	ev := any(byte('e'))
	for b.Loop() {
		r.Post(ev)
		<-r.wake
		r.onWake()
	}
}

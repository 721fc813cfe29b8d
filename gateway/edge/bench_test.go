package edge

import (
	"bufio"
	"context"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
)

func benchConfig() TCPConfig {
	cfg := testConfig()
	cfg.Loops = 1
	return cfg
}

// BenchmarkEchoRoundTrip is one request and its reply per op, through one
// client socket: read, decode, HandleIn, encode, write, and back.
func BenchmarkEchoRoundTrip(b *testing.B) {
	a := newLineAdapter()
	s := startServer(b, benchConfig(), a)
	c := dial(b, s)
	msg := []byte("ping-0123456789-0123456789-0123456789-0123456789-0123456789-01\n") // 64 bytes
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := c.r.ReadSlice('\n'); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
}

// BenchmarkNotifyDrain is one delivered message per op: producers queue
// pre-encoded 64-byte messages and Notify; the loop runs HandleDeliver
// (64 per call), writes, and a client reads them off the socket.
func BenchmarkNotifyDrain(b *testing.B) {
	a := newLineAdapter()
	a.batch = 64
	s := startServer(b, benchConfig(), a)
	c := dial(b, s)
	ch := subscriber(b, a, c)
	h := ch.ci.Handle
	msg := codec.Frame(adapters.Raw("msg-0123456789-0123456789-0123456789-0123456789-0123456789-0123\n"))
	chunk := make([]codec.Frame, 64)
	for i := range chunk {
		chunk[i] = msg
	}

	done := make(chan error, 1)
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for i := 0; i < b.N; i++ {
			if _, err := c.r.ReadSlice('\n'); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for sent := 0; sent < b.N; {
		n := min(len(chunk), b.N-sent)
		for ch.queued() > 4096 { // keep the queue bounded, as the core does
			runtime.Gosched()
		}
		ch.enqueueFrames(chunk[:n]...)
		h.Notify()
		sent += n
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// rawEcho is a bare gnet echo handler: the edge's floor.
type rawEcho struct {
	gnet.BuiltinEventEngine
	eng    gnet.Engine
	booted chan struct{}
}

func (e *rawEcho) OnBoot(eng gnet.Engine) gnet.Action {
	e.eng = eng
	close(e.booted)
	return gnet.None
}

func (e *rawEcho) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	_, _ = c.Write(buf)
	return gnet.None
}

// BenchmarkEchoRoundTripGnetRaw is the same round trip against a bare gnet
// echo handler (no codec, no channel): what gnet itself costs.
func BenchmarkEchoRoundTripGnetRaw(b *testing.B) {
	e := &rawEcho{booted: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gnet.Run(e, "tcp://127.0.0.1:0", gnet.WithNumEventLoop(1), gnet.WithLogger(gnetLogger{log: testLogger(b)}))
	}()
	<-e.booted
	addr, err := boundAddr(e.eng)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = e.eng.Stop(context.Background()); <-done }()
	nc, err := net.Dial("tcp", addr.String())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReader(nc)
	msg := []byte("ping-0123456789-0123456789-0123456789-0123456789-0123456789-01\n")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := nc.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := r.ReadSlice('\n'); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
}

// BenchmarkEchoRoundTripStdlib is the same round trip against a goroutine
// per connection net.Conn echo server: the reference for the one above,
// to be compared in the same run.
func BenchmarkEchoRoundTripStdlib(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := nc.Read(buf)
					if err != nil {
						return
					}
					if _, err := nc.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReader(nc)
	msg := []byte("ping-0123456789-0123456789-0123456789-0123456789-0123456789-01\n")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := nc.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := r.ReadSlice('\n'); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
}

// BenchmarkWSEchoRoundTrip is BenchmarkEchoRoundTrip over WebSocket: one
// masked binary frame in, unmasked in place, decoded, echoed in one frame.
func BenchmarkWSEchoRoundTrip(b *testing.B) {
	a := newLineAdapter()
	cfg := wsTestConfig()
	cfg.TCPConfig = benchConfig()
	s := startWS(b, cfg, a, nil)
	c := dialWSRaw(b, s)
	c.upgrade()
	line := []byte("ping-0123456789-0123456789-0123456789-0123456789-0123456789-01\n")
	msg := c.frame(true, opBinary, line, false)
	var hdr [2]byte
	reply := make([]byte, len(line))
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c.r, hdr[:]); err != nil || hdr[0] != 0x82 || int(hdr[1]) != len(line) {
			b.Fatalf("frame header %x %v", hdr, err)
		}
		if _, err := io.ReadFull(c.r, reply); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
}

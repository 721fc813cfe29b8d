package chanrun

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
	"github.com/manifold-iot/manifold/gateway/edge"
)

var (
	errBadLine = errors.New("empty line")
	errStop    = errors.New("stopped")
	errDone    = errors.New("done")
)

// lineCodec frames strings as lines; an empty line is malformed.
type lineCodec struct{}

func (lineCodec) Decode(b []byte) (codec.Frame, int, error) {
	i := bytes.IndexByte(b, '\n')
	switch {
	case i < 0:
		return nil, 0, codec.ErrIncomplete
	case i == 0:
		return nil, 0, errBadLine
	}
	return string(b[:i]), i + 1, nil
}

func (lineCodec) Encode(dst []byte, f codec.Frame) ([]byte, error) {
	s, ok := f.(string)
	if !ok {
		return dst, errors.New("not a string")
	}
	return append(append(dst, s...), '\n'), nil
}

// fakeChannel answers with what its fields say; nil fields answer nothing.
// It runs on the owner goroutine only.
type fakeChannel struct {
	open    func() adapters.Replies
	in      func(f codec.Frame) adapters.Replies
	deliver func() adapters.Replies
	timeout func(id adapters.TimerID) adapters.Replies
	closes  atomic.Int32
}

func (c *fakeChannel) Codec() codec.Codec { return lineCodec{} }

func (c *fakeChannel) Open() adapters.Replies { return call0(c.open) }

func (c *fakeChannel) HandleIn(f codec.Frame) adapters.Replies {
	if c.in == nil {
		return adapters.Replies{Out: []codec.Frame{f}} // echo
	}
	return c.in(f)
}

func (c *fakeChannel) HandleFrameError(err error) adapters.Replies {
	return adapters.Replies{Out: []codec.Frame{"bad: " + err.Error()}}
}

func (c *fakeChannel) HandleDeliver() adapters.Replies { return call0(c.deliver) }

func (c *fakeChannel) HandleTimeout(id adapters.TimerID, _ time.Time) adapters.Replies {
	if c.timeout == nil {
		return adapters.Replies{}
	}
	return c.timeout(id)
}

func (c *fakeChannel) HandleEvent(ev any) adapters.Replies {
	if ev == errDone {
		return adapters.Replies{Shutdown: errDone}
	}
	return adapters.Replies{Out: []codec.Frame{ev}}
}

func (c *fakeChannel) Close(error) { c.closes.Add(1) }

func call0(f func() adapters.Replies) adapters.Replies {
	if f == nil {
		return adapters.Replies{}
	}
	return f()
}

// harness runs a Runner over a fake stream transport.
type harness struct {
	r    Runner
	ch   *fakeChannel
	in   chan []byte   // capacity 4: inputs given before start are read first
	sent chan string   // every Send, headroom included
	stop chan struct{} // closing it stops the run with errStop
	done chan struct{} // closed after Close
}

func newHarness(cfg Config, ch *fakeChannel) *harness {
	log := zerolog.Nop()
	cfg.Log, cfg.Peer, cfg.Name = &log, netip.MustParseAddrPort("127.0.0.1:1"), "test"
	if cfg.MaxInbound == 0 {
		cfg.MaxInbound = 1 << 10
	}
	h := &harness{ch: ch, in: make(chan []byte, 4), sent: make(chan string, 64),
		stop: make(chan struct{}), done: make(chan struct{})}
	h.r.Init(cfg, h)
	return h
}

func (h *harness) Send(b []byte) { h.sent <- string(b) }

func (h *harness) start() {
	h.r.Start(h.ch)
	go func() {
		defer close(h.done)
		Run(&h.r, h.in, func(b []byte) { h.r.Buffer(b); h.r.Decode(); h.r.Flush() }, h.stop, errStop)
		reason, _ := h.r.Reason()
		h.r.Close(reason)
	}()
}

// next is the next Send, within 5 s.
func (h *harness) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-h.sent:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("nothing sent within 5 s")
		return ""
	}
}

// end waits for the run to end and returns its close reason.
func (h *harness) end(t *testing.T) (error, bool) {
	t.Helper()
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the run did not end within 5 s")
	}
	if n := h.ch.closes.Load(); n != 1 {
		t.Fatalf("Close called %d times, want 1", n)
	}
	return h.r.Reason()
}

// nothingMore fails if anything else was sent.
func (h *harness) nothingMore(t *testing.T) {
	t.Helper()
	select {
	case s := <-h.sent:
		t.Fatalf("unexpected send %q", s)
	default:
	}
}

func frames(f ...codec.Frame) []codec.Frame { return f }

func TestOutput(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		out  []codec.Frame
		want []string
	}{
		{"one event is one send", Config{}, frames(adapters.Raw("raw\n"), "a", "b"), []string{"raw\na\nb\n"}},
		{"per frame", Config{PerFrame: true}, frames("a", adapters.Raw("raw\n"), "b"), []string{"a\n", "raw\n", "b\n"}},
		{"headroom", Config{Room: 3}, frames("a", "b"), []string{"\x00\x00\x00a\nb\n"}},
		{"nothing to send", Config{}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(tt.cfg, &fakeChannel{open: func() adapters.Replies {
				return adapters.Replies{Out: tt.out}
			}})
			h.start()
			for _, w := range tt.want {
				if got := h.next(t); got != w {
					t.Fatalf("sent %q, want %q", got, w)
				}
			}
			close(h.stop)
			if reason, chose := h.end(t); reason != errStop || chose {
				t.Fatalf("reason %v chose %v, want %v by the driver", reason, chose, errStop)
			}
			h.nothingMore(t)
		})
	}
}

func TestHandle(t *testing.T) {
	t.Run("posts run in order in one send", func(t *testing.T) {
		h := newHarness(Config{}, &fakeChannel{})
		h.r.Post("x")
		h.r.Post("y")
		h.start()
		if got := h.next(t); got != "x\ny\n" {
			t.Fatalf("sent %q", got)
		}
		h.r.Post(errDone)
		if reason, chose := h.end(t); reason != errDone || !chose {
			t.Fatalf("reason %v chose %v, want %v by the channel", reason, chose, errDone)
		}
		h.r.Post("late")
		h.r.pmu.Lock()
		n := len(h.r.posts)
		h.r.pmu.Unlock()
		if n != 0 {
			t.Fatalf("%d events queued after the close", n)
		}
	})
	t.Run("MaxPosts drops the excess", func(t *testing.T) {
		h := newHarness(Config{MaxPosts: 2}, &fakeChannel{})
		for _, ev := range []string{"x", "y", "z"} {
			h.r.Post(ev)
		}
		h.start()
		if got := h.next(t); got != "x\ny\n" {
			t.Fatalf("sent %q", got)
		}
		h.r.Post(errDone)
		h.end(t)
		h.nothingMore(t)
	})
	t.Run("More calls HandleDeliver again", func(t *testing.T) {
		n := 0
		h := newHarness(Config{}, &fakeChannel{deliver: func() adapters.Replies {
			n++
			if n == 3 {
				return adapters.Replies{Shutdown: errDone}
			}
			return adapters.Replies{Out: frames("d"), More: n < 2}
		}})
		h.start()
		h.r.Notify()
		h.r.Notify() // coalesced, or a second round: either way HandleDeliver is not called concurrently
		for range 2 {
			if got := h.next(t); got != "d\n" {
				t.Fatalf("sent %q", got)
			}
		}
		h.r.Notify()
		if reason, _ := h.end(t); reason != errDone {
			t.Fatalf("reason %v", reason)
		}
	})
}

func TestTimers(t *testing.T) {
	t.Run("a due timer fires, a cancelled one does not", func(t *testing.T) {
		var fired []adapters.TimerID
		h := newHarness(Config{}, &fakeChannel{
			open: func() adapters.Replies {
				return adapters.Replies{Timers: []adapters.Timer{
					{ID: 1, After: 10 * time.Millisecond}, {ID: 2, After: 5 * time.Millisecond}, {ID: 2},
				}}
			},
			timeout: func(id adapters.TimerID) adapters.Replies {
				fired = append(fired, id)
				return adapters.Replies{Out: frames("t"), Shutdown: errDone}
			},
		})
		h.start()
		if got := h.next(t); got != "t\n" {
			t.Fatalf("sent %q", got)
		}
		if reason, _ := h.end(t); reason != errDone {
			t.Fatalf("reason %v", reason)
		}
		if len(fired) != 1 || fired[0] != 1 {
			t.Fatalf("fired %v, want [1]", fired)
		}
	})
	t.Run("idle deadline closes a silent connection", func(t *testing.T) {
		h := newHarness(Config{}, &fakeChannel{})
		h.r.SetIdle(10 * time.Millisecond)
		h.start()
		if reason, chose := h.end(t); reason != edge.ErrIdleTimeout || !chose {
			t.Fatalf("reason %v chose %v", reason, chose)
		}
	})
	t.Run("a decoded frame turns the idle deadline off", func(t *testing.T) {
		var h *harness
		idleOn := true
		h = newHarness(Config{}, &fakeChannel{
			in: func(codec.Frame) adapters.Replies {
				idleOn = !h.r.idleAt.IsZero()
				return adapters.Replies{Timers: []adapters.Timer{{ID: 1, After: time.Millisecond}}}
			},
			timeout: func(adapters.TimerID) adapters.Replies { return adapters.Replies{Shutdown: errDone} },
		})
		h.r.SetIdle(time.Hour)
		h.in <- []byte("a\n")
		h.start()
		if reason, _ := h.end(t); reason != errDone {
			t.Fatalf("reason %v, want the channel's timer's %v", reason, errDone)
		}
		if idleOn {
			t.Fatal("the idle deadline is still set after a frame")
		}
	})
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name       string
		maxInbound int
		in         []string
		want       []string // sends
		reason     string   // "" while open (then stopped)
	}{
		{"frames split across reads", 0, []string{"ab", "c\nd\n"}, []string{"abc\nd\n"}, ""},
		{"malformed", 0, []string{"a\n\n"}, []string{"a\nbad: empty line\n"}, errBadLine.Error()},
		{"too much unread", 4, []string{"ok\nabcde"}, []string{"ok\nbad: " + edge.ErrInboundTooLarge.Error() + "\n"},
			edge.ErrInboundTooLarge.Error()},
		{"unencodable reply", 0, []string{"enc\n"}, nil, "test: encode int: not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(Config{MaxInbound: tt.maxInbound}, &fakeChannel{in: func(f codec.Frame) adapters.Replies {
				if f == "enc" {
					return adapters.Replies{Out: frames(42)}
				}
				return adapters.Replies{Out: frames(f)}
			}})
			for _, b := range tt.in {
				h.in <- []byte(b)
			}
			h.start()
			for _, w := range tt.want {
				if got := h.next(t); got != w {
					t.Fatalf("sent %q, want %q", got, w)
				}
			}
			if tt.reason == "" {
				close(h.stop)
			}
			reason, chose := h.end(t)
			if tt.reason == "" {
				if reason != errStop {
					t.Fatalf("reason %v, want %v", reason, errStop)
				}
				return
			}
			if reason == nil || !strings.Contains(reason.Error(), tt.reason) || !chose {
				t.Fatalf("reason %v chose %v, want %q by the edge", reason, chose, tt.reason)
			}
			h.nothingMore(t)
		})
	}
}

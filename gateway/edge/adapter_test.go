package edge

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
)

// The line protocol: a frame is a line ending in '\n'; Encode appends the
// line and '\n'. Its adapter is a real adapters.Adapter whose channel:
//
//	QUIT        replies BYE and shuts down
//	TIMER <ms>  replies OK and sets timer 1, which replies TICK
//	CANCEL      replies CANCELLED and cancels timer 1
//	SUB         replies SUBSCRIBED and registers the channel for deliveries
//	anything    is echoed
//
// Deliveries are lines queued with enqueue and sent by HandleDeliver, at
// most batch per call (More when more wait). Posted events are written as
// lines; the event "kick" replies KICKED and shuts down.

var (
	errLineTooLong = errors.New("line: too long")
	errQuit        = errors.New("line: quit")
	errKicked      = errors.New("line: kicked")
	errRefused     = errors.New("line: refused")
)

// lineFrame is a decoded line; it points into the edge's inbound buffer,
// and the codec reuses it for the next frame (so decoding allocates nothing).
type lineFrame struct{ b []byte }

type lineCodec struct {
	max int
	f   lineFrame
}

func (lc *lineCodec) Decode(buf []byte) (codec.Frame, int, error) {
	limit := len(buf)
	if limit > lc.max+1 {
		limit = lc.max + 1
	}
	i := bytes.IndexByte(buf[:limit], '\n')
	if i < 0 {
		if len(buf) > lc.max {
			return nil, 0, errLineTooLong
		}
		return nil, 0, codec.ErrIncomplete
	}
	lc.f.b = buf[:i]
	return &lc.f, i + 1, nil
}

func (lc *lineCodec) Encode(dst []byte, f codec.Frame) ([]byte, error) {
	switch v := f.(type) {
	case *lineFrame:
		dst = append(dst, v.b...)
	case string:
		dst = append(dst, v...)
	default:
		return dst, fmt.Errorf("line: cannot encode %T", f)
	}
	return append(dst, '\n'), nil
}

type lineAdapter struct {
	max    int  // longest line
	batch  int  // deliveries per HandleDeliver
	greet  bool // Open replies HELLO
	refuse atomic.Bool

	mu    sync.Mutex
	chans []*lineChannel
	subs  chan *lineChannel
}

func newLineAdapter() *lineAdapter {
	return &lineAdapter{max: 1024, batch: 16, subs: make(chan *lineChannel, 64)}
}

func (a *lineAdapter) Name() string { return "line" }

func (a *lineAdapter) NewChannel(ci adapters.ConnInfo, _ adapters.Context) (adapters.Channel, error) {
	if a.refuse.Load() {
		return nil, errRefused
	}
	ch := &lineChannel{a: a, ci: ci, codec: &lineCodec{max: a.max}}
	a.mu.Lock()
	a.chans = append(a.chans, ch)
	a.mu.Unlock()
	return ch, nil
}

func (a *lineAdapter) channels() []*lineChannel {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*lineChannel(nil), a.chans...)
}

type lineChannel struct {
	a     *lineAdapter
	ci    adapters.ConnInfo
	codec *lineCodec

	// Touched only in channel methods, without locks: the race detector
	// proves the edge calls them one at a time, on the loop.
	out    []codec.Frame
	timers []adapters.Timer
	closed bool

	closes     atomic.Int32
	afterClose atomic.Int32 // calls made after Close: must stay 0
	timeouts   atomic.Int32
	delivers   atomic.Int32
	frameErrs  atomic.Int32
	reasonMu   sync.Mutex
	reason     error

	qmu       sync.Mutex
	queue     []codec.Frame
	delivered atomic.Int64
}

func (ch *lineChannel) check() {
	if ch.closed {
		ch.afterClose.Add(1)
	}
}

func (ch *lineChannel) reply(frames ...codec.Frame) adapters.Replies {
	ch.out = append(ch.out[:0], frames...)
	return adapters.Replies{Out: ch.out}
}

func (ch *lineChannel) Codec() codec.Codec { return ch.codec }

func (ch *lineChannel) Open() adapters.Replies {
	ch.check()
	if ch.a.greet {
		return ch.reply("HELLO")
	}
	return adapters.Replies{}
}

func (ch *lineChannel) HandleIn(f codec.Frame) adapters.Replies {
	ch.check()
	l := f.(*lineFrame).b
	switch {
	case string(l) == "QUIT":
		r := ch.reply("BYE")
		r.Shutdown = errQuit
		return r
	case bytes.HasPrefix(l, []byte("TIMER ")):
		ms, _ := strconv.Atoi(string(l[len("TIMER "):]))
		r := ch.reply("OK")
		ch.timers = append(ch.timers[:0], adapters.Timer{ID: 1, After: time.Duration(ms) * time.Millisecond})
		r.Timers = ch.timers
		return r
	case string(l) == "CANCEL":
		r := ch.reply("CANCELLED")
		ch.timers = append(ch.timers[:0], adapters.Timer{ID: 1})
		r.Timers = ch.timers
		return r
	case string(l) == "SUB":
		ch.a.subs <- ch
		return ch.reply("SUBSCRIBED")
	}
	return ch.reply(f) // zero-copy echo: f points into the inbound buffer
}

func (ch *lineChannel) HandleFrameError(err error) adapters.Replies {
	ch.check()
	ch.frameErrs.Add(1)
	return ch.reply("ERR " + err.Error())
}

// enqueue queues lines for delivery (any goroutine); the caller notifies.
func (ch *lineChannel) enqueue(lines ...string) {
	ch.qmu.Lock()
	for _, l := range lines {
		ch.queue = append(ch.queue, l)
	}
	ch.qmu.Unlock()
}

// enqueueFrames queues frames (a Raw is sent as it is: pre-encoded bytes
// shared by every delivery, as a broker shares one encoded PUBLISH).
func (ch *lineChannel) enqueueFrames(frames ...codec.Frame) {
	ch.qmu.Lock()
	ch.queue = append(ch.queue, frames...)
	ch.qmu.Unlock()
}

func (ch *lineChannel) queued() int {
	ch.qmu.Lock()
	defer ch.qmu.Unlock()
	return len(ch.queue)
}

func (ch *lineChannel) HandleDeliver() adapters.Replies {
	ch.check()
	ch.delivers.Add(1)
	ch.out = ch.out[:0]
	ch.qmu.Lock()
	n := min(len(ch.queue), ch.a.batch)
	ch.out = append(ch.out, ch.queue[:n]...)
	clear(ch.queue[:n])
	ch.queue = ch.queue[n:]
	more := len(ch.queue) > 0
	ch.qmu.Unlock()
	ch.delivered.Add(int64(n))
	return adapters.Replies{Out: ch.out, More: more}
}

func (ch *lineChannel) HandleTimeout(id adapters.TimerID, _ time.Time) adapters.Replies {
	ch.check()
	ch.timeouts.Add(1)
	return ch.reply("TICK")
}

func (ch *lineChannel) HandleEvent(ev any) adapters.Replies {
	ch.check()
	if ev == "kick" {
		r := ch.reply("KICKED")
		r.Shutdown = errKicked
		return r
	}
	return ch.reply(fmt.Sprint(ev))
}

func (ch *lineChannel) Close(reason error) {
	ch.check()
	ch.closed = true
	ch.closes.Add(1)
	ch.reasonMu.Lock()
	ch.reason = reason
	ch.reasonMu.Unlock()
}

func (ch *lineChannel) closeReason() error {
	ch.reasonMu.Lock()
	defer ch.reasonMu.Unlock()
	return ch.reason
}

func (ch *lineChannel) String() string {
	return fmt.Sprintf("closes=%d afterClose=%d timeouts=%d delivers=%d reason=%v",
		ch.closes.Load(), ch.afterClose.Load(), ch.timeouts.Load(), ch.delivers.Load(), ch.closeReason())
}

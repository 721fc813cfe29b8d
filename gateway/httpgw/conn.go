package httpgw

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
	"github.com/manifold-iot/manifold/gateway/edge"
)

// transport is one session's message channel to the peer.
type transport interface {
	// recv blocks for the next message; an error ends the session.
	recv() ([]byte, error)
	// send writes one message.
	send(b []byte) error
	// shut ends the session: a close frame saying why if graceful, then the
	// connection is released and recv returns an error.
	shut(graceful bool, reason error)
}

// inbound is what the reader hands to the owner.
type inbound struct {
	b   []byte
	err error
}

// conn drives one session's Channel; see the package doc.
type conn struct {
	s        *Server
	t        transport
	ch       adapters.Channel
	remote   netip.AddrPort
	local    netip.AddrPort
	textOnly bool

	notified atomic.Bool
	dead     atomic.Bool
	pmu      sync.Mutex
	posts    []any // guarded by pmu
	wake     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	inCh     chan inbound
	quit     chan struct{}
	rdone    chan struct{}

	// owner-only
	in      []byte
	out     []byte
	timers  []slot
	tm      *time.Timer
	tmAt    time.Time
	closing bool
	reason  error
	chose   bool
	broken  bool
	ended   bool
}

type slot struct {
	id    adapters.TimerID
	armed bool
	at    time.Time
}

var _ adapters.Handle = (*conn)(nil)

func newConn(s *Server, t transport, remote, local netip.AddrPort, textOnly bool) *conn {
	return &conn{
		s: s, t: t, remote: remote, local: local, textOnly: textOnly,
		wake:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		inCh:  make(chan inbound),
		quit:  make(chan struct{}),
		rdone: make(chan struct{}),
	}
}

// Notify implements adapters.Handle.
func (c *conn) Notify() {
	if c.notified.CompareAndSwap(false, true) {
		c.signal()
	}
}

// Post implements adapters.Handle.
func (c *conn) Post(ev any) {
	if c.dead.Load() {
		return
	}
	c.pmu.Lock()
	c.posts = append(c.posts, ev)
	c.pmu.Unlock()
	c.signal()
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// kill is Server.Stop's way in.
func (c *conn) kill() { c.stopOnce.Do(func() { close(c.stop) }) }

// serve runs the session on the calling goroutine until it ends.
func (c *conn) serve(listener string) {
	ci := adapters.ConnInfo{Listener: listener, Local: c.local, Remote: c.remote, Handle: c, TextOnly: c.textOnly}
	ch, err := c.s.adapter.NewChannel(ci, c.s.ctx)
	if err != nil {
		c.s.log.Info().Err(err).Str("peer", c.remote.String()).Msg("connection_refused")
		c.t.shut(false, err)
		return
	}
	c.ch = ch
	c.tm = time.NewTimer(time.Hour)
	c.tm.Stop()
	go c.read()
	c.apply(ch.Open())
	c.flush()
	for !c.closing {
		c.rearm()
		select {
		case m := <-c.inCh:
			c.onInbound(m)
		case <-c.wake:
			c.onWake()
		case <-c.tm.C:
			c.tmAt = time.Time{}
			c.onTimers()
		case <-c.stop:
			c.beginClose(edge.ErrServerClosed, false)
		}
	}
	c.finish()
}

func (c *conn) onInbound(m inbound) {
	if m.err != nil {
		c.ended = true
		c.beginClose(nil, false) // the peer went away
		return
	}
	c.in = append(c.in, m.b...)
	c.decode()
	c.flush()
}

// decode hands every complete frame in c.in to HandleIn.
func (c *conn) decode() {
	used := 0
	var frameErr error
	for used < len(c.in) && !c.closing {
		f, n, err := c.ch.Codec().Decode(c.in[used:])
		if err != nil {
			if !errors.Is(err, codec.ErrIncomplete) {
				frameErr = err
			}
			break
		}
		if n <= 0 || n > len(c.in)-used {
			frameErr = edge.ErrNoProgress
			break
		}
		used += n
		c.apply(c.ch.HandleIn(f))
	}
	if frameErr == nil && !c.closing && len(c.in)-used > c.s.cfg.MaxInboundBuffered {
		frameErr = edge.ErrInboundTooLarge
	}
	if frameErr != nil && !c.closing {
		if e := c.s.log.Debug(); e.Enabled() {
			e.Err(frameErr).Str("peer", c.remote.String()).Msg("parse_frame_failed")
		}
		if err := c.encode(c.ch.HandleFrameError(frameErr).Out); err != nil {
			frameErr = err
		}
		c.beginClose(frameErr, true)
	}
	if c.closing {
		used = len(c.in)
	}
	n := copy(c.in, c.in[used:])
	c.in = c.in[:n]
	if n == 0 && cap(c.in) > 1<<20 {
		c.in = nil
	}
}

func (c *conn) onWake() {
	c.pmu.Lock()
	posts := c.posts
	c.posts = nil
	c.pmu.Unlock()
	for _, ev := range posts {
		if !c.closing {
			c.apply(c.ch.HandleEvent(ev))
		}
	}
	if !c.closing && c.notified.Swap(false) {
		r := c.ch.HandleDeliver()
		more := r.More
		c.apply(r)
		if more && !c.closing && c.notified.CompareAndSwap(false, true) {
			c.signal()
		}
	}
	c.flush()
}

func (c *conn) onTimers() {
	now := time.Now()
	for i := 0; i < len(c.timers) && !c.closing; i++ {
		if t := c.timers[i]; t.armed && !now.Before(t.at) {
			c.timers[i].armed = false
			c.apply(c.ch.HandleTimeout(t.id, now))
		}
	}
	c.flush()
}

func (c *conn) apply(r adapters.Replies) {
	if err := c.encode(r.Out); err != nil {
		c.beginClose(err, true)
		return
	}
	if r.Shutdown != nil {
		c.beginClose(r.Shutdown, true)
		return
	}
	now := time.Now()
	for _, t := range r.Timers {
		c.setTimer(t, now)
	}
}

func (c *conn) encode(frames []codec.Frame) error {
	for _, f := range frames {
		if raw, ok := f.(adapters.Raw); ok {
			c.out = append(c.out, raw...)
			continue
		}
		b, err := c.ch.Codec().Encode(c.out, f)
		if err != nil {
			c.s.log.Error().Err(err).Str("frame", fmt.Sprintf("%T", f)).Str("peer", c.remote.String()).Msg("encode_frame_failed")
			return fmt.Errorf("httpgw: encode %T: %w", f, err)
		}
		c.out = b
	}
	return nil
}

// flush sends this event's output as one message.
func (c *conn) flush() {
	if len(c.out) > 0 && !c.broken {
		if err := c.t.send(c.out); err != nil {
			c.broken = true
			c.beginClose(err, false)
		}
	}
	c.out = c.out[:0]
	if cap(c.out) > 1<<20 {
		c.out = nil
	}
}

func (c *conn) beginClose(reason error, chose bool) {
	if c.closing {
		return
	}
	c.closing = true
	c.reason, c.chose = reason, chose
	c.dead.Store(true)
	c.notified.Store(true)
	c.timers = nil
}

func (c *conn) setTimer(t adapters.Timer, now time.Time) {
	for i := range c.timers {
		if c.timers[i].id == t.ID {
			c.timers[i].armed = t.After > 0
			c.timers[i].at = now.Add(t.After)
			return
		}
	}
	if t.After > 0 {
		c.timers = append(c.timers, slot{id: t.ID, armed: true, at: now.Add(t.After)})
	}
}

func (c *conn) rearm() {
	var next time.Time
	for _, t := range c.timers {
		if t.armed && (next.IsZero() || t.at.Before(next)) {
			next = t.at
		}
	}
	switch {
	case next.IsZero():
		if !c.tmAt.IsZero() {
			c.tm.Stop()
			c.tmAt = time.Time{}
		}
	case !next.Equal(c.tmAt):
		c.tm.Reset(time.Until(next))
		c.tmAt = next
	}
}

// finish closes the transport and gives the channel its last call.
func (c *conn) finish() {
	c.tm.Stop()
	c.t.shut(!c.broken && !c.ended, c.reason)
	reason := c.reason
	if !c.chose && errors.Is(reason, edge.ErrServerClosed) {
		reason = edge.ErrServerClosed
	}
	if e := c.s.log.Debug(); e.Enabled() {
		e.AnErr("reason", reason).Str("peer", c.remote.String()).Msg("connection_closed")
	}
	c.ch.Close(reason)
	close(c.quit)
	<-c.rdone
}

// read is the reader goroutine.
func (c *conn) read() {
	defer close(c.rdone)
	for {
		b, err := c.t.recv()
		select {
		case c.inCh <- inbound{b: b, err: err}:
		case <-c.quit:
			return
		}
		if err != nil {
			return
		}
	}
}

package edge

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
)

// conn drives one connection's Channel. It lives in the gnet.Conn's context
// and is the adapters.Handle the channel gets. Every field below "loop-only"
// is touched only on the connection's event loop; Notify, Post and the timer
// callbacks reach the loop through EventLoop().Execute.
type conn struct {
	ls *loopState // ls.s is the Server
	gc gnet.Conn
	ch adapters.Channel // nil while a WebSocket handshake is pending
	ws *wsConn          // WebSocket transport state; nil on a TCP listener

	// scheduled is the delivery token. Notify sets it and queues one drain;
	// the drain clears it just before HandleDeliver, so a Notify that races
	// with a drain queues another and nothing is lost. While it is set the
	// connection has exactly one pending drain: an Execute'd task, a place in
	// the loop's ready list, or a place in its parked list. After close it
	// stays set, so Notify does nothing.
	scheduled atomic.Bool
	dead      atomic.Bool // closed: Post and timers skip the trip to the loop

	// loop-only
	closed     bool  // OnClose ran, or the channel was refused: no channel call ever again
	closing    bool  // the channel or the edge chose to close: last bytes flushing
	awaitPeer  bool  // closing: wait (bounded) for the peer's FIN, so closing with its last bytes unread does not reset the connection
	halfClosed bool  // our FIN is sent (shutdown SHUT_WR)
	parked     bool  // in ls.parked (outbound over the bound, or lingering)
	ready      bool  // in ls.ready (deferred to the loop's next I/O pass)
	framed     bool  // a frame was decoded: the idle timer is off
	reason     error // why the edge or the channel closes the connection
	lingerEnd  int64 // nanoseconds since the loop's epoch
	timers     []*timerEntry
	idle       *timerEntry
	hs         *timerEntry // WebSocket handshake deadline
}

var _ adapters.Handle = (*conn)(nil)

// Notify implements adapters.Handle: schedule HandleDeliver on the loop.
// Calls made before the drain runs are coalesced into one.
func (c *conn) Notify() {
	if c.scheduled.CompareAndSwap(false, true) {
		_ = c.ls.el.Execute(bg, c) // fails only when the engine is stopping
	}
}

// Post implements adapters.Handle: schedule HandleEvent(ev) on the loop.
func (c *conn) Post(ev any) {
	if c.dead.Load() {
		return
	}
	_ = c.ls.el.Execute(bg, &postTask{c: c, ev: ev})
}

type postTask struct {
	c  *conn
	ev any
}

func (p *postTask) Run(context.Context) error {
	c := p.c
	if c.closed || c.closing {
		return nil
	}
	if c.finish(c.ch.HandleEvent(p.ev)) {
		c.closeNow()
	}
	return nil
}

// Run is the drain Notify queues (conn is its own gnet.Runnable, so queueing
// it allocates nothing of ours).
func (c *conn) Run(context.Context) error {
	c.deliver()
	return nil
}

// deliver runs one HandleDeliver for the holder of the delivery token, unless
// the peer is not reading (park until the outbound buffer falls) or the loop
// has run its budget of drains since it last polled its sockets (defer to the
// next I/O pass).
func (c *conn) deliver() {
	if c.closed || c.closing {
		return
	}
	ls := c.ls
	if c.gc.OutboundBuffered() > c.ls.s.cfg.MaxOutboundBuffered {
		// The messages stay in the core's bounded session queue.
		ls.park(c, pollInterval)
		return
	}
	if ls.streak >= drainBudget {
		ls.later(c)
		return
	}
	ls.streak++
	c.scheduled.Store(false)
	r := c.ch.HandleDeliver()
	more := r.More
	if c.finish(r) {
		c.closeNow()
		return
	}
	if more && !c.closed && !c.closing && c.scheduled.CompareAndSwap(false, true) {
		if ls.streak >= drainBudget {
			ls.later(c)
		} else {
			_ = ls.el.Execute(bg, c)
		}
	}
}

// onTraffic decodes every complete frame in the inbound bytes and hands each
// to HandleIn; all replies go out in one write.
func (c *conn) onTraffic() gnet.Action {
	gc, ls := c.gc, c.ls
	ls.streak = 0 // the loop is polling its sockets: deliveries may run again
	if c.closed {
		_, _ = gc.Discard(-1)
		return gnet.Close
	}
	if c.closing {
		_, _ = gc.Discard(-1) // nothing more is read from a closing connection
		return gnet.None
	}
	buf, _ := gc.Peek(-1)
	used, out, stop, frameErr := c.decodeAll(ls.take(), buf)
	if stop == nil && frameErr == nil {
		if used > 0 { // Discard(0) would discard everything
			_, _ = gc.Discard(used)
			ls.rx.Add(uint64(used))
		}
		if gc.InboundBuffered() > c.ls.s.cfg.MaxInboundBuffered {
			frameErr = ErrInboundTooLarge
		}
	}
	if frameErr != nil {
		if e := c.ls.s.log.Debug(); e.Enabled() {
			e.Err(frameErr).Stringer("peer", gc.RemoteAddr()).Msg("parse_frame_failed")
		}
		// The connection closes whatever the replies say.
		out, _ = c.encode(out, c.ch.HandleFrameError(frameErr).Out)
		stop = frameErr
	}
	return c.finishTraffic(out, stop)
}

// finishTraffic ends an OnTraffic: the replies go out in one write, the
// connection closes if it must, and parked deliveries resume as soon as the
// buffer has room (a peer that talks, acks say, is a good moment to look,
// before the next tick).
func (c *conn) finishTraffic(out []byte, stop error) gnet.Action {
	gc := c.gc
	if stop != nil {
		_, _ = gc.Discard(-1)
	}
	if c.flush(out, stop) {
		return gnet.Close
	}
	if c.parked && !c.closing && !c.closed && c.scheduled.Load() &&
		gc.OutboundBuffered() <= c.ls.s.cfg.MaxOutboundBuffered {
		c.parked = false
		c.ls.later(c)
	}
	return gnet.None
}

// decodeAll decodes every complete frame at the head of buf and hands each
// to HandleIn, encoding the replies onto out. It returns the bytes used, and
// stops at the first Shutdown (stop) or undecodable input (frameErr).
func (c *conn) decodeAll(out, buf []byte) (used int, _ []byte, stop, frameErr error) {
	for used < len(buf) {
		f, n, err := c.ch.Codec().Decode(buf[used:])
		if err != nil {
			if err == codec.ErrIncomplete || errors.Is(err, codec.ErrIncomplete) {
				break
			}
			frameErr = err
			break
		}
		if n <= 0 || n > len(buf)-used {
			frameErr = ErrNoProgress
			break
		}
		used += n
		if !c.framed {
			c.framed = true
			c.stopIdle()
		}
		// f may point into buf: it is used (and its replies encoded) before
		// the caller discards or reuses the bytes.
		if out, stop = c.apply(out, c.ch.HandleIn(f)); stop != nil {
			break
		}
	}
	return used, out, stop, frameErr
}

// finish applies a channel's replies and writes them in one write. It
// reports whether the caller must close the connection now.
func (c *conn) finish(r adapters.Replies) bool {
	out, stop := c.apply(c.ls.take(), r)
	return c.flush(out, stop)
}

// apply encodes r.Out onto out and sets r's timers. It returns the reason
// to close, if r asks for it (Shutdown) or a frame cannot be encoded.
func (c *conn) apply(out []byte, r adapters.Replies) ([]byte, error) {
	out, err := c.encode(out, r.Out)
	if err != nil {
		return out, err
	}
	if r.Shutdown != nil {
		return out, r.Shutdown
	}
	for _, t := range r.Timers {
		c.setTimer(t)
	}
	return out, nil
}

// encode appends frames to out: Raw as it is, anything else through the
// channel's codec.
func (c *conn) encode(out []byte, frames []codec.Frame) ([]byte, error) {
	if len(frames) == 0 {
		return out, nil
	}
	if c.ws != nil {
		out = c.ws.openData(out) // the channel's bytes are a binary frame's payload
	}
	var cd codec.Codec
	for _, f := range frames {
		if raw, ok := adapters.RawBytes(f); ok {
			out = append(out, raw...)
			continue
		}
		if cd == nil {
			cd = c.ch.Codec()
		}
		b, err := cd.Encode(out, f)
		if err != nil {
			c.ls.s.log.Error().Err(err).Str("frame", fmt.Sprintf("%T", f)).
				Stringer("peer", c.gc.RemoteAddr()).Msg("encode_frame_failed")
			return out, fmt.Errorf("edge: encode %T: %w", f, err)
		}
		out = b
	}
	return out, nil
}

// flush writes out (gnet writes what the socket takes and buffers the rest)
// and, if stop is set, starts closing. It reports whether the caller must
// close the connection now.
func (c *conn) flush(out []byte, stop error) bool {
	start := 0
	if w := c.ws; w != nil {
		// Everything the channel wrote is one binary frame; a close frame
		// follows the channel's last bytes.
		out = w.seal(out)
		if stop != nil && w.upgraded && !w.closeSent && !c.closed && !c.closing {
			out = w.appendClose(out, stop)
		}
		start, w.skip = w.skip, 0
	}
	if len(out) > start {
		// A write error makes gnet close the connection: OnClose has run
		// by the time Write returns, and c.closed is set.
		_, _ = c.gc.Write(out[start:])
		c.ls.tx.Add(uint64(len(out) - start))
	}
	c.ls.keep(out)
	if c.closed {
		return false
	}
	if stop != nil {
		return c.beginClose(stop, false)
	}
	if c.gc.OutboundBuffered() > 2*c.ls.s.cfg.MaxOutboundBuffered {
		// Deliveries stop at the bound; what passes twice the bound are
		// replies to a peer that keeps asking and never reads.
		c.ls.s.log.Info().Err(ErrOutboundTooLarge).Stringer("peer", c.gc.RemoteAddr()).Msg("slow_consumer_closed")
		return c.beginClose(ErrOutboundTooLarge, true)
	}
	return false
}

// beginClose stops all channel calls and timers and records why the
// connection closes. With bytes still unsent it lingers (parked) until gnet
// has flushed them or closeLinger passes, so a final frame (a DISCONNECT, a
// CONNACK with an error) reaches the peer before the FIN. It reports whether
// the connection may be closed now.
func (c *conn) beginClose(reason error, now bool) bool {
	if c.closing {
		return false
	}
	c.closing = true
	c.reason = reason
	c.stopTimers()
	c.stopIdle()
	c.stopHandshakeTimer()
	// Closing a socket whose peer is still sending (its PUBREL after our
	// DISCONNECT, a WebSocket close frame answering ours, RFC 6455 §5.5.1)
	// makes the kernel send a reset, which can destroy our last bytes in
	// flight. So once they are out we half-close (FIN) and read and drop
	// what the peer still sends, for a bounded time, until its own FIN.
	c.awaitPeer = !now && !(c.ws != nil && c.ws.closeRecv)
	if now || (c.gc.OutboundBuffered() == 0 && !c.awaitPeer) {
		return true
	}
	if c.gc.OutboundBuffered() == 0 {
		if !c.halfClose() {
			return true
		}
	} else {
		c.lingerEnd = int64(time.Since(c.ls.epoch) + closeLinger)
	}
	c.ls.park(c, pollInterval)
	return false
}

// halfClose sends FIN once every byte is out and starts the wait for the
// peer's; it reports false if the socket cannot be half-closed (close it).
func (c *conn) halfClose() bool {
	if err := syscall.Shutdown(c.gc.Fd(), syscall.SHUT_WR); err != nil {
		return false
	}
	c.halfClosed = true
	c.lingerEnd = int64(time.Since(c.ls.epoch) + peerCloseWait)
	return true
}

// closeNow closes the connection from the loop, outside OnTraffic/OnOpen
// (which return gnet.Close instead). OnClose runs before it returns.
func (c *conn) closeNow() {
	if !c.closed {
		_ = c.ls.el.Close(c.gc)
	}
}

// resume is a parked connection's turn at a loop tick.
func (c *conn) resume(now time.Time) {
	switch {
	case c.closed:
	case c.closing:
		if c.gc.OutboundBuffered() == 0 && c.awaitPeer && !c.halfClosed {
			if c.halfClose() {
				c.ls.park(c, pollInterval)
			} else {
				c.closeNow()
			}
		} else if c.gc.OutboundBuffered() == 0 && !c.awaitPeer {
			c.closeNow()
		} else if int64(now.Sub(c.ls.epoch)) >= c.lingerEnd {
			c.ls.s.log.Debug().Err(ErrLingerTimeout).Stringer("peer", c.gc.RemoteAddr()).Msg("close_linger_expired")
			c.closeNow()
		} else {
			c.ls.park(c, pollInterval)
		}
	default:
		c.deliver() // parks again if the buffer is still over the bound
	}
}

// onClose is OnClose for a driven connection: the channel's last call.
func (c *conn) onClose(sockErr error) {
	if c.closed {
		return
	}
	c.markClosed()
	c.stopTimers()
	c.stopIdle()
	c.stopHandshakeTimer()
	chosen := c.reason
	if chosen == errWSPeerClosed {
		chosen = nil // a WebSocket close is the peer's clean close, like EOF
	}
	reason := c.ls.s.closeReason(chosen, sockErr)
	c.ls.s.conns.Add(-1)
	if e := c.ls.s.log.Debug(); e.Enabled() {
		e.AnErr("reason", reason).Stringer("peer", c.gc.RemoteAddr()).Msg("connection_closed")
	}
	c.releaseWS()
	if c.ch != nil { // nil: a WebSocket connection that never upgraded
		c.ch.Close(reason)
	}
}

func (c *conn) markClosed() {
	c.closed = true
	c.dead.Store(true)
	c.scheduled.Store(true)
}

// setTimer sets, replaces or cancels one of the channel's timers.
// A new timer reuses an entry that is not armed (cancelled or fired), so a
// connection keeps as many entries as it has timers armed at once: the MQTT
// channel's connect timer, cancelled by CONNECT, becomes its keepalive.
func (c *conn) setTimer(t adapters.Timer) {
	var e, free *timerEntry
	for _, x := range c.timers {
		if x.id == t.ID {
			e = x
			break
		}
		if free == nil && x.idx < 0 {
			free = x
		}
	}
	if t.After <= 0 {
		if e != nil {
			e.stop()
		}
		return
	}
	if e == nil {
		if e = free; e == nil {
			e = newTimer(c, timerChannel)
			c.timers = append(c.timers, e)
		}
		e.id = t.ID
	}
	e.arm(t.After)
}

func (c *conn) stopTimers() {
	for _, e := range c.timers {
		e.stop()
	}
}

func (c *conn) stopIdle() {
	if c.idle != nil {
		c.idle.stop()
		c.idle = nil
	}
}

func (c *conn) stopHandshakeTimer() {
	if c.hs != nil {
		c.hs.stop()
		c.hs = nil
	}
}

// fire runs an expired timer, on the loop; the heap has already let go of it.
func (e *timerEntry) fire(now time.Time) {
	c := e.c
	if c.closed || c.closing {
		return // the connection is going: its timers no longer matter
	}
	if e.kind == timerHandshake {
		c.hs = nil
		if e := c.ls.s.log.Debug(); e.Enabled() {
			e.Stringer("peer", c.gc.RemoteAddr()).Msg("ws_handshake_timeout")
		}
		if c.beginClose(ErrHandshakeTimeout, true) {
			c.closeNow()
		}
		return
	}
	if e.kind == timerIdle {
		c.idle = nil
		if e := c.ls.s.log.Debug(); e.Enabled() {
			e.Stringer("peer", c.gc.RemoteAddr()).Msg("idle_timeout")
		}
		if c.beginClose(ErrIdleTimeout, true) {
			c.closeNow()
		}
		return
	}
	if c.finish(c.ch.HandleTimeout(e.id, now)) {
		c.closeNow()
	}
}

package listener

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
	"github.com/manifold-iot/manifold/gateway/edge"
)

// conn drives one connection's Channel. Its owner goroutine (serve, then
// run) is the only one that calls the channel, writes to the socket, or
// touches the fields marked owner-only; the reader goroutine only reads and
// hands what it read to the owner. conn is the adapters.Handle the channel
// gets: Notify and Post only set state and wake the owner.
type conn struct {
	s      *Server
	raw    net.Conn
	remote netip.AddrPort
	local  netip.AddrPort

	tc *tls.Conn
	wr *wsReader // WSS only: the frame reader over the upgraded stream
	ch adapters.Channel

	// Handle side: safe from any goroutine.
	notified atomic.Bool // a HandleDeliver is due; stays set once closing
	dead     atomic.Bool // closing: Post drops its event
	pmu      sync.Mutex
	posts    []any         // guarded by pmu
	wake     chan struct{} // capacity 1: "look at notified and posts"

	stop     chan struct{} // closed by kill (Server.Stop)
	stopOnce sync.Once

	// The reader hands over one message at a time on inCh and reuses its
	// buffer only after the owner's ack; it exits after an inEnd, or when
	// quit is closed.
	inCh  chan inbound
	ack   chan struct{} // capacity 1
	quit  chan struct{} // closed by the owner when it is done with the reader
	rdone chan struct{} // closed when the reader has exited

	// owner-only
	in      []byte // unread inbound bytes: an incomplete frame at most, between events
	out     []byte // this event's output; out[:room] is space for a WebSocket header
	room    int
	spare   []any
	timers  []timerSlot
	idleAt  time.Time // the edge's idle timer; zero when off
	tm      *time.Timer
	tmAt    time.Time // when tm fires; zero when stopped
	framed  bool      // a frame was decoded: the idle timer is off
	closing bool      // no channel call but Close from now on
	reason  error     // why, when chose; else the socket error (nil for EOF)
	chose   bool      // the channel or the listener chose to close
	ended   bool      // the reader has ended (peer closed, socket error)
	broken  bool      // a write failed: send nothing more
	wsPeer  *uint16   // the close code the peer's close frame carried (1005: none)
	wsCode  uint16    // the close code we send (WebSocket)
}

var _ adapters.Handle = (*conn)(nil)

// timerSlot is one of the channel's timers; ids are few, so a slice.
type timerSlot struct {
	id    adapters.TimerID
	armed bool
	at    time.Time
}

// inbound is what the reader hands to the owner.
type inbound struct {
	kind inKind
	b    []byte // data (inData) or a control frame's payload; the reader's until acked
	err  error  // inEnd: why the reader stopped (io.EOF for a clean end)
}

type inKind uint8

const (
	inData  inKind = iota // bytes for the channel's codec
	inPing                // WebSocket ping: answer with a pong
	inPong                // WebSocket pong: nothing to do
	inClose               // WebSocket close frame: echo it and close
	inEnd                 // the reader has stopped; no more messages
)

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		s:      s,
		raw:    nc,
		remote: addrPort(nc.RemoteAddr()),
		local:  addrPort(nc.LocalAddr()),
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		inCh:   make(chan inbound),
		ack:    make(chan struct{}, 1),
		quit:   make(chan struct{}),
		rdone:  make(chan struct{}),
	}
	if s.ws {
		c.room = wsMaxHeader
	}
	return c
}

// Notify implements adapters.Handle: schedule HandleDeliver. Calls made
// before it runs are coalesced into one; the owner clears the flag just
// before HandleDeliver, so a Notify racing with it schedules another.
func (c *conn) Notify() {
	if c.notified.CompareAndSwap(false, true) {
		c.signal()
	}
}

// Post implements adapters.Handle: schedule HandleEvent(ev). Events posted
// once the connection is closing are dropped.
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
	default: // a wake-up is already pending
	}
}

// kill is Server.Stop's way in: the owner sees stop, and every read or
// write in progress fails at once.
func (c *conn) kill() {
	c.stopOnce.Do(func() { close(c.stop) })
	_ = c.raw.Close()
}

// serve is the owner goroutine: handshake, channel, event loop, close.
func (c *conn) serve() {
	defer c.s.wg.Done()
	if tcp, ok := c.raw.(*net.TCPConn); ok {
		_ = tcp.SetNoDelay(c.s.cfg.TCPNoDelay)
		if n := c.s.cfg.SocketBuffer; n > 0 {
			_ = tcp.SetReadBuffer(n)
			_ = tcp.SetWriteBuffer(n)
		}
	}
	tc, wr, err := c.s.handshake(c)
	if err != nil {
		c.s.logHandshakeFailure(c, err)
		_ = c.raw.Close()
		c.s.unregister(c)
		return
	}
	c.tc, c.wr = tc, wr
	state := tc.ConnectionState()
	ci := adapters.ConnInfo{
		Listener: c.s.cfg.Name,
		Local:    c.local,
		Remote:   c.remote,
		TLS:      &state,
		Handle:   c,
	}
	ch, err := c.s.adapter.NewChannel(ci, c.s.ctx)
	if err != nil {
		c.dead.Store(true)
		c.notified.Store(true)
		if ok, more := c.s.rejected.Allow(time.Second); ok {
			c.s.log.Info().Err(err).Int64("suppressed", more).Str("peer", c.remote.String()).Msg("connection_refused")
		}
		_ = c.raw.Close()
		c.s.unregister(c)
		return
	}
	c.ch = ch
	c.s.conns.Add(1)
	c.tm = time.NewTimer(time.Hour)
	c.tm.Stop()
	if d := c.s.cfg.IdleTimeout; d > 0 {
		c.idleAt = time.Now().Add(d)
	}
	c.out = make([]byte, c.room, 512)
	go c.read()
	c.run()
}

// run is the event loop: everything the channel hears, it hears here.
func (c *conn) run() {
	c.apply(c.ch.Open())
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
			c.beginClose(nil, false) // closeReason says ErrServerClosed
		}
	}
	c.finish()
}

// onInbound handles one message from the reader.
func (c *conn) onInbound(m inbound) {
	switch m.kind {
	case inData:
		c.in = append(c.in, m.b...)
		c.ack <- struct{}{}
		c.decode()
		c.flush()
	case inPing:
		// RFC 6455 §5.5.2: a pong with the ping's payload, after what is
		// already queued.
		c.flush()
		frame := wsControlFrame(wsOpPong, m.b)
		c.ack <- struct{}{}
		c.write(frame)
	case inPong:
		c.ack <- struct{}{}
	case inClose:
		code := wsCloseCode(m.b)
		c.ack <- struct{}{}
		c.wsPeer = &code
		c.beginClose(nil, false) // a clean close by the peer
	case inEnd:
		c.ended = true
		var we *wsError
		if errors.As(m.err, &we) {
			c.wsCode = we.code
			c.beginClose(we, true)
			return
		}
		c.beginClose(m.err, false)
	}
}

// decode hands every complete frame in c.in to HandleIn; the consumed bytes
// are discarded only after the last HandleIn of the batch, because frames
// may point into c.in.
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
		if !c.framed {
			c.framed = true
			c.idleAt = time.Time{}
		}
		c.apply(c.ch.HandleIn(f))
	}
	if frameErr == nil && !c.closing && len(c.in)-used > c.s.cfg.MaxInboundBuffered {
		frameErr = edge.ErrInboundTooLarge
	}
	if frameErr != nil && !c.closing {
		if e := c.s.log.Debug(); e.Enabled() {
			e.Err(frameErr).Str("peer", c.remote.String()).Msg("parse_frame_failed")
		}
		// The connection closes whatever the replies say.
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
	if n == 0 && cap(c.in) > maxKeptBuffer {
		c.in = nil
	}
}

// onWake runs the posted events, then one HandleDeliver if Notify asked;
// all their replies go out in one write.
func (c *conn) onWake() {
	c.pmu.Lock()
	posts := c.posts
	c.posts = c.spare
	c.pmu.Unlock()
	for i, ev := range posts {
		if !c.closing {
			c.apply(c.ch.HandleEvent(ev))
		}
		posts[i] = nil
	}
	c.spare = posts[:0]
	if !c.closing && c.notified.Swap(false) {
		r := c.ch.HandleDeliver()
		more := r.More
		c.apply(r)
		if more && !c.closing && c.notified.CompareAndSwap(false, true) {
			// Again after whatever else is waiting: the select picks among
			// ready cases at random, so the peer's bytes get their turn.
			c.signal()
		}
	}
	c.flush()
}

// onTimers fires the timers that are due.
func (c *conn) onTimers() {
	now := time.Now()
	if !c.idleAt.IsZero() && !now.Before(c.idleAt) {
		if e := c.s.log.Debug(); e.Enabled() {
			e.Str("peer", c.remote.String()).Msg("idle_timeout")
		}
		c.beginClose(edge.ErrIdleTimeout, true)
		return
	}
	// HandleTimeout may set timers (append): index, never hold a pointer.
	for i := 0; i < len(c.timers) && !c.closing; i++ {
		if t := c.timers[i]; t.armed && !now.Before(t.at) {
			c.timers[i].armed = false
			c.apply(c.ch.HandleTimeout(t.id, now))
		}
	}
	c.flush()
}

// apply encodes r.Out and sets r's timers, or starts closing if r asks
// (Shutdown) or a frame cannot be encoded. Timers set with a Shutdown are
// moot.
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

// encode appends frames to c.out: Raw as it is, anything else through the
// channel's codec.
func (c *conn) encode(frames []codec.Frame) error {
	var cd codec.Codec
	for _, f := range frames {
		if raw, ok := f.(adapters.Raw); ok {
			c.out = append(c.out, raw...)
			continue
		}
		if cd == nil {
			cd = c.ch.Codec()
		}
		b, err := cd.Encode(c.out, f)
		if err != nil {
			c.s.log.Error().Err(err).Str("frame", fmt.Sprintf("%T", f)).
				Str("peer", c.remote.String()).Msg("encode_frame_failed")
			return fmt.Errorf("listener: encode %T: %w", f, err)
		}
		c.out = b
	}
	return nil
}

// flush writes this event's output in one write (one WebSocket frame on
// WSS, its header filled into the room kept at the head of c.out).
func (c *conn) flush() {
	if len(c.out) > c.room {
		b := c.out
		if c.room > 0 {
			b = wsFrameInPlace(c.out, c.room)
		}
		c.write(b)
	}
	c.out = c.out[:c.room]
	if cap(c.out) > maxKeptBuffer {
		c.out = make([]byte, c.room, 512)
	}
}

// write writes b within SendTimeout. A write that blocks that long is a
// slow consumer (ErrSendTimeout); any failure closes the connection, and
// nothing more is written to it.
func (c *conn) write(b []byte) {
	if c.broken {
		return
	}
	_ = c.tc.SetWriteDeadline(time.Now().Add(c.s.cfg.SendTimeout))
	if _, err := c.tc.Write(b); err != nil {
		c.broken = true
		if isTimeout(err) && !c.s.stopping.Load() {
			c.s.log.Info().Err(ErrSendTimeout).Str("peer", c.remote.String()).Msg("slow_consumer_closed")
			c.beginClose(ErrSendTimeout, true)
			return
		}
		c.beginClose(err, false)
	}
}

// beginClose stops every channel call but Close and records why the
// connection closes; the first reason wins.
func (c *conn) beginClose(reason error, chose bool) {
	if c.closing {
		return
	}
	c.closing = true
	c.reason, c.chose = reason, chose
	c.dead.Store(true)
	c.notified.Store(true) // Notify does nothing from now on
	c.timers = nil
	c.idleAt = time.Time{}
}

// setTimer sets, replaces or cancels one of the channel's timers.
func (c *conn) setTimer(t adapters.Timer, now time.Time) {
	for i := range c.timers {
		if c.timers[i].id == t.ID {
			c.timers[i].armed = t.After > 0
			c.timers[i].at = now.Add(t.After)
			return
		}
	}
	if t.After > 0 {
		c.timers = append(c.timers, timerSlot{id: t.ID, armed: true, at: now.Add(t.After)})
	}
}

// rearm points the connection's one time.Timer at its earliest deadline.
func (c *conn) rearm() {
	next := c.idleAt
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
		// Since Go 1.23 Reset discards an expiry not yet received.
		c.tm.Reset(time.Until(next))
		c.tmAt = next
	}
}

// finish closes the connection and gives the channel its last call. Unless
// the listener is stopping or the socket failed, the peer gets our last
// bytes in order: a WebSocket close frame, TLS close_notify, FIN. The
// channel is closed then, and the socket lingers: we read (and drop)
// whatever the peer still sends until it closes its side, for at most
// closeLinger, so that unread bytes of the peer's do not turn our close into
// a reset that could destroy what we sent last.
func (c *conn) finish() {
	c.tm.Stop()
	linger := false
	if !c.s.stopping.Load() && !c.broken {
		if c.wr != nil {
			c.write(wsCloseFrame(c.closeCode()))
		}
		_ = c.tc.SetWriteDeadline(time.Now().Add(min(c.s.cfg.SendTimeout, closeLinger)))
		if err := c.tc.CloseWrite(); err == nil {
			if tcp, ok := c.raw.(*net.TCPConn); ok {
				_ = tcp.CloseWrite()
			}
			linger = !c.ended
		}
	}
	reason := c.s.closeReason(c.reason, c.chose, c.reason)
	c.s.conns.Add(-1)
	if e := c.s.log.Debug(); e.Enabled() {
		e.AnErr("reason", reason).Str("peer", c.remote.String()).Msg("connection_closed")
	}
	c.ch.Close(reason)
	if linger {
		c.linger()
	}
	_ = c.raw.Close()
	close(c.quit)
	<-c.rdone
	c.s.unregister(c)
}

// linger drops what the peer still sends until it closes, closeLinger
// passes or the listener stops.
func (c *conn) linger() {
	t := time.NewTimer(closeLinger)
	defer t.Stop()
	for {
		select {
		case m := <-c.inCh:
			if m.kind == inEnd {
				c.ended = true
				return
			}
			c.ack <- struct{}{}
		case <-t.C:
			if e := c.s.log.Debug(); e.Enabled() {
				e.Str("peer", c.remote.String()).Msg("close_linger_expired")
			}
			return
		case <-c.stop:
			return
		}
	}
}

// closeCode is the status of our WebSocket close frame: the peer's own
// code echoed (RFC 6455 §5.5.1), the protocol error's, or 1000.
func (c *conn) closeCode() uint16 {
	switch {
	case c.wsPeer != nil:
		return *c.wsPeer
	case c.wsCode != 0:
		return c.wsCode
	case c.chose && errors.Is(c.reason, edge.ErrInboundTooLarge):
		return wsCloseTooBig
	}
	return wsCloseNormal
}

// read is the reader goroutine: it reads (TLS records, or WebSocket frames)
// and hands each piece to the owner, waiting for its ack before reusing the
// buffer. It never calls the channel.
func (c *conn) read() {
	defer close(c.rdone)
	buf := make([]byte, readBufferSize)
	for {
		var m inbound
		if c.wr != nil {
			m = c.wr.next(buf)
		} else {
			n, err := c.tc.Read(buf)
			switch {
			case n > 0:
				m = inbound{kind: inData, b: buf[:n]}
				if err != nil {
					if !c.handOff(m) {
						return
					}
					m = inbound{kind: inEnd, err: err}
				}
			case err != nil:
				m = inbound{kind: inEnd, err: err}
			default:
				continue
			}
		}
		if !c.handOff(m) {
			return
		}
	}
}

// handOff gives m to the owner and waits until it is done with m's bytes.
// It reports whether the reader should go on.
func (c *conn) handOff(m inbound) bool {
	select {
	case c.inCh <- m:
	case <-c.quit:
		return false
	}
	if m.kind == inEnd {
		return false
	}
	select {
	case <-c.ack:
		return true
	case <-c.quit:
		return false
	}
}

// isEOF reports a clean end of the peer's stream.
func isEOF(err error) bool {
	return errors.Is(err, io.EOF)
}

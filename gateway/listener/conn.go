package listener

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/gateway/edge"
	"github.com/manifold-iot/manifold/gateway/internal/chanrun"
)

// conn drives one connection's Channel through its chanrun.Runner (the
// adapters.Handle the channel gets). Its owner goroutine (serve, then
// chanrun.Run) is the only one that calls the channel, writes to the socket,
// or touches the fields marked owner-only; the reader goroutine only reads
// and hands what it read to the owner.
type conn struct {
	chanrun.Runner

	s      *Server
	raw    net.Conn
	remote netip.AddrPort
	local  netip.AddrPort

	tc *tls.Conn
	wr *wsReader // WSS only: the frame reader over the upgraded stream

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
	ended  bool    // the reader has ended (peer closed, socket error)
	broken bool    // a write failed: send nothing more
	wsPeer *uint16 // the close code the peer's close frame carried (1005: none)
	wsCode uint16  // the close code we send (WebSocket)
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
		stop:   make(chan struct{}),
		inCh:   make(chan inbound),
		ack:    make(chan struct{}, 1),
		quit:   make(chan struct{}),
		rdone:  make(chan struct{}),
	}
	room := 0
	if s.ws {
		room = wsMaxHeader
	}
	c.Init(chanrun.Config{Log: &s.log, Peer: c.remote, Name: "listener", Room: room,
		MaxInbound: s.cfg.MaxInboundBuffered}, c)
	return c
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
		c.Refuse()
		if ok, more := c.s.rejected.Allow(time.Second); ok {
			c.s.log.Info().Err(err).Int64("suppressed", more).Str("peer", c.remote.String()).Msg("connection_refused")
		}
		_ = c.raw.Close()
		c.s.unregister(c)
		return
	}
	c.Start(ch)
	c.s.conns.Add(1)
	c.SetIdle(c.s.cfg.IdleTimeout)
	go c.read()
	// On stop, closeReason says ErrServerClosed.
	chanrun.Run(&c.Runner, c.inCh, c.onInbound, c.stop, nil)
	c.finish()
}

// onInbound handles one message from the reader.
func (c *conn) onInbound(m inbound) {
	switch m.kind {
	case inData:
		c.Buffer(m.b)
		c.ack <- struct{}{}
		c.Decode()
		c.Flush()
	case inPing:
		// RFC 6455 §5.5.2: a pong with the ping's payload, after what is
		// already queued.
		c.Flush()
		frame := wsControlFrame(wsOpPong, m.b)
		c.ack <- struct{}{}
		c.write(frame)
	case inPong:
		c.ack <- struct{}{}
	case inClose:
		code := wsCloseCode(m.b)
		c.ack <- struct{}{}
		c.wsPeer = &code
		c.BeginClose(nil, false) // a clean close by the peer
	case inEnd:
		c.ended = true
		var we *wsError
		if errors.As(m.err, &we) {
			c.wsCode = we.code
			c.BeginClose(we, true)
			return
		}
		c.BeginClose(m.err, false)
	}
}

// Send implements chanrun.Transport: this event's output in one write (one
// WebSocket frame on WSS, its header filled into the room kept at the head
// of b).
func (c *conn) Send(b []byte) {
	if c.s.ws {
		b = wsFrameInPlace(b, wsMaxHeader)
	}
	c.write(b)
}

// write writes b within SendTimeout. A write that blocks that long is a
// slow consumer (ErrSendTimeout); any failure closes the connection, and
// nothing more is written to it.
func (c *conn) write(b []byte) {
	if c.broken {
		return
	}
	_ = c.tc.SetWriteDeadline(time.Now().Add(c.s.cfg.SendTimeout))
	n, err := c.tc.Write(b)
	c.s.tx.Add(uint64(n))
	if err != nil {
		c.broken = true
		if isTimeout(err) && !c.s.stopping.Load() {
			c.s.log.Info().Err(ErrSendTimeout).Str("peer", c.remote.String()).Msg("slow_consumer_closed")
			c.BeginClose(ErrSendTimeout, true)
			return
		}
		c.BeginClose(err, false)
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
	why, chose := c.Reason()
	reason := c.s.closeReason(why, chose, why)
	c.s.conns.Add(-1)
	c.Close(reason)
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
	}
	if why, chose := c.Reason(); chose && errors.Is(why, edge.ErrInboundTooLarge) {
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
	if m.kind == inData {
		c.s.rx.Add(uint64(len(m.b)))
	}
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

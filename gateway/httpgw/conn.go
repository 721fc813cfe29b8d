package httpgw

import (
	"errors"
	"net/netip"
	"sync"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/gateway/edge"
	"github.com/manifold-iot/manifold/gateway/internal/chanrun"
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

// conn drives one session's Channel through its chanrun.Runner (the
// adapters.Handle the channel gets); see the package doc.
type conn struct {
	chanrun.Runner

	s        *Server
	t        transport
	remote   netip.AddrPort
	local    netip.AddrPort
	textOnly bool

	stop     chan struct{}
	stopOnce sync.Once
	inCh     chan inbound
	quit     chan struct{}
	rdone    chan struct{}

	// owner-only
	broken bool
	ended  bool
}

func newConn(s *Server, t transport, remote, local netip.AddrPort, textOnly bool) *conn {
	c := &conn{
		s: s, t: t, remote: remote, local: local, textOnly: textOnly,
		stop:  make(chan struct{}),
		inCh:  make(chan inbound),
		quit:  make(chan struct{}),
		rdone: make(chan struct{}),
	}
	c.Init(chanrun.Config{Log: &s.log, Peer: remote, Name: "httpgw", MaxInbound: s.cfg.MaxInboundBuffered}, c)
	return c
}

// kill is Server.Stop's way in.
func (c *conn) kill() { c.stopOnce.Do(func() { close(c.stop) }) }

// serve runs the session on the calling goroutine until it ends.
func (c *conn) serve(listener string) {
	ci := adapters.ConnInfo{Listener: listener, Local: c.local, Remote: c.remote, Handle: c, TextOnly: c.textOnly}
	ch, err := c.s.adapter.NewChannel(ci, c.s.ctx)
	if err != nil {
		c.Refuse()
		c.s.log.Info().Err(err).Str("peer", c.remote.String()).Msg("connection_refused")
		c.t.shut(false, err)
		return
	}
	c.Start(ch)
	go c.read()
	chanrun.Run(&c.Runner, c.inCh, c.onInbound, c.stop, edge.ErrServerClosed)
	c.finish()
}

func (c *conn) onInbound(m inbound) {
	if m.err != nil {
		c.ended = true
		c.BeginClose(nil, false) // the peer went away
		return
	}
	c.s.rx.Add(uint64(len(m.b)))
	c.Buffer(m.b)
	c.Decode()
	c.Flush()
}

// Send implements chanrun.Transport: this event's output as one message.
func (c *conn) Send(b []byte) {
	if c.broken {
		return
	}
	err := c.t.send(b)
	if err == nil {
		c.s.tx.Add(uint64(len(b)))
	}
	if err != nil {
		c.broken = true
		c.BeginClose(err, false)
	}
}

// finish closes the transport and gives the channel its last call.
func (c *conn) finish() {
	reason, chose := c.Reason()
	c.t.shut(!c.broken && !c.ended, reason)
	if !chose && errors.Is(reason, edge.ErrServerClosed) {
		reason = edge.ErrServerClosed
	}
	c.Close(reason)
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

package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/gateway/internal/lograte"

	"github.com/manifold-iot/manifold/adapters"
)

// bg is the context handed to gnet's Execute; the runnables ignore it.
var bg = context.Background()

// Server is one TCP or WebSocket listener served on gnet event loops. Every
// accepted connection gets a Channel from the adapter (on a WebSocket
// listener, once its Upgrade request is accepted) and is driven by the
// edge's connection driver (see the package doc). A Server is started once.
type Server struct {
	cfg     TCPConfig
	key     string // config key for errors: listeners.tcp.default
	adapter adapters.Adapter
	ctx     adapters.Context
	log     zerolog.Logger
	ws      *wsSettings // nil: a TCP listener

	conns    atomic.Int64 // accepted connections with a channel (or a WebSocket handshake pending)
	stopping atomic.Bool
	refused  lograte.Limiter // MaxConnections refusals
	rejected lograte.Limiter // NewChannel errors

	mu sync.Mutex
	lifecycle
	engine gnet.Engine
	addr   net.Addr
	loops  map[gnet.EventLoop]*loopState
	closed bool // loops released by Stop
}

// NewTCP makes a TCP listener for adapter a. ctx is the core as the adapter's
// channels see it (passed through to NewChannel); log gets the listener and
// proto fields. Zero numeric config fields take their defaults.
func NewTCP(cfg TCPConfig, a adapters.Adapter, ctx adapters.Context, log zerolog.Logger) *Server {
	cfg = cfg.withDefaults()
	return &Server{
		cfg:     cfg,
		key:     cfg.key(),
		adapter: a,
		ctx:     ctx,
		log:     log.With().Str("listener", cfg.Name).Str("proto", a.Name()).Logger(),
		loops:   make(map[gnet.EventLoop]*loopState),
	}
}

// Start binds the listener and starts the event loops. It returns once the
// socket is listening, or with the bind error (address in use, permission
// denied), wrapped with the config key; errors.Is works on the syscall error.
// If ctx ends first, Start returns ctx.Err() and the listener is stopped.
func (s *Server) Start(ctx context.Context) error {
	validate := s.cfg.Validate
	if s.ws != nil {
		validate = s.ws.cfg.Validate
	}
	if err := validate(); err != nil {
		return err
	}
	s.mu.Lock()
	ok := s.begin()
	s.mu.Unlock()
	if !ok {
		return ErrStarted
	}
	go s.lifecycle.run(s.runEngine, s.log)
	if failed, err := s.wait(ctx, s.Stop); failed {
		return fmt.Errorf("%s.bind: %s: %w", s.key, s.cfg.Bind, err)
	} else if err != nil {
		return err
	}
	bind := s.cfg.Bind
	if a := s.Addr(); a != nil {
		bind = a.String()
	}
	s.log.Debug().Str("bind", bind).Msg("listener_started")
	return nil
}

// runEngine is gnet.Run: it blocks until the engine stops.
func (s *Server) runEngine() error {
	nodelay := gnet.TCPDelay
	if s.cfg.TCPNoDelay {
		nodelay = gnet.TCPNoDelay
	}
	proto := s.cfg.Bind
	if !strings.Contains(proto, "://") {
		proto = "tcp://" + proto
	}
	return gnet.Run(&events{s: s}, proto,
		gnet.WithMulticore(s.cfg.Multicore),
		gnet.WithNumEventLoop(s.cfg.Loops),
		gnet.WithReuseAddr(true),
		// Without SO_REUSEPORT a second listener on a busy address fails
		// with EADDRINUSE instead of silently sharing the port.
		gnet.WithReusePort(false),
		gnet.WithTCPNoDelay(nodelay),
		gnet.WithLockOSThread(false),
		gnet.WithReadBufferCap(readBufferCap),
		gnet.WithLogger(gnetLogger{log: s.log}),
	)
}

// Addr is the bound address (the real port when Bind asked for port 0);
// nil before Start has succeeded.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Connections is the number of open connections that have a channel; on a
// WebSocket listener it counts those still in their handshake too.
func (s *Server) Connections() int { return int(s.conns.Load()) }

// Traffic returns the bytes read from clients (those decoded: bytes a
// closing connection sent and nobody read are not counted) and written to
// them, WebSocket framing included, since the listener started.
// The counts are kept per event loop, so that loops never share a
// counter's cache line.
func (s *Server) Traffic() (received, sent uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ls := range s.loops {
		received += ls.rx.Load()
		sent += ls.tx.Load()
	}
	return received, sent
}

// Stop closes the listener and every connection; each channel gets
// Close(ErrServerClosed) (or the reason it was already closing for) on its
// loop. Stop returns when the engine has stopped, or with ctx.Err(). Stop on
// a server that never started, or a second Stop, returns nil.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	booted, done := s.booted, s.done
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	if err := settled(ctx, booted, done); err != nil {
		return err
	}
	s.stopping.Store(true)

	s.mu.Lock()
	eng := s.engine
	s.mu.Unlock()
	select {
	case <-done: // gnet.Run failed or already returned
	default:
		// Engine.Stop starts the shutdown at once but then polls for its
		// end every 500ms; we wait on gnet.Run returning instead, and
		// cancel the poll.
		stopCtx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { _ = eng.Stop(stopCtx) }()
	}

	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.releaseLoops()
	s.log.Debug().Msg("listener_stopped")
	return nil
}

// releaseLoops stops the loops' timers and closes their wake sockets; the
// loops have exited (gnet.Run returned).
func (s *Server) releaseLoops() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, ls := range s.loops {
		ls.release()
	}
}

// loopFor returns the state of event loop el, creating it on the loop's first
// connection. It runs on el.
func (s *Server) loopFor(el gnet.EventLoop) *loopState {
	s.mu.Lock()
	ls := s.loops[el]
	if ls == nil {
		ls = newLoopState(s, el)
		s.loops[el] = ls
	}
	s.mu.Unlock()
	if !ls.enrolled {
		ls.enrolled = true
		ls.enrollWake()
	}
	return ls
}

// events is the gnet.EventHandler of a Server; its methods run on the event
// loops (OnBoot on the goroutine of gnet.Run).
type events struct {
	gnet.BuiltinEventEngine
	s *Server
}

// OnBoot runs once the listener is bound, before the loops start.
func (h *events) OnBoot(eng gnet.Engine) gnet.Action {
	s := h.s
	addr, err := boundAddr(eng)
	if err != nil {
		s.log.Warn().Err(err).Msg("listener_address_unknown")
	}
	s.mu.Lock()
	s.engine = eng
	s.addr = addr
	s.mu.Unlock()
	close(s.booted)
	return gnet.None
}

// boundAddr reads the listener's real address. gnet keeps the address it was
// asked for (port 0 stays 0), so duplicate the listening socket and ask the
// kernel.
func boundAddr(eng gnet.Engine) (net.Addr, error) {
	fd, err := eng.Dup()
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd) //nolint:errcheck
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return nil, err
	}
	ap, ok := sockaddrToAddrPort(sa)
	if !ok {
		return nil, fmt.Errorf("edge: unexpected listener address %T", sa)
	}
	return net.TCPAddrFromAddrPort(ap), nil
}

func sockaddrToAddrPort(sa syscall.Sockaddr) (netip.AddrPort, bool) {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), true
	case *syscall.SockaddrInet6:
		a := netip.AddrFrom16(sa.Addr).Unmap()
		return netip.AddrPortFrom(a, uint16(sa.Port)), true
	}
	return netip.AddrPort{}, false
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// localAddrPort is the connection's own address. gnet reports the listener's
// address as configured: when that names one address and a port it is the
// connection's too; otherwise (port 0, or 0.0.0.0) ask the kernel, a
// syscall a connect storm is better without.
func localAddrPort(gc gnet.Conn) netip.AddrPort {
	if ap := addrPort(gc.LocalAddr()); ap.Port() != 0 && !ap.Addr().IsUnspecified() {
		return ap
	}
	if sa, err := syscall.Getsockname(gc.Fd()); err == nil {
		if ap, ok := sockaddrToAddrPort(sa); ok {
			return ap
		}
	}
	return addrPort(gc.LocalAddr())
}

// OnOpen builds the connection's channel, or refuses the connection.
func (h *events) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	if ls, ok := gc.Context().(*loopState); ok {
		ls.wakeOpened(gc)
		return nil, gnet.None
	}
	s := h.s
	if n := s.conns.Add(1); s.cfg.MaxConnections > 0 && n > int64(s.cfg.MaxConnections) {
		s.conns.Add(-1)
		if ok, more := s.refused.Allow(time.Second); ok {
			s.log.Warn().Err(ErrTooManyConnections).Int("max_connections", s.cfg.MaxConnections).
				Int64("suppressed", more).Stringer("peer", gc.RemoteAddr()).Msg("connection_refused")
		}
		return nil, gnet.Close
	}
	ls := s.loopFor(gc.EventLoop())
	c := &conn{ls: ls, gc: gc}
	if s.ws != nil {
		// The channel is made once the Upgrade request is accepted: its
		// ConnInfo needs the request (a proxy's client address).
		c.ws = newWSConn(s.ws)
		gc.SetContext(c)
		if d := s.cfg.IdleTimeout; d > 0 {
			c.idle = newTimer(c, timerIdle)
			c.idle.arm(d)
		}
		if d := s.ws.cfg.HandshakeTimeout; d > 0 {
			c.hs = newTimer(c, timerHandshake)
			c.hs.arm(d)
		}
		return nil, gnet.None
	}
	ci := adapters.ConnInfo{
		Listener: s.cfg.Name,
		Local:    localAddrPort(gc),
		Remote:   addrPort(gc.RemoteAddr()),
		Handle:   c,
	}
	ch, err := s.adapter.NewChannel(ci, s.ctx)
	if err != nil {
		s.conns.Add(-1)
		c.markClosed()
		if ok, more := s.rejected.Allow(time.Second); ok {
			s.log.Info().Err(err).Int64("suppressed", more).Stringer("peer", gc.RemoteAddr()).Msg("connection_refused")
		}
		return nil, gnet.Close
	}
	c.ch = ch
	gc.SetContext(c)
	if d := s.cfg.IdleTimeout; d > 0 {
		c.idle = newTimer(c, timerIdle)
		c.idle.arm(d)
	}
	if c.finish(ch.Open()) {
		return nil, gnet.Close
	}
	return nil, gnet.None
}

// OnTraffic decodes and handles what the peer sent.
func (h *events) OnTraffic(gc gnet.Conn) gnet.Action {
	switch x := gc.Context().(type) {
	case *conn:
		if x.ws != nil {
			return x.onTrafficWS()
		}
		return x.onTraffic()
	case *loopState:
		x.onWake(gc)
		return gnet.None
	}
	_, _ = gc.Discard(-1)
	return gnet.Close
}

// OnClose tells the channel, exactly once, that its connection is gone.
func (h *events) OnClose(gc gnet.Conn, err error) gnet.Action {
	switch x := gc.Context().(type) {
	case *conn:
		x.onClose(err)
	case *loopState:
		x.wakeClosed()
	}
	return gnet.None
}

// closeReason picks what the channel is told: the reason the edge or the
// channel chose, else the socket error; nil for a clean EOF.
func (s *Server) closeReason(chosen, sockErr error) error {
	switch {
	case chosen != nil:
		return chosen
	case sockErr != nil && !errors.Is(sockErr, io.EOF):
		return sockErr
	case sockErr == nil && s.stopping.Load():
		return ErrServerClosed
	}
	return nil
}

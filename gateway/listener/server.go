package listener

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/gateway/internal/lograte"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/gateway/edge"
)

// Server is one TLS or secure WebSocket listener. Every accepted connection
// is served by its own goroutines (see the package doc) and, once its
// handshake is done, gets a Channel from the adapter. A Server is started
// once.
type Server struct {
	cfg     Config
	key     string // listeners.ssl.default
	ws      bool
	adapter adapters.Adapter
	ctx     adapters.Context
	log     zerolog.Logger

	active   atomic.Int64  // accepted sockets, handshaking or driven (MaxConnections)
	conns    atomic.Int64  // connections with a channel
	rx, tx   atomic.Uint64 // application bytes read and written (after TLS); one add per read or write
	stopping atomic.Bool
	refused  lograte.Limiter // MaxConnections refusals
	failed   lograte.Limiter // handshake and upgrade failures
	rejected lograte.Limiter // NewChannel errors

	mu      sync.Mutex // guards the fields below
	started bool
	ln      net.Listener
	live    map[*conn]struct{}
	wg      sync.WaitGroup // the accept loop and every connection's owner
	done    chan struct{}  // closed when the accept loop and every connection have ended
}

// NewTLS makes an MQTT-over-TLS style listener for adapter a: TLS on TCP,
// the adapter's channel codec on the decrypted bytes. ctx is the core as
// the adapter's channels see it; log gets the listener and proto fields.
// Zero numeric config fields take their defaults.
func NewTLS(cfg Config, a adapters.Adapter, ctx adapters.Context, log zerolog.Logger) *Server {
	if cfg.Name == "" {
		cfg.Name = "ssl:default"
	}
	return newServer(cfg, false, a, ctx, log)
}

// NewWSS makes a secure WebSocket listener for adapter a: TLS, then an
// HTTP/1.1 upgrade on Config.WebSocket.Path with subprotocol negotiation,
// then the channel's bytes in binary frames (RFC 6455).
func NewWSS(cfg Config, a adapters.Adapter, ctx adapters.Context, log zerolog.Logger) *Server {
	if cfg.Name == "" {
		cfg.Name = "wss:default"
	}
	return newServer(cfg, true, a, ctx, log)
}

func newServer(cfg Config, ws bool, a adapters.Adapter, ctx adapters.Context, log zerolog.Logger) *Server {
	cfg = cfg.withDefaults()
	return &Server{
		cfg:     cfg,
		key:     cfg.key(""),
		ws:      ws,
		adapter: a,
		ctx:     ctx,
		log:     log.With().Str("listener", cfg.Name).Str("proto", a.Name()).Logger(),
		live:    make(map[*conn]struct{}),
	}
}

// Start binds the listener and starts accepting. It returns once the socket
// is listening, or with the bind error (address in use, permission denied)
// wrapped with the config key (listeners.ssl.default.bind: …); errors.Is
// works on the syscall error.
func (s *Server) Start(ctx context.Context) error {
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return edge.ErrStarted
	}
	s.started = true
	s.done = make(chan struct{})
	s.mu.Unlock()

	network, addr := "tcp", s.cfg.Bind
	if i := strings.Index(addr, "://"); i >= 0 {
		network, addr = addr[:i], addr[i+3:]
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, network, addr)
	if err != nil {
		close(s.done)
		return fmt.Errorf("%s.bind: %s: %w", s.key, s.cfg.Bind, err)
	}
	s.mu.Lock()
	if s.stopping.Load() { // Stop ran while we were binding
		s.mu.Unlock()
		_ = ln.Close()
		close(s.done)
		return edge.ErrServerClosed
	}
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go s.accept(ln)
	go func() {
		s.wg.Wait()
		close(s.done)
	}()
	s.log.Debug().Str("bind", ln.Addr().String()).Msg("listener_started")
	return nil
}

// Addr is the bound address (the real port when Bind asked for port 0); nil
// before Start has succeeded.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Connections is the number of open connections that have a channel
// (handshakes in progress are not counted).
func (s *Server) Connections() int { return int(s.conns.Load()) }

// Traffic returns the bytes read from and written to clients since the
// listener started: TLS plaintext (as EMQX counts), WebSocket framing
// included on writes.
func (s *Server) Traffic() (received, sent uint64) { return s.rx.Load(), s.tx.Load() }

// Stop closes the listener and every connection, at once: no last bytes are
// sent. Each channel gets Close(edge.ErrServerClosed) (or the reason it was
// already closing for), once, on its own goroutine. Stop returns when every
// connection has ended, or with ctx.Err(). Stop on a server that never
// started, or a second Stop, returns nil.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	done, ln := s.done, s.ln
	if done == nil {
		s.mu.Unlock()
		return nil
	}
	first := !s.stopping.Swap(true)
	live := make([]*conn, 0, len(s.live))
	for c := range s.live {
		live = append(live, c)
	}
	s.mu.Unlock()
	if first {
		if ln != nil {
			_ = ln.Close()
		}
		for _, c := range live {
			c.kill()
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if first {
		s.log.Debug().Msg("listener_stopped")
	}
	return nil
}

// accept is the accept loop; it ends when the listener is closed.
func (s *Server) accept(ln net.Listener) {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.stopping.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and the like: wait and retry, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			if ok, more := s.failed.Allow(time.Second); ok {
				s.log.Warn().Err(err).Int64("suppressed", more).Dur("retry_in", backoff).Msg("accept_failed")
			}
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if n := s.active.Add(1); s.cfg.MaxConnections > 0 && n > int64(s.cfg.MaxConnections) {
			s.active.Add(-1)
			if ok, more := s.refused.Allow(time.Second); ok {
				s.log.Warn().Err(edge.ErrTooManyConnections).Int("max_connections", s.cfg.MaxConnections).
					Int64("suppressed", more).Str("peer", nc.RemoteAddr().String()).Msg("connection_refused")
			}
			_ = nc.Close()
			continue
		}
		c := newConn(s, nc)
		if !s.register(c) {
			s.active.Add(-1)
			_ = nc.Close()
			return
		}
		s.wg.Add(1) // the loop holds its own count, so the group cannot reach zero here
		go c.serve()
	}
}

// register adds c to the live set, unless the server is stopping.
func (s *Server) register(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping.Load() {
		return false
	}
	s.live[c] = struct{}{}
	return true
}

func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	delete(s.live, c)
	s.mu.Unlock()
	s.active.Add(-1)
}

// handshake runs the TLS handshake (and the WebSocket upgrade) of a new
// connection within HandshakeTimeout. It returns the TLS connection and,
// for WSS, the reader that holds any bytes read past the upgrade request.
func (s *Server) handshake(c *conn) (*tls.Conn, *wsReader, error) {
	_ = c.raw.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	tc := tls.Server(c.raw, s.cfg.TLS.Config())
	if err := tc.Handshake(); err != nil {
		return nil, nil, err
	}
	var wr *wsReader
	if s.ws {
		var err error
		if wr, err = s.upgrade(tc); err != nil {
			return nil, nil, err
		}
	}
	_ = c.raw.SetDeadline(time.Time{})
	return tc, wr, nil
}

// logHandshakeFailure logs, at most once a second, why a connection never
// got a channel; connections cut by Stop are not worth a line.
func (s *Server) logHandshakeFailure(c *conn, err error) {
	if s.stopping.Load() {
		return
	}
	msg := "tls_handshake_failed"
	var ue *upgradeError
	switch {
	case errors.As(err, &ue) && isTimeout(err):
		msg = "websocket_upgrade_timeout"
	case errors.As(err, &ue):
		msg = "websocket_upgrade_failed"
	case isTimeout(err):
		msg = "tls_handshake_timeout"
	}
	if ok, more := s.failed.Allow(time.Second); ok {
		s.log.Info().Err(err).Int64("suppressed", more).Str("peer", c.remote.String()).Msg(msg)
	} else if e := s.log.Debug(); e.Enabled() {
		e.Err(err).Str("peer", c.remote.String()).Msg(msg)
	}
}

// closeReason picks what the channel is told: the reason the listener or
// the channel chose; else ErrServerClosed after Stop; else the socket error,
// nil for a clean end (EOF, a WebSocket close frame).
func (s *Server) closeReason(chosen error, chose bool, sockErr error) error {
	switch {
	case chose:
		return chosen
	case s.stopping.Load():
		return edge.ErrServerClosed
	case sockErr == nil || isEOF(sockErr):
		return nil
	}
	return sockErr
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

package httpgw

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/igm/sockjs-go/v3/sockjs"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/gateway/edge"
)

// Config configures one HTTP listener of a gateway.
type Config struct {
	// Name is the listener's name, "stomp:http:default": ConnInfo.Listener
	// and the "listener" log field.
	Name string
	// Key is the listener's config key path for errors,
	// "gateway.stomp.listeners.http.default".
	Key string
	// Bind is host:port; port 0 picks a free port.
	Bind string
	// MaxConnections refuses sessions beyond this many (503); 0 is unlimited.
	MaxConnections int
	// SendTimeout closes a WebSocket whose write blocks longer (0: 15s).
	SendTimeout time.Duration
	// MaxInboundBuffered bounds a session's unread bytes (0: 2 MiB).
	MaxInboundBuffered int
	// WebSocketPath serves WebSocket there ("" none), negotiating one of
	// Subprotocols (a client offering none is still accepted).
	WebSocketPath string
	// Subprotocols are the accepted Sec-WebSocket-Protocol values, in our
	// order of preference.
	Subprotocols []string
	// SockJSPrefix serves SockJS under this prefix ("" none).
	SockJSPrefix string
	// Page, when not nil, is served at / (and everything the other paths do
	// not take).
	Page http.Handler
}

// Server is one gateway HTTP listener.
type Server struct {
	cfg     Config
	adapter adapters.Adapter
	ctx     adapters.Context
	log     zerolog.Logger

	active  atomic.Int64
	rx, tx  atomic.Uint64 // message bytes read and written; one add per message
	mu      sync.Mutex    // guards below
	ln      net.Listener
	hs      *http.Server
	live    map[*conn]struct{}
	stopped bool
	wg      sync.WaitGroup // sessions' owners
}

// New makes the listener for adapter a.
func New(cfg Config, a adapters.Adapter, ctx adapters.Context, log zerolog.Logger) *Server {
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 15 * time.Second
	}
	if cfg.MaxInboundBuffered <= 0 {
		cfg.MaxInboundBuffered = 2 << 20
	}
	return &Server{cfg: cfg, adapter: a, ctx: ctx, log: log.With().Str("listener", cfg.Name).Str("proto", a.Name()).Logger(),
		live: map[*conn]struct{}{}}
}

// Handler is the listener's HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	if s.cfg.WebSocketPath != "" {
		mux.HandleFunc(s.cfg.WebSocketPath, s.serveWS)
	}
	if p := s.cfg.SockJSPrefix; p != "" {
		opts := sockjs.DefaultOptions
		opts.SockJSURL = "" // the iframe transports are not offered: no third-party script is ever served
		opts.WebsocketWriteTimeout = s.cfg.SendTimeout
		opts.WebsocketUpgrader = &websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
		h := sockjs.NewHandler(p, opts, s.serveSockJS)
		mux.Handle(p+"/", h)
		mux.Handle(p, h)
	}
	if s.cfg.Page != nil {
		mux.Handle("/", s.cfg.Page)
	}
	return mux
}

// Start binds and serves.
func (s *Server) Start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Bind)
	if err != nil {
		return fmt.Errorf("%s.bind: %s: %w", s.cfg.Key, s.cfg.Bind, err)
	}
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.ln, s.hs = ln, hs
	s.mu.Unlock()
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error().Err(err).Msg("http_serve_failed")
		}
	}()
	return nil
}

// Traffic returns the bytes of the WebSocket and SockJS messages read
// from and written to clients since the listener started.
func (s *Server) Traffic() (received, sent uint64) { return s.rx.Load(), s.tx.Load() }

// Addr is the bound address; nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Stop closes the listener and every session, and waits for them.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	hs := s.hs
	s.stopped = true
	for c := range s.live {
		c.kill()
	}
	s.mu.Unlock()
	var err error
	if hs != nil {
		// Hijacked WebSockets and SockJS sessions are not waited for by
		// Shutdown: their owners were killed above.
		_ = hs.Close()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	return err
}

// admit counts a new session; false when MaxConnections is reached.
func (s *Server) admit() bool {
	if n := s.active.Add(1); s.cfg.MaxConnections > 0 && n > int64(s.cfg.MaxConnections) {
		s.active.Add(-1)
		return false
	}
	return true
}

func (s *Server) run(c *conn) {
	s.mu.Lock()
	if s.hs == nil || s.stopped {
		s.mu.Unlock()
		s.active.Add(-1)
		c.t.shut(false, edge.ErrServerClosed)
		return
	}
	s.live[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.live, c)
		s.mu.Unlock()
		s.active.Add(-1)
		s.wg.Done()
	}()
	c.serve(s.cfg.Name)
}

// serveWS upgrades and runs a WebSocket session.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !s.admit() {
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}
	up := websocket.Upgrader{Subprotocols: s.cfg.Subprotocols, CheckOrigin: func(*http.Request) bool { return true }}
	wc, err := up.Upgrade(w, r, nil)
	if err != nil {
		s.active.Add(-1)
		s.log.Debug().Err(err).Str("peer", r.RemoteAddr).Msg("websocket_upgrade_failed")
		return
	}
	wc.SetReadLimit(int64(s.cfg.MaxInboundBuffered))
	t := &wsTransport{c: wc, timeout: s.cfg.SendTimeout}
	s.run(newConn(s, t, addrPort(wc.RemoteAddr()), addrPort(wc.LocalAddr()), false))
}

// serveSockJS runs a SockJS session (sockjs-go calls it on its own goroutine).
func (s *Server) serveSockJS(sess sockjs.Session) {
	if !s.admit() {
		_ = sess.Close(3000, "too many connections")
		return
	}
	req := sess.Request()
	remote, _ := netip.ParseAddrPort(req.RemoteAddr)
	var local netip.AddrPort
	if a, ok := req.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		local = addrPort(a)
	}
	s.run(newConn(s, &sockjsTransport{s: sess}, remote, local, true))
}

func addrPort(a net.Addr) netip.AddrPort {
	if a == nil {
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// wsTransport is a gorilla WebSocket connection.
type wsTransport struct {
	c       *websocket.Conn
	timeout time.Duration
	once    sync.Once
}

func (t *wsTransport) recv() ([]byte, error) {
	_, b, err := t.c.ReadMessage()
	return b, err
}

func (t *wsTransport) send(b []byte) error {
	_ = t.c.SetWriteDeadline(time.Now().Add(t.timeout))
	typ := websocket.TextMessage
	if !utf8.Valid(b) {
		typ = websocket.BinaryMessage
	}
	return t.c.WriteMessage(typ, b)
}

func (t *wsTransport) shut(graceful bool, reason error) {
	t.once.Do(func() {
		if graceful {
			code := websocket.CloseNormalClosure
			if errors.Is(reason, edge.ErrServerClosed) {
				code = websocket.CloseGoingAway
			}
			_ = t.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
		}
		_ = t.c.Close()
	})
}

// sockjsTransport is a SockJS session: text messages only.
type sockjsTransport struct {
	s sockjs.Session
}

func (t *sockjsTransport) recv() ([]byte, error) {
	m, err := t.s.Recv()
	return []byte(m), err
}

func (t *sockjsTransport) send(b []byte) error { return t.s.Send(string(b)) }

// pollLinger is how long a closing SockJS session on a polling transport
// waits for the client's next poll before it closes: sockjs-go drops the
// messages still queued when a session closes between polls, and the last
// one is usually the ERROR or RECEIPT that says why.
const pollLinger = time.Second

func (t *sockjsTransport) shut(graceful bool, reason error) {
	if graceful && !errors.Is(reason, edge.ErrServerClosed) {
		switch t.s.ReceiverType() {
		case sockjs.ReceiverTypeNone, sockjs.ReceiverTypeXHR, sockjs.ReceiverTypeJSONP:
			tm := time.NewTimer(pollLinger)
			select {
			case <-t.s.Context().Done(): // the client went away
			case <-tm.C:
			}
			tm.Stop()
		}
	}
	msg := "Normal closure"
	if reason != nil {
		msg = strings.ReplaceAll(reason.Error(), "\"", "'")
	}
	_ = t.s.Close(3000, msg)
}

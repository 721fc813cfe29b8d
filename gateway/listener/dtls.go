package listener

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
	"github.com/manifold-iot/manifold/gateway/edge"
)

// DTLS defaults.
const (
	DefaultDTLSName             = "dtls:default"
	DefaultDTLSHandshakeTimeout = 15 * time.Second
	DefaultDTLSMaxConnections   = 10_000
	dtlsWriteTimeout            = 5 * time.Second
	dtlsMaxDatagram             = 65535
)

// DTLSConfig configures one DTLS listener (pion/dtls/v3): PSK, certificates,
// or both. Each association gets its own Channel, served by one goroutine
// (plus one reading), as on the TLS listeners.
type DTLSConfig struct {
	// Name is the listener's name ("dtls:default"): ConnInfo.Listener, the
	// "listener" log field, the config key in errors.
	Name string
	// Key, when set, is the config key path errors name
	// ("gateway.mqttsn.listeners.dtls.default"); else it derives from Name.
	Key string
	// Bind is host:port ("0.0.0.0:1885", "127.0.0.1:0").
	Bind string
	// MaxConnections bounds concurrent associations; 0 means the default.
	MaxConnections int
	// HandshakeTimeout bounds a handshake; 0 means the default.
	HandshakeTimeout time.Duration
	// PSK maps a client's PSK identity to its key; nil or empty disables PSK
	// cipher suites. LoadPSKFile reads EMQX's psk_authentication file form.
	PSK map[string][]byte
	// PSKIdentityHint is sent to clients in the ServerKeyExchange.
	PSKIdentityHint string
	// Certificates are the server's; required when PSK is empty.
	Certificates []tls.Certificate
	// ClientCAs verifies client certificates when VerifyPeer is set;
	// FailIfNoPeerCert then refuses clients without one.
	ClientCAs        *x509.CertPool
	VerifyPeer       bool
	FailIfNoPeerCert bool
}

func (c DTLSConfig) key() string {
	if c.Key != "" {
		return c.Key
	}
	return "listeners." + strings.ReplaceAll(c.Name, ":", ".")
}

// Validate checks the config; errors name the key.
func (c DTLSConfig) Validate() error {
	k := c.key()
	switch {
	case c.Bind == "":
		return fmt.Errorf("%s.bind: must not be empty", k)
	case len(c.PSK) == 0 && len(c.Certificates) == 0:
		return fmt.Errorf("%s: neither psk nor certificates configured", k)
	case c.MaxConnections < 0:
		return fmt.Errorf("%s.max_connections: must be >= 0, got %d", k, c.MaxConnections)
	case c.VerifyPeer && c.ClientCAs == nil:
		return fmt.Errorf("%s.ssl_options.cacertfile: required with verify_peer", k)
	}
	return nil
}

// LoadPSKFile reads PSK identities, one "identity:hexkey" per line (EMQX's
// psk_authentication.init_file form with the key in hex); blank lines and
// lines starting with '#' are skipped.
func LoadPSKFile(path string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck
	out := make(map[string][]byte)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, hexKey, ok := strings.Cut(line, ":")
		if !ok || id == "" {
			return nil, fmt.Errorf("%s:%d: want identity:hexkey", path, n)
		}
		key, err := hex.DecodeString(strings.TrimSpace(hexKey))
		if err != nil || len(key) == 0 {
			return nil, fmt.Errorf("%s:%d: key is not hex", path, n)
		}
		out[id] = key
	}
	return out, sc.Err()
}

// DTLSServer is one DTLS listener driving adapter channels.
type DTLSServer struct {
	cfg     DTLSConfig
	adapter adapters.Adapter
	ctx     adapters.Context
	log     zerolog.Logger

	conns   atomic.Int64
	refused atomic.Uint64

	mu      sync.Mutex
	ln      net.Listener
	live    map[*dtlsConn]struct{}
	stopped bool
	wg      sync.WaitGroup
}

// NewDTLS makes a DTLS listener for adapter a.
func NewDTLS(cfg DTLSConfig, a adapters.Adapter, ctx adapters.Context, log zerolog.Logger) *DTLSServer {
	if cfg.Name == "" {
		cfg.Name = DefaultDTLSName
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultDTLSHandshakeTimeout
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = DefaultDTLSMaxConnections
	}
	return &DTLSServer{cfg: cfg, adapter: a, ctx: ctx, live: map[*dtlsConn]struct{}{},
		log: log.With().Str("listener", cfg.Name).Str("proto", a.Name()).Logger()}
}

// dtlsOptions builds the server's pion/dtls options from the config.
func (s *DTLSServer) dtlsOptions() []dtls.ServerOption {
	opts := []dtls.ServerOption{dtls.WithExtendedMasterSecret(dtls.RequestExtendedMasterSecret)}
	if len(s.cfg.Certificates) > 0 {
		opts = append(opts, dtls.WithCertificates(s.cfg.Certificates...))
	}
	if s.cfg.ClientCAs != nil {
		opts = append(opts, dtls.WithClientCAs(s.cfg.ClientCAs))
	}
	if s.cfg.VerifyPeer {
		auth := dtls.VerifyClientCertIfGiven
		if s.cfg.FailIfNoPeerCert {
			auth = dtls.RequireAndVerifyClientCert
		}
		opts = append(opts, dtls.WithClientAuth(auth))
	}
	if len(s.cfg.PSK) > 0 {
		psk := s.cfg.PSK
		opts = append(opts, dtls.WithPSK(func(identity []byte) ([]byte, error) {
			if k, ok := psk[string(identity)]; ok {
				return k, nil
			}
			s.log.Info().Str("identity", string(identity)).Msg("dtls_psk_unknown_identity")
			return nil, errors.New("listener: unknown PSK identity")
		}))
		if s.cfg.PSKIdentityHint != "" {
			opts = append(opts, dtls.WithPSKIdentityHint([]byte(s.cfg.PSKIdentityHint)))
		}
		// The PSK suites constrained devices implement (CCM_8 is CoAP's and
		// LwM2M's mandatory one), then, with certificates, the ECDHE suites.
		suites := []dtls.CipherSuiteID{
			dtls.TLS_PSK_WITH_AES_128_CCM_8, dtls.TLS_PSK_WITH_AES_128_CCM, dtls.TLS_PSK_WITH_AES_128_GCM_SHA256,
			dtls.TLS_PSK_WITH_AES_128_CBC_SHA256,
		}
		if len(s.cfg.Certificates) > 0 {
			suites = append(suites,
				dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
				dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, dtls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)
		}
		opts = append(opts, dtls.WithCipherSuites(suites...))
	}
	return opts
}

// Start binds the socket and accepts associations.
func (s *DTLSServer) Start(context.Context) error {
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	addr, err := net.ResolveUDPAddr("udp", s.cfg.Bind)
	if err != nil {
		return fmt.Errorf("%s.bind: %w", s.cfg.key(), err)
	}
	ln, err := dtls.ListenWithOptions("udp", addr, s.dtlsOptions()...)
	if err != nil {
		return fmt.Errorf("%s.bind: %s: %w", s.cfg.key(), s.cfg.Bind, err)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go s.accept(ln)
	s.log.Debug().Str("bind", ln.Addr().String()).Msg("listener_started")
	return nil
}

// Addr is the bound address; nil before Start.
func (s *DTLSServer) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Connections is the number of live associations.
func (s *DTLSServer) Connections() int { return int(s.conns.Load()) }

// Stop closes the listener and every association (Close(edge.ErrServerClosed)).
func (s *DTLSServer) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped || s.ln == nil {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	ln := s.ln
	live := make([]*dtlsConn, 0, len(s.live))
	for c := range s.live {
		live = append(live, c)
	}
	s.mu.Unlock()
	_ = ln.Close()
	for _, c := range live {
		c.stop(edge.ErrServerClosed)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.log.Debug().Msg("listener_stopped")
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *DTLSServer) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			stopped := s.stopped
			s.mu.Unlock()
			if stopped || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Debug().Err(err).Msg("dtls_accept_failed")
			continue
		}
		if s.conns.Add(1) > int64(s.cfg.MaxConnections) {
			s.conns.Add(-1)
			s.refused.Add(1)
			_ = nc.Close()
			continue
		}
		c := &dtlsConn{s: s, nc: nc.(*dtls.Conn), wake: make(chan struct{}, 1), done: make(chan struct{})}
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			s.conns.Add(-1)
			_ = nc.Close()
			return
		}
		s.live[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

// dtlsConn drives one association's Channel. Only the owner goroutine
// (serve) calls the channel and writes; Notify and Post set state and wake it.
type dtlsConn struct {
	s  *DTLSServer
	nc *dtls.Conn

	wake     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	mu       sync.Mutex
	notified bool  // guarded by mu
	posts    []any // guarded by mu
	stopWhy  error // guarded by mu

	// owner-only
	ch       adapters.Channel
	codec    codec.Codec
	deadline map[adapters.TimerID]time.Time
	closed   bool
	wbuf     []byte
}

// Notify implements adapters.Handle.
func (c *dtlsConn) Notify() {
	c.mu.Lock()
	c.notified = true
	c.mu.Unlock()
	c.poke()
}

// Post implements adapters.Handle.
func (c *dtlsConn) Post(ev any) {
	c.mu.Lock()
	if len(c.posts) < 1024 {
		c.posts = append(c.posts, ev)
	}
	c.mu.Unlock()
	c.poke()
}

func (c *dtlsConn) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *dtlsConn) stop(reason error) {
	c.stopOnce.Do(func() {
		c.mu.Lock()
		c.stopWhy = reason
		c.mu.Unlock()
		close(c.done)
		_ = c.nc.Close()
	})
}

func (c *dtlsConn) serve() {
	s := c.s
	defer func() {
		_ = c.nc.Close()
		s.mu.Lock()
		delete(s.live, c)
		s.mu.Unlock()
		s.conns.Add(-1)
		s.wg.Done()
	}()
	hctx, cancel := context.WithTimeout(context.Background(), s.cfg.HandshakeTimeout)
	err := c.nc.HandshakeContext(hctx)
	cancel()
	peer := udpAddrPort(c.nc.RemoteAddr())
	if err != nil {
		s.log.Info().Err(err).Str("peer", peer.String()).Msg("dtls_handshake_failed")
		return
	}
	ci := adapters.ConnInfo{Listener: s.cfg.Name, Local: udpAddrPort(c.nc.LocalAddr()), Remote: peer, Handle: c}
	if st, ok := c.nc.ConnectionState(); ok && len(st.PeerCertificates) > 0 {
		ts := &tls.ConnectionState{HandshakeComplete: true}
		for _, der := range st.PeerCertificates {
			if cert, err := x509.ParseCertificate(der); err == nil {
				ts.PeerCertificates = append(ts.PeerCertificates, cert)
			}
		}
		ci.TLS = ts
	}
	ch, err := s.adapter.NewChannel(ci, s.ctx)
	if err != nil {
		s.log.Info().Err(err).Str("peer", peer.String()).Msg("channel_refused")
		return
	}
	c.ch, c.codec = ch, ch.Codec()
	c.deadline = make(map[adapters.TimerID]time.Time, 4)
	c.run()
}

type dtlsRead struct {
	b   []byte
	err error
}

// run is the owner's event loop.
func (c *dtlsConn) run() {
	in := make(chan dtlsRead)
	ack := make(chan struct{})
	go func() { // the reader: one datagram at a time, handed over and acknowledged
		buf := make([]byte, dtlsMaxDatagram)
		for {
			n, err := c.nc.Read(buf)
			select {
			case in <- dtlsRead{buf[:n], err}:
			case <-c.done:
				return
			}
			if err != nil {
				return
			}
			select {
			case <-ack:
			case <-c.done:
				return
			}
		}
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	c.apply(c.ch.Open())
	for !c.closed {
		c.arm(timer)
		select {
		case r := <-in:
			if r.err != nil {
				c.close(nil)
				break
			}
			c.onDatagram(r.b)
			ack <- struct{}{}
		case <-c.wake:
			c.onWake()
		case now := <-timer.C:
			c.fire(now)
		case <-c.done:
			c.mu.Lock()
			why := c.stopWhy
			c.mu.Unlock()
			c.close(why)
		}
	}
	c.stop(nil) // the reader goroutine ends
}

func (c *dtlsConn) onDatagram(b []byte) {
	for len(b) > 0 && !c.closed {
		f, n, err := c.codec.Decode(b)
		if err != nil || n <= 0 {
			c.s.log.Info().Err(err).Str("peer", c.nc.RemoteAddr().String()).Msg("malformed_datagram")
			return // dropped, as on UDP
		}
		c.apply(c.ch.HandleIn(f))
		b = b[n:]
	}
}

func (c *dtlsConn) onWake() {
	for !c.closed {
		c.mu.Lock()
		notified, posts := c.notified, c.posts
		c.notified, c.posts = false, nil
		c.mu.Unlock()
		if !notified && len(posts) == 0 {
			return
		}
		for _, ev := range posts {
			if c.closed {
				return
			}
			c.apply(c.ch.HandleEvent(ev))
		}
		if notified && !c.closed {
			r := c.ch.HandleDeliver()
			if r.More {
				c.mu.Lock()
				c.notified = true
				c.mu.Unlock()
			}
			c.apply(r)
		}
	}
}

func (c *dtlsConn) fire(now time.Time) {
	for id, at := range c.deadline {
		if c.closed {
			return
		}
		if !at.After(now) {
			delete(c.deadline, id)
			c.apply(c.ch.HandleTimeout(id, now))
		}
	}
}

func (c *dtlsConn) arm(t *time.Timer) {
	var next time.Time
	for _, at := range c.deadline {
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	d := time.Hour
	if !next.IsZero() {
		d = max(time.Until(next), 0)
	}
	t.Reset(d)
}

func (c *dtlsConn) apply(r adapters.Replies) {
	for _, f := range r.Out {
		b, ok := f.(adapters.Raw)
		if !ok {
			var err error
			if c.wbuf, err = c.codec.Encode(c.wbuf[:0], f); err != nil {
				continue
			}
			b = c.wbuf
		}
		_ = c.nc.SetWriteDeadline(time.Now().Add(dtlsWriteTimeout))
		if _, err := c.nc.Write(b); err != nil {
			c.close(err)
			return
		}
	}
	for _, t := range r.Timers {
		if t.After <= 0 {
			delete(c.deadline, t.ID)
		} else {
			c.deadline[t.ID] = time.Now().Add(t.After)
		}
	}
	if r.Shutdown != nil {
		c.close(r.Shutdown)
	}
}

func (c *dtlsConn) close(reason error) {
	if c.closed {
		return
	}
	c.closed = true
	c.ch.Close(reason)
}

func udpAddrPort(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		ap := u.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

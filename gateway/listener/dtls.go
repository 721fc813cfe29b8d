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
	"github.com/manifold-iot/manifold/adapters/certs"
	"github.com/manifold-iot/manifold/gateway/edge"
	"github.com/manifold-iot/manifold/gateway/internal/chanrun"
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
	// Certificates are the server's; required when PSK is empty (unless
	// Certs is set).
	Certificates []tls.Certificate
	// ClientCAs verifies client certificates when VerifyPeer is set;
	// FailIfNoPeerCert then refuses clients without one.
	ClientCAs        *x509.CertPool
	VerifyPeer       bool
	FailIfNoPeerCert bool
	// Certs, when set, replaces Certificates and ClientCAs: the certificate
	// and CA files, read again by Reload (DTLSServer.ReloadCertificates)
	// while the listener runs. Each handshake uses the files current then.
	Certs *certs.Reloader
}

// hasCerts tells whether the listener presents a certificate.
func (c DTLSConfig) hasCerts() bool { return len(c.Certificates) > 0 || c.Certs != nil }

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
	case len(c.PSK) == 0 && !c.hasCerts():
		return fmt.Errorf("%s: neither psk nor certificates configured", k)
	case c.MaxConnections < 0:
		return fmt.Errorf("%s.max_connections: must be >= 0, got %d", k, c.MaxConnections)
	case c.VerifyPeer && c.ClientCAs == nil && (c.Certs == nil || c.Certs.Current().ClientCAs == nil):
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
	rx, tx  atomic.Uint64 // plaintext bytes of datagrams read and written
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
	switch {
	case s.cfg.Certs != nil:
		opts = append(opts, certs.DTLSServerOptions(s.cfg.Certs, s.cfg.VerifyPeer, s.cfg.FailIfNoPeerCert)...)
	case len(s.cfg.Certificates) > 0:
		opts = append(opts, dtls.WithCertificates(s.cfg.Certificates...))
	}
	if s.cfg.ClientCAs != nil && s.cfg.Certs == nil {
		opts = append(opts, dtls.WithClientCAs(s.cfg.ClientCAs))
	}
	if s.cfg.VerifyPeer && s.cfg.Certs == nil {
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
		if s.cfg.hasCerts() {
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

// ReloadCertificates reads the certificate, key and CA files of
// DTLSConfig.Certs again: handshakes from now on use them, established
// associations keep their session. On an error (naming the key) the
// current certificate stays in use. Without Certs (PSK only, or fixed
// Certificates) there is nothing to reload and it returns nil.
func (s *DTLSServer) ReloadCertificates() error {
	if s.cfg.Certs == nil {
		return nil
	}
	return s.cfg.Certs.Reload()
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

// Traffic returns the plaintext bytes of the datagrams read and written
// since the listener started.
func (s *DTLSServer) Traffic() (received, sent uint64) { return s.rx.Load(), s.tx.Load() }

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
		c.stop()
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
		c := &dtlsConn{s: s, nc: nc.(*dtls.Conn), done: make(chan struct{})}
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

// dtlsConn drives one association's Channel through its chanrun.Runner
// (the adapters.Handle the channel gets). Only the owner goroutine (serve)
// calls the channel and writes, one datagram per frame; the reader goroutine
// hands it one datagram at a time.
type dtlsConn struct {
	chanrun.Runner

	s  *DTLSServer
	nc *dtls.Conn

	done     chan struct{} // closed by stop: the owner and the reader end
	stopOnce sync.Once
	rd       chan dtlsRead
	rdAck    chan struct{} // capacity 1

	broken bool // owner-only: a write failed, send nothing more
}

type dtlsRead struct {
	b   []byte
	err error
}

// stop ends the association: the owner sees done (Close(edge.ErrServerClosed)
// unless it is closing already) and the reader's Read fails.
func (c *dtlsConn) stop() {
	c.stopOnce.Do(func() {
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
	peer := udpAddrPort(c.nc.RemoteAddr())
	c.Init(chanrun.Config{Log: &s.log, Peer: peer, Name: "listener", PerFrame: true, MaxPosts: 1024}, c)
	hctx, cancel := context.WithTimeout(context.Background(), s.cfg.HandshakeTimeout)
	err := c.nc.HandshakeContext(hctx)
	cancel()
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
		c.Refuse()
		s.log.Info().Err(err).Str("peer", peer.String()).Msg("channel_refused")
		return
	}
	c.Start(ch)
	// rdAck has room for the one ack the reader waits for, so the owner
	// never blocks on a reader that stop has already ended.
	c.rd, c.rdAck = make(chan dtlsRead), make(chan struct{}, 1)
	go c.read()
	chanrun.Run(&c.Runner, c.rd, c.onRead, c.done, edge.ErrServerClosed)
	reason, _ := c.Reason()
	c.Close(reason)
	c.stop() // the reader goroutine ends
}

// read is the reader goroutine: one datagram at a time, handed over and
// acknowledged before its buffer is reused.
func (c *dtlsConn) read() {
	buf := make([]byte, dtlsMaxDatagram)
	for {
		n, err := c.nc.Read(buf)
		select {
		case c.rd <- dtlsRead{buf[:n], err}:
		case <-c.done:
			return
		}
		if err != nil {
			return
		}
		select {
		case <-c.rdAck:
		case <-c.done:
			return
		}
	}
}

// onRead handles what the reader read: a datagram, or the end of the
// association (a clean end: Close(nil)).
func (c *dtlsConn) onRead(r dtlsRead) {
	if r.err != nil {
		c.BeginClose(nil, false)
		return
	}
	c.onDatagram(r.b)
	c.rdAck <- struct{}{}
}

func (c *dtlsConn) onDatagram(b []byte) {
	c.s.rx.Add(uint64(len(b)))
	for len(b) > 0 && !c.Closing() {
		f, n, err := c.Channel().Codec().Decode(b)
		if err != nil || n <= 0 {
			c.s.log.Info().Err(err).Str("peer", c.nc.RemoteAddr().String()).Msg("malformed_datagram")
			return // dropped, as on UDP
		}
		c.Apply(c.Channel().HandleIn(f))
		b = b[n:]
	}
}

// Send implements chanrun.Transport: one frame, one datagram.
func (c *dtlsConn) Send(b []byte) {
	if c.broken {
		return
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(dtlsWriteTimeout))
	n, err := c.nc.Write(b)
	c.s.tx.Add(uint64(n))
	if err != nil {
		c.broken = true
		c.BeginClose(err, false)
	}
}

func udpAddrPort(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		ap := u.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

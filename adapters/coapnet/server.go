package coapnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/plgd-dev/go-coap/v3/dtls"
	dtlsserver "github.com/plgd-dev/go-coap/v3/dtls/server"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	coapnet "github.com/plgd-dev/go-coap/v3/net"
	"github.com/plgd-dev/go-coap/v3/net/blockwise"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/pkg/runner/periodic"
	"github.com/plgd-dev/go-coap/v3/udp"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"
	udpserver "github.com/plgd-dev/go-coap/v3/udp/server"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters/certs"
)

// Conn is one CoAP peer (a remote address on a UDP listener, or one DTLS
// session), as go-coap serves it.
type Conn = udpclient.Conn

// ResponseWriter is what a Handler answers a request with.
type ResponseWriter = responsewriter.ResponseWriter[*Conn]

// Handler serves one complete request (Block1 already reassembled). It runs
// on go-coap's goroutine for the peer and should return promptly.
type Handler func(w *ResponseWriter, r *pool.Message)

// Options tune the transport. Zero values take the defaults noted.
type Options struct {
	// MaxBodySize bounds a request body, reassembled Block1 transfers
	// included: past it the request is answered 4.13 with Size1 set to the
	// bound (RFC 7959 §2.9.3). 0 means 1 MiB.
	MaxBodySize int
	// MaxMessageSize bounds one datagram; 0 means 64 KiB.
	MaxMessageSize uint32
	// BlockSize is the largest block exchanged (16…1024); 0 means 1024.
	BlockSize int
	// BlockwiseTimeout bounds a block-wise transfer; 0 means 30 s.
	BlockwiseTimeout time.Duration
	// MaxBlockTransfers bounds concurrent Block1 reassemblies per peer; 0 means 8.
	MaxBlockTransfers int
	// IdleTimeout closes go-coap's state for a peer silent this long (its
	// dedup cache and transfers); 0 means 5 min. Notifications still reach a
	// UDP peer after that.
	IdleTimeout time.Duration
	// KeepIdle, if set, is asked before an idle peer is closed; true keeps
	// it (asked again at each later check). LwM2M keeps the connection of a
	// registered device, which may be silent for its whole lifetime and,
	// over DTLS, cannot be reached again once its session is closed.
	KeepIdle func(cc *Conn) bool
	// PeriodicInterval is how often go-coap checks its peers: retransmits
	// the confirmable requests we sent (RFC 7252 §4.2), expires exchanges and
	// finds idle peers. 0 keeps go-coap's 4 s, which is fine for a server
	// that only answers; LwM2M, which sends requests to devices, needs it
	// below AckTimeout for retransmissions to keep their schedule.
	PeriodicInterval time.Duration
	// AckTimeout and MaxRetransmit are RFC 7252 §4.8's ACK_TIMEOUT (0: 2 s)
	// and MAX_RETRANSMIT (0: 4) for confirmable messages we send.
	AckTimeout    time.Duration
	MaxRetransmit int
	// DirectNON serves simple non-confirmable requests (no Observe, no
	// block options) straight from the request monitor: deduplicated by
	// message id in a bounded table for NON_LIFETIME and answered NON,
	// bypassing go-coap's response cache, whose expiry scan on every
	// datagram grows with the responses a peer got in the last
	// EXCHANGE_LIFETIME and caps a busy peer at a few thousand requests
	// per second.
	DirectNON bool
}

func (o *Options) fill() {
	if o.MaxBodySize <= 0 {
		o.MaxBodySize = 1 << 20
	}
	if o.MaxMessageSize == 0 {
		o.MaxMessageSize = 64 * 1024
	}
	if o.BlockSize <= 0 {
		o.BlockSize = 1024
	}
	if o.BlockwiseTimeout <= 0 {
		o.BlockwiseTimeout = 30 * time.Second
	}
	if o.MaxBlockTransfers <= 0 {
		o.MaxBlockTransfers = 8
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 5 * time.Minute
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 2 * time.Second
	}
	if o.MaxRetransmit <= 0 {
		o.MaxRetransmit = 4
	}
}

// szx is the block size exponent for BlockSize.
func (o *Options) szx() blockwise.SZX {
	s := blockwise.SZX16
	for s < blockwise.SZX1024 && s.Size() < int64(o.BlockSize) {
		s++
	}
	return s
}

// Server runs the listeners of one gateway.
type Server struct {
	log     zerolog.Logger
	handler Handler
	opts    Options

	mu    sync.Mutex
	udp   map[string]*udpserver.Server  // guarded by mu
	dtls  map[string]*dtlsserver.Server // guarded by mu
	certs map[string]*certs.Reloader    // guarded by mu; by DTLS listener name, certificate ones only
	addrs map[string]net.Addr           // "udp:default" → bound address
	wg    sync.WaitGroup

	notes  notes
	nonDup dedup

	tickStop chan struct{} // closed by Shutdown; stops periodic
	periodic periodic.Func // nil: go-coap's default runner
}

type listenerKey struct{}

// Listen binds every listener and serves them until Shutdown. A bind error
// closes what was already bound.
func Listen(ls Listeners, h Handler, opts Options, log zerolog.Logger) (*Server, error) {
	opts.fill()
	s := &Server{
		log: log, handler: h, opts: opts,
		udp: map[string]*udpserver.Server{}, dtls: map[string]*dtlsserver.Server{},
		certs: map[string]*certs.Reloader{},
		addrs: map[string]net.Addr{},
	}
	s.notes.init(s)
	s.tickStop = make(chan struct{})
	if opts.PeriodicInterval > 0 {
		s.periodic = periodic.New(s.tickStop, opts.PeriodicInterval)
	}
	for _, name := range sortedKeys(ls.UDP) {
		if err := s.listenUDP(name, ls.UDP[name]); err != nil {
			s.Shutdown()
			return nil, fmt.Errorf("listeners.udp.%s: %w", name, err)
		}
	}
	for _, name := range sortedKeys(ls.DTLS) {
		d := ls.DTLS[name]
		if err := s.listenDTLS(name, &d); err != nil {
			s.Shutdown()
			return nil, err
		}
	}
	return s, nil
}

// common are the go-coap options both transports take.
func (s *Server) common(listener string) []any {
	o := &s.opts
	out := []any{
		options.WithHandlerFunc(s.serve),
		options.WithErrors(s.goCoapError),
		options.WithMaxMessageSize(o.MaxMessageSize),
		options.WithBlockwise(true, o.szx(), o.BlockwiseTimeout),
		options.WithBlockwiseReceivingMessagesCacheMaxEntries(o.MaxBlockTransfers),
		options.WithInactivityMonitor(o.IdleTimeout, func(cc *Conn) {
			if o.KeepIdle != nil && o.KeepIdle(cc) {
				return
			}
			_ = cc.Close()
		}),
		options.WithTransmission(1, o.AckTimeout, uint32(o.MaxRetransmit)),
		options.WithRequestMonitor(s.monitor),
		options.WithOnNewConn(func(cc *Conn) { cc.SetContextValue(listenerKey{}, listener) }),
	}
	if s.periodic != nil {
		out = append(out, options.WithPeriodicRunner(s.periodic))
	}
	return out
}

// commonAs is common(listener) as one transport's option type.
func commonAs[T any](s *Server, listener string) []T {
	var out []T
	for _, o := range s.common(listener) {
		out = append(out, o.(T))
	}
	return out
}

func (s *Server) listenUDP(name string, cfg UDPListener) error {
	l, err := coapnet.NewListenUDP("udp", cfg.Bind)
	if err != nil {
		return err
	}
	id := "udp:" + name
	srv := udp.NewServer(commonAs[udpserver.Option](s, id)...)
	s.serveListener(id, l.LocalAddr(), func() { s.udp[name] = srv }, func() error { return srv.Serve(l) }, l)
	return nil
}

// listenDTLS binds DTLS listener name; errors name its key
// (listeners.dtls.<name>…).
func (s *Server) listenDTLS(name string, cfg *DTLSListener) error {
	key := "listeners.dtls." + name
	dc, r, err := cfg.dtlsOptions(key)
	if err != nil {
		return err
	}
	l, err := coapnet.NewDTLSListener("udp", cfg.Bind, dc)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if r != nil {
		s.mu.Lock()
		s.certs[name] = r
		s.mu.Unlock()
	}
	id := "dtls:" + name
	hs := cfg.HandshakeTimeout
	if hs <= 0 {
		hs = 10 * time.Second
	}
	opts := append([]dtlsserver.Option{options.WithDTLSHandshakeTimeout(hs)}, commonAs[dtlsserver.Option](s, id)...)
	srv := dtls.NewServer(opts...)
	s.serveListener(id, l.Addr(), func() { s.dtls[name] = srv }, func() error { return srv.Serve(l) }, l)
	return nil
}

// serveListener records listener id (bound at addr; register files its
// go-coap server, under s.mu) and serves it in the background until
// Shutdown, closing l once serve returns.
func (s *Server) serveListener(id string, addr net.Addr, register func(), serve func() error, l io.Closer) {
	s.mu.Lock()
	register()
	s.addrs[id] = addr
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := serve(); err != nil {
			s.log.Error().Err(err).Str("listener", id).Msg("coap_listener_failed")
		}
		_ = l.Close()
	}()
	s.log.Debug().Str("listener", id).Stringer("bind", addr).Msg("coap_listener_bound") // the gateway logs listener_started
}

// ReloadCertificates reads the certificate, key and CA files of every DTLS
// listener that has them (PSK listeners have none) again: handshakes from
// now on use them, established DTLS sessions keep theirs. A listener whose
// files fail to load keeps its current certificate; the error names its
// key, prefix first ("gateway.coap." + "listeners.dtls.default.keyfile: …").
// A nil Server (not started) has nothing to reload.
func (s *Server) ReloadCertificates(prefix string) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	names := sortedKeys(s.certs)
	rs := make([]*certs.Reloader, len(names))
	for i, n := range names {
		rs[i] = s.certs[n]
	}
	s.mu.Unlock()
	var errs []error
	for _, r := range rs {
		if err := r.Reload(); err != nil {
			errs = append(errs, fmt.Errorf("%s%w", prefix, err))
		}
	}
	return errors.Join(errs...)
}

// Addr is the bound address of a listener ("udp:default", "dtls:default"),
// or nil (always nil on a nil Server: one not started).
func (s *Server) Addr(listener string) net.Addr {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[listener]
}

// Peer is the remote address of cc (the zero AddrPort if it has none).
func Peer(cc *Conn) netip.AddrPort {
	if a, ok := cc.RemoteAddr().(*net.UDPAddr); ok {
		return a.AddrPort()
	}
	if ap, err := netip.ParseAddrPort(cc.RemoteAddr().String()); err == nil {
		return ap
	}
	return netip.AddrPort{}
}

// PathSegments are m's Uri-Path options in order (RFC 7252 §5.10.1); a
// segment holding NUL is refused.
func PathSegments(m *pool.Message) ([]string, error) {
	var segs []string
	for _, o := range m.Options() {
		if o.ID == message.URIPath {
			if bytes.IndexByte(o.Value, 0) >= 0 {
				return nil, errors.New("NUL in path")
			}
			segs = append(segs, string(o.Value))
		}
	}
	return segs, nil
}

// Query is m's Uri-Query options as key → value, the first of each key
// (RFC 7252 §5.10.1); a key without "=" maps to "".
func Query(m *pool.Message) map[string]string {
	q := map[string]string{}
	for _, o := range m.Options() {
		if o.ID != message.URIQuery {
			continue
		}
		k, v, _ := strings.Cut(string(o.Value), "=")
		if _, dup := q[k]; !dup {
			q[k] = v
		}
	}
	return q
}

// Listener names the listener a peer came in on ("udp:default").
func Listener(cc *Conn) string {
	v, _ := cc.Context().Value(listenerKey{}).(string)
	return v
}

// Shutdown stops every listener, waits for them, and abandons the
// notifications still awaiting acknowledgement (without calling back).
func (s *Server) Shutdown() {
	s.mu.Lock()
	for _, srv := range s.udp {
		srv.Stop()
	}
	for _, srv := range s.dtls {
		srv.Stop()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.notes.close()
	select {
	case <-s.tickStop:
	default:
		close(s.tickStop)
	}
}

// serve recovers from a panic in a handler, so that no input can bring the
// listener down: the request is answered 5.00 and the panic logged.
func (s *Server) serve(w *ResponseWriter, r *pool.Message) {
	if r.Type() == message.Reset || r.Type() == message.Acknowledgement {
		return // an RST or ACK not for a notification of ours
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error().Interface("panic", p).Str("peer", w.Conn().RemoteAddr().String()).Msg("coap_handler_panic")
			_ = w.SetResponse(codes.InternalServerError, message.TextPlain, strings.NewReader("internal error"))
		}
	}()
	s.handler(w, r)
}

// goCoapError logs what go-coap reports: malformed datagrams (which it
// answers with RST when confirmable) and transport errors.
func (s *Server) goCoapError(err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, net.ErrClosed) {
		return
	}
	msg := err.Error()
	if strings.Contains(msg, "malformed") || strings.Contains(msg, "unmarshal") {
		s.log.Info().Err(err).Msg("coap_malformed_message")
		return
	}
	s.log.Debug().Err(err).Msg("coap_transport_error")
}

// monitor sees every message a peer sends before go-coap handles it. It
// completes our confirmable notifications on their ACK or RST, and refuses
// Block1 transfers that would exceed MaxBodySize. drop=true hides the
// message from go-coap.
func (s *Server) monitor(cc *Conn, r *pool.Message) (drop bool, err error) {
	switch r.Type() {
	case message.Acknowledgement, message.Reset:
		if s.notes.complete(cc, r.MessageID(), r.Type() == message.Reset) {
			return true, nil
		}
		return false, nil
	}
	if s.opts.DirectNON && s.direct(cc, r) {
		return true, nil
	}
	if r.Code() == codes.POST || r.Code() == codes.PUT || r.Code() == codes.FETCH || r.Code() == codes.PATCH || r.Code() == codes.IPATCH {
		if s.tooLarge(r) {
			s.refuseTooLarge(cc, r)
			return true, nil
		}
	}
	return false, nil
}

// tooLarge reports whether a request announces, or has reached, a body
// larger than MaxBodySize (RFC 7959 §2.9.3: Size1 and the block offset).
func (s *Server) tooLarge(r *pool.Message) bool {
	limit := int64(s.opts.MaxBodySize)
	if v, err := r.GetOptionUint32(message.Size1); err == nil && int64(v) > limit {
		return true
	}
	size, _ := r.BodySize()
	v, err := r.GetOptionUint32(message.Block1)
	if err != nil {
		return size > limit
	}
	szx, num, _, err := blockwise.DecodeBlockOption(v)
	if err != nil {
		return false // go-coap answers a bad block option itself
	}
	return num*szx.Size()+size > limit
}

// refuseTooLarge answers 4.13 Request Entity Too Large with Size1.
func (s *Server) refuseTooLarge(cc *Conn, r *pool.Message) {
	resp := cc.AcquireMessage(context.Background())
	defer cc.ReleaseMessage(resp)
	resp.SetCode(codes.RequestEntityTooLarge)
	resp.SetToken(r.Token())
	resp.SetOptionUint32(message.Size1, uint32(min(s.opts.MaxBodySize, 1<<31)))
	resp.SetContentFormat(message.TextPlain)
	resp.SetBody(strings.NewReader("request body too large"))
	if r.Type() == message.Confirmable {
		resp.SetType(message.Acknowledgement)
		resp.SetMessageID(r.MessageID())
	} else {
		resp.SetType(message.NonConfirmable)
		resp.SetMessageID(cc.GetMessageID())
	}
	s.log.Info().Str("peer", cc.RemoteAddr().String()).Int("max_body_size", s.opts.MaxBodySize).Msg("coap_body_too_large")
	if err := cc.Session().WriteMessage(resp); err != nil {
		s.log.Debug().Err(err).Msg("coap_write_failed")
	}
}

// direct serves a simple NON request itself (see Options.DirectNON); it
// reports false for a request go-coap must handle.
func (s *Server) direct(cc *Conn, r *pool.Message) bool {
	if r.Type() != message.NonConfirmable || r.Code() < codes.GET || r.Code() > codes.IPATCH {
		return false
	}
	for _, o := range r.Options() {
		switch o.ID {
		case message.Observe, message.Block1, message.Block2, message.QBlock1, message.QBlock2:
			return false
		}
	}
	if s.tooLarge(r) {
		return false // refused with 4.13 by the caller
	}
	if s.nonDup.seen(cc, r.MessageID(), time.Now()) {
		return true // RFC 7252 §4.5: a duplicate NON is silently ignored
	}
	resp := cc.AcquireMessage(context.Background())
	resp.SetToken(r.Token())
	w := responsewriter.New(resp, cc, r.Options()...)
	s.serve(w, r)
	m := w.Message()
	if m.IsModified() {
		m.SetType(message.NonConfirmable)
		m.SetMessageID(cc.GetMessageID())
		if err := cc.Session().WriteMessage(m); err != nil {
			s.log.Debug().Err(err).Msg("coap_write_failed")
		}
	}
	cc.ReleaseMessage(m)
	return true
}

// nonLifetime is RFC 7252 §4.8.2's NON_LIFETIME with default parameters.
const nonLifetime = 145 * time.Second

// dedup remembers recent (peer, message id) pairs of NON requests in a
// fixed table: memory is bounded, and a pair evicted by a later collision
// is simply processed again if it ever comes back.
type dedup struct {
	mu    sync.Mutex
	slots [1 << 16]struct {
		key uint64
		at  int64
	} // guarded by mu
}

func (d *dedup) seen(cc *Conn, mid int32, now time.Time) bool {
	// FNV-1a over the peer's address and port, and the message id.
	key := uint64(14695981039346656037)
	add := func(b byte) { key ^= uint64(b); key *= 1099511628211 }
	if a, ok := cc.RemoteAddr().(*net.UDPAddr); ok {
		for _, b := range a.IP {
			add(b)
		}
		add(byte(a.Port >> 8))
		add(byte(a.Port))
	} else {
		for _, b := range []byte(cc.RemoteAddr().String()) {
			add(b)
		}
	}
	add(byte(mid >> 8))
	add(byte(mid))
	i := (key>>16 ^ key) & (1<<16 - 1)
	t := now.UnixNano()
	d.mu.Lock()
	defer d.mu.Unlock()
	sl := &d.slots[i]
	if sl.key == key && t-sl.at < int64(nonLifetime) {
		return true
	}
	sl.key, sl.at = key, t
	return false
}

// ConnTo returns the connection to remote on a UDP listener: the peer's
// existing one, or a new one when go-coap has closed it after IdleTimeout
// (go-coap's udp Server.NewConn). LwM2M needs it to send requests to a device
// that registered long ago and has been silent since (LwM2M 1.1 TS Core
// §6.3: the server may send to a registered client at any time). A DTLS
// listener cannot: its session is gone with the connection.
func (s *Server) ConnTo(listener string, remote net.Addr) (*Conn, error) {
	name, ok := strings.CutPrefix(listener, "udp:")
	if !ok {
		return nil, fmt.Errorf("coapnet: %s: no connection to %s", listener, remote)
	}
	ua, ok := remote.(*net.UDPAddr)
	if !ok {
		return nil, fmt.Errorf("coapnet: %s: %s is not a UDP address", listener, remote)
	}
	s.mu.Lock()
	srv := s.udp[name]
	s.mu.Unlock()
	if srv == nil {
		return nil, fmt.Errorf("coapnet: no listener %s", listener)
	}
	// A connection closed a moment ago stays in go-coap's table until its
	// next periodic check: wait that long at most for a fresh one.
	tick := s.opts.PeriodicInterval
	if tick <= 0 {
		tick = 4 * time.Second
	}
	deadline := time.Now().Add(tick + 100*time.Millisecond)
	var cc *Conn
	for {
		var err error
		if cc, err = srv.NewConn(ua); err != nil {
			return nil, fmt.Errorf("coapnet: %s: %w", listener, err)
		}
		if cc.Context().Err() == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("coapnet: %s: the connection to %s is closing", listener, remote)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if Listener(cc) == "" {
		cc.SetContextValue(listenerKey{}, listener)
	}
	return cc, nil
}

// Sweep calls fn with the time every interval until stop is closed; the CoAP
// and LwM2M gateways run their heartbeat and lifetime checks on it.
func Sweep(stop <-chan struct{}, every time.Duration, fn func(now time.Time)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			fn(now)
		}
	}
}

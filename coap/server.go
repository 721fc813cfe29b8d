package coap

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/coapnet"
)

// ErrNotStarted is returned by Addr-dependent calls before ListenAndServe.
var ErrNotStarted = errors.New("coap: server not started")

// Server is the CoAP gateway: the resource tree of README.md on coapnet's
// UDP and DTLS listeners, reaching the core through an adapters.Context.
type Server struct {
	cfg    Config
	ctx    adapters.Context
	log    zerolog.Logger
	pubQoS int // publish_qos: -1 from the message type
	subQoS int // subscribe_qos

	net *coapnet.Server

	mu      sync.Mutex
	clients map[string]*client // guarded by mu; by client id
	stop    chan struct{}
	wg      sync.WaitGroup
}

// New returns a gateway for cfg; ListenAndServe binds its listeners.
func New(cfg Config, ctx adapters.Context, log zerolog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pq, _ := qosSetting(cfg.PublishQoS)
	sq, _ := qosSetting(cfg.SubscribeQoS)
	return &Server{
		cfg: cfg, ctx: ctx, log: log.With().Str("proto", "coap").Logger(),
		pubQoS: pq, subQoS: sq,
		clients: make(map[string]*client),
		stop:    make(chan struct{}),
	}, nil
}

// ListenAndServe binds every configured listener and serves them in the
// background until Shutdown; it returns once they are bound (or failed to).
func (s *Server) ListenAndServe() error {
	n, err := coapnet.Listen(s.cfg.Listeners, s.serveCoAP, coapnet.Options{
		BlockSize:     blockSize,
		MaxBodySize:   s.cfg.MaxBodySize,
		IdleTimeout:   s.cfg.IdleTimeout,
		AckTimeout:    s.cfg.AckTimeout,
		MaxRetransmit: s.cfg.MaxRetransmit,
		DirectNON:     true,
	}, s.log)
	if err != nil {
		return fmt.Errorf("gateway.coap.%w", err)
	}
	s.mu.Lock() // ReloadCertificates may read it from another goroutine
	s.net = n
	s.mu.Unlock()
	s.wg.Add(1)
	go s.sweep()
	return nil
}

// ReloadCertificates reads the certificate files of every DTLS listener
// with certificates again: new handshakes use them, established sessions
// keep theirs, and a file that fails to load keeps the current certificate
// (the error names its key, gateway.coap.listeners.dtls.<name>…). Before
// ListenAndServe there is nothing to reload.
func (s *Server) ReloadCertificates() error {
	s.mu.Lock()
	n := s.net
	s.mu.Unlock()
	return n.ReloadCertificates("gateway.coap.")
}

// Addr is the bound address of a listener ("udp:default", "dtls:default"),
// or nil.
func (s *Server) Addr(listener string) net.Addr { return s.net.Addr(listener) }

// Shutdown closes the listeners and disconnects every client from the core.
func (s *Server) Shutdown() {
	select {
	case <-s.stop:
		return
	default:
		close(s.stop)
	}
	if s.net != nil {
		s.net.Shutdown()
	}
	s.wg.Wait()
	s.mu.Lock()
	cs := make([]*client, 0, len(s.clients))
	for _, c := range s.clients {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		s.endClient(c, "server_shutdown")
	}
}

// Clients is the number of clients holding a core session or a connection.
func (s *Server) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// sweep ends connections whose heartbeat stopped, and marks idle observers
// so that their next notification is confirmable (RFC 7641 §4.5).
func (s *Server) sweep() {
	defer s.wg.Done()
	coapnet.Sweep(s.stop, min(max(s.cfg.Heartbeat/4, 10*time.Millisecond), 5*time.Second), s.sweepOnce)
}

func (s *Server) sweepOnce(now time.Time) {
	s.mu.Lock()
	var dead []*client
	for _, c := range s.clients {
		idle := now.Sub(time.Unix(0, c.lastSeen.Load()))
		switch {
		case c.token != "" && idle > s.cfg.Heartbeat*3/2:
			dead = append(dead, c)
		case c.token == "" && idle > s.cfg.Heartbeat:
			c.probe.Store(true)
		}
	}
	s.mu.Unlock()
	for _, c := range dead {
		s.log.Info().Str("clientid", c.id).Msg("heartbeat_timeout")
		s.endClient(c, "heartbeat_timeout")
	}
}

// request is one CoAP request as the resource tree sees it.
type request struct {
	msg      *pool.Message
	cc       *coapnet.Conn // nil when the handler is driven directly (fuzzing)
	peer     netip.AddrPort
	listener string
	afterOK  func(func()) bool // runs f once the response is written; false if unsupported
}

// response is the answer to a request.
type response struct {
	code    codes.Code
	format  int // < 0: none
	body    []byte
	observe int64 // < 0: no Observe option
	etag    []byte
}

func reply(code codes.Code, diag string) response {
	r := response{code: code, format: -1, observe: -1}
	if diag != "" {
		r.format, r.body = int(message.TextPlain), []byte(diag)
	}
	return r
}

// serveCoAP is the coapnet.Handler: it adapts go-coap's request to handle.
func (s *Server) serveCoAP(w *coapnet.ResponseWriter, m *pool.Message) {
	cc := w.Conn()
	r := &request{msg: m, cc: cc, listener: coapnet.Listener(cc), peer: coapnet.Peer(cc)}
	ctx := m.Context()
	r.afterOK = func(f func()) bool { return responsewriter.AfterWrite(ctx, f) }
	resp := s.handle(r)
	var opts message.Options
	buf := make([]byte, 16)
	if resp.observe >= 0 {
		opts, _, _ = opts.SetUint32(buf, message.Observe, uint32(resp.observe)&0xFFFFFF)
	}
	if len(resp.etag) > 0 {
		opts = opts.Set(message.Option{ID: message.ETag, Value: resp.etag})
	}
	err := w.SetResponse(resp.code, message.TextPlain, nil, opts...)
	if resp.format >= 0 {
		w.Message().SetContentFormat(message.MediaType(resp.format))
	}
	if len(resp.body) > 0 {
		w.Message().SetBody(bytes.NewReader(resp.body))
	}
	if err != nil {
		s.log.Debug().Err(err).Msg("coap_set_response_failed")
	}
}

// handle routes a request to its resource (README.md lists them).
func (s *Server) handle(r *request) response {
	m := r.msg
	switch m.Type() {
	case message.Confirmable, message.NonConfirmable:
	default:
		return reply(codes.BadRequest, "not a request")
	}
	if m.Code() < codes.GET || m.Code() > codes.IPATCH {
		return reply(codes.BadRequest, "not a request")
	}
	segs, err := coapnet.PathSegments(m)
	if err != nil {
		return s.bad(r, codes.BadOption, "bad Uri-Path", err)
	}
	q := query(coapnet.Query(m))
	switch {
	case len(segs) == 2 && segs[0] == ".well-known" && segs[1] == "core":
		if m.Code() != codes.GET {
			return s.bad(r, codes.MethodNotAllowed, "method not allowed", nil)
		}
		return response{code: codes.Content, format: int(message.AppLinkFormat), body: []byte(wellKnownCore), observe: -1}
	case len(segs) == 2 && segs[0] == "mqtt" && segs[1] == "connection":
		return s.handleConnection(r, q)
	case len(segs) >= 1 && segs[0] == "ps":
		return s.handlePubSub(r, q, segs[1:], false)
	case len(segs) >= 1 && segs[0] == "mqtt":
		return s.handlePubSub(r, q, segs[1:], true)
	}
	return s.bad(r, codes.NotFound, "no such resource", nil)
}

// wellKnownCore is the CoRE link format of our resources (RFC 6690).
const wellKnownCore = `</mqtt>,</ps>`

// bad logs a refused request and answers code with a diagnostic payload.
func (s *Server) bad(r *request, code codes.Code, diag string, err error) response {
	ev := s.log.Info().Str("peer", r.peer.String()).Str("code", code.String())
	if err != nil {
		ev = ev.Err(err)
	}
	ev.Msg("coap_request_refused")
	return reply(code, diag)
}

// query is a request's Uri-Query options as key → value (the first of each).
type query map[string]string

// first returns the value of the first key present.
func (q query) first(keys ...string) string {
	for _, k := range keys {
		if v, ok := q[k]; ok {
			return v
		}
	}
	return ""
}

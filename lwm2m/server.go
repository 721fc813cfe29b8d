package lwm2m

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
	"github.com/manifold-iot/manifold/lwm2m/objects"
)

// ErrNotStarted is returned by calls that need the listeners before
// ListenAndServe.
var ErrNotStarted = errors.New("lwm2m: server not started")

// Server is the LwM2M gateway: the registration interface (/rd) on
// coapnet's UDP and DTLS listeners, one core client per registered endpoint,
// and the MQTT command/response mapping of README.md.
type Server struct {
	cfg Config
	ctx adapters.Context
	reg *objects.Registry
	log zerolog.Logger

	net *coapnet.Server

	mu     sync.Mutex
	byName map[string]*endpoint    // guarded by mu; by endpoint name
	byLoc  map[string]*endpoint    // guarded by mu; by registration location
	tokens map[string]*observation // guarded by mu; observe token → observation
	stop   chan struct{}
	wg     sync.WaitGroup
}

// New returns a gateway for cfg with the object definitions of reg (nil:
// loaded from cfg.XMLDir); ListenAndServe binds its listeners.
func New(cfg Config, ctx adapters.Context, reg *objects.Registry, log zerolog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if reg == nil {
		r, err := objects.LoadDir(cfg.XMLDir)
		if err != nil {
			return nil, fmt.Errorf("gateway.lwm2m.xml_dir: %w", err)
		}
		reg = r
	}
	return &Server{
		cfg: cfg, ctx: ctx, reg: reg, log: log.With().Str("proto", "lwm2m").Logger(),
		byName: map[string]*endpoint{},
		byLoc:  map[string]*endpoint{},
		tokens: map[string]*observation{},
		stop:   make(chan struct{}),
	}, nil
}

// ListenAndServe binds every configured listener and serves them in the
// background until Shutdown; it returns once they are bound (or failed to).
func (s *Server) ListenAndServe() error {
	n, err := coapnet.Listen(s.cfg.Listeners, s.serveCoAP, coapnet.Options{
		MaxBodySize:   s.cfg.MaxBodySize,
		IdleTimeout:   s.cfg.IdleTimeout,
		AckTimeout:    s.cfg.AckTimeout,
		MaxRetransmit: s.cfg.MaxRetransmit,
		KeepIdle:      s.keepIdle,
		// Requests to devices are retransmitted on go-coap's periodic
		// check: run it often enough to keep RFC 7252 §4.2's schedule.
		PeriodicInterval: min(max(s.cfg.AckTimeout/4, 50*time.Millisecond), time.Second),
	}, s.log)
	if err != nil {
		return fmt.Errorf("gateway.lwm2m.%w", err)
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
// (the error names its key, gateway.lwm2m.listeners.dtls.<name>…). Before
// ListenAndServe there is nothing to reload.
func (s *Server) ReloadCertificates() error {
	s.mu.Lock()
	n := s.net
	s.mu.Unlock()
	return n.ReloadCertificates("gateway.lwm2m.")
}

// Addr is the bound address of a listener ("udp:default", "dtls:default"),
// or nil.
func (s *Server) Addr(listener string) net.Addr { return s.net.Addr(listener) }

// Shutdown closes the listeners and de-registers every endpoint from the core.
func (s *Server) Shutdown() {
	s.mu.Lock()
	select {
	case <-s.stop:
		s.mu.Unlock()
		return
	default:
		close(s.stop) // under s.mu: no Register adds an endpoint after the snapshot
	}
	eps := make([]*endpoint, 0, len(s.byName))
	for _, e := range s.byName {
		eps = append(eps, e)
	}
	s.mu.Unlock()
	for _, e := range eps {
		s.endEndpoint(e, "server_shutdown")
	}
	if s.net != nil {
		s.net.Shutdown()
	}
	s.wg.Wait()
}

// endpointKey marks a connection with the endpoint that uses it.
type endpointKey struct{}

// keepIdle keeps the connection of a registered endpoint open however long
// the device is silent (coapnet.Options.KeepIdle): requests to it go there.
func (s *Server) keepIdle(cc *coapnet.Conn) bool {
	e, _ := cc.Context().Value(endpointKey{}).(*endpoint)
	if e == nil {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.closed && e.cc == cc
}

// Endpoints is the number of registered endpoints.
func (s *Server) Endpoints() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byName)
}

// sweep ends registrations whose lifetime passed without an Update
// (LwM2M 1.1 TS Core §6.2.2).
func (s *Server) sweep() {
	defer s.wg.Done()
	coapnet.Sweep(s.stop, min(max(s.cfg.LifetimeMin/4, 10*time.Millisecond), time.Second), s.sweepOnce)
}

func (s *Server) sweepOnce(now time.Time) {
	s.mu.Lock()
	var dead []*endpoint
	for _, e := range s.byName {
		if e.expired(now) {
			dead = append(dead, e)
		}
	}
	s.mu.Unlock()
	for _, e := range dead {
		s.log.Info().Str("endpoint", e.name).Msg("registration_expired")
		s.endEndpoint(e, "lifetime_expired")
	}
}

// request is one CoAP message from a device as the handlers see it.
type request struct {
	msg      *pool.Message
	cc       *coapnet.Conn // nil when driven directly (fuzzing)
	peer     netip.AddrPort
	listener string
	afterOK  func(func()) bool // runs f once the response is written; false if unsupported
}

// response is the answer to a request.
type response struct {
	code     codes.Code
	body     []byte // a text/plain diagnostic, if any
	location []string
	none     bool // send nothing (the message was a notification)
}

func reply(code codes.Code, diag string) response {
	return response{code: code, body: []byte(diag)}
}

// serveCoAP is the coapnet.Handler: it adapts go-coap's request to handle.
func (s *Server) serveCoAP(w *coapnet.ResponseWriter, m *pool.Message) {
	cc := w.Conn()
	r := &request{msg: m, cc: cc, listener: coapnet.Listener(cc), peer: coapnet.Peer(cc)}
	ctx := m.Context()
	r.afterOK = func(f func()) bool { return responsewriter.AfterWrite(ctx, f) }
	resp := s.handle(r)
	if resp.none {
		return
	}
	var opts message.Options
	for _, seg := range resp.location {
		opts = append(opts, message.Option{ID: message.LocationPath, Value: []byte(seg)})
	}
	var body *bytes.Reader
	if len(resp.body) > 0 {
		body = bytes.NewReader(resp.body)
	}
	var err error
	if body != nil {
		err = w.SetResponse(resp.code, message.TextPlain, body, opts...)
	} else {
		err = w.SetResponse(resp.code, message.TextPlain, nil, opts...)
	}
	if err != nil {
		s.log.Debug().Err(err).Msg("coap_set_response_failed")
	}
}

// handle routes a message: a notification for one of our observations, or
// a request to the registration interface.
func (s *Server) handle(r *request) response {
	m := r.msg
	switch m.Type() {
	case message.Confirmable, message.NonConfirmable:
	default:
		return reply(codes.BadRequest, "not a request")
	}
	if m.Code() >= codes.Created {
		// A response class code outside an exchange: an observe
		// notification (RFC 7641 §4.2), matched by token.
		s.handleNotification(r)
		return response{none: true}
	}
	if m.Code() < codes.GET || m.Code() > codes.IPATCH {
		return s.bad(r, codes.BadRequest, "not a request", nil)
	}
	segs, err := coapnet.PathSegments(m)
	if err != nil {
		return s.bad(r, codes.BadOption, "bad Uri-Path", err)
	}
	if len(segs) == 0 || segs[0] != "rd" {
		return s.bad(r, codes.NotFound, "no such resource", nil)
	}
	switch {
	case len(segs) == 1 && m.Code() == codes.POST:
		return s.handleRegister(r)
	case len(segs) == 2 && m.Code() == codes.POST:
		return s.handleUpdate(r, segs[1])
	case len(segs) == 2 && m.Code() == codes.DELETE:
		return s.handleDeregister(r, segs[1])
	case len(segs) <= 2:
		return s.bad(r, codes.MethodNotAllowed, "method not allowed", nil)
	}
	return s.bad(r, codes.NotFound, "no such resource", nil)
}

// bad logs a refused request and answers code with a diagnostic payload.
func (s *Server) bad(r *request, code codes.Code, diag string, err error) response {
	ev := s.log.Info().Str("peer", r.peer.String()).Str("code", code.String()).Str("reason", diag)
	if err != nil {
		ev = ev.Err(err)
	}
	ev.Msg("lwm2m_request_refused")
	return reply(code, diag)
}

// parseQuery is m's Uri-Query as a query.
func parseQuery(m *pool.Message) query { return query(coapnet.Query(m)) }

// query is a request's Uri-Query options as key → value (the first of
// each); a key without "=" maps to "".
type query map[string]string

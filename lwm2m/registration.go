package lwm2m

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/coapnet"
	codec "github.com/manifold-iot/manifold/codec/lwm2m"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/session"
)

// defaultLifetime is the lifetime of a Register without "lt"
// (LwM2M 1.1 TS Core §6.2.1, Table 6.2.1-1).
const defaultLifetime = 86400 * time.Second

// endpoint is one registered LwM2M client: a core client whose session
// receives the MQTT commands, and the CoAP connection they are sent on.
type endpoint struct {
	s    *Server
	name string
	loc  string // the registration's location: /rd/{loc}
	info core.ClientInfo
	mp   string // mountpoint

	wake   chan struct{}   // signals the worker: commands or an awake device
	done   chan struct{}   // closed when the registration ends
	ctx    context.Context // cancelled when the registration ends: aborts a request in flight
	cancel context.CancelFunc

	mu        sync.Mutex
	cc        *coapnet.Conn // guarded by mu; refreshed by every request (NAT rebinding)
	peer      net.Addr      // guarded by mu
	listener  string        // guarded by mu
	version   string        // guarded by mu; "1.0" or "1.1"
	binding   string        // guarded by mu
	queue     bool          // guarded by mu; queue mode (UQ, or Q in 1.1)
	lifetime  time.Duration // guarded by mu
	updated   time.Time     // guarded by mu; last Register or Update
	lastSeen  time.Time     // guarded by mu; last message of any kind
	reg       codec.Registration
	sess      *session.Session        // guarded by mu
	cmds      []*command              // guarded by mu; waiting for the worker
	observing map[string]*observation // guarded by mu; by request path
	closed    bool                    // guarded by mu
}

var _ broker.Conn = (*endpoint)(nil)

// Notify implements session.Notifier: MQTT commands were queued.
func (e *endpoint) Notify() { e.signal() }

// Kick implements broker.Conn: the client id was taken over or kicked.
func (e *endpoint) Kick(reason error) {
	go e.s.endEndpoint(e, "kicked: "+reason.Error())
}

func (e *endpoint) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *endpoint) expired(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return now.Sub(e.updated) > e.lifetime
}

// seen records a message from the device on cc: the connection is the one
// to answer on from now (NAT rebinding), and a queue-mode device is awake
// for qmode_time_window (LwM2M 1.1 TS Core §6.5).
func (e *endpoint) seen(r *request) {
	e.mu.Lock()
	e.lastSeen = time.Now()
	if r.cc != nil {
		e.setConn(r.cc, r.listener)
	}
	e.mu.Unlock()
	e.signal()
}

// setConn makes cc the connection requests go to; the caller holds e.mu.
func (e *endpoint) setConn(cc *coapnet.Conn, listener string) {
	e.cc, e.peer, e.listener = cc, cc.RemoteAddr(), listener
	cc.SetContextValue(endpointKey{}, e)
}

// awake reports whether a command may be sent now, and if not, how long
// until the device could be awake again (0: only when it sends something).
func (e *endpoint) awake(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.queue || now.Sub(e.lastSeen) < e.s.cfg.QModeTimeWindow
}

// regParams are a Register or Update's query parameters
// (LwM2M 1.1 TS Core §6.2.1, §6.2.2).
type regParams struct {
	lifetime time.Duration
	hasLT    bool
	version  string
	binding  string
	hasB     bool
	queue    bool
}

// parseParams validates the registration query; the error text is the
// diagnostic payload.
func (s *Server) parseParams(q query, register bool) (regParams, string) {
	p := regParams{lifetime: defaultLifetime, version: "1.0", binding: "U"}
	if v, ok := q["lt"]; ok {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, "bad lt"
		}
		p.lifetime, p.hasLT = time.Duration(n)*time.Second, true
	}
	if (register || p.hasLT) && (p.lifetime < s.cfg.LifetimeMin || p.lifetime > s.cfg.LifetimeMax) {
		return p, "lifetime out of range"
	}
	if v, ok := q["lwm2m"]; ok {
		switch v {
		case "1.0", "1":
			p.version = "1.0"
		case "1.1":
			p.version = "1.1"
		default:
			return p, "unsupported lwm2m version"
		}
	}
	if v, ok := q["b"]; ok {
		switch v {
		case "U":
		case "UQ":
			p.queue = true
		default:
			return p, "unsupported binding"
		}
		p.binding, p.hasB = v, true
	}
	if _, ok := q["Q"]; ok {
		p.queue = true // LwM2M 1.1: queue mode is its own parameter
	}
	return p, ""
}

// parseObjects reads the object list of a Register or Update payload.
func parseObjects(r *request) (codec.Registration, bool, error) {
	body, err := r.msg.ReadBody()
	if err != nil || len(body) == 0 {
		return codec.Registration{AlternatePath: "/"}, false, nil
	}
	links, err := codec.DecodeLinkFormat(body)
	if err != nil {
		return codec.Registration{}, false, err
	}
	reg, err := codec.ParseRegistration(links)
	return reg, true, err
}

// handleRegister serves POST /rd?ep=… (LwM2M 1.1 TS Core §6.2.1).
func (s *Server) handleRegister(r *request) response {
	q := parseQuery(r.msg)
	name := q["ep"]
	if name == "" {
		return s.bad(r, codes.BadRequest, "ep required", nil)
	}
	p, diag := s.parseParams(q, true)
	if diag != "" {
		return s.bad(r, codes.BadRequest, diag, nil)
	}
	reg, _, err := parseObjects(r)
	if err != nil {
		return s.bad(r, codes.BadRequest, "bad object list", err)
	}
	info := core.ClientInfo{
		ClientID: name, Username: q["u"], Peer: r.peer, Proto: "lwm2m", Listener: r.listener,
		Mountpoint: s.cfg.mountpoint(name),
	}
	if r.cc != nil {
		if a, ok := r.cc.LocalAddr().(*net.UDPAddr); ok {
			info.LocalPort = uint16(a.Port)
		}
	}
	if err := s.ctx.Authenticate(adapters.AuthRequest{Client: &info, Password: []byte(q["p"])}); err != nil {
		return s.bad(r, codes.Forbidden, "not authorized", err)
	}
	now := time.Now()
	e := &endpoint{
		s: s, name: name, loc: newLocation(), info: info, mp: info.Mountpoint,
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		version: p.version, binding: p.binding, queue: p.queue, lifetime: p.lifetime,
		updated: now, lastSeen: now, reg: reg, observing: map[string]*observation{},
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if r.cc != nil {
		e.setConn(r.cc, r.listener)
	}
	s.mu.Lock()
	select {
	case <-s.stop:
		s.mu.Unlock()
		e.cancel()
		return s.bad(r, codes.ServiceUnavailable, "shutting down", nil)
	default:
	}
	old := s.byName[name]
	if old == nil && len(s.byName) >= s.cfg.MaxClients {
		s.mu.Unlock()
		e.cancel()
		return s.bad(r, codes.ServiceUnavailable, "too many clients", nil)
	}
	s.byName[name] = e
	s.byLoc[e.loc] = e
	s.wg.Add(1) // under s.mu, with the stop check: Shutdown waits for this worker
	s.mu.Unlock()
	if old != nil {
		s.endEndpoint(old, "re_registered")
	}
	res := s.ctx.Connect(broker.ConnectRequest{Client: &e.info, Conn: e, CleanStart: true, Keepalive: p.lifetime})
	e.mu.Lock()
	e.sess = res.Session
	e.mu.Unlock()
	cmd := Translator{Topic: e.mp + s.cfg.Translators.Command.Topic, QoS: s.cfg.Translators.Command.QoS}
	if !s.ctx.Authorize(&e.info, core.ActionSubscribe, cmd.Topic, core.QoS(cmd.QoS), false) {
		s.log.Info().Str("endpoint", name).Str("topic", cmd.Topic).Msg("command_subscribe_denied")
	} else if _, err := s.ctx.Subscribe(name, e, cmd.Topic, core.SubOptions{QoS: core.QoS(cmd.QoS)}); err != nil {
		s.log.Warn().Err(err).Str("endpoint", name).Msg("command_subscribe_failed")
	}
	s.log.Info().Str("endpoint", name).Str("peer", r.peer.String()).Str("lwm2m", p.version).
		Str("binding", p.binding).Dur("lifetime", p.lifetime).Msg("endpoint_registered")
	e.publish(s.cfg.Translators.Register, e.regMessage("register"))
	if s.cfg.AutoObserve {
		e.autoObserve()
	}
	// The worker sends nothing before the 2.01 is written (or a moment
	// has passed): a device treats requests before it as unregistered.
	ready := make(chan struct{})
	if r.afterOK == nil || !r.afterOK(func() { close(ready) }) {
		close(ready)
	}
	go e.run(ready)
	return response{code: codes.Created, location: []string{"rd", e.loc}}
}

// handleUpdate serves POST /rd/{loc} (LwM2M 1.1 TS Core §6.2.2).
func (s *Server) handleUpdate(r *request, loc string) response {
	e := s.lookup(loc)
	if e == nil {
		return s.bad(r, codes.NotFound, "no such registration", nil)
	}
	if !e.sameSecurity(r) {
		return s.bad(r, codes.Forbidden, "registration made over DTLS", nil)
	}
	p, diag := s.parseParams(parseQuery(r.msg), false)
	if diag != "" {
		return s.bad(r, codes.BadRequest, diag, nil)
	}
	reg, hasObjects, err := parseObjects(r)
	if err != nil {
		return s.bad(r, codes.BadRequest, "bad object list", err)
	}
	e.mu.Lock()
	e.updated = time.Now()
	if p.hasLT {
		e.lifetime = p.lifetime
	}
	if p.hasB {
		e.binding, e.queue = p.binding, p.queue
	}
	if hasObjects {
		e.reg = reg
	}
	e.mu.Unlock()
	e.seen(r)
	s.log.Debug().Str("endpoint", e.name).Msg("endpoint_updated")
	if hasObjects || s.cfg.UpdateMsgPublishCondition == UpdateAlways {
		e.publish(s.cfg.Translators.Update, e.regMessage("update"))
	}
	return reply(codes.Changed, "")
}

// handleDeregister serves DELETE /rd/{loc} (LwM2M 1.1 TS Core §6.2.3).
func (s *Server) handleDeregister(r *request, loc string) response {
	e := s.lookup(loc)
	if e == nil {
		return s.bad(r, codes.NotFound, "no such registration", nil)
	}
	if !e.sameSecurity(r) {
		return s.bad(r, codes.Forbidden, "registration made over DTLS", nil)
	}
	s.log.Info().Str("endpoint", e.name).Msg("endpoint_deregistered")
	s.endEndpoint(e, "deregistered")
	return reply(codes.Deleted, "")
}

// sameSecurity reports whether r may act on e's registration: one made
// over DTLS only over DTLS (LwM2M 1.1 TS Core §7.1: the security mode of a
// registration is that of its Register).
func (e *endpoint) sameSecurity(r *request) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !strings.HasPrefix(e.info.Listener, "dtls:") || strings.HasPrefix(r.listener, "dtls:")
}

func (s *Server) lookup(loc string) *endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byLoc[loc]
}

// endEndpoint forgets a registration and disconnects it from the core.
func (s *Server) endEndpoint(e *endpoint, reason string) {
	s.mu.Lock()
	if s.byName[e.name] == e {
		delete(s.byName, e.name)
	}
	if s.byLoc[e.loc] == e {
		delete(s.byLoc, e.loc)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		s.mu.Unlock()
		return
	}
	e.closed = true
	for _, o := range e.observing {
		delete(s.tokens, string(o.token))
	}
	e.observing = nil
	e.cmds = nil
	sess := e.sess
	e.mu.Unlock()
	s.mu.Unlock()
	close(e.done)
	e.cancel()
	if sess != nil {
		s.ctx.Disconnect(e.name, e, false, nil, reason)
	}
	s.log.Debug().Str("endpoint", e.name).Str("reason", reason).Msg("endpoint_ended")
}

// regMessage is the register or update uplink:
// {"msgType":"register","data":{"ep","lt","lwm2m","b","alternatePath","objectList"}}.
func (e *endpoint) regMessage(msgType string) []byte {
	e.mu.Lock()
	data := map[string]any{
		"ep":            e.name,
		"lt":            int64(e.lifetime / time.Second),
		"lwm2m":         e.version,
		"b":             e.binding,
		"alternatePath": e.reg.AlternatePath,
		"objectList":    e.reg.ObjectList(),
	}
	e.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"msgType": msgType, "data": data})
	return b
}

// publish sends an uplink on the translator's topic under the mountpoint.
func (e *endpoint) publish(t Translator, payload []byte) {
	topic := e.mp + t.Topic
	qos := core.QoS(t.QoS)
	if !e.s.ctx.Authorize(&e.info, core.ActionPublish, topic, qos, false) {
		e.s.log.Info().Str("endpoint", e.name).Str("topic", topic).Msg("uplink_publish_denied")
		return
	}
	if _, err := e.s.ctx.Publish(&core.Message{Topic: topic, Payload: payload, QoS: qos, From: e.name}); err != nil {
		e.s.log.Warn().Err(err).Str("endpoint", e.name).Str("topic", topic).Msg("uplink_publish_failed")
	}
}

func newLocation() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// contentFormat reads a message's Content-Format, or def without one.
func contentFormat(m interface {
	ContentFormat() (message.MediaType, error)
}, def codec.ContentFormat) codec.ContentFormat {
	if f, err := m.ContentFormat(); err == nil {
		return codec.ContentFormat(f)
	}
	return def
}

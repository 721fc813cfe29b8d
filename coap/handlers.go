package coap

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/topic"
)

// identity is who a request comes from, once authenticated.
type identity struct {
	info   core.ClientInfo
	client *client // the registered client, when there is one
}

// newInfo builds the core's view of a request's client.
func (s *Server) newInfo(r *request, id, username string) core.ClientInfo {
	info := core.ClientInfo{
		ClientID: id,
		Username: username,
		Peer:     r.peer,
		Proto:    "coap",
		Listener: r.listener,
	}
	if r.cc != nil {
		if a, ok := r.cc.LocalAddr().(*net.UDPAddr); ok {
			info.LocalPort = uint16(a.Port)
		}
	}
	mp := strings.ReplaceAll(s.cfg.Mountpoint, "${clientid}", id)
	info.Mountpoint = strings.ReplaceAll(mp, "${username}", username)
	return info
}

// identify authenticates a request: by its connection's token
// (connection mode) or by its own credentials (connectionless, EMQX 5
// clientid/username/password or EMQX 4 c/u/p).
func (s *Server) identify(r *request, q query) (identity, *response) {
	id := q.first("clientid", "c")
	tok := q["token"]
	if tok != "" || s.cfg.ConnectionRequired {
		if id == "" || tok == "" {
			resp := s.bad(r, codes.BadRequest, "clientid and token required", nil)
			return identity{}, &resp
		}
		s.mu.Lock()
		c := s.clients[id]
		s.mu.Unlock()
		if c == nil || !tokenOK(c.token, tok) {
			resp := s.bad(r, codes.Unauthorized, "unknown connection or bad token", nil)
			return identity{}, &resp
		}
		c.touch()
		c.mu.Lock()
		info := c.info
		c.mu.Unlock()
		return identity{info: info, client: c}, nil
	}
	if id == "" {
		id = "coap-" + r.peer.String() // a connectionless client may omit it
	}
	info := s.newInfo(r, id, q.first("username", "u"))
	if err := s.ctx.Authenticate(adapters.AuthRequest{Client: &info, Password: []byte(q.first("password", "p"))}); err != nil {
		resp := s.bad(r, codes.Unauthorized, "not authorized: bad username or password", err)
		return identity{}, &resp
	}
	s.mu.Lock()
	c := s.clients[id]
	s.mu.Unlock()
	if c != nil && c.token != "" {
		resp := s.bad(r, codes.Unauthorized, "client is connected: token required", nil)
		return identity{}, &resp
	}
	if c != nil {
		c.touch()
		c.mu.Lock()
		c.info = info
		c.mu.Unlock()
	}
	return identity{info: info, client: c}, nil
}

// handleConnection serves /mqtt/connection (EMQX 5 connection mode): POST
// opens, PUT is the heartbeat, DELETE closes.
func (s *Server) handleConnection(r *request, q query) response {
	switch r.msg.Code() {
	case codes.POST:
		id := q.first("clientid", "c")
		if id == "" {
			return s.bad(r, codes.BadRequest, "clientid required", nil)
		}
		info := s.newInfo(r, id, q.first("username", "u"))
		if err := s.ctx.Authenticate(adapters.AuthRequest{Client: &info, Password: []byte(q.first("password", "p"))}); err != nil {
			return s.bad(r, codes.Unauthorized, "not authorized: bad username or password", err)
		}
		c := &client{s: s, id: id, token: newToken(), info: info}
		c.touch()
		s.mu.Lock()
		old := s.clients[id]
		if old == nil && len(s.clients) >= s.cfg.MaxClients {
			s.mu.Unlock()
			return s.bad(r, codes.ServiceUnavailable, "too many clients", nil)
		}
		s.clients[id] = c
		s.mu.Unlock()
		if old != nil {
			s.endClient(old, "takenover")
		}
		s.ensureSession(c)
		s.log.Info().Str("clientid", id).Str("peer", r.peer.String()).Msg("client_connected")
		return response{code: codes.Created, format: int(message.TextPlain), body: []byte(c.token), observe: -1}
	case codes.PUT, codes.DELETE:
		who, bad := s.identifyConnection(r, q)
		if bad != nil {
			return *bad
		}
		if r.msg.Code() == codes.PUT {
			return reply(codes.Changed, "")
		}
		s.endClient(who, "normal")
		return reply(codes.Deleted, "")
	}
	return s.bad(r, codes.MethodNotAllowed, "method not allowed", nil)
}

// identifyConnection finds the connection a heartbeat or close names.
func (s *Server) identifyConnection(r *request, q query) (*client, *response) {
	id, tok := q.first("clientid", "c"), q["token"]
	if id == "" || tok == "" {
		resp := s.bad(r, codes.BadRequest, "clientid and token required", nil)
		return nil, &resp
	}
	s.mu.Lock()
	c := s.clients[id]
	s.mu.Unlock()
	if c == nil || !tokenOK(c.token, tok) {
		resp := s.bad(r, codes.Unauthorized, "unknown connection or bad token", nil)
		return nil, &resp
	}
	c.touch()
	return c, nil
}

// tokenOK compares a connection's token in constant time; a connectionless
// client (no token) never matches.
func tokenOK(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

func newToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// handlePubSub serves /ps/{topic} (EMQX 5) and /mqtt/{topic} (EMQX 4).
func (s *Server) handlePubSub(r *request, q query, levels []string, v4 bool) response {
	code := r.msg.Code()
	if v4 && code == codes.GET && len(levels) == 0 {
		if _, err := r.msg.Observe(); err != nil {
			// EMQX 4: a plain GET on /mqtt is a keepalive.
			if _, bad := s.identify(r, q); bad != nil {
				return *bad
			}
			return reply(codes.Content, "")
		}
	}
	switch code {
	case codes.POST, codes.PUT:
		if !v4 && code == codes.PUT {
			return s.bad(r, codes.MethodNotAllowed, "method not allowed", nil)
		}
	case codes.GET:
	default:
		return s.bad(r, codes.MethodNotAllowed, "method not allowed", nil)
	}
	if len(levels) == 0 {
		return s.bad(r, codes.BadRequest, "topic required", nil)
	}
	name := strings.Join(levels, "/")
	who, bad := s.identify(r, q)
	if bad != nil {
		return *bad
	}
	if code == codes.GET {
		return s.handleGet(r, q, who, name, v4)
	}
	return s.handlePublish(r, q, who, name)
}

// qosFor picks a QoS: the qos query, else the setting, else the message
// type (CON → 1, NON → 0).
func (s *Server) qosFor(r *request, q query, setting int) (core.QoS, bool) {
	if v, ok := q["qos"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 2 {
			return 0, false
		}
		return core.QoS(n), true
	}
	if setting >= 0 {
		return core.QoS(setting), true
	}
	if r.msg.Type() == message.Confirmable {
		return core.QoS1, true
	}
	return core.QoS0, true
}

// handlePublish publishes the request body (POST /ps/{topic}, EMQX 4 PUT
// /mqtt/{topic}) and answers 2.04.
func (s *Server) handlePublish(r *request, q query, who identity, name string) response {
	qos, ok := s.qosFor(r, q, s.pubQoS)
	if !ok {
		return s.bad(r, codes.BadRequest, "bad qos", nil)
	}
	retain := q["retain"] == "true" || q["retain"] == "1"
	var expiry time.Duration
	if v, ok := q["expiry"]; ok {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return s.bad(r, codes.BadRequest, "bad expiry", err)
		}
		expiry = time.Duration(n) * time.Second
	}
	body, err := readBody(r, s.cfg.MaxBodySize)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return s.bad(r, codes.RequestEntityTooLarge, "request body too large", err)
		}
		return s.bad(r, codes.BadRequest, "unreadable body", err)
	}
	t := who.info.Mountpoint + name
	if topic.ValidName(t, 0) != nil {
		return s.bad(r, codes.BadRequest, "bad topic", nil)
	}
	if !s.ctx.Authorize(&who.info, core.ActionPublish, t, qos, retain) {
		return s.bad(r, codes.Forbidden, "not authorized to publish", nil)
	}
	m := &core.Message{
		Topic: t, Payload: body, QoS: qos, Retain: retain,
		From: who.info.ClientID, Timestamp: time.Now(), ExpiryInterval: expiry,
	}
	if cf, err := r.msg.ContentFormat(); err == nil && cf == message.TextPlain {
		m.PayloadFormat = 1
	}
	res, err := s.ctx.Publish(m)
	if err != nil {
		switch {
		case errors.Is(err, broker.ErrTopicInvalid), errors.Is(err, broker.ErrDelayedInvalid),
			errors.Is(err, broker.ErrQoSUnsupported), errors.Is(err, broker.ErrRetainUnsupported):
			return s.bad(r, codes.BadRequest, err.Error(), err)
		}
		s.log.Warn().Err(err).Str("clientid", who.info.ClientID).Str("topic", t).Msg("publish_failed")
		return reply(codes.ServiceUnavailable, "publish failed")
	}
	if len(res.Pressured) > 0 && r.msg.Type() == message.Confirmable {
		holdForDrain(res.Pressured, ackHold)
	}
	return reply(codes.Changed, "")
}

// ackHold bounds how long a confirmable publish's answer waits for
// pressured subscribers: below ACK_TIMEOUT, so that the client does not
// retransmit meanwhile.
const ackHold = time.Second

// drainWaker is a session.Waker on a channel.
type drainWaker chan struct{}

func (w drainWaker) Wake() {
	select {
	case w <- struct{}{}:
	default:
	}
}

// holdForDrain is the push-back of ARCHITECTURE.md for CoAP: the answer to a
// confirmable QoS 1/2 publish waits, at most d, until every subscriber that
// took it past max_mqueue_len has drained; a client that waits for each
// answer (NSTART = 1, RFC 7252 §4.7) is slowed to what its subscribers take.
// It runs on go-coap's goroutine for this peer only.
func holdForDrain(pressured []core.Backlog, d time.Duration) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for _, sess := range pressured {
		w := make(drainWaker, 1)
		sess.WhenDrained(w)
		select {
		case <-w:
		case <-deadline.C:
			return
		}
	}
}

var errTooLarge = errors.New("coap: body too large")

func readBody(r *request, limit int) ([]byte, error) {
	b := r.msg.Body()
	if b == nil {
		return nil, nil
	}
	if _, err := b.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(b, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > limit {
		return nil, errTooLarge
	}
	return data, nil
}

// handleGet serves GET /ps/{topic}: Observe=0 subscribes, Observe=1
// unsubscribes (RFC 7641 §3.1, §3.6), and a GET with Block2 and no Observe
// fetches the rest of a notification too large for one block
// (RFC 7959 §3.4).
func (s *Server) handleGet(r *request, q query, who identity, name string, v4 bool) response {
	filter := adapters.MountFilter(who.info.Mountpoint, name)
	obs, err := r.msg.Observe()
	if err != nil {
		if r.msg.HasOption(message.Block2) {
			return s.continuation(r, who, filter)
		}
		return s.bad(r, codes.BadRequest, "invalid observe value", nil)
	}
	switch obs {
	case 0:
		return s.subscribe(r, q, who, filter, v4)
	case 1:
		if c := who.client; c != nil {
			c.mu.Lock()
			o := c.obs[filter]
			c.mu.Unlock()
			if o != nil {
				s.removeObservation(c, o, "observe_deregistered")
			}
		}
		return reply(codes.Content, "")
	}
	return s.bad(r, codes.BadRequest, "invalid observe value", nil)
}

// continuation answers a Block2 GET with the observation's last
// representation; go-coap cuts the requested block from it.
func (s *Server) continuation(r *request, who identity, filter string) response {
	if c := who.client; c != nil {
		c.mu.Lock()
		o := c.obs[filter]
		var last, etag []byte
		if o != nil {
			last, etag = o.last, o.etag
		}
		c.mu.Unlock()
		if o != nil {
			return response{code: codes.Content, format: -1, body: last, observe: -1, etag: etag}
		}
	}
	return s.bad(r, codes.NotFound, "no representation", nil)
}

// subscribe registers an observation and subscribes the client to filter.
func (s *Server) subscribe(r *request, q query, who identity, filter string, v4 bool) response {
	if len(r.msg.Token()) == 0 {
		return s.bad(r, codes.BadRequest, "observe without token", nil)
	}
	setting := s.subQoS
	if v4 && setting < 0 {
		setting = 1 // EMQX 4 subscribes at QoS 1
	}
	qos, ok := s.qosFor(r, q, setting)
	if !ok {
		return s.bad(r, codes.BadRequest, "bad qos", nil)
	}
	if topic.ValidFilter(filter, 0) != nil {
		if _, real, _, err := topic.ParseShared(filter); err != nil || topic.ValidFilter(real, 0) != nil {
			return s.bad(r, codes.BadRequest, "bad topic filter", nil)
		}
	}
	if !s.ctx.Authorize(&who.info, core.ActionSubscribe, filter, qos, false) {
		return s.bad(r, codes.Forbidden, "not authorized to subscribe", nil)
	}
	c := who.client
	if c == nil {
		c = &client{s: s, id: who.info.ClientID, info: who.info}
		c.touch()
		s.mu.Lock()
		if cur := s.clients[c.id]; cur != nil {
			c = cur
		} else if len(s.clients) >= s.cfg.MaxClients {
			s.mu.Unlock()
			return s.bad(r, codes.ServiceUnavailable, "too many clients", nil)
		} else {
			s.clients[c.id] = c
		}
		s.mu.Unlock()
	}
	s.ensureSession(c)

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return reply(codes.ServiceUnavailable, "client closing")
	}
	o := c.obs[filter]
	if o != nil {
		// Re-registration (RFC 7641 §4.1): same client, maybe a new address
		// after NAT rebinding, maybe a new token.
		o.token = append([]byte(nil), r.msg.Token()...)
		o.cc = r.cc
		seq := o.seq
		c.mu.Unlock()
		s.log.Debug().Str("clientid", c.id).Str("topic", filter).Str("peer", r.peer.String()).Msg("observe_refreshed")
		return response{code: codes.Content, format: -1, observe: int64(seq)}
	}
	if len(c.obs) >= s.cfg.MaxObservations {
		c.mu.Unlock()
		return s.bad(r, codes.ServiceUnavailable, "too many observations", nil)
	}
	_, real, _, _ := topic.ParseShared(filter)
	o = &observation{filter: filter, real: real, token: append([]byte(nil), r.msg.Token()...), cc: r.cc, qos: qos}
	if c.obs == nil {
		c.obs = make(map[string]*observation)
	}
	c.obs[filter] = o
	// Hold deliveries (retained messages) until the registration's response
	// is written, so that notifications never overtake it.
	c.holding++
	c.mu.Unlock()
	release := func() {
		c.mu.Lock()
		c.holding--
		c.mu.Unlock()
		c.Notify()
	}

	opts := core.SubOptions{QoS: qos, NoLocal: q["nl"] == "1" || q["nl"] == "true"}
	if rh, err := strconv.Atoi(q.first("rh")); err == nil && rh >= 0 && rh <= 2 {
		opts.RetainHandling = byte(rh)
	}
	if _, err := s.ctx.Subscribe(c.id, c, filter, opts); err != nil {
		c.mu.Lock()
		if c.obs[filter] == o {
			delete(c.obs, filter)
		}
		left := len(c.obs)
		c.mu.Unlock()
		release()
		if left == 0 && c.token == "" {
			s.endClient(c, "subscribe_failed")
		}
		code := codes.BadRequest
		if errors.Is(err, broker.ErrTooManySubs) || errors.Is(err, broker.ErrNotConnected) {
			code = codes.ServiceUnavailable
		}
		return s.bad(r, code, err.Error(), err)
	}
	if r.afterOK == nil || !r.afterOK(release) {
		release()
	}
	s.log.Debug().Str("clientid", c.id).Str("topic", filter).Msg("observe_registered")
	return response{code: codes.Content, format: -1, observe: 0}
}

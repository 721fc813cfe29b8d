package raw

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
	rawcodec "github.com/manifold-iot/manifold/codec/raw"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/session"
)

// timerIdle is the keepalive; handler timers are timerIdle+1 … MaxTimers.
const timerIdle adapters.TimerID = 0

// Errors a raw connection is closed with, and a Conn's methods return.
var (
	ErrIdleTimeout      = errors.New("raw: idle timeout")
	ErrNoClientID       = errors.New("raw: first frame does not match clientid_regex")
	ErrAuthFailed       = errors.New("raw: authentication failed")
	ErrNotAuthorized    = errors.New("raw: not authorized")
	ErrNotAuthenticated = errors.New("raw: not authenticated")
	ErrAlreadyConnected = errors.New("raw: already authenticated")
	ErrClosed           = errors.New("raw: connection closing")
	ErrHandlerPanic     = errors.New("raw: handler panicked")
)

type phase uint8

const (
	phaseOpen      phase = iota // no client id yet
	phaseConnected              // connected to the core
	phaseClosing
)

// kick is posted by the broker when the client is taken over or kicked.
type kick struct{ reason error }

// channel is one raw connection (or UDP peer). Its methods run on the
// connection's goroutine, except Notify and Kick (broker.Conn), which only
// schedule work through the edge's Handle.
type channel struct {
	a      *Adapter
	cfg    *Config
	ctx    adapters.Context
	handle adapters.Handle
	log    *zerolog.Logger

	phase  phase
	client core.ClientInfo
	sess   *session.Session
	up     string // the expanded up_topic (config-only mode)
	resume bool   // a resumed session's unacknowledged messages are still to be written

	handler Handler // nil: config-only mode
	hc      hconn

	// The keepalive is checked every keepalive/2: a check that finds no
	// frame since the one before counts a silent tick, two close. Setting a
	// timer per frame would cost more than a flag.
	keepalive  time.Duration
	active     bool // a frame arrived since the last check
	silent     uint8
	timerNames []string // handler timer i+1 is named timerNames[i]

	// This call's output: frames encoded back to back in wbuf, frame i
	// ending at ends[i]; timers set; the reason to close.
	wbuf     []byte
	ends     []int
	out      []codec.Frame
	timers   []adapters.Timer
	shutdown error

	dbuf []session.Delivery
}

func newChannel(a *Adapter, ci adapters.ConnInfo, ctx adapters.Context) *channel {
	c := &channel{a: a, cfg: &a.cfg, ctx: ctx, handle: ci.Handle, log: ctx.Logger(), keepalive: a.cfg.IdleTimeout}
	c.client = core.ClientInfo{Peer: ci.Remote, Proto: "raw", Listener: ci.Listener, LocalPort: ci.Local.Port()}
	if ci.TLS != nil && len(ci.TLS.PeerCertificates) > 0 {
		c.client.CertCN = adapters.PeerCertValue(ci.TLS, "cn")
	}
	c.hc.c = c
	if a.factory != nil {
		c.handler = a.factory()
	}
	return c
}

// ev adds the connection's fields to a log event.
func (c *channel) ev(e *zerolog.Event) *zerolog.Event {
	if e == nil {
		return nil
	}
	e = e.Str("proto", "raw").Str("listener", c.client.Listener)
	if c.client.Peer.IsValid() {
		e = e.Str("peer", c.client.Peer.String())
	}
	if c.client.ClientID != "" {
		e = e.Str("clientid", c.client.ClientID)
	}
	return e
}

// Codec implements adapters.Channel: the listener's framer (stateless, so
// shared by every connection of the listener).
func (c *channel) Codec() codec.Codec { return c.a.framer }

// Notify implements broker.Conn (any goroutine).
func (c *channel) Notify() { c.handle.Notify() }

// Kick implements broker.Conn (any goroutine).
func (c *channel) Kick(reason error) { c.handle.Post(kick{reason}) }

func (c *channel) begin() {
	c.wbuf, c.ends, c.timers, c.shutdown = c.wbuf[:0], c.ends[:0], c.timers[:0], nil
	if cap(c.wbuf) > 1<<20 {
		c.wbuf = nil // a burst is over: give back its memory
	}
}

// send encodes one frame with the listener's framing into this call's
// output. A frame the framing cannot carry is dropped with a log line.
func (c *channel) send(frame []byte) {
	b, err := c.a.framer.AppendFrame(c.wbuf, frame)
	if err != nil {
		c.ev(c.log.Warn()).Err(err).Int("size", len(frame)).Msg("frame_not_encodable")
		return
	}
	c.wbuf = b
	c.ends = append(c.ends, len(b))
}

// closeWith ends the connection after this call's output.
func (c *channel) closeWith(reason error) {
	if c.shutdown == nil {
		c.shutdown = reason
	}
	c.phase = phaseClosing
}

// reply hands this call's output to the edge: one Raw per frame, so that a
// UDP driver sends one datagram per frame.
func (c *channel) reply() adapters.Replies {
	r := adapters.Replies{Timers: c.timers, Shutdown: c.shutdown}
	if len(c.ends) > 0 {
		c.out = c.out[:0]
		start := 0
		for _, end := range c.ends {
			c.out = append(c.out, adapters.Raw(c.wbuf[start:end]))
			start = end
		}
		r.Out = c.out
	}
	return r
}

// Open implements adapters.Channel: the idle timer starts; in config-only
// mode without clientid_regex the client connects at once, named by its
// address; a handler gets OnConnect.
func (c *channel) Open() adapters.Replies {
	c.begin()
	c.active = true
	if c.keepalive > 0 {
		c.timers = append(c.timers, adapters.Timer{ID: timerIdle, After: c.keepalive / 2})
	}
	switch {
	case c.handler != nil:
		c.call(func() {
			if err := c.handler.OnConnect(&c.hc); err != nil {
				c.ev(c.log.Info()).Err(err).Msg("handler_refused_connection")
				c.closeWith(err)
			}
		})
	case c.a.idRe == nil:
		if err := c.connect(c.client.Peer.String(), "", nil); err != nil {
			c.closeWith(err)
		}
	}
	return c.reply()
}

// HandleIn implements adapters.Channel.
func (c *channel) HandleIn(f codec.Frame) adapters.Replies {
	c.begin()
	if c.phase == phaseClosing {
		return adapters.Replies{}
	}
	c.active = true
	frame, _ := f.(rawcodec.Frame)
	switch {
	case c.handler != nil:
		c.call(func() { c.handler.OnFrame(&c.hc, frame) })
	case c.phase == phaseOpen:
		m := c.a.idRe.FindSubmatch(frame)
		if m == nil || len(m[1]) == 0 {
			c.ev(c.log.Warn()).Str("frame", preview(frame)).Str("regex", c.cfg.ClientIDRegex).Msg("clientid_not_found")
			c.closeWith(ErrNoClientID)
			break
		}
		if err := c.connect(string(m[1]), "", nil); err != nil {
			c.closeWith(err)
			break
		}
		if c.cfg.PublishIDFrame {
			c.publishUp(frame)
		}
	default:
		c.publishUp(frame)
	}
	return c.reply()
}

// preview is a frame as a log field: quoted, at most 64 bytes.
func preview(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%q…", b[:64])
	}
	return fmt.Sprintf("%q", b)
}

// HandleFrameError implements adapters.Channel: bytes the framer refused
// (too long, bad length field). The edge closes the connection after.
func (c *channel) HandleFrameError(err error) adapters.Replies {
	c.ev(c.log.Warn()).Err(err).Str("framing", c.a.framer.Type()).Msg("frame_error")
	c.phase = phaseClosing
	return adapters.Replies{Shutdown: err}
}

// HandleDeliver implements adapters.Channel.
func (c *channel) HandleDeliver() adapters.Replies {
	c.begin()
	if c.phase != phaseConnected {
		return adapters.Replies{}
	}
	if c.resume {
		c.resume = false
		c.dbuf = c.sess.Resume(c.dbuf[:0])
		c.writeDeliveries()
	}
	more := c.deliver(time.Now())
	r := c.reply()
	r.More = more && c.shutdown == nil
	return r
}

// deliver writes what the session has queued, up to DeliverBatch messages,
// and reports whether more wait. There is no acknowledgement on a raw
// connection: a QoS 1 or 2 delivery is acknowledged to the session once it
// is written to the connection's output (at-most-once past that point).
func (c *channel) deliver(now time.Time) bool {
	n := 0
	for n < c.cfg.DeliverBatch && c.phase == phaseConnected {
		// Each round is acknowledged as it is written, so the window takes
		// more at once: loop until the queue is empty or the batch is full.
		c.dbuf, _ = c.sess.Take(c.dbuf[:0], now, c.cfg.DeliverBatch-n)
		if len(c.dbuf) == 0 {
			return false
		}
		n += len(c.dbuf)
		c.writeDeliveries()
	}
	return n >= c.cfg.DeliverBatch
}

// writeDeliveries writes and acknowledges c.dbuf.
func (c *channel) writeDeliveries() {
	for i := range c.dbuf {
		d := &c.dbuf[i]
		if !d.Release && d.Msg != nil {
			if c.handler != nil {
				m := c.unmounted(d.Msg)
				c.call(func() { c.handler.OnMessage(&c.hc, m) })
			} else {
				c.send(d.Msg.Payload)
			}
		}
		c.sess.Settle(d)
		c.dbuf[i] = session.Delivery{}
	}
}

// unmounted is m as the handler named its topic: without the mountpoint.
func (c *channel) unmounted(m *core.Message) *core.Message {
	t := adapters.Unmount(c.client.Mountpoint, m.Topic)
	if len(t) == len(m.Topic) {
		return m
	}
	cp := *m // messages are shared and immutable: change a copy
	cp.Topic = t
	return &cp
}

// HandleTimeout implements adapters.Channel.
func (c *channel) HandleTimeout(id adapters.TimerID, _ time.Time) adapters.Replies {
	c.begin()
	if c.phase == phaseClosing {
		return adapters.Replies{}
	}
	if id == timerIdle {
		if c.keepalive <= 0 {
			return adapters.Replies{}
		}
		if c.active {
			c.active, c.silent = false, 0
		} else if c.silent++; c.silent >= 2 {
			// Silent for at least idle_timeout (at most 1.5 × idle_timeout).
			c.ev(c.log.Info()).Dur("idle_timeout", c.keepalive).Msg("idle_timeout")
			c.closeWith(ErrIdleTimeout)
			return c.reply()
		}
		c.timers = append(c.timers, adapters.Timer{ID: timerIdle, After: c.keepalive / 2})
		return c.reply()
	}
	if i := int(id) - 1; c.handler != nil && i < len(c.timerNames) && c.timerNames[i] != "" {
		name := c.timerNames[i]
		c.call(func() { c.handler.OnTimer(&c.hc, name) })
	}
	return c.reply()
}

// HandleEvent implements adapters.Channel.
func (c *channel) HandleEvent(ev any) adapters.Replies {
	c.begin()
	if k, ok := ev.(kick); ok && c.phase == phaseConnected {
		c.ev(c.log.Info()).Err(k.reason).Msg("client_kicked")
		c.closeWith(k.reason)
	}
	return c.reply()
}

// Close implements adapters.Channel.
func (c *channel) Close(reason error) {
	c.phase = phaseClosing
	if c.handler != nil {
		c.call(func() { c.handler.OnClose(&c.hc, reason) })
	}
	if c.sess != nil {
		c.ctx.Disconnect(c.client.ClientID, c, false, nil, disconnectReason(reason))
		c.ev(c.log.Debug()).AnErr("reason", reason).Msg("client_disconnected")
		c.sess = nil
	}
}

// disconnectReason names why a connection ended, in EMQX's words.
func disconnectReason(err error) string {
	switch {
	case err == nil:
		return "tcp_closed"
	case errors.Is(err, ErrIdleTimeout):
		return "keepalive_timeout"
	case errors.Is(err, ErrNotAuthorized):
		return "not_authorized"
	case errors.Is(err, broker.ErrTakenOver):
		return "takenover"
	case errors.Is(err, rawcodec.ErrTooLong), errors.Is(err, rawcodec.ErrBadLength):
		return "frame_error"
	default:
		return "closed"
	}
}

// call runs a handler callback. A panicking handler closes its own
// connection with a log line instead of the whole event loop.
func (c *channel) call(f func()) {
	defer func() {
		if p := recover(); p != nil {
			c.ev(c.log.Error()).Interface("panic", p).Msg("handler_panic")
			c.closeWith(fmt.Errorf("%w: %v", ErrHandlerPanic, p))
		}
	}()
	f()
}

// connect authenticates the client and opens its session with the core.
// In config-only mode it also subscribes the downlink topic.
func (c *channel) connect(clientID, username string, password []byte) error {
	if c.phase == phaseConnected {
		return ErrAlreadyConnected
	}
	if c.phase == phaseClosing {
		return ErrClosed
	}
	if clientID == "" {
		return fmt.Errorf("%w: empty client id", ErrAuthFailed)
	}
	c.client.ClientID, c.client.Username = clientID, username
	if err := c.ctx.Authenticate(adapters.AuthRequest{Client: &c.client, Password: password}); err != nil {
		c.ev(c.log.Info()).Err(err).Msg("auth_failed")
		c.client.ClientID, c.client.Username = "", ""
		return fmt.Errorf("%w: %w", ErrAuthFailed, err)
	}
	c.client.Mountpoint = expand(c.cfg.Mountpoint, &c.client)
	expiry := time.Duration(0)
	if !c.cfg.CleanSession {
		expiry = c.cfg.SessionExpiry
	}
	res := c.ctx.Connect(broker.ConnectRequest{
		Client:     &c.client,
		Conn:       c,
		CleanStart: c.cfg.CleanSession,
		Expiry:     expiry,
		Keepalive:  c.keepalive,
	})
	c.sess = res.Session
	c.phase = phaseConnected
	c.ev(c.log.Debug()).Bool("session_present", res.SessionPresent).Msg("client_connected")

	if c.handler == nil {
		c.up = expand(c.cfg.UpTopic, &c.client)
		if c.cfg.DnTopic != "" {
			if err := c.subscribe(expand(c.cfg.DnTopic, &c.client), c.cfg.DnQoS); err != nil && !errors.Is(err, ErrNotAuthorized) {
				c.ev(c.log.Warn()).Err(err).Msg("subscribe_failed")
			}
		}
	}
	// Deliveries (a resumed session's unacknowledged messages first) are
	// written from HandleDeliver, never from inside this call: a handler
	// calling Authenticate gets no OnMessage before it returns.
	c.resume = res.SessionPresent
	c.handle.Notify()
	return nil
}

// publishUp publishes a frame on the uplink topic (config-only mode).
// Denied by authorization: dropped with a log line, or closed when
// authorization.deny_action is disconnect.
func (c *channel) publishUp(frame []byte) {
	err := c.publish(c.up, frame, c.cfg.UpQoS, c.cfg.UpRetain)
	if err != nil && !errors.Is(err, ErrNotAuthorized) {
		c.ev(c.log.Warn()).Err(err).Msg("publish_failed")
	}
}

// publish authorizes and publishes as the client. The topic is authorized
// as the client named it, then mounted (as EMQX does).
func (c *channel) publish(topic string, payload []byte, qos core.QoS, retain bool) error {
	switch c.phase {
	case phaseOpen:
		return ErrNotAuthenticated
	case phaseClosing:
		return ErrClosed
	}
	if !c.ctx.Authorize(&c.client, core.ActionPublish, topic, qos, retain) {
		c.ev(c.log.Info()).Str("topic", topic).Msg("publish_denied")
		if c.ctx.DenyAction() == "disconnect" {
			c.closeWith(ErrNotAuthorized)
		}
		return fmt.Errorf("%w: publish %s", ErrNotAuthorized, topic)
	}
	m := &core.Message{
		Topic:   adapters.Mount(c.client.Mountpoint, topic),
		Payload: append([]byte(nil), payload...), // the frame points into the read buffer
		QoS:     qos,
		Retain:  retain,
		From:    c.client.ClientID,
	}
	if _, err := c.ctx.Publish(m); err != nil {
		return fmt.Errorf("raw: publish %s: %w", topic, err)
	}
	return nil
}

func (c *channel) subscribe(filter string, qos core.QoS) error {
	switch c.phase {
	case phaseOpen:
		return ErrNotAuthenticated
	case phaseClosing:
		return ErrClosed
	}
	if !c.ctx.Authorize(&c.client, core.ActionSubscribe, filter, qos, false) {
		c.ev(c.log.Info()).Str("filter", filter).Msg("subscribe_denied")
		if c.ctx.DenyAction() == "disconnect" {
			c.closeWith(ErrNotAuthorized)
		}
		return fmt.Errorf("%w: subscribe %s", ErrNotAuthorized, filter)
	}
	res, err := c.ctx.Subscribe(c.client.ClientID, c, adapters.MountFilter(c.client.Mountpoint, filter), core.SubOptions{QoS: qos})
	if err != nil {
		return fmt.Errorf("raw: subscribe %s: %w", filter, err)
	}
	c.ev(c.log.Debug()).Str("filter", filter).Uint8("qos", uint8(res.Granted)).Msg("client_subscribed")
	return nil
}

func (c *channel) unsubscribe(filter string) error {
	switch c.phase {
	case phaseOpen:
		return ErrNotAuthenticated
	case phaseClosing:
		return ErrClosed
	}
	if _, err := c.ctx.Unsubscribe(c.client.ClientID, c, adapters.MountFilter(c.client.Mountpoint, filter)); err != nil {
		return fmt.Errorf("raw: unsubscribe %s: %w", filter, err)
	}
	return nil
}

// hconn is the Conn a handler gets: the channel, seen through the handler
// API. Its methods run inside the channel's callbacks.
type hconn struct{ c *channel }

var _ Conn = (*hconn)(nil)

func (h *hconn) Peer() netip.AddrPort                { return h.c.client.Peer }
func (h *hconn) Listener() string                    { return h.c.client.Listener }
func (h *hconn) ClientID() string                    { return h.c.client.ClientID }
func (h *hconn) Logger() *zerolog.Logger             { return h.c.log }
func (h *hconn) Log(e *zerolog.Event) *zerolog.Event { return h.c.ev(e) }

func (h *hconn) Send(frame []byte) {
	if h.c.phase != phaseClosing {
		h.c.send(frame)
	}
}

func (h *hconn) Close(reason error) {
	if reason == nil {
		reason = ErrClosed
	}
	h.c.ev(h.c.log.Debug()).Err(reason).Msg("handler_closed_connection")
	h.c.closeWith(reason)
}

func (h *hconn) Authenticate(clientID, username string, password []byte) error {
	return h.c.connect(clientID, username, password)
}

func (h *hconn) SetKeepalive(d time.Duration) {
	h.c.keepalive = max(d, 0)
	h.c.active, h.c.silent = true, 0
	h.c.timers = append(h.c.timers, adapters.Timer{ID: timerIdle, After: h.c.keepalive / 2})
}

func (h *hconn) Publish(topic string, payload []byte, qos core.QoS, retain bool) error {
	return h.c.publish(topic, payload, qos, retain)
}

func (h *hconn) Subscribe(filter string, qos core.QoS) error { return h.c.subscribe(filter, qos) }

func (h *hconn) Unsubscribe(filter string) error { return h.c.unsubscribe(filter) }

func (h *hconn) StartTimer(name string, d time.Duration) {
	c := h.c
	i := -1
	for j, n := range c.timerNames {
		if n == name {
			i = j
			break
		}
	}
	if i < 0 {
		if d <= 0 {
			return
		}
		if len(c.timerNames) >= MaxTimers {
			c.ev(c.log.Warn()).Str("timer", name).Int("max", MaxTimers).Msg("too_many_timers")
			return
		}
		c.timerNames = append(c.timerNames, name)
		i = len(c.timerNames) - 1
	}
	c.timers = append(c.timers, adapters.Timer{ID: adapters.TimerID(i + 1), After: d})
}

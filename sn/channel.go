package sn

import (
	"errors"
	"net/netip"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
	snc "github.com/manifold-iot/manifold/codec/sn"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/session"
)

// Timers of an MQTT-SN channel.
const (
	timerConnect   adapters.TimerID = iota // idle_timeout: CONNECT (and the will dialogue) must finish by then
	timerKeepalive                         // keepalive × multiplier of silence, or the sleep duration, drops the client
	timerRetry                             // T_RETRY: resend what is unacknowledged
	timerAckHold                           // the oldest held PUBACK/PUBREC stops waiting for subscribers
)

// ackHold bounds how long a PUBACK or PUBREC waits for a pressured
// subscriber (push-back), as MQTT's default ack hold; the wait for the
// store has no bound (adapters.HeldAcks).
const ackHold = 5 * time.Second

// Errors a channel closes with.
var (
	ErrConnectTimeout   = errors.New("sn: no CONNECT within idle_timeout")
	ErrKeepaliveTimeout = errors.New("sn: keepalive timeout")
	ErrSleepTimeout     = errors.New("sn: sleep duration passed without PINGREQ")
	ErrRetriesExceeded  = errors.New("sn: no acknowledgement after max_retries")
	ErrClientDisconnect = errors.New("sn: client disconnected")
	ErrConnectRefused   = errors.New("sn: connect refused")
	ErrNotAuthorized    = errors.New("sn: not authorized")
)

type phase uint8

const (
	phaseIdle      phase = iota // no CONNECT yet: SEARCHGW and QoS -1 publishes are served
	phaseWillTopic              // CONNECT with Will: WILLTOPICREQ sent
	phaseWillMsg                // WILLMSGREQ sent
	phaseActive
	phaseAsleep // DISCONNECT with a duration: deliveries are buffered
	phaseAwake  // woken by PINGREQ: buffered messages go out, then PINGRESP
	phaseClosing
)

func (p phase) connected() bool { return p == phaseActive || p == phaseAsleep || p == phaseAwake }

// kick is the event the broker posts when the session is taken over.
type kick struct{ reason error }

// unacked is an outbound PUBLISH (QoS 1 or 2) or PUBREL awaiting its
// acknowledgement, kept for retransmission (MQTT-SN 1.2 §6.13).
type unacked struct {
	pub    snc.Publish
	rel    bool // PUBREL sent, awaiting PUBCOMP
	sentAt time.Time
	tries  int
}

// regOut is the REGISTER the gateway has in flight (one at a time: the
// PUBLISH that needs it waits for its REGACK, §6.10).
type regOut struct {
	id, msgID uint16
	name      string
	sentAt    time.Time
	tries     int
}

// fwd is the forwarder encapsulation a client speaks through (§5.5);
// replies are wrapped in the same.
type fwd struct {
	radius byte
	node   []byte
}

// channel is one MQTT-SN client's state machine. All its methods run on the
// peer's own goroutine (its event loop), except Notify and Kick.
type channel struct {
	a      *Adapter
	cfg    *Config
	ctx    adapters.Context
	handle adapters.Handle
	log    *zerolog.Logger

	phase  phase
	client core.ClientInfo
	sess   *session.Session
	clean  bool
	fwd    *fwd

	keepalive    time.Duration
	sleepFor     time.Duration
	lastActivity time.Time

	will       *core.Message // kept here, not in the broker, so WILLTOPICUPD and WILLMSGUPD can change it
	willTopic  snc.WillTopic // during the CONNECT dialogue
	willDone   bool          // the will must not be published
	connecting *snc.Connect  // the CONNECT whose will dialogue is under way

	reg        registry
	regPending *regOut
	reRegister []uint16 // subs_resume: ids to REGISTER again on a resumed session
	regMsgID   uint16
	outq       []session.Delivery // taken from the session, not yet sent
	inflight   map[uint16]*unacked
	retryArmed bool
	dropped    uint64                      // deliveries dropped (sleep buffer overflow, too large, registry full)
	held       *adapters.HeldAcks[heldAck] // acknowledgements held back; nil while none is

	timers []adapters.Timer
	wbuf   []byte
	ends   []int
	out    []codec.Frame
	pub    snc.Publish
}

func newChannel(a *Adapter, ci adapters.ConnInfo, ctx adapters.Context) *channel {
	c := &channel{a: a, cfg: &a.cfg, ctx: ctx, handle: ci.Handle, log: ctx.Logger()}
	c.client = core.ClientInfo{Peer: ci.Remote, Proto: "mqtt-sn", ProtoVer: 2, Listener: ci.Listener, LocalPort: ci.Local.Port()}
	if ci.TLS != nil && len(ci.TLS.PeerCertificates) > 0 {
		c.client.CertCN = adapters.PeerCertValue(ci.TLS, "cn")
	}
	return c
}

func addrString(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// ev adds the connection's fields to a log event.
func (c *channel) ev(e *zerolog.Event) *zerolog.Event {
	if e == nil {
		return nil
	}
	e = e.Str("proto", "mqttsn").Str("listener", c.client.Listener).Str("peer", addrString(c.client.Peer))
	if c.client.ClientID != "" {
		e = e.Str("clientid", c.client.ClientID)
	}
	return e
}

// Codec implements adapters.Channel.
func (c *channel) Codec() codec.Codec { return snc.Codec{} }

// Open implements adapters.Channel: a new peer has idle_timeout to connect.
func (c *channel) Open() adapters.Replies {
	return adapters.Replies{Timers: []adapters.Timer{{ID: timerConnect, After: c.cfg.IdleTimeout}}}
}

// Notify implements broker.Conn (any goroutine).
func (c *channel) Notify() { c.handle.Notify() }

// Kick implements broker.Conn (any goroutine).
func (c *channel) Kick(reason error) { c.handle.Post(kick{reason}) }

// drained is posted when what a held acknowledgement waits for has drained.
type drained struct{}

// Wake implements core.Waker (any goroutine).
func (c *channel) Wake() { c.handle.Post(drained{}) }

// begin starts a call: the previous call's replies have been consumed.
func (c *channel) begin() {
	c.timers = c.timers[:0]
	c.wbuf = c.wbuf[:0]
	c.ends = c.ends[:0]
	if cap(c.wbuf) > 1<<20 {
		c.wbuf = nil
	}
}

// write encodes m (inside the client's forwarder encapsulation, if any) as
// one datagram of this call's replies.
func (c *channel) write(m snc.Message) {
	start := len(c.wbuf)
	if c.fwd != nil {
		m = &snc.Encapsulated{Radius: c.fwd.radius, NodeID: c.fwd.node, Msg: m}
	}
	b, err := snc.Encode(c.wbuf, m)
	if err != nil {
		c.ev(c.log.Error()).Err(err).Str("message", m.Type().String()).Msg("encode_failed")
		c.wbuf = c.wbuf[:start]
		return
	}
	c.wbuf = b
	c.ends = append(c.ends, len(c.wbuf))
}

// reply returns what this call wrote: one Raw frame per message, so that a
// datagram transport sends each as its own datagram.
func (c *channel) reply() adapters.Replies {
	r := adapters.Replies{Timers: c.timers}
	c.out = c.out[:0]
	start := 0
	for _, e := range c.ends {
		c.out = append(c.out, adapters.Raw(c.wbuf[start:e]))
		start = e
	}
	if len(c.out) > 0 {
		r.Out = c.out
	}
	return r
}

func (c *channel) shutdown(reason error) adapters.Replies {
	c.phase = phaseClosing
	r := c.reply()
	r.Shutdown = reason
	return r
}

// HandleIn implements adapters.Channel.
func (c *channel) HandleIn(f codec.Frame) adapters.Replies {
	c.begin()
	if c.phase == phaseClosing {
		return adapters.Replies{}
	}
	m, ok := f.(snc.Message)
	if !ok {
		return adapters.Replies{}
	}
	if e, ok := m.(*snc.Encapsulated); ok {
		if c.fwd == nil || c.fwd.radius != e.Radius || string(c.fwd.node) != string(e.NodeID) {
			c.fwd = &fwd{radius: e.Radius, node: append([]byte(nil), e.NodeID...)}
		}
		m = e.Msg
	} else {
		c.fwd = nil
	}
	c.lastActivity = time.Now()
	switch p := m.(type) {
	case *snc.SearchGw:
		c.write(&snc.GwInfo{GwID: c.cfg.GatewayID}) // §6.1
		return c.reply()
	case *snc.Connect:
		return c.handleConnect(p)
	case *snc.WillTopic:
		if c.phase == phaseWillTopic {
			return c.handleWillTopic(p)
		}
	case *snc.WillMsg:
		if c.phase == phaseWillMsg {
			return c.handleWillMsg(p)
		}
	case *snc.Publish:
		if p.QoS == snc.QoSMinus1 && !c.phase.connected() {
			return c.handlePublishNeg(p)
		}
		if c.phase.connected() {
			return c.handlePublish(p)
		}
	case *snc.Pingreq:
		if c.phase.connected() {
			return c.handlePingreq(p)
		}
	}
	if !c.phase.connected() {
		c.ev(c.log.Debug()).Str("message", m.Type().String()).Msg("message_before_connect")
		return c.reply()
	}
	switch p := m.(type) {
	case *snc.Register:
		return c.handleRegister(p)
	case *snc.Regack:
		return c.handleRegack(p)
	case *snc.Puback:
		return c.handlePuback(p)
	case *snc.Pubrec:
		return c.handlePubrec(p)
	case *snc.Pubrel:
		c.sess.Release(p.MsgID) // PUBCOMP all the same: the exchange is over for the client
		c.write(&snc.Pubcomp{MsgID: p.MsgID})
		return c.reply()
	case *snc.Pubcomp:
		return c.handlePubcomp(p)
	case *snc.Subscribe:
		return c.handleSubscribe(p)
	case *snc.Unsubscribe:
		return c.handleUnsubscribe(p)
	case *snc.Disconnect:
		return c.handleDisconnect(p)
	case *snc.WillTopicUpd:
		return c.handleWillTopicUpd(p)
	case *snc.WillMsgUpd:
		return c.handleWillMsgUpd(p)
	}
	c.ev(c.log.Debug()).Str("message", m.Type().String()).Msg("unexpected_message")
	return c.reply()
}

// HandleFrameError implements adapters.Channel: a stream transport (DTLS
// records are datagrams too, but the driver treats them alike) could not
// decode the bytes. MQTT-SN has no error message; the edge closes.
func (c *channel) HandleFrameError(err error) adapters.Replies {
	c.begin()
	c.ev(c.log.Warn()).Err(err).Msg("malformed_message")
	return c.shutdown(err)
}

// HandleTimeout implements adapters.Channel.
func (c *channel) HandleTimeout(id adapters.TimerID, now time.Time) adapters.Replies {
	c.begin()
	switch id {
	case timerConnect:
		if !c.phase.connected() && c.phase != phaseClosing {
			c.ev(c.log.Debug()).Msg("connect_timeout")
			return c.shutdown(ErrConnectTimeout)
		}
	case timerKeepalive:
		return c.checkKeepalive(now)
	case timerRetry:
		c.retryArmed = false
		if c.phase.connected() {
			return c.retransmit(now)
		}
	case timerAckHold:
		if c.phase.connected() {
			c.releaseHeld(now)
			return c.reply()
		}
	}
	return adapters.Replies{}
}

func (c *channel) checkKeepalive(now time.Time) adapters.Replies {
	var limit time.Duration
	var cause error
	switch c.phase {
	case phaseActive, phaseAwake:
		if c.keepalive == 0 {
			return adapters.Replies{}
		}
		limit, cause = time.Duration(float64(c.keepalive)*c.cfg.KeepaliveMultiplier), ErrKeepaliveTimeout
	case phaseAsleep:
		limit, cause = time.Duration(float64(c.sleepFor)*c.cfg.KeepaliveMultiplier), ErrSleepTimeout
	default:
		return adapters.Replies{}
	}
	idle := now.Sub(c.lastActivity)
	if idle >= limit {
		c.ev(c.log.Info()).Dur("idle", idle).Bool("asleep", c.phase == phaseAsleep).Msg("keepalive_timeout")
		return c.shutdown(cause)
	}
	c.timers = append(c.timers, adapters.Timer{ID: timerKeepalive, After: limit - idle})
	return c.reply()
}

// HandleEvent implements adapters.Channel.
func (c *channel) HandleEvent(ev any) adapters.Replies {
	c.begin()
	if k, ok := ev.(kick); ok && c.phase.connected() {
		c.willDone = true // taken over: the broker deals with the session
		c.ev(c.log.Info()).Err(k.reason).Msg("client_kicked")
		c.write(&snc.Disconnect{})
		return c.shutdown(k.reason)
	}
	if _, ok := ev.(drained); ok && c.phase.connected() {
		c.releaseHeld(time.Now())
		return c.reply()
	}
	return adapters.Replies{}
}

// Close implements adapters.Channel: the will goes out unless the client
// said DISCONNECT (or was taken over).
func (c *channel) Close(reason error) {
	if c.sess == nil {
		return
	}
	if !c.willDone && c.will != nil {
		w := *c.will
		w.Timestamp = time.Now()
		if _, err := c.ctx.Publish(&w); err != nil {
			c.ev(c.log.Warn()).Err(err).Str("topic", w.Topic).Msg("will_publish_failed")
		}
	}
	c.willDone = true
	c.ctx.Disconnect(c.client.ClientID, c, false, nil, disconnectReason(reason))
	c.ev(c.log.Debug()).AnErr("reason", reason).Msg("client_disconnected")
	c.sess = nil
}

func disconnectReason(err error) string {
	switch {
	case err == nil:
		return "closed"
	case errors.Is(err, ErrKeepaliveTimeout), errors.Is(err, ErrSleepTimeout):
		return "keepalive_timeout"
	case errors.Is(err, ErrRetriesExceeded):
		return "retries_exceeded"
	case errors.Is(err, ErrClientDisconnect):
		return "normal"
	default:
		return "closed"
	}
}

// handleDisconnect: without a duration the client leaves (no will, §6.12);
// with one it goes to sleep (§6.14), acknowledged by a DISCONNECT without
// duration.
func (c *channel) handleDisconnect(p *snc.Disconnect) adapters.Replies {
	c.write(&snc.Disconnect{})
	if p.HasDuration && p.Duration > 0 {
		c.sleepFor = time.Duration(p.Duration) * time.Second
		c.phase = phaseAsleep
		c.timers = append(c.timers, adapters.Timer{ID: timerKeepalive,
			After: time.Duration(float64(c.sleepFor) * c.cfg.KeepaliveMultiplier)})
		c.ev(c.log.Debug()).Dur("duration", c.sleepFor).Msg("client_asleep")
		return c.reply()
	}
	c.willDone = true
	c.ctx.Disconnect(c.client.ClientID, c, false, nil, "normal")
	c.sess = nil
	c.ev(c.log.Debug()).Msg("client_disconnected")
	return c.shutdown(ErrClientDisconnect)
}

// handlePingreq answers PINGREQ; from a sleeping client with its client id
// it wakes it (§6.14): REGISTERs and every buffered message go out first,
// PINGRESP last.
func (c *channel) handlePingreq(p *snc.Pingreq) adapters.Replies {
	if c.phase == phaseAsleep && p.ClientID != "" {
		if p.ClientID != c.client.ClientID {
			c.ev(c.log.Info()).Str("pingreq_clientid", p.ClientID).Msg("wake_clientid_mismatch")
			return c.reply()
		}
		c.phase = phaseAwake
		c.resendAll(time.Now())
		return c.deliver()
	}
	c.write(&snc.Pingresp{})
	if c.phase == phaseAsleep {
		c.timers = append(c.timers, adapters.Timer{ID: timerKeepalive,
			After: time.Duration(float64(c.sleepFor) * c.cfg.KeepaliveMultiplier)})
	}
	return c.reply()
}

// mountTopic applies the client's mountpoint.
func (c *channel) mountTopic(t string) string { return adapters.Mount(c.client.Mountpoint, t) }

// unmount strips the mountpoint from a delivered topic.
func (c *channel) unmount(t string) string { return adapters.Unmount(c.client.Mountpoint, t) }

package mqtt

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
	mq "github.com/manifold-iot/manifold/codec/mqtt"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/session"
)

// Timers of an MQTT channel.
const (
	timerConnect   adapters.TimerID = iota // mqtt.idle_timeout: CONNECT must arrive by then
	timerKeepalive                         // keepalive × keepalive_multiplier of silence closes
	timerAckHold                           // the oldest held acknowledgement is due regardless
	timerAwaitRel                          // forget QoS 2 packet ids whose PUBREL is overdue
)

// Errors a channel closes its connection with.
var (
	ErrConnectTimeout   = errors.New("mqtt: no CONNECT within idle_timeout")
	ErrKeepaliveTimeout = errors.New("mqtt: keepalive timeout")
	ErrSecondConnect    = errors.New("mqtt: second CONNECT") // [MQTT-3.1.0-2]
	ErrClientDisconnect = errors.New("mqtt: client disconnected")
)

type phase uint8

const (
	phaseConnecting phase = iota
	phaseConnected
	phaseClosing
)

// kick is the event the broker posts when the session is taken over.
type kick struct{ reason error }

// drained is posted when a subscriber's queue this channel waits for has
// drained (session.Waker).
type drained struct{}

// channel is one MQTT connection's state machine. All its methods run on the
// connection's own goroutine, except Notify and Kick (broker.Conn).
type channel struct {
	cfg    *Config
	ctx    adapters.Context
	handle adapters.Handle
	dec    mq.Decoder

	client core.ClientInfo

	sess     *session.Session
	phase    phase
	version  byte
	willSent bool // the will must not be published (normal DISCONNECT or refused connect)

	sessionExpiryWasZero bool // v5 CONNECT gave no Session Expiry Interval [MQTT-3.14.2-2]

	// Limits the client set in CONNECT (v5), packed beside the flags above.
	aliasOutMax   uint16
	keepaliveSecs uint16 // the keepalive in force; 0: none
	maxPacketOut  uint32 // 0: none
	lastActivity  uint32 // seconds since start, rounded up, of the last packet (see activeAt)

	// What few connections need (certificate-derived ids, topic aliases),
	// allocated on first use.
	rare *rareState

	// Push-back: acknowledgements held until pressured subscribers drain,
	// in the order the PUBLISH packets arrived [MQTT-4.6.0-2] [MQTT-4.6.0-3].
	held *heldAcks // nil while none is held

	// Reused buffers: the packets written during one call, and deliveries.
	timers []adapters.Timer // timers set during this call
	wbuf   adapters.Raw
	out    [1]codec.Frame  // &wbuf once a reply has been written
	ds     *deliverScratch // allocated on the first delivery: idle connections stay small
}

// start is what lastActivity counts from: a monotonic reading, 4 bytes a
// connection instead of a time.Time's 24.
var start = time.Now()

// activeAt is t as lastActivity stores it: whole seconds since start,
// rounded up, so that a keepalive check may close a silent client up to a
// second late but never early [MQTT-3.1.2-22]. 32 bits last 136 years.
func activeAt(t time.Time) uint32 {
	return uint32((t.Sub(start) + time.Second - 1) / time.Second)
}

// idleSince is how long before now the last packet came, by lastActivity.
func (c *channel) idleSince(now time.Time) time.Duration {
	return now.Sub(start) - time.Duration(c.lastActivity)*time.Second
}

// rareState is what only some connections need: the ids a TLS certificate
// gives (peer_cert_as_username, peer_cert_as_clientid; "" when not
// configured) and a v5 connection's topic aliases (MQTT 5 §3.3.2.3.4).
type rareState struct {
	certUsername, certClientID string
	out                        map[string]uint16
	in                         map[uint16]string
}

// rareFields returns the connection's rareState, allocating it on first use.
func (c *channel) rareFields() *rareState {
	if c.rare == nil {
		c.rare = new(rareState)
	}
	return c.rare
}

// heldAcks are acknowledgements held back (push-back, durability), in
// arrival order.
type heldAcks struct {
	adapters.HeldAcks[heldAck]
	qos1 int // how many are PUBACKs
}

// heldCount is how many acknowledgements are held, and heldQoS1 how many of
// them are PUBACKs.
func (c *channel) heldCount() int {
	if c.held == nil {
		return 0
	}
	return c.held.Len()
}

func (c *channel) heldQoS1() int {
	if c.held == nil {
		return 0
	}
	return c.held.qos1
}

// deliverScratch is reused across deliveries.
type deliverScratch struct {
	dbuf   []session.Delivery
	parked []session.Delivery // waiting for wait to drain (see park)
	wait   core.Backlog
	pub    mq.Publish
	users  []mq.UserProperty
}

// scratch returns the delivery buffers, allocating them on first use.
func (c *channel) scratch() *deliverScratch {
	if c.ds == nil {
		c.ds = new(deliverScratch)
	}
	return c.ds
}

// deliveries returns the reusable delivery slice, empty (nil before the
// first delivery, so that an idle connection allocates nothing).
func (c *channel) deliveries() []session.Delivery {
	if c.ds == nil {
		return nil
	}
	return c.ds.dbuf[:0]
}

func newChannel(cfg *Config, ci adapters.ConnInfo, ctx adapters.Context) *channel {
	c := &channel{cfg: cfg, ctx: ctx, handle: ci.Handle}
	c.dec.MaxSize = int32(min(cfg.MaxPacketSize, mq.MaxPacketSize))
	c.client = core.ClientInfo{Peer: ci.Remote, Proto: "mqtt", Listener: ci.Listener, LocalPort: ci.Local.Port()}
	if ci.TLS != nil && len(ci.TLS.PeerCertificates) > 0 {
		c.client.CertCN = adapters.PeerCertValue(ci.TLS, "cn")
		if u, id := adapters.PeerCertValue(ci.TLS, cfg.PeerCertAsUsername), adapters.PeerCertValue(ci.TLS, cfg.PeerCertAsClientID); u != "" || id != "" {
			r := c.rareFields()
			r.certUsername, r.certClientID = u, id
		}
	}
	return c
}

func addrString(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// ev adds the connection's fields (proto, listener, peer, clientid) to a log
// event. They are added per event rather than kept in a logger of its own:
// a per-connection logger context costs hundreds of bytes for every idle
// connection, and connections log rarely.
func (c *channel) ev(e *zerolog.Event) *zerolog.Event {
	if e == nil {
		return nil // level disabled
	}
	e = e.Str("proto", "mqtt").Str("listener", c.client.Listener).Str("peer", addrString(c.client.Peer))
	if c.client.ClientID != "" {
		e = e.Str("clientid", c.client.ClientID)
	}
	return e
}

// Codec implements adapters.Channel.
func (c *channel) Codec() codec.Codec { return &c.dec }

// Open implements adapters.Channel: the client has idle_timeout to connect.
func (c *channel) Open() adapters.Replies {
	return adapters.Replies{Timers: []adapters.Timer{{ID: timerConnect, After: c.cfg.IdleTimeout}}}
}

// Notify implements broker.Conn (any goroutine).
func (c *channel) Notify() { c.handle.Notify() }

// Kick implements broker.Conn (any goroutine).
func (c *channel) Kick(reason error) { c.handle.Post(kick{reason}) }

// Wake implements session.Waker (any goroutine).
func (c *channel) Wake() { c.handle.Post(drained{}) }

// reply returns what was written to wbuf during this call as one frame.
func (c *channel) reply() adapters.Replies {
	r := adapters.Replies{Timers: c.timers}
	// The edge applies the timers before this call returns; an idle
	// connection keeps no slice of them.
	c.timers = nil
	if len(c.wbuf) > 0 {
		// A pointer to the buffer, set once: boxing the slice itself would
		// allocate on every reply.
		if c.out[0] == nil {
			c.out[0] = &c.wbuf
		}
		r.Out = c.out[:]
	}
	return r
}

// write encodes p at the connection's version into this call's buffer.
func (c *channel) write(p mq.Packet) {
	v := c.version
	if v == 0 {
		v = mq.V311
	}
	b, err := mq.Encode(c.wbuf, p, v)
	if err != nil {
		// Our own packets are well formed; an error here is a bug worth a log
		// line, not a crash.
		c.ev(c.ctx.Logger().Error()).Err(err).Str("packet", p.Type().String()).Msg("encode_failed")
		return
	}
	c.wbuf = b
}

// writeAckPacket appends a PUBACK, PUBREC, PUBREL or PUBCOMP without going
// through a packet struct: these are the most frequent packets a broker
// writes and their form is fixed. A v5 reason code other than Success is sent
// without properties (remaining length 3 [MQTT-3.4.2.1]); v3 has no code.
func (c *channel) writeAckPacket(t mq.PacketType, id uint16, code mq.ReasonCode) {
	first := byte(t) << 4
	if t == mq.TypePubrel {
		first |= 0x02 // [MQTT-3.6.1-1]
	}
	if c.version == mq.V5 && code != mq.Success {
		c.wbuf = append(c.wbuf, first, 3, byte(id>>8), byte(id), byte(code))
		return
	}
	c.wbuf = append(c.wbuf, first, 2, byte(id>>8), byte(id))
}

// begin starts a call: the buffer of the previous call has been written.
func (c *channel) begin() {
	// Timers are set seldom (connect, keepalive, held acks): not keeping
	// their slice saves an idle connection 32 bytes.
	c.timers = nil
	c.wbuf = c.wbuf[:0]
	if cap(c.wbuf) > 1<<20 {
		c.wbuf = nil // a burst is over: give back its memory
	}
}

// closeWith writes a DISCONNECT with code on v5 (servers send no DISCONNECT
// on v3), logs why, and asks the edge to close.
func (c *channel) closeWith(code mq.ReasonCode, cause error) adapters.Replies {
	if c.version == mq.V5 && c.phase == phaseConnected {
		c.write(&mq.Disconnect{ReasonCode: code})
	}
	c.phase = phaseClosing
	r := c.reply()
	r.Shutdown = cause
	return r
}

// HandleIn implements adapters.Channel.
func (c *channel) HandleIn(f codec.Frame) adapters.Replies {
	c.begin()
	if c.phase == phaseClosing {
		return adapters.Replies{}
	}
	c.lastActivity = activeAt(time.Now())
	switch p := f.(type) {
	case *mq.Connect:
		if c.phase != phaseConnecting {
			return c.closeWith(mq.ProtocolError, ErrSecondConnect)
		}
		r := c.handleConnect(p)
		c.dec.Recycle(p) // nothing keeps p: handleConnect copied what it needs
		return r
	case *mq.Publish:
		return c.handlePublish(p)
	case *mq.Puback:
		if c.sess.Ack(p.PacketID) {
			return c.deliver()
		}
		return c.reply()
	case *mq.Pubrec:
		return c.handlePubrec(p)
	case *mq.Pubrel:
		return c.handlePubrel(p)
	case *mq.Pubcomp:
		if c.sess.Comp(p.PacketID) {
			return c.deliver()
		}
		return c.reply()
	case *mq.Subscribe:
		return c.handleSubscribe(p)
	case *mq.Unsubscribe:
		return c.handleUnsubscribe(p)
	case *mq.Pingreq:
		c.write(&mq.Pingresp{})
		return c.reply()
	case *mq.Disconnect:
		return c.handleDisconnect(p)
	case *mq.Auth:
		// Enhanced authentication is not offered (CONNACK never names a
		// method), so AUTH is a protocol error [MQTT-4.12.0-1].
		return c.closeWith(mq.ProtocolError, errors.New("mqtt: AUTH without authentication method"))
	default:
		// CONNACK, SUBACK, … come from servers only [MQTT-4.8.0-1].
		return c.closeWith(mq.ProtocolError, fmt.Errorf("mqtt: unexpected %T from client", f))
	}
}

// HandleFrameError implements adapters.Channel: the bytes could not be
// decoded. A v5 client gets a DISCONNECT (or a CONNACK during connect) with
// the reason code; v3 has no way to say why [MQTT-4.13.1-1].
func (c *channel) HandleFrameError(err error) adapters.Replies {
	c.begin()
	code := mq.MalformedPacket
	var me *mq.Error
	if errors.As(err, &me) {
		code = me.Code
	}
	c.ev(c.ctx.Logger().Warn()).Err(err).Str("reason_code", code.String()).Msg("malformed_packet")
	if c.phase == phaseConnecting {
		switch code {
		case mq.UnsupportedProtocolVersion:
			// We cannot know which version the client would understand: the
			// 3.1.1 form of CONNACK is what every MQTT client reads [MQTT-3.1.2-2].
			c.write(&mq.Connack{ReasonCode: mq.ConnRefusedUnacceptableProtocolVersion})
		case mq.ClientIdentifierNotValid:
			c.write(&mq.Connack{ReasonCode: mq.ConnRefusedIdentifierRejected}) // [MQTT-3.1.3-9] (3.1.1)
		}
		c.phase = phaseClosing
		r := c.reply()
		r.Shutdown = err
		return r
	}
	return c.closeWith(code, err)
}

// HandleTimeout implements adapters.Channel.
func (c *channel) HandleTimeout(id adapters.TimerID, now time.Time) adapters.Replies {
	c.begin()
	switch id {
	case timerConnect:
		if c.phase == phaseConnecting {
			c.ev(c.ctx.Logger().Debug()).Msg("connect_timeout")
			c.phase = phaseClosing
			return adapters.Replies{Shutdown: ErrConnectTimeout}
		}
	case timerKeepalive:
		if c.phase != phaseConnected || c.keepaliveSecs == 0 {
			return adapters.Replies{}
		}
		limit := time.Duration(float64(time.Duration(c.keepaliveSecs)*time.Second) * c.cfg.KeepaliveMultiplier)
		idle := c.idleSince(now)
		if idle >= limit {
			c.ev(c.ctx.Logger().Info()).Dur("idle", idle).Msg("keepalive_timeout")
			return c.closeWith(mq.KeepAliveTimeout, ErrKeepaliveTimeout) // [MQTT-3.1.2-22]
		}
		return adapters.Replies{Timers: []adapters.Timer{{ID: timerKeepalive, After: limit - idle}}}
	case timerAckHold:
		if c.phase == phaseConnected {
			return c.releaseHeld(now)
		}
	case timerAwaitRel:
		if c.phase == phaseConnected {
			if n := c.sess.ExpireAwaitingRel(now, c.cfg.AwaitRelTimeout); n > 0 {
				c.ev(c.ctx.Logger().Info()).Int("count", n).Msg("awaiting_rel_expired")
			}
			if c.sess.InboundInflight() > 0 {
				return adapters.Replies{Timers: []adapters.Timer{{ID: timerAwaitRel, After: c.cfg.AwaitRelTimeout / 4}}}
			}
		}
	}
	return adapters.Replies{}
}

// HandleEvent implements adapters.Channel.
func (c *channel) HandleEvent(ev any) adapters.Replies {
	c.begin()
	switch e := ev.(type) {
	case kick:
		if c.phase != phaseConnected {
			return adapters.Replies{}
		}
		c.ev(c.ctx.Logger().Info()).Err(e.reason).Msg("client_kicked")
		if errors.Is(e.reason, broker.ErrTakenOver) {
			c.willSent = true // the broker has dealt with the will
			return c.closeWith(mq.SessionTakenOver, e.reason)
		}
		// An operator's kick: the connection ends without the client's
		// DISCONNECT, so its will is published [MQTT-3.1.2-8].
		return c.closeWith(mq.AdministrativeAction, e.reason)
	case drained:
		if c.phase == phaseConnected {
			c.releaseHeld(time.Now())
			return c.deliver() // parked deliveries, if the store has them now
		}
	}
	return adapters.Replies{}
}

// Close implements adapters.Channel.
func (c *channel) Close(reason error) {
	if c.sess == nil {
		return
	}
	// The will goes out unless the client said goodbye properly
	// [MQTT-3.1.2-8]; the broker ignores us if we were taken over.
	c.ctx.Disconnect(c.client.ClientID, c, !c.willSent, nil, disconnectReason(reason))
	c.ev(c.ctx.Logger().Debug()).AnErr("reason", reason).Msg("client_disconnected")
	c.sess = nil
}

// handleDisconnect handles the client's DISCONNECT.
func (c *channel) handleDisconnect(p *mq.Disconnect) adapters.Replies {
	sendWill := c.version == mq.V5 && p.ReasonCode == mq.DisconnectWithWillMessage
	var expiry *time.Duration
	if c.version == mq.V5 && p.Properties.HasSessionExpiryInterval {
		if c.sessionExpiryWasZero && p.Properties.SessionExpiryInterval != 0 {
			// [MQTT-3.14.2-2] a session that was to end may not be revived here.
			return c.closeWith(mq.ProtocolError, errors.New("mqtt: DISCONNECT sets session expiry after CONNECT gave 0"))
		}
		d := time.Duration(p.Properties.SessionExpiryInterval) * time.Second
		expiry = &d
	}
	c.ctx.Disconnect(c.client.ClientID, c, sendWill, expiry, "normal")
	c.willSent = true
	c.sess = nil
	c.phase = phaseClosing
	return adapters.Replies{Shutdown: ErrClientDisconnect}
}

// disconnectReason names why a connection ended, in EMQX's words, for the
// disconnected event.
func disconnectReason(err error) string {
	switch {
	case err == nil:
		return "tcp_closed"
	case errors.Is(err, ErrKeepaliveTimeout):
		return "keepalive_timeout"
	case errors.Is(err, ErrNotAuthorized):
		return "not_authorized"
	case errors.Is(err, ErrReceiveMaximum):
		return "receive_maximum_exceeded"
	default:
		var me *mq.Error
		if errors.As(err, &me) {
			return "frame_error"
		}
		return "closed"
	}
}

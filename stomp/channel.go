package stomp

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-stomp/stomp/v3/frame"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
	sc "github.com/manifold-iot/manifold/codec/stomp"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/session"
)

// Timers of a STOMP channel.
const (
	timerConnect     adapters.TimerID = iota // idle_timeout: CONNECT must arrive by then
	timerRecv                                // the client's heart-beats are overdue
	timerSend                                // our heart-beat is due
	timerReceiptHold                         // the oldest held receipt is due regardless
)

// Errors a channel closes its connection with.
var (
	ErrConnectTimeout   = errors.New("stomp: no CONNECT within idle_timeout")
	ErrHeartbeatTimeout = errors.New("stomp: heart-beat timeout")
	ErrClientDisconnect = errors.New("stomp: client disconnected")
	ErrProtocol         = errors.New("stomp: protocol error") // an ERROR frame was sent
	ErrNotAuthorized    = errors.New("stomp: not authorized")
)

type phase uint8

const (
	phaseConnecting phase = iota
	phaseConnected
	phaseClosing
)

// kick is the event the broker posts when the session is taken over.
type kick struct{ reason error }

// Ack modes of a subscription (STOMP 1.2 SUBSCRIBE ack Header).
const (
	ackAuto             = "auto"
	ackClient           = "client"
	ackClientIndividual = "client-individual"
)

// sub is one STOMP subscription.
type sub struct {
	id      string // the client's id header
	dest    string // the destination as the client gave it (an MQTT filter)
	filter  string // the mounted filter the broker knows
	ack     string
	num     uint32   // the MQTT subscription identifier that tags its deliveries
	pending []uint16 // unacknowledged deliveries (packet ids) in send order; client modes
}

// unacked is a delivery sent in a client ack mode and not yet ACKed.
type unacked struct {
	p   session.Pending
	sub *sub
}

// txOp is a SEND, ACK or NACK held in a transaction until COMMIT.
type txOp struct {
	f *frame.Frame
}

// channel is one STOMP connection's state machine. All its methods run on
// the connection's own goroutine, except Notify and Kick (broker.Conn).
type channel struct {
	cfg      *Config
	ctx      adapters.Context
	handle   adapters.Handle
	log      *zerolog.Logger
	codec    sc.Codec
	textOnly bool

	phase   phase
	version sc.Version
	client  core.ClientInfo
	sess    *session.Session

	subs     map[string]*sub // by id
	byNum    map[uint32]*sub // by subscription identifier
	byFilter map[string]*sub // by mounted filter
	unacked  map[uint16]unacked
	orphans  []session.Delivery // resumed deliveries whose subscription is not back yet
	txs      map[string][]txOp
	held     adapters.HeldAcks[string] // receipt ids held back for push-back, in order

	recvEvery, sendEvery time.Duration // negotiated heart-beats; 0 none
	lastRecv, lastSent   time.Time

	wbuf   []byte
	out    [1]codec.Frame
	timers []adapters.Timer
	dbuf   []session.Delivery
}

func newChannel(cfg *Config, ci adapters.ConnInfo, ctx adapters.Context) *channel {
	c := &channel{cfg: cfg, ctx: ctx, handle: ci.Handle, textOnly: ci.TextOnly, log: ctx.Logger()}
	c.codec.Limits = cfg.Limits
	c.client = core.ClientInfo{Peer: ci.Remote, Proto: "stomp", Listener: ci.Listener, LocalPort: ci.Local.Port()}
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
	e = e.Str("proto", "stomp").Str("listener", c.client.Listener).Str("peer", addrString(c.client.Peer))
	if c.client.ClientID != "" {
		e = e.Str("clientid", c.client.ClientID)
	}
	return e
}

// Codec implements adapters.Channel.
func (c *channel) Codec() codec.Codec { return &c.codec }

// Open implements adapters.Channel: the client has idle_timeout to connect.
func (c *channel) Open() adapters.Replies {
	return adapters.Replies{Timers: []adapters.Timer{{ID: timerConnect, After: c.cfg.IdleTimeout}}}
}

// Notify implements broker.Conn (any goroutine).
func (c *channel) Notify() { c.handle.Notify() }

// Kick implements broker.Conn (any goroutine).
func (c *channel) Kick(reason error) { c.handle.Post(kick{reason}) }

// begin starts a call: the buffer of the previous call has been written.
func (c *channel) begin() {
	c.timers = c.timers[:0]
	c.wbuf = c.wbuf[:0]
	if cap(c.wbuf) > 1<<20 {
		c.wbuf = nil
	}
}

// reply returns what was written during this call as one frame.
func (c *channel) reply() adapters.Replies {
	r := adapters.Replies{Timers: c.timers}
	if len(c.wbuf) > 0 {
		c.out[0] = adapters.Raw(c.wbuf)
		r.Out = c.out[:]
		c.lastSent = time.Now()
	}
	return r
}

// write encodes f at the connection's version into this call's buffer.
func (c *channel) write(f *frame.Frame) bool {
	b, err := sc.Encode(c.wbuf, f, c.version)
	if err != nil {
		c.ev(c.log.Error()).Err(err).Str("command", f.Command).Msg("encode_failed")
		return false
	}
	c.wbuf = b
	return true
}

// fail sends an ERROR frame (STOMP 1.2 ERROR: a message header and a body
// saying why), logs it and closes the connection.
func (c *channel) fail(message, detail string, cause *frame.Frame) adapters.Replies {
	c.ev(c.log.Info()).Str("message", message).Str("detail", detail).Msg("stomp_error")
	f := frame.New(frame.ERROR, frame.Message, sanitize(message), frame.ContentType, "text/plain")
	if cause != nil {
		if r, ok := cause.Header.Contains(frame.Receipt); ok {
			f.Header.Add(frame.ReceiptId, sanitize(r))
		}
	}
	if detail != "" {
		f.Body = []byte(detail)
	}
	c.write(f)
	c.phase = phaseClosing
	r := c.reply()
	r.Shutdown = ErrProtocol
	return r
}

// sanitize makes a header value writable at any version.
func sanitize(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// receipt answers a frame's receipt header, if it has one (STOMP 1.2
// RECEIPT), behind any receipt held for push-back.
func (c *channel) receipt(f *frame.Frame) { c.receiptAfter(f, nil) }

// HandleIn implements adapters.Channel.
func (c *channel) HandleIn(in codec.Frame) adapters.Replies {
	c.begin()
	if c.phase == phaseClosing {
		return adapters.Replies{}
	}
	c.lastRecv = time.Now()
	f, ok := in.(*frame.Frame)
	if !ok {
		return c.reply() // a heart-beat: lastRecv is all it does
	}
	if c.phase == phaseConnecting {
		if f.Command != frame.CONNECT && f.Command != frame.STOMP {
			return c.fail("expected CONNECT", "the first frame must be CONNECT or STOMP, got "+f.Command, f)
		}
		return c.handleConnect(f)
	}
	switch f.Command {
	case frame.CONNECT, frame.STOMP:
		return c.fail("already connected", "a second CONNECT on one connection", f)
	case frame.SEND:
		if tx, ok := f.Header.Contains(frame.Transaction); ok {
			return c.hold(tx, f)
		}
		return c.handleSend(f)
	case frame.SUBSCRIBE:
		return c.handleSubscribe(f)
	case frame.UNSUBSCRIBE:
		return c.handleUnsubscribe(f)
	case frame.ACK, frame.NACK:
		if tx, ok := f.Header.Contains(frame.Transaction); ok {
			return c.hold(tx, f)
		}
		return c.handleAck(f)
	case frame.BEGIN, frame.COMMIT, frame.ABORT:
		return c.handleTransaction(f)
	case frame.DISCONNECT:
		return c.handleDisconnect(f)
	default:
		return c.fail("unexpected frame", f.Command+" is a server frame", f)
	}
}

// HandleFrameError implements adapters.Channel: an ERROR frame saying what
// was wrong, then the edge closes.
func (c *channel) HandleFrameError(err error) adapters.Replies {
	c.begin()
	msg := "malformed frame"
	var e *sc.Error
	if errors.As(err, &e) {
		switch {
		case errors.Is(err, sc.ErrTooManyHeaders), errors.Is(err, sc.ErrHeaderTooLong),
			errors.Is(err, sc.ErrBodyTooLong), errors.Is(err, sc.ErrFrameTooLarge):
			msg = "frame too large"
		case errors.Is(err, sc.ErrUnknownCommand):
			msg = "unknown command"
		}
	} else if strings.Contains(err.Error(), "over the limit") {
		msg = "frame too large"
	}
	c.ev(c.log.Warn()).Err(err).Msg("parse_frame_failed")
	return c.fail(msg, err.Error(), nil)
}

// HandleTimeout implements adapters.Channel.
func (c *channel) HandleTimeout(id adapters.TimerID, now time.Time) adapters.Replies {
	c.begin()
	switch id {
	case timerConnect:
		if c.phase == phaseConnecting {
			c.ev(c.log.Debug()).Msg("connect_timeout")
			c.phase = phaseClosing
			return adapters.Replies{Shutdown: ErrConnectTimeout}
		}
	case timerRecv:
		if c.phase != phaseConnected || c.recvEvery == 0 {
			return adapters.Replies{}
		}
		// STOMP 1.2 Heart-beating: allow for timing inaccuracies; two
		// intervals of silence is a dead peer.
		limit := 2 * c.recvEvery
		if idle := now.Sub(c.lastRecv); idle >= limit {
			c.ev(c.log.Info()).Dur("idle", idle).Msg("heartbeat_timeout")
			c.phase = phaseClosing
			return adapters.Replies{Shutdown: ErrHeartbeatTimeout}
		} else {
			return adapters.Replies{Timers: []adapters.Timer{{ID: timerRecv, After: limit - idle}}}
		}
	case timerReceiptHold:
		if c.phase == phaseConnected {
			c.releaseHeld(now)
			return c.reply()
		}
	case timerSend:
		if c.phase != phaseConnected || c.sendEvery == 0 {
			return adapters.Replies{}
		}
		if now.Sub(c.lastSent) >= c.sendEvery*9/10 {
			c.wbuf = append(c.wbuf, '\n')
		}
		c.timers = append(c.timers, adapters.Timer{ID: timerSend, After: c.sendEvery})
		return c.reply()
	}
	return adapters.Replies{}
}

// HandleEvent implements adapters.Channel.
func (c *channel) HandleEvent(ev any) adapters.Replies {
	c.begin()
	switch e := ev.(type) {
	case kick:
		if c.phase == phaseConnected {
			c.ev(c.log.Info()).Err(e.reason).Msg("client_kicked")
			return c.fail("session taken over", e.reason.Error(), nil)
		}
	case drained:
		if c.phase == phaseConnected {
			c.releaseHeld(time.Now())
			return c.reply()
		}
	}
	return adapters.Replies{}
}

// Close implements adapters.Channel.
func (c *channel) Close(reason error) {
	if c.sess == nil {
		return
	}
	c.ctx.Disconnect(c.client.ClientID, c, false, nil, disconnectReason(reason))
	c.ev(c.log.Debug()).AnErr("reason", reason).Msg("client_disconnected")
	c.sess = nil
}

// disconnectReason names why a connection ended, in EMQX's words.
func disconnectReason(err error) string {
	switch {
	case err == nil:
		return "tcp_closed"
	case errors.Is(err, ErrHeartbeatTimeout):
		return "keepalive_timeout"
	case errors.Is(err, ErrNotAuthorized):
		return "not_authorized"
	case errors.Is(err, ErrProtocol):
		return "protocol_error"
	}
	return "closed"
}

// handleDisconnect answers the receipt, if asked, and closes (STOMP 1.2
// DISCONNECT: graceful shutdown).
func (c *channel) handleDisconnect(f *frame.Frame) adapters.Replies {
	c.releaseHeld(time.Time{}) // the connection ends: held receipts go now
	c.receipt(f)
	c.ctx.Disconnect(c.client.ClientID, c, false, nil, "normal")
	c.sess = nil
	c.phase = phaseClosing
	r := c.reply()
	r.Shutdown = ErrClientDisconnect
	return r
}

// validText reports whether a body may cross this connection's transport.
func (c *channel) validText(b []byte) bool { return !c.textOnly || utf8.Valid(b) }

// parseQoS reads the qos header of a SEND.
func parseQoS(s string) (core.QoS, bool) {
	switch s {
	case "", "0":
		return core.QoS0, true
	case "1":
		return core.QoS1, true
	case "2":
		return core.QoS2, true
	}
	return 0, false
}

// itoa is strconv for the counters we put in headers.
func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

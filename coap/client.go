package coap

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"

	"github.com/manifold-iot/manifold/adapters/coapnet"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/session"
	"github.com/manifold-iot/manifold/core/topic"
)

// client is one CoAP client known to the core: a connection
// (POST /mqtt/connection, token set) or a connectionless observer. It is the
// broker.Conn of its core session: Notify drains the session into observe
// notifications.
type client struct {
	s  *Server
	id string

	lastSeen atomic.Int64 // unix nanoseconds of the last request or acknowledgement
	probe    atomic.Bool  // send the next notification confirmable (RFC 7641 §4.5)
	wake     atomic.Bool  // a drain was asked for
	running  atomic.Bool  // a drain goroutine runs

	token string // connection mode's token; "" for a connectionless observer; set once

	mu      sync.Mutex
	info    core.ClientInfo         // guarded by mu; replaced on each authenticated request
	sess    *session.Session        // guarded by mu; nil until connected to the core
	obs     map[string]*observation // guarded by mu; by mounted filter
	holding int                     // guarded by mu; registrations whose response is not yet written
	pending map[uint16]int          // guarded by mu; packet id → confirmable notifications unanswered
	closed  bool                    // guarded by mu
	dbuf    []session.Delivery      // drain goroutine only
}

// observation is one GET+Observe registration (RFC 7641 §3.1).
type observation struct {
	filter string // the core filter, mountpoint included, as subscribed
	real   string // filter without a $share/… prefix, for matching deliveries
	token  []byte
	cc     *coapnet.Conn // where notifications go; updated on re-registration (NAT rebinding)
	seq    uint32
	qos    core.QoS
	last   []byte // the last notification's payload when larger than a block, for Block2 continuations
	etag   []byte
}

var _ broker.Conn = (*client)(nil)

func (c *client) touch() { c.lastSeen.Store(time.Now().UnixNano()) }

// Notify implements session.Notifier: it starts a drain unless one runs.
func (c *client) Notify() {
	c.wake.Store(true)
	if c.running.CompareAndSwap(false, true) {
		go c.drain()
	}
}

// Kick implements broker.Conn: the client was taken over or kicked.
func (c *client) Kick(reason error) {
	go c.s.endClient(c, "kicked: "+reason.Error())
}

// drain sends what the session has queued as notifications. One runs per
// client at a time; the wake flag catches a Notify that races its end.
func (c *client) drain() {
	for {
		c.wake.Store(false)
		c.mu.Lock()
		sess, hold, closed := c.sess, c.holding, c.closed
		c.mu.Unlock()
		if sess == nil || hold > 0 || closed {
			c.running.Store(false)
			return // a finished registration or a new session calls Notify again
		}
		var more bool
		c.dbuf, more = sess.Take(c.dbuf[:0], time.Now(), 64)
		again := more
		for i := range c.dbuf {
			if c.deliver(sess, &c.dbuf[i]) {
				again = true // acknowledged at once: the window has room again
			}
			c.dbuf[i] = session.Delivery{}
		}
		if again {
			continue
		}
		c.running.Store(false)
		if !c.wake.Load() || !c.running.CompareAndSwap(false, true) {
			return
		}
	}
}

// deliver sends one delivery to every observation it matches. It reports
// whether it acknowledged a QoS 1/2 delivery to the session at once.
func (c *client) deliver(sess *session.Session, d *session.Delivery) (ackedNow bool) {
	if d.Release || d.Msg == nil {
		if d.PacketID != 0 {
			sess.Comp(d.PacketID)
			return true
		}
		return false
	}
	m := d.Msg
	type send struct {
		o  *observation
		cc *coapnet.Conn
		n  coapnet.Notification
	}
	var sends []send
	probe := c.probe.Swap(false)
	c.mu.Lock()
	etag := make([]byte, 8)
	binary.BigEndian.PutUint64(etag, m.ID)
	for _, o := range c.obs {
		if !topic.Match(o.real, m.Topic) {
			continue
		}
		o.seq = (o.seq + 1) & 0xFFFFFF
		o.last, o.etag = nil, etag
		if len(m.Payload) > blockSize {
			o.last = m.Payload // kept only while a Block2 continuation may ask for it
		}
		con := c.s.confirmable(d.QoS) || probe
		format := -1
		if m.PayloadFormat == 1 {
			format = int(message.TextPlain)
		}
		sends = append(sends, send{o: o, cc: o.cc, n: coapnet.Notification{
			Token: o.token, Observe: o.seq, Format: format, ETag: etag, Payload: m.Payload, Confirmable: con,
		}})
	}
	cons := 0
	for _, x := range sends {
		if x.n.Confirmable && x.cc != nil {
			cons++
		}
	}
	id := d.PacketID
	if id != 0 && cons > 0 {
		if c.pending == nil {
			c.pending = make(map[uint16]int)
		}
		c.pending[id] = cons
	}
	c.mu.Unlock()

	for _, x := range sends {
		if x.cc == nil {
			continue
		}
		o := x.o
		var done func(coapnet.Outcome)
		if x.n.Confirmable {
			done = func(out coapnet.Outcome) { c.noteDone(o, id, out) }
		}
		if err := c.s.net.Notify(x.cc, x.n, done); err != nil {
			c.s.log.Debug().Err(err).Str("clientid", c.id).Msg("notify_failed")
		}
	}
	if id != 0 && cons == 0 {
		// Nothing will acknowledge it (non-confirmable, or no observer
		// left): the session must not wait.
		sess.Settle(d)
		return true
	}
	return false
}

// confirmable decides a notification's type from notify_type.
func (s *Server) confirmable(q core.QoS) bool {
	switch s.cfg.NotifyType {
	case "con":
		return true
	case "non":
		return false
	}
	return q > core.QoS0
}

// noteDone handles the answer to a confirmable notification: an ACK
// acknowledges the core's QoS 1/2 delivery once every observer it went to
// has answered; an RST (RFC 7641 §3.6) or silence (RFC 7641 §4.5) ends the
// observation.
func (c *client) noteDone(o *observation, id uint16, out coapnet.Outcome) {
	if out == coapnet.Acked {
		c.touch()
	} else {
		c.s.log.Info().Str("clientid", c.id).Str("topic", o.filter).Stringer("outcome", out).Msg("observe_cancelled")
		c.s.removeObservation(c, o, "observe_"+out.String())
	}
	if id == 0 {
		return
	}
	c.mu.Lock()
	sess := c.sess
	n, ok := c.pending[id]
	if ok {
		n--
		if n <= 0 {
			delete(c.pending, id)
		} else {
			c.pending[id] = n
		}
	}
	c.mu.Unlock()
	if !ok || n > 0 || sess == nil {
		return
	}
	if !sess.Ack(id) {
		sess.Rec(id)
		sess.Comp(id)
	}
	c.Notify() // the window has room: take more
}

// blockSize is the block size coapnet uses (its default): larger
// notifications go block-wise.
const blockSize = 1024

// ensureSession connects the client to the core if it is not yet (the
// caller has checked max_clients when it registered the client).
func (s *Server) ensureSession(c *client) {
	c.mu.Lock()
	if c.sess != nil {
		c.mu.Unlock()
		return
	}
	info := c.info
	c.mu.Unlock()
	res := s.ctx.Connect(broker.ConnectRequest{
		Client:     &info,
		Conn:       c,
		CleanStart: true,
		Keepalive:  s.cfg.Heartbeat,
	})
	c.mu.Lock()
	c.sess = res.Session
	c.mu.Unlock()
	c.Notify()
}

// endClient disconnects a client from the core and forgets it.
func (s *Server) endClient(c *client, reason string) {
	s.mu.Lock()
	if s.clients[c.id] == c {
		delete(s.clients, c.id)
	}
	s.mu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	sess := c.sess
	c.obs, c.pending = nil, nil
	c.mu.Unlock()
	if sess != nil {
		s.ctx.Disconnect(c.id, c, false, nil, reason)
	}
	s.log.Debug().Str("clientid", c.id).Str("reason", reason).Msg("client_disconnected")
}

// removeObservation ends one observation and unsubscribes it; a
// connectionless client without observations left is disconnected.
func (s *Server) removeObservation(c *client, o *observation, reason string) {
	c.mu.Lock()
	if c.obs[o.filter] != o {
		c.mu.Unlock()
		return
	}
	delete(c.obs, o.filter)
	left := len(c.obs)
	c.mu.Unlock()
	if _, err := s.ctx.Unsubscribe(c.id, c, o.filter); err != nil {
		s.log.Debug().Err(err).Str("clientid", c.id).Msg("unsubscribe_failed")
	}
	if left == 0 && c.token == "" {
		s.endClient(c, reason)
	}
}

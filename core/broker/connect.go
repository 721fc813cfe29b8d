package broker

import (
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/session"
	"github.com/manifold-iot/manifold/core/sys"
)

// Will is a client's last will: published when its connection ends without a
// normal DISCONNECT, after Delay if the session lives that long.
type Will struct {
	Msg   *core.Message
	Delay time.Duration // MQTT 5 Will Delay Interval
}

// ConnectRequest is what a channel knows once its client has authenticated.
type ConnectRequest struct {
	Client         *core.ClientInfo
	Conn           Conn
	CleanStart     bool          // MQTT 5 Clean Start, MQTT 3 Clean Session
	Expiry         time.Duration // session expiry after disconnect; the broker caps it
	ReceiveMaximum int           // the client's; 0 when it gave none
	Will           *Will
	Keepalive      time.Duration // for the connected event
}

// ConnectResult is the broker's answer to a ConnectRequest.
type ConnectResult struct {
	Session        *session.Session
	SessionPresent bool          // the session was resumed [MQTT-3.2.2-2]
	Expiry         time.Duration // the expiry the broker granted
}

// client is the broker's record of one client id: its session, its
// subscriptions, its current connection and what happens when that ends.
type client struct {
	id     string
	sess   *session.Session
	info   *core.ClientInfo // the last connection's; guarded by Broker.mu
	conn   Conn             // nil while offline; guarded by Broker.mu
	subs   subscriptions
	expiry time.Duration // guarded by Broker.mu
	will   *Will         // guarded by Broker.mu

	disconnectedAt stamp // guarded by Broker.mu; when conn last went nil
	connectedAt    stamp // guarded by Broker.mu; when conn was last bound
	createdAt      stamp // when the session was created
	keepalive      time.Duration
	cleanStart     bool // guarded by Broker.mu; the last connection's

	expiryTimer *time.Timer // guarded by Broker.mu; ends an offline session
	willTimer   *time.Timer // guarded by Broker.mu; a delayed will
}

// stamp is a wall-clock time in Unix nanoseconds, 0 for none: 8 bytes where
// a time.Time takes 24, in a record every client has.
type stamp int64

func stampOf(t time.Time) stamp {
	if t.IsZero() {
		return 0
	}
	return stamp(t.UnixNano())
}

// Time returns the stamp as a time.Time, the zero Time for none.
func (s stamp) Time() time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s))
}

func (c *client) stopTimers() {
	if c.expiryTimer != nil {
		c.expiryTimer.Stop()
		c.expiryTimer = nil
	}
	if c.willTimer != nil {
		c.willTimer.Stop()
		c.willTimer = nil
	}
}

// Connect binds a client's connection to its session: a new one, or the
// existing one when the client asks to resume it. A connection already bound
// to the session is kicked with ErrTakenOver (and its will published when its
// session would not survive, as EMQX does).
func (b *Broker) Connect(req ConnectRequest) ConnectResult {
	id := req.Client.ClientID
	expiry := req.Expiry
	if expiry > b.cfg.SessionExpiryInterval {
		expiry = b.cfg.SessionExpiryInterval
	}

	var kicked Conn
	var kickedInfo *core.ClientInfo
	var pendingWill *Will
	var discard *client
	b.mu.Lock()
	c := b.clients[id]
	if c != nil {
		c.stopTimers() // a delayed will is not sent when the client is back in time [MQTT-3.1.3-9]
		if c.conn != nil {
			kicked, kickedInfo = c.conn, c.info
			c.sess.Unbind(c.conn)
			b.stats.connected.Add(-1)
			if c.expiry == 0 && c.will != nil {
				pendingWill = c.will
			}
			c.conn = nil
		}
		if req.CleanStart {
			discard, c = c, nil
			delete(b.clients, id)
		}
	}
	present := c != nil
	if c == nil {
		c = &client{id: id, sess: session.NewShared(id, b.sessCfg), createdAt: stampOf(time.Now())}
		b.clients[id] = c
	}
	c.info, c.conn, c.expiry, c.will = req.Client, req.Conn, expiry, req.Will
	c.connectedAt, c.keepalive, c.cleanStart = stampOf(time.Now()), req.Keepalive, req.CleanStart
	if discard != nil {
		b.forgetSession(discard) // before the new session's record is written
	}
	b.persistConnect(c)
	c.sess.Bind(req.Conn, req.ReceiveMaximum)
	b.stats.connected.Add(1)
	b.mu.Unlock()

	if discard != nil {
		b.dropSubscriptions(discard)
	}
	if kicked != nil {
		kicked.Kick(ErrTakenOver)
		b.sys.ClientDisconnected(kickedInfo, "takenover")
		if b.cfg.Trace.Active() {
			b.cfg.Trace.Disconnected(kickedInfo, "takenover")
		}
	}
	if pendingWill != nil {
		b.publishWill(pendingWill)
	}
	b.sys.ClientConnected(req.Client, sys.ConnInfo{
		CleanStart:     req.CleanStart,
		Keepalive:      req.Keepalive,
		ExpiryInterval: expiry,
		ConnectedAt:    time.Now(),
		SockPort:       req.Client.LocalPort,
	})
	if b.cfg.Trace.Active() {
		b.cfg.Trace.Connected(req.Client, present)
	}
	return ConnectResult{Session: c.sess, SessionPresent: present, Expiry: expiry}
}

// Disconnect ends conn's binding to its client's session. sendWill is false
// only for a normal DISCONNECT (reason 0x00) [MQTT-3.14.4-3]. newExpiry, when
// not nil, is the Session Expiry Interval a v5 DISCONNECT gave. reason is
// EMQX's word for why ("normal", "keepalive_timeout", "tcp_closed", …) for
// the disconnected event. It does nothing if conn was already replaced by a
// takeover.
func (b *Broker) Disconnect(clientID string, conn Conn, sendWill bool, newExpiry *time.Duration, reason string) {
	b.mu.Lock()
	c := b.clients[clientID]
	if c == nil || c.conn != conn {
		b.mu.Unlock()
		return
	}
	c.conn = nil
	c.sess.Unbind(conn)
	b.stats.connected.Add(-1)
	if newExpiry != nil {
		c.expiry = min(*newExpiry, b.cfg.SessionExpiryInterval)
	}
	will := c.will
	c.will = nil
	if !sendWill {
		will = nil // [MQTT-3.1.2-10] a normal disconnect discards the will
	}
	var willNow *Will
	if will != nil {
		// The will waits for its delay, but never outlives the session
		// [MQTT-3.1.3-9]; expire publishes a will still waiting.
		delay := min(will.Delay, c.expiry)
		if delay <= 0 {
			willNow = will
		} else {
			c.will = will
			c.willTimer = time.AfterFunc(delay, func() { b.fireWill(c) })
		}
	}
	info := c.info
	c.disconnectedAt = stampOf(time.Now())
	var gone *client
	if c.expiry <= 0 {
		delete(b.clients, clientID)
		gone = c
		b.forgetSession(c)
	} else {
		c.expiryTimer = time.AfterFunc(c.expiry, func() { b.expire(c) })
		if b.store != nil && c.sess.Persistent() {
			b.store.PutSession(b.sessionRecord(c))
		}
	}
	b.mu.Unlock()

	b.sys.ClientDisconnected(info, reason)
	if b.cfg.Trace.Active() {
		b.cfg.Trace.Disconnected(info, reason)
	}
	if willNow != nil {
		b.publishWill(willNow)
	}
	if gone != nil {
		b.dropSubscriptions(gone)
	}
}

// fireWill publishes a delayed will unless the client came back meanwhile.
func (b *Broker) fireWill(c *client) {
	b.mu.Lock()
	var w *Will
	if b.clients[c.id] == c && c.conn == nil && c.willTimer != nil {
		w, c.will, c.willTimer = c.will, nil, nil
	}
	b.mu.Unlock()
	if w != nil {
		b.publishWill(w)
	}
}

// expire removes an offline session whose expiry interval has passed.
func (b *Broker) expire(c *client) {
	b.mu.Lock()
	if b.clients[c.id] != c || c.conn != nil {
		b.mu.Unlock()
		return
	}
	delete(b.clients, c.id)
	b.forgetSession(c)
	will := c.will
	if c.willTimer != nil {
		c.willTimer.Stop() // the session ends first: its will goes now [MQTT-3.1.3-9]
		c.willTimer = nil
	} else {
		will = nil
	}
	b.mu.Unlock()
	if will != nil {
		b.publishWill(will)
	}
	b.dropSubscriptions(c)
	b.log.Debug().Str("clientid", c.id).Msg("session_expired")
}

func (b *Broker) publishWill(w *Will) {
	m := *w.Msg // a will is published as a fresh message
	m.Timestamp = time.Now()
	if _, err := b.Publish(&m); err != nil {
		b.log.Warn().Err(err).Str("clientid", m.From).Str("topic", m.Topic).Msg("will_publish_failed")
	}
}

// Kick closes a client's connection (an operator's request); it reports
// whether the client was connected.
func (b *Broker) Kick(clientID string, reason error) bool {
	conn := b.connOf(clientID)
	if conn == nil {
		return false
	}
	conn.Kick(reason)
	return true
}

// Session returns a client's session, or nil.
func (b *Broker) Session(clientID string) *session.Session {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.clients[clientID]; c != nil {
		return c.sess
	}
	return nil
}

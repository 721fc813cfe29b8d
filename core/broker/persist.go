package broker

import (
	"fmt"
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/session"
	"github.com/manifold-iot/manifold/core/store"
	"github.com/manifold-iot/manifold/core/topic"
)

// Persistence: a session is persistent while its expiry interval is above
// zero; it is written to Config.Store when it starts (or becomes
// persistent), on every subscribe and unsubscribe, and when its client
// disconnects (with the time, so that its expiry resumes from the wall clock
// after a restart); it is deleted when it ends. Its queue, inflight window
// and awaiting-PUBREL ids are journaled by the session itself. Retained
// messages published by clients and $delayed messages are written as they
// come and deleted as they go. Restore reads it all back at start.

// persistRetained writes a retained message, or its clearing (an empty
// payload), to the store.
func (b *Broker) persistRetained(m *core.Message) {
	if len(m.Payload) == 0 {
		b.store.DeleteRetained(m.Topic)
		return
	}
	b.store.PutRetained(m)
}

// sessionRecord is c's stored record; caller holds b.mu.
func (b *Broker) sessionRecord(c *client) store.SessionRecord {
	r := store.SessionRecord{ClientID: c.id, Expiry: c.expiry}
	if c.info != nil {
		r.Username, r.Proto = c.info.Username, c.info.Proto
	}
	if c.conn == nil {
		r.DisconnectedAt = c.disconnectedAt.Time()
	}
	return r
}

// persistConnect writes a connecting client's session: it becomes (or stays)
// persistent when its expiry is above zero. Caller holds b.mu.
func (b *Broker) persistConnect(c *client) {
	if b.store == nil || c.expiry <= 0 && !c.sess.Persistent() {
		return
	}
	if !c.sess.Persistent() {
		c.sess.Persist(b.store)
		b.store.PutSession(b.sessionRecord(c))
		// A session that was not persistent until now (a takeover asking
		// for an expiry) brings its subscriptions along.
		c.subs.mu.Lock()
		for f, s := range c.subs.m {
			b.store.PutSubscription(c.id, store.Subscription{Filter: f, Opts: s.opts})
		}
		c.subs.mu.Unlock()
		return
	}
	b.store.PutSession(b.sessionRecord(c))
}

// forgetSession deletes a persistent session that ended. The session stops
// journaling first, so that nothing it still receives lands under the client
// id of a session that replaces it.
func (b *Broker) forgetSession(c *client) {
	if b.store != nil && c.sess.Persistent() {
		c.sess.Persist(nil)
		b.store.DeleteSession(c.id)
	}
}

// Restore reads the store's persistent sessions, retained and delayed
// messages back into the broker. Call it once, after New and before any
// connection. Sessions whose expiry passed while the node was down end now;
// delayed messages that fell due are published now.
func (b *Broker) Restore() error {
	if b.store == nil {
		return nil
	}
	r, err := b.store.Restore()
	if err != nil {
		return fmt.Errorf("broker: restore: %w", err)
	}
	now := time.Now()
	expired, subs := 0, 0
	for i := range r.Sessions {
		rs := &r.Sessions[i]
		rec := &rs.Record
		at := rec.DisconnectedAt
		if at.IsZero() || at.After(now) {
			at = now // connected when the node went down: its expiry counts from now
		}
		left := min(rec.Expiry, b.cfg.SessionExpiryInterval) - now.Sub(at)
		if left <= 0 {
			b.store.DeleteSession(rec.ClientID)
			expired++
			continue
		}
		c := &client{
			id:             rec.ClientID,
			sess:           session.Restore(rs, b.sessCfg, b.store),
			info:           &core.ClientInfo{ClientID: rec.ClientID, Username: rec.Username, Proto: rec.Proto},
			expiry:         rec.Expiry,
			disconnectedAt: stampOf(at),
		}
		for _, s := range rs.Subscriptions {
			if b.restoreSubscription(c, s) {
				subs++
			}
		}
		c.expiryTimer = time.AfterFunc(left, func() { b.expire(c) })
		b.mu.Lock()
		b.clients[c.id] = c
		b.mu.Unlock()
	}
	for _, m := range r.Retained {
		if err := b.retained.Set(m); err != nil {
			b.log.Warn().Err(err).Str("topic", m.Topic).Msg("retained_restore_failed")
		}
	}
	for _, d := range r.Delayed {
		if err := b.delayed.AddAt(d.Msg, d.Due); err != nil {
			b.log.Warn().Err(err).Str("topic", d.Msg.Topic).Msg("delayed_restore_failed")
		}
	}
	b.log.Info().Int("sessions", len(r.Sessions)-expired).Int("sessions_expired", expired).
		Int("subscriptions", subs).Int("retained", len(r.Retained)).Int("delayed", len(r.Delayed)).
		Msg("store_restored")
	return nil
}

// restoreSubscription puts a stored subscription back in the trie; one the
// current configuration refuses is dropped from the store and logged.
func (b *Broker) restoreSubscription(c *client, s store.Subscription) bool {
	group, real, shared, err := topic.ParseShared(s.Filter)
	if err == nil {
		err = topic.ValidFilter(real, b.cfg.MaxTopicLevels)
	}
	if err != nil || shared && !b.cfg.SharedSubscription {
		b.log.Warn().Str("clientid", c.id).Str("filter", s.Filter).Msg("stored_subscription_dropped")
		b.store.DeleteSubscription(c.id, s.Filter)
		return false
	}
	sub := &subscription{sess: c.sess, clientID: c.id, filter: s.Filter, real: real, group: group, opts: s.Opts}
	if shared {
		sub.sharedKey = group + "\x00" + real
	}
	if c.subs.m == nil {
		c.subs.m = make(map[string]*subscription)
	}
	c.subs.m[s.Filter] = sub
	b.subs.Insert(real, group, sub)
	return true
}

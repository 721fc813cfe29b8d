package broker

import (
	"sort"
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/session"
)

// Read-only views of the broker's state for the HTTP API, metrics and the
// CLI. Each takes a snapshot under the broker's locks and hands it to the
// caller with no lock held, so a slow consumer never stalls a connection.

// ClientView is a snapshot of one client id's state: its last connection's
// info and its session.
type ClientView struct {
	Info           core.ClientInfo // the last connection's (restored sessions carry id, username, proto only)
	Connected      bool
	ConnectedAt    time.Time // zero for a session restored from the store that has not reconnected
	DisconnectedAt time.Time // zero while connected for the first time
	CreatedAt      time.Time
	Keepalive      time.Duration
	CleanStart     bool
	Expiry         time.Duration // session expiry interval granted
	Subscriptions  int
	Session        session.Stats
}

func (b *Broker) viewLocked(c *client) ClientView {
	v := ClientView{
		Connected:      c.conn != nil,
		ConnectedAt:    c.connectedAt.Time(),
		DisconnectedAt: c.disconnectedAt.Time(),
		CreatedAt:      c.createdAt.Time(),
		Keepalive:      c.keepalive,
		CleanStart:     c.cleanStart,
		Expiry:         c.expiry,
	}
	if c.info != nil {
		v.Info = *c.info
	}
	if v.Info.ClientID == "" {
		v.Info.ClientID = c.id
	}
	return v
}

// fill adds what needs the client's own locks; caller holds no broker lock.
func fill(v *ClientView, c *client) {
	c.subs.mu.Lock()
	v.Subscriptions = len(c.subs.m)
	c.subs.mu.Unlock()
	v.Session = c.sess.Stats()
}

// Clients calls fn with a view of every client id the broker holds (online,
// or offline with a live session), sorted by client id, until fn returns
// false.
func (b *Broker) Clients(fn func(ClientView) bool) {
	type entry struct {
		c *client
		v ClientView
	}
	b.mu.Lock()
	es := make([]entry, 0, len(b.clients))
	for _, c := range b.clients {
		es = append(es, entry{c, b.viewLocked(c)})
	}
	b.mu.Unlock()
	sort.Slice(es, func(i, j int) bool { return es[i].c.id < es[j].c.id })
	for i := range es {
		fill(&es[i].v, es[i].c)
		if !fn(es[i].v) {
			return
		}
	}
}

// Client returns a view of one client id, and false when the broker holds
// no session for it.
func (b *Broker) Client(clientID string) (ClientView, bool) {
	b.mu.Lock()
	c := b.clients[clientID]
	if c == nil {
		b.mu.Unlock()
		return ClientView{}, false
	}
	v := b.viewLocked(c)
	b.mu.Unlock()
	fill(&v, c)
	return v, true
}

// SubscriptionView is one subscription as the API lists it.
type SubscriptionView struct {
	ClientID string
	Filter   string // as the client gave it: $share/<group>/ prefix included
	Topic    string // the filter proper
	Group    string // shared-subscription group; "" when not shared
	Options  core.SubOptions
}

// AllSubscriptions returns every subscription of every client, sorted by
// client id then filter.
func (b *Broker) AllSubscriptions() []SubscriptionView {
	var out []SubscriptionView
	b.subs.Walk(func(_, _ string, s *subscription) bool {
		out = append(out, SubscriptionView{ClientID: s.clientID, Filter: s.filter, Topic: s.real, Group: s.group, Options: s.opts})
		return true
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].ClientID != out[j].ClientID {
			return out[i].ClientID < out[j].ClientID
		}
		return out[i].Filter < out[j].Filter
	})
	return out
}

// Topics returns the distinct topic filters with at least one subscription
// (shared groups folded onto their filter), sorted: this node's routes.
func (b *Broker) Topics() []string {
	seen := map[string]struct{}{}
	b.subs.Walk(func(filter, _ string, _ *subscription) bool {
		seen[filter] = struct{}{}
		return true
	})
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// connOf is a client's live connection, or nil.
func (b *Broker) connOf(clientID string) Conn {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.clients[clientID]; c != nil {
		return c.conn
	}
	return nil
}

// SubscribeFor subscribes an online client to filter on an operator's
// behalf (the HTTP API), as if its connection had asked; ErrNotConnected
// when the client is offline.
func (b *Broker) SubscribeFor(clientID, filter string, opts core.SubOptions) (SubscribeResult, error) {
	conn := b.connOf(clientID)
	if conn == nil {
		return SubscribeResult{}, ErrNotConnected
	}
	return b.Subscribe(clientID, conn, filter, opts)
}

// UnsubscribeFor removes an online client's subscription on an operator's
// behalf; it reports whether the subscription existed.
func (b *Broker) UnsubscribeFor(clientID, filter string) (bool, error) {
	conn := b.connOf(clientID)
	if conn == nil {
		return false, ErrNotConnected
	}
	return b.Unsubscribe(clientID, conn, filter)
}

// DeleteRetained removes the retained message of one topic, from memory and
// from the store; it reports whether there was one.
func (b *Broker) DeleteRetained(topicName string) bool {
	if !b.retained.Delete(topicName) {
		return false
	}
	if b.store != nil {
		b.store.DeleteRetained(topicName)
	}
	return true
}

// DiscardSession ends an offline client's session now, as its expiry would
// (a will still waiting for its delay is published); it reports whether the
// session is gone. An online client is left alone: Kick it first.
func (b *Broker) DiscardSession(clientID string) bool {
	b.mu.Lock()
	c := b.clients[clientID]
	if c == nil || c.conn != nil {
		b.mu.Unlock()
		return false
	}
	if c.expiryTimer != nil {
		c.expiryTimer.Stop()
		c.expiryTimer = nil
	}
	b.mu.Unlock()
	b.expire(c) // rechecks: a reconnect in between keeps the session
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.clients[clientID] != c
}

package broker

import (
	"strings"
	"sync"
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/session"
	"github.com/manifold-iot/manifold/core/store"
	"github.com/manifold-iot/manifold/core/topic"
)

// subscription is one entry of the trie: a client's subscription to one
// filter. It is immutable once inserted; changing a subscription's options
// inserts a new entry and removes the old.
type subscription struct {
	sess     *session.Session
	clientID string
	filter   string // as the client gave it, $share/ prefix included
	real     string // the filter proper
	group    string // shared-subscription group; "" when not shared
	opts     core.SubOptions
	// sharedKey is group and filter joined, marking queued messages that came
	// through this shared subscription (for redispatch); "" when not shared.
	sharedKey string
}

// subscriptions is a client's set of subscriptions by filter.
type subscriptions struct {
	mu   sync.Mutex
	m    map[string]*subscription // guarded by mu
	dead bool                     // guarded by mu; the client record was discarded
}

// SubscribeResult is the outcome of a successful Subscribe.
type SubscribeResult struct {
	Granted core.QoS // the QoS granted, at most mqtt.max_qos_allowed
	New     bool     // no subscription to this filter existed before
}

// clientFor returns the client record conn is bound to; caller must not hold mu.
func (b *Broker) clientFor(clientID string, conn Conn) (*client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.clients[clientID]
	if c == nil || c.conn != conn {
		return nil, ErrNotConnected
	}
	return c, nil
}

// Subscribe adds or replaces a client's subscription to filter (a topic
// filter, or $share/<group>/<filter>, or $queue/<filter>) and queues the
// matching retained messages as retain handling asks [MQTT-3.3.1-9]
// [MQTT-3.8.4-3]. The caller has authorized it.
func (b *Broker) Subscribe(clientID string, conn Conn, filter string, opts core.SubOptions) (SubscribeResult, error) {
	group, real, shared, err := topic.ParseShared(filter)
	if err != nil {
		return SubscribeResult{}, ErrFilterInvalid
	}
	if topic.ValidFilter(real, b.cfg.MaxTopicLevels) != nil {
		return SubscribeResult{}, ErrFilterInvalid
	}
	if shared && !b.cfg.SharedSubscription {
		return SubscribeResult{}, ErrSharedUnsupported
	}
	if !b.cfg.WildcardSubscription && strings.ContainsAny(real, "+#") {
		return SubscribeResult{}, ErrWildcardUnsupported
	}
	if shared && opts.NoLocal {
		return SubscribeResult{}, ErrFilterInvalid // [MQTT-3.8.3-4]
	}
	opts.QoS = min(opts.QoS, b.cfg.MaxQoS)
	c, err := b.clientFor(clientID, conn)
	if err != nil {
		return SubscribeResult{}, err
	}
	sub := &subscription{sess: c.sess, clientID: clientID, filter: filter, real: real, group: group, opts: opts}
	if shared {
		sub.sharedKey = group + "\x00" + real
	}

	c.subs.mu.Lock()
	if c.subs.dead {
		c.subs.mu.Unlock()
		return SubscribeResult{}, ErrNotConnected
	}
	old := c.subs.m[filter]
	if old == nil && b.cfg.MaxSubscriptions > 0 && len(c.subs.m) >= b.cfg.MaxSubscriptions {
		c.subs.mu.Unlock()
		return SubscribeResult{}, ErrTooManySubs
	}
	if c.subs.m == nil {
		c.subs.m = make(map[string]*subscription)
	}
	c.subs.m[filter] = sub
	// Insert before removing: a publish in between may match both, and the
	// per-client merge in Publish delivers it once.
	b.subs.Insert(real, group, sub)
	if old != nil {
		b.subs.Remove(old.real, old.group, old)
	}
	if b.store != nil && c.sess.Persistent() {
		b.store.PutSubscription(clientID, store.Subscription{Filter: filter, Opts: opts})
	}
	c.subs.mu.Unlock()

	b.sys.ClientSubscribed(c.info, filter, opts)
	if b.cfg.Trace.Active() {
		b.cfg.Trace.Subscribed(c.info, filter, opts)
	}
	// Retained messages are not sent for shared subscriptions (MQTT 5 §4.8.2).
	if !shared && (opts.RetainHandling == 0 || opts.RetainHandling == 1 && old == nil) {
		b.sendRetained(sub)
	}
	return SubscribeResult{Granted: opts.QoS, New: old == nil}, nil
}

// sendRetained queues the retained messages matching a new subscription,
// with the retain flag set [MQTT-3.3.1-9].
func (b *Broker) sendRetained(sub *subscription) {
	var ids []uint32
	if sub.opts.SubscriptionID != 0 {
		ids = []uint32{sub.opts.SubscriptionID}
	}
	b.retained.Match(sub.real, time.Now(), func(m *core.Message) bool {
		qos := min(m.QoS, sub.opts.QoS)
		if b.cfg.UpgradeQoS {
			qos = sub.opts.QoS
		}
		sub.sess.Enqueue(session.Pending{Msg: m, QoS: qos, Retain: true, SubIDs: ids})
		return true
	})
}

// Unsubscribe removes a client's subscription to filter, exactly as it was
// subscribed; it reports whether there was one [MQTT-3.10.4-1].
func (b *Broker) Unsubscribe(clientID string, conn Conn, filter string) (bool, error) {
	c, err := b.clientFor(clientID, conn)
	if err != nil {
		return false, err
	}
	c.subs.mu.Lock()
	defer c.subs.mu.Unlock()
	sub := c.subs.m[filter]
	if sub == nil {
		return false, nil
	}
	delete(c.subs.m, filter)
	b.subs.Remove(sub.real, sub.group, sub)
	if b.store != nil && c.sess.Persistent() {
		b.store.DeleteSubscription(clientID, filter)
	}
	b.sys.ClientUnsubscribed(c.info, filter)
	if b.cfg.Trace.Active() {
		b.cfg.Trace.Unsubscribed(c.info, filter)
	}
	return true, nil
}

// Subscriptions returns a client's subscriptions by filter (for the API and
// for persistence).
func (b *Broker) Subscriptions(clientID string) map[string]core.SubOptions {
	b.mu.Lock()
	c := b.clients[clientID]
	b.mu.Unlock()
	if c == nil {
		return nil
	}
	c.subs.mu.Lock()
	defer c.subs.mu.Unlock()
	out := make(map[string]core.SubOptions, len(c.subs.m))
	for f, s := range c.subs.m {
		out[f] = s.opts
	}
	return out
}

// dropSubscriptions removes every subscription of a discarded client record.
func (b *Broker) dropSubscriptions(c *client) {
	c.subs.mu.Lock()
	subs := c.subs.m
	c.subs.m, c.subs.dead = nil, true
	c.subs.mu.Unlock()
	for _, s := range subs {
		b.subs.Remove(s.real, s.group, s)
	}
	// Removed from the trie first, so the redispatch cannot pick it again.
	if shared := c.sess.Discard(); len(shared) > 0 {
		b.redispatch(c.sess, shared)
	}
}

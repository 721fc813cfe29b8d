package broker

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/delayed"
	"github.com/manifold-iot/manifold/core/session"
	"github.com/manifold-iot/manifold/core/store"
	"github.com/manifold-iot/manifold/core/topic"
)

// delivery is one client's share of a publish: overlapping subscriptions of
// one client are merged into one delivery at the highest QoS, carrying every
// matching subscription identifier (MQTT 5 §3.3.4).
type delivery struct {
	sess   *session.Session
	qos    core.QoS
	retain bool
	ids    []uint32
	shared string // the group key, for a delivery through a shared subscription
	stored bool   // the session is persistent (and the broker has a store)
}

var deliveryPool = sync.Pool{New: func() any { s := make([]delivery, 0, 16); return &s }}

// PublishResult is what a publisher learns from Publish.
type PublishResult struct {
	// Matched is the number of sessions the message was queued for.
	Matched int
	// Pressured lists what the publisher's acknowledgement should wait for:
	// the sessions that took a QoS 1 or 2 copy while past max_mqueue_len
	// (push-back, bounded in time, so that acknowledged messages are not
	// dropped), and the store's ticket when a persistent session took a
	// QoS 1 or 2 copy (the message is acknowledged once durable). Nil in the
	// common case.
	Pressured []core.Backlog
	// Delayed is set for a $delayed message: it is held, not routed yet, so
	// Matched says nothing about its subscribers.
	Delayed bool
}

// Publish routes a message to every matching subscription and, if it is
// retained, stores it (an empty retained payload clears the topic's retained
// message and is still delivered [MQTT-3.3.1-6] [MQTT-3.3.1-10]). The broker
// fills in ID and Timestamp when they are zero; after Publish the message is
// shared and must not be modified. The caller has authorized it.
func (b *Broker) Publish(m *core.Message) (PublishResult, error) {
	if m.QoS > b.cfg.MaxQoS {
		return PublishResult{}, ErrQoSUnsupported
	}
	if m.Retain && !b.cfg.RetainAvailable {
		return PublishResult{}, ErrRetainUnsupported
	}
	if strings.HasPrefix(m.Topic, delayed.Prefix) {
		return PublishResult{Delayed: true}, b.publishDelayed(m)
	}
	b.stats.published.Add(1)
	return b.publish(m, false)
}

// publishDelayed holds a $delayed/<seconds>/<topic> message until its time;
// it is then published on <topic> (EMQX's delayed publish).
func (b *Broker) publishDelayed(m *core.Message) error {
	d, _, _, err := delayed.Parse(m.Topic)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDelayedInvalid, err)
	}
	if m.Timestamp.IsZero() {
		m.Timestamp = time.Now()
	}
	b.stats.published.Add(1)
	if m.ID == 0 {
		m.ID = b.msgID.Add(1)
	}
	at := m.Timestamp.Add(d)
	if err := b.delayed.AddAt(m, at); err != nil {
		if errors.Is(err, delayed.ErrFull) {
			return ErrDelayedFull
		}
		return fmt.Errorf("%w: %w", ErrDelayedInvalid, err)
	}
	if b.store != nil {
		b.store.PutDelayed(store.Delayed{Msg: m, Due: at})
	}
	return nil
}

// publish routes a message without the client-facing checks. System
// messages ($SYS) are not counted in the message statistics.
func (b *Broker) publish(m *core.Message, system bool) (PublishResult, error) {
	if topic.ValidName(m.Topic, b.cfg.MaxTopicLevels) != nil {
		return PublishResult{}, ErrTopicInvalid
	}
	if m.ID == 0 {
		m.ID = b.msgID.Add(1)
	}
	if m.Timestamp.IsZero() {
		m.Timestamp = time.Now()
	}
	if m.ExpiryInterval == 0 && b.cfg.MessageExpiryInterval > 0 {
		m.ExpiryInterval = b.cfg.MessageExpiryInterval
	}
	if m.Retain {
		if err := b.retained.Set(m); err != nil {
			b.log.Warn().Err(err).Str("topic", m.Topic).Str("clientid", m.From).Msg("retain_failed")
		} else if b.store != nil && !system {
			b.persistRetained(m)
		}
	}

	tm := b.cfg.TopicMetrics.Lookup(m.Topic) // nil unless the topic is registered
	tracing := b.cfg.Trace.Active()
	if tm != nil {
		tm.In(m.QoS)
	}
	if tracing {
		b.cfg.Trace.Published(m)
	}

	match := b.subs.Match(m.Topic)
	dp := deliveryPool.Get().(*[]delivery)
	ds := (*dp)[:0]
	for _, s := range match.Subs {
		ds = b.merge(ds, m, s)
	}
	for i := range match.Shared {
		if s := b.pickShared(&match.Shared[i], m, nil); s != nil {
			before := len(ds)
			if ds = b.merge(ds, m, s); len(ds) > before {
				ds[before].shared = s.sharedKey
			}
		}
	}
	var res PublishResult
	durable := 0 // persistent sessions among the deliveries
	if b.store != nil {
		for i := range ds {
			if ds[i].stored = ds[i].sess.Persistent(); ds[i].stored {
				durable++
			}
		}
	}
	needTicket := false
	for i := range ds {
		d := &ds[i]
		p := session.Pending{Msg: m, QoS: d.qos, Retain: d.retain, SubIDs: d.ids, Shared: d.shared, SharedBody: durable > 1}
		queued, pressured := d.sess.Offer(p)
		if tm != nil {
			if queued {
				tm.Out(d.qos)
			} else {
				tm.Dropped()
			}
		}
		if tracing {
			b.cfg.Trace.Delivered(d.sess.ClientID, m, d.qos, queued)
		}
		switch {
		case !queued:
			b.stats.dropped.Add(1)
			if pressured && b.queueFull != nil { // refused because the queue is full
				b.queueFull(d.sess.ClientID)
			}
		case pressured && d.qos > core.QoS0:
			res.Pressured = append(res.Pressured, d.sess)
			fallthrough
		default:
			res.Matched++
		}
		needTicket = needTicket || queued && d.stored && d.qos > core.QoS0
		*d = delivery{}
	}
	if tm != nil && len(ds) == 0 {
		tm.Dropped() // no subscriber
	}
	if needTicket {
		res.Pressured = append(res.Pressured, b.store.Mark())
	}
	*dp = ds[:0]
	deliveryPool.Put(dp)
	if system {
		return res, nil
	}
	b.stats.delivered.Add(uint64(res.Matched))
	if len(match.Subs) == 0 && len(match.Shared) == 0 {
		b.stats.noSubscriber.Add(1)
	}
	return res, nil
}

// merge adds subscription s's delivery of m, folding it into an existing
// delivery to the same session. Clients rarely have overlapping
// subscriptions, and a publish rarely matches many, so a backwards scan over
// the deliveries so far beats a map here up to a few dozen entries.
func (b *Broker) merge(ds []delivery, m *core.Message, s *subscription) []delivery {
	if (s.opts.NoLocal || b.cfg.IgnoreLoopDeliver) && s.clientID == m.From && m.From != "" {
		return ds // [MQTT-3.8.3-3]
	}
	qos := min(m.QoS, s.opts.QoS)
	if b.cfg.UpgradeQoS {
		qos = s.opts.QoS
	}
	retain := m.Retain && s.opts.RetainAsPublished // [MQTT-3.3.1-12] [MQTT-3.3.1-13]
	for i := len(ds) - 1; i >= 0 && len(ds)-i <= 64; i-- {
		if ds[i].sess == s.sess {
			d := &ds[i]
			d.qos = max(d.qos, qos)
			d.retain = d.retain || retain
			if s.opts.SubscriptionID != 0 {
				d.ids = append(d.ids, s.opts.SubscriptionID)
			}
			return ds
		}
	}
	var ids []uint32
	if s.opts.SubscriptionID != 0 {
		ids = []uint32{s.opts.SubscriptionID}
	}
	return append(ds, delivery{sess: s.sess, qos: qos, retain: retain, ids: ids})
}

// sharedKey names one shared group: MQTT identifies a shared subscription by
// its group and its filter together.
type sharedKey struct{ group, filter string }

// sharedState is the per-group state of the round_robin and sticky strategies.
type sharedState struct {
	next   sync.Map // sharedKey → *atomic.Uint64
	sticky sync.Map // sharedKey → *subscription
}

// pickShared chooses the member of a shared group that gets m, by
// mqtt.shared_subscription_strategy, preferring members that are online and
// never the session leaving (a redispatch).
func (b *Broker) pickShared(g *topic.Group[*subscription], m *core.Message, leaving *session.Session) *subscription {
	n := len(g.Members)
	if n == 0 || n == 1 && g.Members[0].sess == leaving {
		return nil
	}
	key := sharedKey{g.Name, g.Filter}
	var start int
	switch b.cfg.SharedStrategy {
	case "round_robin", "round_robin_per_group":
		v, ok := b.shared.next.Load(key)
		if !ok {
			v, _ = b.shared.next.LoadOrStore(key, new(atomic.Uint64))
		}
		start = int((v.(*atomic.Uint64).Add(1) - 1) % uint64(n))
	case "sticky":
		if v, ok := b.shared.sticky.Load(key); ok {
			s := v.(*subscription)
			for _, mem := range g.Members {
				if mem == s && s.sess.Online() {
					return s
				}
			}
		}
		start = rand.IntN(n)
	case "hash_clientid":
		start = int(hash(m.From) % uint32(n))
	case "hash_topic":
		start = int(hash(m.Topic) % uint32(n))
	default: // random, local
		start = rand.IntN(n)
	}
	chosen := g.Members[start]
	if chosen.sess == leaving {
		chosen = g.Members[(start+1)%n]
	}
	for i := range n {
		if s := g.Members[(start+i)%n]; s.sess != leaving && s.sess.Online() {
			chosen = s
			break
		}
	}
	if b.cfg.SharedStrategy == "sticky" {
		b.shared.sticky.Store(key, chosen)
	}
	return chosen
}

// hash is 32-bit FNV-1a, inline so that it costs no allocation.
func hash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// redispatch gives the unacknowledged messages of a departing shared-group
// member to another member of the same group (EMQX does the same), so that a
// QoS 1 or 2 message is not lost with the member's session.
func (b *Broker) redispatch(leaving *session.Session, pending []session.Pending) {
	for _, p := range pending {
		group, filter, _ := strings.Cut(p.Shared, "\x00")
		match := b.subs.Match(p.Msg.Topic)
		for i := range match.Shared {
			g := &match.Shared[i]
			if g.Name != group || g.Filter != filter {
				continue
			}
			s := b.pickShared(g, p.Msg, leaving)
			if s == nil {
				b.stats.dropped.Add(1)
				break
			}
			p.QoS = min(p.Msg.QoS, s.opts.QoS)
			p.SubIDs = nil
			if s.opts.SubscriptionID != 0 {
				p.SubIDs = []uint32{s.opts.SubscriptionID}
			}
			if !s.sess.Enqueue(p) {
				b.stats.dropped.Add(1)
			}
			break
		}
	}
}

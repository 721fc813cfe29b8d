package mqtt

import (
	"errors"
	"time"

	"github.com/manifold-iot/manifold/adapters"
	mq "github.com/manifold-iot/manifold/codec/mqtt"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/session"
)

// Errors a channel closes its connection with on a bad PUBLISH.
var (
	ErrReceiveMaximum = errors.New("mqtt: more QoS 2 messages awaiting PUBREL than Receive Maximum")
	ErrTopicAlias     = errors.New("mqtt: topic alias invalid")
	ErrNotAuthorized  = errors.New("mqtt: not authorized")
)

// handlePublish routes an inbound PUBLISH and acknowledges it.
func (c *channel) handlePublish(p *mq.Publish) adapters.Replies {
	topic, r, ok := c.resolveAlias(p)
	if !ok {
		return r
	}
	qos := core.QoS(p.QoS)
	if qos > c.cfg.MaxQoS {
		return c.closeWith(mq.QoSNotSupported, errors.New("mqtt: PUBLISH above max_qos_allowed")) // [MQTT-3.2.2-11]
	}
	if p.Retain && !c.cfg.RetainAvailable {
		return c.closeWith(mq.RetainNotSupported, errors.New("mqtt: retained PUBLISH while retain is unavailable")) // [MQTT-3.2.2-14]
	}

	if qos > core.QoS0 && c.version == mq.V5 && c.heldQoS1()+c.sess.InboundInflight() >= c.cfg.MaxInflight {
		// More unacknowledged QoS 1 and 2 PUBLISH packets than the Receive
		// Maximum we announced [MQTT-3.3.4-7].
		return c.closeWith(mq.ReceiveMaximumExceeded, ErrReceiveMaximum)
	}
	if c.heldCount() >= 65535 {
		return c.closeWith(mq.ReceiveMaximumExceeded, ErrReceiveMaximum) // a v3 client ignoring flow control
	}
	if qos == core.QoS2 {
		dup, err := c.sess.AwaitRel(p.PacketID, time.Now())
		if err != nil {
			return c.closeWith(mq.ReceiveMaximumExceeded, err) // max_awaiting_rel
		}
		if dup {
			// Routed on its first arrival; only the PUBREC is repeated
			// [MQTT-4.3.3-9] (in order, behind any held acknowledgement).
			return c.acknowledge(heldAck{id: p.PacketID, qos: qos}, nil)
		}
		if c.sess.InboundInflight() == 1 {
			c.timers = append(c.timers, adapters.Timer{ID: timerAwaitRel, After: c.cfg.AwaitRelTimeout / 4})
		}
	}

	code := mq.Success
	var pressured []core.Backlog
	if !c.ctx.Authorize(&c.client, core.ActionPublish, topic, qos, p.Retain) {
		c.ev(c.ctx.Logger().Info()).Str("topic", topic).Msg("publish_denied")
		if c.ctx.DenyAction() == "disconnect" {
			return c.closeWith(mq.NotAuthorized, ErrNotAuthorized)
		}
		code = mq.NotAuthorized
	} else {
		m := c.messageFrom(p, topic)
		res, err := c.ctx.Publish(m)
		switch {
		case errors.Is(err, broker.ErrTopicInvalid):
			return c.closeWith(mq.TopicNameInvalid, err)
		case errors.Is(err, broker.ErrDelayedInvalid):
			c.ev(c.ctx.Logger().Info()).Err(err).Str("topic", topic).Msg("publish_dropped")
			code = mq.TopicNameInvalid
		case errors.Is(err, broker.ErrDelayedFull):
			code = mq.QuotaExceeded
		case err != nil:
			c.ev(c.ctx.Logger().Warn()).Err(err).Str("topic", topic).Msg("publish_failed")
			code = mq.ImplementationSpecificError
		case res.Matched == 0 && !res.Delayed && c.version == mq.V5:
			code = mq.NoMatchingSubscribers
		}
		pressured = res.Pressured
	}
	if qos == core.QoS2 && !code.IsError() {
		// The PUBREC promises the packet id survives a restart (the PUBREL
		// that follows must find it) when the session is persistent.
		if t := c.sess.Durable(); t != nil {
			pressured = append(pressured, t)
		}
	}
	if qos == core.QoS0 {
		return c.reply()
	}
	if c.version != mq.V5 {
		code = mq.Success // v3 acknowledgements carry no code: a refused message is dropped (and logged)
	}
	if qos == core.QoS2 && code.IsError() {
		c.sess.Release(p.PacketID) // a refused message does not await PUBREL (MQTT 5 §4.3.3)
	}
	return c.acknowledge(heldAck{id: p.PacketID, qos: qos, code: code}, pressured)
}

// heldAck is a PUBACK or PUBREC not yet sent.
type heldAck struct {
	id   uint16
	qos  core.QoS
	code mq.ReasonCode
}

// acknowledge sends a PUBACK or PUBREC now, or holds it back while a
// subscriber's queue is pressured (push-back: the publisher's inflight
// window then stops it), while a persistent subscriber's copy is not yet
// durable, or while earlier acknowledgements are held (acknowledgements go
// out in order): adapters.HeldAcks.
func (c *channel) acknowledge(a heldAck, pressured []core.Backlog) adapters.Replies {
	if len(pressured) == 0 && c.heldCount() == 0 {
		c.writeAck(a)
		return c.reply()
	}
	if c.held == nil {
		c.held = new(heldAcks)
	}
	if a.qos == core.QoS1 {
		c.held.qos1++
	}
	if c.held.Hold(a, pressured, time.Now(), c) {
		c.timers = append(c.timers, adapters.Timer{ID: timerAckHold, After: c.cfg.AckHold})
	}
	return c.reply()
}

// releaseHeld sends the held acknowledgements whose waits are over (see
// adapters.HeldAcks), in order.
func (c *channel) releaseHeld(now time.Time) adapters.Replies {
	if c.held == nil {
		return c.reply()
	}
	next := c.held.Release(now, c.cfg.AckHold, c, func(a heldAck) {
		c.writeAck(a)
		if a.qos == core.QoS1 {
			c.held.qos1--
		}
	})
	if next == 0 {
		c.held = nil // give the memory back: an idle connection holds nothing
		return c.reply()
	}
	c.timers = append(c.timers, adapters.Timer{ID: timerAckHold, After: next})
	return c.reply()
}

func (c *channel) writeAck(a heldAck) {
	if a.qos == core.QoS1 {
		c.writeAckPacket(mq.TypePuback, a.id, a.code)
		return
	}
	c.writeAckPacket(mq.TypePubrec, a.id, a.code)
}

// resolveAlias applies an inbound topic alias (MQTT 5 §3.3.2.3.4).
func (c *channel) resolveAlias(p *mq.Publish) (string, adapters.Replies, bool) {
	alias := p.Properties.TopicAlias
	if alias == 0 {
		return p.Topic, adapters.Replies{}, true
	}
	if int(alias) > c.cfg.MaxTopicAlias {
		return "", c.closeWith(mq.TopicAliasInvalid, ErrTopicAlias), false // [MQTT-3.3.2-9]
	}
	if p.Topic == "" {
		var t string
		ok := false
		if c.rare != nil {
			t, ok = c.rare.in[alias]
		}
		if !ok {
			return "", c.closeWith(mq.ProtocolError, errors.New("mqtt: unknown topic alias")), false
		}
		return t, adapters.Replies{}, true
	}
	al := c.rareFields()
	if al.in == nil {
		al.in = make(map[uint16]string)
	}
	al.in[alias] = p.Topic
	return p.Topic, adapters.Replies{}, true
}

// messageFrom copies an inbound PUBLISH into an immutable core message: the
// decoded packet references the connection's read buffer, the message
// outlives it.
func (c *channel) messageFrom(p *mq.Publish, topic string) *core.Message {
	m := &core.Message{
		Topic:     topic,
		Payload:   append([]byte(nil), p.Payload...),
		QoS:       core.QoS(p.QoS),
		Retain:    p.Retain,
		From:      c.client.ClientID,
		Timestamp: time.Now(),
	}
	if c.version == mq.V5 {
		copyProperties(m, &p.Properties)
	}
	return m
}

// copyProperties carries a PUBLISH's (or will's) v5 properties into m.
func copyProperties(m *core.Message, pr *mq.Properties) {
	m.PayloadFormat = pr.PayloadFormatIndicator
	if pr.HasMessageExpiryInterval {
		m.ExpiryInterval = time.Duration(pr.MessageExpiryInterval) * time.Second
	}
	m.ContentType = pr.ContentType
	m.ResponseTopic = pr.ResponseTopic
	if len(pr.CorrelationData) > 0 {
		m.CorrelationData = append([]byte(nil), pr.CorrelationData...)
	}
	if len(pr.UserProperties) > 0 {
		m.UserProperties = make([]core.UserProperty, len(pr.UserProperties))
		for i, u := range pr.UserProperties {
			m.UserProperties[i] = core.UserProperty{Key: u.Key, Value: u.Value}
		}
	}
}

// handlePubrel completes an inbound QoS 2 exchange.
func (c *channel) handlePubrel(p *mq.Pubrel) adapters.Replies {
	code := mq.Success
	if !c.sess.Release(p.PacketID) {
		code = mq.PacketIdentifierNotFound // [MQTT-3.7.2-1] (v3 has no code; PUBCOMP all the same)
	}
	c.writeAckPacket(mq.TypePubcomp, p.PacketID, code)
	return c.reply()
}

// handlePubrec answers the client's PUBREC for an outbound QoS 2 message.
func (c *channel) handlePubrec(p *mq.Pubrec) adapters.Replies {
	if p.ReasonCode.IsError() {
		// The client refused the message (v5): the exchange ends here.
		if c.sess.RecFailed(p.PacketID) {
			return c.deliver()
		}
		return c.reply()
	}
	code := mq.Success
	if !c.sess.Rec(p.PacketID) {
		code = mq.PacketIdentifierNotFound
	} else if c.sess.Persistent() {
		// The client forgets the packet id on PUBREL: the store must know
		// the message is released first, or a crash would resend it as new.
		c.park([]session.Delivery{{PacketID: p.PacketID, Release: true}})
		return c.reply()
	}
	c.writeAckPacket(mq.TypePubrel, p.PacketID, code)
	return c.reply()
}

// park holds deliveries of a persistent session until the store has
// recorded what they change (a QoS 2 PUBLISH's packet id, a PUBREL), so that
// after a crash the broker resends them with the identifiers the client
// knows and exactly-once holds. Parked packets go out in order, before any
// new delivery. Under node.persistence.fsync interval the wait is one
// write(2) of the store's batch.
func (c *channel) park(ds []session.Delivery) {
	sc := c.scratch()
	sc.parked = append(sc.parked, ds...)
	t := c.sess.Durable()
	if t == nil || !t.Pressured() {
		c.flushParked(time.Now())
		return
	}
	sc.wait = t
	t.WhenDrained(c)
}

// flushParked writes the parked deliveries once the store has them; it
// reports false while they still wait.
func (c *channel) flushParked(now time.Time) bool {
	sc := c.ds
	if sc == nil || len(sc.parked) == 0 {
		return true
	}
	if sc.wait != nil {
		if sc.wait.Pressured() {
			sc.wait.WhenDrained(c)
			return false
		}
		sc.wait = nil
	}
	for i := range sc.parked {
		c.writeDelivery(&sc.parked[i], now)
		sc.parked[i] = session.Delivery{}
	}
	sc.parked = sc.parked[:0]
	return true
}

// needsDurable reports whether a batch holds a first QoS 2 send of a
// persistent session (see park).
func (c *channel) needsDurable(ds []session.Delivery) bool {
	if !c.sess.Persistent() {
		return false
	}
	for i := range ds {
		if ds[i].QoS == core.QoS2 && !ds[i].Release && !ds[i].Dup {
			return true
		}
	}
	return false
}

// HandleDeliver implements adapters.Channel.
func (c *channel) HandleDeliver() adapters.Replies {
	c.begin()
	if c.phase != phaseConnected {
		return adapters.Replies{}
	}
	return c.deliver()
}

// deliver takes what the session's window allows and writes it after
// whatever this call has written already.
func (c *channel) deliver() adapters.Replies {
	now := time.Now()
	if !c.flushParked(now) {
		return c.reply() // the store's wake brings us back
	}
	var more bool
	var ds []session.Delivery
	ds, more = c.sess.Take(c.deliveries(), now, c.cfg.DeliverBatch)
	if len(ds) > 0 {
		c.scratch().dbuf = ds
	}
	if c.needsDurable(ds) {
		c.park(ds)
		for i := range ds {
			ds[i] = session.Delivery{}
		}
		r := c.reply()
		r.More = more && len(c.ds.parked) == 0
		return r
	}
	for i := range ds {
		c.writeDelivery(&ds[i], now)
		ds[i] = session.Delivery{}
	}
	r := c.reply()
	r.More = more
	return r
}

// writeDelivery encodes one delivery: a PUBLISH, or a PUBREL for a QoS 2
// message the client already has.
func (c *channel) writeDelivery(d *session.Delivery, now time.Time) {
	if d.Release {
		c.writeAckPacket(mq.TypePubrel, d.PacketID, mq.Success)
		return
	}
	m := d.Msg
	sc := c.scratch()
	p := &sc.pub
	*p = mq.Publish{Dup: d.Dup, QoS: byte(d.QoS), Retain: d.Retain, Topic: m.Topic, PacketID: d.PacketID, Payload: m.Payload}
	if c.version == mq.V5 {
		pr := &p.Properties
		pr.PayloadFormatIndicator = m.PayloadFormat
		if left, ok := m.RemainingExpiry(now); ok {
			pr.MessageExpiryInterval, pr.HasMessageExpiryInterval = uint32(left/time.Second), true // [MQTT-3.3.2-6]
		}
		pr.ContentType = m.ContentType
		pr.ResponseTopic = m.ResponseTopic
		pr.CorrelationData = m.CorrelationData
		pr.SubscriptionIdentifiers = d.SubIDs
		if len(m.UserProperties) > 0 {
			sc.users = sc.users[:0]
			for _, u := range m.UserProperties {
				sc.users = append(sc.users, mq.UserProperty{Key: u.Key, Value: u.Value})
			}
			pr.UserProperties = sc.users
		}
		if c.maxPacketOut > 0 && mq.Size(p, c.version) > int(c.maxPacketOut) {
			// Never send a client more than it accepts [MQTT-3.1.2-24]: the
			// message is dropped for this client, as if acknowledged.
			c.ev(c.ctx.Logger().Info()).Str("topic", m.Topic).Uint32("max_packet_size", c.maxPacketOut).Msg("delivery_dropped_too_large")
			c.dropInflight(d)
			return
		}
		c.applyAliasOut(p) // after the size check: an alias must reach the client it is set up for
	}
	c.write(p)
}

// applyAliasOut replaces the topic with an alias the client accepts (MQTT 5
// §3.3.2.3.4): the first PUBLISH on a topic carries topic and alias, later
// ones the alias alone.
func (c *channel) applyAliasOut(p *mq.Publish) {
	if c.aliasOutMax == 0 {
		return
	}
	al := c.rareFields()
	if a, ok := al.out[p.Topic]; ok {
		p.Properties.TopicAlias = a
		p.Topic = ""
		return
	}
	if len(al.out) >= int(c.aliasOutMax) {
		return // aliases spent: send the topic in full
	}
	if al.out == nil {
		al.out = make(map[string]uint16)
	}
	a := uint16(len(al.out) + 1)
	al.out[p.Topic] = a
	p.Properties.TopicAlias = a
}

// dropInflight forgets a delivery that will never be sent.
func (c *channel) dropInflight(d *session.Delivery) {
	switch d.QoS {
	case core.QoS1:
		c.sess.Ack(d.PacketID)
	case core.QoS2:
		c.sess.RecFailed(d.PacketID)
	}
}

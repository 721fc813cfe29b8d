package sn

import (
	"errors"
	"time"

	"github.com/manifold-iot/manifold/adapters"
	snc "github.com/manifold-iot/manifold/codec/sn"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/session"
)

// inTopic resolves the topic of an inbound PUBLISH (§6.8): a registered id,
// a predefined id, or a short name.
func (c *channel) inTopic(tt byte, id uint16) (string, bool) {
	switch tt {
	case snc.TopicNormal:
		if c.regPending != nil && c.regPending.id == id {
			return "", false // not yet accepted by the client
		}
		name, ok := c.reg.byID[id]
		return name, ok
	case snc.TopicPredefined:
		name, ok := c.a.predefByID[id]
		return name, ok
	case snc.TopicShort:
		name := snc.ShortTopic(id)
		if name[0] == '+' || name[0] == '#' || name[1] == '+' || name[1] == '#' {
			return "", false
		}
		return name, true
	}
	return "", false
}

// handlePublish routes a client's PUBLISH and acknowledges it (§6.8): PUBACK
// for QoS 1, PUBREC for QoS 2, and a PUBACK with a return code for a refused
// message of any QoS.
func (c *channel) handlePublish(p *snc.Publish) adapters.Replies {
	name, ok := c.inTopic(p.TopicIDType, p.TopicID)
	if !ok {
		c.ev(c.log.Info()).Uint16("topic_id", p.TopicID).Uint8("topic_id_type", p.TopicIDType).Msg("publish_unknown_topic_id")
		c.write(&snc.Puback{TopicID: p.TopicID, MsgID: p.MsgID, ReturnCode: snc.RejectedInvalidTopic})
		return c.reply()
	}
	qos := core.QoS(p.QoS)
	if p.QoS == snc.QoSMinus1 {
		qos = core.QoS0 // a connected client's QoS -1 is QoS 0
	}
	if qos == core.QoS2 {
		dup, err := c.sess.AwaitRel(p.MsgID, time.Now())
		if err != nil {
			c.write(&snc.Puback{TopicID: p.TopicID, MsgID: p.MsgID, ReturnCode: snc.RejectedCongestion})
			return c.reply()
		}
		if dup {
			c.acknowledge(heldAck{pubrec: true, msgID: p.MsgID}, nil) // routed on its first arrival
			return c.reply()
		}
	}
	t := c.mountTopic(name)
	code, pressured := c.route(&c.client, t, p, qos)
	if code == errDisconnect {
		c.write(&snc.Disconnect{})
		return c.shutdown(ErrNotAuthorized)
	}
	if code != snc.Accepted {
		if qos == core.QoS2 {
			c.sess.Release(p.MsgID)
		}
		c.acknowledge(heldAck{topicID: p.TopicID, msgID: p.MsgID, code: code}, nil)
		return c.reply()
	}
	if qos == core.QoS0 {
		return c.reply()
	}
	if qos == core.QoS2 {
		// The PUBREC promises the msg id survives a restart (the PUBREL
		// that follows must find it) when the session is persistent.
		if t := c.sess.Durable(); t != nil {
			pressured = append(pressured, t)
		}
	}
	c.acknowledge(heldAck{pubrec: qos == core.QoS2, topicID: p.TopicID, msgID: p.MsgID}, pressured)
	return c.reply()
}

// heldAck is a PUBACK (with its return code) or a PUBREC not yet sent.
type heldAck struct {
	pubrec         bool
	topicID, msgID uint16
	code           snc.ReturnCode
}

// acknowledge sends a PUBACK or PUBREC now, or holds it while a subscriber
// that took the message is pressured (push-back: a client that waits for
// its PUBACK slows down), while a persistent subscriber's copy or this
// session's QoS 2 msg id is not yet durable, or while earlier ones are held
// (they go out in order).
func (c *channel) acknowledge(a heldAck, pressured []core.Backlog) {
	if len(pressured) == 0 && c.held == nil {
		c.writeAck(a)
		return
	}
	if c.held == nil {
		c.held = new(adapters.HeldAcks[heldAck])
	}
	if c.held.Hold(a, pressured, time.Now(), c) {
		c.timers = append(c.timers, adapters.Timer{ID: timerAckHold, After: ackHold})
	}
}

// releaseHeld sends the held acknowledgements whose waits are over.
func (c *channel) releaseHeld(now time.Time) {
	if c.held == nil {
		return
	}
	if next := c.held.Release(now, ackHold, c, c.writeAck); next > 0 {
		c.timers = append(c.timers, adapters.Timer{ID: timerAckHold, After: next})
		return
	}
	c.held = nil
}

func (c *channel) writeAck(a heldAck) {
	if a.pubrec {
		c.write(&snc.Pubrec{MsgID: a.msgID})
		return
	}
	c.write(&snc.Puback{TopicID: a.topicID, MsgID: a.msgID, ReturnCode: a.code})
}

// errDisconnect is route's answer when deny_action is "disconnect".
const errDisconnect snc.ReturnCode = 0xFF

// route authorizes and publishes one message for ci; with the return code
// it gives what the acknowledgement must wait for (PublishResult.Pressured).
func (c *channel) route(ci *core.ClientInfo, t string, p *snc.Publish, qos core.QoS) (snc.ReturnCode, []core.Backlog) {
	if !c.ctx.Authorize(ci, core.ActionPublish, t, qos, p.Retain) {
		c.ev(c.log.Info()).Str("topic", t).Str("publisher", ci.ClientID).Msg("publish_denied")
		if c.ctx.DenyAction() == "disconnect" && ci == &c.client {
			return errDisconnect, nil
		}
		return snc.RejectedNotSupported, nil
	}
	m := &core.Message{
		Topic:     t,
		Payload:   append([]byte(nil), p.Data...),
		QoS:       qos,
		Retain:    p.Retain,
		From:      ci.ClientID,
		Timestamp: time.Now(),
	}
	res, err := c.ctx.Publish(m)
	switch {
	case err == nil:
		return snc.Accepted, res.Pressured
	case errors.Is(err, broker.ErrTopicInvalid), errors.Is(err, broker.ErrDelayedInvalid):
		return snc.RejectedInvalidTopic, nil
	case errors.Is(err, broker.ErrDelayedFull):
		return snc.RejectedCongestion, nil
	default:
		c.ev(c.log.Warn()).Err(err).Str("topic", t).Msg("publish_failed")
		return snc.RejectedNotSupported, nil
	}
}

// handlePublishNeg publishes a QoS -1 message from a peer without a
// connection (§6.8): short or predefined topics only, as NegQoS-Client,
// through authentication and authorization, at QoS 0.
func (c *channel) handlePublishNeg(p *snc.Publish) adapters.Replies {
	if !c.cfg.EnableQoS3 {
		c.write(&snc.Puback{TopicID: p.TopicID, MsgID: p.MsgID, ReturnCode: snc.RejectedNotSupported})
		return c.reply()
	}
	var name string
	ok := false
	if p.TopicIDType != snc.TopicNormal {
		name, ok = c.inTopic(p.TopicIDType, p.TopicID)
	}
	if !ok {
		c.ev(c.log.Info()).Uint16("topic_id", p.TopicID).Msg("publish_unknown_topic_id")
		c.write(&snc.Puback{TopicID: p.TopicID, MsgID: p.MsgID, ReturnCode: snc.RejectedInvalidTopic})
		return c.reply()
	}
	ci := c.client
	ci.ClientID = NegQoSClientID
	if err := c.ctx.Authenticate(adapters.AuthRequest{Client: &ci}); err != nil {
		c.ev(c.log.Info()).Err(err).Msg("qos3_publish_unauthenticated")
		return c.reply()
	}
	ci.Mountpoint = adapters.ExpandMountpoint(c.cfg.Mountpoint, &ci)
	if code, _ := c.route(&ci, ci.Mountpoint+name, p, core.QoS0); code != snc.Accepted {
		c.write(&snc.Puback{TopicID: p.TopicID, MsgID: p.MsgID, ReturnCode: code})
	}
	return c.reply()
}

// handlePuback completes an outbound QoS 1 message. A refusal for an
// invalid topic id means the client forgot the registration: it is dropped so
// the next message on that topic registers it again.
func (c *channel) handlePuback(p *snc.Puback) adapters.Replies {
	e := c.inflight[p.MsgID]
	if e == nil || e.rel || e.pub.QoS != 1 {
		if e != nil && p.ReturnCode != snc.Accepted { // a refused QoS 2 PUBLISH
			return c.complete(p.MsgID, p.ReturnCode, c.sess.RecFailed)
		}
		return c.reply()
	}
	return c.complete(p.MsgID, p.ReturnCode, c.sess.Ack)
}

func (c *channel) complete(id uint16, code snc.ReturnCode, done func(uint16) bool) adapters.Replies {
	e := c.inflight[id]
	delete(c.inflight, id)
	if code == snc.RejectedInvalidTopic && e.pub.TopicIDType == snc.TopicNormal {
		c.reg.remove(e.pub.TopicID)
		c.saveRegistry()
	}
	if code != snc.Accepted {
		c.ev(c.log.Info()).Uint16("msg_id", id).Str("return_code", code.String()).Msg("delivery_refused")
	}
	if done(id) {
		return c.deliver()
	}
	return c.reply()
}

// handlePubrec answers PUBREL for an outbound QoS 2 message.
func (c *channel) handlePubrec(p *snc.Pubrec) adapters.Replies {
	if !c.sess.Rec(p.MsgID) {
		return c.reply()
	}
	e := c.inflight[p.MsgID]
	if e == nil {
		e = &unacked{}
		c.setInflight(p.MsgID, e)
	}
	e.rel, e.tries, e.sentAt = true, 0, time.Now()
	e.pub.Data = nil
	c.write(&snc.Pubrel{MsgID: p.MsgID})
	c.armRetry()
	return c.reply()
}

func (c *channel) handlePubcomp(p *snc.Pubcomp) adapters.Replies {
	delete(c.inflight, p.MsgID)
	if c.sess.Comp(p.MsgID) {
		return c.deliver()
	}
	return c.reply()
}

func (c *channel) setInflight(id uint16, e *unacked) {
	if c.inflight == nil {
		c.inflight = make(map[uint16]*unacked)
	}
	c.inflight[id] = e
}

func (c *channel) armRetry() {
	if !c.retryArmed {
		c.retryArmed = true
		c.timers = append(c.timers, adapters.Timer{ID: timerRetry, After: c.cfg.RetryInterval})
	}
}

// HandleDeliver implements adapters.Channel.
func (c *channel) HandleDeliver() adapters.Replies {
	c.begin()
	if !c.phase.connected() || c.sess == nil {
		return adapters.Replies{}
	}
	return c.deliver()
}

// deliver moves what the session has queued to the client: at once when it
// is active or awake; into the bounded sleep buffer when it sleeps.
func (c *channel) deliver() adapters.Replies {
	now := time.Now()
	var more bool
	if c.phase == phaseAsleep {
		c.outq, more = c.sess.Take(c.outq, now, c.cfg.DeliverBatch)
		c.trimSleepBuffer()
		r := c.reply()
		r.More = more
		return r
	}
	c.pump(now)
	if len(c.outq) == 0 && c.regPending == nil {
		c.outq, more = c.sess.Take(c.outq, now, c.cfg.DeliverBatch)
		c.pump(now)
		if len(c.outq) > 0 || c.regPending != nil {
			more = false // the REGACK resumes delivery
		}
	}
	if c.phase == phaseAwake && !more {
		c.sleepAgainIfDone()
	}
	r := c.reply()
	r.More = more
	return r
}

// trimSleepBuffer drops the oldest buffered messages past max_sleep_buffer.
func (c *channel) trimSleepBuffer() {
	over := len(c.outq) - c.cfg.MaxSleepBuffer
	if over <= 0 {
		return
	}
	kept := c.outq[:0]
	for i := range c.outq {
		d := c.outq[i]
		if over > 0 && !d.Release {
			c.dropDelivery(&d)
			over--
			continue
		}
		kept = append(kept, d)
	}
	clear(c.outq[len(kept):])
	c.outq = kept
	c.ev(c.log.Warn()).Int("max_sleep_buffer", c.cfg.MaxSleepBuffer).Uint64("dropped", c.dropped).Msg("sleep_buffer_overflow")
}

// sleepAgainIfDone ends an awake period once everything buffered is out:
// PINGRESP, then asleep again (§6.14).
func (c *channel) sleepAgainIfDone() {
	if len(c.outq) > 0 || c.regPending != nil || len(c.reRegister) > 0 || c.sess.Stats().Queued > 0 {
		return
	}
	c.write(&snc.Pingresp{})
	c.phase = phaseAsleep
	c.timers = append(c.timers, adapters.Timer{ID: timerKeepalive,
		After: time.Duration(float64(c.sleepFor) * c.cfg.KeepaliveMultiplier)})
}

// outTopic picks how a delivered topic is named to this client: its
// registered id, a predefined id, or a short name; ok is false when it must
// be registered first.
func (c *channel) outTopic(full string) (tt byte, id uint16, ok bool) {
	name := c.unmount(full)
	if id, ok := c.reg.byName[name]; ok {
		return snc.TopicNormal, id, true
	}
	if id, ok := c.a.predefByName[name]; ok {
		return snc.TopicPredefined, id, true
	}
	if id, ok := snc.ShortTopicID(name); ok {
		return snc.TopicShort, id, true
	}
	return 0, 0, false
}

// pump sends outq in order until it is empty or a PUBLISH waits for the
// REGISTER of its topic (§6.10).
func (c *channel) pump(now time.Time) {
	if c.regPending != nil {
		return
	}
	for len(c.reRegister) > 0 {
		id := c.reRegister[0]
		if name, ok := c.reg.byID[id]; ok {
			c.sendRegister(id, name, now)
			return
		}
		c.reRegister = c.reRegister[1:]
	}
	i := 0
	for ; i < len(c.outq); i++ {
		d := &c.outq[i]
		if d.Release {
			c.setInflight(d.PacketID, &unacked{rel: true, sentAt: now})
			c.write(&snc.Pubrel{MsgID: d.PacketID})
			c.armRetry()
			continue
		}
		tt, id, ok := c.outTopic(d.Msg.Topic)
		if !ok {
			name := c.unmount(d.Msg.Topic)
			nid, _, ok := c.reg.assign(name, c.cfg.MaxTopics)
			if !ok {
				c.ev(c.log.Warn()).Str("topic", d.Msg.Topic).Int("max_topics", c.cfg.MaxTopics).Msg("delivery_dropped_registry_full")
				c.dropDelivery(d)
				continue
			}
			c.sendRegister(nid, name, now)
			break
		}
		c.writePublish(d, tt, id, now)
	}
	n := copy(c.outq, c.outq[i:])
	clear(c.outq[n:])
	c.outq = c.outq[:n]
}

func (c *channel) sendRegister(id uint16, name string, now time.Time) {
	c.regMsgID++
	if c.regMsgID == 0 {
		c.regMsgID = 1
	}
	c.regPending = &regOut{id: id, msgID: c.regMsgID, name: name, sentAt: now}
	c.write(&snc.Register{TopicID: id, MsgID: c.regMsgID, TopicName: name})
	c.armRetry()
}

// writePublish sends one delivery; QoS 1 and 2 are kept for retransmission.
func (c *channel) writePublish(d *session.Delivery, tt byte, id uint16, now time.Time) {
	c.pub = snc.Publish{Dup: d.Dup, QoS: byte(d.QoS), Retain: d.Retain, TopicIDType: tt, TopicID: id, MsgID: d.PacketID, Data: d.Msg.Payload}
	if snc.Size(&c.pub) > c.cfg.MaxDatagram {
		c.ev(c.log.Info()).Str("topic", d.Msg.Topic).Int("max_datagram", c.cfg.MaxDatagram).Msg("delivery_dropped_too_large")
		c.dropDelivery(d)
		return
	}
	c.write(&c.pub)
	if d.QoS > core.QoS0 {
		c.setInflight(d.PacketID, &unacked{pub: c.pub, sentAt: now})
		c.armRetry()
	}
}

// dropDelivery forgets a delivery that will never be sent.
func (c *channel) dropDelivery(d *session.Delivery) {
	c.dropped++
	switch d.QoS {
	case core.QoS1:
		c.sess.Ack(d.PacketID)
	case core.QoS2:
		c.sess.RecFailed(d.PacketID)
	}
}

// resendAll resends every unacknowledged message at once (a woken client).
func (c *channel) resendAll(now time.Time) {
	for id, e := range c.inflight {
		c.resend(id, e, now)
	}
	if r := c.regPending; r != nil {
		r.sentAt = now
		c.write(&snc.Register{TopicID: r.id, MsgID: r.msgID, TopicName: r.name})
	}
	if len(c.inflight) > 0 || c.regPending != nil {
		c.armRetry()
	}
}

func (c *channel) resend(id uint16, e *unacked, now time.Time) {
	e.sentAt = now
	if e.rel {
		c.write(&snc.Pubrel{MsgID: id})
		return
	}
	e.pub.Dup = true
	c.write(&e.pub)
}

// retransmit resends what has waited retry_interval (§6.13); past
// max_retries the client is lost. Nothing is sent to a sleeping client. One
// timer serves every message, so a message is due once it has waited three
// quarters of the interval: each is resent between 0.75 and 1.75 intervals
// after its last send.
func (c *channel) retransmit(now time.Time) adapters.Replies {
	if len(c.inflight) == 0 && c.regPending == nil {
		return c.reply()
	}
	due := c.cfg.RetryInterval * 3 / 4
	if c.phase != phaseAsleep {
		for id, e := range c.inflight {
			if now.Sub(e.sentAt) < due {
				continue
			}
			if e.tries++; e.tries > c.cfg.MaxRetries {
				return c.lost(id)
			}
			c.resend(id, e, now)
		}
		if r := c.regPending; r != nil && now.Sub(r.sentAt) >= due {
			if r.tries++; r.tries > c.cfg.MaxRetries {
				return c.lost(r.msgID)
			}
			r.sentAt = now
			c.write(&snc.Register{TopicID: r.id, MsgID: r.msgID, TopicName: r.name})
		}
	}
	c.armRetry()
	return c.reply()
}

func (c *channel) lost(id uint16) adapters.Replies {
	c.ev(c.log.Info()).Uint16("msg_id", id).Int("max_retries", c.cfg.MaxRetries).Msg("retries_exceeded")
	return c.shutdown(ErrRetriesExceeded)
}

package sn

import (
	"errors"
	"strings"

	"github.com/manifold-iot/manifold/adapters"
	snc "github.com/manifold-iot/manifold/codec/sn"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/topic"
)

// handleRegister assigns a topic id to a topic name the client will publish
// to (§6.9). A wildcard cannot be registered.
func (c *channel) handleRegister(p *snc.Register) adapters.Replies {
	ack := snc.Regack{MsgID: p.MsgID}
	switch {
	case strings.ContainsAny(p.TopicName, "+#"):
		ack.ReturnCode = snc.RejectedNotSupported
	case topic.ValidName(c.mountTopic(p.TopicName), 0) != nil:
		ack.ReturnCode = snc.RejectedInvalidTopic
	default:
		id, isNew, ok := c.reg.assign(p.TopicName, c.cfg.MaxTopics)
		if !ok {
			ack.ReturnCode = snc.RejectedCongestion
			break
		}
		ack.TopicID = id
		if isNew {
			c.saveRegistry()
		}
	}
	if ack.ReturnCode != snc.Accepted {
		c.ev(c.log.Info()).Str("topic", p.TopicName).Str("return_code", ack.ReturnCode.String()).Msg("register_rejected")
	}
	c.write(&ack)
	return c.reply()
}

// handleRegack: the client accepted (or refused) a topic id the gateway
// registered; the PUBLISH waiting for it goes out now (§6.10).
func (c *channel) handleRegack(p *snc.Regack) adapters.Replies {
	r := c.regPending
	if r == nil || r.msgID != p.MsgID {
		return c.reply()
	}
	c.regPending = nil
	if len(c.reRegister) > 0 && c.reRegister[0] == r.id {
		c.reRegister = c.reRegister[1:]
	}
	if p.ReturnCode == snc.Accepted {
		c.saveRegistry()
	} else {
		c.ev(c.log.Info()).Str("topic", r.name).Str("return_code", p.ReturnCode.String()).Msg("register_refused_by_client")
		c.reg.remove(r.id)
		c.saveRegistry()
		// The messages on that topic cannot be named to this client.
		kept := c.outq[:0]
		for i := range c.outq {
			d := c.outq[i]
			if !d.Release && c.unmount(d.Msg.Topic) == r.name {
				c.dropDelivery(&d)
				continue
			}
			kept = append(kept, d)
		}
		clear(c.outq[len(kept):])
		c.outq = kept
	}
	return c.deliver()
}

// subTopic resolves SUBSCRIBE's and UNSUBSCRIBE's topic (§6.9): a name or
// filter, a predefined id, or a short name.
func (c *channel) subTopic(tt byte, name string, id uint16) (string, bool) {
	switch tt {
	case snc.TopicNormal:
		return name, name != ""
	case snc.TopicPredefined:
		n, ok := c.a.predefByID[id]
		return n, ok
	case snc.TopicShort:
		return snc.ShortTopic(id), true
	}
	return "", false
}

// handleSubscribe subscribes and answers SUBACK with the topic id the client
// will see the messages under: the registered id for a topic name, the
// predefined id, or 0 for a short name or a filter with wildcards (§6.9).
func (c *channel) handleSubscribe(p *snc.Subscribe) adapters.Replies {
	ack := snc.Suback{MsgID: p.MsgID}
	name, ok := c.subTopic(p.TopicIDType, p.TopicName, p.TopicID)
	if !ok {
		ack.ReturnCode = snc.RejectedInvalidTopic
		c.write(&ack)
		return c.reply()
	}
	filter := adapters.MountFilter(c.client.Mountpoint, name)
	qos := core.QoS(p.QoS)
	if !c.ctx.Authorize(&c.client, core.ActionSubscribe, filter, qos, false) {
		c.ev(c.log.Info()).Str("filter", filter).Msg("subscribe_denied")
		ack.ReturnCode = snc.RejectedNotSupported
		c.write(&ack)
		if c.ctx.DenyAction() == "disconnect" {
			c.write(&snc.Disconnect{})
			return c.shutdown(ErrNotAuthorized)
		}
		return c.reply()
	}
	var newID bool
	switch {
	case p.TopicIDType == snc.TopicPredefined:
		ack.TopicID = p.TopicID
	case p.TopicIDType == snc.TopicNormal && !strings.ContainsAny(name, "+#"):
		id, isNew, ok := c.reg.assign(name, c.cfg.MaxTopics)
		if !ok {
			ack.ReturnCode = snc.RejectedCongestion
			c.write(&ack)
			return c.reply()
		}
		ack.TopicID, newID = id, isNew
	}
	res, err := c.ctx.Subscribe(c.client.ClientID, c, filter, core.SubOptions{QoS: qos})
	switch {
	case err == nil:
		ack.QoS = byte(res.Granted)
		if newID {
			c.saveRegistry()
		}
		c.ev(c.log.Debug()).Str("filter", filter).Uint8("qos", uint8(res.Granted)).Uint16("topic_id", ack.TopicID).Msg("client_subscribed")
	case errors.Is(err, broker.ErrFilterInvalid):
		ack.ReturnCode = snc.RejectedInvalidTopic
	case errors.Is(err, broker.ErrTooManySubs):
		ack.ReturnCode = snc.RejectedCongestion
	default:
		c.ev(c.log.Info()).Err(err).Str("filter", filter).Msg("subscribe_failed")
		ack.ReturnCode = snc.RejectedNotSupported
	}
	if ack.ReturnCode != snc.Accepted {
		if newID {
			c.reg.remove(ack.TopicID)
		}
		ack.TopicID = 0
	}
	c.write(&ack)
	return c.deliver() // retained messages follow the SUBACK
}

// handleUnsubscribe answers UNSUBACK (§6.10), whether or not a subscription existed.
func (c *channel) handleUnsubscribe(p *snc.Unsubscribe) adapters.Replies {
	if name, ok := c.subTopic(p.TopicIDType, p.TopicName, p.TopicID); ok {
		if _, err := c.ctx.Unsubscribe(c.client.ClientID, c, c.mountTopic(name)); err != nil {
			c.ev(c.log.Info()).Err(err).Str("filter", name).Msg("unsubscribe_failed")
		}
	}
	c.write(&snc.Unsuback{MsgID: p.MsgID})
	return c.reply()
}

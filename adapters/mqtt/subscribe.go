package mqtt

import (
	"errors"

	"github.com/manifold-iot/manifold/adapters"
	mq "github.com/manifold-iot/manifold/codec/mqtt"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
)

// handleSubscribe subscribes to each filter and answers SUBACK with one code
// per filter, in order [MQTT-3.8.4-6]; retained messages follow the SUBACK.
func (c *channel) handleSubscribe(p *mq.Subscribe) adapters.Replies {
	ack := mq.Suback{PacketID: p.PacketID, ReasonCodes: make([]mq.ReasonCode, len(p.Subscriptions))}
	var subID uint32
	if len(p.Properties.SubscriptionIdentifiers) > 0 {
		subID = p.Properties.SubscriptionIdentifiers[0]
	}
	for i, s := range p.Subscriptions {
		ack.ReasonCodes[i] = c.subscribe(s, subID)
		if ack.ReasonCodes[i] == mq.NotAuthorized && c.ctx.DenyAction() == "disconnect" {
			c.write(&ack)
			return c.closeWith(mq.NotAuthorized, ErrNotAuthorized)
		}
	}
	c.write(&ack)
	return c.deliver() // retained messages for the new subscriptions
}

func (c *channel) subscribe(s mq.Subscription, subID uint32) mq.ReasonCode {
	qos := core.QoS(s.QoS)
	if !c.ctx.Authorize(&c.client, core.ActionSubscribe, s.Filter, qos, false) {
		c.ev(c.ctx.Logger().Info()).Str("filter", s.Filter).Msg("subscribe_denied")
		return mq.NotAuthorized // v3: the codec writes 0x80
	}
	res, err := c.ctx.Subscribe(c.client.ClientID, c, s.Filter, core.SubOptions{
		QoS:               qos,
		NoLocal:           s.NoLocal,
		RetainAsPublished: s.RetainAsPublished,
		RetainHandling:    s.RetainHandling,
		SubscriptionID:    subID,
	})
	switch {
	case err == nil:
		c.ev(c.ctx.Logger().Debug()).Str("filter", s.Filter).Uint8("qos", uint8(res.Granted)).Msg("client_subscribed")
		return mq.ReasonCode(res.Granted)
	case errors.Is(err, broker.ErrFilterInvalid):
		return mq.TopicFilterInvalid
	case errors.Is(err, broker.ErrWildcardUnsupported):
		return mq.WildcardSubscriptionsNotSupported
	case errors.Is(err, broker.ErrSharedUnsupported):
		return mq.SharedSubscriptionsNotSupported
	case errors.Is(err, broker.ErrTooManySubs):
		return mq.QuotaExceeded
	default:
		c.ev(c.ctx.Logger().Warn()).Err(err).Str("filter", s.Filter).Msg("subscribe_failed")
		return mq.UnspecifiedError
	}
}

// handleUnsubscribe answers UNSUBACK with one code per filter [MQTT-3.10.4-5].
func (c *channel) handleUnsubscribe(p *mq.Unsubscribe) adapters.Replies {
	ack := mq.Unsuback{PacketID: p.PacketID, ReasonCodes: make([]mq.ReasonCode, len(p.Filters))}
	for i, f := range p.Filters {
		existed, err := c.ctx.Unsubscribe(c.client.ClientID, c, f)
		switch {
		case err != nil:
			ack.ReasonCodes[i] = mq.UnspecifiedError
		case !existed:
			ack.ReasonCodes[i] = mq.NoSubscriptionExisted
		}
	}
	c.write(&ack)
	return c.reply()
}

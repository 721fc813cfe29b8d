package stomp

import (
	"errors"
	"hash/fnv"

	"github.com/go-stomp/stomp/v3/frame"

	"github.com/manifold-iot/manifold/adapters"
	sc "github.com/manifold-iot/manifold/codec/stomp"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/session"
)

// subNum derives the MQTT subscription identifier that tags a
// subscription's deliveries from its STOMP id. It is a hash, so that a
// client resuming a persistent session and subscribing again with the same
// id gets the same number and its unacknowledged messages find their way
// back; a collision with a live subscription takes the next free number.
func (c *channel) subNum(id string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	n := h.Sum32() & 0x0fffffff // MQTT 5 subscription identifiers are below 2^28
	for n == 0 || c.byNum[n] != nil {
		n = (n + 1) & 0x0fffffff
	}
	return n
}

// handleSubscribe subscribes to destination, an MQTT filter under the
// mountpoint (STOMP 1.2 SUBSCRIBE). A repeated id or destination is an
// error: one connection has one subscription per filter, as in MQTT.
func (c *channel) handleSubscribe(f *frame.Frame) adapters.Replies {
	dest, ok := f.Header.Contains(frame.Destination)
	if !ok || dest == "" {
		return c.fail("invalid SUBSCRIBE", "SUBSCRIBE needs a destination header", f)
	}
	id, ok := f.Header.Contains(frame.Id)
	if !ok {
		if c.version > sc.V10 {
			return c.fail("invalid SUBSCRIBE", "SUBSCRIBE needs an id header", f)
		}
		id = dest // STOMP 1.0: id is optional
	}
	mode := f.Header.Get(frame.Ack)
	switch mode {
	case "":
		mode = ackAuto
	case ackAuto, ackClient, ackClientIndividual:
	default:
		return c.fail("invalid SUBSCRIBE", "ack must be auto, client or client-individual, got "+mode, f)
	}
	if c.subs[id] != nil {
		return c.fail("duplicate subscription id", "subscription id "+id+" is already in use", f)
	}
	filter := adapters.MountFilter(c.client.Mountpoint, dest)
	if c.byFilter[filter] != nil {
		return c.fail("duplicate subscription", "already subscribed to "+dest+" (id "+c.byFilter[filter].id+")", f)
	}
	// Client ack modes are QoS 1 deliveries: held in the session's inflight
	// window until ACKed, and resent to a persistent session.
	qos := core.QoS0
	if mode != ackAuto {
		qos = core.QoS1
	}
	if !c.ctx.Authorize(&c.client, core.ActionSubscribe, filter, qos, false) {
		c.ev(c.log.Info()).Str("filter", filter).Msg("subscribe_denied")
		return c.fail("not authorized", "subscribing to "+dest+" is not allowed", f)
	}
	s := &sub{id: id, dest: dest, filter: filter, ack: mode, num: c.subNum(id)}
	if _, err := c.ctx.Subscribe(c.client.ClientID, c, filter, core.SubOptions{QoS: qos, SubscriptionID: s.num}); err != nil {
		why := err.Error()
		switch {
		case errors.Is(err, broker.ErrFilterInvalid):
			why = dest + " is not a valid MQTT topic filter"
		case errors.Is(err, broker.ErrTooManySubs):
			why = "too many subscriptions"
		}
		return c.fail("subscribe failed", why, f)
	}
	if c.subs == nil {
		c.subs, c.byNum, c.byFilter = map[string]*sub{}, map[uint32]*sub{}, map[string]*sub{}
	}
	c.subs[id], c.byNum[s.num], c.byFilter[filter] = s, s, s
	c.ev(c.log.Debug()).Str("filter", filter).Str("ack", mode).Msg("client_subscribed")
	c.receipt(f)
	c.resendOrphans()
	return c.deliver() // retained messages
}

// resendOrphans sends the resumed deliveries whose subscription is back.
func (c *channel) resendOrphans() {
	if len(c.orphans) == 0 {
		return
	}
	kept := c.orphans[:0]
	for _, d := range c.orphans {
		if !c.anyLive(d.SubIDs) {
			kept = append(kept, d)
			continue
		}
		c.writeDelivery(&d)
	}
	for i := len(kept); i < len(c.orphans); i++ {
		c.orphans[i] = session.Delivery{}
	}
	c.orphans = kept
}

func (c *channel) anyLive(ids []uint32) bool {
	for _, n := range ids {
		if c.byNum[n] != nil {
			return true
		}
	}
	return false
}

// handleUnsubscribe ends a subscription (STOMP 1.2 UNSUBSCRIBE); its
// unacknowledged messages are dropped.
func (c *channel) handleUnsubscribe(f *frame.Frame) adapters.Replies {
	id, ok := f.Header.Contains(frame.Id)
	if !ok && c.version == sc.V10 {
		id, ok = f.Header.Contains(frame.Destination) // STOMP 1.0 may name the destination
	}
	if !ok {
		return c.fail("invalid UNSUBSCRIBE", "UNSUBSCRIBE needs an id header", f)
	}
	s := c.subs[id]
	if s == nil {
		return c.fail("unknown subscription", "no subscription with id "+id, f)
	}
	if _, err := c.ctx.Unsubscribe(c.client.ClientID, c, s.filter); err != nil {
		c.ev(c.log.Warn()).Err(err).Str("filter", s.filter).Msg("unsubscribe_failed")
	}
	for _, pid := range s.pending {
		if u, ok := c.unacked[pid]; ok && u.sub == s {
			delete(c.unacked, pid)
			c.sess.Ack(pid)
		}
	}
	delete(c.subs, id)
	delete(c.byNum, s.num)
	delete(c.byFilter, s.filter)
	c.receipt(f)
	return c.deliver()
}

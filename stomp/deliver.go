package stomp

import (
	"time"

	"github.com/go-stomp/stomp/v3/frame"

	"github.com/manifold-iot/manifold/adapters"
	sc "github.com/manifold-iot/manifold/codec/stomp"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/session"
)

// reservedMessage are the MESSAGE headers the gateway sets; a custom
// header (an MQTT 5 user property) with one of these names is not copied.
var reservedMessage = map[string]bool{
	frame.Destination: true, frame.MessageId: true, frame.Subscription: true, frame.Ack: true,
	frame.ContentLength: true, frame.ContentType: true, headerRetain: true,
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
	var more bool
	c.dbuf, more = c.sess.Take(c.dbuf[:0], time.Now(), c.cfg.DeliverBatch)
	for i := range c.dbuf {
		c.writeDelivery(&c.dbuf[i])
		c.dbuf[i] = session.Delivery{}
	}
	r := c.reply()
	r.More = more
	return r
}

// writeDelivery writes one MESSAGE frame per subscription the delivery
// came through (STOMP 1.2 MESSAGE). A QoS 1 delivery to a subscription in
// a client ack mode waits for its ACK; otherwise it is settled at once.
func (c *channel) writeDelivery(d *session.Delivery) {
	m := d.Msg
	if m == nil {
		return
	}
	var waits *sub
	wrote := false
	dest := adapters.Unmount(c.client.Mountpoint, m.Topic)
	switch {
	case !c.validText(m.Payload):
		c.ev(c.log.Info()).Str("topic", m.Topic).Msg("delivery_dropped_binary")
	case !sc.CanWrite(frame.MESSAGE, frame.Destination, dest, c.version):
		c.ev(c.log.Info()).Str("topic", m.Topic).Msg("delivery_dropped_unwritable_topic")
	default:
		for i, n := range d.SubIDs {
			s := c.byNum[n]
			if s == nil || dup(d.SubIDs[:i], n) {
				continue
			}
			f := frame.New(frame.MESSAGE, frame.Destination, dest, frame.Subscription, s.id)
			if d.QoS > core.QoS0 && s.ack != ackAuto {
				id := ackID(m.ID, d.PacketID)
				f.Header.Add(frame.MessageId, id)
				if c.version >= sc.V12 {
					f.Header.Add(frame.Ack, id)
				}
				waits = s
			} else {
				id := itoa(m.ID)
				f.Header.Add(frame.MessageId, id)
				if s.ack != ackAuto && c.version >= sc.V12 {
					// STOMP 1.2 MESSAGE: client modes always carry ack. A
					// QoS 0 message has nothing to settle; its ACK is ignored.
					f.Header.Add(frame.Ack, id)
				}
			}
			if m.ContentType != "" && sc.CanWrite(frame.MESSAGE, frame.ContentType, m.ContentType, c.version) {
				f.Header.Add(frame.ContentType, m.ContentType)
			}
			if d.Retain {
				f.Header.Add(headerRetain, "true")
			}
			for _, u := range m.UserProperties {
				if !reservedMessage[u.Key] && sc.CanWrite(frame.MESSAGE, u.Key, u.Value, c.version) {
					f.Header.Add(u.Key, u.Value)
				}
			}
			f.Body = m.Payload
			wrote = c.write(f) || wrote
		}
	}
	if d.QoS == core.QoS0 {
		return
	}
	if waits != nil && wrote {
		if c.unacked == nil {
			c.unacked = map[uint16]unacked{}
		}
		c.unacked[d.PacketID] = unacked{p: d.Pending, sub: waits}
		waits.pending = append(waits.pending, d.PacketID)
		return
	}
	c.sess.Ack(d.PacketID) // nothing waits for an ACK: settled now
}

func dup(ids []uint32, n uint32) bool {
	for _, x := range ids {
		if x == n {
			return true
		}
	}
	return false
}

package stomp

import (
	"errors"
	"time"

	"github.com/go-stomp/stomp/v3/frame"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
)

// Headers of SEND beyond STOMP's own.
const (
	headerQoS    = "qos"    // the MQTT QoS to publish at: 0 (default), 1 or 2
	headerRetain = "retain" // "true" publishes a retained message
)

// reservedSend are the SEND headers that are not carried to subscribers as
// custom headers (MQTT 5 user properties).
var reservedSend = map[string]bool{
	frame.Destination: true, frame.ContentLength: true, frame.ContentType: true, frame.Receipt: true,
	frame.Transaction: true, headerQoS: true, headerRetain: true,
}

// handleSend publishes a SEND to its destination under the mountpoint
// (STOMP 1.2 SEND).
func (c *channel) handleSend(f *frame.Frame) adapters.Replies {
	pressured, r, ok := c.send(f)
	if !ok {
		return r
	}
	c.receiptAfter(f, pressured)
	return c.reply()
}

// send publishes a SEND. It reports false, with the replies to return, when
// the frame is refused: the ERROR frame is written and the connection closes.
// What the receipt must wait for comes back as pressured: subscribers'
// sessions that took the message past max_mqueue_len (push-back) and the
// store's ticket when a persistent subscriber's copy is not yet durable.
func (c *channel) send(f *frame.Frame) ([]core.Backlog, adapters.Replies, bool) {
	m, why := c.messageFrom(f)
	if m == nil {
		return nil, c.fail("invalid SEND", why, f), false
	}
	if !c.ctx.Authorize(&c.client, core.ActionPublish, m.Topic, m.QoS, m.Retain) {
		c.ev(c.log.Info()).Str("topic", m.Topic).Msg("publish_denied")
		return nil, c.fail("not authorized", "publishing to "+f.Header.Get(frame.Destination)+" is not allowed", f), false
	}
	res, err := c.ctx.Publish(m)
	if err != nil {
		if errors.Is(err, broker.ErrTopicInvalid) {
			return nil, c.fail("invalid destination", err.Error(), f), false
		}
		c.ev(c.log.Warn()).Err(err).Str("topic", m.Topic).Msg("publish_failed")
		return nil, c.fail("publish failed", err.Error(), f), false
	}
	return res.Pressured, adapters.Replies{}, true
}

// messageFrom builds the core message of a SEND, or says what is wrong.
func (c *channel) messageFrom(f *frame.Frame) (*core.Message, string) {
	dest, ok := f.Header.Contains(frame.Destination)
	if !ok || dest == "" {
		return nil, "SEND needs a destination header"
	}
	qos, ok := parseQoS(f.Header.Get(headerQoS))
	if !ok {
		return nil, "qos must be 0, 1 or 2"
	}
	if !c.validText(f.Body) {
		return nil, "this transport (SockJS) carries text only: the body is not UTF-8"
	}
	m := &core.Message{
		Topic:       adapters.Mount(c.client.Mountpoint, dest),
		Payload:     f.Body, // the codec copied it out of the read buffer
		QoS:         qos,
		Retain:      f.Header.Get(headerRetain) == "true",
		From:        c.client.ClientID,
		Timestamp:   time.Now(),
		ContentType: f.Header.Get(frame.ContentType),
	}
	for i := 0; i < f.Header.Len(); i++ {
		k, v := f.Header.GetAt(i)
		if !reservedSend[k] {
			m.UserProperties = append(m.UserProperties, core.UserProperty{Key: k, Value: v})
		}
	}
	return m, ""
}

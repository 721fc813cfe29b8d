package stomp

import (
	"time"

	"github.com/go-stomp/stomp/v3/frame"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/session"
)

// heldReceipt is a RECEIPT not yet sent: the SEND it answers went to a
// subscriber whose queue is past max_mqueue_len.
type heldReceipt struct {
	id      string
	waitFor []core.Backlog // pressured subscribers, and store tickets not yet durable
	since   time.Time
}

// drained is posted when a pressured subscriber's queue has drained
// (session.Waker).
type drained struct{}

// Wake implements session.Waker (any goroutine).
func (c *channel) Wake() { c.handle.Post(drained{}) }

// receiptAfter answers a SEND's (or COMMIT's) receipt now, or holds it while
// a subscriber that took the message is pressured, so that a client that
// waits for its receipts is pushed back, as an MQTT publisher waits for its
// PUBACK (ARCHITECTURE: push-back), and while a persistent subscriber's copy
// is not yet durable (the store's ticket). Receipts go out in order: while
// one is held, later ones wait behind it. The wait for subscribers is
// bounded by ReceiptHold; the wait for the store is not.
func (c *channel) receiptAfter(f *frame.Frame, pressured []core.Backlog) {
	r, ok := f.Header.Contains(frame.Receipt)
	if !ok {
		return
	}
	if len(pressured) == 0 && len(c.held) == 0 {
		c.write(frame.New(frame.RECEIPT, frame.ReceiptId, sanitize(r)))
		return
	}
	if len(c.held) >= c.cfg.MaxTransactionFrames {
		// A client that does not wait for its receipts: no more holding.
		c.releaseHeld(time.Time{})
		c.write(frame.New(frame.RECEIPT, frame.ReceiptId, sanitize(r)))
		return
	}
	c.held = append(c.held, heldReceipt{id: sanitize(r), waitFor: pressured, since: time.Now()})
	for _, s := range pressured {
		s.WhenDrained(c)
	}
	if len(c.held) == 1 {
		c.timers = append(c.timers, adapters.Timer{ID: timerReceiptHold, After: c.cfg.ReceiptHold})
	}
}

// releaseHeld sends the held receipts whose subscribers have drained, or
// that have waited ReceiptHold, in order; a zero now releases them all.
func (c *channel) releaseHeld(now time.Time) {
	for len(c.held) > 0 {
		h := &c.held[0]
		if !now.IsZero() {
			waiting := false
			timedOut := now.Sub(h.since) >= c.cfg.ReceiptHold
			for _, s := range h.waitFor {
				// A subscriber's push-back ends after ReceiptHold; a store
				// ticket never does: the receipt promises durability.
				if _, isSession := s.(*session.Session); isSession && timedOut {
					continue
				}
				if s.Pressured() {
					s.WhenDrained(c)
					waiting = true
				}
			}
			if waiting {
				break
			}
		}
		c.write(frame.New(frame.RECEIPT, frame.ReceiptId, h.id))
		c.held[0] = heldReceipt{}
		c.held = c.held[1:]
	}
	if len(c.held) == 0 {
		c.held = nil
		return
	}
	c.timers = append(c.timers, adapters.Timer{ID: timerReceiptHold, After: max(c.held[0].since.Add(c.cfg.ReceiptHold).Sub(now), time.Millisecond)})
}

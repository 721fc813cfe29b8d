package stomp

import (
	"time"

	"github.com/go-stomp/stomp/v3/frame"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/core"
)

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
// one is held, later ones wait behind it (adapters.HeldAcks). The wait for
// subscribers is bounded by ReceiptHold; the wait for the store is not.
func (c *channel) receiptAfter(f *frame.Frame, pressured []core.Backlog) {
	r, ok := f.Header.Contains(frame.Receipt)
	if !ok {
		return
	}
	if len(pressured) == 0 && c.held.Len() == 0 {
		c.write(frame.New(frame.RECEIPT, frame.ReceiptId, sanitize(r)))
		return
	}
	if c.held.Len() >= c.cfg.MaxTransactionFrames {
		// A client that does not wait for its receipts: no more holding.
		c.releaseHeld(time.Time{})
		c.write(frame.New(frame.RECEIPT, frame.ReceiptId, sanitize(r)))
		return
	}
	if c.held.Hold(sanitize(r), pressured, time.Now(), c) {
		c.timers = append(c.timers, adapters.Timer{ID: timerReceiptHold, After: c.cfg.ReceiptHold})
	}
}

// releaseHeld sends the held receipts whose subscribers have drained, or
// that have waited ReceiptHold, in order; a zero now releases them all.
func (c *channel) releaseHeld(now time.Time) {
	next := c.held.Release(now, c.cfg.ReceiptHold, c, func(id string) {
		c.write(frame.New(frame.RECEIPT, frame.ReceiptId, id))
	})
	if next > 0 {
		c.timers = append(c.timers, adapters.Timer{ID: timerReceiptHold, After: next})
	}
}

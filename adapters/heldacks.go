package adapters

import (
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/session"
)

// HeldAcks holds a channel's acknowledgements of published messages (an MQTT
// PUBACK or PUBREC, an MQTT-SN PUBACK or PUBREC, a STOMP RECEIPT) back, in
// the order the messages arrived, while what the publish returned as
// pressured (broker.PublishResult.Pressured) is still pressured:
//
//   - a subscriber's queue past its bound: push-back, the publisher's window
//     then stops it (ARCHITECTURE: push-back). This wait is bounded by the
//     channel's hold time; the message is then dropped for that subscriber
//     alone.
//   - a store ticket not yet durable: the acknowledgement promises that a
//     persistent subscriber's copy survives a crash, so this wait has no
//     bound.
//
// Acknowledgements go out in order: while one is held, later ones wait
// behind it [MQTT-4.6.0-2] [MQTT-4.6.0-3]. The zero HeldAcks holds nothing
// and allocates nothing until something is held. It is not safe for
// concurrent use: a channel calls it on its own goroutine.
type HeldAcks[T any] struct {
	acks []heldAck[T]
}

type heldAck[T any] struct {
	ack     T
	waitFor []core.Backlog
	since   time.Time
}

// Len is how many acknowledgements are held.
func (h *HeldAcks[T]) Len() int { return len(h.acks) }

// Hold appends ack, waiting for waitFor (empty when it only waits behind
// acknowledgements held before it), and asks each to wake w once drained
// (w then posts itself an event that calls Release). It reports whether ack
// is now the only one held: the caller then sets its hold timer.
func (h *HeldAcks[T]) Hold(ack T, waitFor []core.Backlog, now time.Time, w core.Waker) bool {
	h.acks = append(h.acks, heldAck[T]{ack: ack, waitFor: waitFor, since: now})
	for _, b := range waitFor {
		b.WhenDrained(w)
	}
	return len(h.acks) == 1
}

// Release calls send for each held acknowledgement, in order, whose waits
// are over, stopping at the first that still waits (and asking what it
// waits for to wake w). A subscriber's push-back is over once drained or
// after maxHold; a store ticket only once durable. A zero now releases
// every one (the connection is ending). Release returns how long until the
// first one still held reaches maxHold (at least a millisecond: the caller
// sets its hold timer to it), or 0 when none is held.
func (h *HeldAcks[T]) Release(now time.Time, maxHold time.Duration, w core.Waker, send func(T)) time.Duration {
	for len(h.acks) > 0 {
		a := &h.acks[0]
		if !now.IsZero() && a.waiting(now.Sub(a.since) >= maxHold, w) {
			break
		}
		send(a.ack)
		h.acks[0] = heldAck[T]{}
		h.acks = h.acks[1:]
	}
	if len(h.acks) == 0 {
		h.acks = nil // give the memory back: an idle connection holds nothing
		return 0
	}
	return max(h.acks[0].since.Add(maxHold).Sub(now), time.Millisecond)
}

// waiting reports whether a still waits; timedOut ends its waits for
// subscribers.
func (a *heldAck[T]) waiting(timedOut bool, w core.Waker) bool {
	waiting := false
	for _, b := range a.waitFor {
		if _, subscriber := b.(*session.Session); subscriber && timedOut {
			continue
		}
		if b.Pressured() {
			b.WhenDrained(w)
			waiting = true
		}
	}
	return waiting
}

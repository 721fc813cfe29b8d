package session

import "github.com/manifold-iot/manifold/core"

// Pending is one message waiting in a session's queue: a reference to the
// shared immutable message plus what is particular to this session.
type Pending struct {
	Msg    *core.Message
	QoS    core.QoS // the delivery QoS: the smaller of the publish and subscription QoS
	Retain bool     // the retain flag to send (retain-as-published, or a retained message sent on subscribe)
	SubIDs []uint32 // MQTT 5 subscription identifiers of the matching subscriptions
	Shared string   // the shared-subscription group it came through ("" if none), for redispatch

	// Seq numbers the message in a persistent session's stored queue; 0 when
	// it is not stored (a session without a store, or a QoS 0 message kept
	// in memory only).
	Seq uint64
	// SharedBody marks a message stored once for several persistent
	// sessions (see store.Entry.SharedBody); the broker sets it.
	SharedBody bool
}

// queue is a FIFO ring of pending messages that grows by doubling up to its
// bound and gives its memory back when it empties, so that an idle session
// costs nothing here.
type queue struct {
	buf        []Pending
	head, size int
}

func (q *queue) len() int { return q.size }

func (q *queue) push(p Pending) {
	if q.size == len(q.buf) {
		n := 2 * len(q.buf)
		if n == 0 {
			n = 4
		}
		buf := make([]Pending, n)
		for i := 0; i < q.size; i++ {
			buf[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = buf, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = p
	q.size++
}

func (q *queue) peek() *Pending { return &q.buf[q.head] }

func (q *queue) pop() Pending {
	p := q.buf[q.head]
	q.buf[q.head] = Pending{} // drop the reference for the GC
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	if q.size == 0 {
		q.head = 0
		if len(q.buf) > 64 {
			q.buf = nil // a burst is over: give back its memory
		}
	}
	return p
}

// dropOldestQoS0 removes the oldest QoS 0 message, keeping the order of the
// rest; it reports false when the queue holds none. O(n), but it runs only
// when the queue is full.
func (q *queue) dropOldestQoS0() (Pending, bool) {
	for i := 0; i < q.size; i++ {
		if q.buf[(q.head+i)%len(q.buf)].QoS != core.QoS0 {
			continue
		}
		dropped := q.buf[(q.head+i)%len(q.buf)]
		for j := i; j > 0; j-- { // shift the older ones up by one
			q.buf[(q.head+j)%len(q.buf)] = q.buf[(q.head+j-1)%len(q.buf)]
		}
		q.pop()
		return dropped, true
	}
	return Pending{}, false
}

// each calls fn for every pending message in order.
func (q *queue) each(fn func(*Pending)) {
	for i := 0; i < q.size; i++ {
		fn(&q.buf[(q.head+i)%len(q.buf)])
	}
}

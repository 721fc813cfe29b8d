package session

import "github.com/manifold-iot/manifold/core"

// Pending is one message waiting in a session's queue: a reference to the
// shared immutable message plus what is particular to this session.
//
// A fan-out queues one Pending per subscriber, so its size matters: the small
// fields come last, together (64 bytes).
type Pending struct {
	Msg    *core.Message
	SubIDs []uint32 // MQTT 5 subscription identifiers of the matching subscriptions
	Shared string   // the shared-subscription group it came through ("" if none), for redispatch

	// Seq numbers the message in a persistent session's stored queue; 0 when
	// it is not stored (a session without a store, or a QoS 0 message kept
	// in memory only).
	Seq uint64

	QoS    core.QoS // the delivery QoS: the smaller of the publish and subscription QoS
	Retain bool     // the retain flag to send (retain-as-published, or a retained message sent on subscribe)
	// SharedBody marks a message stored once for several persistent
	// sessions (see store.Entry.SharedBody); the broker sets it.
	SharedBody bool
}

// queue is a FIFO of pending messages kept in a chain of blocks: the first
// holds 4 messages, each next one twice as many, up to maxBlock. A growing
// queue only ever allocates its next block; it never copies what it holds.
// (A ring that doubled would, under a fan-out, reallocate and copy every
// subscriber's queue at the same moment: a hundred subscribers 500,000
// messages behind made the publishing loop stop for seconds.) Emptied
// blocks are released as the queue drains; an empty queue keeps one small
// block for the next message, and an idle session that never queued costs
// nothing here.
type queue struct {
	head, tail *qblock // pop from head at hi, push to tail at ti
	hi, ti     int
	size       int
}

// qblock is one block of a queue.
type qblock struct {
	items []Pending
	next  *qblock
}

const (
	minBlock = 4
	maxBlock = 256 // 16 KiB of Pending
	// keepBlock is the largest block an emptied queue keeps.
	keepBlock = 64
)

func (q *queue) len() int { return q.size }

func (q *queue) push(p Pending) {
	if q.tail == nil {
		q.head = &qblock{items: make([]Pending, minBlock)}
		q.tail, q.hi, q.ti = q.head, 0, 0
	} else if q.ti == len(q.tail.items) {
		b := &qblock{items: make([]Pending, min(2*len(q.tail.items), maxBlock))}
		q.tail.next, q.tail, q.ti = b, b, 0
	}
	q.tail.items[q.ti] = p
	q.ti++
	q.size++
}

func (q *queue) peek() *Pending { return &q.head.items[q.hi] }

func (q *queue) pop() Pending {
	b := q.head
	p := b.items[q.hi]
	b.items[q.hi] = Pending{} // drop the reference for the GC
	q.hi++
	q.size--
	switch {
	case q.size == 0:
		// Empty, so b is also the tail: it is reused from its start,
		// unless a burst grew it.
		if len(b.items) > keepBlock {
			q.head, q.tail = nil, nil
		}
		q.hi, q.ti = 0, 0
	case q.hi == len(b.items):
		q.head, q.hi = b.next, 0
		b.next = nil
	}
	return p
}

// qpos is a position in a queue, for walking it.
type qpos struct {
	b *qblock
	i int
}

func (q *queue) first() qpos { return qpos{q.head, q.hi} }

func (p *qpos) at() *Pending { return &p.b.items[p.i] }

// next moves to the following position; valid while within the queue.
func (p *qpos) next() {
	if p.i++; p.i == len(p.b.items) {
		p.b, p.i = p.b.next, 0
	}
}

// dropOldestQoS0 removes the oldest QoS 0 message, keeping the order of the
// rest; it reports false when the queue holds none. O(n), but it runs only
// when the queue is full.
func (q *queue) dropOldestQoS0() (Pending, bool) {
	pos := q.first()
	for i := 0; i < q.size; i++ {
		if pos.at().QoS == core.QoS0 {
			dropped := *pos.at()
			// Shift the older ones up by one (the first stays, doubled),
			// then pop the first.
			carry := q.first()
			prev := *carry.at()
			for j := 1; j <= i; j++ {
				carry.next()
				prev, *carry.at() = *carry.at(), prev
			}
			q.pop()
			return dropped, true
		}
		pos.next()
	}
	return Pending{}, false
}

// each calls fn for every pending message in order.
func (q *queue) each(fn func(*Pending)) {
	pos := q.first()
	for i := 0; i < q.size; i++ {
		fn(pos.at())
		pos.next()
	}
}

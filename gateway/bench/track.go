package bench

import "math/bits"

// Tracker counts, for one subscriber, the unique, duplicated and out-of-order
// messages per publisher from their sequence numbers. It is not safe for
// concurrent use; the subscriber's goroutine owns it and publishes its counts
// through atomics.
type Tracker struct {
	pubs map[uint32]*pubTrack
	// Unique, Dup and OutOfOrder are the counts so far.
	Unique, Dup, OutOfOrder uint64
}

type pubTrack struct {
	seen []uint64 // bitset of sequence numbers; grows with the highest one (1 bit per message)
	last uint64
	low  uint64 // lowest sequence number seen
	any  bool
}

// maxTrackedSeq bounds the bitset: a sequence number above it (a corrupt or
// foreign payload) is counted as out of order and not tracked (128 MiB/8).
const maxTrackedSeq = 1 << 30

// Observe records one message from publisher pub with sequence seq and
// reports whether it was new.
func (t *Tracker) Observe(pub uint32, seq uint64) bool {
	if t.pubs == nil {
		t.pubs = make(map[uint32]*pubTrack)
	}
	p := t.pubs[pub]
	if p == nil {
		p = &pubTrack{}
		t.pubs[pub] = p
	}
	if p.any && seq < p.last {
		t.OutOfOrder++
	}
	if !p.any || seq < p.low {
		p.low = seq
	}
	p.last, p.any = seq, true
	if seq > maxTrackedSeq {
		return false
	}
	w := int(seq >> 6)
	if w >= len(p.seen) {
		n := max(w+1, 2*len(p.seen))
		grown := make([]uint64, n)
		copy(grown, p.seen)
		p.seen = grown
	}
	bit := uint64(1) << (seq & 63)
	if p.seen[w]&bit != 0 {
		t.Dup++
		return false
	}
	p.seen[w] |= bit
	t.Unique++
	return true
}

// Gaps counts, over every publisher seen, the sequence numbers between the
// lowest and the highest one seen that never arrived: the loss a lone
// subscriber can see (not messages lost before the first or after the last
// one it received, and a subscriber that joins late misses nothing).
func (t *Tracker) Gaps() uint64 {
	var gaps uint64
	for _, p := range t.pubs {
		var hi uint64
		var n uint64
		for w, word := range p.seen {
			if word != 0 {
				hi = uint64(w)*64 + 63 - uint64(bits.LeadingZeros64(word))
			}
			n += uint64(bits.OnesCount64(word))
		}
		if n > 0 {
			gaps += hi - p.low + 1 - n
		}
	}
	return gaps
}

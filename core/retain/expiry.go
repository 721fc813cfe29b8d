package retain

import "time"

// expiryHeap is a min-heap of the nodes whose message has an expiry
// interval, ordered by deadline, so Expire finds the expired ones without
// looking at the others. Each node records its position (node.hidx, one
// based), so a replaced or deleted message leaves the heap at once instead of
// lingering as a stale entry until its deadline (a topic replaced every
// second with a one-day expiry would otherwise leave 86,400 entries behind).
//
// Guarded by the owning Store's mu (write lock for every method).
type expiryHeap []heapItem

type heapItem struct {
	at time.Time // the message's deadline: Timestamp + ExpiryInterval
	n  *node
}

func (h expiryHeap) less(i, j int) bool { return h[i].at.Before(h[j].at) }

func (h expiryHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].n.hidx = i + 1
	h[j].n.hidx = j + 1
}

func (h expiryHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down sifts i down and reports whether it moved.
func (h expiryHeap) down(i int) bool {
	i0 := i
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		c := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			c = r
		}
		if !h.less(c, i) {
			break
		}
		h.swap(i, c)
		i = c
	}
	return i > i0
}

// push adds n with deadline at; n must not be in the heap.
func (h *expiryHeap) push(n *node, at time.Time) {
	*h = append(*h, heapItem{at: at, n: n})
	n.hidx = len(*h)
	h.up(len(*h) - 1)
}

// fix moves n, which is in the heap, to its place for a new deadline.
func (h expiryHeap) fix(n *node, at time.Time) {
	i := n.hidx - 1
	h[i].at = at
	if !h.down(i) {
		h.up(i)
	}
}

// remove takes n, which is in the heap, out of it.
func (h *expiryHeap) remove(n *node) {
	old := *h
	i, last := n.hidx-1, len(old)-1
	if i != last {
		old.swap(i, last)
	}
	old[last] = heapItem{} // do not pin the node
	*h = old[:last]
	n.hidx = 0
	if i != last {
		if !h.down(i) {
			h.up(i)
		}
	}
	// Give memory back after a mass expiry.
	if c := cap(*h); c > 1024 && len(*h) < c/4 {
		*h = append(expiryHeap(nil), *h...)
	}
}

// min returns the node with the earliest deadline, or nil.
func (h expiryHeap) min() *node {
	if len(h) == 0 {
		return nil
	}
	return h[0].n
}

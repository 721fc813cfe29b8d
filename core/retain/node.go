package retain

import (
	"strings"

	"github.com/manifold-iot/manifold/core"
)

// Node layout. A store of 1M retained messages has a few million nodes, so a
// node is kept to 64 bytes (one size class):
//
//	level  16  the level's text, cloned once so it never pins a caller's buffer
//	kids   24  children while there are few (a scan beats hashing for ≤ 16)
//	lits    8  all children of a wide node (kids is then nil)
//	msg     8  the retained message whose topic ends here, or nil
//	hidx    8  1 + the node's position in the expiry heap; 0 when not in it
//
// All fields of every node are guarded by the owning Store's mu: written only
// under the write lock, read under either lock.
type node struct {
	level string
	kids  []kid
	lits  map[string]*node
	msg   *core.Message
	hidx  int
}

// kid is one child in a narrow node's slice. The level's key sits beside the
// pointer so that finding a child reads one contiguous array and then only
// the child found: a memory read saved on every child looked at. In a 1M
// store, "sensors/+/temp" looks up "temp" among each device's children, and
// with a map per device that lookup cost five cache misses (map header,
// table, control word, key bytes, value), which dominated the walk.
type kid struct {
	key uint64 // levelKey(n.level)
	n   *node
}

// levelKey packs a level's first 7 bytes and its length (capped at 255) into
// a word: equal keys mean equal levels when the level is at most 7 bytes
// long, and otherwise only the few with an equal key are compared in full.
func levelKey(level string) uint64 {
	k := uint64(min(len(level), 255)) << 56
	for i := 0; i < len(level) && i < 7; i++ {
		k |= uint64(level[i]) << (8 * i)
	}
	return k
}

// smallKids is the number of children a node keeps in its kids slice; one
// more moves them to a map. mapShrink is the number a wide node must fall to
// before it returns to the slice (the gap stops flapping, and the rebuild
// releases the map's memory, which Go maps never give back).
const (
	smallKids = 16
	mapShrink = 8
)

// child returns the child whose level is exactly level, or nil.
func (n *node) child(level string) *node {
	if n.lits != nil {
		return n.lits[level]
	}
	key := levelKey(level)
	for _, k := range n.kids {
		if k.key == key && (len(level) <= 7 || k.n.level == level) {
			return k.n
		}
	}
	return nil
}

// addChild links a new child for level, which must not be present yet, and
// returns it. The level is cloned: topics may be slices of packet buffers.
func (n *node) addChild(level string) *node {
	c := &node{level: strings.Clone(level)}
	switch {
	case n.lits != nil:
		n.lits[c.level] = c
	case len(n.kids) < smallKids:
		n.kids = append(n.kids, kid{levelKey(c.level), c})
	default:
		n.lits = make(map[string]*node, 2*smallKids)
		for _, k := range n.kids {
			n.lits[k.n.level] = k.n
		}
		n.lits[c.level] = c
		n.kids = nil
	}
	return c
}

// removeChild unlinks c, which must be a child of n.
func (n *node) removeChild(c *node) {
	if n.lits != nil {
		delete(n.lits, c.level)
		if len(n.lits) <= mapShrink {
			kids := make([]kid, 0, len(n.lits))
			for _, k := range n.lits {
				kids = append(kids, kid{levelKey(k.level), k})
			}
			n.kids, n.lits = kids, nil
			if len(kids) == 0 {
				n.kids = nil
			}
		}
		return
	}
	for i, k := range n.kids {
		if k.n != c {
			continue
		}
		last := len(n.kids) - 1
		n.kids[i] = n.kids[last]
		n.kids[last] = kid{} // do not pin a pruned node
		n.kids = n.kids[:last]
		if last == 0 {
			n.kids = nil
		}
		return
	}
}

// empty reports whether n holds no message and no child, so it can go.
func (n *node) empty() bool {
	return n.msg == nil && len(n.kids) == 0 && len(n.lits) == 0
}

// cut splits off the first level of a topic or filter.
func cut(s string) (level, rest string, more bool) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

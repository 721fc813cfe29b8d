package topic

import (
	"slices"
	"strings"
)

// Node layout. A trie of 10M distinct filters has tens of millions of nodes,
// so a node is kept to 80 bytes (one size class) and everything most nodes do
// not need sits behind the more pointer:
//
//	level  16  the level's text, cloned once so it never pins a caller's buffer
//	kids   24  children while there are few (linear scan beats hashing for ≤ 8)
//	subs   32  ordinary subscriptions whose filter ends at this node
//	more    8  nil for almost every node: the literal-children map of a wide
//	           node and the shared-subscription groups
//
// All fields of every node are guarded by the owning Trie's mu: written only
// under the write lock, read under either lock.

// smallKids is the number of literal children a node keeps in its kids slice;
// one more moves them to a map. mapShrink is the number a map-mode node must
// fall to before it returns to the slice (the gap stops flapping, and the
// rebuild releases the map's memory, which Go maps never give back).
const (
	smallKids = 8
	mapShrink = 4
)

// Wildcard levels are stored as these constants, never cloned.
const (
	plusLevel = "+"
	hashLevel = "#"
)

type node[V comparable] struct {
	level string
	// kids holds every child while more == nil || more.lits == nil; once the
	// node is wide (more.lits != nil) it holds only the "+" and "#" children.
	kids []*node[V]
	subs valueSet[V]
	more *extra[V]
}

// extra holds what only a few nodes need.
type extra[V comparable] struct {
	lits   map[string]*node[V] // literal children of a wide node
	groups []*shareGroup[V]    // shared subscriptions whose filter ends here
}

// shareGroup is one shared subscription: a group name on one filter
// [MQTT-4.8.2-1]. name and filter are owned copies, reused in every Result.
type shareGroup[V comparable] struct {
	name, filter string
	members      valueSet[V]
}

func isWild(level string) bool { return level == plusLevel || level == hashLevel }

// ownLevel returns a copy of level that does not share memory with the
// caller's filter (which may be a slice of a reused packet buffer).
func ownLevel(level string) string {
	switch level {
	case plusLevel:
		return plusLevel
	case hashLevel:
		return hashLevel
	}
	return strings.Clone(level)
}

func (n *node[V]) wide() bool { return n.more != nil && n.more.lits != nil }

// child returns the child whose level is exactly level, or nil.
func (n *node[V]) child(level string) *node[V] {
	if n.wide() && !isWild(level) {
		return n.more.lits[level]
	}
	for _, k := range n.kids {
		if k.level == level {
			return k
		}
	}
	return nil
}

// hashChild returns the "#" child, or nil.
func (n *node[V]) hashChild() *node[V] {
	for _, k := range n.kids {
		if k.level == hashLevel {
			return k
		}
	}
	return nil
}

// next returns, for one level tok of a topic name, the child matching it
// literally and the "+" and "#" children. tok is never a wildcard (names have
// none), so one scan of a narrow node finds all three.
func (n *node[V]) next(tok string) (lit, plus, hash *node[V]) {
	if n.wide() {
		lit = n.more.lits[tok]
	}
	for _, k := range n.kids {
		switch k.level {
		case tok:
			lit = k
		case plusLevel:
			plus = k
		case hashLevel:
			hash = k
		}
	}
	return lit, plus, hash
}

// addChild links c, which must not be present yet.
func (n *node[V]) addChild(c *node[V]) {
	wild := isWild(c.level)
	if n.wide() && !wild {
		n.more.lits[c.level] = c
		return
	}
	if wild || n.literalKids() < smallKids {
		n.kids = append(n.kids, c)
		return
	}
	// Narrow → wide: literals to a map, wildcards stay in the slice.
	if n.more == nil {
		n.more = &extra[V]{}
	}
	n.more.lits = make(map[string]*node[V], 2*smallKids)
	var wilds []*node[V]
	for _, k := range n.kids {
		if isWild(k.level) {
			wilds = append(wilds, k)
		} else {
			n.more.lits[k.level] = k
		}
	}
	n.more.lits[c.level] = c
	n.kids = wilds
}

func (n *node[V]) literalKids() int {
	c := len(n.kids)
	for _, k := range n.kids {
		if isWild(k.level) {
			c--
		}
	}
	return c
}

// removeChild unlinks c, which must be a child of n.
func (n *node[V]) removeChild(c *node[V]) {
	if n.wide() && !isWild(c.level) {
		delete(n.more.lits, c.level)
		if len(n.more.lits) <= mapShrink {
			// Wide → narrow.
			kids := make([]*node[V], 0, len(n.kids)+len(n.more.lits))
			kids = append(kids, n.kids...)
			for _, k := range n.more.lits {
				kids = append(kids, k)
			}
			n.kids = kids
			n.more.lits = nil
			n.tidy()
		}
		return
	}
	i := slices.Index(n.kids, c)
	if i < 0 {
		return
	}
	last := len(n.kids) - 1
	n.kids[i] = n.kids[last]
	n.kids[last] = nil
	n.kids = n.kids[:last]
	if last == 0 {
		n.kids = nil
	}
}

// tidy drops more once it holds nothing.
func (n *node[V]) tidy() {
	if n.more != nil && n.more.lits == nil && len(n.more.groups) == 0 {
		n.more = nil
	}
}

// empty reports whether n holds no subscription and no child, so it can go.
func (n *node[V]) empty() bool {
	return n.subs.len() == 0 && len(n.kids) == 0 && n.more == nil
}

// group returns the shared group named name at this node, or nil.
func (n *node[V]) group(name string) *shareGroup[V] {
	if n.more == nil {
		return nil
	}
	for _, g := range n.more.groups {
		if g.name == name {
			return g
		}
	}
	return nil
}

func (n *node[V]) addGroup(g *shareGroup[V]) {
	if n.more == nil {
		n.more = &extra[V]{}
	}
	n.more.groups = append(n.more.groups, g)
}

func (n *node[V]) removeGroup(g *shareGroup[V]) {
	gs := n.more.groups
	if i := slices.Index(gs, g); i >= 0 {
		last := len(gs) - 1
		gs[i] = gs[last]
		gs[last] = nil
		n.more.groups = gs[:last]
		if last == 0 {
			n.more.groups = nil
		}
	}
	n.tidy()
}

// setIndexMin is the size past which a valueSet indexes its values in a map,
// so subscribing 100k clients to one filter stays O(1) per subscribe.
const setIndexMin = 16

// valueSet is a set of values kept as a slice (cheap to copy into results and
// to scan when small) plus, once large, a map from value to position.
type valueSet[V comparable] struct {
	list []V
	idx  map[V]int32
}

func (s *valueSet[V]) len() int { return len(s.list) }

// add inserts v and reports whether it was absent.
func (s *valueSet[V]) add(v V) bool {
	if s.idx != nil {
		if _, ok := s.idx[v]; ok {
			return false
		}
		s.idx[v] = int32(len(s.list))
		s.list = append(s.list, v)
		return true
	}
	if slices.Contains(s.list, v) {
		return false
	}
	s.list = append(s.list, v)
	if len(s.list) > setIndexMin {
		s.idx = make(map[V]int32, 2*len(s.list))
		for i, x := range s.list {
			s.idx[x] = int32(i)
		}
	}
	return true
}

// remove deletes v and reports whether it was present. Order is not kept.
func (s *valueSet[V]) remove(v V) bool {
	var i int
	if s.idx != nil {
		j, ok := s.idx[v]
		if !ok {
			return false
		}
		delete(s.idx, v)
		i = int(j)
	} else if i = slices.Index(s.list, v); i < 0 {
		return false
	}
	last := len(s.list) - 1
	if i != last {
		s.list[i] = s.list[last]
		if s.idx != nil {
			s.idx[s.list[i]] = int32(i)
		}
	}
	var zero V
	s.list[last] = zero // do not pin a removed subscription
	s.list = s.list[:last]
	switch {
	case last == 0:
		s.list = nil
	case cap(s.list) > 32 && last < cap(s.list)/4:
		s.list = slices.Clone(s.list)
	}
	if s.idx != nil && last <= setIndexMin/2 {
		s.idx = nil
	}
	return true
}

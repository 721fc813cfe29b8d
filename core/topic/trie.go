package topic

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultCacheSize is the number of topic names whose match results a Trie
// caches unless configured otherwise.
const DefaultCacheSize = 4096

// ErrBadConfig is wrapped by Config.Validate errors.
var ErrBadConfig = errors.New("topic: invalid config")

// Config configures a Trie.
type Config struct {
	// CacheSize bounds the match cache, in topic names; it is rounded up to a
	// power of two (at least 4). 0 means DefaultCacheSize, a negative value disables the
	// cache, and values over MaxCacheSize are clamped by NewTrie.
	CacheSize int `yaml:"cache_size"`
}

// DefaultConfig returns the configuration used when none is given.
func DefaultConfig() Config { return Config{CacheSize: DefaultCacheSize} }

// Validate reports a configuration error, naming the key.
func (c Config) Validate() error {
	if c.CacheSize > MaxCacheSize {
		return fmt.Errorf("cache_size: %d is more than %d: %w", c.CacheSize, MaxCacheSize, ErrBadConfig)
	}
	return nil
}

// Result is the set of subscriptions matching one topic name.
//
// A Result is shared: the same *Result is returned to every caller matching
// the same topic while it stays cached, from many goroutines at once. It and
// the slices it holds are read-only; a caller must not modify, append to or
// sort them (copy first). Their order is unspecified.
type Result[V comparable] struct {
	// Subs has one entry per matching ordinary subscription: a value
	// subscribed with two filters that both match appears twice (MQTT lets
	// the broker deliver once per subscription or merge per client; the
	// caller decides).
	Subs []V
	// Shared has one entry per matching shared subscription, that is per
	// (group name, filter) pair [MQTT-4.8.2-1]; the caller picks one member
	// of each to deliver to.
	Shared []Group[V]

	topic string // the cache key; set only on cached results
}

// Group is one matching shared subscription: its group name, its filter (the
// part after $share/<group>/), and the values subscribed to it.
type Group[V comparable] struct {
	Name    string
	Filter  string
	Members []V
}

// Stats describes the size of a Trie at one moment.
type Stats struct {
	Subscriptions int // ordinary subscriptions plus shared-group members
	Nodes         int // trie nodes, not counting the root
	CacheSize     int // cache slots (0: caching disabled)
	CacheEntries  int // occupied cache slots
}

// Trie indexes subscriptions by topic filter and matches topic names against
// them. V identifies a subscriber (typically a pointer to the broker's
// subscription record) and is compared with ==.
//
// A Trie is safe for concurrent use. Match on a cached topic takes no lock;
// a cache miss walks the trie under the read lock; Insert and Remove take the
// write lock and keep the cache coherent before releasing it (see cache.go).
// Lock order: mu, then a cache set's lock (taken by a miss to store its
// Result); nothing outside this package is called while mu is held except
// Walk's callback, which must not call the Trie. The zero value is an empty
// Trie without a cache; NewTrie makes one with.
type Trie[V comparable] struct {
	mu    sync.RWMutex
	root  node[V]      // guarded by mu
	nodes int          // guarded by mu; nodes below root
	subs  atomic.Int64 // written under mu (write-locked); read anywhere
	cache *cache[V]    // nil if disabled; the pointer is immutable, slots follow cache.go's rules
}

// NewTrie returns an empty Trie configured by cfg.
func NewTrie[V comparable](cfg Config) *Trie[V] {
	t := &Trie[V]{}
	size := cfg.CacheSize
	switch {
	case size == 0:
		size = DefaultCacheSize
	case size > MaxCacheSize:
		size = MaxCacheSize
	}
	if size > 0 {
		t.cache = newCache[V](size)
	}
	return t
}

// Insert adds the subscription of v to filter, in the shared-subscription
// group named group ("" for an ordinary subscription). filter must be a valid
// filter (ValidFilter), without any $share/ prefix (see ParseShared). It
// reports false, changing nothing, if that (filter, group, v) was present.
func (t *Trie[V]) Insert(filter, group string, v V) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := &t.root
	for rest, more := filter, true; more; {
		var level string
		level, rest, more = cut(rest)
		c := n.child(level)
		if c == nil {
			c = &node[V]{level: ownLevel(level)}
			n.addChild(c)
			t.nodes++
		}
		n = c
	}
	var g *shareGroup[V]
	if group == "" {
		if !n.subs.add(v) {
			return false
		}
	} else {
		if g = n.group(group); g == nil {
			g = &shareGroup[V]{name: strings.Clone(group), filter: strings.Clone(filter)}
			n.addGroup(g)
		}
		if !g.members.add(v) {
			return false
		}
	}
	t.subs.Add(1)
	if t.cache != nil {
		t.cache.update(filter, g, v, true)
	}
	return true
}

// Remove deletes the subscription of v to filter in group ("" for an
// ordinary subscription), pruning nodes left empty. It reports whether the
// subscription was present.
func (t *Trie[V]) Remove(filter, group string, v V) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	var stack [16]*node[V]
	path := append(stack[:0], &t.root)
	n := &t.root
	for rest, more := filter, true; more; {
		var level string
		level, rest, more = cut(rest)
		if n = n.child(level); n == nil {
			return false
		}
		path = append(path, n)
	}
	var g *shareGroup[V]
	if group == "" {
		if !n.subs.remove(v) {
			return false
		}
	} else {
		if g = n.group(group); g == nil || !g.members.remove(v) {
			return false
		}
		if g.members.len() == 0 {
			n.removeGroup(g)
		}
	}
	t.subs.Add(-1)
	for i := len(path) - 1; i > 0 && path[i].empty(); i-- {
		path[i-1].removeChild(path[i])
		t.nodes--
	}
	if t.cache != nil {
		t.cache.update(filter, g, v, false)
	}
	return true
}

// Match returns the subscriptions matching the topic name topic, which must
// be a valid name (ValidName). The Result is shared and read-only (see
// Result); it is never nil, and empty when nothing matches.
func (t *Trie[V]) Match(topic string) *Result[V] {
	c := t.cache
	if c == nil {
		t.mu.RLock()
		r := t.match(topic)
		t.mu.RUnlock()
		return r
	}
	h := c.hash(topic)
	if r := c.get(h, topic); r != nil {
		return r
	}
	t.mu.RLock()
	r := t.match(topic)
	r.topic = strings.Clone(topic) // the key must not alias a caller's buffer
	c.put(h, r)
	t.mu.RUnlock()
	return r
}

// Matches reports whether any subscription matches topic. It reads the match
// cache but does not fill it, so topics asked about once (a client's $SYS
// event topic) do not push hot topics out.
func (t *Trie[V]) Matches(topic string) bool {
	if c := t.cache; c != nil {
		if r := c.get(c.hash(topic), topic); r != nil {
			return len(r.Subs) > 0 || len(r.Shared) > 0
		}
	}
	t.mu.RLock()
	ok := t.root.reaches(topic, len(topic) > 0 && topic[0] == '$')
	t.mu.RUnlock()
	return ok
}

// reaches reports whether topic (one or more levels) matches a filter with
// subscribers below n: match's walk, stopping at the first hit and
// allocating nothing (the $SYS event path asks it for every connect).
func (n *node[V]) reaches(topic string, dollar bool) bool {
	tok, rest, more := cut(topic)
	lit, plus, hash := n.next(tok)
	if dollar {
		plus, hash = nil, nil // [MQTT-4.7.2-1]
	}
	return (hash != nil && hash.hasSubscribers()) ||
		(plus != nil && plus.reachedBy(rest, more)) ||
		(lit != nil && lit.reachedBy(rest, more))
}

// reachedBy is reach's test: n matched one level, more tells whether the
// topic has levels left (rest).
func (n *node[V]) reachedBy(rest string, more bool) bool {
	if more {
		return n.reaches(rest, false)
	}
	if n.hasSubscribers() {
		return true
	}
	h := n.hashChild()
	return h != nil && h.hasSubscribers() // [MQTT-4.7.1-2]
}

// hasSubscribers reports whether a filter ending at n has a subscription or
// a shared group with members.
func (n *node[V]) hasSubscribers() bool {
	if n.subs.len() > 0 {
		return true
	}
	if n.more != nil {
		for _, g := range n.more.groups {
			if g.members.len() > 0 {
				return true
			}
		}
	}
	return false
}

// resultBox is a Result with room for a few subscriptions in the same
// allocation: most topics match one to four.
type resultBox[V comparable] struct {
	r      Result[V]
	inline [4]V
}

// match walks the trie. Caller holds mu (either).
func (t *Trie[V]) match(topic string) *Result[V] {
	box := new(resultBox[V])
	m := matcher[V]{subs: box.inline[:0]}
	m.walk(&t.root, topic, len(topic) > 0 && topic[0] == '$')
	if len(m.subs) > 0 {
		box.r.Subs = m.subs
	}
	box.r.Shared = m.shared
	return &box.r
}

// matcher collects the subscriptions of the nodes a topic reaches.
type matcher[V comparable] struct {
	subs   []V
	shared []Group[V]
}

// walk matches topic (one or more levels) against the children of n.
// dollar is set only at the root, for a topic beginning with '$'.
func (m *matcher[V]) walk(n *node[V], topic string, dollar bool) {
	tok, rest, more := cut(topic)
	lit, plus, hash := n.next(tok)
	if dollar {
		// A first-level wildcard does not match a $-topic [MQTT-4.7.2-1].
		plus, hash = nil, nil
	}
	if hash != nil {
		m.collect(hash)
	}
	if plus != nil {
		m.reach(plus, rest, more)
	}
	if lit != nil {
		m.reach(lit, rest, more)
	}
}

// reach continues the walk at n, which matched one level; more tells whether
// the topic has levels left (rest).
func (m *matcher[V]) reach(n *node[V], rest string, more bool) {
	if more {
		m.walk(n, rest, false)
		return
	}
	m.collect(n)
	// "a/#" also matches "a": # includes the parent level [MQTT-4.7.1-2].
	if h := n.hashChild(); h != nil {
		m.collect(h)
	}
}

// collect adds the subscriptions of a node whose filter matches.
func (m *matcher[V]) collect(n *node[V]) {
	m.subs = append(m.subs, n.subs.list...)
	if n.more == nil {
		return
	}
	for _, g := range n.more.groups {
		members := make([]V, g.members.len())
		copy(members, g.members.list)
		m.shared = append(m.shared, Group[V]{Name: g.name, Filter: g.filter, Members: members})
	}
}

// Len returns the number of subscriptions: ordinary ones plus the members of
// every shared group.
func (t *Trie[V]) Len() int { return int(t.subs.Load()) }

// Stats returns the trie's size and cache occupancy.
func (t *Trie[V]) Stats() Stats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := Stats{Subscriptions: t.Len(), Nodes: t.nodes}
	if t.cache != nil {
		s.CacheSize = len(t.cache.slots)
		s.CacheEntries = t.cache.entries()
	}
	return s
}

// Walk calls fn for every subscription, with its filter and group name (""
// for an ordinary subscription), until fn returns false. Order is
// unspecified. Walk holds the read lock throughout, so fn must not call any
// method of the Trie (a waiting writer would deadlock it) and should be quick.
func (t *Trie[V]) Walk(fn func(filter, group string, v V) bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	t.root.walkKids(make([]byte, 0, 128), true, fn)
}

// walkKids walks the children of n; path is n's filter. Caller holds mu.
func (n *node[V]) walkKids(path []byte, root bool, fn func(filter, group string, v V) bool) bool {
	visit := func(k *node[V]) bool {
		p := path
		if !root {
			p = append(p, '/')
		}
		return k.walk(append(p, k.level...), fn)
	}
	for _, k := range n.kids {
		if !visit(k) {
			return false
		}
	}
	if n.wide() {
		for _, k := range n.more.lits {
			if !visit(k) {
				return false
			}
		}
	}
	return true
}

// walk reports n's subscriptions, then its subtree. Caller holds mu.
func (n *node[V]) walk(path []byte, fn func(filter, group string, v V) bool) bool {
	if n.subs.len() > 0 {
		filter := string(path)
		for _, v := range n.subs.list {
			if !fn(filter, "", v) {
				return false
			}
		}
	}
	if n.more != nil {
		for _, g := range n.more.groups {
			for _, v := range g.members.list {
				if !fn(g.filter, g.name, v) {
					return false
				}
			}
		}
	}
	return n.walkKids(path, false, fn)
}

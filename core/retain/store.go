package retain

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/topic"
)

// Errors returned by Set.
var (
	ErrFull            = errors.New("retain: too many retained messages")
	ErrPayloadTooLarge = errors.New("retain: payload too large")
	ErrInvalidTopic    = errors.New("retain: invalid topic name")
)

// ExpireBatch is the most messages one call of Expire removes, and the most
// expired messages one call of Match collects for deletion, so that neither
// holds the write lock for long after a mass expiry. Expire returning
// ExpireBatch means more may be left: call it again.
const ExpireBatch = 10000

// Store is the retained-message index: at most one message per topic name,
// in a trie of topic levels. A Store is safe for concurrent use; Match, Get,
// Walk and Len run in parallel with each other, Set, Delete and Expire
// exclusively.
type Store struct {
	maxRetained int // immutable after New
	maxPayload  int // immutable after New

	mu     sync.RWMutex
	root   node       // guarded by mu; never pruned, holds no message
	nodes  int        // guarded by mu: nodes below root
	expiry expiryHeap // guarded by mu: nodes whose message can expire
	count  atomic.Int64
}

// New returns an empty Store with cfg's limits. A negative limit counts as 0
// (unlimited); call cfg.Validate first to reject it.
func New(cfg Config) *Store {
	return &Store{
		maxRetained: max(cfg.MaxRetained, 0),
		maxPayload:  max(cfg.MaxPayloadSize, 0),
	}
}

// Set makes msg the retained message of msg.Topic, replacing any previous
// one. A message with an empty payload instead deletes the topic's retained
// message and is not stored [MQTT-3.3.1-6] [MQTT-3.3.1-7]. Set fails, storing
// nothing, with ErrInvalidTopic for a topic that is not a valid topic name,
// ErrPayloadTooLarge for a payload over Config.MaxPayloadSize, and ErrFull
// when the store holds Config.MaxRetained messages and msg.Topic has none
// (a replacement is always allowed; expired messages count until removed).
//
// msg must not be nil. The store keeps the pointer: like every published
// core.Message it must not be modified afterwards.
func (s *Store) Set(msg *core.Message) error {
	if err := topic.ValidName(msg.Topic, 0); err != nil {
		return fmt.Errorf("%w %q: %w", ErrInvalidTopic, msg.Topic, err)
	}
	if len(msg.Payload) == 0 {
		s.Delete(msg.Topic)
		return nil
	}
	if s.maxPayload > 0 && len(msg.Payload) > s.maxPayload {
		return fmt.Errorf("%w: %d bytes on %q, limit %d", ErrPayloadTooLarge, len(msg.Payload), msg.Topic, s.maxPayload)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maxRetained > 0 && s.count.Load() >= int64(s.maxRetained) {
		// Only a full store pays for this second walk.
		if n := s.find(msg.Topic); n == nil || n.msg == nil {
			return fmt.Errorf("%w: limit %d reached, %q not stored", ErrFull, s.maxRetained, msg.Topic)
		}
	}
	n := &s.root
	for t := msg.Topic; ; {
		level, rest, more := cut(t)
		c := n.child(level)
		if c == nil {
			c = n.addChild(level)
			s.nodes++
		}
		n = c
		if !more {
			break
		}
		t = rest
	}
	if n.msg == nil {
		s.count.Add(1)
	}
	n.msg = msg
	switch {
	case msg.ExpiryInterval > 0 && n.hidx > 0:
		s.expiry.fix(n, msg.Timestamp.Add(msg.ExpiryInterval))
	case msg.ExpiryInterval > 0:
		s.expiry.push(n, msg.Timestamp.Add(msg.ExpiryInterval))
	case n.hidx > 0:
		s.expiry.remove(n)
	}
	return nil
}

// Get returns the retained message of a topic name, or nil. It does not look
// at expiry: a message past its expiry interval is returned until Match or
// Expire removes it (check msg.Expired(now) if that matters).
func (s *Store) Get(topicName string) *core.Message {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if n := s.find(topicName); n != nil {
		return n.msg
	}
	return nil
}

// Delete removes the retained message of a topic name and reports whether
// there was one.
func (s *Store) Delete(topicName string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remove(&s.root, topicName, nil) != nil
}

// Len returns the number of retained messages, counting expired ones not yet
// removed.
func (s *Store) Len() int { return int(s.count.Load()) }

// Match calls fn for every retained message whose topic matches filter and
// that has not expired at now, in no particular order, until fn returns
// false. A filter whose first level is "+" or "#" does not match topics
// beginning with "$" [MQTT-4.7.2-1]. An invalid filter (topic.ValidFilter)
// matches nothing; a shared-subscription prefix must already be stripped.
//
// Match walks the trie: a literal level follows one child, "+" every child,
// "#" the whole subtree, so the work is proportional to the nodes under the
// filter's literal prefix, never to the store. Expired messages it meets are
// skipped, and up to ExpireBatch of them are deleted after the walk.
//
// fn runs under the store's read lock: it must not call the Store's methods
// (that deadlocks) and should be quick (enqueue a reference to the message),
// since Set waits for it.
func (s *Store) Match(filter string, now time.Time, fn func(*core.Message) bool) {
	if topic.ValidFilter(filter, 0) != nil {
		return
	}
	m := matcher{now: now, fn: fn}
	s.mu.RLock()
	m.level(&s.root, filter, true)
	s.mu.RUnlock()
	if len(m.expired) == 0 {
		return
	}
	// Lazy deletion under the write lock, after the walk: an RWMutex cannot
	// be upgraded. Another goroutine may have replaced a message meanwhile,
	// so only the very message seen expired is removed.
	s.mu.Lock()
	for _, msg := range m.expired {
		s.remove(&s.root, msg.Topic, msg)
	}
	s.mu.Unlock()
}

// Expire removes the messages whose expiry interval has passed at now, at
// most ExpireBatch of them, and returns how many it removed. It is meant for
// a periodic sweep; its work is O(k log n) for k removed among n expiring
// messages, since expiring messages are kept in a heap by deadline.
func (s *Store) Expire(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	removed := 0
	for removed < ExpireBatch {
		n := s.expiry.min()
		if n == nil || !n.msg.Expired(now) {
			break
		}
		s.remove(&s.root, n.msg.Topic, n.msg)
		removed++
	}
	return removed
}

// Walk calls fn for every retained message, expired ones not yet removed
// included, in no particular order, until fn returns false. Like Match's, fn
// runs under the read lock and must not call the Store's methods.
func (s *Store) Walk(fn func(*core.Message) bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	walkKids(&s.root, fn)
}

// walkKids calls fn for the messages below n; caller holds mu.
func walkKids(n *node, fn func(*core.Message) bool) bool {
	if n.lits != nil {
		for _, k := range n.lits {
			if !walk(k, fn) {
				return false
			}
		}
		return true
	}
	for _, k := range n.kids {
		if !walk(k.n, fn) {
			return false
		}
	}
	return true
}

func walk(n *node, fn func(*core.Message) bool) bool {
	if n.msg != nil && !fn(n.msg) {
		return false
	}
	return walkKids(n, fn)
}

// find returns the node of a topic name, or nil; caller holds mu.
func (s *Store) find(topicName string) *node {
	n := &s.root
	for t := topicName; ; {
		level, rest, more := cut(t)
		if n = n.child(level); n == nil || !more {
			return n
		}
		t = rest
	}
}

// remove deletes the message of topic t below n, if there is one and, when
// want is not nil, it is want; it prunes the nodes left empty and returns the
// removed message. Caller holds mu for writing.
func (s *Store) remove(n *node, t string, want *core.Message) *core.Message {
	level, rest, more := cut(t)
	c := n.child(level)
	if c == nil {
		return nil
	}
	var m *core.Message
	if more {
		m = s.remove(c, rest, want)
	} else if c.msg != nil && (want == nil || c.msg == want) {
		m = c.msg
		c.msg = nil
		if c.hidx > 0 {
			s.expiry.remove(c)
		}
		s.count.Add(-1)
	}
	if m != nil && c.empty() {
		n.removeChild(c)
		s.nodes--
	}
	return m
}

// matcher is the state of one Match walk; the walk holds mu's read lock.
type matcher struct {
	now     time.Time
	fn      func(*core.Message) bool
	expired []*core.Message // seen expired, to delete after the walk
}

// level applies the filter levels f to the children of n (root: n is the
// trie's root) and reports false once fn has stopped the walk.
func (m *matcher) level(n *node, f string, root bool) bool {
	level, rest, more := cut(f)
	switch level {
	case "#":
		// "a/#" also matches "a" [MQTT-4.7.1-2]; the root holds no message.
		if !root && !m.yield(n) {
			return false
		}
		return m.wild(n, root, true, "", false)
	case "+":
		return m.wild(n, root, false, rest, more)
	}
	c := n.child(level)
	switch {
	case c == nil:
		return true
	case more:
		return m.level(c, rest, false)
	}
	return m.yield(c)
}

// wild applies a "+" (hash false: then rest and more are the filter after
// it) or a "#" level to every child of n.
func (m *matcher) wild(n *node, root, hash bool, rest string, more bool) bool {
	if n.lits != nil {
		for _, k := range n.lits {
			if !m.kid(k, root, hash, rest, more) {
				return false
			}
		}
		return true
	}
	for _, k := range n.kids {
		if !m.kid(k.n, root, hash, rest, more) {
			return false
		}
	}
	return true
}

func (m *matcher) kid(k *node, root, hash bool, rest string, more bool) bool {
	if root && k.level != "" && k.level[0] == '$' {
		return true // [MQTT-4.7.2-1]
	}
	switch {
	case hash:
		return m.subtree(k)
	case more:
		return m.level(k, rest, false)
	}
	return m.yield(k)
}

// subtree yields n's message and every message below it.
func (m *matcher) subtree(n *node) bool {
	if !m.yield(n) {
		return false
	}
	if n.lits != nil {
		for _, k := range n.lits {
			if !m.subtree(k) {
				return false
			}
		}
		return true
	}
	for _, k := range n.kids {
		if !m.subtree(k.n) {
			return false
		}
	}
	return true
}

// yield hands n's message, if any and not expired, to fn.
func (m *matcher) yield(n *node) bool {
	msg := n.msg
	if msg == nil {
		return true
	}
	// Only a node in the expiry heap can hold an expiring message: the
	// others are delivered without reading the message, one cache miss
	// fewer per match in a large store.
	if n.hidx > 0 && msg.Expired(m.now) {
		if len(m.expired) < ExpireBatch {
			m.expired = append(m.expired, msg)
		}
		return true
	}
	return m.fn(msg)
}

package topic

import (
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// The match cache maps a topic name to its *Result. It is a fixed array of
// slots in sets of four (one 64-byte cache line): a topic hashes to one set
// and may sit in any of its four slots. Its bound is its size; eviction is the
// overwrite of a slot (O(1), no list, no sweep); a hit is a hash, up to four
// atomic loads of hash tags in one cache line, one pointer load and one
// string compare: no lock, no allocation, no shared cache line written.
//
// Coherence rules (the whole argument for correctness under concurrency):
//
//  1. Results in the cache are immutable; a change stores a new *Result.
//  2. A miss computes its Result and stores it (put) while holding the trie's
//     read lock. No writer can run in between, so what it stores reflects
//     the trie as it is when stored.
//  3. Every Insert and Remove that changes the trie, before releasing the
//     write lock, rewrites (update) every cached Result whose topic the
//     filter matches: the Result with the value added or removed, or nil to
//     evict. No put runs concurrently (rule 2), so nothing stale survives.
//  4. A slot's tag (hash of its topic) is only a hint for lookups: puts
//     racing on one set may leave a tag that is not its Result's, which costs
//     a miss. Every lookup decision compares the Result's own topic.
//  5. A slot's prefix print, which lets update skip slots without loading
//     their Results, must be exact: put writes it together with the Result
//     under the set's lock, and update reads it under the trie's write lock,
//     when no put runs.
//
// A Match that loaded a Result just before a writer replaced it returns the
// old one: that Match is ordered before the write, which is all a concurrent
// caller can observe anyway.
type cache[V comparable] struct {
	seed    maphash.Seed
	setMask uint64 // number of sets - 1
	slots   []slot[V]
	prints  []uint64     // per slot: prefixPrint of its Result's topic (rule 5)
	locks   []sync.Mutex // per set: serializes puts to it (rule 5)
}

// cacheWays is the number of slots in a set.
const cacheWays = 4

type slot[V comparable] struct {
	tag atomic.Uint64 // hash of the topic last put here (a hint, rule 4)
	res atomic.Pointer[Result[V]]
}

// cacheCopyMax is the largest cached Result (subscriptions plus group
// members) an update copies; a larger one is evicted instead, so subscribing
// 100k clients to one hot topic costs O(1) each, not O(n) each, and the next
// publish rebuilds it once.
const cacheCopyMax = 64

// MaxCacheSize is the largest Config.CacheSize accepted.
const MaxCacheSize = 1 << 20

func newCache[V comparable](size int) *cache[V] {
	n := cacheWays
	for n < size {
		n <<= 1
	}
	return &cache[V]{
		seed:    maphash.MakeSeed(),
		setMask: uint64(n/cacheWays - 1),
		slots:   make([]slot[V], n),
		prints:  make([]uint64, n),
		locks:   make([]sync.Mutex, n/cacheWays),
	}
}

func (c *cache[V]) hash(topic string) uint64 { return maphash.String(c.seed, topic) }

// get returns the cached Result for topic (h = c.hash(topic)), or nil.
// Safe without any lock.
func (c *cache[V]) get(h uint64, topic string) *Result[V] {
	i := (h & c.setMask) * cacheWays
	s := c.slots[i : i+cacheWays : i+cacheWays]
	for k := range s {
		if s[k].tag.Load() == h {
			if r := s[k].res.Load(); r != nil && r.topic == topic {
				return r
			}
		}
	}
	return nil
}

// put caches r (r.topic set) under the hash h of its topic.
// Caller holds the trie's mu, read-locked (coherence rule 2).
func (c *cache[V]) put(h uint64, r *Result[V]) {
	pp := prefixPrint(r.topic)
	set := h & c.setMask
	i := set * cacheWays
	s := c.slots[i : i+cacheWays : i+cacheWays]
	c.locks[set].Lock()
	k := -1
	for j := range s {
		if old := s[j].res.Load(); old == nil || old.topic == r.topic {
			k = j
			break
		}
	}
	if k < 0 {
		// Random eviction: no recency bookkeeping, so hits write nothing.
		k = int(rand.Uint32() % cacheWays)
	}
	c.prints[i+uint64(k)] = pp
	s[k].res.Store(r)
	s[k].tag.Store(h)
	c.locks[set].Unlock()
}

// update rewrites every cached Result whose topic filter matches, after v was
// added to or removed from the subscription (filter, g); g is nil for an
// ordinary subscription, else the trie's group record (its name and filter
// are owned strings, safe to keep in results).
// Caller holds the trie's mu, write-locked (coherence rules 3 and 5).
func (c *cache[V]) update(filter string, g *shareGroup[V], v V, add bool) {
	wild := strings.IndexAny(filter, "+#")
	if wild < 0 {
		// An exact filter matches only the topic equal to it: one set.
		i := (c.hash(filter) & c.setMask) * cacheWays
		for k := i; k < i+cacheWays; k++ {
			if r := c.slots[k].res.Load(); r != nil && r.topic == filter {
				c.slots[k].res.Store(r.with(g, v, add))
			}
		}
		return
	}
	// A topic the filter matches has the filter's literal levels (those
	// before the first wildcard) as its first levels, so its prefix print
	// agrees with the filter's in the field for that many levels.
	levels := strings.Count(filter[:wild], "/")
	mask, want := uint64(0), uint64(0)
	if levels > 0 {
		d := min(levels, printLevels)
		mask = printField << (16 * (d - 1))
		want = prefixPrint(filter) & mask
	}
	for k, p := range c.prints {
		if p&mask != want {
			continue
		}
		if r := c.slots[k].res.Load(); r != nil && Match(filter, r.topic) {
			c.slots[k].res.Store(r.with(g, v, add))
		}
	}
}

// printLevels is the number of leading levels a prefix print covers, 16 bits
// each.
const (
	printLevels = 4
	printField  = 1<<16 - 1
)

// prefixPrint returns, in bits 16(k-1) to 16k-1 for k = 1..4, a 16-bit hash of
// the first k levels of s (slashes between them included); fields past the
// last level repeat the hash of the whole of s. For a filter it is used only
// for levels before the first wildcard, where it hashes the same bytes a
// matching topic has.
func prefixPrint(s string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	var p uint64
	h := uint64(offset)
	k := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			p |= (h >> 48) << (16 * k)
			if k++; k == printLevels {
				return p
			}
		}
		h = (h ^ uint64(s[i])) * prime
	}
	for ; k < printLevels; k++ {
		p |= (h >> 48) << (16 * k)
	}
	return p
}

// entries counts the occupied slots. Caller holds the trie's mu (either).
func (c *cache[V]) entries() int {
	n := 0
	for j := range c.slots {
		if c.slots[j].res.Load() != nil {
			n++
		}
	}
	return n
}

// with returns a copy of r with one occurrence of v added to or removed from
// the ordinary subscriptions (g == nil) or the members of group g, or nil to
// evict r (too large to copy, or not holding what is to be removed, which
// coherent caching rules out but eviction makes harmless). r is not modified:
// unchanged slices are shared between r and the copy, both read-only.
func (r *Result[V]) with(g *shareGroup[V], v V, add bool) *Result[V] {
	size := len(r.Subs)
	for _, sg := range r.Shared {
		size += len(sg.Members)
	}
	if size >= cacheCopyMax {
		return nil
	}
	nr := &Result[V]{Subs: r.Subs, Shared: r.Shared, topic: r.topic}
	if g == nil {
		if add {
			nr.Subs = append(r.Subs[:len(r.Subs):len(r.Subs)], v)
			return nr
		}
		i := slices.Index(r.Subs, v)
		if i < 0 {
			return nil
		}
		nr.Subs = without(r.Subs, i)
		return nr
	}
	gi := slices.IndexFunc(r.Shared, func(x Group[V]) bool { return x.Name == g.name && x.Filter == g.filter })
	if gi < 0 {
		if !add {
			return nil
		}
		nr.Shared = append(r.Shared[:len(r.Shared):len(r.Shared)], Group[V]{Name: g.name, Filter: g.filter, Members: []V{v}})
		return nr
	}
	ng := r.Shared[gi]
	if add {
		ng.Members = append(ng.Members[:len(ng.Members):len(ng.Members)], v)
	} else {
		i := slices.Index(ng.Members, v)
		if i < 0 {
			return nil
		}
		ng.Members = without(ng.Members, i)
	}
	if len(ng.Members) == 0 {
		nr.Shared = without(r.Shared, gi)
	} else {
		nr.Shared = slices.Clone(r.Shared)
		nr.Shared[gi] = ng
	}
	return nr
}

// without returns a new slice holding s minus its element i (nil if empty).
func without[T any](s []T, i int) []T {
	if len(s) == 1 {
		return nil
	}
	out := make([]T, 0, len(s)-1)
	out = append(out, s[:i]...)
	return append(out, s[i+1:]...)
}

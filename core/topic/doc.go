// Package topic validates MQTT topic names and filters and indexes
// subscriptions for matching: a token trie with `+`, `#` and `$`-topic rules,
// a coherent cache of match results for hot topics, and the parsing of
// shared-subscription filters ($share/<group>/<filter>, $queue/<filter>).
//
// # Data flow
//
// Subscribe: the broker calls ParseShared on the filter a client sent, which
// splits off a shared-subscription group and validates the rest, then
// ValidFilter(realFilter, maxLevels) for its level limit, then
// Trie.Insert(realFilter, group, sub). Unsubscribe is Trie.Remove with the same
// three arguments.
//
// Publish: ValidName on the topic, then Trie.Match, which returns a *Result:
// Subs with one entry per matching ordinary subscription (the broker merges
// per client), and Shared with one Group per matching (group name, filter)
// pair, from which the broker picks one member to deliver to. A Result is
// shared with other callers and cached: read-only.
//
// # The trie
//
// One node per filter level, children keyed by the level's text; "+" and "#"
// are children like any other, so one scan of a node finds the literal, "+"
// and "#" children of a topic level at once. A node keeps its children in a
// small slice and moves its literal children to a map past eight; it stores
// its level once, cloned (never a slice of the caller's filter); rarely needed
// parts (the map, shared groups) hang off one pointer, so a node is 80 bytes.
// Remove prunes nodes left empty, so churn leaves nothing behind.
// Matching follows the literal and "+" children level by level and collects
// "#" children on the way, with two rules: a "#" also matches its parent level
// ("a/#" matches "a") [MQTT-4.7.1-2], and a first-level "+" or "#" does not
// match a topic beginning with "$" [MQTT-4.7.2-1].
//
// # The match cache
//
// A topic's Result is cached in a fixed array of slots, four-way set
// associative, looked up without any lock (a hash, atomic loads, a string
// compare; no allocation), evicted by overwriting a slot. The model is
// nats-server's sublist cache, and like it the cache stays valid across
// changes instead of being dropped by a generation bump, which on a broker
// with steady subscribe churn would leave the hot topics uncached: Insert and
// Remove, holding the write lock, rewrite exactly the cached Results whose
// topic the filter matches. An exact filter touches one set; a wildcard
// filter scans the slots' prefix prints (16-bit hashes of each cached topic's
// first four level prefixes) and loads only the Results that can match.
// cache.go states the coherence rules.
//
// # Concurrency and locks
//
// A Trie is safe for concurrent use. Trie.mu is a leaf lock (nothing else is
// locked while it is held, and it is taken while holding nothing of this
// package): Match takes its read lock only on a cache miss, Insert and Remove
// take its write lock, Walk holds its read lock while calling back. A cache
// set's lock is taken only inside mu's read lock (order: Trie.mu, then a
// set's lock), and only to store a miss's Result.
//
// # Cost
//
// Measured with bench_test.go on the project machine (2 shared cores), 1M
// subscriptions of which a fifth have wildcards: a cached Match takes ~20 ns
// and allocates nothing; an uncached one ~0.95 µs with one 96-byte
// allocation; a wildcard Insert with a full cache ~3 µs. 10M distinct filters
// hold ~244 bytes of heap per filter (2.3 GiB) and match uncached in ~1.5 µs.
package topic

// Package retain is the retained-message index: at most one message per
// topic name, found by topic filter without scanning every retained message.
//
// # Data flow
//
// Publish: when a PUBLISH carries the retain flag, the broker calls
// Store.Set with the (immutable) core.Message. Set replaces the topic's
// previous message; a message with an empty payload deletes it and is not
// stored [MQTT-3.3.1-6] [MQTT-3.3.1-7]. Set refuses, with ErrInvalidTopic,
// ErrPayloadTooLarge or ErrFull, a topic that is not a valid name, a payload
// over Config.MaxPayloadSize, or a new topic once the store holds
// Config.MaxRetained messages (the keys of EMQX's retainer). What to do
// with a message that was not retained (route it anyway, count, alarm) is
// the broker's decision.
//
// Subscribe: for each filter a client subscribes to (with retain handling
// 0, or 1 on a new subscription), the broker calls Store.Match(filter, now,
// fn), and fn enqueues a reference to each message for the session.
//
// Housekeeping: a periodic sweep calls Store.Expire(now). Walk lists every
// message for the HTTP API and for persistence (core/store), and a restart
// or a joining cluster node refills the store with Set.
//
// # The trie
//
// One node per topic level, children keyed by the level's text, so a topic
// "a/b" and its message live at root → "a" → "b". Levels are cloned when a
// node is made, never sliced from the caller's topic (which may sit in a
// reused packet buffer), and a node with neither message nor children is
// pruned at once, so churn leaves nothing behind. A node keeps up to 16
// children in a slice of (level key, pointer) pairs, where the key packs
// the level's first 7 bytes and its length: finding a child scans one small
// array and reads only the child it finds. Past 16 children they move to a
// map, and back to the slice below 9.
//
// Match walks the filter level by level: a literal level follows one child,
// "+" every child, and "#" yields the node it stands under (a/# matches a,
// [MQTT-4.7.1-2]) and its whole subtree. A "+" or "#" in the first level
// skips children whose level begins with "$" [MQTT-4.7.2-1]. The work is
// therefore proportional to the nodes under the filter's literal prefix and
// the matched messages, never to the size of the store: an exact filter
// costs the same in a store of 1k or 1M messages.
//
// # Expiry
//
// A message whose MQTT 5 expiry interval has passed is never handed out:
// Match skips it and, after its walk, deletes up to ExpireBatch of the ones
// it met. Messages with an expiry interval are also kept in a min-heap by
// deadline, each node recording its position in it, so that replacing or
// deleting one takes it out of the heap at once and Expire pops only the
// expired ones: O(k log n) for k removals, at most ExpireBatch per call so
// that one sweep never holds the write lock for long. Get, Walk and Len do
// not look at expiry; an expired message counts towards MaxRetained until
// one of Match or Expire removes it.
//
// # Concurrency and locks
//
// A Store is safe for concurrent use. Match, Get and Walk take Store.mu's
// read lock and run in parallel; Set, Delete and Expire take its write lock.
// The package takes no other lock while holding mu. Match's deletion of
// expired messages happens after the walk, under the write lock taken anew
// (an RWMutex cannot be upgraded), and removes only the exact message seen
// expired, so a replacement set in between survives.
//
// Match and Walk call fn while holding the read lock, which keeps a match
// free of allocation and lets fn stop it early. So fn must not call the
// Store (that deadlocks) and should be quick: while it runs, Set waits. A
// caller that needs to do more per message collects the messages first.
// Whatever lock fn takes (a session's queue lock, when the broker enqueues)
// is ordered after Store.mu: never call Set, Delete or Expire while holding
// such a lock.
//
// # Cost
//
// Measured on the project machine (2 cores, shared; see bench_test.go),
// with stores of devices × 10 retained topics sensors/<id>/<metric>:
//
//	exact filter, store of 1k / 1M messages        63 / 70 ns
//	sensors/+/temp, 1M messages (100k matches)     ~19 ms: ~195 ns per match
//	sensors/+/temp, up to 100k messages            21–32 ns per match
//	# over 1M messages                             ~60 ns per match
//	Set: replacement / with expiry / new topic     ~120 / ~145 / ~350 ns
//	Expire                                         ~340 ns per removed message
//
// No Match allocates; neither does a replacing Set. Per match, a large store
// costs a few cache misses (the device node, its children array, the child),
// which is the difference between 1M and 100k. The index takes ~105 bytes
// per message beyond the message itself.
package retain

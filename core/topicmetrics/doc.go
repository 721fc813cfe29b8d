// Package topicmetrics counts messages per registered topic name: EMQX 5's
// topic_metrics. Up to MaxTopics topic names (not filters) are registered;
// for each the broker counts messages in (published to it), out (queued for
// a subscriber) and dropped (no subscriber, or refused by a full queue), in
// total and per QoS, and a ticker turns the counters into per-second rates.
//
// Data flow: on every publish the broker calls Lookup, which is one atomic
// load while nothing is registered and one lookup in a read-only map
// otherwise; registering or removing a topic copies the map (copy on write
// behind an atomic.Pointer), so the publish path never takes a lock. The
// counters of a found topic are atomics.
//
// Messages that expire in a subscriber's queue are not counted as dropped:
// the broker no longer sees them then.
package topicmetrics

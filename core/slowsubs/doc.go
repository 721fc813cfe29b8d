// Package slowsubs finds slow subscribers: EMQX 5's slow_subs. A Tracker
// keeps, per (client id, topic), the latest delivery latency above a
// threshold, bounded to the top K by latency, each entry expiring after an
// interval.
//
// What is measured (stats_type whole): from the message's Timestamp (when
// the broker accepted the publish) to the subscriber's acknowledgement of
// its copy: PUBACK for QoS 1, PUBREC for QoS 2 (the client owns the message
// from then on; PUBCOMP no longer carries it). Channels without
// acknowledgements of their own settle a delivery right after writing it, so
// for them it is publish to write. QoS 0 deliveries are not measured.
//
// Data flow: core/session calls Observe on each acknowledgement while the
// tracker is enabled (one atomic load otherwise); Observe returns at once
// below the threshold and otherwise takes the tracker's lock for a linear
// scan of at most TopK entries. The HTTP API reads TopK and changes Settings.
package slowsubs

// Package delayed is EMQX's delayed publish: a message published to
// $delayed/<seconds>/<topic> is held for that many seconds and then
// published to <topic>.
//
// # Data flow
//
// Publish: before routing, the broker calls Parse on the topic. ok false is
// an ordinary topic. ok true with an error is a malformed delayed topic
// (the seconds field is not a plain decimal integer or exceeds
// MaxDelaySeconds, or the real topic is missing or invalid): EMQX discards
// such a message without telling the client; the broker decides whether to
// do the same or answer with a reason code. Otherwise authorization should
// look at the real topic, and the broker calls Scheduler.Add with the
// message and the delay instead of routing it; Add fails with ErrFull once
// Config.MaxDelayed messages wait (EMQX's delayed.max_delayed_messages).
// The $delayed prefix is recognised before any mountpoint is applied
// (EMQX documents delayed publish as incompatible with listener
// mountpoints); the real topic is what gets mounted.
//
// Due: the scheduler's goroutine calls the publish func given to New with a
// copy of the message whose Topic is the real topic, whose Timestamp is the
// moment of publication and whose ID is zero (the broker numbers it anew).
// The MQTT 5 expiry interval keeps counting from the original publish: the
// copy carries what is left of it, and a message that expired while it
// waited is dropped [MQTT-3.3.2-5], as in EMQX, which republishes the
// original message with its original timestamp.
//
// Listing and persistence: Walk hands out every waiting message (real
// topic, original ID and Timestamp) with its due time. Nothing is persisted
// yet: Close drops what is waiting, so delayed messages do not survive a
// restart. When core/store arrives, a restart refills the scheduler by
// calling Add with each stored message and its remaining delay.
//
// # Timing
//
// One goroutine, one min-heap of waiting messages keyed by (due time,
// arrival sequence) and one time.Timer reset to the earliest due time:
// never a timer or goroutine per message. Due times are monotonic clock
// offsets, so a wall-clock jump moves nothing. Messages due at the same
// instant are published in the order they were added. Add wakes the
// goroutine only when the new message becomes the earliest. A pass takes
// at most 256 due messages off the heap under the lock and publishes them
// with the lock released, so a burst never holds up Add for long.
//
// # Concurrency and locks
//
// A Scheduler is safe for concurrent use. Scheduler.mu is a leaf lock
// guarding the heap; publish is never called with it held. Walk calls its
// fn with mu held, so fn must not call the Scheduler.
//
// # Cost
//
// Measured on the project machine (2 cores, shared; see bench_test.go):
// Add ~550 ns into a heap of millions of waiting messages (one allocation,
// the scheduler's copy of the message), ~370 ns for Add plus publication of
// a message due at once (two allocations: Add's copy and the published
// one). A waiting message costs its copy (a 192-byte core.Message sharing the
// caller's payload) plus a 24-byte heap entry.
package delayed

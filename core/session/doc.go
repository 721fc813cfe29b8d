// Package session holds one MQTT session's delivery state, whatever protocol
// its client speaks: the queue of messages waiting to be sent, the inflight
// window of QoS 1 and 2 messages sent and not yet acknowledged, packet
// identifiers, inbound QoS 2 messages awaiting PUBREL, and drop counters.
//
// Data flow: publishers' goroutines Enqueue references to immutable
// core.Message values (the broker has matched them to this session); when the
// queue turns non-empty the session calls its Notifier, which wakes the
// connection; on the connection's own goroutine the channel calls Take to move
// what the window allows from the queue into the inflight window, encodes and
// writes it, and later Ack/Rec/Comp as the client acknowledges.
//
// Everything is bounded: the queue by max_mqueue_len (QoS 0 messages are
// dropped first when it is full), the inflight window by the smaller of
// max_inflight and the client's Receive Maximum, the awaiting-PUBREL set by
// max_awaiting_rel.
//
// Locking: Session.mu guards all mutable state. The Notifier is called with
// mu released, so a notifier may call back into the session.
package session

// Package broker is Manifold's pub/sub core: the one place MQTT semantics are
// put together, whatever protocol a client speaks. It owns the sessions by
// client id, the subscription trie (core/topic), the retained store
// (core/retain) and, as they arrive, delayed publish, $SYS and the policy
// hooks.
//
// Data flow. An adapter's channel calls Connect when its client connects and
// gets the client's session (core/session) back, new or resumed; a second
// Connect with the same client id takes the session over and kicks the first
// connection. Publish runs on the publisher's goroutine: it stores or clears
// the retained message, matches the topic against the trie, merges
// overlapping subscriptions of one client into one delivery at the highest
// QoS, picks one member of each shared-subscription group, and enqueues a
// reference to the immutable message in each session, which wakes the
// subscriber's connection. Disconnect unbinds the connection, publishes or
// schedules the will, and removes the session at once or when its expiry
// interval ends.
//
// Locking. Broker.mu guards the client table and each client record's fields
// except where noted; it is never held while calling a session's Enqueue or a
// connection's Kick or Notify. Lock order: Broker.mu, then session.Session.mu
// (taken inside session methods), then the trie's and retained store's own
// locks. Publish takes no broker lock on its hot path.
package broker

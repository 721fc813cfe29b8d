// Package core is the shared vocabulary of Manifold's protocol-independent
// pub/sub core: messages, client information, actions, properties, reason codes
// and errors. It imports nothing from the rest of the module; every core/*
// package imports it.
//
// The core knows nothing of wire protocols. Adapters translate MQTT, MQTT-SN,
// CoAP, LwM2M, STOMP and raw frames into core calls; core/broker puts MQTT
// semantics together (sessions, QoS, retained, wills, shared and delayed
// subscriptions) over core/topic, core/session, core/retain, core/delayed,
// core/hooks, core/store and core/cluster.
//
// Lock order (acquire in this order, never the reverse):
//
//	broker.Broker.mu → session.Session.mu   (Connect and Disconnect bind and unbind)
//	broker subscriptions.mu → topic.Trie.mu
//	retain.Store.mu → session.Session.mu   (Match callbacks enqueue into sessions)
//	session.Session.mu is a leaf: nothing is called with it held, not even a
//	Notifier (Enqueue notifies after unlocking).
//
// No lock is held while calling into an adapter (broker.Conn.Notify/Kick).
package core

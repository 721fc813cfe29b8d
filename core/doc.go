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
// Lock order (acquire in this order, never the reverse) is written here as the
// packages that take locks arrive.
package core

// Package sn is the MQTT-SN 1.2 gateway adapter: one Channel per client
// (a UDP peer address, or a DTLS association) that translates MQTT-SN into
// the core's sessions, subscriptions and publishes. The wire codec is
// codec/sn; the transports are gateway/edge (UDPServer, gnet) and
// gateway/listener (DTLSServer, pion/dtls); the conventions and every
// configuration key are in the package README.
//
// # Data flow
//
//	datagram ─► transport ─► codec/sn.Decode ─► Channel.HandleIn ─► Context (core)
//	datagram ◄─ transport ◄─ one Raw frame per message ◄─ HandleIn/HandleDeliver/HandleTimeout
//
// Inbound: CONNECT (with the WILLTOPICREQ/WILLMSGREQ dialogue when the Will
// flag is set) binds the client's core session; PUBLISH names its topic by a
// registered id (REGISTER), a predefined id or a two-character short name;
// QoS -1 publishes need no connection. Outbound: the core queues messages in
// the session and Handle.Notify schedules HandleDeliver, which takes them
// and names each topic the same three ways; a topic the client does not
// know yet is registered to it first (REGISTER, then the PUBLISH after its
// REGACK). QoS 1 and 2 messages, PUBREL and REGISTER are retransmitted
// every retry_interval up to max_retries, after which the client is lost
// (its will is published).
//
// # Sleeping clients
//
// DISCONNECT with a duration puts the client to sleep: the channel stays
// bound to the session and takes what the core delivers into a buffer of at
// most max_sleep_buffer messages (the oldest are dropped past it). A PINGREQ
// carrying the client id wakes it: REGISTERs for new topics, every buffered
// message, then PINGRESP, and asleep again. Silence beyond the sleep
// duration × keepalive_multiplier drops the client like a keepalive timeout.
//
// # State
//
// A channel is driven on one goroutine (adapters.Channel); it keeps no
// locks. Its topic-id registry belongs to the client's persistent session:
// with CleanSession=0 it is saved through a RegistryStore on every change
// and loaded on CONNECT, so ids survive a gateway restart.
package sn

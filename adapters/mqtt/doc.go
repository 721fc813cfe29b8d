// Package mqtt is the MQTT 3.1 / 3.1.1 / 5.0 adapter: the channel that turns
// a client's packets (decoded by codec/mqtt) into calls on the core through
// adapters.Context, and the core's deliveries back into packets.
//
// One Channel serves one connection, on that connection's goroutine, and
// holds everything particular to it: the negotiated version, keepalive, topic
// aliases both ways, the client's Receive Maximum and Maximum Packet Size.
// Session state that outlives the connection (queue, inflight window, QoS 2
// state) lives in core/session; routing, retained messages and wills in
// core/broker.
//
// Every packet the channel writes during one call is encoded into one buffer
// that the edge writes with one system call.
package mqtt

// Package stomp is the STOMP 1.0/1.1/1.2 gateway adapter over TCP, TLS,
// WebSocket and SockJS: SEND publishes, SUBSCRIBE takes MQTT filters, with
// acks, receipts and transactions. The frame codec lives in codec/stomp; the
// conventions are in the package README.
//
// # How a frame flows
//
// The edge (gnet for TCP, gateway/listener for TLS, gateway/httpgw for
// WebSocket and SockJS) feeds bytes to the channel's codec.Codec
// (codec/stomp), which cuts heart-beats and frames out of them; HandleIn
// dispatches on the command (handleConnect, handleSend, handleSubscribe,
// handleAck, handleTransaction, handleDisconnect). CONNECT negotiates the
// version, which the codec then uses for header escaping, authenticates
// through adapters.Context and binds a core session. SEND becomes a
// core.Message on the mounted topic. SUBSCRIBE becomes a core subscription
// tagged with an MQTT subscription identifier derived from the STOMP id, so
// that each delivery names its STOMP subscription; client ack modes
// subscribe at QoS 1, and the session's inflight window holds a message
// until its ACK (settle). Deliveries come through the session mailbox like
// MQTT's: the core calls Notify, the edge calls HandleDeliver, which takes
// a batch from the session and writes MESSAGE frames.
//
// Every refusal is an ERROR frame (fail) followed by a close; nothing a peer
// sends can make the channel panic (the conformance kit feeds it random
// bytes).
package stomp

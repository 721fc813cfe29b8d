// Package coap is the CoAP gateway (RFC 7252, observe RFC 7641, block-wise
// transfers RFC 7959) speaking EMQX 5's conventions, with EMQX 4's /mqtt
// form also accepted. README.md is the user's reference: resources, query
// parameters, answer codes and every gateway.coap key.
//
// Data flow. adapters/coapnet runs go-coap/v3's UDP and DTLS servers; it
// deduplicates confirmable requests, reassembles Block1 bodies (bounded by
// max_body_size), serves simple NON requests directly, and hands each
// request to Server.serveCoAP, which builds a request and calls handle: the
// resource tree (/ps/{topic}, /mqtt/connection, /mqtt/{topic},
// /.well-known/core). Resources reach the core only through an
// adapters.Context: Authenticate and Authorize on every request, Publish for
// POST, and Connect/Subscribe/Unsubscribe/Disconnect for clients that
// observe or open a connection.
//
// Clients. A client with a core session is a *client (registry keyed by
// client id, bounded by max_clients). It is the broker.Conn of its session:
// Notify starts one drain goroutine at a time, which takes the session's
// queue (bounded by the core's max_mqueue_len and inflight window) and sends
// each delivery to the observations whose filter matches it, as NON or CON
// per notify_type. A CON notification's ACK acknowledges the core's QoS 1/2
// delivery (once every observer it went to answered); its RST, or no answer
// after max_retransmit retransmissions, ends that observation. Connection
// clients live until DELETE, a takeover, or 1.5 × heartbeat without a
// request; connectionless observers live until their last observation ends.
//
// Locking: Server.mu (the registry) is taken before client.mu, never the
// other way; neither is held while calling the Context or coapnet.
package coap

// Package coapnet is the CoAP transport shared by the CoAP and LwM2M
// gateways: go-coap/v3's own UDP and DTLS servers (pion/dtls/v3, PSK and
// certificates) behind one Server, with what both protocols need on top of
// go-coap and nothing protocol-specific.
//
// Data flow: a datagram is read by go-coap, which deduplicates retransmitted
// confirmable requests by message id (RFC 7252 §4.5), reassembles Block1
// requests and serves Block2 continuations (RFC 7959), and calls the Handler
// given to Listen with the whole request. Before that, the Server's request
// monitor sees every message first: it answers an oversized Block1 transfer
// with 4.13 (bounded reassembly), and it matches ACK and RST messages to the
// confirmable notifications sent with Notify (RFC 7641 §4.5), which go-coap's
// own observe support cannot report. Notify sends a notification and
// retransmits it itself (RFC 7252 §4.2), then calls back with the outcome:
// acknowledged, reset (the observer is gone) or timed out. With
// Options.DirectNON, simple non-confirmable requests are served from the
// monitor too, deduplicated in a fixed-size (peer, message id) table:
// go-coap's response cache, scanned on every datagram of a peer, otherwise
// caps a busy peer at a few thousand requests per second.
//
// Reuse by LwM2M: Listen with the LwM2M resource tree as the Handler;
// server-initiated requests (Read, Write, Execute, Observe on the device) go
// through the *Conn the device registered from (go-coap's client API works
// on server-side connections); Listener(cc) names its listener.
//
// Protocol packages (coap, lwm2m) give Listen their own resource tree as the
// Handler; they must not import each other, so what they share lives here.
package coapnet

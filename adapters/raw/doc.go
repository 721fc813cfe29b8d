// Package raw is the raw TCP/UDP gateway ("private protocols", EMQX
// ExProto): devices that speak a vendor's own framing over TCP, TLS or UDP.
//
// Bytes are cut into frames by the listener's framer (codec/raw: line,
// delimiter, length-prefixed, fixed, datagram); each frame reaches the
// channel, which runs in one of two modes:
//
//   - config-only: the client is named by its address or by a regex over
//     its first frame, authenticated and connected to the core; every frame
//     is published to up_topic (raw/${clientid}/up) and every message on
//     dn_topic (raw/${clientid}/dn) is written back as a frame.
//   - handler mode: a Handler registered by name in Go (Register) gets
//     OnConnect, OnFrame, OnMessage, OnTimer and OnClose, and drives the
//     core through Conn (Send, Close, Authenticate, SetKeepalive, Publish,
//     Subscribe, Unsubscribe, StartTimer) — the shape of ExProto's
//     ConnectionAdapter, without gRPC.
//
// Everything runs on the connection's own goroutine (a gnet event loop),
// so neither the channel nor a handler needs locks; nothing may block.
// Deliveries are taken from the session's mailbox and acknowledged to it as
// soon as they are written: a raw connection has no acknowledgements.
// README.md documents the configuration and walks through a handler.
package raw

// Package httpgw is a gateway's HTTP listener: net/http serving WebSocket
// (gorilla/websocket, with subprotocol negotiation) and SockJS
// (github.com/igm/sockjs-go/v3: websocket, xhr-streaming and xhr-polling
// transports), and optionally a static page, on one port. STOMP uses it on
// 61614: /stomp/websocket, /stomp and its demo chat at /.
//
// # How a session runs
//
// Every WebSocket connection and every SockJS session gets its own owner
// goroutine (as the TLS listeners' connections do, see gateway/listener): it
// is the only one that calls the adapter's Channel. A reader goroutine
// blocks in the transport's receive and hands each message to the owner.
// Inbound messages are appended to a buffer and cut into frames by the
// channel's codec, so a frame may span messages and a message may hold
// several frames. What the channel writes during one event goes out as one
// message: text when it is UTF-8, binary otherwise on WebSocket; SockJS
// carries text only, so its channels are told (ConnInfo.TextOnly) and refuse
// binary bodies themselves. Notify and Post only set state and wake the
// owner; timers are one time.Timer per session aimed at the earliest
// deadline. The owner loop (Handle side, timers, applying Replies) is
// gateway/internal/chanrun's Runner, shared with the TLS and DTLS listeners;
// this package keeps only what is particular to WebSocket and SockJS.
//
// Bounds: MaxInboundBuffered caps the unread bytes of a session; a write
// that blocks longer than SendTimeout closes a WebSocket (SockJS queues
// outbound messages inside sockjs-go until the client polls them, and the
// session ends when the client stays away longer than its disconnect
// delay). MaxConnections counts live sessions of both kinds.
package httpgw

// Package listener serves the TLS transports: MQTT over TLS (listeners.ssl,
// mTLS included) and MQTT over secure WebSocket (listeners.wss), with
// crypto/tls on net.Conn and a goroutine per connection. It drives the same
// adapters.Channel as the gnet edge (gateway/edge), with the same semantics,
// and knows nothing of any protocol.
//
// # Data flow
//
//	socket ─► tls.Conn ─► [WebSocket frames: unmask, pass payloads on] ─► reader goroutine
//	      ─► owner: Codec.Decode loop ─► HandleIn per frame
//	socket ◄─ one Write per event ([one binary frame]) ◄─ Encode (or Raw as is) ◄─ Replies.Out
//
// A Server is one listener (NewTLS or NewWSS, Start, Addr, Stop,
// Connections). TLSConfig builds a listener's TLS from its ssl_options (TLS
// 1.2 and 1.3 only; verify_peer / fail_if_no_peer_cert for mTLS) and can
// Reload its certificates without dropping clients; adapters/certs reads
// the files, for the DTLS listener too (DTLSServer.ReloadCertificates
// re-reads DTLSConfig.Certs). FromSSL and FromWSS map
// a listener's whole configuration. (What mqtt.peer_cert_as_username and
// peer_cert_as_clientid take from a client certificate is
// adapters.PeerCertValue: the MQTT channel applies it.)
//
// # Threading
//
// Each accepted connection has an owner goroutine. It runs the TLS
// handshake (and, on WSS, the HTTP upgrade) within HandshakeTimeout, asks
// the adapter for a Channel with ConnInfo.TLS set to the handshake's
// ConnectionState, starts the connection's reader goroutine and then serves
// events one at a time: bytes from the reader, Notify and Post (which only
// set state and wake the owner through a one-slot channel), and the
// channel's timers (one time.Timer aimed at the earliest deadline). Only
// the owner calls the channel (the owner loop is gateway/internal/chanrun's
// Runner, shared with the DTLS listener and gateway/httpgw), so its methods
// never run concurrently, and
// only the owner writes to the socket. After the channel asked to shut down
// (or the listener chose to close) no method but Close is called; Close is
// called exactly once, by the owner, last, with nil for a clean end (EOF, a
// WebSocket close), the socket error, the channel's Shutdown reason, the
// listener's reason (edge.ErrInboundTooLarge, edge.ErrIdleTimeout,
// ErrSendTimeout, a WebSocket protocol error), or edge.ErrServerClosed after
// Stop. Events posted after that are dropped.
//
// The reader goroutine only reads: a TLS record, or a WebSocket frame's
// payload in pieces of at most 16 KiB, handed to the owner one at a time;
// it reuses its buffer only after the owner's acknowledgement, so reading
// pauses while the owner is busy (TCP pushes back on the peer).
//
// # Inbound
//
// The owner appends the bytes to the connection's inbound buffer and
// decodes every complete frame. Decoded frames may point into the buffer,
// so consumed bytes are discarded only after HandleIn returned for every
// frame of the batch and their replies are encoded. When the unread bytes
// pass MaxInboundBuffered the channel gets
// HandleFrameError(edge.ErrInboundTooLarge); any other decode error also
// goes to HandleFrameError, whose replies are sent before the close.
//
// # Outbound and slow consumers
//
// All replies of one event (one read, one wake-up, one timer) are encoded
// into the connection's reusable buffer and written with one Write (on WSS,
// one binary frame whose header is filled into room kept at the buffer's
// head, so nothing is copied). Writes are synchronous and bounded by
// SendTimeout (tcp_options.send_timeout): while a write is blocked the owner
// does not call HandleDeliver, so undelivered messages stay in the core's
// bounded session queue; the only outbound bytes the listener holds are the
// one write in progress. A write that blocks longer than SendTimeout closes
// the connection with ErrSendTimeout. Replies.More re-arms the wake-up, so
// the next delivery runs after the peer's pending bytes have had their turn.
//
// # Closing
//
// When the channel shuts down (or the listener closes the connection) the
// last replies are written, then, on WSS, a close frame; then TLS
// close_notify and FIN; the owner then reads and drops whatever the peer
// still sends until it closes its side (closeLinger at most), so that the
// last bytes are not destroyed by a reset. Stop closes every socket at once
// instead.
//
// # WebSocket
//
// RFC 6455 on the TLS stream: the upgrade must be a GET on
// Config.WebSocket.Path with version 13; the first subprotocol the client
// offers that is in Config.WebSocket.Subprotocols is echoed ("mqtt"). MQTT
// travels in binary frames only [MQTT-6.0.0-1]: a text frame closes the
// connection (1003). A packet may span frames and a frame may hold several
// packets; fragmented messages are passed on as they arrive. Pings are
// answered with pongs; a close frame is echoed and the connection closed
// cleanly. Frames from the client must be masked (§5.1); protocol errors
// close with 1002, frames over MaxFrameSize with 1009. Every write is one
// unfragmented binary frame (mqtt_piggyback "multiple").
package listener

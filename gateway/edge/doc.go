// Package edge moves bytes between sockets and adapters: it serves TCP and
// WebSocket listeners on gnet/v2 event loops and drives each connection's
// adapters.Channel. It knows nothing of any protocol; the channel's codec
// frames the bytes and the channel decides what to answer.
//
// # Data flow
//
//	socket ─► OnTraffic: Peek all unread bytes ─► Codec.Decode loop ─► HandleIn per frame
//	socket ◄─ one c.Write per event ◄─ Encode (or Raw as is) into the loop's buffer ◄─ Replies.Out
//
// A Server is one listener (NewTCP or NewWS, Start, Addr, Stop, Connections). For
// every accepted connection OnOpen asks the adapter for a Channel (an error
// refuses the connection), calls Channel.Open, and keeps the connection's
// driver (conn) in the gnet.Conn's context. conn is also the channel's
// adapters.Handle.
//
// # Threading
//
// Every channel method runs on the connection's event loop, one at a time,
// so channels need no locks. Other goroutines reach a channel only through
// its Handle: Notify and Post queue a task on the loop with
// EventLoop().Execute; timer expiries (time.AfterFunc) do the same. After
// OnClose, and after the channel asked to shut down, no channel method but
// Close is called; Close is called exactly once, on the loop, with nil for a
// clean EOF (or a WebSocket close frame), the socket error, the channel's
// Shutdown reason, the edge's reason (ErrInboundTooLarge,
// ErrOutboundTooLarge, ErrIdleTimeout; on WebSocket ErrWSProtocol,
// ErrWSUnsupportedData, ErrWSFrameTooLarge, ErrWSInvalidClose), or
// ErrServerClosed after Stop. Tasks that arrive after close find the closed
// flag and do nothing. No goroutine is started per connection.
//
// # Inbound
//
// Decoded frames may point into the inbound buffer (zero-copy payloads), so
// consumed bytes are discarded only after HandleIn returned for every frame
// of the batch and their replies are encoded. A partial frame waits in
// gnet's inbound buffer; when the unread bytes pass MaxInboundBuffered the
// channel gets HandleFrameError(ErrInboundTooLarge) and the connection is
// closed. Any other decode error goes to HandleFrameError, whose replies are
// sent before the close. gnet cannot pause reading a connection, so push-back
// on publishers is the channel's business (held acknowledgements).
//
// # Outbound and delivery
//
// All replies of one event (one OnTraffic, one drain, one timer) are encoded
// into the loop's reusable buffer and written with one c.Write: gnet writes
// what the socket takes and copies the rest into the connection's outbound
// buffer. The edge never calls Writev (more than 1024 slices fail).
//
// Notify sets the connection's "scheduled" flag; the first caller queues one
// drain, later callers are coalesced. The drain clears the flag, then calls
// HandleDeliver, so a message queued while it runs triggers another drain
// and nothing is lost. Replies.More re-queues the drain.
//
// gnet runs every queued task, including tasks queued while it runs them,
// before it polls its sockets again, so a connection with a deep backlog (or
// producers notifying as fast as the loop drains) would starve the loop's
// reads. Each loop therefore runs at most drainBudget drains between two
// polls; further drains wait in the loop's ready list, and the loop wakes
// itself for them through a socket pair enrolled in it (a byte written to
// one end is an I/O event of that loop), right after it has served its
// sockets.
//
// Slow consumers: while a connection's outbound buffer holds more than
// MaxOutboundBuffered bytes, its drain does not call HandleDeliver; the
// messages stay in the core's bounded session queue and the connection is
// parked. gnet has no "written" callback, so parked connections are
// re-checked every pollInterval by a per-loop timer, and at once when the
// peer sends something. Replies that are not deliveries are always written;
// a connection whose outbound buffer passes twice the bound (a peer that
// keeps asking and never reads) is closed with ErrOutboundTooLarge.
//
// Closing: a Shutdown (or an edge error) stops all channel calls and timers;
// if bytes are still unsent the connection lingers, parked, until gnet has
// flushed them (or closeLinger passes), so the last frame reaches the peer
// before the FIN.
//
// # Timers
//
// Replies.Timers set, replace or cancel a channel's timers by TimerID. Each
// is a reusable time.Timer whose expiry is carried to the loop with Execute;
// the loop fires it only if it is still armed and due, which discards
// expiries of cancelled or replaced timers. Closing stops them all. A
// separate idle timer closes connections that send nothing decodable within
// IdleTimeout of opening.
//
// # WebSocket
//
// A NewWS listener puts an RFC 6455 transport between gnet's bytes and the
// channel's codec, so the channel sees the same byte stream as over TCP:
//
//	socket ─► Upgrade request ─► 101 ─► NewChannel, Open
//	socket ─► frame header ─► unmask payload in place ─► Codec.Decode loop ─► HandleIn
//	socket ◄─ [binary frame header | everything the event encoded] ◄─ Replies.Out
//
// The handshake (RFC 6455 §4.2) waits in gnet's inbound buffer for the end
// of the request's headers (at most 8 KiB, else 431), checks the path (404),
// method, version and key (400, 405, 426), the Origin when configured (403)
// and the subprotocol: the first of the client's values that the listener
// accepts is echoed in Sec-WebSocket-Protocol ("mqtt" for MQTT 5 §6). A
// refused request gets an HTTP error and is closed; no channel is made. The
// channel is made after the request, because ConnInfo.Remote may come from
// a proxy's header (X-Forwarded-For). HandshakeTimeout bounds the request.
//
// Frames are parsed straight from gnet's buffer. A data frame's payload is
// unmasked in place as it arrives, even when only part of the frame has
// come, and decoded directly from there; only the start of an incomplete
// application frame (an MQTT packet cut by a frame or a read) is copied into
// the connection's application buffer, borrowed from the loop while it is
// needed and bounded by MaxInboundBuffered. So gnet keeps at most a frame
// header or a control frame unread, a packet may span frames, a frame may
// hold many packets, and continuation frames are just more payload. Pings
// are answered with the same payload, pongs ignored, a close frame echoed
// and the connection closed (the channel gets nil, as for EOF). Protocol
// errors go to HandleFrameError like codec errors, then a close frame with
// the RFC's code: text frame 1003 [MQTT-6.0.0-1], frame over MaxFrameSize
// or application buffer over its bound 1009, anything else 1002.
//
// Outbound, the first frame a channel's replies produce reserves ten bytes
// for a binary frame header; the header is written right-aligned when the
// event's bytes are complete, and the unused head bytes are skipped by the
// single c.Write. Everything one event writes is thus one binary frame
// (control frames, rare, split it); a Shutdown adds a close frame (1000)
// after the channel's last bytes. Server frames are not masked.
//
// # Memory per connection
//
// The driver keeps no buffers of its own per connection: the read buffer and
// the output buffer belong to the loop, and gnet allocates a connection's
// inbound and outbound buffers only while they hold bytes. A WebSocket
// connection holds an application buffer only while an application frame
// is incomplete; the loop keeps a few for reuse.
package edge

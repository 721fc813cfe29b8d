// Package chanrun is the part the gateway's goroutine-per-connection drivers
// share: the TLS and WSS listener (gateway/listener, a byte stream), the DTLS
// listener (gateway/listener, a datagram association) and the WebSocket and
// SockJS gateway (gateway/httpgw, text messages). Each drives one
// adapters.Channel from one owner goroutine; a Runner is everything about
// that which does not depend on the transport.
//
// Data flow. The Runner is the adapters.Handle the channel gets: Notify sets
// an atomic flag and Post appends to a mutex-guarded slice, and both wake the
// owner through a channel of capacity 1. The owner goroutine calls Run, which
// opens the channel and then loops until the connection starts closing,
// serving three sources besides the driver's own inbound messages:
//
//   - a wake-up: the posted events (HandleEvent), then one HandleDeliver if
//     Notify asked, again later while its Replies say More;
//   - its one time.Timer: the channel's timers that are due (HandleTimeout),
//     and the edge's idle deadline if the driver set one;
//   - the driver's stop channel: the listener is stopping.
//
// Every Replies goes through Apply: Out is encoded (adapters.Raw as it is,
// anything else by the channel's Codec) into one output buffer, Timers are
// set in a small slice of slots, and Shutdown starts closing. At the end of
// each event the buffer goes to the driver's Transport in one Send (one Send
// per frame with Config.PerFrame, for datagrams). Starting to close is final:
// the first reason wins, Post and Notify do nothing from then on, and no
// channel method is called but Close, which the driver makes through
// Runner.Close once its transport is done.
//
// What stays in the drivers: reading (one reader goroutine each, handing its
// buffer over and waiting for an ack), handshakes, WebSocket framing and close
// codes, lingering after a close, what a read error or the stop channel means
// as a close reason, and whether the idle deadline is used.
package chanrun

package adapters

import (
	"crypto/tls"
	"net/netip"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/codec"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
)

// Adapter is one wire protocol. The edge calls NewChannel for every new
// connection and then drives the Channel with the frames its codec decodes.
type Adapter interface {
	// Name is the protocol's config key and "proto" label: "mqtt", "stomp", …
	Name() string
	// NewChannel makes the per-connection protocol state machine. It must not
	// block; an error refuses the connection (the edge closes it and logs why).
	NewChannel(ci ConnInfo, ctx Context) (Channel, error)
}

// ConnInfo describes a new connection to an adapter.
type ConnInfo struct {
	Listener string               // "tcp:default", "ws:default", …
	Local    netip.AddrPort       // our address
	Remote   netip.AddrPort       // the peer's address
	TLS      *tls.ConnectionState // nil on a plain connection
	Handle   Handle               // the edge's side of this connection
	// TextOnly is set when the transport carries text only (SockJS): the
	// channel must refuse and must not send bodies that are not UTF-8.
	TextOnly bool
}

// Handle is the edge's side of one connection. Its methods are safe from any
// goroutine and never block: each schedules work on the connection's own
// goroutine (its event loop).
type Handle interface {
	// Notify schedules Channel.HandleDeliver; calls made before it runs are
	// coalesced into one. The core calls it when it queues messages.
	Notify()
	// Post schedules Channel.HandleEvent(ev).
	Post(ev any)
}

// Channel is one connection's protocol state machine. The edge calls its
// methods only from the connection's own goroutine (its event loop, or the
// goroutine that serves a TLS or WebSocket connection), one at a time, so a
// Channel needs no locks for its own state. No method may block: work that
// waits (an authentication backend, disk, the cluster) is started through the
// Context and its result comes back through HandleEvent.
//
// The Replies a method returns are consumed before the next call, so a
// channel may build them in buffers it reuses.
type Channel interface {
	// Codec is the channel's framing. It may keep state (the MQTT version a
	// CONNECT negotiated), so every channel owns its own.
	Codec() codec.Codec
	// Open is called once, right after NewChannel and before any other
	// method; its Replies usually set the first timer (the time the peer has
	// to send its CONNECT).
	Open() Replies
	// HandleIn handles one decoded frame from the peer.
	HandleIn(f codec.Frame) Replies
	// HandleFrameError handles bytes the codec could not decode. The edge
	// closes the connection after sending the replies, whatever they say.
	HandleFrameError(err error) Replies
	// HandleDeliver sends what the core has queued for the client; the edge
	// calls it after Handle.Notify. More set in the Replies asks the edge to
	// call it again after serving other connections.
	HandleDeliver() Replies
	// HandleTimeout fires a timer the channel set in an earlier Replies.
	HandleTimeout(id TimerID, now time.Time) Replies
	// HandleEvent delivers what was given to Handle.Post: an asynchronous
	// result, or a command such as a kick from the core.
	HandleEvent(ev any) Replies
	// Close tells the channel its connection is gone, for whatever reason
	// (reason is nil for a clean close by the peer). It is called exactly
	// once and is the last call.
	Close(reason error)
}

// TimerID names one of a channel's timers; each channel numbers its own.
type TimerID uint8

// Timer asks the edge to call HandleTimeout(ID) once, After from now. A new
// Timer with the same ID replaces the old one; After <= 0 cancels it.
type Timer struct {
	ID    TimerID
	After time.Duration
}

// Replies is what a channel asks the edge to do after handling an input: send
// frames (in order, in one write), set or cancel timers, and possibly close.
type Replies struct {
	Out      []codec.Frame
	Timers   []Timer
	More     bool  // HandleDeliver only: more is queued; call it again soon
	Shutdown error // non-nil: send Out, then close the connection for this reason
}

// Raw is a frame that is already encoded; the edge writes it as it is,
// without calling the codec. Channels use it for bytes shared between many
// connections (a PUBLISH encoded once for every subscriber).
type Raw []byte

// RawBytes returns the bytes of an already encoded frame, a Raw or a *Raw
// (a channel that reuses one buffer for its replies puts a pointer to it in
// Out once, where boxing the slice would allocate on every reply), and
// whether f is one. The edge consumes them before the channel's call returns.
func RawBytes(f codec.Frame) ([]byte, bool) {
	switch r := f.(type) {
	case Raw:
		return r, true
	case *Raw:
		return *r, true
	}
	return nil, false
}

// AuthRequest is what a client presents to authenticate.
type AuthRequest struct {
	Client   *core.ClientInfo
	Password []byte
}

// Context is the core as one adapter sees it. The gateway implements it over
// core/broker and the policy hooks; adapters never reach the broker another
// way. Every method is safe from any goroutine and returns promptly.
type Context interface {
	// Logger carries the listener's fields; channels add their own.
	Logger() *zerolog.Logger
	// Authenticate checks a client's credentials; nil means accepted.
	Authenticate(req AuthRequest) error
	// Authorize decides whether the client may publish to or subscribe to a
	// topic (authorization.sources, then authorization.no_match).
	Authorize(c *core.ClientInfo, action core.Action, topic string, qos core.QoS, retain bool) bool
	// DenyAction is authorization.deny_action: "ignore" or "disconnect".
	DenyAction() string

	Connect(req broker.ConnectRequest) broker.ConnectResult
	Disconnect(clientID string, conn broker.Conn, sendWill bool, newExpiry *time.Duration, reason string)
	Publish(m *core.Message) (broker.PublishResult, error)
	Subscribe(clientID string, conn broker.Conn, filter string, opts core.SubOptions) (broker.SubscribeResult, error)
	Unsubscribe(clientID string, conn broker.Conn, filter string) (bool, error)
}

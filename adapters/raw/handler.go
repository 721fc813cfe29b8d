package raw

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
)

// Handler is a private protocol written in Go: the shape of EMQX ExProto's
// ConnectionAdapter. The channel calls it on the connection's own goroutine
// (its event loop), one call at a time, so a Handler needs no locks for its
// own state; a Handler is made per connection by its factory. No callback
// may block: it runs on an event loop shared with other connections.
type Handler interface {
	// OnConnect is called once when the connection opens; an error closes it.
	OnConnect(c Conn) error
	// OnFrame is called with each frame the framer cut. frame points into
	// the connection's read buffer: copy what must outlive the call.
	OnFrame(c Conn, frame []byte)
	// OnMessage is called with each message delivered to the connection's
	// subscriptions (topics without the mountpoint). It is acknowledged to
	// the core once OnMessage returns.
	OnMessage(c Conn, m *core.Message)
	// OnTimer is called when a timer set with StartTimer fires.
	OnTimer(c Conn, name string)
	// OnClose is called once when the connection is gone; reason is nil for
	// a clean close by the peer. c's methods do nothing by then.
	OnClose(c Conn, reason error)
}

// Conn is a handler's view of its connection and of the core. Its methods
// may only be called from inside the Handler's callbacks (that is, on the
// connection's goroutine); what they send is written when the callback
// returns, in order.
type Conn interface {
	// Peer is the remote address.
	Peer() netip.AddrPort
	// Listener is the listener's name ("tcp:default").
	Listener() string
	// ClientID is the id given to Authenticate; "" before.
	ClientID() string
	// Logger is the listener's logger; add the connection's fields with Log.
	Logger() *zerolog.Logger
	// Log adds the connection's fields (proto, listener, peer, clientid) to e.
	Log(e *zerolog.Event) *zerolog.Event

	// Send writes frame with the listener's framing (the framer adds the
	// delimiter or length header). The bytes are copied.
	Send(frame []byte)
	// Close closes the connection after what was sent; reason is logged and
	// given to OnClose.
	Close(reason error)
	// Authenticate names the client and checks its credentials with the
	// core's authentication; on success the client is connected to the
	// core (a session is opened, an older connection with the same id is
	// taken over). It must succeed before Publish and Subscribe.
	Authenticate(clientID, username string, password []byte) error
	// SetKeepalive sets the idle timeout: no frame for d closes the
	// connection. 0 disables it.
	SetKeepalive(d time.Duration)
	// Publish publishes a message as the client, after the core's
	// authorization; the payload is copied.
	Publish(topic string, payload []byte, qos core.QoS, retain bool) error
	// Subscribe subscribes the client to filter, after authorization;
	// matching messages reach OnMessage.
	Subscribe(filter string, qos core.QoS) error
	// Unsubscribe removes a subscription.
	Unsubscribe(filter string) error
	// StartTimer calls OnTimer(name) once after d; a timer of the same name
	// is replaced; d <= 0 cancels it. At most MaxTimers names.
	StartTimer(name string, d time.Duration)
}

// MaxTimers bounds the distinct timer names one connection's handler uses.
const MaxTimers = 64

// Factory makes the Handler of one new connection.
type Factory func() Handler

// registry is the one mutable global ARCHITECTURE.md allows: the adapter
// registry, filled from init functions or main before listeners start.
var registry = struct {
	sync.RWMutex
	m map[string]Factory
}{m: map[string]Factory{}}

// Register makes a handler available to the config key handler: name. It
// panics on an empty name, a nil factory or a name registered twice: those
// are programming errors found at start-up.
func Register(name string, f Factory) {
	if name == "" || f == nil {
		panic("raw: Register needs a name and a factory")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[name]; dup {
		panic(fmt.Sprintf("raw: handler %q registered twice", name))
	}
	registry.m[name] = f
}

func lookup(name string) Factory {
	registry.RLock()
	defer registry.RUnlock()
	return registry.m[name]
}

func registered() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.m))
	for n := range registry.m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

package edge

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults for TCPConfig. They are written once, here; configs/manifold.yaml
// documents them.
const (
	// DefaultName is the listener name used when TCPConfig.Name is empty.
	DefaultName = "tcp:default"
	// DefaultMaxInboundBuffered bounds the unread bytes of one connection: a
	// partial frame may wait this long for its end. The gateway sets it to the
	// adapter's maximum packet size plus 1 MiB; the default suits frames up to
	// 1 MiB.
	DefaultMaxInboundBuffered = 2 << 20
	// DefaultMaxOutboundBuffered is the slow-consumer bound: above it the edge
	// stops asking the channel for deliveries until the peer reads.
	DefaultMaxOutboundBuffered = 8 << 20
	// DefaultIdleTimeout is how long a new connection may go without sending
	// one decodable frame.
	DefaultIdleTimeout = 15 * time.Second

	// readBufferCap is gnet's per-loop read buffer (one read per readable
	// event); it is shared by every connection of the loop, so it costs no
	// memory per connection.
	readBufferCap = 64 << 10
)

// TCPConfig configures one TCP listener served on gnet event loops. The zero
// value of a numeric field means its default; use DefaultTCPConfig for the
// defaults of the boolean fields too.
type TCPConfig struct {
	// Name is the listener's name, "tcp:default"; it is ConnInfo.Listener and
	// the "listener" log field, and names config keys in errors
	// (listeners.tcp.default.bind).
	Name string `yaml:"name"`
	// Bind is host:port ("0.0.0.0:1883", "127.0.0.1:0" for a free port).
	// A scheme prefix (tcp4://, tcp6://) selects the address family.
	Bind string `yaml:"bind"`
	// MaxConnections refuses connections beyond this many; 0 is unlimited.
	MaxConnections int `yaml:"max_connections"`
	// Multicore runs one event loop per CPU; otherwise one loop.
	Multicore bool `yaml:"multicore"`
	// Loops, when > 0, is the exact number of event loops (overrides Multicore).
	Loops int `yaml:"loops"`
	// MaxInboundBuffered bounds a connection's unread bytes (an incomplete
	// frame): beyond it the channel gets HandleFrameError(ErrInboundTooLarge)
	// and the connection is closed. It must exceed the largest frame.
	MaxInboundBuffered int `yaml:"max_inbound_buffered"`
	// MaxOutboundBuffered is the slow-consumer bound: while more than this
	// many bytes wait to be sent, HandleDeliver is not called and messages
	// stay in the core's bounded session queue. A connection whose outbound
	// bytes pass twice this bound (a peer that sends requests but never
	// reads the replies) is closed with ErrOutboundTooLarge.
	MaxOutboundBuffered int `yaml:"max_outbound_buffered"`
	// TCPNoDelay disables Nagle's algorithm (lower latency for small frames).
	TCPNoDelay bool `yaml:"tcp_nodelay"`
	// IdleTimeout closes a connection that has sent nothing decodable this
	// long after it opened (a backstop under the channel's own timers);
	// negative disables it.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

// DefaultTCPConfig returns a TCP listener config with every default set,
// bound to 0.0.0.0:1883.
func DefaultTCPConfig() TCPConfig {
	return TCPConfig{
		Name:                DefaultName,
		Bind:                "0.0.0.0:1883",
		Multicore:           true,
		MaxInboundBuffered:  DefaultMaxInboundBuffered,
		MaxOutboundBuffered: DefaultMaxOutboundBuffered,
		TCPNoDelay:          true,
		IdleTimeout:         DefaultIdleTimeout,
	}
}

// withDefaults fills the zero numeric fields with their defaults.
func (c TCPConfig) withDefaults() TCPConfig {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.MaxInboundBuffered == 0 {
		c.MaxInboundBuffered = DefaultMaxInboundBuffered
	}
	if c.MaxOutboundBuffered == 0 {
		c.MaxOutboundBuffered = DefaultMaxOutboundBuffered
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	return c
}

// key is the config path of this listener, "listeners.tcp.default".
func (c TCPConfig) key() string {
	name := c.Name
	if name == "" {
		name = DefaultName
	}
	return "listeners." + strings.ReplaceAll(name, ":", ".")
}

// Validate checks the config; its errors name the offending key.
func (c TCPConfig) Validate() error {
	k := c.key()
	var errs []error
	if c.Bind == "" {
		errs = append(errs, fmt.Errorf("%s.bind: must not be empty", k))
	}
	if c.MaxConnections < 0 {
		errs = append(errs, fmt.Errorf("%s.max_connections: must be >= 0, got %d", k, c.MaxConnections))
	}
	if c.Loops < 0 {
		errs = append(errs, fmt.Errorf("%s.loops: must be >= 0, got %d", k, c.Loops))
	}
	if c.MaxInboundBuffered < 0 {
		errs = append(errs, fmt.Errorf("%s.max_inbound_buffered: must be >= 0, got %d", k, c.MaxInboundBuffered))
	}
	if c.MaxOutboundBuffered < 0 {
		errs = append(errs, fmt.Errorf("%s.max_outbound_buffered: must be >= 0, got %d", k, c.MaxOutboundBuffered))
	}
	return errors.Join(errs...)
}

// Errors the edge gives as close reasons (Channel.Close) or returns.
var (
	// ErrInboundTooLarge is given to HandleFrameError (and is the close
	// reason) when a connection's unread bytes pass MaxInboundBuffered.
	ErrInboundTooLarge = errors.New("edge: unread inbound bytes over the limit")
	// ErrOutboundTooLarge closes a connection whose unsent bytes pass twice
	// MaxOutboundBuffered.
	ErrOutboundTooLarge = errors.New("edge: slow consumer: unsent bytes over the limit")
	// ErrIdleTimeout closes a connection that sent nothing decodable within
	// IdleTimeout of opening.
	ErrIdleTimeout = errors.New("edge: nothing decodable received in time")
	// ErrServerClosed is the close reason of connections closed by Stop.
	ErrServerClosed = errors.New("edge: listener stopped")
	// ErrTooManyConnections is logged when MaxConnections refuses a connection.
	ErrTooManyConnections = errors.New("edge: too many connections")
	// ErrNoProgress is given to HandleFrameError when a codec returns a frame
	// without consuming bytes (a codec bug that would otherwise spin).
	ErrNoProgress = errors.New("edge: codec consumed no bytes")
	// ErrStarted is returned by Start on a server that was already started.
	ErrStarted = errors.New("edge: listener already started")
	// ErrLingerTimeout is logged when a closing connection's last bytes
	// could not be sent within the linger time (5s); the channel still gets
	// the reason it closed for.
	ErrLingerTimeout = errors.New("edge: last bytes not sent in time")
)

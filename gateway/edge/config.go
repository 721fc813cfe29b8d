package edge

import (
	"errors"
	"fmt"
	"net/netip"
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
	// Key, when set, is the config key path errors name
	// ("gateway.stomp.listeners.tcp.default"); otherwise it is derived from
	// Name ("listeners.tcp.default").
	Key string `yaml:"-"`
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
	if c.Key != "" {
		return c.Key
	}
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
	// ErrHandshakeTimeout closes a WebSocket connection whose Upgrade
	// request was not complete within HandshakeTimeout.
	ErrHandshakeTimeout = errors.New("edge: websocket handshake not done in time")
	// ErrWSHandshake wraps the reason an Upgrade request was refused (the
	// HTTP status and a short text); it is logged, no channel exists yet.
	ErrWSHandshake = errors.New("edge: websocket handshake refused")
	// ErrWSProtocol is the close reason (close code 1002) of a WebSocket
	// peer that broke RFC 6455: an unmasked frame, reserved bits or
	// opcodes, a fragmented or oversized control frame, a continuation
	// out of place, a malformed close frame. It wraps the detail.
	ErrWSProtocol = errors.New("edge: websocket protocol error")
	// ErrWSUnsupportedData is the close reason (close code 1003) of a
	// text frame: MQTT travels in binary frames only [MQTT-6.0.0-1].
	ErrWSUnsupportedData = errors.New("edge: websocket text frame (binary only)")
	// ErrWSFrameTooLarge is the close reason (close code 1009) of a frame
	// whose payload is over MaxFrameSize.
	ErrWSFrameTooLarge = errors.New("edge: websocket frame over max_frame_size")
	// ErrWSInvalidClose is the close reason (close code 1007) of a close
	// frame whose reason text is not UTF-8.
	ErrWSInvalidClose = errors.New("edge: websocket close reason is not UTF-8")
	// ErrLingerTimeout is logged when a closing connection's last bytes
	// could not be sent within the linger time (5s); the channel still gets
	// the reason it closed for.
	ErrLingerTimeout = errors.New("edge: last bytes not sent in time")
)

// Defaults for WSConfig, EMQX's websocket.* defaults where EMQX has one.
const (
	// DefaultWSName is the listener name used when a WSConfig's Name is empty.
	DefaultWSName = "ws:default"
	// DefaultWSPath is the HTTP path MQTT over WebSocket clients connect to.
	DefaultWSPath = "/mqtt"
	// DefaultHandshakeTimeout bounds the HTTP Upgrade request of a new
	// WebSocket connection; it applies even when IdleTimeout is disabled.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultProxyAddressHeader and DefaultProxyPortHeader name the headers
	// a reverse proxy puts the client's address and port in.
	DefaultProxyAddressHeader = "x-forwarded-for"
	DefaultProxyPortHeader    = "x-forwarded-port"

	// maxHandshakeBytes bounds the Upgrade request (request line and
	// headers): beyond it the answer is 431.
	maxHandshakeBytes = 8 << 10
)

// DefaultSubprotocols returns the Sec-WebSocket-Protocol values accepted by
// default: "mqtt" (MQTT 3.1.1 and 5.0 §6), "mqttv3.1" (MQTT 3.1) and the
// forms EMQX also accepts.
func DefaultSubprotocols() []string {
	return []string{"mqtt", "mqttv3.1", "mqtt-v3", "mqtt-v3.1.1", "mqtt-v5"}
}

// WSConfig configures one MQTT over WebSocket listener served on gnet event
// loops: the TCP listener fields, plus the HTTP Upgrade handshake and the
// WebSocket framing (RFC 6455). The zero value of a field means its default
// where the field says so; DefaultWSConfig sets every default.
type WSConfig struct {
	// TCPConfig is the listener itself; Name defaults to "ws:default".
	// MaxInboundBuffered bounds the unmasked bytes of an incomplete
	// application frame (an MQTT packet spread over WebSocket frames).
	TCPConfig `yaml:",inline"`
	// Path is the HTTP path of the Upgrade request (the query string is
	// ignored); another path is answered 404. Empty means "/mqtt".
	Path string `yaml:"mqtt_path"`
	// Subprotocols are the accepted Sec-WebSocket-Protocol values; the
	// first of the client's values (in the client's order) that is listed
	// is echoed. Empty means DefaultSubprotocols.
	Subprotocols []string `yaml:"supported_subprotocols"`
	// FailIfNoSubprotocol answers 400 to an Upgrade that offers no
	// subprotocol, or none of Subprotocols; otherwise such a client is
	// accepted without a Sec-WebSocket-Protocol in the response.
	FailIfNoSubprotocol bool `yaml:"fail_if_no_subprotocol"`
	// MaxFrameSize bounds the payload of one inbound WebSocket frame: a
	// larger frame closes the connection with 1009. 0 is unlimited.
	MaxFrameSize int `yaml:"max_frame_size"`
	// CheckOrigin accepts only Upgrades whose Origin is in AllowedOrigins
	// (others get 403).
	CheckOrigin bool `yaml:"check_origin_enable"`
	// AllowedOrigins are the accepted Origin values ("http://host:port")
	// when CheckOrigin is set; compared without regard to case.
	AllowedOrigins []string `yaml:"check_origins"`
	// AllowOriginAbsence accepts an Upgrade without Origin (a non-browser
	// client) when CheckOrigin is set.
	AllowOriginAbsence bool `yaml:"allow_origin_absence"`
	// ProxyAddressHeader names the header a reverse proxy puts the client's
	// address in ("x-forwarded-for"; the first address of the list is the
	// client). When present and valid it is ConnInfo.Remote's address.
	// Empty disables it.
	ProxyAddressHeader string `yaml:"proxy_address_header"`
	// ProxyPortHeader names the header with the client's port
	// ("x-forwarded-port"); without it the socket's peer port is kept.
	// Empty disables it.
	ProxyPortHeader string `yaml:"proxy_port_header"`
	// TrustedProxies, when not empty, restricts the proxy headers to
	// connections from these networks; from any other peer they are
	// ignored. Empty trusts every peer (EMQX's behaviour), which lets any
	// client choose the address ACL rules see.
	TrustedProxies []netip.Prefix `yaml:"trusted_proxies"`
	// HandshakeTimeout closes a connection whose Upgrade request is not
	// complete this long after it opened. 0 means DefaultHandshakeTimeout;
	// negative disables it.
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
}

// DefaultWSConfig returns a WebSocket listener config with every default
// set (EMQX's), bound to 0.0.0.0:8083.
func DefaultWSConfig() WSConfig {
	tcp := DefaultTCPConfig()
	tcp.Name = DefaultWSName
	tcp.Bind = "0.0.0.0:8083"
	return WSConfig{
		TCPConfig:           tcp,
		Path:                DefaultWSPath,
		Subprotocols:        DefaultSubprotocols(),
		FailIfNoSubprotocol: true,
		AllowOriginAbsence:  true,
		ProxyAddressHeader:  DefaultProxyAddressHeader,
		ProxyPortHeader:     DefaultProxyPortHeader,
		HandshakeTimeout:    DefaultHandshakeTimeout,
	}
}

// withDefaults fills the zero fields that have defaults.
func (c WSConfig) withDefaults() WSConfig {
	if c.Name == "" {
		c.Name = DefaultWSName
	}
	c.TCPConfig = c.TCPConfig.withDefaults()
	if c.Path == "" {
		c.Path = DefaultWSPath
	}
	if len(c.Subprotocols) == 0 {
		c.Subprotocols = DefaultSubprotocols()
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	return c
}

// Validate checks the config; its errors name the offending key
// (listeners.ws.default.websocket.mqtt_path).
func (c WSConfig) Validate() error {
	if c.Name == "" {
		c.Name = DefaultWSName
	}
	k := c.key() + ".websocket"
	errs := []error{c.TCPConfig.Validate()}
	if c.Path != "" && !strings.HasPrefix(c.Path, "/") {
		errs = append(errs, fmt.Errorf("%s.mqtt_path: must start with /, got %q", k, c.Path))
	}
	if strings.ContainsAny(c.Path, "? \t\r\n") {
		errs = append(errs, fmt.Errorf("%s.mqtt_path: must be a plain path, got %q", k, c.Path))
	}
	for i, p := range c.Subprotocols {
		if !isToken(p) {
			errs = append(errs, fmt.Errorf("%s.supported_subprotocols.%d: %q is not an HTTP token", k, i+1, p))
		}
	}
	if c.MaxFrameSize < 0 {
		errs = append(errs, fmt.Errorf("%s.max_frame_size: must be >= 0, got %d", k, c.MaxFrameSize))
	}
	if c.ProxyAddressHeader != "" && !isToken(c.ProxyAddressHeader) {
		errs = append(errs, fmt.Errorf("%s.proxy_address_header: %q is not a header name", k, c.ProxyAddressHeader))
	}
	if c.ProxyPortHeader != "" && !isToken(c.ProxyPortHeader) {
		errs = append(errs, fmt.Errorf("%s.proxy_port_header: %q is not a header name", k, c.ProxyPortHeader))
	}
	for i, p := range c.TrustedProxies {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("%s.trusted_proxies.%d: invalid network", k, i+1))
		}
	}
	return errors.Join(errs...)
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2).
func isToken[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChar(s[i]) {
			return false
		}
	}
	return true
}

func tokenChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
}

package listener

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/manifold-iot/manifold/gateway/config"
	"github.com/manifold-iot/manifold/gateway/edge"
)

// Defaults for Config. They are written once, here; configs/manifold.yaml
// documents the keys they come from.
const (
	// DefaultHandshakeTimeout bounds the TLS handshake and, on a WSS
	// listener, the WebSocket upgrade after it (ssl_options.handshake_timeout).
	DefaultHandshakeTimeout = 15 * time.Second
	// DefaultSendTimeout closes a connection whose write blocks this long: a
	// peer that does not read (tcp_options.send_timeout).
	DefaultSendTimeout = 15 * time.Second
	// DefaultIdleTimeout is how long a new connection may go without sending
	// one decodable frame.
	DefaultIdleTimeout = 15 * time.Second
	// DefaultMaxInboundBuffered bounds the unread bytes of one connection
	// (an incomplete frame), as in the edge.
	DefaultMaxInboundBuffered = edge.DefaultMaxInboundBuffered
	// DefaultWebSocketPath is the HTTP path of MQTT over WebSocket.
	DefaultWebSocketPath = "/mqtt"

	// readBufferSize is the most one read hands to the connection's owner:
	// one TLS record's plaintext.
	readBufferSize = 16 << 10
	// maxUpgradeRequest bounds the WebSocket upgrade request (request line
	// and headers).
	maxUpgradeRequest = 16 << 10
	// closeLinger bounds how long a closing connection waits for the peer to
	// close its side after our last bytes and FIN (so they are not lost to
	// a reset).
	closeLinger = 5 * time.Second
	// maxKeptBuffer is the largest inbound or outbound buffer a connection
	// keeps between events.
	maxKeptBuffer = 1 << 20
)

// Config configures one TLS (NewTLS) or secure WebSocket (NewWSS) listener.
// The zero value of a numeric field means its default; use DefaultConfig,
// FromSSL or FromWSS for the boolean fields too.
type Config struct {
	// Name is the listener's name, "ssl:default" or "wss:default": it is
	// ConnInfo.Listener and the "listener" log field, and names config keys
	// in errors (listeners.ssl.default.bind).
	Name string
	// Key, when set, is the config key path errors name
	// ("gateway.stomp.listeners.ssl.default"); otherwise it is derived from
	// Name ("listeners.ssl.default").
	Key string
	// Bind is host:port ("0.0.0.0:8883", "127.0.0.1:0" for a free port). A
	// scheme prefix (tcp4://, tcp6://) selects the address family.
	Bind string
	// MaxConnections refuses connections beyond this many (counting those
	// still in their handshake); 0 is unlimited.
	MaxConnections int
	// TLS is the listener's certificate and client verification, from
	// TLSConfig; required.
	TLS *TLS
	// HandshakeTimeout bounds the TLS handshake, and the WebSocket upgrade
	// that follows it on a WSS listener.
	HandshakeTimeout time.Duration
	// SendTimeout closes a connection whose write blocks longer: the
	// slow-consumer bound (see the package doc).
	SendTimeout time.Duration
	// IdleTimeout closes a connection that has sent nothing decodable this
	// long after its handshake (a backstop under the channel's own timers);
	// negative disables it.
	IdleTimeout time.Duration
	// MaxInboundBuffered bounds a connection's unread bytes (an incomplete
	// frame): beyond it the channel gets HandleFrameError(ErrInboundTooLarge)
	// and the connection is closed. It must exceed the largest frame.
	MaxInboundBuffered int
	// TCPNoDelay disables Nagle's algorithm.
	TCPNoDelay bool
	// SocketBuffer, when > 0, sets the socket's send and receive buffers.
	SocketBuffer int
	// WebSocket configures the WebSocket layer of a WSS listener; NewTLS
	// ignores it.
	WebSocket WebSocketConfig
}

// WebSocketConfig configures MQTT over WebSocket (RFC 6455) on a WSS
// listener.
type WebSocketConfig struct {
	// Path is the HTTP path clients upgrade on; other paths get 404.
	Path string
	// Subprotocols are the accepted Sec-WebSocket-Protocol values; the
	// first the client offers that is in this list is echoed.
	Subprotocols []string
	// FailIfNoSubprotocol refuses (400) an upgrade that offers none of
	// Subprotocols.
	FailIfNoSubprotocol bool
	// MaxFrameSize closes the connection (1009) on a larger frame; 0 is
	// unlimited (MaxInboundBuffered still bounds an incomplete packet).
	MaxFrameSize int64
	// CheckOrigin only accepts the Origins in Origins (403 otherwise).
	CheckOrigin bool
	// Origins are the accepted Origin values when CheckOrigin is set.
	Origins []string
	// AllowOriginAbsence accepts an upgrade without an Origin header when
	// CheckOrigin is set.
	AllowOriginAbsence bool
}

// DefaultConfig returns a listener config with every default set, for the
// listener named name ("ssl:default"), bound to bind, serving tlsc.
func DefaultConfig(name, bind string, tlsc *TLS) Config {
	return Config{
		Name:               name,
		Bind:               bind,
		TLS:                tlsc,
		HandshakeTimeout:   DefaultHandshakeTimeout,
		SendTimeout:        DefaultSendTimeout,
		IdleTimeout:        DefaultIdleTimeout,
		MaxInboundBuffered: DefaultMaxInboundBuffered,
		TCPNoDelay:         true,
		WebSocket: WebSocketConfig{
			Path:               DefaultWebSocketPath,
			Subprotocols:       []string{"mqtt", "mqttv3.1", "mqtt-v3", "mqtt-v3.1.1", "mqtt-v5"},
			AllowOriginAbsence: true,
		},
	}
}

// FromSSL maps listeners.ssl.<name> onto a Config, loading its certificates
// (TLSConfig); errors name the offending key. resolve turns relative file
// paths into absolute ones (config.Config.ResolvePath); nil leaves them.
func FromSSL(name string, l *config.SSLListener, resolve func(string) string) (Config, error) {
	if l == nil {
		return Config{}, fmt.Errorf("listeners.ssl.%s: missing", name)
	}
	return fromListener(config.KindSSL, name, &l.Listener, l.SSLOptions, nil, resolve)
}

// FromWSS maps listeners.wss.<name> onto a Config, as FromSSL does.
func FromWSS(name string, l *config.WSSListener, resolve func(string) string) (Config, error) {
	if l == nil {
		return Config{}, fmt.Errorf("listeners.wss.%s: missing", name)
	}
	return fromListener(config.KindWSS, name, &l.Listener, l.SSLOptions, &l.WebSocket, resolve)
}

// FromGatewaySSL maps a gateway's TLS listener
// (gateway.<gw>.listeners.ssl.<name>) onto a Config named "<gw>:ssl:<name>",
// as FromSSL does.
func FromGatewaySSL(gw, name string, l *config.SSLListener, resolve func(string) string) (Config, error) {
	key := "gateway." + gw + ".listeners.ssl." + name
	if l == nil {
		return Config{}, fmt.Errorf("%s: missing", key)
	}
	c, err := fromListenerKey(key, config.KindSSL, gw+":ssl:"+name, &l.Listener, l.SSLOptions, nil, resolve)
	return c, err
}

func fromListener(kind, name string, l *config.Listener, ssl config.SSLOptions, ws *config.WebSocketOptions,
	resolve func(string) string) (Config, error) {
	return fromListenerKey("", kind, kind+":"+name, l, ssl, ws, resolve)
}

// fromListenerKey is fromListener for the listener called name at key path
// key ("" derives it from name).
func fromListenerKey(key, kind, name string, l *config.Listener, ssl config.SSLOptions, ws *config.WebSocketOptions,
	resolve func(string) string) (Config, error) {
	explicit := key != ""
	if !explicit {
		key = "listeners." + strings.ReplaceAll(name, ":", ".")
	}
	if l.ProxyProtocol {
		// A PROXY header in front of the ClientHello would fail every
		// handshake; say so at start instead.
		return Config{}, fmt.Errorf("%s.proxy_protocol: not supported on %s listeners yet", key, kind)
	}
	t, err := TLSConfig(key, ssl, resolve)
	if err != nil {
		return Config{}, err
	}
	c := DefaultConfig(name, l.Bind.String(), t)
	if explicit {
		c.Key = key
	}
	c.MaxConnections = l.MaxConnections
	c.HandshakeTimeout = time.Duration(ssl.HandshakeTimeout)
	c.SendTimeout = time.Duration(l.TCPOptions.SendTimeout)
	c.TCPNoDelay = l.TCPOptions.Nodelay
	c.SocketBuffer = int(l.TCPOptions.Buffer)
	if ws != nil {
		if ws.MQTTPath != "" && !strings.HasPrefix(ws.MQTTPath, "/") {
			return Config{}, fmt.Errorf("%s.websocket.mqtt_path: must start with /, got %q", key, ws.MQTTPath)
		}
		c.WebSocket = WebSocketConfig{
			Path:                ws.MQTTPath,
			Subprotocols:        ws.SupportedSubprotocols,
			FailIfNoSubprotocol: ws.FailIfNoSubprotocol,
			MaxFrameSize:        int64(ws.MaxFrameSize),
			CheckOrigin:         ws.CheckOriginEnable,
			Origins:             ws.CheckOrigins,
			AllowOriginAbsence:  ws.AllowOriginAbsence,
		}
	}
	return c, c.Validate()
}

// withDefaults fills the zero numeric fields with their defaults.
func (c Config) withDefaults() Config {
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxInboundBuffered == 0 {
		c.MaxInboundBuffered = DefaultMaxInboundBuffered
	}
	if c.WebSocket.Path == "" {
		c.WebSocket.Path = DefaultWebSocketPath
	}
	return c
}

// key is the config path of this listener, "listeners.ssl.default".
func (c Config) key(kind string) string {
	if c.Key != "" {
		return c.Key
	}
	name := c.Name
	if name == "" {
		name = kind + ":default"
	}
	return "listeners." + strings.ReplaceAll(name, ":", ".")
}

// Validate checks the config; its errors name the offending key.
func (c Config) Validate() error {
	k := c.key("ssl")
	var errs []error
	if c.Bind == "" {
		errs = append(errs, fmt.Errorf("%s.bind: must not be empty", k))
	}
	if c.TLS == nil {
		errs = append(errs, fmt.Errorf("%s.ssl_options: %w", k, ErrNoTLS))
	}
	if c.MaxConnections < 0 {
		errs = append(errs, fmt.Errorf("%s.max_connections: must be >= 0, got %d", k, c.MaxConnections))
	}
	if c.HandshakeTimeout < 0 {
		errs = append(errs, fmt.Errorf("%s.ssl_options.handshake_timeout: must be > 0, got %s", k, c.HandshakeTimeout))
	}
	if c.SendTimeout < 0 {
		errs = append(errs, fmt.Errorf("%s.tcp_options.send_timeout: must be > 0, got %s", k, c.SendTimeout))
	}
	if c.MaxInboundBuffered < 0 {
		errs = append(errs, fmt.Errorf("%s.max_inbound_buffered: must be >= 0, got %d", k, c.MaxInboundBuffered))
	}
	if c.WebSocket.MaxFrameSize < 0 {
		errs = append(errs, fmt.Errorf("%s.websocket.max_frame_size: must be >= 0, got %d", k, c.WebSocket.MaxFrameSize))
	}
	return errors.Join(errs...)
}

// Errors the listener returns or gives as close reasons (Channel.Close). The
// reasons it shares with the gnet edge are the edge's own values
// (edge.ErrServerClosed, edge.ErrInboundTooLarge, edge.ErrIdleTimeout,
// edge.ErrNoProgress), so errors.Is works the same on every transport.
var (
	// ErrNoTLS is returned by Validate when Config.TLS is nil.
	ErrNoTLS = errors.New("listener: no TLS configuration")
	// ErrSendTimeout closes a connection whose write blocked longer than
	// SendTimeout: a slow consumer.
	ErrSendTimeout = errors.New("listener: slow consumer: write blocked longer than send_timeout")
	// ErrWebSocketProtocol closes a WebSocket connection that broke RFC 6455
	// (unmasked, reserved bits or opcodes, bad fragmentation); the peer gets
	// close code 1002.
	ErrWebSocketProtocol = errors.New("listener: websocket protocol error")
	// ErrWebSocketText closes a WebSocket connection that sent a text frame:
	// MQTT travels in binary frames only [MQTT-6.0.0-1]; close code 1003.
	ErrWebSocketText = errors.New("listener: websocket text frame (MQTT needs binary frames)")
	// ErrWebSocketFrameTooLarge closes a WebSocket connection whose frame is
	// over MaxFrameSize; close code 1009.
	ErrWebSocketFrameTooLarge = errors.New("listener: websocket frame over max_frame_size")
)

package config

import "time"

// RawGateway is gateway.raw: devices speaking their own framing over TCP,
// TLS or UDP, one client each (adapters/raw/README.md describes every key).
// EMQX names its equivalent gateway exproto; Manifold's speaks no gRPC, so
// the name is raw and exproto is not a synonym.
type RawGateway struct {
	// GatewayCommon's idle_timeout is not used by raw: each listener's own
	// idle_timeout is the keepalive.
	GatewayCommon `yaml:",inline"`
	// Listeners are the gateway's listeners by type and name; each carries
	// its own framing and mode.
	Listeners RawListeners `yaml:"listeners"`
}

// RawListeners are the raw gateway's listeners by type and name.
type RawListeners struct {
	// TCP are raw TCP listeners.
	TCP map[string]*RawTCPListener `yaml:"tcp"`
	// SSL are raw TLS listeners.
	SSL map[string]*RawSSLListener `yaml:"ssl"`
	// UDP are raw UDP listeners (one session per peer address).
	UDP map[string]*RawUDPListener `yaml:"udp"`
}

// RawOptions are one raw listener's protocol settings (adapters/raw.Config).
type RawOptions struct {
	// Framing cuts the byte stream into frames.
	Framing RawFraming `yaml:"framing"`
	// Handler names a registered handler (handler mode); "" is
	// config-only mode.
	Handler string `yaml:"handler"`
	// UpTopic is where each frame is published (config-only mode).
	UpTopic string `yaml:"up_topic"`
	// UpQoS is the uplink publish's QoS.
	UpQoS int `yaml:"up_qos" range:"0..2"`
	// UpRetain is the uplink publish's retain flag.
	UpRetain bool `yaml:"up_retain"`
	// DnTopic is subscribed per connection; each message is written as a
	// frame. "" is no downlink.
	DnTopic string `yaml:"dn_topic"`
	// DnQoS is the downlink subscription's QoS.
	DnQoS int `yaml:"dn_qos" range:"0..2"`
	// ClientIDRegex takes the client id from the first frame's first
	// capture group; "" uses the peer address.
	ClientIDRegex string `yaml:"clientid_regex"`
	// PublishIDFrame also publishes the frame the id was taken from.
	PublishIDFrame bool `yaml:"publish_id_frame"`
	// IdleTimeout closes a connection without a frame for this long; 0
	// disables.
	IdleTimeout Duration `yaml:"idle_timeout" range:"0.."`
	// CleanSession starts every connection with a fresh session.
	CleanSession bool `yaml:"clean_session"`
	// SessionExpiry is how long a session outlives its connection with
	// clean_session false.
	SessionExpiry Duration `yaml:"session_expiry" range:"0.."`
}

// RawFraming is a raw listener's framer (codec/raw.Config).
type RawFraming struct {
	// Type is line, delimiter, length, fixed or datagram.
	Type string `yaml:"type" oneof:"line|delimiter|length|fixed|datagram"`
	// MaxLength is the longest frame body accepted.
	MaxLength ByteSize `yaml:"max_length" range:"1..16MB"`
	// Delimiter ends each frame (delimiter type).
	Delimiter string `yaml:"delimiter"`
	// LengthBytes is the length header's size (length type): 1, 2 or 4.
	LengthBytes int `yaml:"length_bytes" range:"1..4"`
	// Endian is the length header's byte order.
	Endian string `yaml:"endian" oneof:"big|little"`
	// LengthIncludesHeader says the length counts its own header.
	LengthIncludesHeader bool `yaml:"length_includes_header"`
	// Size is every frame's size (fixed type); 0 is unset.
	Size int `yaml:"size" range:"0.."`
}

// setRawDefaults sets o to adapters/raw's defaults with framing type t.
func setRawDefaults(o *RawOptions, t string) {
	*o = RawOptions{
		Framing:        RawFraming{Type: t, MaxLength: 65536, LengthBytes: 2, Endian: "big"},
		UpTopic:        "raw/${clientid}/up",
		DnTopic:        "raw/${clientid}/dn",
		PublishIDFrame: true,
		IdleTimeout:    Duration(300 * time.Second),
		CleanSession:   true,
		SessionExpiry:  Duration(2 * time.Hour),
	}
}

// RawTCPListener is a raw TCP listener.
type RawTCPListener struct {
	Listener   `yaml:",inline"`
	RawOptions `yaml:",inline"`
}

// SetDefaults sets every field but Bind: line framing, config-only mode.
func (l *RawTCPListener) SetDefaults() {
	l.Listener.SetDefaults()
	setRawDefaults(&l.RawOptions, "line")
}

// RawSSLListener is a raw TLS listener.
type RawSSLListener struct {
	Listener `yaml:",inline"`
	// SSLOptions configures TLS.
	SSLOptions SSLOptions `yaml:"ssl_options"`
	RawOptions `yaml:",inline"`
}

// SetDefaults sets every field but Bind: line framing, config-only mode.
func (l *RawSSLListener) SetDefaults() {
	l.Listener.SetDefaults()
	l.SSLOptions.SetDefaults()
	setRawDefaults(&l.RawOptions, "line")
}

// RawUDPListener is a raw UDP listener: one datagram is one frame.
type RawUDPListener struct {
	GatewayUDPListener `yaml:",inline"`
	RawOptions         `yaml:",inline"`
}

// SetDefaults sets every field but Bind: datagram framing, config-only
// mode.
func (l *RawUDPListener) SetDefaults() {
	l.GatewayUDPListener.SetDefaults()
	setRawDefaults(&l.RawOptions, "datagram")
}

// defaultRaw is gateway.raw's defaults: enabled, line framing on TCP 7993
// and datagrams on UDP 7993, config-only mode; no TLS listener.
func defaultRaw() RawGateway {
	tcp, udp := &RawTCPListener{}, &RawUDPListener{}
	tcp.SetDefaults()
	tcp.Bind = "0.0.0.0:7993"
	udp.SetDefaults()
	udp.Bind = "0.0.0.0:7993"
	udp.IdleTimeout = Duration(60 * time.Second)
	return RawGateway{
		GatewayCommon: GatewayCommon{Enable: true, IdleTimeout: Duration(30 * time.Second)},
		Listeners: RawListeners{
			TCP: map[string]*RawTCPListener{"default": tcp},
			SSL: map[string]*RawSSLListener{},
			UDP: map[string]*RawUDPListener{"default": udp},
		},
	}
}

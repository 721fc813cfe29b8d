package config

import (
	"path/filepath"
	"sort"
	"time"
)

// Config is Manifold's whole configuration. Its key paths mirror EMQX 5's
// (listeners.tcp.default.bind, mqtt.max_inflight, …) so that users can carry
// their settings over. Build one with Default or Load; check a hand-built one
// with Validate.
type Config struct {
	// Dir is the absolute directory of the file Load read, against which
	// relative certificate, ACL and bootstrap file paths were resolved; "" when
	// there was no file.
	Dir string `yaml:"-"`

	// Node identifies this node.
	Node NodeConfig `yaml:"node"`
	// Log controls logging.
	Log LogConfig `yaml:"log"`
	// Listeners are the MQTT listeners.
	Listeners ListenersConfig `yaml:"listeners"`
	// MQTT holds the protocol settings of all MQTT listeners.
	MQTT MQTTConfig `yaml:"mqtt"`
	// SysTopics controls the $SYS topics.
	SysTopics SysTopicsConfig `yaml:"sys_topics"`
	// Sysmon sets when the node raises alarms about itself.
	Sysmon SysmonConfig `yaml:"sysmon"`
	// Alarm controls the alarm list.
	Alarm AlarmConfig `yaml:"alarm"`
	// Authorization controls publish/subscribe authorization.
	Authorization AuthorizationConfig `yaml:"authorization"`
	// Dashboard configures the dashboard and HTTP API.
	Dashboard DashboardConfig `yaml:"dashboard"`
	// APIKey configures API keys.
	APIKey APIKeyConfig `yaml:"api_key"`
	// SlowSubs detects slow subscribers.
	SlowSubs SlowSubsConfig `yaml:"slow_subs"`
	// Trace bounds the trace logs.
	Trace TraceConfig `yaml:"trace"`
	// Gateway holds the protocol gateways (stomp, mqttsn, coap, lwm2m and
	// raw). Load keeps a name without a typed config raw in Gateway.Other;
	// the server rejects it.
	Gateway GatewaysConfig `yaml:"gateway"`
}

// NodeConfig identifies this node.
type NodeConfig struct {
	// Name is the node name, "name@host", as in EMQX; it appears in $SYS topics
	// and cluster membership.
	Name string `yaml:"name"`
	// DataDir holds persistent state (sessions, retained messages). Unlike
	// other paths it is relative to the working directory, as in EMQX.
	DataDir string `yaml:"data_dir"`
	// Persistence keeps persistent sessions, retained and delayed messages
	// across restarts, in an embedded store under DataDir.
	Persistence PersistenceConfig `yaml:"persistence"`
}

// PersistenceConfig controls the embedded store (node.persistence.*).
type PersistenceConfig struct {
	// Enable turns persistence on; off keeps everything in memory only.
	Enable bool `yaml:"enable"`
	// Fsync is the durability policy: always (a QoS 1/2 publish to a
	// persistent session is acknowledged once synced to disk), interval
	// (written at once, synced every SyncInterval), never (left to the OS).
	Fsync string `yaml:"fsync" oneof:"always|interval|never"`
	// SyncInterval is interval's period.
	SyncInterval Duration `yaml:"sync_interval" range:"1ms..10s"`
	// MaxDiskBytes bounds the queued messages on disk; 0 (infinity) is no bound.
	MaxDiskBytes ByteSize `yaml:"max_disk_bytes" range:"0.." word:"infinity"`
	// MemQueueLen is how many queued messages a persistent session keeps in
	// memory; the rest wait on disk until its client takes them.
	MemQueueLen int `yaml:"mem_queue_len" range:"16..1000000"`
}

// LogConfig controls logging.
type LogConfig struct {
	// Level is the minimum severity logged.
	Level LogLevel `yaml:"level" oneof:"debug|info|warning|error"`
	// Format is json, console, or auto (console on a terminal, JSON otherwise).
	Format string `yaml:"format" oneof:"auto|json|console"`
	// File writes the log to a file with size-based rotation (always on for
	// `manifold start -d`).
	File LogFileConfig `yaml:"file"`
}

// LogFileConfig controls the log file (log.file.*).
type LogFileConfig struct {
	// Enable writes the log to Path instead of standard error.
	Enable bool `yaml:"enable"`
	// Path is the log file; relative to the working directory, like node.data_dir.
	Path string `yaml:"path"`
	// RotationSize rotates the file once it would grow past this size.
	RotationSize ByteSize `yaml:"rotation_size" range:"1024.."`
	// RotationCount is how many rotated files (path.1 … path.N) are kept.
	RotationCount int `yaml:"rotation_count" range:"1..128"`
}

// ListenersConfig holds the MQTT listeners by kind, each kind a map from
// listener name to listener. Every kind has one listener named "default";
// a file may change it, disable it (enable: false) or add more by name.
type ListenersConfig struct {
	// TCP are the plain MQTT over TCP listeners.
	TCP map[string]*TCPListener `yaml:"tcp"`
	// SSL are the MQTT over TLS listeners.
	SSL map[string]*SSLListener `yaml:"ssl"`
	// WS are the MQTT over WebSocket listeners.
	WS map[string]*WSListener `yaml:"ws"`
	// WSS are the MQTT over secure WebSocket listeners.
	WSS map[string]*WSSListener `yaml:"wss"`
}

// Defaulter is implemented by configuration types that know their own
// defaults. The decoder calls SetDefaults on every map entry and list element
// it creates before filling it in, so a new listener or source takes the
// defaults for the fields its YAML leaves out.
type Defaulter interface {
	SetDefaults()
}

// Listener holds the fields every kind of MQTT listener shares.
type Listener struct {
	// Enable turns the listener on.
	Enable bool `yaml:"enable"`
	// Bind is the address to listen on.
	Bind Address `yaml:"bind"`
	// MaxConnections caps concurrent connections; 0 (written infinity) is unlimited.
	MaxConnections int `yaml:"max_connections" range:"0.." word:"infinity"`
	// Mountpoint is prefixed to every topic of this listener's clients
	// (placeholders ${clientid} and ${username} are expanded).
	Mountpoint string `yaml:"mountpoint"`
	// ProxyProtocol expects a HAProxy PROXY protocol v1/v2 header first.
	ProxyProtocol bool `yaml:"proxy_protocol"`
	// TCPOptions tunes the listener's sockets.
	TCPOptions TCPOptions `yaml:"tcp_options"`
}

// SetDefaults sets every field but Bind, which has no sensible shared default.
func (l *Listener) SetDefaults() {
	l.Enable = true
	l.MaxConnections = 0
	l.Mountpoint = ""
	l.ProxyProtocol = false
	l.TCPOptions.SetDefaults()
}

// TCPOptions tunes a listener's TCP sockets.
type TCPOptions struct {
	// Backlog is the listen queue length.
	Backlog int `yaml:"backlog" range:"1.."`
	// SendTimeout closes a connection whose writes block longer than this.
	SendTimeout Duration `yaml:"send_timeout" range:"1ms.."`
	// Nodelay disables Nagle's algorithm.
	Nodelay bool `yaml:"nodelay"`
	// Buffer sets the socket buffer size; 0 (written "") leaves the OS default.
	Buffer ByteSize `yaml:"buffer" range:"0.."`
	// ActiveN is how many packets are read per wake-up of a connection.
	ActiveN int `yaml:"active_n" range:"1.."`
}

// SetDefaults sets the EMQX defaults.
func (o *TCPOptions) SetDefaults() {
	*o = TCPOptions{Backlog: 1024, SendTimeout: Duration(15 * time.Second), Nodelay: true, ActiveN: 100}
}

// SSLOptions configures TLS for ssl and wss listeners. Relative file paths
// are resolved against the configuration file's directory.
type SSLOptions struct {
	// Certfile is the PEM server certificate (chain).
	Certfile string `yaml:"certfile"`
	// Keyfile is the PEM private key of Certfile.
	Keyfile string `yaml:"keyfile"`
	// Cacertfile holds the PEM CAs that client certificates are checked against.
	Cacertfile string `yaml:"cacertfile"`
	// Verify is verify_peer to request and check client certificates.
	Verify string `yaml:"verify" oneof:"verify_none|verify_peer"`
	// FailIfNoPeerCert rejects clients without a certificate (with verify_peer).
	FailIfNoPeerCert bool `yaml:"fail_if_no_peer_cert"`
	// Versions are the TLS versions offered.
	Versions []string `yaml:"versions" oneof:"tlsv1.3|tlsv1.2|tlsv1.1|tlsv1"`
	// Ciphers restricts the cipher suites (OpenSSL or IANA names); empty means
	// the Go defaults for the chosen versions.
	Ciphers []string `yaml:"ciphers"`
	// HandshakeTimeout bounds the TLS handshake.
	HandshakeTimeout Duration `yaml:"handshake_timeout" range:"1ms.."`
}

// SetDefaults sets the EMQX defaults, with certificates under certs/.
func (o *SSLOptions) SetDefaults() {
	*o = SSLOptions{
		Certfile:         "certs/cert.pem",
		Keyfile:          "certs/key.pem",
		Cacertfile:       "certs/cacert.pem",
		Verify:           "verify_none",
		Versions:         []string{"tlsv1.3", "tlsv1.2"},
		HandshakeTimeout: Duration(15 * time.Second),
	}
}

// WebSocketOptions configures MQTT over WebSocket for ws and wss listeners.
type WebSocketOptions struct {
	// MQTTPath is the HTTP path clients connect to.
	MQTTPath string `yaml:"mqtt_path"`
	// MQTTPiggyback is single (one MQTT packet per frame) or multiple.
	MQTTPiggyback string `yaml:"mqtt_piggyback" oneof:"single|multiple"`
	// FailIfNoSubprotocol rejects upgrades without Sec-WebSocket-Protocol.
	FailIfNoSubprotocol bool `yaml:"fail_if_no_subprotocol"`
	// SupportedSubprotocols are the accepted Sec-WebSocket-Protocol values.
	SupportedSubprotocols []string `yaml:"supported_subprotocols"`
	// MaxFrameSize caps a WebSocket frame; 0 (written infinity) is unlimited.
	MaxFrameSize ByteSize `yaml:"max_frame_size" range:"0.." word:"infinity"`
	// AllowOriginAbsence accepts upgrades without an Origin header.
	AllowOriginAbsence bool `yaml:"allow_origin_absence"`
	// CheckOriginEnable only accepts Origins listed in CheckOrigins.
	CheckOriginEnable bool `yaml:"check_origin_enable"`
	// CheckOrigins are the accepted Origins when CheckOriginEnable is set.
	CheckOrigins []string `yaml:"check_origins"`
	// ProxyAddressHeader names the header carrying the client address behind a proxy.
	ProxyAddressHeader string `yaml:"proxy_address_header"`
	// ProxyPortHeader names the header carrying the client port behind a proxy.
	ProxyPortHeader string `yaml:"proxy_port_header"`
	// TrustedProxies are the networks (CIDR) whose proxy headers are
	// believed; a header from any other peer is ignored, so a client cannot
	// choose the address its ACL rules see.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// SetDefaults sets the EMQX defaults.
func (o *WebSocketOptions) SetDefaults() {
	*o = WebSocketOptions{
		MQTTPath:              "/mqtt",
		MQTTPiggyback:         "multiple",
		FailIfNoSubprotocol:   true,
		SupportedSubprotocols: []string{"mqtt", "mqttv3.1", "mqtt-v3", "mqtt-v3.1.1", "mqtt-v5"},
		AllowOriginAbsence:    true,
		CheckOrigins:          []string{"http://localhost:18083", "http://127.0.0.1:18083"},
		ProxyAddressHeader:    "x-forwarded-for",
		ProxyPortHeader:       "x-forwarded-port",
		TrustedProxies:        []string{"127.0.0.0/8", "::1/128"},
	}
}

// TCPListener is a plain MQTT over TCP listener.
type TCPListener struct {
	Listener `yaml:",inline"`
}

// SetDefaults sets every field but Bind.
func (l *TCPListener) SetDefaults() { l.Listener.SetDefaults() }

// SSLListener is an MQTT over TLS listener.
type SSLListener struct {
	Listener `yaml:",inline"`
	// SSLOptions configures TLS.
	SSLOptions SSLOptions `yaml:"ssl_options"`
}

// SetDefaults sets every field but Bind.
func (l *SSLListener) SetDefaults() {
	l.Listener.SetDefaults()
	l.SSLOptions.SetDefaults()
}

// WSListener is an MQTT over WebSocket listener.
type WSListener struct {
	Listener `yaml:",inline"`
	// WebSocket configures the WebSocket transport.
	WebSocket WebSocketOptions `yaml:"websocket"`
}

// SetDefaults sets every field but Bind.
func (l *WSListener) SetDefaults() {
	l.Listener.SetDefaults()
	l.WebSocket.SetDefaults()
}

// WSSListener is an MQTT over secure WebSocket listener.
type WSSListener struct {
	Listener `yaml:",inline"`
	// SSLOptions configures TLS.
	SSLOptions SSLOptions `yaml:"ssl_options"`
	// WebSocket configures the WebSocket transport.
	WebSocket WebSocketOptions `yaml:"websocket"`
}

// SetDefaults sets every field but Bind.
func (l *WSSListener) SetDefaults() {
	l.Listener.SetDefaults()
	l.SSLOptions.SetDefaults()
	l.WebSocket.SetDefaults()
}

// MQTTConfig holds the MQTT protocol settings shared by all MQTT listeners.
type MQTTConfig struct {
	// MaxPacketSize is the largest MQTT packet accepted.
	MaxPacketSize ByteSize `yaml:"max_packet_size" range:"1..268435455"`
	// MaxClientIDLen is the longest client id accepted.
	MaxClientIDLen int `yaml:"max_clientid_len" range:"23..65535"`
	// MaxTopicLevels is the deepest topic accepted.
	MaxTopicLevels int `yaml:"max_topic_levels" range:"1..65535"`
	// MaxQoSAllowed is the highest QoS granted.
	MaxQoSAllowed int `yaml:"max_qos_allowed" range:"0..2"`
	// MaxTopicAlias is the Topic Alias Maximum sent to v5 clients; 0 disables aliases.
	MaxTopicAlias int `yaml:"max_topic_alias" range:"0..65535"`
	// RetainAvailable enables retained messages.
	RetainAvailable bool `yaml:"retain_available"`
	// WildcardSubscription allows + and # in subscriptions.
	WildcardSubscription bool `yaml:"wildcard_subscription"`
	// SharedSubscription allows $share/group/ subscriptions.
	SharedSubscription bool `yaml:"shared_subscription"`
	// ExclusiveSubscription allows $exclusive/ subscriptions.
	ExclusiveSubscription bool `yaml:"exclusive_subscription"`
	// SharedSubscriptionStrategy picks the member of a shared group that gets a message.
	SharedSubscriptionStrategy string `yaml:"shared_subscription_strategy" oneof:"random|round_robin|round_robin_per_group|sticky|local|hash_topic|hash_clientid"`
	// IgnoreLoopDeliver stops v3 clients receiving their own publishes.
	IgnoreLoopDeliver bool `yaml:"ignore_loop_deliver"`
	// StrictMode checks packets strictly (UTF-8 in topics and payload format).
	StrictMode bool `yaml:"strict_mode"`
	// ResponseInformation is sent to v5 clients that request it; "" sends none.
	ResponseInformation string `yaml:"response_information"`
	// ServerKeepalive, in seconds, is the longest keepalive a v5 client may
	// use (one asking for more, or none, is given this one); 0 (written
	// disabled) keeps every client's own.
	ServerKeepalive int `yaml:"server_keepalive" range:"1..65535" word:"disabled"`
	// KeepaliveMultiplier times the keepalive is how long a silent client lives.
	KeepaliveMultiplier float64 `yaml:"keepalive_multiplier" range:"1.."`
	// SessionExpiryInterval is the longest a v3 persistent session or a v5
	// session (whatever it asks) outlives its connection.
	SessionExpiryInterval Duration `yaml:"session_expiry_interval"`
	// MessageExpiryInterval expires queued messages without a v5 expiry of
	// their own; 0 (written infinity) never.
	MessageExpiryInterval Duration `yaml:"message_expiry_interval" word:"infinity"`
	// MaxInflight is the QoS 1/2 window per client (v5 Receive Maximum).
	MaxInflight int `yaml:"max_inflight" range:"1..65535"`
	// MaxMqueueLen bounds a session's queue; 0 (written infinity) is unbounded.
	MaxMqueueLen int `yaml:"max_mqueue_len" range:"0.." word:"infinity"`
	// MqueueStoreQoS0 also queues QoS 0 messages for offline sessions.
	MqueueStoreQoS0 bool `yaml:"mqueue_store_qos0"`
	// MqueuePriorities maps topics to priorities 1..255 (higher first);
	// nil (written disabled) queues in arrival order.
	MqueuePriorities map[string]int `yaml:"mqueue_priorities" range:"1..255" word:"disabled"`
	// MqueueDefaultPriority places topics absent from MqueuePriorities.
	MqueueDefaultPriority string `yaml:"mqueue_default_priority" oneof:"highest|lowest"`
	// MaxAwaitingRel bounds QoS 2 messages awaiting PUBREL per client; 0 (written infinity) is unbounded.
	MaxAwaitingRel int `yaml:"max_awaiting_rel" range:"0.." word:"infinity"`
	// AwaitRelTimeout drops a QoS 2 message whose PUBREL has not come.
	AwaitRelTimeout Duration `yaml:"await_rel_timeout" range:"1ms.."`
	// RetryInterval resends unacknowledged QoS 1/2 messages.
	RetryInterval Duration `yaml:"retry_interval" range:"1ms.."`
	// UpgradeQoS delivers at the subscription's QoS rather than the message's.
	UpgradeQoS bool `yaml:"upgrade_qos"`
	// MaxSubscriptions caps subscriptions per client; 0 (written infinity) is unlimited.
	MaxSubscriptions int `yaml:"max_subscriptions" range:"0.." word:"infinity"`
	// IdleTimeout closes a connection that has not sent CONNECT in time.
	IdleTimeout Duration `yaml:"idle_timeout" range:"1ms.."`
	// UseUsernameAsClientID replaces the client id with the username.
	UseUsernameAsClientID bool `yaml:"use_username_as_clientid"`
	// PeerCertAsUsername takes the username from the TLS client certificate;
	// "" (written disabled) does not.
	PeerCertAsUsername string `yaml:"peer_cert_as_username" oneof:"cn|dn|crt|pem|md5" word:"disabled"`
	// PeerCertAsClientID takes the client id from the TLS client certificate;
	// "" (written disabled) does not.
	PeerCertAsClientID string `yaml:"peer_cert_as_clientid" oneof:"cn|dn|crt|pem|md5" word:"disabled"`
	// AllowAnonymous lets clients connect without credentials when no
	// authenticator is configured (Manifold's own key).
	AllowAnonymous bool `yaml:"allow_anonymous"`
}

// SysTopicsConfig controls the $SYS topics.
type SysTopicsConfig struct {
	// SysMsgInterval publishes broker stats; 0 (written disabled) never.
	SysMsgInterval Duration `yaml:"sys_msg_interval" word:"disabled"`
	// SysHeartbeatInterval publishes uptime and time; 0 (written disabled) never.
	SysHeartbeatInterval Duration `yaml:"sys_heartbeat_interval" word:"disabled"`
	// SysEventMessages picks the client events published under $SYS/brokers/<node>/clients/.
	SysEventMessages SysEventMessages `yaml:"sys_event_messages"`
}

// SysEventMessages picks which client events are published.
type SysEventMessages struct {
	// ClientConnected publishes .../connected when a client connects.
	ClientConnected bool `yaml:"client_connected"`
	// ClientDisconnected publishes .../disconnected when a client goes.
	ClientDisconnected bool `yaml:"client_disconnected"`
	// ClientSubscribed publishes .../subscribed for each subscription.
	ClientSubscribed bool `yaml:"client_subscribed"`
	// ClientUnsubscribed publishes .../unsubscribed for each unsubscription.
	ClientUnsubscribed bool `yaml:"client_unsubscribed"`
}

// AuthorizationConfig controls publish/subscribe authorization.
type AuthorizationConfig struct {
	// NoMatch is the answer when no source has a rule for a request.
	NoMatch string `yaml:"no_match" oneof:"allow|deny"`
	// DenyAction is what happens to a denied publish: ignore it or disconnect.
	DenyAction string `yaml:"deny_action" oneof:"ignore|disconnect"`
	// Cache caches answers per client.
	Cache AuthzCache `yaml:"cache"`
	// Sources are consulted in order until one has a rule that matches.
	Sources []AuthzSource `yaml:"sources"`
}

// AuthzCache is the per-client authorization cache.
type AuthzCache struct {
	// Enable turns the cache on.
	Enable bool `yaml:"enable"`
	// MaxSize is the number of answers kept per client.
	MaxSize int `yaml:"max_size" range:"1.."`
	// TTL is how long an answer is kept.
	TTL Duration `yaml:"ttl" range:"1ms.."`
}

// AuthzSource is one authorization source.
type AuthzSource struct {
	// Type selects the provider. Only file is implemented today; the other
	// types are accepted for the providers to come, which decode their keys
	// from Extra.
	Type string `yaml:"type" oneof:"file|built_in_database|http|redis|mysql|postgresql|mongodb|ldap"`
	// Enable turns the source on.
	Enable bool `yaml:"enable"`
	// Path is the ACL file of a file source, resolved against the
	// configuration file's directory.
	Path string `yaml:"path"`
	// Extra holds the keys beyond type, enable and path, for the provider to
	// Decode; a file source may have none.
	Extra Section `yaml:"-" config:"rest"`
}

// SetDefaults enables the source.
func (s *AuthzSource) SetDefaults() { *s = AuthzSource{Enable: true} }

// DashboardConfig configures the dashboard and HTTP API.
type DashboardConfig struct {
	// Listeners are where the dashboard and API listen.
	Listeners DashboardListeners `yaml:"listeners"`
	// DefaultUsername is the administrator created on first start.
	DefaultUsername string `yaml:"default_username"`
	// DefaultPassword is that administrator's first password (change it).
	DefaultPassword string `yaml:"default_password"`
	// TokenExpiredTime is how long a login token is valid.
	TokenExpiredTime Duration `yaml:"token_expired_time" range:"1s.."`
}

// DashboardListeners holds the dashboard's listeners.
type DashboardListeners struct {
	// HTTP is the plain HTTP listener.
	HTTP HTTPListener `yaml:"http"`
}

// HTTPListener is a plain HTTP listener.
type HTTPListener struct {
	// Enable turns the listener on.
	Enable bool `yaml:"enable"`
	// Bind is the address to listen on.
	Bind Address `yaml:"bind"`
}

// APIKeyConfig configures API keys.
type APIKeyConfig struct {
	// BootstrapFile lists "key:secret" lines loaded as API keys at start;
	// resolved against the configuration file's directory; "" for none.
	BootstrapFile string `yaml:"bootstrap_file"`
}

// Default returns a new Config holding every key's default. It is the one
// place defaults are written; configs/manifold.yaml documents them.
func Default() *Config {
	c := &Config{
		Node: NodeConfig{Name: "manifold@127.0.0.1", DataDir: "data", Persistence: PersistenceConfig{
			Enable: true, Fsync: "interval", SyncInterval: Duration(100 * time.Millisecond), MemQueueLen: 1000,
		}},
		Log: LogConfig{Level: LogInfo, Format: "auto", File: LogFileConfig{
			Path: "log/manifold.log", RotationSize: 50 << 20, RotationCount: 10,
		}},
		Listeners: ListenersConfig{
			TCP: map[string]*TCPListener{"default": {}},
			SSL: map[string]*SSLListener{"default": {}},
			WS:  map[string]*WSListener{"default": {}},
			WSS: map[string]*WSSListener{"default": {}},
		},
		MQTT: MQTTConfig{
			MaxPacketSize:              1 << 20,
			MaxClientIDLen:             65535,
			MaxTopicLevels:             128,
			MaxQoSAllowed:              2,
			MaxTopicAlias:              65535,
			RetainAvailable:            true,
			WildcardSubscription:       true,
			SharedSubscription:         true,
			SharedSubscriptionStrategy: "round_robin",
			KeepaliveMultiplier:        1.5,
			SessionExpiryInterval:      Duration(2 * time.Hour),
			MaxInflight:                32,
			MaxMqueueLen:               1000,
			MqueueStoreQoS0:            true,
			MqueueDefaultPriority:      "lowest",
			MaxAwaitingRel:             100,
			AwaitRelTimeout:            Duration(300 * time.Second),
			RetryInterval:              Duration(30 * time.Second),
			IdleTimeout:                Duration(15 * time.Second),
			AllowAnonymous:             true,
		},
		SysTopics: SysTopicsConfig{
			SysMsgInterval:       Duration(time.Minute),
			SysHeartbeatInterval: Duration(30 * time.Second),
			SysEventMessages:     SysEventMessages{ClientConnected: true, ClientDisconnected: true},
		},
		Sysmon: defaultSysmon(),
		Alarm:  AlarmConfig{SizeLimit: 1000},
		Authorization: AuthorizationConfig{
			NoMatch:    "allow",
			DenyAction: "ignore",
			Cache:      AuthzCache{Enable: true, MaxSize: 32, TTL: Duration(time.Minute)},
			Sources:    []AuthzSource{{Type: "file", Enable: true, Path: "acl.conf"}},
		},
		Dashboard: DashboardConfig{
			Listeners:        DashboardListeners{HTTP: HTTPListener{Enable: true, Bind: "0.0.0.0:18083"}},
			DefaultUsername:  "admin",
			DefaultPassword:  "public",
			TokenExpiredTime: Duration(60 * time.Minute),
		},
		SlowSubs: defaultSlowSubs(),
		Trace:    defaultTrace(),
		Gateway:  defaultGateways(),
	}
	tcp, ssl, ws, wss := c.Listeners.TCP["default"], c.Listeners.SSL["default"], c.Listeners.WS["default"], c.Listeners.WSS["default"]
	tcp.SetDefaults()
	tcp.Bind = "0.0.0.0:1883"
	ssl.SetDefaults()
	ssl.Bind = "0.0.0.0:8883"
	ws.SetDefaults()
	ws.Bind = "0.0.0.0:8083"
	wss.SetDefaults()
	wss.Bind = "0.0.0.0:8084"
	// Unlike EMQX, which ships certificates, the TLS listeners start disabled:
	// the default configuration must load where no certificate exists yet.
	// A listener added under listeners.ssl or listeners.wss is enabled.
	ssl.Enable = false
	wss.Enable = false
	return c
}

// ResolvePath returns p resolved against c.Dir: unchanged if it is empty,
// absolute, or c.Dir is "". Load applies it to certificate, ACL and bootstrap
// file paths; gateway packages apply it to the paths in their sections.
func (c *Config) ResolvePath(p string) string {
	if p == "" || c.Dir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// resolvePaths rewrites every file path key (not node.data_dir) with ResolvePath.
func (c *Config) resolvePaths() {
	for _, l := range c.Listeners.SSL {
		c.resolveSSL(&l.SSLOptions)
	}
	for _, l := range c.Listeners.WSS {
		c.resolveSSL(&l.SSLOptions)
	}
	for _, l := range c.Gateway.STOMP.Listeners.SSL {
		c.resolveSSL(&l.SSLOptions)
	}
	for _, l := range c.Gateway.Raw.Listeners.SSL {
		c.resolveSSL(&l.SSLOptions)
	}
	for _, l := range c.Gateway.MQTTSN.Listeners.DTLS {
		l.PSKAuthentication.InitFile = c.ResolvePath(l.PSKAuthentication.InitFile)
		o := &l.DTLSOptions
		o.Certfile, o.Keyfile, o.Cacertfile = c.ResolvePath(o.Certfile), c.ResolvePath(o.Keyfile), c.ResolvePath(o.Cacertfile)
	}
	for _, l := range c.Gateway.CoAP.Listeners.DTLS {
		l.Certfile, l.Keyfile, l.Cacertfile = c.ResolvePath(l.Certfile), c.ResolvePath(l.Keyfile), c.ResolvePath(l.Cacertfile)
	}
	c.Gateway.LwM2M.XMLDir = c.ResolvePath(c.Gateway.LwM2M.XMLDir)
	for _, l := range c.Gateway.LwM2M.Listeners.DTLS {
		l.Certfile, l.Keyfile, l.Cacertfile = c.ResolvePath(l.Certfile), c.ResolvePath(l.Keyfile), c.ResolvePath(l.Cacertfile)
	}
	for i := range c.Authorization.Sources {
		c.Authorization.Sources[i].Path = c.ResolvePath(c.Authorization.Sources[i].Path)
	}
	c.APIKey.BootstrapFile = c.ResolvePath(c.APIKey.BootstrapFile)
}

func (c *Config) resolveSSL(o *SSLOptions) {
	o.Certfile = c.ResolvePath(o.Certfile)
	o.Keyfile = c.ResolvePath(o.Keyfile)
	o.Cacertfile = c.ResolvePath(o.Cacertfile)
}

// Listener kinds as ListenerRef.Kind reports them, in the order EnabledListeners sorts them.
const (
	KindTCP       = "tcp"
	KindSSL       = "ssl"
	KindWS        = "ws"
	KindWSS       = "wss"
	KindDashboard = "dashboard"
)

// ListenerRef names one enabled listener and where it listens.
type ListenerRef struct {
	Kind string  // KindTCP, KindSSL, KindWS, KindWSS or KindDashboard
	Name string  // the listener's name; "http" for the dashboard
	Bind Address // normalized host:port
}

// Key returns the listener's key path: "listeners.tcp.default" or
// "dashboard.listeners.http".
func (r ListenerRef) Key() string {
	if r.Kind == KindDashboard {
		return "dashboard.listeners." + r.Name
	}
	return "listeners." + r.Kind + "." + r.Name
}

// EnabledListeners returns the enabled MQTT listeners and the dashboard
// listener, sorted by kind (tcp, ssl, ws, wss, dashboard) then name. Gateway
// listeners are not included: their sections are decoded by their packages.
func (c *Config) EnabledListeners() []ListenerRef {
	var refs []ListenerRef
	add := func(kind, name string, l *Listener) {
		if l != nil && l.Enable {
			refs = append(refs, ListenerRef{Kind: kind, Name: name, Bind: l.Bind})
		}
	}
	for n, l := range c.Listeners.TCP {
		if l != nil {
			add(KindTCP, n, &l.Listener)
		}
	}
	for n, l := range c.Listeners.SSL {
		if l != nil {
			add(KindSSL, n, &l.Listener)
		}
	}
	for n, l := range c.Listeners.WS {
		if l != nil {
			add(KindWS, n, &l.Listener)
		}
	}
	for n, l := range c.Listeners.WSS {
		if l != nil {
			add(KindWSS, n, &l.Listener)
		}
	}
	if h := c.Dashboard.Listeners.HTTP; h.Enable {
		refs = append(refs, ListenerRef{Kind: KindDashboard, Name: "http", Bind: h.Bind})
	}
	order := map[string]int{KindTCP: 0, KindSSL: 1, KindWS: 2, KindWSS: 3, KindDashboard: 4}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Kind != refs[j].Kind {
			return order[refs[i].Kind] < order[refs[j].Kind]
		}
		return refs[i].Name < refs[j].Name
	})
	return refs
}

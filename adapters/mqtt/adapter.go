package mqtt

import (
	"sync/atomic"
	"time"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/core"
)

// Config is what the MQTT channel needs from the mqtt.* configuration.
type Config struct {
	MaxPacketSize         int           // mqtt.max_packet_size: inbound limit and CONNACK Maximum Packet Size
	MaxClientIDLen        int           // mqtt.max_clientid_len
	MaxTopicAlias         int           // mqtt.max_topic_alias: inbound aliases the client may use
	MaxInflight           int           // mqtt.max_inflight: CONNACK Receive Maximum
	MaxQoS                core.QoS      // mqtt.max_qos_allowed
	RetainAvailable       bool          // mqtt.retain_available
	WildcardSubscription  bool          // mqtt.wildcard_subscription
	SharedSubscription    bool          // mqtt.shared_subscription
	ServerKeepalive       int           // mqtt.server_keepalive in seconds; 0 disabled
	KeepaliveMultiplier   float64       // mqtt.keepalive_multiplier
	SessionExpiry         time.Duration // mqtt.session_expiry_interval: v3 persistent sessions
	IdleTimeout           time.Duration // mqtt.idle_timeout: time allowed before CONNECT
	ResponseInformation   string        // mqtt.response_information
	UseUsernameAsClientID bool          // mqtt.use_username_as_clientid
	PeerCertAsUsername    string        // mqtt.peer_cert_as_username: cn|dn|crt|pem|md5, "" disabled
	PeerCertAsClientID    string        // mqtt.peer_cert_as_clientid: cn|dn|crt|pem|md5, "" disabled
	DeliverBatch          int           // deliveries per HandleDeliver before yielding; 0 means 256
	AckHold               time.Duration // longest a PUBACK/PUBREC is held back for push-back; 0 means 5s
	AwaitRelTimeout       time.Duration // mqtt.await_rel_timeout: a QoS 2 message's PUBREL must come by then; 0 means 300s
}

// DefaultConfig mirrors the defaults of configs/manifold.yaml.
func DefaultConfig() Config {
	return Config{
		MaxPacketSize:        1 << 20,
		MaxClientIDLen:       65535,
		MaxTopicAlias:        65535,
		MaxInflight:          32,
		MaxQoS:               core.QoS2,
		RetainAvailable:      true,
		WildcardSubscription: true,
		SharedSubscription:   true,
		KeepaliveMultiplier:  1.5,
		SessionExpiry:        2 * time.Hour,
		IdleTimeout:          15 * time.Second,
	}
}

// Adapter is the MQTT protocol for the edge.
type Adapter struct {
	cfg atomic.Pointer[Config] // immutable once stored; each channel keeps the one it started with
}

// NewAdapter returns the MQTT adapter.
func NewAdapter(cfg Config) *Adapter {
	a := &Adapter{}
	a.SetConfig(cfg)
	return a
}

// SetConfig replaces the configuration for connections accepted from now
// on; connected clients keep theirs (a run-time change of mqtt.* limits).
func (a *Adapter) SetConfig(cfg Config) {
	if cfg.DeliverBatch <= 0 {
		cfg.DeliverBatch = 256
	}
	if cfg.AckHold <= 0 {
		cfg.AckHold = 5 * time.Second
	}
	if cfg.AwaitRelTimeout <= 0 {
		cfg.AwaitRelTimeout = 300 * time.Second
	}
	if cfg.KeepaliveMultiplier < 1 {
		cfg.KeepaliveMultiplier = 1.5
	}
	a.cfg.Store(&cfg)
}

// Name implements adapters.Adapter.
func (a *Adapter) Name() string { return "mqtt" }

// NewChannel implements adapters.Adapter.
func (a *Adapter) NewChannel(ci adapters.ConnInfo, ctx adapters.Context) (adapters.Channel, error) {
	return newChannel(a.cfg.Load(), ci, ctx), nil
}

package coap

import (
	"fmt"
	"time"

	"github.com/manifold-iot/manifold/adapters/coapnet"
)

// Config is the gateway.coap section (EMQX 5's gateway.coap keys, plus the
// bounds every gateway has). README.md documents each key.
type Config struct {
	// Mountpoint is prefixed to every topic a CoAP client names;
	// ${clientid} and ${username} are replaced.
	Mountpoint string `yaml:"mountpoint"`
	// ConnectionRequired makes clients open a connection
	// (POST /mqtt/connection) before anything else.
	ConnectionRequired bool `yaml:"connection_required"`
	// Heartbeat is the interval a connected client must send PUT
	// /mqtt/connection (or any request) within; a client silent for 1.5×
	// Heartbeat is disconnected.
	Heartbeat time.Duration `yaml:"heartbeat"`
	// NotifyType is qos (QoS 0 → NON, QoS 1/2 → CON), con or non.
	NotifyType string `yaml:"notify_type"`
	// SubscribeQoS is the QoS of a subscription without a qos query:
	// coap (CON request → 1, NON → 0), qos0, qos1 or qos2.
	SubscribeQoS string `yaml:"subscribe_qos"`
	// PublishQoS is the QoS of a publish without a qos query, as SubscribeQoS.
	PublishQoS string `yaml:"publish_qos"`
	// MaxClients bounds the clients with a core session (connections and
	// observers); more are answered 5.03.
	MaxClients int `yaml:"max_clients"`
	// MaxObservations bounds one client's observations; more are answered 5.03.
	MaxObservations int `yaml:"max_observations"`
	// MaxBodySize bounds a request body (block-wise transfers included) and
	// is answered 4.13 past it.
	MaxBodySize int `yaml:"max_body_size"`
	// IdleTimeout forgets the transport state of a silent peer.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// AckTimeout and MaxRetransmit govern confirmable notifications
	// (RFC 7252 ACK_TIMEOUT, MAX_RETRANSMIT); one never acknowledged ends
	// its observation.
	AckTimeout    time.Duration `yaml:"ack_timeout"`
	MaxRetransmit int           `yaml:"max_retransmit"`
	// Listeners are the UDP and DTLS listeners.
	Listeners coapnet.Listeners `yaml:"listeners"`
}

// DefaultConfig is gateway.coap with every default (EMQX 5's where it has one).
func DefaultConfig() Config {
	return Config{
		Heartbeat:       30 * time.Second,
		NotifyType:      "qos",
		SubscribeQoS:    "coap",
		PublishQoS:      "coap",
		MaxClients:      100000,
		MaxObservations: 32,
		MaxBodySize:     1 << 20,
		IdleTimeout:     5 * time.Minute,
		AckTimeout:      2 * time.Second,
		MaxRetransmit:   4,
		Listeners: coapnet.Listeners{
			UDP:  map[string]coapnet.UDPListener{"default": {Bind: "0.0.0.0:5683"}},
			DTLS: map[string]coapnet.DTLSListener{},
		},
	}
}

// Validate checks the section; errors name the key.
func (c *Config) Validate() error {
	const p = "gateway.coap."
	switch c.NotifyType {
	case "qos", "con", "non":
	default:
		return fmt.Errorf("%snotify_type: %q is not qos, con or non", p, c.NotifyType)
	}
	for key, v := range map[string]string{"subscribe_qos": c.SubscribeQoS, "publish_qos": c.PublishQoS} {
		if _, ok := qosSetting(v); !ok {
			return fmt.Errorf("%s%s: %q is not coap, qos0, qos1 or qos2", p, key, v)
		}
	}
	switch {
	case c.Heartbeat <= 0:
		return fmt.Errorf("%sheartbeat: must be positive", p)
	case c.MaxClients <= 0:
		return fmt.Errorf("%smax_clients: must be positive", p)
	case c.MaxObservations <= 0:
		return fmt.Errorf("%smax_observations: must be positive", p)
	}
	if err := coapnet.ValidateTransport(p, c.MaxBodySize, c.AckTimeout, c.MaxRetransmit); err != nil {
		return err
	}
	return c.Listeners.Validate(p)
}

// qosSetting parses subscribe_qos / publish_qos: -1 means "coap" (from the
// message type).
func qosSetting(v string) (int, bool) {
	switch v {
	case "coap":
		return -1, true
	case "qos0":
		return 0, true
	case "qos1":
		return 1, true
	case "qos2":
		return 2, true
	}
	return 0, false
}

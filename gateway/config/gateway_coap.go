package config

import "time"

// CoAPGateway is gateway.coap: CoAP publish/subscribe over UDP and DTLS
// (coap/README.md describes every key).
type CoAPGateway struct {
	// GatewayCommon's idle_timeout is how long go-coap keeps a silent
	// peer's transport state (dedup cache, transfers).
	GatewayCommon `yaml:",inline"`
	// ConnectionRequired makes clients POST /mqtt/connection first.
	ConnectionRequired bool `yaml:"connection_required"`
	// Heartbeat is the connection heartbeat interval; 1.5× of silence
	// closes a connection.
	Heartbeat Duration `yaml:"heartbeat" range:"1ms.."`
	// NotifyType is qos (QoS 0 → NON, 1/2 → CON), con or non.
	NotifyType string `yaml:"notify_type" oneof:"qos|con|non"`
	// SubscribeQoS is a subscription's QoS without a qos query: coap (CON
	// → 1, NON → 0), qos0, qos1 or qos2.
	SubscribeQoS string `yaml:"subscribe_qos" oneof:"coap|qos0|qos1|qos2"`
	// PublishQoS is a publish's QoS without a qos query, as SubscribeQoS.
	PublishQoS string `yaml:"publish_qos" oneof:"coap|qos0|qos1|qos2"`
	// MaxClients bounds the clients with a core session.
	MaxClients int `yaml:"max_clients" range:"1.."`
	// MaxObservations bounds one client's observations.
	MaxObservations int `yaml:"max_observations" range:"1.."`
	// MaxBodySize bounds a request body, block-wise transfers included.
	MaxBodySize ByteSize `yaml:"max_body_size" range:"16..1GB"`
	// AckTimeout is RFC 7252 ACK_TIMEOUT for confirmable notifications.
	AckTimeout Duration `yaml:"ack_timeout" range:"1ms.."`
	// MaxRetransmit is RFC 7252 MAX_RETRANSMIT; then the observation ends.
	MaxRetransmit int `yaml:"max_retransmit" range:"1..20"`
	// Listeners are the gateway's UDP and DTLS listeners.
	Listeners CoAPListeners `yaml:"listeners"`
}

// CoAPListeners are the CoAP gateway's listeners by type and name.
type CoAPListeners struct {
	// UDP are plain CoAP listeners.
	UDP map[string]*CoAPUDPListener `yaml:"udp"`
	// DTLS are CoAP over DTLS listeners.
	DTLS map[string]*CoAPDTLSListener `yaml:"dtls"`
}

// CoAPUDPListener is a plain CoAP listener.
type CoAPUDPListener struct {
	// Enable turns the listener on.
	Enable bool `yaml:"enable"`
	// Bind is the address to listen on.
	Bind Address `yaml:"bind"`
}

// SetDefaults enables a listener added by name.
func (l *CoAPUDPListener) SetDefaults() { l.Enable = true }

// CoAPDTLSListener is a CoAP over DTLS listener: PSK or a certificate.
type CoAPDTLSListener struct {
	// Enable turns the listener on; it needs psk, or certfile and keyfile.
	Enable bool `yaml:"enable"`
	// Bind is the address to listen on.
	Bind Address `yaml:"bind"`
	// PSK maps a PSK identity to its key ("0x…" is hex, anything else the
	// bytes as written); with PSK set only PSK cipher suites are offered.
	PSK map[string]string `yaml:"psk"`
	// PSKIdentityHint is sent to clients in the handshake.
	PSKIdentityHint string `yaml:"psk_identity_hint"`
	// Certfile and Keyfile are the PEM certificate (chain) and key.
	Certfile string `yaml:"certfile"`
	Keyfile  string `yaml:"keyfile"`
	// Cacertfile holds the CAs client certificates are checked against.
	Cacertfile string `yaml:"cacertfile"`
	// Verify is verify_peer to request and check client certificates.
	Verify string `yaml:"verify" oneof:"verify_none|verify_peer"`
	// FailIfNoPeerCert refuses clients without one (with verify_peer).
	FailIfNoPeerCert bool `yaml:"fail_if_no_peer_cert"`
	// HandshakeTimeout bounds a DTLS handshake.
	HandshakeTimeout Duration `yaml:"handshake_timeout" range:"1ms.."`
}

// SetDefaults sets every field but Bind; a listener added by name is
// enabled.
func (l *CoAPDTLSListener) SetDefaults() {
	*l = CoAPDTLSListener{Enable: true, Bind: l.Bind, Verify: "verify_none", HandshakeTimeout: Duration(10 * time.Second)}
}

// defaultCoAP is gateway.coap's defaults: enabled on UDP 5683; the DTLS
// listener on 5684 present but disabled (no keys ship).
func defaultCoAP() CoAPGateway {
	dtls := &CoAPDTLSListener{}
	dtls.SetDefaults()
	dtls.Enable = false
	dtls.Bind = "0.0.0.0:5684"
	return CoAPGateway{
		GatewayCommon:   GatewayCommon{Enable: true, IdleTimeout: Duration(5 * time.Minute)}, // idle_timeout: go-coap forgets a silent peer's transport state
		Heartbeat:       Duration(30 * time.Second),
		NotifyType:      "qos",
		SubscribeQoS:    "coap",
		PublishQoS:      "coap",
		MaxClients:      100000,
		MaxObservations: 32,
		MaxBodySize:     1 << 20,
		AckTimeout:      Duration(2 * time.Second),
		MaxRetransmit:   4,
		Listeners: CoAPListeners{
			UDP:  map[string]*CoAPUDPListener{"default": {Enable: true, Bind: "0.0.0.0:5683"}},
			DTLS: map[string]*CoAPDTLSListener{"default": dtls},
		},
	}
}

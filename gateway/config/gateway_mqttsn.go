package config

import "time"

// MQTTSNGateway is gateway.mqttsn: MQTT-SN 1.2 over UDP and DTLS
// (sn/README.md describes every key).
type MQTTSNGateway struct {
	GatewayCommon `yaml:",inline"`
	// GatewayID is the GwId of ADVERTISE and GWINFO.
	GatewayID int `yaml:"gateway_id" range:"0..255"`
	// Broadcast sends ADVERTISE every AdvertiseInterval to BroadcastAddress
	// from each UDP listener's socket.
	Broadcast bool `yaml:"broadcast"`
	// AdvertiseInterval is the period of ADVERTISE, whole seconds.
	AdvertiseInterval Duration `yaml:"advertise_interval" range:"1s..65535s"`
	// BroadcastAddress is where ADVERTISE goes (ip:port).
	BroadcastAddress string `yaml:"broadcast_address"`
	// EnableQoS3 accepts QoS -1 publishes (no connection) to predefined
	// and short topics.
	EnableQoS3 bool `yaml:"enable_qos3"`
	// SubsResume REGISTERs every known topic again to a client resuming
	// its session.
	SubsResume bool `yaml:"subs_resume"`
	// Predefined are the topic ids both sides know without REGISTER.
	Predefined []MQTTSNPredefined `yaml:"predefined"`
	// KeepaliveMultiplier × the keepalive (or sleep duration) of silence
	// drops a client.
	KeepaliveMultiplier float64 `yaml:"keepalive_multiplier"`
	// SessionExpiry is how long a CleanSession=0 session outlives its
	// connection.
	SessionExpiry Duration `yaml:"session_expiry"`
	// RetryInterval is T_RETRY: unacknowledged PUBLISH, PUBREL and
	// REGISTER are resent after it.
	RetryInterval Duration `yaml:"retry_interval" range:"1ms.."`
	// MaxRetries is N_RETRY: then the client is lost.
	MaxRetries int `yaml:"max_retries" range:"1.."`
	// MaxSleepBuffer bounds the messages kept for a sleeping client; the
	// oldest are dropped.
	MaxSleepBuffer int `yaml:"max_sleep_buffer" range:"1.."`
	// MaxTopics bounds the topic ids registered per client.
	MaxTopics int `yaml:"max_topics" range:"1..64511"`
	// MaxClientIDLen refuses longer client ids.
	MaxClientIDLen int `yaml:"max_clientid_len" range:"1.."`
	// DeliverBatch is how many messages one client gets before other
	// peers are served.
	DeliverBatch int `yaml:"deliver_batch" range:"1.."`
	// MaxDatagram drops (and counts) larger outbound messages.
	MaxDatagram int `yaml:"max_datagram" range:"16..65535"`
	// Listeners are the gateway's UDP and DTLS listeners.
	Listeners MQTTSNListeners `yaml:"listeners"`
}

// MQTTSNPredefined is one predefined topic id (MQTT-SN 1.2 §2.5).
type MQTTSNPredefined struct {
	// ID is the topic id, 1..1024.
	ID int `yaml:"id" range:"1..1024"`
	// Topic is the topic name it stands for.
	Topic string `yaml:"topic"`
}

// MQTTSNListeners are the MQTT-SN gateway's listeners by type and name.
type MQTTSNListeners struct {
	// UDP are MQTT-SN over UDP listeners.
	UDP map[string]*GatewayUDPListener `yaml:"udp"`
	// DTLS are MQTT-SN over DTLS listeners.
	DTLS map[string]*MQTTSNDTLSListener `yaml:"dtls"`
}

// MQTTSNDTLSListener is an MQTT-SN over DTLS listener: PSK, certificates,
// or both.
type MQTTSNDTLSListener struct {
	// Enable turns the listener on; it needs PSK identities or a
	// certificate.
	Enable bool `yaml:"enable"`
	// Bind is the address to listen on.
	Bind Address `yaml:"bind"`
	// MaxConnections bounds concurrent associations.
	MaxConnections int `yaml:"max_connections" range:"1.."`
	// Mountpoint, when set, replaces the gateway's for this listener.
	Mountpoint string `yaml:"mountpoint"`
	// HandshakeTimeout bounds a DTLS handshake.
	HandshakeTimeout Duration `yaml:"handshake_timeout" range:"1ms.."`
	// PSKAuthentication holds the pre-shared keys.
	PSKAuthentication DTLSPSK `yaml:"psk_authentication"`
	// PSKIdentityHint is sent to clients in the handshake.
	PSKIdentityHint string `yaml:"psk_identity_hint"`
	// DTLSOptions are the certificate settings.
	DTLSOptions DTLSOptions `yaml:"dtls_options"`
}

// SetDefaults sets every field but Bind; a listener added by name is
// enabled.
func (l *MQTTSNDTLSListener) SetDefaults() {
	*l = MQTTSNDTLSListener{Enable: true, Bind: l.Bind, MaxConnections: 10000,
		HandshakeTimeout: Duration(15 * time.Second), DTLSOptions: DTLSOptions{Verify: "verify_none"}}
}

// listener returns l's common fields as a Listener, for MountpointFor.
func (l *MQTTSNDTLSListener) listener() *Listener {
	return &Listener{Enable: l.Enable, Bind: l.Bind, Mountpoint: l.Mountpoint, MaxConnections: l.MaxConnections}
}

// DTLSPSK holds a DTLS listener's pre-shared keys: a file of
// "identity:hexkey" lines, identities inline, or both (inline wins).
type DTLSPSK struct {
	// InitFile is read at start, relative to the configuration file.
	InitFile string `yaml:"init_file"`
	// Identities maps a PSK identity to its key in hex.
	Identities map[string]string `yaml:"identities"`
}

// DTLSOptions are a DTLS listener's certificate settings.
type DTLSOptions struct {
	// Certfile and Keyfile are the PEM certificate (chain) and key.
	Certfile string `yaml:"certfile"`
	Keyfile  string `yaml:"keyfile"`
	// Cacertfile holds the CAs client certificates are checked against.
	Cacertfile string `yaml:"cacertfile"`
	// Verify is verify_peer to request and check client certificates.
	Verify string `yaml:"verify" oneof:"verify_none|verify_peer"`
	// FailIfNoPeerCert refuses clients without one (with verify_peer).
	FailIfNoPeerCert bool `yaml:"fail_if_no_peer_cert"`
}

// defaultMQTTSN is gateway.mqttsn's defaults: enabled on UDP 1884; the DTLS
// listener on 1885 present but disabled (no keys ship).
func defaultMQTTSN() MQTTSNGateway {
	udp, dtls := &GatewayUDPListener{}, &MQTTSNDTLSListener{}
	udp.SetDefaults()
	udp.Bind = "0.0.0.0:1884"
	dtls.SetDefaults()
	dtls.Enable = false
	dtls.Bind = "0.0.0.0:1885"
	return MQTTSNGateway{
		GatewayCommon:       GatewayCommon{Enable: true, IdleTimeout: Duration(30 * time.Second)},
		GatewayID:           1,
		AdvertiseInterval:   Duration(900 * time.Second),
		BroadcastAddress:    "255.255.255.255:1884",
		EnableQoS3:          true,
		KeepaliveMultiplier: 1.5,
		SessionExpiry:       Duration(2 * time.Hour),
		RetryInterval:       Duration(10 * time.Second),
		MaxRetries:          5,
		MaxSleepBuffer:      1000,
		MaxTopics:           1024,
		MaxClientIDLen:      1024,
		DeliverBatch:        256,
		MaxDatagram:         65535,
		Listeners: MQTTSNListeners{
			UDP:  map[string]*GatewayUDPListener{"default": udp},
			DTLS: map[string]*MQTTSNDTLSListener{"default": dtls},
		},
	}
}

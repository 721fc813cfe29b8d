package config

import "time"

// LwM2MGateway is gateway.lwm2m: LwM2M 1.0.2 and 1.1 devices over UDP and
// DTLS, bridged to MQTT with EMQX 5's topics and keys (lwm2m/README.md
// describes every key). The listeners are the CoAP gateway's listener types.
type LwM2MGateway struct {
	// GatewayCommon's mountpoint is the topic prefix of every endpoint
	// (${endpoint_name} or ${clientid} is the endpoint name); idle_timeout
	// is how long go-coap keeps a silent peer's transport state.
	GatewayCommon `yaml:",inline"`
	// XMLDir holds the OMA object definition files; a relative path is
	// resolved against the configuration file's directory.
	XMLDir string `yaml:"xml_dir"`
	// LifetimeMin and LifetimeMax bound a registration's lifetime (lt).
	LifetimeMin Duration `yaml:"lifetime_min" range:"1s.."`
	LifetimeMax Duration `yaml:"lifetime_max" range:"1s.."`
	// QModeTimeWindow is how long a queue-mode device stays reachable
	// after it last sent something.
	QModeTimeWindow Duration `yaml:"qmode_time_window" range:"1ms.."`
	// AutoObserve observes every object instance a device registers.
	AutoObserve bool `yaml:"auto_observe"`
	// UpdateMsgPublishCondition is always or contains_object_list.
	UpdateMsgPublishCondition string `yaml:"update_msg_publish_condition" oneof:"always|contains_object_list"`
	// Translators are the MQTT topics, relative to the mountpoint.
	Translators LwM2MTranslators `yaml:"translators"`
	// MaxClients bounds the registered endpoints; more get 5.03.
	MaxClients int `yaml:"max_clients" range:"1.."`
	// MaxQueuedCommands bounds the commands waiting for one endpoint.
	MaxQueuedCommands int `yaml:"max_queued_commands" range:"1.."`
	// RequestTimeout bounds the wait for a device's answer to a command.
	RequestTimeout Duration `yaml:"request_timeout" range:"1ms.."`
	// MaxBodySize bounds a request body, block-wise transfers included.
	MaxBodySize ByteSize `yaml:"max_body_size" range:"16..1GB"`
	// AckTimeout is RFC 7252 ACK_TIMEOUT for requests to devices.
	AckTimeout Duration `yaml:"ack_timeout" range:"1ms.."`
	// MaxRetransmit is RFC 7252 MAX_RETRANSMIT for requests to devices.
	MaxRetransmit int `yaml:"max_retransmit" range:"1..20"`
	// Listeners are the gateway's UDP and DTLS listeners.
	Listeners CoAPListeners `yaml:"listeners"`
}

// LwM2MTranslators are the LwM2M gateway's MQTT topics (EMQX 5's
// gateway.lwm2m.translators).
type LwM2MTranslators struct {
	// Command is the filter subscribed to for commands.
	Command LwM2MTranslator `yaml:"command"`
	// Response carries command responses.
	Response LwM2MTranslator `yaml:"response"`
	// Notify carries observe notifications.
	Notify LwM2MTranslator `yaml:"notify"`
	// Register carries register messages.
	Register LwM2MTranslator `yaml:"register"`
	// Update carries update messages.
	Update LwM2MTranslator `yaml:"update"`
}

// LwM2MTranslator is one MQTT topic of the LwM2M gateway.
type LwM2MTranslator struct {
	// Topic is appended to the endpoint's mountpoint.
	Topic string `yaml:"topic"`
	// QoS is the QoS uplinks are published, or commands subscribed, with.
	QoS int `yaml:"qos" range:"0..2"`
}

// defaultLwM2M is gateway.lwm2m's defaults (EMQX 5's): enabled on UDP
// 5783; the DTLS listener on 5784 present but disabled (no keys ship);
// xml_dir "lwm2m", which next to the shipped configs/manifold.yaml is
// configs/lwm2m.
func defaultLwM2M() LwM2MGateway {
	dtls := &CoAPDTLSListener{}
	dtls.SetDefaults()
	dtls.Enable = false
	dtls.Bind = "0.0.0.0:5784"
	return LwM2MGateway{
		GatewayCommon:             GatewayCommon{Enable: true, Mountpoint: "lwm2m/${endpoint_name}/", IdleTimeout: Duration(5 * time.Minute)},
		XMLDir:                    "lwm2m",
		LifetimeMin:               Duration(15 * time.Second),
		LifetimeMax:               Duration(86400 * time.Second),
		QModeTimeWindow:           Duration(22 * time.Second),
		UpdateMsgPublishCondition: "contains_object_list",
		Translators: LwM2MTranslators{
			Command:  LwM2MTranslator{Topic: "dn/#"},
			Response: LwM2MTranslator{Topic: "up/resp"},
			Notify:   LwM2MTranslator{Topic: "up/notify"},
			Register: LwM2MTranslator{Topic: "up/resp"},
			Update:   LwM2MTranslator{Topic: "up/update"},
		},
		MaxClients:        100000,
		MaxQueuedCommands: 100,
		RequestTimeout:    Duration(30 * time.Second),
		MaxBodySize:       1 << 20,
		AckTimeout:        Duration(2 * time.Second),
		MaxRetransmit:     4,
		Listeners: CoAPListeners{
			UDP:  map[string]*CoAPUDPListener{"default": {Enable: true, Bind: "0.0.0.0:5783"}},
			DTLS: map[string]*CoAPDTLSListener{"default": dtls},
		},
	}
}

package lwm2m

import (
	"fmt"
	"strings"
	"time"

	"github.com/manifold-iot/manifold/adapters/coapnet"
)

// Translator is one MQTT topic of the gateway, relative to the mountpoint
// (EMQX 5's gateway.lwm2m.translators.*).
type Translator struct {
	// Topic is appended to the endpoint's mountpoint.
	Topic string `yaml:"topic"`
	// QoS is the QoS uplinks are published with, or commands subscribed with.
	QoS int `yaml:"qos"`
}

// Translators are the MQTT topics of the gateway.
type Translators struct {
	// Command is the filter the gateway subscribes to for commands (dn/#).
	Command Translator `yaml:"command"`
	// Response carries command responses (up/resp).
	Response Translator `yaml:"response"`
	// Notify carries observe notifications (up/notify).
	Notify Translator `yaml:"notify"`
	// Register carries register messages (up/resp).
	Register Translator `yaml:"register"`
	// Update carries update messages (up/update).
	Update Translator `yaml:"update"`
}

// Update message publish conditions (update_msg_publish_condition).
const (
	UpdateAlways             = "always"
	UpdateContainsObjectList = "contains_object_list"
)

// Config is the gateway.lwm2m section (EMQX 5's gateway.lwm2m keys, plus the
// bounds every gateway has). README.md documents each key.
type Config struct {
	// XMLDir holds the OMA object definition files (objects 0–7 at least).
	XMLDir string `yaml:"xml_dir"`
	// LifetimeMin and LifetimeMax bound the lifetime a client may register
	// with; a Register or Update outside them is answered 4.00.
	LifetimeMin time.Duration `yaml:"lifetime_min"`
	LifetimeMax time.Duration `yaml:"lifetime_max"`
	// QModeTimeWindow is how long a queue-mode client (binding UQ) stays
	// reachable after it last sent something; commands wait for it otherwise.
	QModeTimeWindow time.Duration `yaml:"qmode_time_window"`
	// AutoObserve observes every object instance a client registers.
	AutoObserve bool `yaml:"auto_observe"`
	// UpdateMsgPublishCondition is always (every Update is published on
	// the update topic) or contains_object_list (only an Update with an
	// object list).
	UpdateMsgPublishCondition string `yaml:"update_msg_publish_condition"`
	// Mountpoint prefixes every topic; ${endpoint_name} (or ${clientid}) is
	// replaced by the endpoint name.
	Mountpoint string `yaml:"mountpoint"`
	// Translators are the MQTT topics.
	Translators Translators `yaml:"translators"`
	// MaxClients bounds the registered endpoints; more are answered 5.03.
	MaxClients int `yaml:"max_clients"`
	// MaxQueuedCommands bounds the commands waiting for one endpoint (a
	// sleeping queue-mode device, or one slow to answer); more are answered
	// with a 5.03 response.
	MaxQueuedCommands int `yaml:"max_queued_commands"`
	// RequestTimeout bounds the wait for a device's answer to a command; past
	// it the command is answered 5.04.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// MaxBodySize bounds a request body (block-wise transfers included).
	MaxBodySize int `yaml:"max_body_size"`
	// IdleTimeout forgets the transport state of a silent peer (a registered
	// UDP device is still reached afterwards).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// AckTimeout and MaxRetransmit govern the confirmable requests sent to
	// devices (RFC 7252 ACK_TIMEOUT, MAX_RETRANSMIT).
	AckTimeout    time.Duration `yaml:"ack_timeout"`
	MaxRetransmit int           `yaml:"max_retransmit"`
	// Listeners are the UDP and DTLS listeners.
	Listeners coapnet.Listeners `yaml:"listeners"`
}

// DefaultConfig is gateway.lwm2m with every default (EMQX 5's where it has one).
func DefaultConfig() Config {
	return Config{
		XMLDir:                    "configs/lwm2m",
		LifetimeMin:               15 * time.Second,
		LifetimeMax:               86400 * time.Second,
		QModeTimeWindow:           22 * time.Second,
		UpdateMsgPublishCondition: UpdateContainsObjectList,
		Mountpoint:                "lwm2m/${endpoint_name}/",
		Translators: Translators{
			Command:  Translator{Topic: "dn/#"},
			Response: Translator{Topic: "up/resp"},
			Notify:   Translator{Topic: "up/notify"},
			Register: Translator{Topic: "up/resp"},
			Update:   Translator{Topic: "up/update"},
		},
		MaxClients:        100000,
		MaxQueuedCommands: 100,
		RequestTimeout:    30 * time.Second,
		MaxBodySize:       1 << 20,
		IdleTimeout:       5 * time.Minute,
		AckTimeout:        2 * time.Second,
		MaxRetransmit:     4,
		Listeners: coapnet.Listeners{
			UDP:  map[string]coapnet.UDPListener{"default": {Bind: "0.0.0.0:5783"}},
			DTLS: map[string]coapnet.DTLSListener{},
		},
	}
}

// Validate checks the section; errors name the key.
func (c *Config) Validate() error {
	const p = "gateway.lwm2m."
	switch {
	case c.XMLDir == "":
		return fmt.Errorf("%sxml_dir: empty", p)
	case c.LifetimeMin <= 0:
		return fmt.Errorf("%slifetime_min: must be positive", p)
	case c.LifetimeMax < c.LifetimeMin:
		return fmt.Errorf("%slifetime_max: must be at least lifetime_min", p)
	case c.QModeTimeWindow <= 0:
		return fmt.Errorf("%sqmode_time_window: must be positive", p)
	case c.UpdateMsgPublishCondition != UpdateAlways && c.UpdateMsgPublishCondition != UpdateContainsObjectList:
		return fmt.Errorf("%supdate_msg_publish_condition: %q is not always or contains_object_list", p, c.UpdateMsgPublishCondition)
	case c.MaxClients <= 0:
		return fmt.Errorf("%smax_clients: must be positive", p)
	case c.MaxQueuedCommands <= 0:
		return fmt.Errorf("%smax_queued_commands: must be positive", p)
	case c.RequestTimeout <= 0:
		return fmt.Errorf("%srequest_timeout: must be positive", p)
	}
	if err := coapnet.ValidateTransport(p, c.MaxBodySize, c.AckTimeout, c.MaxRetransmit); err != nil {
		return err
	}
	for _, t := range []struct {
		key string
		tr  Translator
	}{
		{"command", c.Translators.Command}, {"response", c.Translators.Response}, {"notify", c.Translators.Notify},
		{"register", c.Translators.Register}, {"update", c.Translators.Update},
	} {
		if t.tr.Topic == "" {
			return fmt.Errorf("%stranslators.%s.topic: empty", p, t.key)
		}
		if t.tr.QoS < 0 || t.tr.QoS > 2 {
			return fmt.Errorf("%stranslators.%s.qos: must be 0, 1 or 2", p, t.key)
		}
		if t.key != "command" && strings.ContainsAny(t.tr.Topic, "+#") {
			return fmt.Errorf("%stranslators.%s.topic: %q has a wildcard", p, t.key, t.tr.Topic)
		}
	}
	return c.Listeners.Validate(p)
}

// mountpoint is the topic prefix of endpoint ep.
func (c *Config) mountpoint(ep string) string {
	m := strings.ReplaceAll(c.Mountpoint, "${endpoint_name}", ep)
	return strings.ReplaceAll(m, "${clientid}", ep)
}

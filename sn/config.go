package sn

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/manifold-iot/manifold/core/topic"
)

// Predefined is one entry of gateway.mqttsn.predefined: a topic id both sides
// know without REGISTER (MQTT-SN 1.2 §2.5).
type Predefined struct {
	ID    uint16 `yaml:"id"`
	Topic string `yaml:"topic"`
}

// Limits of the topic id space (PROTOCOLS.md, MQTT-SN section).
const (
	MaxPredefinedID = 1024 // predefined ids are 1..1024
	FirstDynamicID  = 1025 // REGISTER assigns from here
)

// NegQoSClientID is the client id QoS -1 publishes are made under (EMQX's).
const NegQoSClientID = "NegQoS-Client"

// Config is gateway.mqttsn: what the MQTT-SN adapter needs. Every key is
// described in the package README.
type Config struct {
	GatewayID         uint8         `yaml:"gateway_id"`         // ADVERTISE and GWINFO GwId
	Broadcast         bool          `yaml:"broadcast"`          // send ADVERTISE every advertise_interval
	AdvertiseInterval time.Duration `yaml:"advertise_interval"` // whole seconds, 1..65535 (the Duration field is 16-bit seconds)
	BroadcastAddress  string        `yaml:"broadcast_address"`  // where ADVERTISE goes
	EnableQoS3        bool          `yaml:"enable_qos3"`        // accept QoS -1 publishes without a connection
	SubsResume        bool          `yaml:"subs_resume"`        // on a resumed session, REGISTER every known topic to the client again
	Predefined        []Predefined  `yaml:"predefined"`
	Mountpoint        string        `yaml:"mountpoint"` // prefix of every topic; ${clientid} and ${username} are replaced

	IdleTimeout         time.Duration `yaml:"idle_timeout"`         // time a new peer has to CONNECT (and finish the will dialogue)
	KeepaliveMultiplier float64       `yaml:"keepalive_multiplier"` // silence of keepalive × this drops the client
	SessionExpiry       time.Duration `yaml:"session_expiry"`       // how long a CleanSession=0 session outlives its connection
	RetryInterval       time.Duration `yaml:"retry_interval"`       // T_RETRY: resend an unacknowledged PUBLISH, PUBREL or REGISTER after it
	MaxRetries          int           `yaml:"max_retries"`          // N_RETRY: then the client is considered lost
	MaxSleepBuffer      int           `yaml:"max_sleep_buffer"`     // messages buffered for a sleeping client; the oldest are dropped past it
	MaxTopics           int           `yaml:"max_topics"`           // topic ids registered per client
	MaxClientIDLen      int           `yaml:"max_clientid_len"`     // longer client ids are refused
	DeliverBatch        int           `yaml:"deliver_batch"`        // messages per HandleDeliver before yielding to other peers
	MaxDatagram         int           `yaml:"max_datagram"`         // larger outbound messages are dropped (and counted)
}

// DefaultConfig returns the defaults (configs/manifold.yaml, gateway.mqttsn).
func DefaultConfig() Config {
	return Config{
		GatewayID:           1,
		AdvertiseInterval:   900 * time.Second, // MQTT-SN 1.2 §7.2: T_ADV greater than 15 minutes
		BroadcastAddress:    "255.255.255.255:1884",
		EnableQoS3:          true,
		SubsResume:          false,
		IdleTimeout:         30 * time.Second,
		KeepaliveMultiplier: 1.5,
		SessionExpiry:       2 * time.Hour,
		RetryInterval:       10 * time.Second, // §7.2 T_RETRY 10 to 15 s
		MaxRetries:          5,                // §7.2 N_RETRY 3 to 5
		MaxSleepBuffer:      1000,
		MaxTopics:           1024,
		MaxClientIDLen:      1024,
		DeliverBatch:        256,
		MaxDatagram:         65535,
	}
}

// Validate checks the configuration; errors name the key.
func (c Config) Validate() error {
	const key = "gateway.mqttsn."
	if c.Broadcast {
		s := c.AdvertiseInterval / time.Second
		if s < 1 || s > 65535 || c.AdvertiseInterval%time.Second != 0 {
			return fmt.Errorf("%sadvertise_interval: %v: must be whole seconds from 1 to 65535", key, c.AdvertiseInterval)
		}
		if _, err := netip.ParseAddrPort(c.BroadcastAddress); err != nil {
			return fmt.Errorf("%sbroadcast_address: %w", key, err)
		}
	}
	seen := map[uint16]bool{}
	names := map[string]bool{}
	for i, p := range c.Predefined {
		k := fmt.Sprintf("%spredefined[%d]", key, i)
		if p.ID < 1 || p.ID > MaxPredefinedID {
			return fmt.Errorf("%s.id: %d: must be 1..%d", k, p.ID, MaxPredefinedID)
		}
		if seen[p.ID] {
			return fmt.Errorf("%s.id: %d: duplicate", k, p.ID)
		}
		if names[p.Topic] {
			return fmt.Errorf("%s.topic: %q: duplicate", k, p.Topic)
		}
		seen[p.ID], names[p.Topic] = true, true
		if err := topic.ValidName(p.Topic, 0); err != nil {
			return fmt.Errorf("%s.topic: %q: %w", k, p.Topic, err)
		}
	}
	if c.Mountpoint != "" && strings.ContainsAny(c.Mountpoint, "+#") {
		return fmt.Errorf("%smountpoint: %q: wildcards not allowed", key, c.Mountpoint)
	}
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"idle_timeout", c.IdleTimeout}, {"retry_interval", c.RetryInterval}} {
		if v.d <= 0 {
			return fmt.Errorf("%s%s: %v: must be positive", key, v.name, v.d)
		}
	}
	if c.SessionExpiry < 0 {
		return fmt.Errorf("%ssession_expiry: %v: must not be negative", key, c.SessionExpiry)
	}
	if c.KeepaliveMultiplier < 1 {
		return fmt.Errorf("%skeepalive_multiplier: %v: must be at least 1", key, c.KeepaliveMultiplier)
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"max_retries", c.MaxRetries}, {"max_sleep_buffer", c.MaxSleepBuffer}, {"max_topics", c.MaxTopics},
		{"max_clientid_len", c.MaxClientIDLen}, {"deliver_batch", c.DeliverBatch}} {
		if v.n < 1 {
			return fmt.Errorf("%s%s: %d: must be at least 1", key, v.name, v.n)
		}
	}
	if c.MaxDatagram < 16 || c.MaxDatagram > 65535 {
		return fmt.Errorf("%smax_datagram: %d: must be 16..65535", key, c.MaxDatagram)
	}
	return nil
}

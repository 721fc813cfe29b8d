package raw

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	rawcodec "github.com/manifold-iot/manifold/codec/raw"
	"github.com/manifold-iot/manifold/core"
)

// Config is one raw listener's protocol settings: its framing, and either a
// handler (handler mode) or the topic mapping of config-only mode. It
// appears under gateway.raw.listeners.<tcp|udp|ssl>.<name> next to the
// listener's bind settings; see README.md for every key.
type Config struct {
	// Key is the config path errors name; "gateway.raw" when empty.
	Key string `yaml:"-"`

	// Framing cuts the byte stream into frames.
	Framing rawcodec.Config `yaml:"framing"`
	// Handler names a Handler registered with Register: handler mode.
	// Empty: config-only mode.
	Handler string `yaml:"handler"`

	// UpTopic is where each frame is published (config-only mode).
	// Placeholders: ${clientid}, ${username}, ${peerhost} (also {clientid}).
	UpTopic string `yaml:"up_topic"`
	// UpQoS and UpRetain are the uplink publish's QoS and retain flag.
	UpQoS    core.QoS `yaml:"up_qos"`
	UpRetain bool     `yaml:"up_retain"`
	// DnTopic is subscribed for the connection; each message on it is
	// written as one frame (config-only mode).
	DnTopic string `yaml:"dn_topic"`
	// DnQoS is the downlink subscription's QoS.
	DnQoS core.QoS `yaml:"dn_qos"`

	// ClientIDRegex, when set, takes the client id from the first frame:
	// the regex's first capture group. A first frame that does not match
	// closes the connection. Empty: the client id is the peer address
	// ("127.0.0.1:5000", "[::1]:5000").
	ClientIDRegex string `yaml:"clientid_regex"`
	// PublishIDFrame also publishes the frame the client id was taken from.
	PublishIDFrame bool `yaml:"publish_id_frame"`

	// IdleTimeout closes a connection that sent no frame for this long
	// (the keepalive); 0 disables. A handler may change it (SetKeepalive).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// CleanSession starts each connection with a fresh session; when false
	// the session outlives the connection by SessionExpiry, keeping
	// downlink messages queued while the device is away.
	CleanSession  bool          `yaml:"clean_session"`
	SessionExpiry time.Duration `yaml:"session_expiry"`
	// Mountpoint prefixes every topic the connection publishes or
	// subscribes to (placeholders as in UpTopic).
	Mountpoint string `yaml:"mountpoint"`
	// DeliverBatch bounds the deliveries written per HandleDeliver; 0 means 256.
	DeliverBatch int `yaml:"-"`
}

// DefaultConfig is line framing in config-only mode on raw/${clientid}/up
// and raw/${clientid}/dn, QoS 0, the peer address as client id, 300s idle
// timeout, clean sessions.
func DefaultConfig() Config {
	return Config{
		Framing:        rawcodec.DefaultConfig(),
		UpTopic:        "raw/${clientid}/up",
		DnTopic:        "raw/${clientid}/dn",
		PublishIDFrame: true,
		IdleTimeout:    300 * time.Second,
		CleanSession:   true,
		SessionExpiry:  2 * time.Hour,
	}
}

func (c Config) key() string {
	if c.Key == "" {
		return "gateway.raw"
	}
	return c.Key
}

// Validate checks c; its errors name the keys (gateway.raw.…).
func (c Config) Validate() error {
	k := c.key()
	errs := []error{c.Framing.Validate(k + ".framing")}
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", k, key, fmt.Sprintf(format, args...)))
	}
	if c.Handler != "" {
		if lookup(c.Handler) == nil {
			bad("handler", "no handler registered as %q (registered: %s)", c.Handler, strings.Join(registered(), ", "))
		}
	} else {
		if c.UpTopic == "" {
			bad("up_topic", "must not be empty in config-only mode")
		}
		if strings.ContainsAny(c.UpTopic, "+#") {
			bad("up_topic", "must not contain wildcards, got %q", c.UpTopic)
		}
	}
	if c.UpQoS > core.QoS2 {
		bad("up_qos", "must be 0, 1 or 2, got %d", c.UpQoS)
	}
	if c.DnQoS > core.QoS2 {
		bad("dn_qos", "must be 0, 1 or 2, got %d", c.DnQoS)
	}
	if c.ClientIDRegex != "" {
		re, err := regexp.Compile(c.ClientIDRegex)
		switch {
		case err != nil:
			bad("clientid_regex", "%v", err)
		case re.NumSubexp() < 1:
			bad("clientid_regex", "needs a capture group for the client id, got %q", c.ClientIDRegex)
		}
	}
	if c.IdleTimeout < 0 {
		bad("idle_timeout", "must be >= 0, got %v", c.IdleTimeout)
	}
	if c.SessionExpiry < 0 {
		bad("session_expiry", "must be >= 0, got %v", c.SessionExpiry)
	}
	if strings.ContainsAny(c.Mountpoint, "+#") {
		bad("mountpoint", "must not contain wildcards, got %q", c.Mountpoint)
	}
	return errors.Join(errs...)
}

// expand fills a topic template's placeholders. EMQX writes ${clientid};
// PROTOCOLS.md writes {clientid}: both are accepted.
func expand(tmpl string, ci *core.ClientInfo) string {
	if !strings.Contains(tmpl, "{") {
		return tmpl
	}
	host := ""
	if ci.Peer.IsValid() {
		host = ci.Peer.Addr().String()
	}
	return strings.NewReplacer(
		"${clientid}", ci.ClientID, "{clientid}", ci.ClientID,
		"${username}", ci.Username, "{username}", ci.Username,
		"${peerhost}", host, "{peerhost}", host,
	).Replace(tmpl)
}

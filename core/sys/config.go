package sys

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrBadConfig is wrapped by Config.Validate errors.
var ErrBadConfig = errors.New("sys: invalid config")

// Config says what $SYS publishes and how often. The yaml keys are those of
// EMQX's sys_topics section; the four event flags are EMQX's
// sys_topics.sys_event_messages.* keys, flattened here.
type Config struct {
	// Node is this node's name, the <node> of $SYS/brokers/<node>/...: the
	// broker's node name (EMQX's node.name, e.g. manifold@127.0.0.1).
	Node string `yaml:"-"`
	// Version is published on $SYS/brokers/<node>/version; "" publishes
	// "unknown" (an empty retained payload would clear the topic).
	Version string `yaml:"-"`
	// Started is when the broker started, the origin of uptime; zero means
	// the moment New is called.
	Started time.Time `yaml:"-"`
	// Interval is how often version, sysdescr, the node list, uptime,
	// datetime, stats and metrics are published (EMQX's sys_msg_interval,
	// default 1m); 0 disables them.
	Interval time.Duration `yaml:"sys_msg_interval"`
	// HeartbeatInterval is how often uptime and datetime are published
	// (EMQX's sys_heartbeat_interval, default 30s); 0 disables it.
	HeartbeatInterval time.Duration `yaml:"sys_heartbeat_interval"`
	// ClientConnected enables $SYS/brokers/<node>/clients/<clientid>/connected.
	ClientConnected bool `yaml:"client_connected"`
	// ClientDisconnected enables .../clients/<clientid>/disconnected.
	ClientDisconnected bool `yaml:"client_disconnected"`
	// ClientSubscribed enables .../clients/<clientid>/subscribed.
	ClientSubscribed bool `yaml:"client_subscribed"`
	// ClientUnsubscribed enables .../clients/<clientid>/unsubscribed.
	ClientUnsubscribed bool `yaml:"client_unsubscribed"`
}

// DefaultConfig returns EMQX's defaults: system messages every minute, a
// heartbeat every 30 seconds, connected and disconnected events on,
// subscribed and unsubscribed events off. Node is the broker's default node
// name; Version is left for the caller.
func DefaultConfig() Config {
	return Config{
		Node:               "manifold@127.0.0.1",
		Interval:           time.Minute,
		HeartbeatInterval:  30 * time.Second,
		ClientConnected:    true,
		ClientDisconnected: true,
	}
}

// Validate reports a configuration error, naming the key.
func (c Config) Validate() error {
	if c.Node == "" || strings.ContainsAny(c.Node, "/+#\x00") {
		return fmt.Errorf("node_name: %q cannot be a $SYS topic level: %w", c.Node, ErrBadConfig)
	}
	if c.Interval < 0 {
		return fmt.Errorf("sys_msg_interval: %v is negative: %w", c.Interval, ErrBadConfig)
	}
	if c.HeartbeatInterval < 0 {
		return fmt.Errorf("sys_heartbeat_interval: %v is negative: %w", c.HeartbeatInterval, ErrBadConfig)
	}
	return nil
}

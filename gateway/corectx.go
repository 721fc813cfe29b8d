package gateway

import (
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/acl"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/delayed"
	"github.com/manifold-iot/manifold/core/hooks"
	"github.com/manifold-iot/manifold/core/retain"
	"github.com/manifold-iot/manifold/core/session"
	"github.com/manifold-iot/manifold/core/sys"
	"github.com/manifold-iot/manifold/core/topic"
	"github.com/manifold-iot/manifold/gateway/config"
)

// coreContext is adapters.Context over the broker and the policy chain:
// what every adapter's channel calls.
type coreContext struct {
	*broker.Broker
	log        zerolog.Logger
	policy     *hooks.Chain
	denyAction string
}

var _ adapters.Context = (*coreContext)(nil)

func (c *coreContext) Logger() *zerolog.Logger { return &c.log }

func (c *coreContext) Authenticate(req adapters.AuthRequest) error {
	return c.policy.Authenticate(req.Client, req.Password)
}

// Authorize runs the policy chain. A delayed publish is authorized against
// the topic it will be published on: otherwise a client denied "secret/#"
// could publish "$delayed/1/secret/x" and reach it a second later.
func (c *coreContext) Authorize(ci *core.ClientInfo, action core.Action, topic string, qos core.QoS, retain bool) bool {
	if action == core.ActionPublish && strings.HasPrefix(topic, delayed.Prefix) {
		if _, real, ok, err := delayed.Parse(topic); ok && err == nil {
			topic = real
		}
	}
	return c.policy.Authorize(ci, action, topic, qos, retain)
}

func (c *coreContext) DenyAction() string { return c.denyAction }

// newPolicy builds the policy chain from the configuration: the
// authorization sources in their order, then authorization.no_match;
// authentication backends arrive as providers later, until then
// mqtt.allow_anonymous decides.
func newPolicy(cfg *config.Config) (*hooks.Chain, error) {
	ch := &hooks.Chain{AllowAnonymous: cfg.MQTT.AllowAnonymous, NoMatch: hooks.Allow}
	if cfg.Authorization.NoMatch == "deny" {
		ch.NoMatch = hooks.Deny
	}
	for i, s := range cfg.Authorization.Sources {
		if !s.Enable {
			continue
		}
		if s.Type != "file" {
			return nil, fmt.Errorf("authorization.sources.%d: type %q is not available yet (only file)", i+1, s.Type)
		}
		f, err := acl.LoadFile(cfg.ResolvePath(s.Path))
		if err != nil {
			return nil, fmt.Errorf("authorization.sources.%d: %w", i+1, err)
		}
		ch.Authorizers = append(ch.Authorizers, f)
	}
	return ch, nil
}

// brokerConfig maps the mqtt.* and sys_topics.* keys onto the core's
// configuration.
func brokerConfig(cfg *config.Config, version string) broker.Config {
	m, st := cfg.MQTT, cfg.SysTopics
	return broker.Config{
		NodeName:              cfg.Node.Name,
		MaxQoS:                core.QoS(m.MaxQoSAllowed),
		MaxTopicLevels:        m.MaxTopicLevels,
		RetainAvailable:       m.RetainAvailable,
		WildcardSubscription:  m.WildcardSubscription,
		SharedSubscription:    m.SharedSubscription,
		SharedStrategy:        m.SharedSubscriptionStrategy,
		MaxSubscriptions:      m.MaxSubscriptions,
		UpgradeQoS:            m.UpgradeQoS,
		IgnoreLoopDeliver:     m.IgnoreLoopDeliver,
		SessionExpiryInterval: time.Duration(m.SessionExpiryInterval),
		MessageExpiryInterval: time.Duration(m.MessageExpiryInterval),
		AwaitRelTimeout:       time.Duration(m.AwaitRelTimeout),
		Session: session.Config{
			MaxInflight:    m.MaxInflight,
			MaxQueueLen:    m.MaxMqueueLen,
			StoreQoS0:      m.MqueueStoreQoS0,
			MaxAwaitingRel: m.MaxAwaitingRel,
		},
		Retain:  retain.DefaultConfig(),
		Topic:   topic.DefaultConfig(),
		Delayed: delayed.DefaultConfig(),
		Sys: sys.Config{
			Node:               cfg.Node.Name,
			Version:            version,
			Interval:           time.Duration(st.SysMsgInterval),
			HeartbeatInterval:  time.Duration(st.SysHeartbeatInterval),
			ClientConnected:    st.SysEventMessages.ClientConnected,
			ClientDisconnected: st.SysEventMessages.ClientDisconnected,
			ClientSubscribed:   st.SysEventMessages.ClientSubscribed,
			ClientUnsubscribed: st.SysEventMessages.ClientUnsubscribed,
		},
	}
}

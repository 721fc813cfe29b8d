package gateway

import (
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/acl"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/delayed"
	"github.com/manifold-iot/manifold/core/retain"
	"github.com/manifold-iot/manifold/core/session"
	"github.com/manifold-iot/manifold/core/sys"
	"github.com/manifold-iot/manifold/core/topic"
	"github.com/manifold-iot/manifold/gateway/config"
)

// ErrAnonymousDenied refuses a client without credentials when
// mqtt.allow_anonymous is false and no authenticator accepts it.
var ErrAnonymousDenied = errors.New("gateway: anonymous clients are not allowed")

// coreContext is adapters.Context over the broker and the policy sources:
// what every adapter's channel calls.
type coreContext struct {
	*broker.Broker
	log            zerolog.Logger
	allowAnonymous bool
	authz          *authorizer
}

var _ adapters.Context = (*coreContext)(nil)

func (c *coreContext) Logger() *zerolog.Logger { return &c.log }

func (c *coreContext) Authenticate(req adapters.AuthRequest) error {
	// Authentication backends arrive as hooks; until one is configured the
	// only question is whether anonymous clients are welcome.
	if c.allowAnonymous {
		return nil
	}
	return ErrAnonymousDenied
}

func (c *coreContext) Authorize(ci *core.ClientInfo, action core.Action, topic string, qos core.QoS, retain bool) bool {
	return c.authz.authorize(ci, action, topic, qos, retain)
}

func (c *coreContext) DenyAction() string { return c.authz.denyAction }

// authorizer runs the authorization sources in order; the first that decides
// wins, and authorization.no_match decides when none does.
type authorizer struct {
	files      []*acl.File
	noMatch    bool // allow when no source decides
	denyAction string
}

func newAuthorizer(cfg config.AuthorizationConfig, resolve func(string) string) (*authorizer, error) {
	a := &authorizer{noMatch: cfg.NoMatch != "deny", denyAction: cfg.DenyAction}
	for i, s := range cfg.Sources {
		if !s.Enable {
			continue
		}
		if s.Type != "file" {
			return nil, fmt.Errorf("authorization.sources.%d: type %q is not available yet (only file)", i+1, s.Type)
		}
		f, err := acl.LoadFile(resolve(s.Path))
		if err != nil {
			return nil, fmt.Errorf("authorization.sources.%d: %w", i+1, err)
		}
		a.files = append(a.files, f)
	}
	return a, nil
}

func (a *authorizer) authorize(ci *core.ClientInfo, action core.Action, topic string, qos core.QoS, retain bool) bool {
	if ci.IsSuperuser {
		return true
	}
	for _, f := range a.files {
		switch f.Check(ci, action, topic, qos, retain) {
		case acl.Allow:
			return true
		case acl.Deny:
			return false
		}
	}
	return a.noMatch
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

package adaptertest

import (
	"sync"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
)

// Context is adapters.Context over a real broker for adapter tests, with a
// deny list in place of the authorization sources: it lets every client in,
// allows every publish and subscribe that is not denied, and answers
// DenyAction with DenyWith. With Broker set, the zero value is ready to use.
// A test that varies authentication or authorization embeds it and
// overrides only that method (Denied serves an override too).
type Context struct {
	*broker.Broker
	// Log is what Logger returns; the zero Logger writes nothing.
	Log zerolog.Logger
	// DenyWith is authorization.deny_action ("ignore" or "disconnect");
	// empty means "ignore".
	DenyWith string

	mu   sync.Mutex
	deny map[string]bool
}

var _ adapters.Context = (*Context)(nil)

// Logger returns &c.Log.
func (c *Context) Logger() *zerolog.Logger { return &c.Log }

// Authenticate accepts every client.
func (c *Context) Authenticate(adapters.AuthRequest) error { return nil }

// Authorize allows action on topic unless "action:topic" is denied.
func (c *Context) Authorize(_ *core.ClientInfo, a core.Action, topic string, _ core.QoS, _ bool) bool {
	return !c.Denied(a.String() + ":" + topic)
}

// DenyAction returns DenyWith, or "ignore" when it is empty.
func (c *Context) DenyAction() string {
	if c.DenyWith == "" {
		return "ignore"
	}
	return c.DenyWith
}

// Deny adds keys to the deny list: "publish:topic" and "subscribe:filter"
// (the action as core.Action.String spells it) refuse that action, and an
// overriding method may look up keys of its own with Denied. It is safe to
// call while channels run.
func (c *Context) Deny(keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deny == nil {
		c.deny = make(map[string]bool, len(keys))
	}
	for _, k := range keys {
		c.deny[k] = true
	}
}

// Denied reports whether key is on the deny list.
func (c *Context) Denied(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deny[key]
}

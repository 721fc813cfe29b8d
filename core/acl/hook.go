package acl

import (
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/hooks"
)

var _ hooks.Authorizer = (*File)(nil)

// Name implements hooks.Authorizer: the file source.
func (f *File) Name() string { return "file" }

// Authorize implements hooks.Authorizer: the first matching rule decides;
// a file without a matching rule leaves the decision to the next source.
func (f *File) Authorize(c *core.ClientInfo, action core.Action, topic string, qos core.QoS, retain bool) hooks.Decision {
	switch f.Check(c, action, topic, qos, retain) {
	case Allow:
		return hooks.Allow
	case Deny:
		return hooks.Deny
	}
	return hooks.Ignore
}

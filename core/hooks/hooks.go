package hooks

import (
	"errors"
	"fmt"

	"github.com/manifold-iot/manifold/core"
)

// Decision is one provider's answer.
type Decision uint8

// The answers a provider can give.
const (
	Ignore Decision = iota // no opinion: ask the next provider
	Allow
	Deny
)

// String returns the decision's name.
func (d Decision) String() string {
	switch d {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	}
	return "ignore"
}

// ErrNotAuthorized is returned by Authenticate when the client is refused.
var ErrNotAuthorized = errors.New("hooks: not authorized")

// errBanned is Authenticate's answer for a banned client: both
// ErrNotAuthorized and core.ErrBanned.
var errBanned = fmt.Errorf("%w: %w", ErrNotAuthorized, core.ErrBanned)

// Authorizer decides whether a client may publish to a topic or subscribe to
// a filter. It must be safe for concurrent use and must not block.
type Authorizer interface {
	// Name identifies the provider in logs ("file", "http", …).
	Name() string
	Authorize(c *core.ClientInfo, action core.Action, topic string, qos core.QoS, retain bool) Decision
}

// Authenticator decides whether a client's credentials are good. It must be
// safe for concurrent use and must not block.
type Authenticator interface {
	Name() string
	Authenticate(c *core.ClientInfo, password []byte) Decision
}

// Chain is an ordered list of providers with the defaults that decide when
// every provider ignores a request. Build it before use; it is read-only
// afterwards and safe for concurrent use.
type Chain struct {
	Authenticators []Authenticator
	Authorizers    []Authorizer
	// AllowAnonymous accepts a client no authenticator decided on
	// (mqtt.allow_anonymous).
	AllowAnonymous bool
	// NoMatch decides an action no authorizer decided on
	// (authorization.no_match): Allow or Deny.
	NoMatch Decision
}

// Authenticate runs the authenticators in order; nil means accepted.
func (ch *Chain) Authenticate(c *core.ClientInfo, password []byte) error {
	for _, a := range ch.Authenticators {
		switch a.Authenticate(c, password) {
		case Allow:
			return nil
		case Deny:
			if _, banned := a.(*Banned); banned {
				return errBanned
			}
			return ErrNotAuthorized
		}
	}
	if ch.AllowAnonymous {
		return nil
	}
	return ErrNotAuthorized
}

// Authorize runs the authorizers in order; superusers are always allowed.
func (ch *Chain) Authorize(c *core.ClientInfo, action core.Action, topic string, qos core.QoS, retain bool) bool {
	if c.IsSuperuser {
		return true
	}
	for _, a := range ch.Authorizers {
		switch a.Authorize(c, action, topic, qos, retain) {
		case Allow:
			return true
		case Deny:
			return false
		}
	}
	return ch.NoMatch != Deny
}

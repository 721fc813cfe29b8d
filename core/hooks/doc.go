// Package hooks is the policy chain the broker consults for every client:
// authentication when it connects, authorization when it publishes or
// subscribes. A chain holds providers in a fixed order (the order of
// authorization.sources, for instance); each provider answers Allow, Deny or
// Ignore, the first that does not ignore decides, and the chain's default
// (authorization.no_match, or allow_anonymous) decides when none does.
//
// Providers live in their own packages (core/acl for EMQX's acl.conf; the
// built-in database, HTTP, JWT, Redis, SQL and LDAP backends later) and
// implement Authorizer or Authenticator; this package imports none of them.
// Backends that block run on a bounded worker pool outside the chain.
package hooks

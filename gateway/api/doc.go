// Package api is Manifold's HTTP API: EMQX 5's REST paths under /api/v5
// (clients, subscriptions, topics, publish, retainer, banned, listeners,
// configs, …), Prometheus metrics at /metrics, and an OpenAPI document at
// /api-docs/swagger.json. It listens on dashboard.listeners.http.bind.
//
// The API sees the node only through the Node interface, which
// gateway.Server implements: the core broker for reads and operator actions
// (kick, publish, subscribe on a client's behalf), the banned list, listener
// control and configuration. Every handler is a thin translation between
// JSON and those calls.
//
// Authentication (auth.go): POST /api/v5/login exchanges a dashboard user's
// password for a bearer token that expires (dashboard.token_expired_time);
// scripts use API keys with HTTP basic auth (key:secret). Users and keys are
// kept in <node.data_dir>/api/auth.json (mode 0600): passwords hashed with
// PBKDF2-SHA256, key secrets (random 256-bit values) with SHA-256. The
// default administrator's token, while its password is still the default,
// allows only changing it. Failed logins are rate-limited per username and
// client address. At start the node creates an in-memory API key for
// `manifold ctl` and writes it, with the API's address, to
// <node.data_dir>/ctl.key (mode 0600).
//
// The banned list (core/hooks.Banned, checked first at connect) is saved to
// <node.data_dir>/api/banned.json on every change and restored at start.
//
// Alarms (alarms.go) come from the node's core/alarm registry: GET
// /api/v5/alarms?activated=true|false lists the active alarms or the
// deactivated history (both when the filter is absent) in EMQX's shape,
// DELETE /api/v5/alarms forgets the deactivated ones. /metrics carries
// manifold_alarms_active and the listeners' byte counters (total, per
// listener, per gateway).
//
// Errors are JSON {"code": "...", "message": "..."} with the HTTP status
// that fits; lists are paged with page and limit and carry meta.count.
package api

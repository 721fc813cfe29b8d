// Package logging builds Manifold's zerolog logger from the log section of the
// configuration: human-readable console output when stderr is a terminal, one
// JSON object per line otherwise (for journald, Docker and log shippers).
//
// Every event has a stable snake_case message (Msg("client_connected")) and
// structured fields; connection-scoped loggers carry proto, listener, clientid
// and peer, attached once per connection.
package logging

// Package gateway assembles a Manifold server from its parts: it reads the
// typed configuration (gateway/config), builds the logger, starts every enabled
// listener through the edge, wires the adapters to the core broker, and tears
// all of it down again on shutdown.
//
// The binary in gateway/cmd/manifold is a thin wrapper: it parses flags, loads
// the config and calls New(cfg).Run(ctx). Everything a test needs to run a real
// server in-process is here, so end-to-end tests and the binary share one path.
package gateway

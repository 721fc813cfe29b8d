// Package gateway assembles a Manifold server from its parts: it reads the
// typed configuration (gateway/config), builds the logger, starts every enabled
// listener through the edge, wires the adapters to the core broker, and tears
// all of it down again on shutdown.
//
// Protocol gateways (gateway.<name>, gateways.go) are started after the MQTT
// listeners: each enabled listener of an enabled gateway gets its own adapter
// (its mountpoint may differ) and runs on the transport its kind names — gnet
// for tcp, gateway/listener for ssl, gateway/httpgw for http — and is
// registered for Server.Addr as "<gateway>:<kind>:<name>" ("stomp:tcp:default").
// A new gateway adds its typed section to gateway/config, a case to
// startGateways and nothing else here.
//
// The HTTP API (gateway/api) listens on dashboard.listeners.http; it sees the
// node through api.Node, which Server implements in apinode.go (broker
// access, the banned list, listener control, run-time configuration).
//
// The binary in gateway/cmd/manifold is a thin wrapper: it parses flags, loads
// the config and calls New(cfg).Run(ctx). Everything a test needs to run a real
// server in-process is here, so end-to-end tests and the binary share one path.
package gateway

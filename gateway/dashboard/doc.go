// Package dashboard is Manifold's web dashboard: a single-page application
// (plain JavaScript modules, no third-party code, no build step) embedded
// in the binary and served on the HTTP API's listener
// (dashboard.listeners.http.bind, 18083 by default).
//
// The gateway hands Handler to gateway/api as its UI: every path that is not
// the API's (/api/..., /api-docs/..., /metrics) comes here. Known files are
// served with their type; any other path without a file extension is a
// client-side route and gets index.html; a missing asset is 404. Every
// answer carries a Content-Security-Policy that allows only the page's own
// scripts and styles and connections to its own origin and to WebSockets
// (the MQTT-over-WebSocket client page).
//
// The browser talks only to the REST API (bearer token from POST
// /api/v5/login, kept in sessionStorage) and, on the WebSocket client page,
// to an MQTT WebSocket listener through its own MQTT 3.1.1 client
// (static/mqtt.js).
package dashboard

// Package lwm2m is the LwM2M 1.0.2/1.1 gateway: the registration interface
// (/rd, LwM2M 1.1 TS Core §6.2) on adapters/coapnet's UDP and DTLS
// listeners, and the MQTT mapping of EMQX 5's LwM2M gateway under
// lwm2m/{endpoint}/ (README.md). Payload codecs live in codec/lwm2m and
// object definitions (OMA registry XML, configs/lwm2m) in lwm2m/objects.
//
// Data flow. A device's Register (POST /rd?ep=…) makes an endpoint: a core
// client (ClientInfo.Proto "lwm2m", client id = endpoint name) connected
// through the adapters.Context and subscribed to its command topic
// (dn/#), and a register message published on up/resp. An MQTT command
// published to dn is queued in the endpoint's core session; the session's
// Notify wakes the endpoint's worker goroutine, which moves commands into a
// bounded queue and sends them to the device one at a time as CoAP requests
// (Read = GET, Write = PUT/POST, Execute = POST, Observe = GET+Observe, …)
// on the go-coap connection the device last used — go-coap's client API
// works on a server-side connection — and publishes the device's answer,
// decoded into JSON, on up/resp. The worker waits for each answer (bounded
// by request_timeout), which is why commands do not run on go-coap's
// per-peer goroutine. A queue-mode device (binding UQ) gets commands only
// within qmode_time_window of its last message; they wait for its next
// Update otherwise. Observe notifications are responses outside an
// exchange: go-coap hands them to the handler, which matches their token to
// an observation and publishes them on up/notify. Update refreshes the
// lifetime and the connection (NAT rebinding); De-register, lifetime expiry
// or a takeover of the client id end the endpoint and its core session.
//
// Locks: Server.mu before endpoint.mu, never the other way; no lock is held
// while calling the core or sending CoAP.
package lwm2m

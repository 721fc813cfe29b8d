// Package coap is the CoAP gateway adapter (RFC 7252, observe RFC 7641, block
// transfers RFC 7959) over go-coap/v3's UDP and DTLS servers: POST /ps/{topic}
// publishes, GET with Observe subscribes, with EMQX 5's connection mode and the
// EMQX 4 /mqtt form. The conventions are in the package README.
package coap

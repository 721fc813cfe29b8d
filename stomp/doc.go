// Package stomp is the STOMP 1.0/1.1/1.2 gateway adapter over TCP, WebSocket and
// SockJS: SEND publishes, SUBSCRIBE takes MQTT filters, with acks, receipts and
// transactions. The frame codec lives in codec/stomp; the conventions are in
// the package README.
package stomp

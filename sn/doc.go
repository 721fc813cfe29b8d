// Package sn is the MQTT-SN 1.2 gateway adapter over UDP and DTLS: topic-id
// registration, predefined and short topics, QoS -1 publishing without a
// connection, and sleeping clients whose messages are buffered until they wake.
// The wire codec lives in codec/sn; the conventions are in the package README.
package sn

// Package adapters holds the contract between the edge and each wire protocol,
// and the registry of protocol adapters.
//
// An adapter translates one wire protocol (MQTT, MQTT-SN, CoAP, LwM2M, STOMP,
// raw TCP/UDP) into calls on the core through a Context, and turns deliveries
// from the core back into frames. The edge's connection driver is written once
// and drives every adapter's Channel, whatever the transport. Adapters never
// import storage, clustering or another protocol's package.
//
// Sub-packages: mqtt (MQTT 3.1/3.1.1/5.0 channel), raw (framed private
// protocols), bridge (the core as a client of remote brokers) and adaptertest
// (the conformance kit every adapter's tests run).
package adapters

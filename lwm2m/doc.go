// Package lwm2m is the LwM2M 1.0.2/1.1 gateway adapter: device registration
// (/rd), the MQTT command and response topics under lwm2m/{endpoint}/, object
// definitions loaded from the OMA registry XML files in configs/lwm2m, over
// go-coap/v3's UDP and DTLS servers. Its wire conventions are described in the
// package README; payload codecs (TLV, SenML, LwM2M JSON) live in codec/lwm2m.
package lwm2m

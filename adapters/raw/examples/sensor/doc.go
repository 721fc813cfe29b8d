// Package sensor is an example raw-gateway handler: a small binary sensor
// protocol, registered as handler "sensor". Import it for its side effect
// (the registration) and set `handler: sensor` on a raw listener.
//
// Frames are length-prefixed: a 2-byte big-endian length (the body alone),
// then the body, whose first byte is the type:
//
//	0x01 HELLO      client id (1–64 bytes), optionally NUL and a password
//	0x81 HELLO_ACK  status: 0 accepted, 1 refused (then the server closes)
//	0x02 READING    sensor u8, value i32 big-endian in thousandths
//	0x03 CMD        text, server to device: an MQTT message on sensors/{id}/cmd
//	0x04 PING       answered with 0x84 PONG
//	0x7F ERROR      text, server to device, before closing on a bad frame
//
// A device has HelloTimeout to say HELLO. After HELLO it is authenticated
// as its client id, subscribed to sensors/{id}/cmd, and each READING is
// published as JSON {"sensor":n,"value":x.y} on sensors/{id}/reading.
package sensor

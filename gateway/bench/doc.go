// Package bench is the MQTT load generator behind `manifold bench`, modelled on
// emqtt-bench: `manifold bench pub|sub|conn|pubsub` opens -c clients to a
// broker over TCP, TLS or WebSocket and publishes, subscribes, or just holds
// connections, bounded by a message count (-L) or a duration (--duration) so
// every run ends by itself.
//
// # Wire
//
// Clients speak MQTT 3.1, 3.1.1 or 5.0 (-V 3|4|5) through Manifold's own codec
// (codec/mqtt) over a raw net.Conn: a publisher encodes one PUBLISH template
// and patches its packet identifier, sequence number and timestamp in place,
// so sending costs no allocation; a subscriber decodes with a reused
// mqtt.Decoder. Each client is one goroutine (QoS 1 and 2 publishers have a
// second one reading acknowledgements); this is a client tool, not a gnet path.
//
// # Payload
//
// Every payload starts with a 24-byte header, big endian (the layout of the
// neutral generator mqttload, so the two tools can be compared message for
// message):
//
//	magic u32 | publisher u32 | sequence u64 | send time, unix nanoseconds u64
//
// padded with 'x' to -s bytes. A subscriber keeps, per publisher, a bitset of
// the sequence numbers it has seen: a second arrival is a duplicate, a
// sequence lower than the last one from that publisher is out of order. In
// pubsub mode the publishers run in the same process, so lost is exact:
// messages sent to the matching subscriptions minus unique messages received.
// In sub mode only gaps below the highest sequence seen can be counted.
//
// # Latency
//
// Latency is receive time minus the send time in the payload (one host
// clock), recorded in a bounded log-linear histogram (64 sub-buckets per power
// of two, under 1.6% error) that is merged across subscribers; the per-second
// progress line shows the percentiles of that second, the summary those of
// the whole run.
//
// # Broker figures
//
// With --pid the broker's CPU time (utime+stime from /proc/PID/stat) and RSS
// (VmRSS from /proc/PID/status) are read before and after the run, giving CPU
// microseconds per delivered message and, in conn mode, RSS per connection.
// This is how PERFORMANCE.md compares brokers on a shared, noisy machine.
package bench

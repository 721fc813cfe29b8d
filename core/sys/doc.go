// Package sys publishes a node's $SYS topics and its client events, with
// EMQX's topic names and payloads, through the broker's Publish.
//
// # Periodic topics
//
// Start runs one goroutine that publishes every enabled group once at once
// (so `mosquitto_sub -t '$SYS/brokers/+/uptime'` answers without waiting
// for an interval) and then on two tickers. Topics are under
// $SYS/brokers/<node>/ unless noted; every message is QoS 0 with From ""
// (the system):
//
//	every Interval (EMQX's sys_msg_interval, default 1m):
//	  $SYS/brokers              node list, comma-separated   retained
//	  version                   Config.Version               retained
//	  sysdescr                  Sysdescr                     retained
//	  uptime, datetime          as below
//	  stats/connections/count, stats/sessions/count, stats/subscriptions/count,
//	  stats/topics/count, stats/retained/count,
//	  metrics/messages/received, metrics/messages/sent, metrics/messages/dropped,
//	  metrics/messages/dropped/no_subscribers, metrics/delivery/dropped,
//	  metrics/bytes/received, metrics/bytes/sent
//	                            plain decimal, from StatsFunc
//	every HeartbeatInterval (EMQX's sys_heartbeat_interval, default 30s):
//	  uptime                    whole milliseconds, "93512"  retained
//	  datetime                  RFC 3339, local time, nanoseconds,
//	                            "2025-04-01T09:00:00.000000000+02:00"
//
// Uptime is an integer of milliseconds because that is what EMQX 5
// publishes (its uptime() is the Erlang VM's wall clock in ms; EMQX 4
// published a human string, "1 days, 2 hours, …"). EMQX retains version,
// sysdescr and $SYS/brokers, so a new subscriber gets them at once; we also
// retain uptime for the same reason (EMQX does not), which means a
// subscriber may first see an uptime up to one heartbeat old. datetime,
// stats and metrics are not retained. An Interval or HeartbeatInterval of 0
// disables its group entirely, including the publish at Start.
//
// # Client events
//
// The broker calls ClientConnected, ClientDisconnected, ClientSubscribed
// and ClientUnsubscribed; each is gated by its Config flag (EMQX's
// sys_topics.sys_event_messages.*) and publishes one JSON object, QoS 0,
// not retained, synchronously on the caller's goroutine: no goroutine or
// queue per event. The topic is EMQX 5's:
// $SYS/brokers/<node>/clients/<clientid>/<event> for MQTT clients, and
// $SYS/brokers/<node>/gateway/<gateway>/clients/<clientid>/<event> for a
// client of another protocol (gateway "mqttsn", "coap", "lwm2m", "stomp",
// "raw"). Keys, in this order:
//
//	connected     clientid username ipaddress [sockport] protocol proto_name
//	              proto_ver keepalive clean_start expiry_interval is_bridge
//	              connected_at ts
//	disconnected  clientid username ipaddress protocol proto_name proto_ver
//	              reason disconnected_at ts
//	subscribed    clientid username protocol topic subopts{qos rh rap nl [subid]} ts
//	unsubscribed  clientid username protocol topic ts
//
// Times (connected_at, disconnected_at, ts) are milliseconds since the Unix
// epoch; keepalive and expiry_interval are seconds; ipaddress is the peer's
// IP without port. A missing username or address is null (EMQX writes
// "undefined"). sockport is left out when ConnInfo does not give it.
//
// # Concurrency
//
// A Sys is safe for concurrent use. Sys.mu guards only the Start/Stop
// state and is never held while publishing. Stop waits for the goroutine,
// so no periodic message is published once it returns.
package sys

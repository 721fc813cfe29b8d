// Package trace writes per-client, per-topic and per-address event logs:
// EMQX 5's trace. A trace is named, has a type (clientid, topic or
// ip_address) with its value, a start and an end time; while it runs, the
// broker's events that match it are written one line each to
// <dir>/<name>.log.
//
// What is traced (the core knows no wire protocol, so events are the core's
// verbs, not packets):
//
//   - clientid: the client's connected, disconnected, subscribe and
//     unsubscribe events, its publishes (publish) and the copies queued for
//     it (deliver).
//   - topic (a filter; wildcards allowed): publishes whose topic matches,
//     the copies queued for their subscribers (deliver), and subscribe and
//     unsubscribe of a filter equal to it or matched by it.
//   - ip_address: connected and disconnected events of clients from that
//     address.
//
// Data flow: the broker calls Active (one atomic load) and only then the
// event methods, which match the running traces (at most MaxTraces) and put
// a small record on one bounded channel without blocking; a full channel
// drops the record and counts it in the trace's Dropped. One writer
// goroutine for all traces formats the records and writes them through a
// buffered writer per trace, flushed whenever the channel is empty; the
// next line of a trace that lost records says so ([trace_dropped] count=N).
// A trace whose file reaches its size bound stops writing (Truncated). The
// same goroutine moves traces between waiting, running and stopped once a
// second; Create and Stop do it at once.
//
// The traces are listed in <dir>/traces.json, so that a restarted node
// has them again (EMQX keeps its traces too) and appends to their logs.
//
// A line: `2026-11-26T00:50:00.123456Z [publish] clientid=c1 topic=a/b
// qos=1 retain=false payload=hello`; the payload is written as text (with
// \n, \r and \\ escaped), hex, or ****** (hidden).
package trace

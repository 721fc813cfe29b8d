package api

import (
	"bufio"
	"fmt"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"
)

func (a *API) registerMetrics() {
	a.handle("GET", "/metrics", "metrics", "Prometheus metrics (text exposition format, no authentication)", true, a.prometheus)
	a.handle("GET", Prefix+"/prometheus/stats", "metrics", "Prometheus metrics, at EMQX's path (no authentication)", true, a.prometheus)
}

// promWriter writes the Prometheus text exposition format 0.0.4: a HELP and
// TYPE line per family, then its samples.
type promWriter struct {
	w *bufio.Writer
}

func (p promWriter) family(name, typ, help string) {
	fmt.Fprintf(p.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func (p promWriter) sample(name string, v any, labels ...string) {
	p.w.WriteString(name)
	if len(labels) > 0 {
		p.w.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				p.w.WriteByte(',')
			}
			fmt.Fprintf(p.w, "%s=\"%s\"", labels[i], escapeLabel(labels[i+1]))
		}
		p.w.WriteByte('}')
	}
	fmt.Fprintf(p.w, " %v\n", v)
}

// one writes a family with a single unlabelled sample.
func (p promWriter) one(name, typ, help string, v any) {
	p.family(name, typ, help)
	p.sample(name, v)
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

func (a *API) prometheus(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	p := promWriter{bw}
	s := a.snapshot()
	b := a.node.Broker()

	p.one("manifold_connections", "gauge", "Connected clients, every protocol.", s.Connected)
	p.one("manifold_sessions", "gauge", "Sessions, online or not.", s.Clients)
	p.one("manifold_subscriptions", "gauge", "Subscriptions.", s.Subscriptions)
	p.one("manifold_routes", "gauge", "Distinct topic filters with subscribers (routes).", len(b.Topics()))
	p.one("manifold_retained_messages", "gauge", "Retained messages.", s.Retained)
	p.one("manifold_session_inflight", "gauge", "QoS 1/2 messages sent and not yet acknowledged, all sessions.", s.inflight)
	p.one("manifold_session_queued", "gauge", "Messages queued in sessions.", s.queued)
	p.one("manifold_messages_received_total", "counter", "Messages published into the broker.", s.Published)
	p.one("manifold_messages_sent_total", "counter", "Messages queued for delivery to sessions.", s.Delivered)
	p.family("manifold_messages_dropped_total", "counter", "Messages dropped, by reason.")
	p.sample("manifold_messages_dropped_total", s.NoSubscriber, "reason", "no_subscribers")
	p.sample("manifold_messages_dropped_total", s.Dropped, "reason", "queue_full")
	p.sample("manifold_messages_dropped_total", s.expired, "reason", "expired")
	p.one("manifold_uptime_seconds", "gauge", "Seconds since the node started.", int64(b.Uptime()/time.Second))
	p.family("manifold_node_info", "gauge", "The node's name and version.")
	p.sample("manifold_node_info", 1, "node", a.node.NodeName(), "version", a.node.Version())

	ls := a.listenerViewsOf(s)
	p.family("manifold_listener_connections", "gauge", "Connected clients per listener.")
	for _, l := range ls {
		p.sample("manifold_listener_connections", l.CurrentConnections, "listener", l.ID, "type", l.Type)
	}
	p.family("manifold_listener_running", "gauge", "1 when the listener is accepting connections.")
	for _, l := range ls {
		p.sample("manifold_listener_running", b2i(l.Running), "listener", l.ID, "type", l.Type)
	}
	p.family("manifold_protocol_connections", "gauge", "Connected clients per protocol (mqtt, stomp, mqtt-sn, …).")
	for _, proto := range slices.Sorted(maps.Keys(s.byProto)) {
		p.sample("manifold_protocol_connections", s.byProto[proto], "proto", proto)
	}
	p.family("manifold_gateway_connections", "gauge", "Connected clients per protocol gateway.")
	for _, g := range a.gatewaysOf(s, ls) {
		p.sample("manifold_gateway_connections", g.CurrentConnections, "gateway", g.Name)
	}

	a.trafficMetrics(p)
	active := 0
	if reg := a.node.Alarms(); reg != nil {
		active = reg.ActiveCount()
	}
	p.one("manifold_alarms_active", "gauge", "Active alarms (GET /api/v5/alarms?activated=true).", active)

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p.one("go_goroutines", "gauge", "Number of goroutines that currently exist.", runtime.NumGoroutine())
	p.one("go_threads", "gauge", "Number of OS threads created.", threads())
	p.family("go_info", "gauge", "Information about the Go environment.")
	p.sample("go_info", 1, "version", runtime.Version())
	p.one("go_memstats_alloc_bytes", "gauge", "Bytes allocated and still in use.", ms.Alloc)
	p.one("go_memstats_alloc_bytes_total", "counter", "Total bytes allocated, even if freed.", ms.TotalAlloc)
	p.one("go_memstats_sys_bytes", "gauge", "Bytes obtained from the system.", ms.Sys)
	p.one("go_memstats_heap_alloc_bytes", "gauge", "Heap bytes allocated and still in use.", ms.HeapAlloc)
	p.one("go_memstats_heap_inuse_bytes", "gauge", "Heap bytes in use.", ms.HeapInuse)
	p.one("go_memstats_heap_objects", "gauge", "Number of allocated objects.", ms.HeapObjects)
	p.one("go_memstats_next_gc_bytes", "gauge", "Heap size when the next garbage collection will take place.", ms.NextGC)
	p.one("go_gc_cycles_total", "counter", "Completed garbage collection cycles.", ms.NumGC)
	p.one("go_gc_pause_seconds_total", "counter", "Total stop-the-world pause time of garbage collection.", float64(ms.PauseTotalNs)/1e9)
	p.one("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds.", float64(a.start.UnixNano())/1e9)
}

func threads() int {
	n, _ := runtime.ThreadCreateProfile(nil)
	return n
}

// trafficMetrics writes the bytes read and written: in all, per listener and
// per gateway (its listeners summed), from the listeners that count them.
func (a *API) trafficMetrics(p promWriter) {
	var in, out uint64
	type pair struct{ in, out uint64 }
	byGateway := map[string]pair{}
	var ls []Listener
	for _, l := range a.node.Listeners() {
		if !l.HasTraffic {
			continue
		}
		ls = append(ls, l)
		in += l.BytesReceived
		out += l.BytesSent
		if l.Gateway != "" {
			g := byGateway[l.Gateway]
			byGateway[l.Gateway] = pair{g.in + l.BytesReceived, g.out + l.BytesSent}
		}
	}
	p.one("manifold_bytes_received_total", "counter", "Bytes read from clients, every listener.", in)
	p.one("manifold_bytes_sent_total", "counter", "Bytes written to clients, every listener.", out)
	for _, dir := range []struct {
		name, help string
		get        func(Listener) uint64
	}{
		{"manifold_listener_bytes_received_total", "Bytes read from clients per listener.", func(l Listener) uint64 { return l.BytesReceived }},
		{"manifold_listener_bytes_sent_total", "Bytes written to clients per listener.", func(l Listener) uint64 { return l.BytesSent }},
	} {
		p.family(dir.name, "counter", dir.help)
		for _, l := range ls {
			p.sample(dir.name, dir.get(l), "listener", l.ID, "type", l.Type)
		}
	}
	gws := slices.Sorted(maps.Keys(byGateway))
	p.family("manifold_gateway_bytes_received_total", "counter", "Bytes read from clients per protocol gateway.")
	for _, g := range gws {
		p.sample("manifold_gateway_bytes_received_total", byGateway[g].in, "gateway", g)
	}
	p.family("manifold_gateway_bytes_sent_total", "counter", "Bytes written to clients per protocol gateway.")
	for _, g := range gws {
		p.sample("manifold_gateway_bytes_sent_total", byGateway[g].out, "gateway", g)
	}
}

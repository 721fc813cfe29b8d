package api

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/manifold-iot/manifold/core/broker"
)

func (a *API) registerNode() {
	a.handle("GET", Prefix+"/status", "node", "Node status: text, or JSON with ?format=json (no authentication)", true, a.status)
	a.handle("GET", Prefix+"/nodes", "node", "List nodes", false, a.listNodes)
	a.handle("GET", Prefix+"/nodes/{node}", "node", "Get one node", false, a.getNode)
	a.handle("GET", Prefix+"/stats", "node", "Statistics (?aggregate=true for one object)", false, a.stats)
	a.handle("GET", Prefix+"/metrics", "node", "Metrics (?aggregate=true for one object)", false, a.metrics)
}

// snapshot is one pass over the broker's clients, shared by stats and metrics.
type snapshot struct {
	broker.Stats
	byListener map[string]int // connected clients per listener id
	byProto    map[string]int // connected clients per protocol
	sessProto  map[string]int // sessions per protocol
	byGateway  map[string]int // connected clients per gatewayKey(protocol)
	queued     int
	inflight   int
	expired    uint64
}

func (a *API) snapshot() snapshot {
	s := snapshot{Stats: a.node.Broker().Stats(), byListener: map[string]int{}, byProto: map[string]int{}, sessProto: map[string]int{}, byGateway: map[string]int{}}
	a.node.Broker().Clients(func(v broker.ClientView) bool {
		proto := v.Info.Proto
		if proto == "" {
			proto = "mqtt"
		}
		s.sessProto[proto]++
		if v.Connected {
			s.byProto[proto]++
			s.byGateway[gatewayKey(proto)]++
			s.byListener[v.Info.Listener]++
		}
		s.queued += v.Session.Queued
		s.inflight += v.Session.Inflight
		s.expired += v.Session.Expired
		return true
	})
	return s
}

// statusJSON is GET /status?format=json: EMQX's fields and ours.
type statusJSON struct {
	NodeName     string         `json:"node_name"`
	RelVsn       string         `json:"rel_vsn"`
	BrokerStatus string         `json:"broker_status"`
	AppName      string         `json:"app_name"`
	AppStatus    string         `json:"app_status"`
	Uptime       int64          `json:"uptime"` // milliseconds
	Connections  int            `json:"connections"`
	Sessions     int            `json:"sessions"`
	Listeners    []listenerJSON `json:"listeners"`
	PID          int            `json:"pid"`
}

func (a *API) status(w http.ResponseWriter, r *http.Request) {
	b := a.node.Broker()
	if r.URL.Query().Get("format") == "json" {
		st := b.Stats()
		writeJSON(w, http.StatusOK, statusJSON{
			NodeName: a.node.NodeName(), RelVsn: a.node.Version(), BrokerStatus: "started", AppName: "manifold",
			AppStatus: "running", Uptime: b.Uptime().Milliseconds(), Connections: st.Connected, Sessions: st.Clients,
			Listeners: a.listenerViews(), PID: os.Getpid(),
		})
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "Node %s is started\nmanifold is running\n", a.node.NodeName())
}

type nodeJSON struct {
	Node            string `json:"node"`
	NodeStatus      string `json:"node_status"`
	Version         string `json:"version"`
	Uptime          int64  `json:"uptime"`
	Connections     int    `json:"connections"`
	LiveConnections int    `json:"live_connections"`
	MemoryTotal     uint64 `json:"memory_total"`
	MemoryUsed      uint64 `json:"memory_used"`
	ProcessUsed     int    `json:"process_used"` // goroutines
	Role            string `json:"role"`
	Edition         string `json:"edition"`
	SysPath         string `json:"sys_path"`
	GoVersion       string `json:"go_version"`
}

func (a *API) nodeView() nodeJSON {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := a.node.Broker().Stats()
	wd, _ := os.Getwd()
	return nodeJSON{
		Node: a.node.NodeName(), NodeStatus: "running", Version: a.node.Version(),
		Uptime: a.node.Broker().Uptime().Milliseconds(), Connections: st.Clients, LiveConnections: st.Connected,
		MemoryTotal: ms.Sys, MemoryUsed: ms.HeapAlloc, ProcessUsed: runtime.NumGoroutine(),
		Role: "core", Edition: "Opensource", SysPath: wd, GoVersion: runtime.Version(),
	}
}

func (a *API) listNodes(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, []nodeJSON{a.nodeView()})
}

func (a *API) getNode(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("node") != a.node.NodeName() {
		notFound(w, "NOT_FOUND", "no node %s", r.PathValue("node"))
		return
	}
	writeJSON(w, http.StatusOK, a.nodeView())
}

// statsMap is EMQX's /stats object.
func (a *API) statsMap() map[string]any {
	s := a.snapshot()
	return map[string]any{
		"node":                   a.node.NodeName(),
		"connections.count":      s.Clients,
		"live_connections.count": s.Connected,
		"sessions.count":         s.Clients,
		"subscriptions.count":    s.Subscriptions,
		"subscribers.count":      s.Subscriptions,
		"topics.count":           len(a.node.Broker().Topics()),
		"retained.count":         s.Retained,
	}
}

func (a *API) stats(w http.ResponseWriter, r *http.Request) {
	agg, _, err := boolParam(r, "aggregate")
	if err != nil {
		badRequest(w, "aggregate must be true or false")
		return
	}
	m := a.statsMap()
	if agg {
		delete(m, "node")
		writeJSON(w, http.StatusOK, m)
		return
	}
	writeJSON(w, http.StatusOK, []map[string]any{m})
}

// metricsMap is EMQX's /metrics object.
func (a *API) metricsMap() map[string]any {
	s := a.snapshot()
	return map[string]any{
		"node":                            a.node.NodeName(),
		"messages.received":               s.Published,
		"messages.publish":                s.Published,
		"messages.sent":                   s.Delivered,
		"messages.delivered":              s.Delivered,
		"messages.dropped":                s.NoSubscriber + s.Dropped,
		"messages.dropped.no_subscribers": s.NoSubscriber,
		"delivery.dropped":                s.Dropped,
		"delivery.dropped.expired":        s.expired,
		"messages.retained":               s.Retained,
		"session.inflight":                s.inflight,
		"session.mqueue_len":              s.queued,
		"uptime_seconds":                  int64(a.node.Broker().Uptime() / time.Second),
		"client.connections.live":         s.Connected,
		"client.sessions":                 s.Clients,
		"subscriptions.count":             s.Subscriptions,
		"routes.count":                    len(a.node.Broker().Topics()),
	}
}

func (a *API) metrics(w http.ResponseWriter, r *http.Request) {
	agg, _, err := boolParam(r, "aggregate")
	if err != nil {
		badRequest(w, "aggregate must be true or false")
		return
	}
	m := a.metricsMap()
	if agg {
		delete(m, "node")
		writeJSON(w, http.StatusOK, m)
		return
	}
	writeJSON(w, http.StatusOK, []map[string]any{m})
}

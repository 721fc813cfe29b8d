package api

import (
	"errors"
	"net/http"
	"sort"

	"github.com/manifold-iot/manifold/core/broker"
)

func (a *API) registerListeners() {
	a.handle("GET", Prefix+"/listeners", "listeners", "List listeners with their state", false, a.listListeners)
	a.handle("GET", Prefix+"/listeners/{id}", "listeners", "Get one listener", false, a.getListener)
	for _, m := range []string{"POST", "PUT"} {
		a.handle(m, Prefix+"/listeners/{id}/{action}", "listeners", "Start, stop or restart a listener (action start|stop|restart)", false, a.listenerAction)
	}
	a.handle("GET", Prefix+"/gateways", "gateways", "List protocol gateways", false, a.listGateways)
	a.handle("GET", Prefix+"/gateways/{name}", "gateways", "Get one gateway", false, a.getGateway)
	a.handle("GET", Prefix+"/gateways/{name}/clients", "gateways", "List a gateway's clients (same filters and paging as /clients)", false, a.gatewayClients)
}

type listenerStatus struct {
	Running            bool `json:"running"`
	CurrentConnections int  `json:"current_connections"`
}

type listenerJSON struct {
	ID                 string         `json:"id"`
	Type               string         `json:"type"`
	Name               string         `json:"name"`
	Gateway            string         `json:"gateway,omitempty"`
	Bind               string         `json:"bind"`
	Addr               string         `json:"addr,omitempty"`
	Enable             bool           `json:"enable"`
	Running            bool           `json:"running"`
	MaxConnections     any            `json:"max_connections"` // a number or "infinity"
	CurrentConnections int            `json:"current_connections"`
	Status             listenerStatus `json:"status"`
	// Bytes read and written since the listener started; absent when the
	// listener does not count them (CoAP, LwM2M).
	BytesReceived *uint64 `json:"bytes_received,omitempty"`
	BytesSent     *uint64 `json:"bytes_sent,omitempty"`
}

func (a *API) listenerViews() []listenerJSON { return a.listenerViewsOf(a.snapshot()) }

// listenerViewsOf lists the listeners with the connection counts of s.
func (a *API) listenerViewsOf(s snapshot) []listenerJSON {
	counts := s.byListener
	ls := a.node.Listeners()
	out := make([]listenerJSON, 0, len(ls))
	for _, l := range ls {
		var maxc any = "infinity"
		if l.MaxConnections > 0 {
			maxc = l.MaxConnections
		}
		n := counts[l.ID]
		out = append(out, listenerJSON{ID: l.ID, Type: l.Type, Name: l.Name, Gateway: l.Gateway, Bind: l.Bind, Addr: l.Addr,
			Enable: true, Running: l.Running, MaxConnections: maxc, CurrentConnections: n,
			Status: listenerStatus{Running: l.Running, CurrentConnections: n}})
		if l.HasTraffic {
			rx, tx := l.BytesReceived, l.BytesSent
			out[len(out)-1].BytesReceived, out[len(out)-1].BytesSent = &rx, &tx
		}
	}
	return out
}

func (a *API) listListeners(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.listenerViews())
}

func (a *API) getListener(w http.ResponseWriter, r *http.Request) {
	for _, l := range a.listenerViews() {
		if l.ID == r.PathValue("id") {
			writeJSON(w, http.StatusOK, l)
			return
		}
	}
	notFound(w, "BAD_LISTENER_ID", "no listener %s", r.PathValue("id"))
}

func (a *API) listenerAction(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	if action != "start" && action != "stop" && action != "restart" {
		badRequest(w, "action must be start, stop or restart")
		return
	}
	err := a.node.ListenerAction(id, action)
	switch {
	case errors.Is(err, ErrNoListener):
		notFound(w, "BAD_LISTENER_ID", "no listener %s", id)
		return
	case err != nil:
		badRequest(w, "%v", err)
		return
	}
	a.log.Info().Str("listener", id).Str("action", action).Msg("api_listener_action")
	w.WriteHeader(http.StatusNoContent)
}

type gatewayJSON struct {
	Name               string         `json:"name"`
	Status             string         `json:"status"`
	CurrentConnections int            `json:"current_connections"`
	Listeners          []listenerJSON `json:"listeners"`
}

func (a *API) gateways() []gatewayJSON {
	s := a.snapshot()
	return a.gatewaysOf(s, a.listenerViewsOf(s))
}

// gatewaysOf groups the gateway listeners of ls, with the counts of s.
func (a *API) gatewaysOf(s snapshot, ls []listenerJSON) []gatewayJSON {
	byName := map[string]*gatewayJSON{}
	for _, l := range ls {
		if l.Gateway == "" {
			continue
		}
		g := byName[l.Gateway]
		if g == nil {
			g = &gatewayJSON{Name: l.Gateway, Status: "stopped", CurrentConnections: s.byGateway[gatewayKey(l.Gateway)]}
			byName[l.Gateway] = g
		}
		if l.Running {
			g.Status = "running"
		}
		g.Listeners = append(g.Listeners, l)
	}
	out := make([]gatewayJSON, 0, len(byName))
	for _, g := range byName {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (a *API) listGateways(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.gateways())
}

func (a *API) getGateway(w http.ResponseWriter, r *http.Request) {
	for _, g := range a.gateways() {
		if g.Name == r.PathValue("name") {
			writeJSON(w, http.StatusOK, g)
			return
		}
	}
	notFound(w, "RESOURCE_NOT_FOUND", "no gateway %s", r.PathValue("name"))
}

// gatewayClients is /clients restricted to the gateway's protocol.
func (a *API) gatewayClients(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	found := false
	for _, g := range a.gateways() {
		found = found || g.Name == name
	}
	if !found {
		notFound(w, "RESOURCE_NOT_FOUND", "no gateway %s", name)
		return
	}
	key := gatewayKey(name)
	a.listClientsWhere(w, r, func(v broker.ClientView) bool { return gatewayKey(v.Info.Proto) == key })
}

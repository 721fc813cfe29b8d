package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
)

// ErrKicked is the reason given to a connection an operator kicks.
var ErrKicked = errors.New("api: kicked by an operator")

func (a *API) registerClients() {
	a.handle("GET", Prefix+"/clients", "clients", "List clients (filters clientid, username, ip_address, conn_state, proto_name, like_clientid, like_username; page, limit)", false, a.listClients)
	a.handle("GET", Prefix+"/clients/{clientid}", "clients", "Get one client: its online state", false, a.getClient)
	a.handle("DELETE", Prefix+"/clients/{clientid}", "clients", "Kick a client (an offline session is discarded)", false, a.kickClient)
	a.handle("GET", Prefix+"/clients/{clientid}/subscriptions", "clients", "A client's subscriptions", false, a.clientSubscriptions)
	a.handle("POST", Prefix+"/clients/{clientid}/subscribe", "clients", "Subscribe a client to a topic on its behalf", false, a.clientSubscribe)
	a.handle("POST", Prefix+"/clients/{clientid}/subscribe/bulk", "clients", "Subscribe a client to several topics", false, a.clientSubscribeBulk)
	a.handle("POST", Prefix+"/clients/{clientid}/unsubscribe", "clients", "Unsubscribe a client from a topic", false, a.clientUnsubscribe)
	a.handle("POST", Prefix+"/clients/{clientid}/unsubscribe/bulk", "clients", "Unsubscribe a client from several topics", false, a.clientUnsubscribeBulk)
}

// clientJSON is a client as EMQX 5 reports it.
type clientJSON struct {
	ClientID         string `json:"clientid"`
	Username         string `json:"username"`
	ProtoName        string `json:"proto_name"`
	ProtoVer         int    `json:"proto_ver"`
	IPAddress        string `json:"ip_address"`
	Port             int    `json:"port"`
	Connected        bool   `json:"connected"`
	ConnState        string `json:"conn_state"`
	ConnectedAt      string `json:"connected_at"`
	DisconnectedAt   string `json:"disconnected_at,omitempty"`
	CreatedAt        string `json:"created_at"`
	Keepalive        int    `json:"keepalive"`
	CleanStart       bool   `json:"clean_start"`
	ExpiryInterval   int    `json:"expiry_interval"`
	Node             string `json:"node"`
	Listener         string `json:"listener"`
	Mountpoint       string `json:"mountpoint"`
	IsBridge         bool   `json:"is_bridge"`
	IsSuperuser      bool   `json:"is_superuser"`
	SubscriptionsCnt int    `json:"subscriptions_cnt"`
	InflightCnt      int    `json:"inflight_cnt"`
	MqueueLen        int    `json:"mqueue_len"`
	MqueueDropped    uint64 `json:"mqueue_dropped"`
	AwaitingRelCnt   int    `json:"awaiting_rel_cnt"`
}

// protoName is EMQX's proto_name for a core.ClientInfo.Proto.
func protoName(p string) string {
	switch p {
	case "":
		return "MQTT"
	case "coap":
		return "CoAP"
	case "lwm2m":
		return "LwM2M"
	}
	return strings.ToUpper(p)
}

func (a *API) clientView(v broker.ClientView) clientJSON {
	c := clientJSON{
		ClientID:         v.Info.ClientID,
		Username:         v.Info.Username,
		ProtoName:        protoName(v.Info.Proto),
		ProtoVer:         int(v.Info.ProtoVer),
		Connected:        v.Connected,
		ConnState:        "disconnected",
		ConnectedAt:      rfc3339(v.ConnectedAt),
		DisconnectedAt:   rfc3339(v.DisconnectedAt),
		CreatedAt:        rfc3339(v.CreatedAt),
		Keepalive:        int(v.Keepalive / time.Second),
		CleanStart:       v.CleanStart,
		ExpiryInterval:   int(v.Expiry / time.Second),
		Node:             a.node.NodeName(),
		Listener:         v.Info.Listener,
		Mountpoint:       v.Info.Mountpoint,
		IsSuperuser:      v.Info.IsSuperuser,
		SubscriptionsCnt: v.Subscriptions,
		InflightCnt:      v.Session.Inflight,
		MqueueLen:        v.Session.Queued,
		MqueueDropped:    v.Session.Dropped,
		AwaitingRelCnt:   v.Session.AwaitingRel,
	}
	if v.Connected {
		c.ConnState = "connected"
		c.DisconnectedAt = ""
	}
	if v.Info.Peer.IsValid() {
		c.IPAddress, c.Port = v.Info.Peer.Addr().Unmap().String(), int(v.Info.Peer.Port())
	}
	return c
}

func (a *API) listClients(w http.ResponseWriter, r *http.Request) { a.listClientsWhere(w, r, nil) }

// gatewayKey folds a gateway name and a client's protocol onto one key:
// gateway "mqttsn" serves proto "mqtt-sn".
func gatewayKey(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "") }

// listClientsWhere is GET /clients with an extra filter (nil for none).
func (a *API) listClientsWhere(w http.ResponseWriter, r *http.Request, where func(broker.ClientView) bool) {
	page, limit, ok := paging(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	state := q.Get("conn_state")
	if state != "" && state != "connected" && state != "disconnected" {
		badRequest(w, "conn_state must be connected or disconnected")
		return
	}
	var out []clientJSON
	a.node.Broker().Clients(func(v broker.ClientView) bool {
		if where != nil && !where(v) {
			return true
		}
		c := a.clientView(v)
		if (q.Has("clientid") && c.ClientID != q.Get("clientid")) ||
			(q.Has("username") && c.Username != q.Get("username")) ||
			(q.Has("ip_address") && c.IPAddress != q.Get("ip_address")) ||
			(state != "" && c.ConnState != state) ||
			(q.Has("proto_name") && !strings.EqualFold(c.ProtoName, q.Get("proto_name"))) ||
			(q.Has("like_clientid") && !strings.Contains(c.ClientID, q.Get("like_clientid"))) ||
			(q.Has("like_username") && !strings.Contains(c.Username, q.Get("like_username"))) {
			return true
		}
		out = append(out, c)
		return true
	})
	writePage(w, out, page, limit)
}

func clientNotFound(w http.ResponseWriter, id string) {
	notFound(w, "CLIENTID_NOT_FOUND", "client %s not found", id)
}

func (a *API) getClient(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("clientid")
	v, ok := a.node.Broker().Client(id)
	if !ok {
		clientNotFound(w, id)
		return
	}
	writeJSON(w, http.StatusOK, a.clientView(v))
}

func (a *API) kickClient(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("clientid")
	// An online client is disconnected; an offline session is discarded.
	if !a.node.Broker().Kick(id, ErrKicked) && !a.node.Broker().DiscardSession(id) {
		clientNotFound(w, id)
		return
	}
	a.log.Info().Str("clientid", id).Msg("api_client_kicked")
	w.WriteHeader(http.StatusNoContent)
}

// subJSON is one subscription as EMQX 5 reports it.
type subJSON struct {
	ClientID string `json:"clientid,omitempty"`
	Topic    string `json:"topic"`
	QoS      int    `json:"qos"`
	NL       int    `json:"nl"`
	RAP      int    `json:"rap"`
	RH       int    `json:"rh"`
	Node     string `json:"node"`
	Share    string `json:"share_group,omitempty"`
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (a *API) subView(clientID, filter string, o core.SubOptions) subJSON {
	return subJSON{ClientID: clientID, Topic: filter, QoS: int(o.QoS), NL: b2i(o.NoLocal), RAP: b2i(o.RetainAsPublished), RH: int(o.RetainHandling), Node: a.node.NodeName()}
}

func (a *API) clientSubscriptions(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("clientid")
	subs := a.node.Broker().Subscriptions(id)
	if subs == nil {
		clientNotFound(w, id)
		return
	}
	out := make([]subJSON, 0, len(subs))
	for f, o := range subs {
		out = append(out, a.subView(id, f, o))
	}
	sortSubs(out)
	writeJSON(w, http.StatusOK, out)
}

// subscribeReq is one topic of POST /clients/{id}/subscribe.
type subscribeReq struct {
	Topic string `json:"topic"`
	QoS   int    `json:"qos"`
	NL    int    `json:"nl"`
	RAP   int    `json:"rap"`
	RH    int    `json:"rh"`
}

// subscribe subscribes id and answers nothing itself; the error is for the caller.
func (a *API) subscribe(id string, s subscribeReq) (subJSON, int, string, string) {
	if s.Topic == "" || s.QoS < 0 || s.QoS > 2 || s.RH < 0 || s.RH > 2 {
		return subJSON{}, http.StatusBadRequest, "BAD_REQUEST", "topic required; qos 0..2; rh 0..2"
	}
	o := core.SubOptions{QoS: core.QoS(s.QoS), NoLocal: s.NL == 1, RetainAsPublished: s.RAP == 1, RetainHandling: byte(s.RH)}
	res, err := a.node.Broker().SubscribeFor(id, s.Topic, o)
	switch {
	case errors.Is(err, broker.ErrNotConnected):
		if _, ok := a.node.Broker().Client(id); !ok {
			return subJSON{}, http.StatusNotFound, "CLIENTID_NOT_FOUND", "client " + id + " not found"
		}
		return subJSON{}, http.StatusConflict, "CLIENT_NOT_CONNECTED", "client " + id + " is not connected"
	case err != nil:
		return subJSON{}, http.StatusBadRequest, "BAD_REQUEST", err.Error()
	}
	o.QoS = res.Granted
	return a.subView(id, s.Topic, o), 0, "", ""
}

func (a *API) clientSubscribe(w http.ResponseWriter, r *http.Request) {
	var req subscribeReq
	if !decode(w, r, &req) {
		return
	}
	v, status, code, msg := a.subscribe(r.PathValue("clientid"), req)
	if status != 0 {
		writeError(w, status, code, msg)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *API) clientSubscribeBulk(w http.ResponseWriter, r *http.Request) {
	var req []subscribeReq
	if !decode(w, r, &req) {
		return
	}
	out := make([]subJSON, 0, len(req))
	for _, s := range req {
		v, status, code, msg := a.subscribe(r.PathValue("clientid"), s)
		if status != 0 {
			writeError(w, status, code, msg)
			return
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) unsubscribe(w http.ResponseWriter, id, topic string) bool {
	_, err := a.node.Broker().UnsubscribeFor(id, topic)
	if errors.Is(err, broker.ErrNotConnected) {
		if _, ok := a.node.Broker().Client(id); !ok {
			clientNotFound(w, id)
			return false
		}
		writeError(w, http.StatusConflict, "CLIENT_NOT_CONNECTED", "client "+id+" is not connected")
		return false
	}
	if err != nil {
		badRequest(w, "%v", err)
		return false
	}
	return true
}

func (a *API) clientUnsubscribe(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Topic string `json:"topic"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Topic == "" {
		badRequest(w, "topic required")
		return
	}
	if a.unsubscribe(w, r.PathValue("clientid"), req.Topic) {
		w.WriteHeader(http.StatusNoContent)
	}
}

func (a *API) clientUnsubscribeBulk(w http.ResponseWriter, r *http.Request) {
	var req []struct {
		Topic string `json:"topic"`
	}
	if !decode(w, r, &req) {
		return
	}
	for _, t := range req {
		if !a.unsubscribe(w, r.PathValue("clientid"), t.Topic) {
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

package api

import (
	"net/http"
	"sort"
	"strconv"

	"github.com/manifold-iot/manifold/core/topic"
)

func (a *API) registerTopics() {
	a.handle("GET", Prefix+"/subscriptions", "subscriptions", "List subscriptions (filters clientid, topic, qos, share_group, match_topic; page, limit)", false, a.listSubscriptions)
	a.handle("GET", Prefix+"/topics", "topics", "List topics with subscribers (filter topic; page, limit)", false, a.listTopics)
	a.handle("GET", Prefix+"/topics/{topic...}", "topics", "Get one topic's route", false, a.getTopic)
	a.handle("GET", Prefix+"/routes", "topics", "List routes (filter topic; page, limit)", false, a.listTopics)
	a.handle("GET", Prefix+"/routes/{topic...}", "topics", "Get one route", false, a.getTopic)
}

func sortSubs(s []subJSON) {
	sort.Slice(s, func(i, j int) bool {
		if s[i].ClientID != s[j].ClientID {
			return s[i].ClientID < s[j].ClientID
		}
		return s[i].Topic < s[j].Topic
	})
}

func (a *API) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	page, limit, ok := paging(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	qos := -1
	if s := q.Get("qos"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 2 {
			badRequest(w, "qos must be 0, 1 or 2")
			return
		}
		qos = n
	}
	if mt := q.Get("match_topic"); mt != "" && topic.ValidFilter(mt, 0) != nil {
		badRequest(w, "match_topic is not a valid topic filter")
		return
	}
	out := []subJSON{}
	for _, s := range a.node.Broker().AllSubscriptions() {
		if (q.Has("clientid") && s.ClientID != q.Get("clientid")) ||
			(q.Has("topic") && s.Topic != q.Get("topic") && s.Filter != q.Get("topic")) ||
			(qos >= 0 && int(s.Options.QoS) != qos) ||
			(q.Has("share_group") && s.Group != q.Get("share_group")) ||
			(q.Has("match_topic") && !topic.Match(q.Get("match_topic"), s.Topic) && q.Get("match_topic") != s.Topic) {
			continue
		}
		v := a.subView(s.ClientID, s.Filter, s.Options)
		v.Share = s.Group
		out = append(out, v)
	}
	writePage(w, out, page, limit)
}

type routeJSON struct {
	Topic string `json:"topic"`
	Node  string `json:"node"`
}

func (a *API) listTopics(w http.ResponseWriter, r *http.Request) {
	page, limit, ok := paging(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	out := []routeJSON{}
	for _, t := range a.node.Broker().Topics() {
		if q.Has("topic") && t != q.Get("topic") {
			continue
		}
		out = append(out, routeJSON{Topic: t, Node: a.node.NodeName()})
	}
	writePage(w, out, page, limit)
}

func (a *API) getTopic(w http.ResponseWriter, r *http.Request) {
	t := r.PathValue("topic")
	for _, f := range a.node.Broker().Topics() {
		if f == t {
			writeJSON(w, http.StatusOK, []routeJSON{{Topic: t, Node: a.node.NodeName()}})
			return
		}
	}
	notFound(w, "TOPIC_NOT_FOUND", "no route for topic %s", t)
}

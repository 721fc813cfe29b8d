package api

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/topic"
)

func (a *API) registerRetainer() {
	a.handle("GET", Prefix+"/retainer/messages", "retainer", "List retained messages (topic: a name or filter; page, limit)", false, a.listRetained)
	a.handle("DELETE", Prefix+"/retainer/messages", "retainer", "Delete every retained message", false, a.cleanRetained)
	for _, p := range []string{"/retainer/message/{topic...}", "/retainer/messages/{topic...}"} {
		a.handle("GET", Prefix+p, "retainer", "Get the retained message of a topic (URL-encoded)", false, a.getRetained)
		a.handle("DELETE", Prefix+p, "retainer", "Delete the retained message of a topic", false, a.deleteRetained)
	}
}

type retainedJSON struct {
	Topic        string `json:"topic"`
	MsgID        string `json:"msgid"`
	QoS          int    `json:"qos"`
	FromClientID string `json:"from_clientid"`
	PublishAt    string `json:"publish_at"`
	Payload      string `json:"payload,omitempty"` // base64, in GET of one message
}

func retainedView(m *core.Message, payload bool) retainedJSON {
	v := retainedJSON{Topic: m.Topic, MsgID: fmt.Sprintf("%016X", m.ID), QoS: int(m.QoS), FromClientID: m.From, PublishAt: rfc3339(m.Timestamp)}
	if payload {
		v.Payload = base64.StdEncoding.EncodeToString(m.Payload)
	}
	return v
}

func (a *API) retainedList() []*core.Message {
	var ms []*core.Message
	now := time.Now()
	a.node.Broker().Retained().Walk(func(m *core.Message) bool {
		if !m.Expired(now) {
			ms = append(ms, m)
		}
		return true
	})
	sort.Slice(ms, func(i, j int) bool { return ms[i].Topic < ms[j].Topic })
	return ms
}

func (a *API) listRetained(w http.ResponseWriter, r *http.Request) {
	page, limit, ok := paging(w, r)
	if !ok {
		return
	}
	out := []retainedJSON{}
	for _, m := range a.retainedList() {
		if q := r.URL.Query(); q.Has("topic") && m.Topic != q.Get("topic") && !topic.Match(q.Get("topic"), m.Topic) {
			continue
		}
		out = append(out, retainedView(m, false))
	}
	writePage(w, out, page, limit)
}

func (a *API) getRetained(w http.ResponseWriter, r *http.Request) {
	t := r.PathValue("topic")
	m := a.node.Broker().Retained().Get(t)
	if m == nil || m.Expired(time.Now()) {
		notFound(w, "NOT_FOUND", "no retained message on %s", t)
		return
	}
	writeJSON(w, http.StatusOK, retainedView(m, true))
}

func (a *API) deleteRetained(w http.ResponseWriter, r *http.Request) {
	t := r.PathValue("topic")
	if !a.node.Broker().DeleteRetained(t) {
		notFound(w, "NOT_FOUND", "no retained message on %s", t)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) cleanRetained(w http.ResponseWriter, _ *http.Request) {
	for _, m := range a.retainedList() {
		a.node.Broker().DeleteRetained(m.Topic)
	}
	w.WriteHeader(http.StatusNoContent)
}

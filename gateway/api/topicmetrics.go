package api

import (
	"errors"
	"net/http"

	"github.com/manifold-iot/manifold/core/topicmetrics"
)

// EMQX 5's topic_metrics API. The topic in a path is URL-encoded ("a%2Fb");
// an unencoded "a/b" works too.
func (a *API) registerTopicMetrics() {
	a.handle("GET", Prefix+"/mqtt/topic_metrics", "topic_metrics", "List the registered topics and their metrics", false, a.listTopicMetrics)
	a.handle("POST", Prefix+"/mqtt/topic_metrics", "topic_metrics", "Register a topic name for metrics (at most 512)", false, a.addTopicMetric)
	a.handle("PUT", Prefix+"/mqtt/topic_metrics", "topic_metrics", `Reset the metrics of a topic, or of all ({"action":"reset","topic":...})`, false, a.resetTopicMetrics)
	a.handle("GET", Prefix+"/mqtt/topic_metrics/{topic...}", "topic_metrics", "The metrics of a registered topic (URL-encoded)", false, a.getTopicMetric)
	a.handle("DELETE", Prefix+"/mqtt/topic_metrics/{topic...}", "topic_metrics", "Deregister a topic (URL-encoded)", false, a.deleteTopicMetric)
}

type topicMetricJSON struct {
	Topic      string             `json:"topic"`
	CreateTime string             `json:"create_time"`
	ResetTime  string             `json:"reset_time,omitempty"` // absent until reset, as in EMQX
	Metrics    map[string]float64 `json:"metrics"`
}

func topicMetricView(s topicmetrics.Snapshot) topicMetricJSON {
	return topicMetricJSON{Topic: s.Topic, CreateTime: rfc3339(s.CreateTime), ResetTime: rfc3339(s.ResetTime), Metrics: s.Metrics}
}

func (a *API) listTopicMetrics(w http.ResponseWriter, _ *http.Request) {
	ss := a.node.TopicMetrics().List()
	out := make([]topicMetricJSON, len(ss))
	for i, s := range ss {
		out[i] = topicMetricView(s)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) addTopicMetric(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Topic string `json:"topic"`
	}
	if !decode(w, r, &req) {
		return
	}
	reg := a.node.TopicMetrics()
	switch err := reg.Register(req.Topic); {
	case errors.Is(err, topicmetrics.ErrTopicInvalid):
		writeError(w, http.StatusBadRequest, "BAD_TOPIC", "topic must be a topic name without wildcards")
		return
	case errors.Is(err, topicmetrics.ErrExists):
		writeError(w, http.StatusConflict, "BAD_TOPIC", "topic already registered")
		return
	case errors.Is(err, topicmetrics.ErrFull):
		writeError(w, http.StatusConflict, "EXCEED_LIMIT", "at most 512 topics can be registered")
		return
	case err != nil:
		a.log.Error().Err(err).Msg("api_topic_metrics_save_failed") // registered, not saved
	}
	s, _ := reg.Get(req.Topic)
	writeJSON(w, http.StatusOK, topicMetricView(s))
}

func (a *API) resetTopicMetrics(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Action string `json:"action"`
		Topic  string `json:"topic"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Action != "reset" {
		badRequest(w, "action must be reset")
		return
	}
	if err := a.node.TopicMetrics().Reset(req.Topic); err != nil {
		notFound(w, "TOPIC_NOT_FOUND", "topic %s is not registered", req.Topic)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) getTopicMetric(w http.ResponseWriter, r *http.Request) {
	t := r.PathValue("topic")
	s, ok := a.node.TopicMetrics().Get(t)
	if !ok {
		notFound(w, "TOPIC_NOT_FOUND", "topic %s is not registered", t)
		return
	}
	writeJSON(w, http.StatusOK, topicMetricView(s))
}

func (a *API) deleteTopicMetric(w http.ResponseWriter, r *http.Request) {
	t := r.PathValue("topic")
	switch err := a.node.TopicMetrics().Deregister(t); {
	case errors.Is(err, topicmetrics.ErrNotFound):
		notFound(w, "TOPIC_NOT_FOUND", "topic %s is not registered", t)
		return
	case err != nil:
		a.log.Error().Err(err).Msg("api_topic_metrics_save_failed")
	}
	w.WriteHeader(http.StatusNoContent)
}

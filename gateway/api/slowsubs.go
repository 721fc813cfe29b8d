package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/manifold-iot/manifold/core/slowsubs"
)

// EMQX 5's slow_subs API.
func (a *API) registerSlowSubs() {
	a.handle("GET", Prefix+"/slow_subscriptions/topk", "slow_subscriptions", "The slowest (clientid, topic) deliveries, slowest first", false, a.slowSubsTopK)
	a.handle("DELETE", Prefix+"/slow_subscriptions", "slow_subscriptions", "Clear the slow subscription table", false, a.slowSubsClear)
	a.handle("GET", Prefix+"/slow_subscriptions/settings", "slow_subscriptions", "Slow subscription settings", false, a.slowSubsSettings)
	a.handle("PUT", Prefix+"/slow_subscriptions/settings", "slow_subscriptions", "Change slow subscription settings (not saved across restarts)", false, a.slowSubsUpdate)
}

type slowSubJSON struct {
	ClientID       string `json:"clientid"`
	Node           string `json:"node"`
	Topic          string `json:"topic"`
	Timespan       int64  `json:"timespan"`         // ms
	LastUpdateTime int64  `json:"last_update_time"` // ms since the epoch
}

func (a *API) slowSubsTopK(w http.ResponseWriter, _ *http.Request) {
	es := a.node.SlowSubs().TopK()
	out := make([]slowSubJSON, len(es))
	node := a.node.NodeName()
	for i, e := range es {
		out[i] = slowSubJSON{ClientID: e.ClientID, Node: node, Topic: e.Topic,
			Timespan: e.Latency.Milliseconds(), LastUpdateTime: e.LastUpdate.UnixMilli()}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) slowSubsClear(w http.ResponseWriter, _ *http.Request) {
	a.node.SlowSubs().Clear()
	w.WriteHeader(http.StatusNoContent)
}

// slowSubsSettingsJSON is the settings as EMQX writes them; PUT may omit
// fields to keep them.
type slowSubsSettingsJSON struct {
	Enable         *bool   `json:"enable"`
	Threshold      *string `json:"threshold"`       // "500ms"
	ExpireInterval *string `json:"expire_interval"` // "300s"
	TopKNum        *int    `json:"top_k_num"`
	StatsType      *string `json:"stats_type"`
}

func settingsView(c slowsubs.Config) slowSubsSettingsJSON {
	th, ex := emqxDuration(c.Threshold), emqxDuration(c.ExpireInterval)
	return slowSubsSettingsJSON{Enable: &c.Enable, Threshold: &th, ExpireInterval: &ex, TopKNum: &c.TopKNum, StatsType: &c.StatsType}
}

// emqxDuration writes d as EMQX does: whole seconds as "300s", else "500ms".
func emqxDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}

func (a *API) slowSubsSettings(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, settingsView(a.node.SlowSubs().Settings()))
}

func (a *API) slowSubsUpdate(w http.ResponseWriter, r *http.Request) {
	var req slowSubsSettingsJSON
	if !decode(w, r, &req) {
		return
	}
	tr := a.node.SlowSubs()
	c := tr.Settings()
	if req.Enable != nil {
		c.Enable = *req.Enable
	}
	for _, f := range []struct {
		name string
		s    *string
		to   *time.Duration
	}{{"threshold", req.Threshold, &c.Threshold}, {"expire_interval", req.ExpireInterval, &c.ExpireInterval}} {
		if f.s == nil {
			continue
		}
		d, err := time.ParseDuration(*f.s)
		if err != nil {
			badRequest(w, "%s must be a duration such as 500ms or 300s", f.name)
			return
		}
		*f.to = d
	}
	if req.TopKNum != nil {
		c.TopKNum = *req.TopKNum
	}
	if req.StatsType != nil {
		c.StatsType = *req.StatsType
	}
	if err := tr.SetSettings(c); err != nil {
		if errors.Is(err, slowsubs.ErrConfig) {
			badRequest(w, "%v", err)
			return
		}
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
		return
	}
	a.log.Info().Bool("enable", c.Enable).Dur("threshold", c.Threshold).Int("top_k_num", c.TopKNum).Msg("api_slow_subs_updated")
	writeJSON(w, http.StatusOK, settingsView(tr.Settings()))
}

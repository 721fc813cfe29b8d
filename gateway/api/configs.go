package api

import (
	"encoding/json"
	"errors"
	"net/http"
)

func (a *API) registerConfigs() {
	a.handle("GET", Prefix+"/configs", "configs", "The whole configuration, keyed as in manifold.yaml", false, a.getConfigs)
	a.handle("GET", Prefix+"/configs/{root}", "configs", "One root of the configuration (log, mqtt, listeners, …)", false, a.getConfigRoot)
	a.handle("PUT", Prefix+"/configs/{root}", "configs", "Change what can change at run time: log {level}; mqtt {max_clientid_len, max_topic_alias, server_keepalive, keepalive_multiplier, idle_timeout, response_information} for new connections; listeners {} re-reads TLS and DTLS certificates", false, a.putConfigRoot)
}

func (a *API) getConfigs(w http.ResponseWriter, _ *http.Request) {
	m, err := a.node.Config()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
		return
	}
	a.fixLog(m)
	writeJSON(w, http.StatusOK, m)
}

// fixLog reports the log level in effect, which log set-level may have changed.
func (a *API) fixLog(m map[string]any) {
	if l, ok := m["log"].(map[string]any); ok {
		l["level"] = a.node.LogLevel()
	}
}

func (a *API) getConfigRoot(w http.ResponseWriter, r *http.Request) {
	m, err := a.node.Config()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
		return
	}
	a.fixLog(m)
	v, ok := m[r.PathValue("root")]
	if !ok {
		notFound(w, "NOT_FOUND", "no configuration root %s", r.PathValue("root"))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *API) putConfigRoot(w http.ResponseWriter, r *http.Request) {
	root := r.PathValue("root")
	switch root {
	case "log":
		var req struct {
			Level *string `json:"level"`
		}
		if !decode(w, r, &req) {
			return
		}
		if req.Level != nil {
			if err := a.node.SetLogLevel(*req.Level); err != nil {
				badRequest(w, "log.level: %v", err)
				return
			}
			a.log.Info().Str("level", *req.Level).Msg("api_log_level_set")
		}
	case "mqtt":
		var req map[string]json.RawMessage
		if !decode(w, r, &req) {
			return
		}
		if err := a.node.UpdateMQTT(req); err != nil {
			code := "BAD_REQUEST"
			if errors.Is(err, ErrNotReloadable) {
				code = "NOT_RELOADABLE"
			}
			writeError(w, http.StatusBadRequest, code, err.Error())
			return
		}
		a.log.Info().Msg("api_mqtt_config_updated")
	case "listeners":
		if err := a.node.ReloadCertificates(); err != nil {
			badRequest(w, "%v", err)
			return
		}
		a.log.Info().Msg("api_certificates_reloaded")
	default:
		writeError(w, http.StatusBadRequest, "NOT_RELOADABLE",
			root+" cannot change at run time in this build: edit the file and restart (log, mqtt limits and listeners can)")
		return
	}
	a.getConfigRoot(w, r)
}

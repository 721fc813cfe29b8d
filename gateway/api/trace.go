package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/manifold-iot/manifold/core/trace"
)

// EMQX 5's trace API. The download is the plain log file as an attachment
// (EMQX zips it per node; this node has one file).
func (a *API) registerTrace() {
	a.handle("GET", Prefix+"/trace", "trace", "List traces with their status and log size", false, a.listTraces)
	a.handle("POST", Prefix+"/trace", "trace", "Create a trace of a clientid, topic filter or ip_address (at most 30)", false, a.createTrace)
	a.handle("DELETE", Prefix+"/trace", "trace", "Delete every trace and its log", false, a.deleteTraces)
	a.handle("DELETE", Prefix+"/trace/{name}", "trace", "Delete a trace and its log", false, a.deleteTrace)
	a.handle("PUT", Prefix+"/trace/{name}/stop", "trace", "Stop a trace (its log stays)", false, a.stopTrace)
	a.handle("GET", Prefix+"/trace/{name}/download", "trace", "Download a trace's log file", false, a.downloadTrace)
	a.handle("GET", Prefix+"/trace/{name}/log", "trace", "Read a chunk of a trace's log (bytes, position)", false, a.traceLog)
}

type traceJSON struct {
	Name          string           `json:"name"`
	Type          string           `json:"type"`
	ClientID      string           `json:"clientid,omitempty"`
	Topic         string           `json:"topic,omitempty"`
	IPAddress     string           `json:"ip_address,omitempty"`
	StartAt       string           `json:"start_at"`
	EndAt         string           `json:"end_at"`
	PayloadEncode string           `json:"payload_encode"`
	Status        string           `json:"status"`
	LogSize       map[string]int64 `json:"log_size"`  // by node, as EMQX
	Dropped       uint64           `json:"dropped"`   // records lost to a full writer queue
	Truncated     bool             `json:"truncated"` // the log reached trace.max_file_size
}

func (a *API) traceView(i trace.Info) traceJSON {
	return traceJSON{Name: i.Name, Type: i.Type, ClientID: i.ClientID, Topic: i.Topic, IPAddress: i.IPAddress,
		StartAt: rfc3339(i.Start), EndAt: rfc3339(i.End), PayloadEncode: i.PayloadEncode, Status: i.Status,
		LogSize: map[string]int64{a.node.NodeName(): i.LogSize}, Dropped: i.Dropped, Truncated: i.Truncated}
}

func (a *API) listTraces(w http.ResponseWriter, _ *http.Request) {
	is := a.node.Tracer().List()
	out := make([]traceJSON, len(is))
	for i, t := range is {
		out[i] = a.traceView(t)
	}
	writeJSON(w, http.StatusOK, out)
}

// parseTime reads an EMQX time: an RFC 3339 string or seconds since the
// epoch (a number or a numeric string); absent is zero.
func parseTime(raw json.RawMessage) (time.Time, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, true
	}
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		return time.Unix(n, 0), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return time.Time{}, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

func (a *API) createTrace(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name          string          `json:"name"`
		Type          string          `json:"type"`
		ClientID      string          `json:"clientid"`
		Topic         string          `json:"topic"`
		IPAddress     string          `json:"ip_address"`
		StartAt       json.RawMessage `json:"start_at"`
		EndAt         json.RawMessage `json:"end_at"`
		PayloadEncode string          `json:"payload_encode"`
	}
	if !decode(w, r, &req) {
		return
	}
	spec := trace.Spec{Name: req.Name, Type: req.Type, ClientID: req.ClientID, Topic: req.Topic,
		IPAddress: req.IPAddress, PayloadEncode: req.PayloadEncode}
	var ok1, ok2 bool
	spec.Start, ok1 = parseTime(req.StartAt)
	spec.End, ok2 = parseTime(req.EndAt)
	if !ok1 || !ok2 {
		badRequest(w, "start_at and end_at must be RFC 3339 times or seconds since the epoch")
		return
	}
	info, err := a.node.Tracer().Create(spec)
	switch {
	case errors.Is(err, trace.ErrInvalid):
		badRequest(w, "%v", err)
		return
	case errors.Is(err, trace.ErrExists):
		writeError(w, http.StatusConflict, "ALREADY_EXISTS", "a trace named "+spec.Name+" exists")
		return
	case errors.Is(err, trace.ErrFull):
		writeError(w, http.StatusConflict, "EXCEED_LIMIT", "at most 30 traces; delete one first")
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
		return
	}
	a.log.Info().Str("trace", info.Name).Str("type", info.Type).Msg("api_trace_created")
	writeJSON(w, http.StatusOK, a.traceView(info))
}

func (a *API) deleteTraces(w http.ResponseWriter, _ *http.Request) {
	if err := a.node.Tracer().DeleteAll(); err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func traceNotFound(w http.ResponseWriter, name string) {
	notFound(w, "NOT_FOUND", "no trace named %s", name)
}

// openTrace opens a trace's log file for reading, with its size; on an
// error it has written the answer (404 for an unknown trace) and reports
// false.
func (a *API) openTrace(w http.ResponseWriter, name string) (*os.File, int64, bool) {
	f, size, err := a.node.Tracer().Open(name)
	if errors.Is(err, trace.ErrNotFound) {
		traceNotFound(w, name)
		return nil, 0, false
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
		return nil, 0, false
	}
	return f, size, true
}

func (a *API) deleteTrace(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	switch err := a.node.Tracer().Delete(name); {
	case errors.Is(err, trace.ErrNotFound):
		traceNotFound(w, name)
	case err != nil:
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (a *API) stopTrace(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	info, err := a.node.Tracer().Stop(name)
	if err != nil {
		traceNotFound(w, name)
		return
	}
	writeJSON(w, http.StatusOK, a.traceView(info))
}

func (a *API) downloadTrace(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	f, size, ok := a.openTrace(w, name)
	if !ok {
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.log"`)
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	_, _ = io.CopyN(w, f, size)
}

// Log chunks: EMQX's default and our bound on bytes per request.
const (
	defaultLogBytes = 1000
	maxLogBytes     = 4 << 20
)

func (a *API) traceLog(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	q := r.URL.Query()
	n, pos := int64(defaultLogBytes), int64(0)
	if s := q.Get("bytes"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 1 || v > maxLogBytes {
			badRequest(w, "bytes must be an integer from 1 to %d", maxLogBytes)
			return
		}
		n = v
	}
	if s := q.Get("position"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			badRequest(w, "position must be a non-negative integer")
			return
		}
		pos = v
	}
	f, size, ok := a.openTrace(w, name)
	if !ok {
		return
	}
	defer f.Close()
	var chunk []byte
	if pos < size {
		chunk = make([]byte, min(n, size-pos))
		m, err := f.ReadAt(chunk, pos)
		if err != nil && !errors.Is(err, io.EOF) {
			writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
			return
		}
		chunk = chunk[:m]
	}
	type logMeta struct {
		Position int64 `json:"position"`
		Bytes    int   `json:"bytes"`
	}
	writeJSON(w, http.StatusOK, struct {
		Items string  `json:"items"`
		Meta  logMeta `json:"meta"`
	}{Items: string(chunk), Meta: logMeta{Position: pos + int64(len(chunk)), Bytes: len(chunk)}})
}

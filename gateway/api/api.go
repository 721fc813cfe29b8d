package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core/alarm"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/hooks"
	"github.com/manifold-iot/manifold/core/slowsubs"
	"github.com/manifold-iot/manifold/core/topicmetrics"
	"github.com/manifold-iot/manifold/core/trace"
)

// Prefix is the path prefix of the REST API.
const Prefix = "/api/v5"

// Node is what the API needs of the running node; gateway.Server implements it.
type Node interface {
	// Broker is the node's core.
	Broker() *broker.Broker
	// Banned is the banned list the connect path checks.
	Banned() *hooks.Banned
	// NodeName is node.name.
	NodeName() string
	// Version is the build's version.
	Version() string
	// Listeners lists the configured listeners, MQTT and gateway, with their state.
	Listeners() []Listener
	// ListenerAction starts, stops or restarts the listener with id.
	ListenerAction(id, action string) error
	// Config returns the configuration as generic JSON values keyed like the YAML file.
	Config() (map[string]any, error)
	// UpdateMQTT changes mqtt.* keys at run time, for new connections; an
	// error wrapping ErrNotReloadable names a key that cannot change.
	UpdateMQTT(changes map[string]json.RawMessage) error
	// SetLogLevel changes log.level at run time.
	SetLogLevel(level string) error
	// LogLevel returns the current log level.
	LogLevel() string
	// ReloadCertificates re-reads every TLS and DTLS listener's certificate
	// files, keeping connected clients.
	ReloadCertificates() error
	// Alarms is the node's alarm registry.
	Alarms() *alarm.Registry
	// SlowSubs is the slow subscription tracker (slow_subs).
	SlowSubs() *slowsubs.Tracker
	// TopicMetrics is the registered topic metrics (topic_metrics).
	TopicMetrics() *topicmetrics.Registry
	// Tracer is the node's traces (trace).
	Tracer() *trace.Tracer
}

// Listener describes one listener for the API.
type Listener struct {
	ID             string // "tcp:default", "stomp:tcp:default", "dashboard:http"
	Type           string // tcp, ssl, ws, wss, http, udp, …
	Name           string
	Gateway        string // "" for an MQTT listener
	Bind           string // as configured
	Addr           string // bound address; "" when not running
	Running        bool
	MaxConnections int
	// Connections are the listener's own count of open connections (0
	// when it keeps none; the API counts clients by listener itself).
	Connections int
	// BytesReceived and BytesSent are the bytes the listener read and
	// wrote since it started; HasTraffic is false when it does not count.
	BytesReceived, BytesSent uint64
	HasTraffic               bool
}

// Errors a Node's ListenerAction returns that the API maps to 404 and 400.
var (
	ErrNoListener     = errors.New("api: no such listener")
	ErrListenerAction = errors.New("api: listener action not possible")
	// ErrNotReloadable is a configuration change that needs a restart.
	ErrNotReloadable = errors.New("api: not reloadable")
)

// Options configure the API.
type Options struct {
	// DataDir is node.data_dir: users and keys live under DataDir/api, the
	// ctl credential is DataDir/ctl.key.
	DataDir string
	// DefaultUsername and DefaultPassword create the first administrator.
	DefaultUsername, DefaultPassword string
	// TokenTTL is how long a login token lives; 0 is 60 minutes.
	TokenTTL time.Duration
	// BootstrapFile lists "key:secret" API keys loaded at start; "" none.
	BootstrapFile string
	// HashIterations is PBKDF2's iteration count; 0 is the default (600000).
	// Tests lower it.
	HashIterations int
	// Log receives the API's events.
	Log zerolog.Logger
	// UI, when set, serves every path that is not the API's (/api/...,
	// /api-docs/..., /metrics): the web dashboard.
	UI http.Handler
}

// API is the HTTP API of one node.
type API struct {
	node   Node
	opts   Options
	log    zerolog.Logger
	auth   *authStore
	mux    *http.ServeMux
	routes []route
	start  time.Time

	bannedMu sync.Mutex // serializes saveBanned
}

// route is one registered endpoint, for the mux and the OpenAPI document.
type route struct {
	method, path, summary, tag string
	public                     bool // no authentication
}

// New builds the API: it loads (or creates) the users file, the bootstrap
// keys, and the ctl credential.
func New(node Node, opts Options) (*API, error) {
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 60 * time.Minute
	}
	if opts.HashIterations <= 0 {
		opts.HashIterations = defaultIterations
	}
	a := &API{node: node, opts: opts, log: opts.Log, mux: http.NewServeMux(), start: time.Now()}
	st, err := openAuth(opts)
	if err != nil {
		return nil, err
	}
	a.auth = st
	if node.Banned() != nil {
		if err := a.loadBanned(); err != nil {
			return nil, err
		}
	}
	a.register()
	return a, nil
}

// Handler is the API as an http.Handler.
func (a *API) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.opts.UI != nil && !isAPIPath(r.URL.Path) {
			a.opts.UI.ServeHTTP(w, r)
			return
		}
		a.mux.ServeHTTP(&jsonErrors{ResponseWriter: w}, r)
	})
}

// isAPIPath reports whether p belongs to the API rather than the UI.
func isAPIPath(p string) bool {
	return p == "/api" || strings.HasPrefix(p, "/api/") || p == "/api-docs" || strings.HasPrefix(p, "/api-docs/") || p == "/metrics"
}

// handle registers one endpoint: pattern "GET /api/v5/clients/{clientid}".
func (a *API) handle(method, path, tag, summary string, public bool, h func(w http.ResponseWriter, r *http.Request)) {
	a.routes = append(a.routes, route{method: method, path: path, summary: summary, tag: tag, public: public})
	var hh http.Handler = http.HandlerFunc(h)
	if !public {
		hh = a.authenticate(hh)
	}
	a.mux.Handle(method+" "+path, hh)
}

func (a *API) register() {
	a.registerAuth()
	a.registerNode()
	a.registerClients()
	a.registerTopics()
	a.registerPublish()
	a.registerRetainer()
	a.registerBanned()
	a.registerAlarms()
	a.registerListeners()
	a.registerConfigs()
	a.registerMetrics()
	a.registerSlowSubs()
	a.registerTopicMetrics()
	a.registerTrace()
	a.handle("GET", "/api-docs/swagger.json", "docs", "This OpenAPI document", true, a.swagger)
}

// jsonErrors turns the mux's own plain-text answers (404 no such path, 405
// method not allowed) into the API's JSON errors.
type jsonErrors struct {
	http.ResponseWriter
	swallow bool // the plain-text body that follows is dropped
}

func (j *jsonErrors) WriteHeader(code int) {
	if (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) &&
		strings.HasPrefix(j.Header().Get("Content-Type"), "text/plain") {
		j.swallow = true
		j.Header().Del("X-Content-Type-Options")
		c := "NOT_FOUND"
		msg := "no such path"
		if code == http.StatusMethodNotAllowed {
			c, msg = "METHOD_NOT_ALLOWED", "method not allowed on this path (allowed: "+j.Header().Get("Allow")+")"
		}
		writeError(j.ResponseWriter, code, c, msg)
		return
	}
	j.ResponseWriter.WriteHeader(code)
}

func (j *jsonErrors) Write(p []byte) (int, error) {
	if j.swallow {
		return len(p), nil
	}
	return j.ResponseWriter.Write(p)
}

// writeJSON writes v as the JSON response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError is the body of every error response.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Code: code, Message: msg})
}

func badRequest(w http.ResponseWriter, format string, args ...any) {
	writeError(w, http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf(format, args...))
}

func notFound(w http.ResponseWriter, code, format string, args ...any) {
	writeError(w, http.StatusNotFound, code, fmt.Sprintf(format, args...))
}

// maxBody bounds a request body.
const maxBody = 4 << 20

// decode reads a JSON body into v; it answers 400 itself and returns false
// when the body is not valid JSON of the right shape.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		badRequest(w, "invalid JSON body: %v", err)
		return false
	}
	return true
}

// Paging: EMQX's page (from 1) and limit, and the meta object of a paged list.
const (
	defaultLimit = 100
	maxLimit     = 10000
)

type meta struct {
	Page    int  `json:"page"`
	Limit   int  `json:"limit"`
	Count   int  `json:"count"`
	HasNext bool `json:"hasnext"`
}

type pageBody struct {
	Data any  `json:"data"`
	Meta meta `json:"meta"`
}

// paging reads page and limit; it answers 400 and returns false when bad.
func paging(w http.ResponseWriter, r *http.Request) (page, limit int, ok bool) {
	page, limit = 1, defaultLimit
	q := r.URL.Query()
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			badRequest(w, "page must be a positive integer")
			return 0, 0, false
		}
		page = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			badRequest(w, "limit must be an integer from 1 to %d", maxLimit)
			return 0, 0, false
		}
		limit = n
	}
	return page, limit, true
}

// writePage writes one page of items.
func writePage[T any](w http.ResponseWriter, items []T, page, limit int) {
	n := len(items)
	from := min((page-1)*limit, n)
	to := min(from+limit, n)
	data := items[from:to]
	if data == nil {
		data = []T{}
	}
	writeJSON(w, http.StatusOK, pageBody{Data: data, Meta: meta{Page: page, Limit: limit, Count: n, HasNext: to < n}})
}

// rfc3339 formats t as EMQX does (local time with offset, milliseconds); "" for zero.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02T15:04:05.000Z07:00")
}

// boolParam parses an optional boolean query parameter.
func boolParam(r *http.Request, name string) (v, set bool, err error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return false, false, nil
	}
	v, err = strconv.ParseBool(strings.ToLower(s))
	return v, true, err
}

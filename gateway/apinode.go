package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/manifold-iot/manifold/core/hooks"
	"github.com/manifold-iot/manifold/gateway/api"
	"github.com/manifold-iot/manifold/gateway/config"
	"github.com/manifold-iot/manifold/gateway/dashboard"
	"github.com/manifold-iot/manifold/gateway/logging"
)

// The Server is the HTTP API's view of the node (api.Node).
var _ api.Node = (*Server)(nil)

// WithPasswordHashIterations sets PBKDF2's iteration count for the API's
// passwords; tests lower it, production keeps the default.
func WithPasswordHashIterations(n int) Option { return func(o *options) { o.hashIterations = n } }

// newAPI builds the HTTP API when dashboard.listeners.http is enabled.
func (s *Server) newAPI() error {
	d := s.cfg.Dashboard
	if !d.Listeners.HTTP.Enable {
		return nil
	}
	a, err := api.New(s, api.Options{
		DataDir:         s.cfg.Node.DataDir,
		DefaultUsername: d.DefaultUsername,
		DefaultPassword: d.DefaultPassword,
		TokenTTL:        d.TokenExpiredTime.Duration(),
		BootstrapFile:   s.cfg.APIKey.BootstrapFile,
		HashIterations:  s.o.hashIterations,
		Log:             s.log.With().Str("component", "api").Logger(),
		UI:              dashboard.Handler(),
	})
	if err != nil {
		return err
	}
	s.api = a
	return nil
}

func (s *Server) addBuilder(id string, build func() (listenerServer, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.builders == nil {
		s.builders = map[string]func() (listenerServer, error){}
	}
	s.builders[id] = build
}

// Banned is the node's banned list.
func (s *Server) Banned() *hooks.Banned { return s.banned }

// NodeName is node.name.
func (s *Server) NodeName() string { return s.cfg.Node.Name }

// Version is the version the server reports.
func (s *Server) Version() string { return s.o.version }

// maxConnections is a configured MQTT listener's max_connections.
func (s *Server) maxConnections(kind, name string) int {
	l := s.cfg.Listeners
	switch kind {
	case config.KindTCP:
		return l.TCP[name].MaxConnections
	case config.KindSSL:
		return l.SSL[name].MaxConnections
	case config.KindWS:
		return l.WS[name].MaxConnections
	case config.KindWSS:
		return l.WSS[name].MaxConnections
	}
	return 0
}

// Listeners lists the enabled listeners, MQTT, dashboard and gateway, with
// their state: one stopped through the API is listed as not running.
func (s *Server) Listeners() []api.Listener {
	s.mu.Lock()
	running := map[string]string{}
	counters := map[string]listenerServer{}
	for _, l := range s.listeners {
		if l.addr != nil {
			running[l.id] = l.addr.String()
		} else {
			running[l.id] = ""
		}
		counters[l.id] = l.srv
	}
	s.mu.Unlock()
	var out []api.Listener
	for _, ref := range s.cfg.EnabledListeners() {
		id := ref.Kind + ":" + ref.Name
		addr, ok := running[id]
		typ := ref.Kind
		if ref.Kind == config.KindDashboard {
			typ = "http"
		}
		out = append(out, api.Listener{ID: id, Type: typ, Name: ref.Name, Bind: ref.Bind.String(), Addr: addr,
			Running: ok, MaxConnections: s.maxConnections(ref.Kind, ref.Name)})
	}
	for _, ref := range s.cfg.EnabledGatewayListeners() {
		addr, ok := running[ref.ID()]
		out = append(out, api.Listener{ID: ref.ID(), Type: ref.Kind, Name: ref.Name, Gateway: ref.Gateway,
			Bind: ref.Bind.String(), Addr: addr, Running: ok, MaxConnections: ref.MaxConnections})
	}
	for i := range out {
		withCounters(&out[i], counters[out[i].ID])
	}
	return out
}

// ListenerAction starts, stops or restarts a listener. The API's own
// listener is refused; a gateway listener can be stopped but not started
// again (restart the node).
func (s *Server) ListenerAction(id, action string) error {
	known := false
	for _, l := range s.Listeners() {
		known = known || l.ID == id
	}
	if !known {
		return api.ErrNoListener
	}
	if id == config.KindDashboard+":http" {
		return fmt.Errorf("%w: the API's own listener cannot be controlled through the API", api.ErrListenerAction)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return fmt.Errorf("%w: the server is not running", api.ErrListenerAction)
	}
	idx := -1
	for i, l := range s.listeners {
		if l.id == id {
			idx = i
		}
	}
	build := s.builders[id]
	if (action == "start" || action == "restart") && build == nil {
		return fmt.Errorf("%w: %s cannot be started again in this build; restart the node", api.ErrListenerAction, id)
	}
	switch action {
	case "stop", "restart":
		if idx < 0 {
			if action == "stop" {
				return fmt.Errorf("%w: %s is not running", api.ErrListenerAction, id)
			}
			break
		}
		l := s.listeners[idx]
		if err := l.stop(context.Background()); err != nil {
			return fmt.Errorf("stopping %s: %w", l.key, err)
		}
		s.listeners = append(s.listeners[:idx], s.listeners[idx+1:]...)
		s.log.Info().Str("listener", id).Msg("listener_stopped")
		if action == "stop" {
			return nil
		}
	case "start":
		if idx >= 0 {
			return fmt.Errorf("%w: %s is already running", api.ErrListenerAction, id)
		}
	}
	srv, err := build()
	if err != nil {
		return err
	}
	if err := srv.Start(context.Background()); err != nil {
		return err
	}
	s.listeners = append(s.listeners, runningListener{id: id, key: id, stop: srv.Stop, addr: srv.Addr(), srv: srv})
	s.log.Info().Str("listener", id).Str("addr", srv.Addr().String()).Msg("listener_started")
	return nil
}

// Config returns the configuration as generic values keyed like the YAML
// file, with the default password hidden.
func (s *Server) Config() (map[string]any, error) {
	s.mu.Lock()
	data, err := yaml.Marshal(s.cfg)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if d, ok := m["dashboard"].(map[string]any); ok {
		d["default_password"] = "******"
	}
	return jsonable(m).(map[string]any), nil
}

// jsonable turns yaml.v3's map[any]any (never produced for string keys, but
// possible for odd ones) into JSON-encodable maps.
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = jsonable(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = jsonable(e)
		}
	}
	return v
}

// SetLogLevel changes the process's log level at run time.
func (s *Server) SetLogLevel(level string) error {
	if level == "warn" {
		level = "warning"
	}
	if err := logging.SetLevel(level); err != nil {
		return err
	}
	s.levelSet.Store(true)
	return nil
}

// LogLevel is the level in effect: the configured one until SetLogLevel.
func (s *Server) LogLevel() string {
	if s.levelSet.Load() {
		return logging.Level()
	}
	return string(s.cfg.Log.Level)
}

// reloadableMQTT are the mqtt.* keys UpdateMQTT changes at run time: they
// are read by the MQTT channel when a connection starts, so new connections
// get the new value and connected clients keep theirs.
var reloadableMQTT = map[string]bool{
	"max_clientid_len": true, "max_topic_alias": true, "server_keepalive": true,
	"keepalive_multiplier": true, "idle_timeout": true, "response_information": true,
}

// UpdateMQTT changes mqtt.* keys at run time (those in reloadableMQTT),
// all or none: the changed configuration is validated first.
func (s *Server) UpdateMQTT(changes map[string]json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	trial := *s.cfg
	mv := reflect.ValueOf(&trial.MQTT).Elem()
	fields := map[string]int{}
	for i := 0; i < mv.NumField(); i++ {
		name, _, _ := strings.Cut(mv.Type().Field(i).Tag.Get("yaml"), ",")
		fields[name] = i
	}
	for _, k := range slices.Sorted(maps.Keys(changes)) {
		i, known := fields[k]
		if !known {
			return fmt.Errorf("mqtt.%s: no such key", k)
		}
		if !reloadableMQTT[k] {
			return fmt.Errorf("%w: mqtt.%s cannot change at run time (these can: %s)", api.ErrNotReloadable, k,
				strings.Join(slices.Sorted(maps.Keys(reloadableMQTT)), ", "))
		}
		raw := changes[k]
		if k == "server_keepalive" && string(raw) == `"disabled"` {
			raw = json.RawMessage("0")
		}
		f := mv.Field(i)
		v := reflect.New(f.Type())
		if err := json.Unmarshal(raw, v.Interface()); err != nil {
			return fmt.Errorf("mqtt.%s: %w", k, err)
		}
		f.Set(v.Elem())
	}
	if err := trial.Validate(); err != nil {
		return err
	}
	// Field by field: other fields of s.cfg.MQTT are read without the lock.
	cur := reflect.ValueOf(&s.cfg.MQTT).Elem()
	for k := range changes {
		cur.Field(fields[k]).Set(mv.Field(fields[k]))
	}
	s.mqtt.SetConfig(mqttConfig(s.cfg))
	s.log.Info().Strs("keys", slices.Sorted(maps.Keys(changes))).Msg("mqtt_config_updated")
	return nil
}

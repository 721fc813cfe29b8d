package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	mqttad "github.com/manifold-iot/manifold/adapters/mqtt"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/alarm"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/hooks"
	"github.com/manifold-iot/manifold/core/store"
	"github.com/manifold-iot/manifold/gateway/api"
	"github.com/manifold-iot/manifold/gateway/config"
	"github.com/manifold-iot/manifold/gateway/edge"
	"github.com/manifold-iot/manifold/gateway/listener"
)

// Server is one Manifold node: its listeners, the core broker and the HTTP
// API, built from one Config. Create it with New, start it with Run.
type Server struct {
	cfg    *config.Config
	log    zerolog.Logger
	broker *broker.Broker
	store  store.Store // nil when node.persistence is off
	core   *coreContext
	mqtt   *mqttad.Adapter
	o      options

	secure map[string]listener.Config // ssl and wss listeners by "ssl:default", certificates loaded
	gw     gatewayState               // the gateways' checked configurations (gateways.go)

	closeOnce sync.Once // closeBroker

	api    *api.API      // nil when dashboard.listeners.http is off
	banned *hooks.Banned // checked first by the policy chain
	alarms *alarm.Registry
	sysmon *alarm.Monitor // started by Run, stopped with the broker
	obs    observability  // slow subscriptions, topic metrics, traces (observability.go)

	levelSet atomic.Bool // SetLogLevel was called

	mu        sync.Mutex // guards the fields below
	running   bool
	listeners []runningListener
	builders  map[string]func() (listenerServer, error) // restartable listeners by id (apinode.go)
}

// runningListener is a started listener.
type runningListener struct {
	id   string // "tcp:default", "stomp:tcp:default"
	key  string // its config key path, for errors
	stop func(context.Context) error
	addr net.Addr
	srv  listenerServer // for its counters (alarms.go)
}

// Option adjusts a Server built by New.
type Option func(*options)

type options struct {
	version        string
	hashIterations int
}

// WithVersion sets the version the server reports ($SYS/brokers/<node>/version).
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// New checks cfg, loads what the configuration names (ACL files) and returns
// a Server ready to Run. It binds nothing: every error a configuration can
// cause before the first socket opens is reported here, so a bad file never
// leaves half a server listening.
func New(cfg *config.Config, log zerolog.Logger, opts ...Option) (*Server, error) {
	o := options{version: "dev"}
	for _, opt := range opts {
		opt(&o)
	}
	if cfg == nil {
		return nil, errors.New("gateway: nil config")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	policy, err := newPolicy(cfg)
	if err != nil {
		return nil, err
	}
	banned := hooks.NewBanned()
	policy.Authenticators = append([]hooks.Authenticator{banned}, policy.Authenticators...)
	st, err := openStore(cfg, log)
	if err != nil {
		return nil, err
	}
	obs, err := newObservability(cfg, log)
	if err != nil {
		closeStore(st, log)
		return nil, err
	}
	bc := brokerConfig(cfg, o.version)
	bc.Store = st
	obs.apply(&bc)
	b := broker.New(bc, log.With().Str("component", "broker").Logger())
	if err := b.Restore(); err != nil {
		b.Close()
		obs.close()
		closeStore(st, log)
		return nil, fmt.Errorf("node.data_dir %s: %w", cfg.Node.DataDir, err)
	}
	s := &Server{
		cfg:    cfg,
		log:    log,
		broker: b,
		store:  st,
		core:   &coreContext{Broker: b, log: log, policy: policy, denyAction: cfg.Authorization.DenyAction},
		mqtt:   mqttad.NewAdapter(mqttConfig(cfg)),
		secure: map[string]listener.Config{},
		o:      o,
		banned: banned,
		obs:    obs,
	}
	s.newAlarms(log)
	if err := s.newAPI(); err != nil {
		s.closeBroker()
		return nil, err
	}
	if err := s.loadGateways(); err != nil {
		s.closeBroker()
		return nil, err
	}
	// Certificates load here, before anything binds: a missing or bad file
	// stops the start with an error naming the key.
	for _, ref := range cfg.EnabledListeners() {
		var lc listener.Config
		switch ref.Kind {
		case config.KindSSL:
			lc, err = listener.FromSSL(ref.Name, cfg.Listeners.SSL[ref.Name], cfg.ResolvePath)
		case config.KindWSS:
			lc, err = listener.FromWSS(ref.Name, cfg.Listeners.WSS[ref.Name], cfg.ResolvePath)
		default:
			continue
		}
		if err != nil {
			s.closeBroker()
			return nil, err
		}
		lc.MaxInboundBuffered = max(lc.MaxInboundBuffered, 2*int(cfg.MQTT.MaxPacketSize))
		lc.IdleTimeout = -1 // the MQTT channel enforces mqtt.idle_timeout
		s.secure[ref.Kind+":"+ref.Name] = lc
	}
	return s, nil
}

// ReloadCertificates re-reads every TLS and DTLS listener's certificate,
// key and CA files (MQTT-SN, CoAP and LwM2M DTLS listeners with
// certificates; PSK ones have none); new handshakes use them, connected
// clients and established DTLS sessions stay. A file that fails to load
// leaves that listener's old certificate in place.
func (s *Server) ReloadCertificates() error {
	var errs []error
	for _, lc := range s.secure {
		if err := lc.TLS.Reload(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, dc := range s.gw.snDTLS {
		if dc.Certs == nil {
			continue
		}
		if err := dc.Certs.Reload(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, g := range []*coapListeners{s.gw.coap, s.gw.lwm2m} {
		if g == nil {
			continue
		}
		if err := g.srv.ReloadCertificates(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// mqttConfig maps the mqtt.* keys onto the MQTT channel's configuration.
func mqttConfig(cfg *config.Config) mqttad.Config {
	m := cfg.MQTT
	return mqttad.Config{
		MaxPacketSize:         int(m.MaxPacketSize),
		MaxClientIDLen:        m.MaxClientIDLen,
		MaxTopicAlias:         m.MaxTopicAlias,
		MaxInflight:           m.MaxInflight,
		MaxQoS:                core.QoS(m.MaxQoSAllowed),
		RetainAvailable:       m.RetainAvailable,
		WildcardSubscription:  m.WildcardSubscription,
		SharedSubscription:    m.SharedSubscription,
		ServerKeepalive:       m.ServerKeepalive,
		KeepaliveMultiplier:   m.KeepaliveMultiplier,
		SessionExpiry:         time.Duration(m.SessionExpiryInterval),
		IdleTimeout:           time.Duration(m.IdleTimeout),
		ResponseInformation:   m.ResponseInformation,
		UseUsernameAsClientID: m.UseUsernameAsClientID,
		PeerCertAsUsername:    m.PeerCertAsUsername,
		PeerCertAsClientID:    m.PeerCertAsClientID,
		AwaitRelTimeout:       time.Duration(m.AwaitRelTimeout),
	}
}

// Broker is the server's core, for in-process embedding and tests.
func (s *Server) Broker() *broker.Broker { return s.broker }

// Addr returns the bound address of a running listener ("tcp:default": kind
// and name; "stomp:tcp:default" for a gateway's: gateway, kind and name), or
// nil. With bind port 0 this is how a test learns the port.
func (s *Server) Addr(key string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listeners {
		if l.id == key {
			return l.addr
		}
	}
	return nil
}

// Run starts every enabled listener and blocks until ctx is cancelled, then
// shuts the server down and returns. It returns an error at once, with every
// listener already started closed again, if a listener cannot start.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("gateway: server already running")
	}
	s.running = true
	s.mu.Unlock()

	s.log.Info().Str("node", s.cfg.Node.Name).Msg("server_starting")
	if err := s.startListeners(ctx); err != nil {
		_ = s.Shutdown(context.Background())
		if ctx.Err() != nil {
			return nil // cancelled while starting (a UDP listener's Start returns ctx.Err()): a normal stop
		}
		return err
	}
	s.broker.Start()
	s.sysmon.Start()
	s.log.Info().Msg("server_started")
	<-ctx.Done()
	return s.Shutdown(context.Background())
}

// listenerServer is what every kind of listener (gnet edge, TLS) offers.
type listenerServer interface {
	Start(context.Context) error
	Stop(context.Context) error
	Addr() net.Addr
}

func (s *Server) startListeners(ctx context.Context) error {
	for _, ref := range s.cfg.EnabledListeners() {
		log := s.log.With().Str("proto", ref.Kind).Str("listener", ref.Name).Logger()
		srv, err := s.newListener(ref)
		if err != nil {
			return err
		}
		if srv == nil {
			log.Warn().Str("bind", ref.Bind.String()).Msg("listener_not_available_in_this_build")
			continue
		}
		if err := srv.Start(ctx); err != nil {
			return err // names listeners.<kind>.<name>.bind (or the key at fault)
		}
		s.addListener(ref.Kind+":"+ref.Name, ref.Key(), srv)
		if ref.Kind != config.KindDashboard {
			s.addBuilder(ref.Kind+":"+ref.Name, func() (listenerServer, error) { return s.newListener(ref) })
		}
		log.Info().Str("bind", ref.Bind.String()).Str("addr", srv.Addr().String()).Msg("listener_started")
	}
	return s.startGateways(ctx)
}

// newListener builds the server for one enabled listener; nil for a kind
// this build does not serve.
func (s *Server) newListener(ref config.ListenerRef) (listenerServer, error) {
	switch ref.Kind {
	case config.KindTCP:
		return edge.NewTCP(tcpConfig(ref, &s.cfg.Listeners.TCP[ref.Name].Listener, s.cfg.MQTT), s.mqtt, s.core, s.log), nil
	case config.KindWS:
		ec, err := wsConfig(ref, s.cfg.Listeners.WS[ref.Name], s.cfg.MQTT)
		if err != nil {
			return nil, err
		}
		return edge.NewWS(ec, s.mqtt, s.core, s.log), nil
	case config.KindSSL:
		return listener.NewTLS(s.secure[ref.Kind+":"+ref.Name], s.mqtt, s.core, s.log), nil
	case config.KindWSS:
		return listener.NewWSS(s.secure[ref.Kind+":"+ref.Name], s.mqtt, s.core, s.log), nil
	case config.KindDashboard:
		if s.api != nil {
			return s.api.NewListener(ref.Bind.String()), nil
		}
	}
	return nil, nil
}

func (s *Server) addListener(id, key string, srv listenerServer) {
	s.mu.Lock()
	s.listeners = append(s.listeners, runningListener{id: id, key: key, stop: srv.Stop, addr: srv.Addr(), srv: srv})
	s.mu.Unlock()
}

// Shutdown closes the listeners, which disconnects their clients (their
// wills are published), stops the broker's timers and flushes state. It is
// safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		s.closeBroker() // a server that never ran still holds its store
		return nil
	}
	s.running = false
	ls := s.listeners
	s.listeners = nil
	s.mu.Unlock()

	var errs []error
	for i := len(ls) - 1; i >= 0; i-- {
		if err := ls[i].stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping %s: %w", ls[i].key, err))
		}
	}
	s.closeBroker()
	s.log.Info().Msg("server_stopped")
	return errors.Join(errs...)
}

// tcpConfig maps a listener's common keys onto the edge's TCP configuration.
func tcpConfig(ref config.ListenerRef, l *config.Listener, m config.MQTTConfig) edge.TCPConfig {
	return edgeTCPConfig(ref.Kind+":"+ref.Name, "", l, int(m.MaxPacketSize))
}

// edgeTCPConfig maps a listener's common keys onto the edge's TCP
// configuration, for any protocol: inbound bytes may reach two of its
// largest frames, and the channel enforces its own idle timeout.
func edgeTCPConfig(name, key string, l *config.Listener, maxFrame int) edge.TCPConfig {
	ec := edge.DefaultTCPConfig()
	ec.Name, ec.Key = name, key
	ec.Bind = l.Bind.String()
	ec.MaxConnections = l.MaxConnections
	ec.TCPNoDelay = l.TCPOptions.Nodelay
	ec.MaxInboundBuffered = max(ec.MaxInboundBuffered, 2*maxFrame)
	ec.IdleTimeout = -1
	return ec
}

// wsConfig maps a ws listener's keys onto the edge's WebSocket configuration.
func wsConfig(ref config.ListenerRef, l *config.WSListener, m config.MQTTConfig) (edge.WSConfig, error) {
	o := l.WebSocket
	ec := edge.DefaultWSConfig()
	ec.TCPConfig = tcpConfig(ref, &l.Listener, m)
	ec.Path, ec.Subprotocols = o.MQTTPath, o.SupportedSubprotocols
	ec.FailIfNoSubprotocol, ec.MaxFrameSize = o.FailIfNoSubprotocol, int(o.MaxFrameSize)
	ec.CheckOrigin, ec.AllowedOrigins, ec.AllowOriginAbsence = o.CheckOriginEnable, o.CheckOrigins, o.AllowOriginAbsence
	ec.ProxyAddressHeader, ec.ProxyPortHeader = o.ProxyAddressHeader, o.ProxyPortHeader
	ec.TrustedProxies = nil
	for _, p := range o.TrustedProxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return ec, fmt.Errorf("%s.websocket.trusted_proxies: %w", ref.Key(), err)
		}
		ec.TrustedProxies = append(ec.TrustedProxies, pfx)
	}
	if len(ec.TrustedProxies) == 0 {
		ec.ProxyAddressHeader, ec.ProxyPortHeader = "", "" // no trusted proxy: believe no header
	}
	return ec, nil
}

package gateway

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/manifold-iot/manifold/adapters/coapnet"
	"github.com/manifold-iot/manifold/coap"
	"github.com/manifold-iot/manifold/gateway/config"
)

// coapConfig maps gateway.coap onto the CoAP gateway's configuration, with
// its enabled listeners only.
func coapConfig(cfg *config.Config) coap.Config {
	g := cfg.Gateway.CoAP
	c := coap.DefaultConfig()
	c.Mountpoint = g.Mountpoint
	c.ConnectionRequired = g.ConnectionRequired
	c.Heartbeat = time.Duration(g.Heartbeat)
	c.NotifyType = g.NotifyType
	c.SubscribeQoS = g.SubscribeQoS
	c.PublishQoS = g.PublishQoS
	c.MaxClients = g.MaxClients
	c.MaxObservations = g.MaxObservations
	c.MaxBodySize = int(g.MaxBodySize)
	c.IdleTimeout = time.Duration(g.IdleTimeout)
	c.AckTimeout = time.Duration(g.AckTimeout)
	c.MaxRetransmit = g.MaxRetransmit
	c.Listeners = coapnetListeners(&g.Listeners)
	return c
}

// coapnetListeners maps the listeners of a CoAP-based gateway (gateway.coap,
// gateway.lwm2m) onto coapnet's, enabled ones only.
func coapnetListeners(ls *config.CoAPListeners) coapnet.Listeners {
	out := coapnet.Listeners{UDP: map[string]coapnet.UDPListener{}, DTLS: map[string]coapnet.DTLSListener{}}
	for name, l := range ls.UDP {
		if l != nil && l.Enable {
			out.UDP[name] = coapnet.UDPListener{Bind: l.Bind.String()}
		}
	}
	for name, l := range ls.DTLS {
		if l != nil && l.Enable {
			out.DTLS[name] = coapnet.DTLSListener{
				Bind: l.Bind.String(), PSK: l.PSK, PSKIdentityHint: l.PSKIdentityHint,
				Certfile: l.Certfile, Keyfile: l.Keyfile, Cacertfile: l.Cacertfile,
				Verify: l.Verify, FailIfNoPeerCert: l.FailIfNoPeerCert,
				HandshakeTimeout: time.Duration(l.HandshakeTimeout),
			}
		}
	}
	return out
}

// loadCoAP checks gateway.coap and builds its server (which binds nothing
// until started).
func (s *Server) loadCoAP() error {
	if !s.cfg.Gateway.CoAP.Enable {
		return nil
	}
	srv, err := coap.New(coapConfig(s.cfg), s.core, s.log.With().Str("gateway", "coap").Logger())
	if err != nil {
		return err
	}
	s.gw.coap = &coapListeners{srv: srv}
	return nil
}

// coapServer is a gateway over coapnet serving all its listeners from one
// server: *coap.Server and *lwm2m.Server.
type coapServer interface {
	ListenAndServe() error
	Addr(listener string) net.Addr
	Shutdown()
	ReloadCertificates() error
}

// coapListeners is the one server of a CoAP-based gateway (coap, lwm2m),
// serving all its listeners: the first started listener starts it, the
// first stopped listener stops it.
type coapListeners struct {
	srv       coapServer
	startOnce sync.Once
	startErr  error
	stopOnce  sync.Once
}

// coapListener is one listener of a CoAP-based gateway's server, as the
// server sees it.
type coapListener struct {
	c    *coapListeners
	name string // "udp:default"
	key  string // gateway.coap.listeners.udp.default
}

// Start starts the gateway's server (once, for every listener).
func (l *coapListener) Start(context.Context) error {
	l.c.startOnce.Do(func() { l.c.startErr = l.c.srv.ListenAndServe() })
	if l.c.startErr != nil {
		return l.c.startErr
	}
	if l.c.srv.Addr(l.name) == nil {
		return fmt.Errorf("%s: not bound", l.key)
	}
	return nil
}

// Stop shuts the gateway's server down (once, for every listener).
func (l *coapListener) Stop(context.Context) error {
	l.c.stopOnce.Do(l.c.srv.Shutdown)
	return nil
}

// Addr is the listener's bound address.
func (l *coapListener) Addr() net.Addr { return l.c.srv.Addr(l.name) }

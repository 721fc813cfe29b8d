package gateway

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/raw"
	sc "github.com/manifold-iot/manifold/codec/stomp"
	"github.com/manifold-iot/manifold/gateway/config"
	"github.com/manifold-iot/manifold/gateway/edge"
	"github.com/manifold-iot/manifold/gateway/httpgw"
	"github.com/manifold-iot/manifold/gateway/listener"
	"github.com/manifold-iot/manifold/sn"
	stompad "github.com/manifold-iot/manifold/stomp"
)

// STOMP's fixed HTTP paths and WebSocket subprotocols (PROTOCOLS.md).
const (
	stompWebSocketPath = "/stomp/websocket"
	stompSockJSPrefix  = "/stomp"
)

var stompSubprotocols = []string{"v12.stomp", "v11.stomp", "v10.stomp"}

// gatewayState holds what loadGateways checked and loaded for the
// gateways other than STOMP, ready for startGateways.
type gatewayState struct {
	sn      sn.Config                      // gateway.mqttsn, the gateway's mountpoint
	snStore sn.RegistryStore               // topic ids of persistent MQTT-SN sessions
	snDTLS  map[string]listener.DTLSConfig // by "mqttsn:dtls:<name>", keys loaded
	coap    *coapListeners                 // the CoAP server, nil when disabled
	lwm2m   *coapListeners                 // the LwM2M server, nil when disabled
	raw     map[string]*raw.Adapter        // by "raw:<kind>:<name>"
}

// loadGateways checks the gateway sections and loads the certificates of
// their TLS listeners, before anything binds.
func (s *Server) loadGateways() error {
	if names := slices.Sorted(maps.Keys(s.cfg.Gateway.Other)); len(names) > 0 {
		return fmt.Errorf("gateway.%s: no such gateway in this build (known: coap, lwm2m, mqttsn, raw, stomp)", names[0])
	}
	for _, load := range []func() error{s.loadMQTTSN, s.loadCoAP, s.loadLwM2M, s.loadRaw} {
		if err := load(); err != nil {
			return err
		}
	}
	for _, ref := range s.cfg.EnabledGatewayListeners() {
		if ref.Gateway != "stomp" || ref.Kind != config.KindSSL {
			continue
		}
		lc, err := listener.FromGatewaySSL(ref.Gateway, ref.Name, s.cfg.Gateway.STOMP.Listeners.SSL[ref.Name], s.cfg.ResolvePath)
		if err != nil {
			return err
		}
		lc.MaxInboundBuffered = max(lc.MaxInboundBuffered, 2*int(s.cfg.Gateway.STOMP.MaxFrameSize))
		lc.IdleTimeout = -1 // the STOMP channel enforces gateway.stomp.idle_timeout
		s.secure[ref.ID()] = lc
	}
	return nil
}

// stompConfig maps gateway.stomp onto the STOMP channel's configuration
// for a listener with mountpoint template mp.
func stompConfig(cfg *config.Config, mp, version string) stompad.Config {
	st := cfg.Gateway.STOMP
	c := stompad.DefaultConfig()
	c.Limits = sc.Limits{
		MaxHeaders:       st.Frame.MaxHeaders,
		MaxHeadersLength: st.Frame.MaxHeadersLength,
		MaxBodyLength:    int(st.Frame.MaxBodyLength),
		MaxFrameSize:     int(st.MaxFrameSize),
	}
	c.Mountpoint = mp
	c.IdleTimeout = time.Duration(st.IdleTimeout)
	c.SessionExpiry = time.Duration(cfg.MQTT.SessionExpiryInterval)
	c.Server = "Manifold/" + version
	return c
}

// startGateways starts every enabled listener of every enabled gateway and
// registers it as "<gateway>:<kind>:<name>" for Addr.
func (s *Server) startGateways(ctx context.Context) error {
	for _, ref := range s.cfg.EnabledGatewayListeners() {
		log := s.log.With().Str("proto", ref.Gateway).Str("gateway", ref.Gateway).Str("kind", ref.Kind).Str("listener", ref.Name).Logger()
		var srv listenerServer
		var err error
		switch ref.Gateway {
		case "stomp":
			srv, err = s.newStompListener(ref)
		case "mqttsn":
			srv, err = s.newMQTTSNListener(ref)
		case "coap":
			srv = &coapListener{c: s.gw.coap, name: ref.Kind + ":" + ref.Name, key: ref.Key()}
		case "lwm2m":
			srv = &coapListener{c: s.gw.lwm2m, name: ref.Kind + ":" + ref.Name, key: ref.Key()}
		case "raw":
			srv, err = s.newRawListener(ref)
		default:
			err = fmt.Errorf("%s: unknown gateway", ref.Key())
		}
		if err != nil {
			return err
		}
		if err := srv.Start(ctx); err != nil {
			return err
		}
		s.addListener(ref.ID(), ref.Key(), srv)
		log.Info().Str("bind", ref.Bind.String()).Str("addr", srv.Addr().String()).Msg("listener_started")
	}
	return nil
}

// newStompListener builds one STOMP listener with its own adapter (the
// listener's mountpoint may differ from the gateway's).
func (s *Server) newStompListener(ref config.GatewayListenerRef) (listenerServer, error) {
	st := &s.cfg.Gateway.STOMP
	var l *config.Listener
	switch ref.Kind {
	case config.KindTCP:
		l = &st.Listeners.TCP[ref.Name].Listener
	case config.KindSSL:
		l = &st.Listeners.SSL[ref.Name].Listener
	case config.KindHTTP:
		l = &st.Listeners.HTTP[ref.Name].Listener
	default:
		return nil, fmt.Errorf("%s: unknown listener type", ref.Key())
	}
	var ad adapters.Adapter = stompad.NewAdapter(stompConfig(s.cfg, st.MountpointFor(l), s.o.version))
	inbound := max(edge.DefaultMaxInboundBuffered, 2*int(st.MaxFrameSize))
	switch ref.Kind {
	case config.KindTCP:
		return edge.NewTCP(edgeTCPConfig(ref.ID(), ref.Key(), l, int(st.MaxFrameSize)), ad, s.core, s.log), nil
	case config.KindSSL:
		return listener.NewTLS(s.secure[ref.ID()], ad, s.core, s.log), nil
	}
	hc := httpgw.Config{
		Name:               ref.ID(),
		Key:                ref.Key(),
		Bind:               l.Bind.String(),
		MaxConnections:     l.MaxConnections,
		SendTimeout:        time.Duration(l.TCPOptions.SendTimeout),
		MaxInboundBuffered: inbound,
		WebSocketPath:      stompWebSocketPath,
		Subprotocols:       stompSubprotocols,
		SockJSPrefix:       stompSockJSPrefix,
	}
	if st.DemoPage {
		sub, err := fs.Sub(stompad.DemoFiles, "demo")
		if err != nil {
			return nil, err
		}
		hc.Page = http.FileServerFS(sub)
	}
	return httpgw.New(hc, ad, s.core, s.log), nil
}

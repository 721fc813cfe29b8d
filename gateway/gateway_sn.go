package gateway

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/manifold-iot/manifold/adapters/certs"
	"github.com/manifold-iot/manifold/gateway/config"
	"github.com/manifold-iot/manifold/gateway/edge"
	"github.com/manifold-iot/manifold/gateway/listener"
	"github.com/manifold-iot/manifold/sn"
)

// snConfig maps gateway.mqttsn onto the MQTT-SN adapter's configuration,
// with the gateway's mountpoint.
func snConfig(cfg *config.Config) sn.Config {
	g := cfg.Gateway.MQTTSN
	c := sn.DefaultConfig()
	c.GatewayID = uint8(g.GatewayID)
	c.Broadcast = g.Broadcast
	c.AdvertiseInterval = time.Duration(g.AdvertiseInterval)
	c.BroadcastAddress = g.BroadcastAddress
	c.EnableQoS3 = g.EnableQoS3
	c.SubsResume = g.SubsResume
	c.Predefined = nil
	for _, p := range g.Predefined {
		c.Predefined = append(c.Predefined, sn.Predefined{ID: uint16(p.ID), Topic: p.Topic})
	}
	c.Mountpoint = g.Mountpoint
	c.IdleTimeout = time.Duration(g.IdleTimeout)
	c.KeepaliveMultiplier = g.KeepaliveMultiplier
	c.SessionExpiry = time.Duration(g.SessionExpiry)
	c.RetryInterval = time.Duration(g.RetryInterval)
	c.MaxRetries = g.MaxRetries
	c.MaxSleepBuffer = g.MaxSleepBuffer
	c.MaxTopics = g.MaxTopics
	c.MaxClientIDLen = g.MaxClientIDLen
	c.DeliverBatch = g.DeliverBatch
	c.MaxDatagram = g.MaxDatagram
	return c
}

// loadMQTTSN checks gateway.mqttsn, opens its topic-id registry store and
// loads the keys and certificates of its DTLS listeners.
func (s *Server) loadMQTTSN() error {
	g := &s.cfg.Gateway.MQTTSN
	if !g.Enable {
		return nil
	}
	c := snConfig(s.cfg)
	if err := c.Validate(); err != nil {
		return err
	}
	s.gw.sn = c
	s.gw.snStore = sn.NewMemoryRegistryStore()
	if s.store != nil { // node.persistence.enable: the ids survive a restart
		st, err := newFileRegistryStore(filepath.Join(s.cfg.Node.DataDir, snRegistryDir))
		if err != nil {
			return err
		}
		s.gw.snStore = st
	}
	s.gw.snDTLS = map[string]listener.DTLSConfig{}
	for _, ref := range s.cfg.EnabledGatewayListeners() {
		if ref.Gateway != "mqttsn" || ref.Kind != config.KindDTLS {
			continue
		}
		dc, err := snDTLSConfig(ref, g.Listeners.DTLS[ref.Name])
		if err != nil {
			return err
		}
		s.gw.snDTLS[ref.ID()] = dc
	}
	return nil
}

// snDTLSConfig loads one MQTT-SN DTLS listener's keys and certificates.
func snDTLSConfig(ref config.GatewayListenerRef, l *config.MQTTSNDTLSListener) (listener.DTLSConfig, error) {
	key := ref.Key()
	dc := listener.DTLSConfig{
		Name:             ref.ID(),
		Key:              key,
		Bind:             l.Bind.String(),
		MaxConnections:   l.MaxConnections,
		HandshakeTimeout: time.Duration(l.HandshakeTimeout),
		PSKIdentityHint:  l.PSKIdentityHint,
		VerifyPeer:       l.DTLSOptions.Verify == "verify_peer",
		FailIfNoPeerCert: l.DTLSOptions.FailIfNoPeerCert,
	}
	psk := &l.PSKAuthentication
	if psk.InitFile != "" {
		keys, err := listener.LoadPSKFile(psk.InitFile)
		if err != nil {
			return dc, fmt.Errorf("%s.psk_authentication.init_file: %w", key, err)
		}
		dc.PSK = keys
	}
	for id, hk := range psk.Identities {
		k, err := hex.DecodeString(hk)
		if err != nil || len(k) == 0 {
			return dc, fmt.Errorf("%s.psk_authentication.identities.%s: expected a key in hex, got %q", key, id, hk)
		}
		if dc.PSK == nil {
			dc.PSK = map[string][]byte{}
		}
		dc.PSK[id] = k
	}
	o := &l.DTLSOptions
	if dc.VerifyPeer && o.Cacertfile == "" {
		return dc, fmt.Errorf("%s.dtls_options.cacertfile: required with verify_peer", key)
	}
	if o.Certfile != "" || o.Keyfile != "" {
		// Read again by ReloadCertificates (PUT /api/v5/configs/listeners).
		f := certs.Files{Key: key + ".dtls_options", Cert: o.Certfile, PrivKey: o.Keyfile}
		if dc.VerifyPeer {
			f.CA = o.Cacertfile
		}
		r, err := certs.NewReloader(f)
		if err != nil {
			return dc, err
		}
		dc.Certs = r
	} else if dc.VerifyPeer {
		pem, err := os.ReadFile(o.Cacertfile)
		if err != nil {
			return dc, fmt.Errorf("%s.dtls_options.cacertfile: %w", key, err)
		}
		dc.ClientCAs = x509.NewCertPool()
		if !dc.ClientCAs.AppendCertsFromPEM(pem) {
			return dc, fmt.Errorf("%s.dtls_options.cacertfile: %s: no PEM certificate", key, o.Cacertfile)
		}
	}
	if len(dc.PSK) == 0 && dc.Certs == nil {
		return dc, fmt.Errorf("%s: enabled without keys: set psk_authentication (init_file or identities) or dtls_options.certfile and keyfile", key)
	}
	return dc, dc.Validate()
}

// newMQTTSNListener builds one MQTT-SN listener with its own adapter (the
// listener's mountpoint may differ from the gateway's); the registry store
// is shared.
func (s *Server) newMQTTSNListener(ref config.GatewayListenerRef) (listenerServer, error) {
	g := &s.cfg.Gateway.MQTTSN
	c := s.gw.sn
	switch ref.Kind {
	case config.KindUDP:
		l := g.Listeners.UDP[ref.Name]
		if l.Mountpoint != "" {
			c.Mountpoint = l.Mountpoint
		}
		ec := edge.UDPConfig{
			Name: ref.ID(), Key: ref.Key(), Bind: l.Bind.String(), MaxSessions: l.MaxSessions,
			Multicore: l.Multicore, Loops: l.Loops, RecvBuffer: int(l.Recbuf), SendBuffer: int(l.Sndbuf),
		}
		srv := edge.NewUDP(ec, sn.NewAdapter(c, s.gw.snStore), s.core, s.log)
		if !c.Broadcast {
			return srv, nil
		}
		return &advertisingUDP{UDPServer: srv, cfg: c, s: s, ref: ref}, nil
	case config.KindDTLS:
		l := g.Listeners.DTLS[ref.Name]
		if l.Mountpoint != "" {
			c.Mountpoint = l.Mountpoint
		}
		return listener.NewDTLS(s.gw.snDTLS[ref.ID()], sn.NewAdapter(c, s.gw.snStore), s.core, s.log), nil
	}
	return nil, fmt.Errorf("%s: unknown listener type", ref.Key())
}

// advertisingUDP is an MQTT-SN UDP listener that sends ADVERTISE to
// broadcast_address from its own socket while it runs (MQTT-SN 1.2 §6.1).
type advertisingUDP struct {
	*edge.UDPServer
	cfg    sn.Config
	s      *Server
	ref    config.GatewayListenerRef
	cancel context.CancelFunc
	done   chan struct{}
}

// Start starts the listener, then the advertiser.
func (a *advertisingUDP) Start(ctx context.Context) error {
	if err := a.UDPServer.Start(ctx); err != nil {
		return err
	}
	to, err := netip.ParseAddrPort(a.cfg.BroadcastAddress)
	if err != nil { // Validate checked it
		return fmt.Errorf("gateway.mqttsn.broadcast_address: %w", err)
	}
	actx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, make(chan struct{})
	log := a.s.log.With().Str("gateway", "mqttsn").Str("listener", a.ref.ID()).Logger()
	go func() {
		defer close(a.done)
		sn.RunAdvertiser(actx, a.cfg, func(b []byte) error { return a.SendTo(to, b) }, log)
	}()
	return nil
}

// Stop stops the advertiser, then the listener.
func (a *advertisingUDP) Stop(ctx context.Context) error {
	if a.cancel != nil {
		a.cancel()
		<-a.done
	}
	return a.UDPServer.Stop(ctx)
}

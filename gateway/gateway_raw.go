package gateway

import (
	"fmt"
	"time"

	"github.com/manifold-iot/manifold/adapters/raw"
	rawcodec "github.com/manifold-iot/manifold/codec/raw"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/gateway/config"
	"github.com/manifold-iot/manifold/gateway/edge"
	"github.com/manifold-iot/manifold/gateway/listener"
)

// rawConfig maps one raw listener's keys onto the raw adapter's
// configuration; errors then name the listener's key path.
func rawConfig(ref config.GatewayListenerRef, o *config.RawOptions, mountpoint string) raw.Config {
	c := raw.DefaultConfig()
	c.Key = ref.Key()
	f := o.Framing
	c.Framing = rawcodec.Config{
		Type: f.Type, MaxLength: int(f.MaxLength), Delimiter: f.Delimiter, LengthBytes: f.LengthBytes,
		Endian: f.Endian, LengthIncludesHeader: f.LengthIncludesHeader, Size: f.Size,
	}
	c.Handler = o.Handler
	c.UpTopic, c.UpQoS, c.UpRetain = o.UpTopic, core.QoS(o.UpQoS), o.UpRetain
	c.DnTopic, c.DnQoS = o.DnTopic, core.QoS(o.DnQoS)
	c.ClientIDRegex, c.PublishIDFrame = o.ClientIDRegex, o.PublishIDFrame
	c.IdleTimeout = time.Duration(o.IdleTimeout)
	c.CleanSession, c.SessionExpiry = o.CleanSession, time.Duration(o.SessionExpiry)
	c.Mountpoint = mountpoint
	return c
}

// loadRaw checks every enabled raw listener's settings (handler names
// included) and loads the certificates of its TLS listeners.
func (s *Server) loadRaw() error {
	g := &s.cfg.Gateway.Raw
	if !g.Enable {
		return nil
	}
	s.gw.raw = map[string]*raw.Adapter{}
	for _, ref := range s.cfg.EnabledGatewayListeners() {
		if ref.Gateway != "raw" {
			continue
		}
		var c raw.Config
		switch ref.Kind {
		case config.KindTCP:
			l := g.Listeners.TCP[ref.Name]
			c = rawConfig(ref, &l.RawOptions, g.MountpointFor(&l.Listener))
		case config.KindSSL:
			l := g.Listeners.SSL[ref.Name]
			c = rawConfig(ref, &l.RawOptions, g.MountpointFor(&l.Listener))
			lc, err := listener.FromGatewaySSL("raw", ref.Name, &config.SSLListener{Listener: l.Listener, SSLOptions: l.SSLOptions}, s.cfg.ResolvePath)
			if err != nil {
				return err
			}
			lc.IdleTimeout = -1                                                            // the raw channel enforces its idle_timeout
			lc.MaxInboundBuffered = max(lc.MaxInboundBuffered, 2*int(l.Framing.MaxLength)) // as on TCP
			s.secure[ref.ID()] = lc
		case config.KindUDP:
			l := g.Listeners.UDP[ref.Name]
			c = rawConfig(ref, &l.RawOptions, g.MountpointFor(&config.Listener{Mountpoint: l.Mountpoint}))
		default:
			return fmt.Errorf("%s: unknown listener type", ref.Key())
		}
		a, err := raw.NewAdapter(c)
		if err != nil {
			return err
		}
		s.gw.raw[ref.ID()] = a
	}
	return nil
}

// newRawListener builds one raw listener on its adapter.
func (s *Server) newRawListener(ref config.GatewayListenerRef) (listenerServer, error) {
	g := &s.cfg.Gateway.Raw
	a := s.gw.raw[ref.ID()]
	switch ref.Kind {
	case config.KindTCP:
		l := g.Listeners.TCP[ref.Name]
		return edge.NewTCP(edgeTCPConfig(ref.ID(), ref.Key(), &l.Listener, int(l.Framing.MaxLength)), a, s.core, s.log), nil
	case config.KindSSL:
		return listener.NewTLS(s.secure[ref.ID()], a, s.core, s.log), nil
	case config.KindUDP:
		l := g.Listeners.UDP[ref.Name]
		ec := edge.UDPConfig{
			Name: ref.ID(), Key: ref.Key(), Bind: l.Bind.String(), MaxSessions: l.MaxSessions,
			Multicore: l.Multicore, Loops: l.Loops, RecvBuffer: int(l.Recbuf), SendBuffer: int(l.Sndbuf),
		}
		return edge.NewUDP(ec, a, s.core, s.log), nil
	}
	return nil, fmt.Errorf("%s: unknown listener type", ref.Key())
}

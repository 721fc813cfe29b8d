package gateway

import (
	"time"

	"github.com/manifold-iot/manifold/gateway/config"
	"github.com/manifold-iot/manifold/lwm2m"
)

// lwm2mConfig maps gateway.lwm2m onto the LwM2M gateway's configuration,
// with its enabled listeners only. Load has resolved xml_dir and the DTLS
// file paths against the configuration file's directory.
func lwm2mConfig(cfg *config.Config) lwm2m.Config {
	g := cfg.Gateway.LwM2M
	c := lwm2m.DefaultConfig()
	c.XMLDir = g.XMLDir
	c.LifetimeMin = time.Duration(g.LifetimeMin)
	c.LifetimeMax = time.Duration(g.LifetimeMax)
	c.QModeTimeWindow = time.Duration(g.QModeTimeWindow)
	c.AutoObserve = g.AutoObserve
	c.UpdateMsgPublishCondition = g.UpdateMsgPublishCondition
	c.Mountpoint = g.Mountpoint
	tr := func(t config.LwM2MTranslator) lwm2m.Translator { return lwm2m.Translator{Topic: t.Topic, QoS: t.QoS} }
	c.Translators = lwm2m.Translators{
		Command:  tr(g.Translators.Command),
		Response: tr(g.Translators.Response),
		Notify:   tr(g.Translators.Notify),
		Register: tr(g.Translators.Register),
		Update:   tr(g.Translators.Update),
	}
	c.MaxClients = g.MaxClients
	c.MaxQueuedCommands = g.MaxQueuedCommands
	c.RequestTimeout = time.Duration(g.RequestTimeout)
	c.MaxBodySize = int(g.MaxBodySize)
	c.IdleTimeout = time.Duration(g.IdleTimeout)
	c.AckTimeout = time.Duration(g.AckTimeout)
	c.MaxRetransmit = g.MaxRetransmit
	c.Listeners = coapnetListeners(&g.Listeners)
	return c
}

// loadLwM2M checks gateway.lwm2m, loads the object definitions of xml_dir
// (a bad file stops the start, naming gateway.lwm2m.xml_dir and the file)
// and builds the server, which binds nothing until started.
func (s *Server) loadLwM2M() error {
	if !s.cfg.Gateway.LwM2M.Enable {
		return nil
	}
	srv, err := lwm2m.New(lwm2mConfig(s.cfg), s.core, nil, s.log.With().Str("gateway", "lwm2m").Logger())
	if err != nil {
		return err
	}
	s.gw.lwm2m = &coapListeners{srv: srv}
	return nil
}

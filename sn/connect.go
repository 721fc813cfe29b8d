package sn

import (
	"time"

	"github.com/manifold-iot/manifold/adapters"
	snc "github.com/manifold-iot/manifold/codec/sn"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/topic"
)

// handleConnect starts a connection (MQTT-SN 1.2 §6.2): at once, or after
// the will dialogue (§6.3) when the Will flag is set. A CONNECT from a client
// already connected on this peer (a sleeping one included: it becomes
// active, §6.14) starts over on the same session.
func (c *channel) handleConnect(p *snc.Connect) adapters.Replies {
	if p.ProtocolID != snc.ProtocolID {
		return c.refuse(snc.RejectedNotSupported, "unknown protocol id")
	}
	if p.ClientID == "" || len(p.ClientID) > c.cfg.MaxClientIDLen {
		return c.refuse(snc.RejectedNotSupported, "client id empty or longer than max_clientid_len")
	}
	if c.phase.connected() {
		c.reconnect(p)
	}
	c.client.ClientID = p.ClientID
	c.client.Username = ""
	if err := c.ctx.Authenticate(adapters.AuthRequest{Client: &c.client}); err != nil {
		return c.refuse(snc.RejectedNotSupported, err.Error())
	}
	c.client.Mountpoint = adapters.ExpandMountpoint(c.cfg.Mountpoint, &c.client)
	c.will = nil
	if p.Will {
		cp := *p
		c.connecting = &cp
		c.phase = phaseWillTopic
		c.timers = append(c.timers, adapters.Timer{ID: timerConnect, After: c.cfg.IdleTimeout})
		c.write(&snc.WillTopicReq{})
		return c.reply()
	}
	return c.finishConnect(p)
}

// reconnect ends the current binding before a new CONNECT on the same peer;
// a persistent session is kept for the new CONNECT to resume or discard.
func (c *channel) reconnect(p *snc.Connect) {
	var keep *time.Duration
	if !c.clean || !p.CleanSession {
		d := c.cfg.SessionExpiry
		keep = &d
	}
	if c.sess != nil {
		c.ctx.Disconnect(c.client.ClientID, c, false, keep, "normal")
	}
	c.sess = nil
	c.outq = c.outq[:0]
	c.inflight = nil
	c.regPending = nil
	c.reRegister = nil
	if c.client.ClientID == p.ClientID && !p.CleanSession {
		// The resumed session keeps its topic ids (loadRegistry reads them back).
		if err := c.a.store.Save(c.client.ClientID, c.reg.snapshot()); err != nil {
			c.ev(c.log.Warn()).Err(err).Msg("registry_save_failed")
		}
	} else {
		c.reg.reset()
	}
	c.phase = phaseIdle
}

func (c *channel) refuse(code snc.ReturnCode, why string) adapters.Replies {
	c.ev(c.log.Info()).Str("return_code", code.String()).Str("cause", why).Msg("connect_refused")
	c.write(&snc.Connack{ReturnCode: code})
	c.willDone = true
	return c.shutdown(ErrConnectRefused)
}

// handleWillTopic takes the will topic and asks for the will message; an
// empty WILLTOPIC means no will after all (§6.3).
func (c *channel) handleWillTopic(p *snc.WillTopic) adapters.Replies {
	if p.Topic == "" {
		return c.finishConnect(c.connecting)
	}
	if topic.ValidName(c.mountTopic(p.Topic), 0) != nil {
		return c.refuse(snc.RejectedInvalidTopic, "will topic invalid")
	}
	if !c.ctx.Authorize(&c.client, core.ActionPublish, c.mountTopic(p.Topic), core.QoS(p.QoS), p.Retain) {
		return c.refuse(snc.RejectedNotSupported, "will topic not authorized")
	}
	c.willTopic = *p
	c.phase = phaseWillMsg
	c.write(&snc.WillMsgReq{})
	return c.reply()
}

func (c *channel) handleWillMsg(p *snc.WillMsg) adapters.Replies {
	c.will = &core.Message{
		Topic:   c.mountTopic(c.willTopic.Topic),
		Payload: append([]byte(nil), p.Msg...),
		QoS:     core.QoS(c.willTopic.QoS),
		Retain:  c.willTopic.Retain,
		From:    c.client.ClientID,
	}
	return c.finishConnect(c.connecting)
}

// finishConnect binds the session and answers CONNACK, then resends what a
// resumed session left unacknowledged.
func (c *channel) finishConnect(p *snc.Connect) adapters.Replies {
	c.connecting = nil
	c.clean = p.CleanSession
	c.keepalive = time.Duration(p.Duration) * time.Second
	var expiry time.Duration
	if !c.clean {
		expiry = c.cfg.SessionExpiry
	}
	res := c.ctx.Connect(broker.ConnectRequest{
		Client:     &c.client,
		Conn:       c,
		CleanStart: c.clean,
		Expiry:     expiry,
		Keepalive:  c.keepalive,
	})
	c.sess = res.Session
	c.willDone = false
	c.phase = phaseActive
	c.loadRegistry(res.SessionPresent)
	c.write(&snc.Connack{ReturnCode: snc.Accepted})
	c.ev(c.log.Debug()).Bool("clean_session", c.clean).Bool("session_present", res.SessionPresent).
		Dur("keepalive", c.keepalive).Bool("will", c.will != nil).Msg("client_connected")
	c.timers = append(c.timers, adapters.Timer{ID: timerConnect})
	if c.keepalive > 0 {
		c.timers = append(c.timers, adapters.Timer{ID: timerKeepalive, After: time.Duration(float64(c.keepalive) * c.cfg.KeepaliveMultiplier)})
	} else {
		c.timers = append(c.timers, adapters.Timer{ID: timerKeepalive})
	}
	c.outq = c.sess.Resume(c.outq[:0])
	return c.deliver()
}

// loadRegistry sets up the client's topic ids: empty for a clean session,
// else from the RegistryStore (they survive a gateway restart).
func (c *channel) loadRegistry(present bool) {
	if c.clean {
		c.reg.reset()
		if err := c.a.store.Delete(c.client.ClientID); err != nil {
			c.ev(c.log.Warn()).Err(err).Msg("registry_delete_failed")
		}
		return
	}
	m, err := c.a.store.Load(c.client.ClientID)
	if err != nil {
		c.ev(c.log.Warn()).Err(err).Msg("registry_load_failed")
	}
	c.reg.load(m)
	if c.cfg.SubsResume && present {
		for id := range c.reg.byID {
			c.reRegister = append(c.reRegister, id)
		}
	}
}

// saveRegistry persists a persistent session's topic ids.
func (c *channel) saveRegistry() {
	if c.clean || c.client.ClientID == "" {
		return
	}
	if err := c.a.store.Save(c.client.ClientID, c.reg.snapshot()); err != nil {
		c.ev(c.log.Warn()).Err(err).Msg("registry_save_failed")
	}
}

// handleWillTopicUpd changes or (empty) deletes the will topic (§6.4).
func (c *channel) handleWillTopicUpd(p *snc.WillTopicUpd) adapters.Replies {
	if p.Topic == "" {
		c.will = nil
		c.write(&snc.WillTopicResp{ReturnCode: snc.Accepted})
		return c.reply()
	}
	t := c.mountTopic(p.Topic)
	if topic.ValidName(t, 0) != nil || !c.ctx.Authorize(&c.client, core.ActionPublish, t, core.QoS(p.QoS), p.Retain) {
		c.write(&snc.WillTopicResp{ReturnCode: snc.RejectedNotSupported})
		return c.reply()
	}
	w := &core.Message{Topic: t, QoS: core.QoS(p.QoS), Retain: p.Retain, From: c.client.ClientID}
	if c.will != nil {
		w.Payload = c.will.Payload
	}
	c.will = w
	c.write(&snc.WillTopicResp{ReturnCode: snc.Accepted})
	return c.reply()
}

// handleWillMsgUpd changes the will message (§6.4); there must be a will topic.
func (c *channel) handleWillMsgUpd(p *snc.WillMsgUpd) adapters.Replies {
	if c.will == nil {
		c.write(&snc.WillMsgResp{ReturnCode: snc.RejectedNotSupported})
		return c.reply()
	}
	w := *c.will
	w.Payload = append([]byte(nil), p.Msg...)
	c.will = &w
	c.write(&snc.WillMsgResp{ReturnCode: snc.Accepted})
	return c.reply()
}

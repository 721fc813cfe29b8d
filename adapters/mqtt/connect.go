package mqtt

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/manifold-iot/manifold/adapters"
	mq "github.com/manifold-iot/manifold/codec/mqtt"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
)

// ErrConnectRefused is the shutdown reason of a refused CONNECT.
var ErrConnectRefused = errors.New("mqtt: connect refused")

// connackPool recycles the CONNACK a connect writes: the packet escapes to
// the heap through the encoder's interface, and a connect storm makes
// thousands a second.
var connackPool = sync.Pool{New: func() any { return new(mq.Connack) }}

// handleConnect authenticates the client, opens or resumes its session and
// answers CONNACK, followed by whatever the resumed session must resend.
func (c *channel) handleConnect(p *mq.Connect) adapters.Replies {
	c.version = p.ProtocolLevel
	c.dec.Version = p.ProtocolLevel
	c.client.ProtoVer = p.ProtocolLevel
	// EMQX's order: the certificate may name the user and the client, and
	// use_username_as_clientid comes last.
	c.client.Username = p.Username
	if c.rare != nil && c.rare.certUsername != "" {
		c.client.Username = c.rare.certUsername
	}
	id := p.ClientID
	if c.rare != nil && c.rare.certClientID != "" {
		id = c.rare.certClientID
	}
	assigned := false
	if c.cfg.UseUsernameAsClientID && c.client.Username != "" {
		id = c.client.Username
	}
	if id == "" {
		// The codec refused an empty id where the version forbids it; here
		// the server assigns one [MQTT-3.1.3-6] [MQTT-3.2.2-16].
		id = newClientID()
		assigned = true
	}
	if c.cfg.MaxClientIDLen > 0 && len(id) > c.cfg.MaxClientIDLen {
		return c.refuse(mq.ClientIdentifierNotValid, "client id longer than max_clientid_len")
	}
	c.client.ClientID = id

	if p.Properties.AuthenticationMethod != "" {
		return c.refuse(mq.BadAuthenticationMethod, "enhanced authentication is not supported")
	}
	if err := c.ctx.Authenticate(adapters.AuthRequest{Client: &c.client, Password: p.Password}); err != nil {
		if errors.Is(err, core.ErrBanned) {
			return c.refuse(mq.Banned, err.Error()) // v3: return code 5, not authorized
		}
		return c.refuse(mq.BadUserNameOrPassword, err.Error())
	}

	will, err := c.willFrom(p)
	if err != nil {
		return c.refuse(mq.NotAuthorized, err.Error())
	}

	// Session expiry: v5 says it; v3 has clean session only [MQTT-3.1.2-4].
	var expiry time.Duration
	if c.version == mq.V5 {
		expiry = time.Duration(p.Properties.SessionExpiryInterval) * time.Second
		c.sessionExpiryWasZero = p.Properties.SessionExpiryInterval == 0
	} else if !p.CleanStart {
		expiry = c.cfg.SessionExpiry
	}

	// Keepalive. server_keepalive is a ceiling for MQTT 5 clients: one that
	// asks for more, or for none, is told to use it (CONNACK Server Keep
	// Alive [MQTT-3.2.2-21]); one that asks for less keeps its own, so its
	// will is not held back for no reason. MQTT 3 cannot carry the server's
	// value, so a 3.x client's keepalive always stands [MQTT-3.1.2-24].
	keepalive := time.Duration(p.KeepAlive) * time.Second
	serverKeepalive := false
	if c.version == mq.V5 && c.cfg.ServerKeepalive > 0 && (p.KeepAlive == 0 || int(p.KeepAlive) > c.cfg.ServerKeepalive) {
		keepalive = time.Duration(c.cfg.ServerKeepalive) * time.Second
		serverKeepalive = true
	}
	c.keepaliveSecs = uint16(keepalive / time.Second)

	if c.version == mq.V5 {
		c.maxPacketOut = p.Properties.MaximumPacketSize
		c.aliasOutMax = p.Properties.TopicAliasMaximum
	}
	res := c.ctx.Connect(broker.ConnectRequest{
		Client:         &c.client,
		Conn:           c,
		CleanStart:     p.CleanStart,
		Expiry:         expiry,
		ReceiveMaximum: int(p.Properties.ReceiveMaximum),
		Will:           will,
		Keepalive:      keepalive,
	})
	c.sess = res.Session
	c.phase = phaseConnected

	ack := connackPool.Get().(*mq.Connack)
	defer connackPool.Put(ack)
	*ack = mq.Connack{SessionPresent: res.SessionPresent, ReasonCode: mq.Success}
	if c.version == mq.V5 {
		pr := &ack.Properties
		pr.ReceiveMaximum = uint16(min(c.cfg.MaxInflight, 65535))
		pr.MaximumPacketSize = uint32(c.cfg.MaxPacketSize)
		pr.TopicAliasMaximum = uint16(min(c.cfg.MaxTopicAlias, 65535))
		if c.cfg.MaxQoS < core.QoS2 {
			pr.MaximumQoS, pr.HasMaximumQoS = byte(c.cfg.MaxQoS), true
		}
		if !c.cfg.RetainAvailable {
			pr.RetainAvailable, pr.HasRetainAvailable = 0, true
		}
		if !c.cfg.WildcardSubscription {
			pr.WildcardSubscriptionAvailable, pr.HasWildcardSubscriptionAvailable = 0, true
		}
		if !c.cfg.SharedSubscription {
			pr.SharedSubscriptionAvailable, pr.HasSharedSubscriptionAvailable = 0, true
		}
		if assigned {
			pr.AssignedClientIdentifier = id
		}
		if res.Expiry != expiry {
			pr.SessionExpiryInterval, pr.HasSessionExpiryInterval = uint32(res.Expiry/time.Second), true
		}
		if serverKeepalive {
			pr.ServerKeepAlive, pr.HasServerKeepAlive = uint16(c.cfg.ServerKeepalive), true
		}
		if p.Properties.RequestResponseInformation == 1 && c.cfg.ResponseInformation != "" {
			pr.ResponseInformation = c.cfg.ResponseInformation
		}
	}
	c.write(ack)
	c.ev(c.ctx.Logger().Debug()).Uint8("proto_ver", c.version).Bool("session_present", res.SessionPresent).
		Dur("keepalive", keepalive).Msg("client_connected")

	// A resumed session resends what was unacknowledged, in order, before
	// anything new [MQTT-4.4.0-1].
	ds := c.sess.Resume(c.deliveries())
	if len(ds) > 0 {
		c.scratch().dbuf = ds
	}
	for i := range ds {
		c.writeDelivery(&ds[i], time.Now())
	}
	c.timers = append(c.timers, adapters.Timer{ID: timerConnect}) // cancel
	if keepalive > 0 {
		c.timers = append(c.timers, adapters.Timer{ID: timerKeepalive, After: time.Duration(float64(keepalive) * c.cfg.KeepaliveMultiplier)})
	}
	return c.deliver()
}

// refuse answers CONNACK with a failure code and closes [MQTT-3.2.2-6].
func (c *channel) refuse(code mq.ReasonCode, why string) adapters.Replies {
	c.ev(c.ctx.Logger().Info()).Str("reason_code", code.String()).Str("cause", why).Msg("connect_refused")
	c.write(&mq.Connack{ReasonCode: code}) // v3 codes are mapped by the codec
	c.willSent = true
	c.phase = phaseClosing
	r := c.reply()
	r.Shutdown = ErrConnectRefused
	return r
}

// willFrom builds the client's will from CONNECT, checking that the client
// may publish it.
func (c *channel) willFrom(p *mq.Connect) (*broker.Will, error) {
	if !p.WillFlag {
		return nil, nil
	}
	m := &core.Message{
		Topic:   p.WillTopic,
		Payload: append([]byte(nil), p.WillPayload...),
		QoS:     core.QoS(p.WillQoS),
		Retain:  p.WillRetain,
		From:    c.client.ClientID,
	}
	if c.version == mq.V5 {
		copyProperties(m, &p.WillProperties)
	}
	if m.Retain && !c.cfg.RetainAvailable {
		return nil, errors.New("will retain flag set but retain_available is false") // [MQTT-3.2.2-13]
	}
	if !c.ctx.Authorize(&c.client, core.ActionPublish, m.Topic, m.QoS, m.Retain) {
		return nil, errors.New("will topic not authorized")
	}
	return &broker.Will{Msg: m, Delay: time.Duration(p.WillProperties.WillDelayInterval) * time.Second}, nil
}

// newClientID makes a client id for a client that gave none.
func newClientID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "manifold-" + hex.EncodeToString(b[:])
}

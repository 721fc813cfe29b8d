package stomp

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/go-stomp/stomp/v3/frame"

	"github.com/manifold-iot/manifold/adapters"
	sc "github.com/manifold-iot/manifold/codec/stomp"
	"github.com/manifold-iot/manifold/core/broker"
)

// Headers of CONNECT beyond STOMP's own, for persistent sessions.
const (
	headerClientID     = "client-id"     // the MQTT client id; generated when absent
	headerCleanSession = "clean-session" // "false" keeps the session after disconnect
)

// negotiate picks the highest version both sides speak (STOMP 1.2 Protocol
// Negotiation); a CONNECT without accept-version is STOMP 1.0.
func negotiate(accept string, has bool) (sc.Version, bool) {
	if !has {
		return sc.V10, true
	}
	best := sc.Version(0)
	for _, s := range strings.Split(accept, ",") {
		if v, ok := sc.ParseVersion(strings.TrimSpace(s)); ok && v > best {
			best = v
		}
	}
	return best, best != 0
}

// handleConnect negotiates the version and heart-beats, authenticates the
// client through the core's hooks and opens its session (STOMP 1.2 CONNECT
// or STOMP Frame).
func (c *channel) handleConnect(f *frame.Frame) adapters.Replies {
	accept, has := f.Header.Contains(frame.AcceptVersion)
	v, ok := negotiate(accept, has)
	if !ok {
		// STOMP 1.2: the server answers with the versions it supports.
		c.version = sc.V12
		c.ev(c.log.Info()).Str("accept_version", accept).Msg("stomp_error")
		e := frame.New(frame.ERROR, frame.Version, "1.0,1.1,1.2", frame.Message, "unsupported protocol version",
			frame.ContentType, "text/plain")
		e.Body = []byte("Supported protocol versions are 1.0 1.1 1.2")
		c.write(e)
		c.phase = phaseClosing
		r := c.reply()
		r.Shutdown = ErrProtocol
		return r
	}
	c.version = v
	c.client.ProtoVer = byte(v)

	c.client.Username = f.Header.Get(frame.Login)
	id := f.Header.Get(headerClientID)
	if id == "" {
		id = newClientID()
	}
	c.client.ClientID = id
	if err := c.ctx.Authenticate(adapters.AuthRequest{Client: &c.client, Password: []byte(f.Header.Get(frame.Passcode))}); err != nil {
		return c.fail("authentication failed", err.Error(), f)
	}
	c.client.Mountpoint = adapters.ExpandMountpoint(c.cfg.Mountpoint, &c.client)

	clean := f.Header.Get(headerCleanSession) != "false"
	var expiry time.Duration
	if !clean {
		expiry = c.cfg.SessionExpiry
	}

	// Heart-beats (STOMP 1.2 Heart-beating): cx,cy from the client. We send
	// every cy (or our minimum) and expect something every cx; CONNECTED
	// carries the pair swapped, as EMQX does. 1.0 has none.
	if v >= sc.V11 {
		if hb, ok := f.Header.Contains(frame.HeartBeat); ok {
			cx, cy, err := frame.ParseHeartBeat(hb)
			if err != nil {
				return c.fail("invalid heart-beat", "heart-beat must be two integers, got "+hb, f)
			}
			if cx > 0 {
				c.recvEvery = max(cx, c.cfg.Heartbeat)
			}
			if cy > 0 {
				c.sendEvery = max(cy, c.cfg.Heartbeat)
			}
		}
	}

	res := c.ctx.Connect(broker.ConnectRequest{
		Client:     &c.client,
		Conn:       c,
		CleanStart: clean,
		Expiry:     expiry,
		Keepalive:  c.recvEvery,
	})
	c.sess = res.Session
	c.phase = phaseConnected
	c.codec.Version = v

	cf := frame.New(frame.CONNECTED)
	if has {
		cf.Header.Add(frame.Version, v.String()) // STOMP 1.2 CONNECTED
	}
	if v >= sc.V11 {
		cf.Header.Add(frame.HeartBeat, strconv.FormatInt(c.sendEvery.Milliseconds(), 10)+","+strconv.FormatInt(c.recvEvery.Milliseconds(), 10))
	}
	cf.Header.Add(frame.Session, id)
	cf.Header.Add(frame.Server, c.cfg.Server)
	c.write(cf)
	c.ev(c.log.Debug()).Str("proto_ver", v.String()).Bool("session_present", res.SessionPresent).Msg("client_connected")

	c.timers = append(c.timers, adapters.Timer{ID: timerConnect}) // cancel
	if c.recvEvery > 0 {
		c.timers = append(c.timers, adapters.Timer{ID: timerRecv, After: 2 * c.recvEvery})
	}
	if c.sendEvery > 0 {
		c.timers = append(c.timers, adapters.Timer{ID: timerSend, After: c.sendEvery})
	}
	// A resumed session's unacknowledged messages go out again once their
	// subscription is back (the client re-subscribes with the same id).
	c.orphans = c.sess.Resume(c.orphans[:0])
	return c.deliver()
}

// newClientID makes a client id for a client that gave none.
func newClientID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "stomp-" + hex.EncodeToString(b[:])
}

package core

import (
	"net/netip"
	"time"
)

// QoS is an MQTT quality-of-service level: 0 at most once, 1 at least once,
// 2 exactly once. Every protocol's delivery guarantee is mapped onto one.
type QoS byte

// The three QoS levels.
const (
	QoS0 QoS = 0
	QoS1 QoS = 1
	QoS2 QoS = 2
)

// Action is what a client asks to do with a topic; authorization decides on it.
type Action byte

// Actions checked by authorization.
const (
	ActionPublish   Action = 1 << iota // publish to a topic name
	ActionSubscribe                    // subscribe to a topic filter
	ActionAll       = ActionPublish | ActionSubscribe
)

// String returns the action's name as EMQX's ACL file spells it.
func (a Action) String() string {
	switch a {
	case ActionPublish:
		return "publish"
	case ActionSubscribe:
		return "subscribe"
	case ActionAll:
		return "all"
	}
	return "none"
}

// ClientInfo describes a connected client to the core and its policies,
// whatever protocol it speaks. It is filled once at connect and not changed
// afterwards (a reconnect makes a new one), so it is safe to share.
type ClientInfo struct {
	ClientID   string
	Username   string
	Peer       netip.AddrPort // remote address; zero for in-process clients
	Proto      string         // "mqtt", "mqtt-sn", "coap", "lwm2m", "stomp", "raw"
	Listener   string         // "tcp:default", "ws:default", …
	Mountpoint string         // topic prefix applied to everything the client names
	CertCN     string         // TLS peer certificate common name, if any
	// The small fields last, together: every connection holds a ClientInfo.
	LocalPort   uint16 // the listener's port (EMQX's sockport)
	ProtoVer    byte   // protocol level (MQTT: 3, 4 or 5)
	IsSuperuser bool
}

// UserProperty is one MQTT 5 user property; order and duplicates matter.
type UserProperty struct {
	Key, Value string
}

// Message is one application message inside the core. A Message is immutable
// once published: every session that receives it holds a reference to the
// same value, so nobody may modify it after Publish (copy it instead).
type Message struct {
	ID        uint64 // broker-unique, increasing per node
	Topic     string
	Payload   []byte
	QoS       QoS
	Retain    bool
	From      string    // publisher's client id ("" for the system)
	Timestamp time.Time // when the broker accepted it

	// MQTT 5 properties, passed through to subscribers that understand them.
	PayloadFormat   byte          // 0 unspecified bytes, 1 UTF-8 text
	ExpiryInterval  time.Duration // 0 means the message never expires
	ContentType     string
	ResponseTopic   string
	CorrelationData []byte
	UserProperties  []UserProperty
}

// Expired reports whether the message's expiry interval has passed at now.
func (m *Message) Expired(now time.Time) bool {
	return m.ExpiryInterval > 0 && now.Sub(m.Timestamp) >= m.ExpiryInterval
}

// RemainingExpiry is what is left of the message's expiry interval at now,
// rounded up to whole seconds as MQTT 5 carries it [MQTT-3.3.2-6]; zero and
// false when the message does not expire.
func (m *Message) RemainingExpiry(now time.Time) (time.Duration, bool) {
	if m.ExpiryInterval <= 0 {
		return 0, false
	}
	left := m.ExpiryInterval - now.Sub(m.Timestamp)
	if left < 0 {
		return 0, true
	}
	return ((left + time.Second - 1) / time.Second) * time.Second, true
}

// SubOptions are the options a client gives with each subscription.
type SubOptions struct {
	QoS               QoS
	NoLocal           bool   // do not deliver the client's own messages [MQTT-3.8.3-3]
	RetainAsPublished bool   // keep the publisher's retain flag on delivery
	RetainHandling    byte   // 0 send retained on subscribe, 1 only if new, 2 never
	SubscriptionID    uint32 // MQTT 5 subscription identifier; 0 when none
}

// Waker is told that something it waited on is over: a subscriber's queue
// drained, or writes became durable. Wake is called from any goroutine with no
// lock held and must not block.
type Waker interface {
	Wake()
}

// Backlog is something a publisher's acknowledgement may wait on (push-back):
// a subscriber's queue past its high-water mark, or a persistent session's
// writes that are not yet durable. Pressured reports that it still holds;
// WhenDrained calls w.Wake once it no longer does (at once if it already
// does not).
type Backlog interface {
	Pressured() bool
	WhenDrained(w Waker)
}

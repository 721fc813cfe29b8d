package sys

import (
	"encoding/json"
	"time"

	"github.com/manifold-iot/manifold/core"
)

// ConnInfo is what a client's CONNECT (or its protocol's equivalent) said,
// beyond core.ClientInfo, for the connected event.
type ConnInfo struct {
	// ProtoName is the protocol name as the client gave it; "" derives it
	// from ClientInfo: "MQTT" ("MQIsdp" for MQTT 3.1), "MQTT-SN", "CoAP",
	// "LwM2M", "STOMP".
	ProtoName      string
	CleanStart     bool
	Keepalive      time.Duration // published in seconds
	ExpiryInterval time.Duration // session expiry; published in seconds
	ConnectedAt    time.Time     // zero means now
	SockPort       uint16        // the listener's port; 0 leaves sockport out
	IsBridge       bool          // the client is a bridge (MQTT 3.1.1 bridge bit)
}

// The event payloads. Field order is the JSON key order; EMQX's keys.
type (
	connectedEvent struct {
		ClientID       string  `json:"clientid"`
		Username       *string `json:"username"`
		IPAddress      *string `json:"ipaddress"`
		SockPort       uint16  `json:"sockport,omitempty"`
		Protocol       string  `json:"protocol"`
		ProtoName      string  `json:"proto_name"`
		ProtoVer       int     `json:"proto_ver"`
		Keepalive      int64   `json:"keepalive"`
		CleanStart     bool    `json:"clean_start"`
		ExpiryInterval int64   `json:"expiry_interval"`
		IsBridge       bool    `json:"is_bridge"`
		ConnectedAt    int64   `json:"connected_at"`
		TS             int64   `json:"ts"`
	}
	disconnectedEvent struct {
		ClientID       string  `json:"clientid"`
		Username       *string `json:"username"`
		IPAddress      *string `json:"ipaddress"`
		Protocol       string  `json:"protocol"`
		ProtoName      string  `json:"proto_name"`
		ProtoVer       int     `json:"proto_ver"`
		Reason         string  `json:"reason"`
		DisconnectedAt int64   `json:"disconnected_at"`
		TS             int64   `json:"ts"`
	}
	subscriptionEvent struct {
		ClientID string   `json:"clientid"`
		Username *string  `json:"username"`
		Protocol string   `json:"protocol"`
		Topic    string   `json:"topic"`
		SubOpts  *subOpts `json:"subopts,omitempty"` // subscribed only
		TS       int64    `json:"ts"`
	}
	// subOpts are the subscription options as EMQX spells them.
	subOpts struct {
		QoS   int    `json:"qos"`
		RH    int    `json:"rh"`
		RAP   int    `json:"rap"`
		NL    int    `json:"nl"`
		SubID uint32 `json:"subid,omitempty"`
	}
)

// ClientConnected publishes the connected event of a client that has just
// connected, if Config.ClientConnected is set: JSON on
// $SYS/brokers/<node>/clients/<clientid>/connected, QoS 0, not retained.
func (s *Sys) ClientConnected(ci *core.ClientInfo, info ConnInfo) {
	if !s.cfg.ClientConnected || ci == nil || s.halted.Load() {
		return
	}
	topic, ok := s.listened(ci, "connected")
	if !ok {
		return
	}
	now := time.Now()
	at := info.ConnectedAt
	if at.IsZero() {
		at = now
	}
	name := info.ProtoName
	if name == "" {
		name = protoName(ci)
	}
	s.event(ci, topic, "connected", &connectedEvent{
		ClientID:       ci.ClientID,
		Username:       optional(ci.Username),
		IPAddress:      ipAddress(ci),
		SockPort:       info.SockPort,
		Protocol:       protocol(ci),
		ProtoName:      name,
		ProtoVer:       int(ci.ProtoVer),
		Keepalive:      int64(info.Keepalive / time.Second),
		CleanStart:     info.CleanStart,
		ExpiryInterval: int64(info.ExpiryInterval / time.Second),
		IsBridge:       info.IsBridge,
		ConnectedAt:    at.UnixMilli(),
		TS:             now.UnixMilli(),
	})
}

// ClientDisconnected publishes the disconnected event of a client whose
// connection has closed, if Config.ClientDisconnected is set. reason is
// EMQX's snake_case reason (normal, tcp_closed, kicked, takenover,
// keepalive_timeout, …); "" is published as "normal".
func (s *Sys) ClientDisconnected(ci *core.ClientInfo, reason string) {
	if !s.cfg.ClientDisconnected || ci == nil || s.halted.Load() {
		return
	}
	topic, ok := s.listened(ci, "disconnected")
	if !ok {
		return
	}
	if reason == "" {
		reason = "normal"
	}
	now := time.Now().UnixMilli()
	s.event(ci, topic, "disconnected", &disconnectedEvent{
		ClientID:       ci.ClientID,
		Username:       optional(ci.Username),
		IPAddress:      ipAddress(ci),
		Protocol:       protocol(ci),
		ProtoName:      protoName(ci),
		ProtoVer:       int(ci.ProtoVer),
		Reason:         reason,
		DisconnectedAt: now,
		TS:             now,
	})
}

// ClientSubscribed publishes the subscribed event for one filter a client
// subscribed to, if Config.ClientSubscribed is set.
func (s *Sys) ClientSubscribed(ci *core.ClientInfo, filter string, opts core.SubOptions) {
	if !s.cfg.ClientSubscribed || ci == nil || s.halted.Load() {
		return
	}
	topic, ok := s.listened(ci, "subscribed")
	if !ok {
		return
	}
	s.event(ci, topic, "subscribed", &subscriptionEvent{
		ClientID: ci.ClientID,
		Username: optional(ci.Username),
		Protocol: protocol(ci),
		Topic:    filter,
		SubOpts: &subOpts{
			QoS:   int(opts.QoS),
			RH:    int(opts.RetainHandling),
			RAP:   bit(opts.RetainAsPublished),
			NL:    bit(opts.NoLocal),
			SubID: opts.SubscriptionID,
		},
		TS: time.Now().UnixMilli(),
	})
}

// ClientUnsubscribed publishes the unsubscribed event for one filter a
// client unsubscribed from, if Config.ClientUnsubscribed is set.
func (s *Sys) ClientUnsubscribed(ci *core.ClientInfo, filter string) {
	if !s.cfg.ClientUnsubscribed || ci == nil || s.halted.Load() {
		return
	}
	topic, ok := s.listened(ci, "unsubscribed")
	if !ok {
		return
	}
	s.event(ci, topic, "unsubscribed", &subscriptionEvent{
		ClientID: ci.ClientID,
		Username: optional(ci.Username),
		Protocol: protocol(ci),
		Topic:    filter,
		TS:       time.Now().UnixMilli(),
	})
}

// listened returns the topic of a client's event and whether anyone
// subscribes to it. It is asked before the event is built: a connect storm
// makes many events that nobody listens to, and building them would double
// the garbage a connect leaves.
func (s *Sys) listened(ci *core.ClientInfo, name string) (string, bool) {
	topic := s.eventTopic(ci, name)
	if ic, ok := s.pub.(interestChecker); ok && !ic.Interested(topic) {
		return "", false
	}
	return topic, true
}

// event publishes one client event on topic, on the caller's goroutine.
func (s *Sys) event(ci *core.ClientInfo, topic, name string, payload any) {
	body, err := json.Marshal(payload)
	if err == nil {
		_, err = s.pub.Publish(&core.Message{Topic: topic, Payload: body})
	}
	if err != nil {
		if e := s.log.Debug(); e.Enabled() {
			e.Err(err).Str("clientid", ci.ClientID).Str("event", name).Msg("sys_event_publish_failed")
		}
	}
}

// eventTopic is EMQX 5's topic for a client event: under clients/ for MQTT
// clients, under gateway/<gateway>/clients/ for the others. A client id
// with "+" or "#" makes an invalid topic name, which the broker refuses:
// that client's events are not published.
func (s *Sys) eventTopic(ci *core.ClientInfo, name string) string {
	if gw := gateway(ci.Proto); gw != "" {
		return s.prefix + "gateway/" + gw + "/clients/" + ci.ClientID + "/" + name
	}
	return s.prefix + "clients/" + ci.ClientID + "/" + name
}

// gateway returns EMQX's gateway name for a protocol, "" for MQTT.
func gateway(proto string) string {
	switch proto {
	case "", "mqtt":
		return ""
	case "mqtt-sn":
		return "mqttsn"
	}
	return proto
}

// protocol is EMQX's protocol field: "mqtt" or the gateway name.
func protocol(ci *core.ClientInfo) string {
	if gw := gateway(ci.Proto); gw != "" {
		return gw
	}
	return "mqtt"
}

// protoName is the protocol name a client of ci.Proto announces.
func protoName(ci *core.ClientInfo) string {
	switch ci.Proto {
	case "", "mqtt":
		if ci.ProtoVer == 3 {
			return "MQIsdp"
		}
		return "MQTT"
	case "mqtt-sn":
		return "MQTT-SN"
	case "coap":
		return "CoAP"
	case "lwm2m":
		return "LwM2M"
	case "stomp":
		return "STOMP"
	}
	return ci.Proto
}

// ipAddress is the client's IP address without port, null when unknown
// (an in-process client).
func ipAddress(ci *core.ClientInfo) *string {
	if !ci.Peer.IsValid() {
		return nil
	}
	a := ci.Peer.Addr().Unmap().String()
	return &a
}

// optional maps "" to JSON null (EMQX's undefined).
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

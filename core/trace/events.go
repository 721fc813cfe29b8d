package trace

import (
	"strconv"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/topic"
)

// Event names, as they appear in brackets in a trace line.
const (
	EventConnected    = "connected"
	EventDisconnected = "disconnected"
	EventSubscribe    = "subscribe"
	EventUnsubscribe  = "unsubscribe"
	EventPublish      = "publish"
	EventDeliver      = "deliver"
	EventDeliverDrop  = "deliver_dropped"
	EventDropped      = "trace_dropped"
)

// emit queues r without blocking; a full queue drops it and counts it.
func (tr *Tracer) emit(r record) {
	select {
	case tr.ch <- r:
	default:
		r.t.dropped.Add(1)
	}
}

func (tr *Tracer) runningTraces() []*trace {
	if p := tr.running.Load(); p != nil {
		return *p
	}
	return nil
}

// Connected records a client's connection: traced by its client id or
// address.
func (tr *Tracer) Connected(c *core.ClientInfo, sessionPresent bool) {
	if c == nil {
		return
	}
	var extra string
	for _, t := range tr.runningTraces() {
		if !t.matchesClient(c) {
			continue
		}
		if extra == "" {
			extra = "username=" + c.Username + " peer=" + peer(c) + " proto=" + c.Proto +
				" proto_ver=" + strconv.Itoa(int(c.ProtoVer)) + " listener=" + c.Listener +
				" session_present=" + strconv.FormatBool(sessionPresent)
		}
		tr.emit(record{t: t, at: tr.now(), event: EventConnected, clientID: c.ClientID, extra: extra})
	}
}

// Disconnected records the end of a client's connection.
func (tr *Tracer) Disconnected(c *core.ClientInfo, reason string) {
	if c == nil {
		return
	}
	for _, t := range tr.runningTraces() {
		if t.matchesClient(c) {
			tr.emit(record{t: t, at: tr.now(), event: EventDisconnected, clientID: c.ClientID,
				extra: "peer=" + peer(c) + " reason=" + reason})
		}
	}
}

// Subscribed records a subscription: traced by client id, or by a topic
// trace whose filter is the same as or matches the subscribed filter.
func (tr *Tracer) Subscribed(c *core.ClientInfo, filter string, opts core.SubOptions) {
	if c == nil {
		return
	}
	for _, t := range tr.runningTraces() {
		if t.matchesClientID(c) || t.matchesFilter(filter) {
			tr.emit(record{t: t, at: tr.now(), event: EventSubscribe, clientID: c.ClientID, topic: filter, qos: opts.QoS})
		}
	}
}

// Unsubscribed records an unsubscription, matched as Subscribed.
func (tr *Tracer) Unsubscribed(c *core.ClientInfo, filter string) {
	if c == nil {
		return
	}
	for _, t := range tr.runningTraces() {
		if t.matchesClientID(c) || t.matchesFilter(filter) {
			tr.emit(record{t: t, at: tr.now(), event: EventUnsubscribe, clientID: c.ClientID, topic: filter})
		}
	}
}

// Published records a message accepted by the broker: traced by its
// publisher's client id or by a topic trace matching its topic.
func (tr *Tracer) Published(m *core.Message) {
	for _, t := range tr.runningTraces() {
		if t.matchesMessage(m) {
			tr.emit(record{t: t, at: tr.now(), event: EventPublish, clientID: m.From, topic: m.Topic, msg: m, qos: m.QoS})
		}
	}
}

// Delivered records a copy of m queued for clientID at qos (queued false:
// its session refused it): traced by the subscriber's client id or by a
// topic trace matching the topic.
func (tr *Tracer) Delivered(clientID string, m *core.Message, qos core.QoS, queued bool) {
	ev := EventDeliver
	if !queued {
		ev = EventDeliverDrop
	}
	for _, t := range tr.runningTraces() {
		if t.spec.Type == TypeClientID && t.spec.ClientID == clientID || t.spec.Type == TypeTopic && topic.Match(t.spec.Topic, m.Topic) {
			tr.emit(record{t: t, at: tr.now(), event: ev, clientID: clientID, topic: m.Topic, msg: m, qos: qos})
		}
	}
}

func (t *trace) matchesClientID(c *core.ClientInfo) bool {
	return t.spec.Type == TypeClientID && c != nil && c.ClientID == t.spec.ClientID
}

func (t *trace) matchesClient(c *core.ClientInfo) bool {
	switch t.spec.Type {
	case TypeClientID:
		return c.ClientID == t.spec.ClientID
	case TypeIP:
		return c.Peer.IsValid() && c.Peer.Addr().Unmap() == t.ip
	}
	return false
}

// matchesFilter: a subscription to filter concerns a topic trace when the
// filters are equal or the trace's filter matches it as a name (a trace of
// "a/#" sees subscriptions to "a/b" and "a/+" alike).
// A shared subscription ($share/<group>/<filter>, $queue/<filter>) is
// matched by its filter.
func (t *trace) matchesFilter(filter string) bool {
	if t.spec.Type != TypeTopic {
		return false
	}
	if _, real, shared, err := topic.ParseShared(filter); shared && err == nil {
		filter = real
	}
	return filter == t.spec.Topic || topic.Match(t.spec.Topic, filter)
}

func (t *trace) matchesMessage(m *core.Message) bool {
	switch t.spec.Type {
	case TypeClientID:
		return m.From != "" && m.From == t.spec.ClientID
	case TypeTopic:
		return topic.Match(t.spec.Topic, m.Topic)
	}
	return false
}

func peer(c *core.ClientInfo) string {
	if !c.Peer.IsValid() {
		return ""
	}
	return c.Peer.String()
}

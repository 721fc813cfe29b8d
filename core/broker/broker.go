package broker

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/delayed"
	"github.com/manifold-iot/manifold/core/retain"
	"github.com/manifold-iot/manifold/core/session"
	"github.com/manifold-iot/manifold/core/store"
	"github.com/manifold-iot/manifold/core/sys"
	"github.com/manifold-iot/manifold/core/topic"
	"github.com/manifold-iot/manifold/core/topicmetrics"
	"github.com/manifold-iot/manifold/core/trace"
)

// Errors returned by the broker. Adapters map them to their protocol's answer
// (an MQTT reason code, a STOMP ERROR frame, a CoAP 4.xx).
var (
	ErrTopicInvalid        = errors.New("broker: topic name invalid")
	ErrFilterInvalid       = errors.New("broker: topic filter invalid")
	ErrWildcardUnsupported = errors.New("broker: wildcard subscriptions are disabled")
	ErrSharedUnsupported   = errors.New("broker: shared subscriptions are disabled")
	ErrRetainUnsupported   = errors.New("broker: retained messages are disabled")
	ErrQoSUnsupported      = errors.New("broker: QoS not supported")
	ErrTooManySubs         = errors.New("broker: too many subscriptions")
	ErrTakenOver           = errors.New("broker: session taken over by another connection")
	ErrNotConnected        = errors.New("broker: client not connected")
	ErrDelayedInvalid      = errors.New("broker: $delayed topic invalid")
	ErrDelayedFull         = errors.New("broker: too many delayed messages")
)

// Config is the part of the configuration the core needs (the mqtt.* keys).
type Config struct {
	NodeName              string
	MaxQoS                core.QoS
	MaxTopicLevels        int
	RetainAvailable       bool
	WildcardSubscription  bool
	SharedSubscription    bool
	SharedStrategy        string // random, round_robin, round_robin_per_group, sticky, hash_clientid, hash_topic, local
	MaxSubscriptions      int    // per client; 0 unlimited
	UpgradeQoS            bool
	IgnoreLoopDeliver     bool
	SessionExpiryInterval time.Duration // the most a v5 client may ask for, and what a v3 persistent session gets
	MessageExpiryInterval time.Duration // applied to messages without their own; 0 never
	AwaitRelTimeout       time.Duration
	Session               session.Config
	Retain                retain.Config
	Topic                 topic.Config
	Delayed               delayed.Config
	Sys                   sys.Config // $SYS topics and client events; Node and Started are filled in
	// Trace, when not nil, is told of connections, subscriptions, publishes
	// and deliveries while a trace runs (one atomic load per event
	// otherwise).
	Trace *trace.Tracer
	// TopicMetrics, when not nil, counts messages in, out and dropped per
	// registered topic (one atomic load per publish while none is
	// registered).
	TopicMetrics *topicmetrics.Registry
	// Store keeps persistent sessions, retained and delayed messages across
	// restarts; nil keeps everything in memory only. Call Restore before
	// accepting connections.
	Store store.Store
}

// DefaultConfig mirrors the defaults of configs/manifold.yaml.
func DefaultConfig() Config {
	return Config{
		NodeName:              "manifold@127.0.0.1",
		MaxQoS:                core.QoS2,
		MaxTopicLevels:        128,
		RetainAvailable:       true,
		WildcardSubscription:  true,
		SharedSubscription:    true,
		SharedStrategy:        "round_robin",
		SessionExpiryInterval: 2 * time.Hour,
		AwaitRelTimeout:       300 * time.Second,
		Session:               session.Config{MaxInflight: 32, MaxQueueLen: 1000, StoreQoS0: true, MaxAwaitingRel: 100},
		Topic:                 topic.DefaultConfig(),
		Delayed:               delayed.DefaultConfig(),
		Sys:                   sys.DefaultConfig(),
	}
}

// Conn is a client's live connection as the broker sees it. Both methods are
// called from any goroutine and must not block.
type Conn interface {
	session.Notifier
	// Kick asks the connection to close: the client was taken over by a new
	// connection with its client id (reason ErrTakenOver) or kicked by an
	// operator.
	Kick(reason error)
}

// Broker is the pub/sub core of one node.
type Broker struct {
	cfg      Config
	log      zerolog.Logger
	subs     *topic.Trie[*subscription]
	retained *retain.Store
	shared   sharedState
	delayed  *delayed.Scheduler
	sys      *sys.Sys
	msgID    atomic.Uint64
	started  time.Time
	store    store.Store     // nil: nothing is persisted
	sessCfg  *session.Config // cfg.Session normalized, shared by every session

	mu      sync.Mutex
	clients map[string]*client // guarded by mu

	stats counters

	queueFull func(clientID string)          // OnQueueFull's hook; nil: none
	traffic   func() (received, sent uint64) // OnTraffic's source; nil: unknown
}

// counters are the broker's running totals, read by Stats.
type counters struct {
	published, delivered, dropped, noSubscriber atomic.Uint64
	connected                                   atomic.Int64
}

// Stats is a snapshot of the broker's counters.
type Stats struct {
	Clients       int    // sessions, online or not
	Connected     int    // sessions with a live connection
	Subscriptions int    // entries in the subscription trie
	Retained      int    // retained messages
	Published     uint64 // messages accepted by Publish
	Delivered     uint64 // enqueued to sessions
	Dropped       uint64 // refused by a session (queue full, or QoS 0 offline)
	NoSubscriber  uint64 // published with no matching subscription
}

// New returns a broker ready for connections. Start begins its periodic
// work ($SYS); Close ends it.
func New(cfg Config, log zerolog.Logger) *Broker {
	b := &Broker{
		cfg:      cfg,
		log:      log,
		subs:     topic.NewTrie[*subscription](cfg.Topic),
		retained: retain.New(cfg.Retain),
		clients:  make(map[string]*client),
		started:  time.Now(),
		store:    cfg.Store,
		sessCfg:  cfg.Session.Normalized(),
	}
	// Message ids stay increasing across restarts (stored shared bodies are
	// keyed by id): they start from the wall clock in nanoseconds, which a
	// node does not outrun.
	b.msgID.Store(uint64(b.started.UnixNano()))
	b.delayed = delayed.New(cfg.Delayed, func(m *core.Message) {
		if _, err := b.publish(m, false); err != nil {
			b.log.Warn().Err(err).Str("topic", m.Topic).Msg("delayed_publish_failed")
		}
	}, log)
	if b.store != nil {
		b.delayed.OnFire(func(m *core.Message, at time.Time) { b.store.DeleteDelayed(at, m.ID) })
	}
	sc := cfg.Sys
	if sc.Node == "" {
		sc.Node = cfg.NodeName
	}
	sc.Started = b.started
	b.sys = sys.New(sc, systemPublisher{b}, b.sysSnapshot, log)
	return b
}

// OnQueueFull sets fn, called with a session's client id, on the
// publisher's goroutine, each time that session's full queue refuses a
// message (the alarm monitor's hook). fn must be cheap and must not block
// or publish. Set it before the broker takes connections.
func (b *Broker) OnQueueFull(fn func(clientID string)) { b.queueFull = fn }

// OnTraffic sets where $SYS metrics/bytes/received and sent come from: the
// edge counts bytes, the core does not see them. fn is called on the $SYS
// ticker's goroutine. Set it before Start.
func (b *Broker) OnTraffic(fn func() (received, sent uint64)) { b.traffic = fn }

// SysPublisher is what $SYS messages are published through: the broker's
// own publisher, not subject to the limits put on clients. Other core
// packages (core/alarm) publish their $SYS topics through it.
func (b *Broker) SysPublisher() sys.Publisher { return systemPublisher{b} }

// Start begins the broker's periodic work: the $SYS topics.
func (b *Broker) Start() { b.sys.Start() }

// systemPublisher publishes the broker's own messages ($SYS), which are not
// subject to the limits put on clients (retain_available, max_qos_allowed).
type systemPublisher struct{ b *Broker }

// Interested reports whether a $SYS topic has subscribers. A topic that
// is not a valid name has none.
func (p systemPublisher) Interested(topic string) bool {
	return p.b.subs.Matches(topic)
}

func (p systemPublisher) Publish(m *core.Message) (int, error) {
	res, err := p.b.publish(m, true)
	return res.Matched, err
}

func (b *Broker) sysSnapshot() sys.Snapshot {
	st := b.Stats()
	snap := sys.Snapshot{
		Nodes:                []string{b.cfg.NodeName},
		Connections:          st.Connected,
		Sessions:             st.Clients,
		Subscriptions:        st.Subscriptions,
		Retained:             st.Retained,
		MessagesReceived:     st.Published,
		MessagesSent:         st.Delivered,
		MessagesDropped:      st.NoSubscriber,
		MessagesNoSubscriber: st.NoSubscriber,
		DeliveryDropped:      st.Dropped,
	}
	if b.traffic != nil {
		snap.BytesReceived, snap.BytesSent = b.traffic()
	}
	return snap
}

// Config returns the broker's configuration.
func (b *Broker) Config() Config { return b.cfg }

// Retained is the broker's retained-message store.
func (b *Broker) Retained() *retain.Store { return b.retained }

// Stats returns a snapshot of the broker's counters.
func (b *Broker) Stats() Stats {
	b.mu.Lock()
	n := len(b.clients)
	b.mu.Unlock()
	return Stats{
		Clients:       n,
		Connected:     int(b.stats.connected.Load()),
		Subscriptions: b.subs.Len(),
		Retained:      b.retained.Len(),
		Published:     b.stats.published.Load(),
		Delivered:     b.stats.delivered.Load(),
		Dropped:       b.stats.dropped.Load(),
		NoSubscriber:  b.stats.noSubscriber.Load(),
	}
}

// Uptime is how long the broker has run.
func (b *Broker) Uptime() time.Duration { return time.Since(b.started) }

// Close stops the broker's timers and periodic work; delayed messages still
// pending are dropped (and logged). Connections are closed by the edge.
func (b *Broker) Close() {
	b.sys.Stop()
	b.delayed.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.clients {
		c.stopTimers()
	}
}

package sys

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
)

// Sysdescr is the payload of $SYS/brokers/<node>/sysdescr (EMQX's is "EMQX").
const Sysdescr = "Manifold MQTT broker"

// datetimeLayout is RFC 3339 with nanoseconds always printed, as EMQX 5
// formats $SYS/brokers/<node>/datetime (local time).
const datetimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// Publisher is what $SYS publishes through: the broker. Publish must not
// block; it is called from the Sys goroutine for periodic messages and from
// the caller's goroutine for client events. It fills in the message's ID
// and Timestamp and may keep the message (it is not touched afterwards).
type Publisher interface {
	Publish(*core.Message) (int, error)
}

// interestChecker is implemented by a Publisher that can tell whether a
// topic has subscribers; client events nobody subscribes to are then not
// built at all.
type interestChecker interface {
	Interested(topic string) bool
}

// StatsFunc returns the broker's current figures; it is called once per
// Interval, from the Sys goroutine.
type StatsFunc func() Snapshot

// Snapshot holds the figures published under stats/ and metrics/. Counts
// are current values; the Messages* and Bytes* fields are totals since the
// broker started. A figure the broker does not know is published as 0.
type Snapshot struct {
	// Nodes are the running nodes of the cluster, this one included, for
	// $SYS/brokers; empty means just Config.Node.
	Nodes []string

	Connections   int // stats/connections/count: live connections
	Sessions      int // stats/sessions/count: sessions, online or not
	Subscriptions int // stats/subscriptions/count
	Topics        int // stats/topics/count: distinct subscribed filters (0 if unknown)
	Retained      int // stats/retained/count

	MessagesReceived     uint64 // metrics/messages/received: PUBLISHes received from clients
	MessagesSent         uint64 // metrics/messages/sent: messages delivered to clients
	MessagesDropped      uint64 // metrics/messages/dropped: dropped before delivery, no-subscriber drops included (EMQX's messages.dropped)
	MessagesNoSubscriber uint64 // metrics/messages/dropped/no_subscribers: published with no matching subscription
	DeliveryDropped      uint64 // metrics/delivery/dropped: refused by a session (queue full, QoS 0 offline)
	BytesReceived        uint64 // metrics/bytes/received (0 if unknown)
	BytesSent            uint64 // metrics/bytes/sent (0 if unknown)
}

// figures lists the stats and metrics topics (after $SYS/brokers/<node>/)
// in publication order, with EMQX's names ("." become "/").
var figures = [...]struct {
	name string
	get  func(*Snapshot) uint64
}{
	{"stats/connections/count", func(s *Snapshot) uint64 { return count(s.Connections) }},
	{"stats/sessions/count", func(s *Snapshot) uint64 { return count(s.Sessions) }},
	{"stats/subscriptions/count", func(s *Snapshot) uint64 { return count(s.Subscriptions) }},
	{"stats/topics/count", func(s *Snapshot) uint64 { return count(s.Topics) }},
	{"stats/retained/count", func(s *Snapshot) uint64 { return count(s.Retained) }},
	{"metrics/messages/received", func(s *Snapshot) uint64 { return s.MessagesReceived }},
	{"metrics/messages/sent", func(s *Snapshot) uint64 { return s.MessagesSent }},
	{"metrics/messages/dropped", func(s *Snapshot) uint64 { return s.MessagesDropped }},
	{"metrics/messages/dropped/no_subscribers", func(s *Snapshot) uint64 { return s.MessagesNoSubscriber }},
	{"metrics/delivery/dropped", func(s *Snapshot) uint64 { return s.DeliveryDropped }},
	{"metrics/bytes/received", func(s *Snapshot) uint64 { return s.BytesReceived }},
	{"metrics/bytes/sent", func(s *Snapshot) uint64 { return s.BytesSent }},
}

func count(n int) uint64 { return uint64(max(n, 0)) }

// Lifecycle states of a Sys.
const (
	idle = iota
	running
	stopped
)

// Sys publishes the $SYS topics of one node and its client events.
type Sys struct {
	cfg     Config
	pub     Publisher
	stats   StatsFunc
	log     zerolog.Logger
	started time.Time
	prefix  string // "$SYS/brokers/<node>/"
	figures [len(figures)]string

	mu    sync.Mutex
	state int // guarded by mu

	halted atomic.Bool   // set by Stop; read by the event methods
	done   chan struct{} // closed by Stop to end run
	exited chan struct{} // closed when run returns, or when no run will
}

// New returns a Sys publishing through pub. stats may be nil: the stats/
// and metrics/ topics are then not published. Nothing periodic happens
// until Start; the client event methods publish from the start until Stop.
func New(cfg Config, pub Publisher, stats StatsFunc, log zerolog.Logger) *Sys {
	s := &Sys{
		cfg:     cfg,
		pub:     pub,
		stats:   stats,
		log:     log,
		started: cfg.Started,
		prefix:  "$SYS/brokers/" + cfg.Node + "/",
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
	}
	if s.started.IsZero() {
		s.started = time.Now()
	}
	for i, f := range figures {
		s.figures[i] = s.prefix + f.name
	}
	return s
}

// Start begins the periodic publication on one goroutine, which publishes
// everything enabled once at once (so a new subscriber need not wait a
// whole interval) and then every Interval and HeartbeatInterval. With both
// intervals 0 it starts nothing. Start after Start or Stop does nothing.
func (s *Sys) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != idle {
		return
	}
	s.state = running
	if s.cfg.Interval <= 0 && s.cfg.HeartbeatInterval <= 0 {
		close(s.exited)
		return
	}
	go s.run()
}

// Stop ends the periodic publication and the client events. When it
// returns, the Sys goroutine has exited and no event method called from
// then on publishes; an event method already running may still complete.
// Stop may be called more than once, and before Start.
func (s *Sys) Stop() {
	s.mu.Lock()
	prev := s.state
	s.state = stopped
	s.halted.Store(true)
	switch prev {
	case idle:
		close(s.exited)
	case running:
		close(s.done)
	}
	s.mu.Unlock()
	<-s.exited
}

// run is the Sys goroutine.
func (s *Sys) run() {
	defer close(s.exited)
	var tick, beat <-chan time.Time
	if s.cfg.Interval > 0 {
		t := time.NewTicker(s.cfg.Interval)
		defer t.Stop()
		tick = t.C
		s.tick() // includes the heartbeat's topics
	}
	if s.cfg.HeartbeatInterval > 0 {
		t := time.NewTicker(s.cfg.HeartbeatInterval)
		defer t.Stop()
		beat = t.C
		if tick == nil {
			s.heartbeat()
		}
	}
	for {
		select {
		case <-s.done:
			return
		case <-tick:
			s.tick()
		case <-beat:
			s.heartbeat()
		}
	}
}

// batch publishes a group of system messages, remembering the first
// failure so that one log line reports the group.
type batch struct {
	s      *Sys
	failed int
	topic  string
	err    error
}

// publish sends one QoS 0 system message (From "", as core.Message marks
// the system).
func (b *batch) publish(topic string, payload []byte, retain bool) {
	_, err := b.s.pub.Publish(&core.Message{Topic: topic, Payload: payload, Retain: retain})
	if err != nil {
		if b.failed == 0 {
			b.topic, b.err = topic, err
		}
		b.failed++
	}
}

// done logs the group's failures, if any.
func (b *batch) done() {
	if b.failed > 0 {
		b.s.log.Warn().Err(b.err).Str("topic", b.topic).Int("failed", b.failed).Msg("sys_publish_failed")
	}
}

// tick publishes the Interval group. version, sysdescr and $SYS/brokers are
// retained, as in EMQX; uptime is retained too (EMQX does not retain it), so
// that a subscriber gets it at once rather than after a heartbeat.
func (s *Sys) tick() {
	b := batch{s: s}
	version := s.cfg.Version
	if version == "" {
		version = "unknown"
	}
	b.publish(s.prefix+"version", []byte(version), true)
	b.publish(s.prefix+"sysdescr", []byte(Sysdescr), true)
	var snap Snapshot
	if s.stats != nil {
		snap = s.stats()
	}
	nodes := s.cfg.Node
	if len(snap.Nodes) > 0 {
		nodes = strings.Join(snap.Nodes, ",")
	}
	b.publish("$SYS/brokers", []byte(nodes), true)
	s.beat(&b)
	if s.stats != nil {
		for i, f := range figures {
			b.publish(s.figures[i], strconv.AppendUint(nil, f.get(&snap), 10), false)
		}
	}
	b.done()
}

// heartbeat publishes the HeartbeatInterval group: uptime and datetime.
func (s *Sys) heartbeat() {
	b := batch{s: s}
	s.beat(&b)
	b.done()
}

// beat publishes uptime, in whole milliseconds as EMQX 5 does (retained,
// see tick), and datetime, RFC 3339 local time (not retained, as in EMQX).
func (s *Sys) beat(b *batch) {
	now := time.Now()
	b.publish(s.prefix+"uptime", strconv.AppendInt(nil, now.Sub(s.started).Milliseconds(), 10), true)
	b.publish(s.prefix+"datetime", now.AppendFormat(nil, datetimeLayout), false)
}

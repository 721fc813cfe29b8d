package session

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/slowsubs"
	"github.com/manifold-iot/manifold/core/store"
)

// Errors returned by a session.
var (
	ErrTooManyAwaitingRel = errors.New("session: too many QoS 2 messages awaiting PUBREL")
	ErrPacketIDInUse      = errors.New("session: no free packet identifier")
)

// Notifier wakes the connection a session is bound to. Notify is called from
// any goroutine, with no lock held, and must not block: the edge schedules
// one drain on the connection's event loop.
type Notifier interface {
	Notify()
}

// Config bounds a session. Zero values mean the MQTT defaults noted on each
// field; the broker fills it from the mqtt.* configuration.
//
// The queue has two bounds. MaxQueueLen (max_mqueue_len) is where push-back
// starts: past it QoS 0 messages are dropped, and QoS 1 and 2 messages are
// still queued but the session reports itself Pressured, so the broker holds
// the publishers' acknowledgements until the queue drains (their own inflight
// windows then stop them). The hard bound is MaxQueueLen + Overflow; only a
// publisher that ignores flow control reaches it, and only then is a QoS 1 or
// 2 message dropped (and counted).
type Config struct {
	MaxInflight    int  // the inflight window; 0 means 32
	MaxQueueLen    int  // queued messages before push-back; 0 means unlimited (the config's "infinity")
	Overflow       int  // QoS 1/2 messages accepted past MaxQueueLen; 0 means max(MaxQueueLen, 1024)
	StoreQoS0      bool // queue QoS 0 messages while the client is offline
	MaxAwaitingRel int  // inbound QoS 2 messages awaiting PUBREL; 0 means unlimited
	// MemQueueLen is how many queued messages a persistent session keeps in
	// memory; the rest wait on disk and are paged in as the client takes
	// them, so a long-offline session costs little memory. 0 means 1000.
	MemQueueLen int
	// SlowSubs, when enabled, is told of every QoS 1 acknowledgement and
	// QoS 2 PUBREC with the message's publish time (slow subscription
	// statistics); nil or disabled costs one atomic load per acknowledgement.
	SlowSubs *slowsubs.Tracker
}

// Waker is told when a pressured session's queue has drained to half of
// max_mqueue_len, or the session was discarded. Wake is called from any
// goroutine with no lock held and must not block.
type Waker = core.Waker

// Stats counts what happened to a session's messages.
type Stats struct {
	Queued      int    // waiting in the queue now
	Inflight    int    // sent and not yet acknowledged now
	AwaitingRel int    // inbound QoS 2 messages awaiting PUBREL now
	Dropped     uint64 // refused because the queue was full, or QoS 0 while offline
	Expired     uint64 // dropped because their message expiry passed in the queue
}

// Delivery is one packet the channel must send: a PUBLISH (with a packet
// identifier for QoS 1 and 2) or, for a QoS 2 message the client has already
// acknowledged with PUBREC, a PUBREL.
type Delivery struct {
	Pending
	PacketID uint16
	Dup      bool // a resend after reconnect [MQTT-4.4.0-1]
	Release  bool // send PUBREL for PacketID instead of the PUBLISH
}

type phase uint8

const (
	phaseAck  phase = iota // QoS 1 sent, awaiting PUBACK
	phaseRec               // QoS 2 sent, awaiting PUBREC
	phaseComp              // QoS 2 PUBREL sent, awaiting PUBCOMP
	phaseDone              // acknowledged; removed from the head lazily
)

type inflightEntry struct {
	Pending
	id    uint16
	phase phase
}

// Session is one client's delivery state. It outlives connections: a client
// that reconnects with a persistent session gets the same Session back.
type Session struct {
	// ClientID never changes.
	ClientID string

	mu          sync.Mutex
	cfg         *Config                   // shared, read-only
	queue       queue                     // guarded by mu
	inflight    []*inflightEntry          // guarded by mu; in send order, acknowledged ones removed from the head
	byID        map[uint16]*inflightEntry // guarded by mu
	live        int32                     // guarded by mu; entries of inflight not yet acknowledged
	window      int32                     // guarded by mu; min(MaxInflight, client's Receive Maximum)
	awaitingRel map[uint16]time.Time      // guarded by mu
	notifier    Notifier                  // guarded by mu; nil while offline
	wakers      []Waker                   // guarded by mu; publishers waiting for the queue to drain
	// The small fields are packed together: an idle session stays in a
	// smaller size class.
	nextID   uint16      // guarded by mu
	wakeSent bool        // guarded by mu; a Notify is outstanding
	loading  bool        // guarded by mu; a LoadQueue is outstanding
	durable  atomic.Bool // st != nil, readable without mu (the publish path asks per delivery)
	dropped  uint64      // guarded by mu; Stats.Dropped
	expired  uint64      // guarded by mu; Stats.Expired

	// A persistent session journals its changes (see persist.go); nil
	// for a session in memory only, which stays a size class smaller.
	j *journal // guarded by mu
}

// journal is a persistent session's link to its store. Every field is
// guarded by the session's mu.
type journal struct {
	st        store.Store
	nextSeq   uint64 // the last Seq given to a stored message
	spilled   int    // queued messages on disk only, after those in the queue
	loadAfter uint64 // the Seq after which the spilled messages start
}

// New returns an empty, offline session.
func New(clientID string, cfg Config) *Session {
	return NewShared(clientID, cfg.Normalized())
}

// Normalized returns cfg with its zero values replaced by their defaults.
// Pass the result to NewShared.
func (cfg Config) Normalized() *Config {
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = 32
	}
	if cfg.Overflow <= 0 {
		cfg.Overflow = max(cfg.MaxQueueLen, 1024)
	}
	if cfg.MemQueueLen <= 0 {
		cfg.MemQueueLen = 1000
	}
	return &cfg
}

// NewShared is New for a configuration shared by many sessions (the
// broker's): cfg comes from Normalized and must not change afterwards.
// Sharing it keeps an idle session small.
func NewShared(clientID string, cfg *Config) *Session {
	return &Session{ClientID: clientID, cfg: cfg, window: int32(cfg.MaxInflight)}
}

// Bind attaches the session to a connection: n is woken when messages are
// queued, and the inflight window becomes the smaller of max_inflight and the
// client's Receive Maximum (0: the client gave none). Bind replaces an earlier
// binding (a takeover). The caller should then send what Resume returns, and
// Take.
func (s *Session) Bind(n Notifier, receiveMax int) {
	s.mu.Lock()
	s.notifier = n
	s.wakeSent = false
	s.window = int32(s.cfg.MaxInflight)
	if receiveMax > 0 && receiveMax < int(s.window) {
		s.window = int32(receiveMax) // [MQTT-3.3.4-9]
	}
	s.mu.Unlock()
}

// Unbind detaches the session from the connection n. It does nothing if the
// session has since been bound to another connection (the old connection of
// a takeover closing late), and reports whether it detached.
func (s *Session) Unbind(n Notifier) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notifier != n {
		return false
	}
	s.notifier = nil
	s.wakeSent = false
	return true
}

// Online reports whether the session is bound to a connection.
func (s *Session) Online() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notifier != nil
}

// Enqueue queues a message for the client and wakes its connection if this
// is the first message since the last Take. It reports false when the
// message was dropped: a QoS 0 message when the queue is at max_mqueue_len
// (the oldest QoS 0 message makes room for a QoS 1 or 2 one first) or when
// the client is offline and mqueue_store_qos0 is off; a QoS 1 or 2 message
// only past the hard bound (see Config). Safe from any goroutine.
func (s *Session) Enqueue(p Pending) bool {
	queued, _ := s.Offer(p)
	return queued
}

// Offer is Enqueue that also reports whether the client is online and its
// queue is now Pressured, in the same critical section.
func (s *Session) Offer(p Pending) (queued, pressured bool) {
	s.mu.Lock()
	if p.QoS == core.QoS0 && s.notifier == nil && !s.cfg.StoreQoS0 {
		s.dropped++
		pressured = s.pressured()
		s.mu.Unlock()
		return false, pressured
	}
	if s.cfg.MaxQueueLen > 0 && s.queued() >= s.cfg.MaxQueueLen {
		if p.QoS == core.QoS0 {
			s.dropped++
			pressured = s.pressured()
			s.mu.Unlock()
			return false, pressured
		}
		if d, ok := s.queue.dropOldestQoS0(); ok {
			s.dropped++ // the QoS 0 message that made room
			s.forget(&d, false)
		} else if s.queued() >= s.cfg.MaxQueueLen+s.cfg.Overflow {
			s.dropped++
			pressured = s.pressured()
			s.mu.Unlock()
			return false, pressured
		}
	}
	if s.j != nil && !s.store(&p) {
		s.dropped++ // the disk quota is reached
		pressured = s.pressured()
		s.mu.Unlock()
		return false, pressured
	}
	if p.Seq != 0 && s.j != nil && (s.j.spilled > 0 || s.queue.len() >= s.cfg.MemQueueLen) {
		s.spill(&p)
	} else {
		s.queue.push(p)
	}
	// Only a connected client drains its queue: an offline session takes
	// messages up to the hard bound without holding anyone back.
	pressured = s.pressured() && s.notifier != nil
	n := s.notifier
	wake := n != nil && !s.wakeSent
	if wake {
		s.wakeSent = true
	}
	s.mu.Unlock()
	if wake {
		n.Notify()
	}
	return true, pressured
}

// Pressured reports whether the queue is at or past max_mqueue_len: the
// broker then holds publishers' acknowledgements (see Config).
func (s *Session) Pressured() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pressured()
}

// pressured is Pressured; caller holds mu.
func (s *Session) pressured() bool {
	return s.cfg.MaxQueueLen > 0 && s.queued() >= s.cfg.MaxQueueLen
}

// queued is the queue's length, in memory and on disk; caller holds mu.
func (s *Session) queued() int {
	if s.j == nil {
		return s.queue.len()
	}
	return s.queue.len() + s.j.spilled
}

// WhenDrained arranges for w.Wake to be called once the queue has drained to
// half of max_mqueue_len, or at once if it already has. A waker registered
// twice is woken once.
func (s *Session) WhenDrained(w Waker) {
	s.mu.Lock()
	if s.cfg.MaxQueueLen == 0 || s.queued() <= s.cfg.MaxQueueLen/2 {
		s.mu.Unlock()
		w.Wake()
		return
	}
	for _, x := range s.wakers {
		if x == w {
			s.mu.Unlock()
			return
		}
	}
	s.wakers = append(s.wakers, w)
	s.mu.Unlock()
}

// drainedWakers returns the wakers to call now that the queue may have
// drained, and forgets them; caller holds mu.
func (s *Session) drainedWakers() []Waker {
	if len(s.wakers) == 0 || s.queued() > s.cfg.MaxQueueLen/2 {
		return nil
	}
	w := s.wakers
	s.wakers = nil
	return w
}

// Discard empties the session when the broker ends it and wakes waiting
// publishers. It returns the messages that came through a shared
// subscription and were not yet acknowledged (queued, or in flight), so the
// broker can give them to another member of the group; everything else is
// dropped with the session.
func (s *Session) Discard() (shared []Pending) {
	s.mu.Lock()
	for _, e := range s.inflight {
		if (e.phase == phaseAck || e.phase == phaseRec) && e.Shared != "" {
			shared = append(shared, e.Pending.unstored())
		}
	}
	s.inflight, s.byID, s.live = nil, nil, 0
	for s.queue.len() > 0 {
		if p := s.queue.pop(); p.Shared != "" {
			shared = append(shared, p.unstored())
		}
	}
	// The broker deletes a persistent session's stored state as a whole.
	s.j, s.loading = nil, false
	s.durable.Store(false)
	w := s.wakers
	s.wakers = nil
	s.mu.Unlock()
	for _, x := range w {
		x.Wake()
	}
	return shared
}

// Take moves queued messages into the inflight window, in order, and appends
// the deliveries to dst: QoS 0 messages are sent and forgotten, QoS 1 and 2
// messages get a packet identifier and wait for acknowledgement. It stops at
// the first QoS 1 or 2 message that does not fit the window (order is kept),
// or after limit deliveries (limit <= 0: no limit). Expired messages are
// dropped [MQTT-3.3.2-5]. more reports that messages remain that the window
// would take now: the caller should call Take again soon (after letting other
// connections run). Call only from the connection's goroutine, and call it
// again after every Ack, Comp or RecFailed: while messages wait for room in
// the window, Enqueue does not wake the connection.
func (s *Session) Take(dst []Delivery, now time.Time, limit int) (out []Delivery, more bool) {
	s.mu.Lock()
	var wakers []Waker
	defer func() {
		// While messages stay queued (window full, or limit reached) the
		// connection will call Take again on its own (after an
		// acknowledgement, or because more is true), so Enqueue need not
		// wake it.
		s.wakeSent = s.queue.len() > 0
		s.pageIn()
		wakers = s.drainedWakers()
		s.mu.Unlock()
		for _, w := range wakers {
			w.Wake()
		}
	}()
	n := 0
	for s.queue.len() > 0 {
		if limit > 0 && n >= limit {
			return dst, true
		}
		p := s.queue.peek()
		if p.Msg.Expired(now) {
			d := s.queue.pop()
			s.expired++
			s.forget(&d, false)
			continue
		}
		if p.QoS == core.QoS0 {
			d := s.queue.pop()
			s.forget(&d, false)
			dst = append(dst, Delivery{Pending: d})
			n++
			continue
		}
		if s.live >= s.window {
			return dst, false
		}
		id, ok := s.allocID()
		if !ok {
			return dst, false
		}
		e := &inflightEntry{Pending: s.queue.pop(), id: id, phase: phaseAck}
		if e.QoS == core.QoS2 {
			e.phase = phaseRec
			s.markSent(e)
		}
		s.inflight = append(s.inflight, e)
		if s.byID == nil {
			s.byID = make(map[uint16]*inflightEntry)
		}
		s.byID[id] = e
		s.live++
		dst = append(dst, Delivery{Pending: e.Pending, PacketID: id})
		n++
	}
	return dst, false
}

// allocID returns a packet identifier not in use [MQTT-2.2.1-3]; caller holds mu.
func (s *Session) allocID() (uint16, bool) {
	for range 65535 {
		s.nextID++
		if s.nextID == 0 {
			s.nextID = 1 // 0 is not a valid packet identifier [MQTT-2.2.1-3]
		}
		if _, used := s.byID[s.nextID]; !used {
			return s.nextID, true
		}
	}
	return 0, false
}

// Ack completes a QoS 1 delivery on PUBACK. It reports false for an unknown
// packet identifier or one that is not awaiting PUBACK.
func (s *Session) Ack(id uint16) bool {
	if t := s.cfg.SlowSubs; t.Enabled() {
		return s.observe(t, id, phaseAck, func() bool { return s.complete(id, phaseAck) })
	}
	return s.complete(id, phaseAck)
}

// Comp completes a QoS 2 delivery on PUBCOMP. It reports false for an unknown
// packet identifier or one that is not awaiting PUBCOMP.
func (s *Session) Comp(id uint16) bool { return s.complete(id, phaseComp) }

// Rec records the client's PUBREC for a QoS 2 delivery: the message is now
// the client's, and the caller answers PUBREL. It reports false for an
// unknown packet identifier; a duplicate PUBREC (already awaiting PUBCOMP)
// reports true so that PUBREL is sent again.
func (s *Session) Rec(id uint16) bool {
	if t := s.cfg.SlowSubs; t.Enabled() {
		return s.observe(t, id, phaseRec, func() bool { return s.rec(id) })
	}
	return s.rec(id)
}

func (s *Session) rec(id uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.byID[id]
	if e == nil || (e.phase != phaseRec && e.phase != phaseComp) {
		return false
	}
	if e.phase == phaseRec {
		s.markReleased(e)
	}
	e.phase = phaseComp
	e.Msg = nil // the client owns the message now; only PUBREL is ever resent (MQTT 5 §4.3.3)
	return true
}

// RecFailed ends a QoS 2 delivery the client refused with a PUBREC error code
// (v5): the packet identifier becomes free and nothing more is sent for it.
func (s *Session) RecFailed(id uint16) bool { return s.complete(id, phaseRec) }

func (s *Session) complete(id uint16, want phase) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.byID[id]
	if e == nil || e.phase != want {
		return false
	}
	s.forget(&e.Pending, e.QoS == core.QoS2)
	e.phase = phaseDone
	e.Pending = Pending{}
	delete(s.byID, id)
	s.live--
	// Acknowledgements mostly come in order: trim the finished head.
	i := 0
	for i < len(s.inflight) && s.inflight[i].phase == phaseDone {
		s.inflight[i] = nil
		i++
	}
	s.inflight = s.inflight[i:]
	if len(s.inflight) == 0 {
		s.inflight = nil
	} else if len(s.inflight) > 2*int(s.live)+16 {
		s.compact() // out-of-order acknowledgements left holes in the middle
	}
	return true
}

// compact drops finished entries from the middle of the inflight list; caller holds mu.
func (s *Session) compact() {
	kept := s.inflight[:0]
	for _, e := range s.inflight {
		if e.phase != phaseDone {
			kept = append(kept, e)
		}
	}
	for i := len(kept); i < len(s.inflight); i++ {
		s.inflight[i] = nil
	}
	s.inflight = kept
}

// Resume appends to dst, in their original order, the deliveries a
// reconnecting client must get again before anything new [MQTT-4.4.0-1]:
// unacknowledged QoS 1 and 2 PUBLISH packets with DUP set, and PUBREL for
// QoS 2 messages the client had acknowledged with PUBREC.
func (s *Session) Resume(dst []Delivery) []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.inflight {
		switch e.phase {
		case phaseAck, phaseRec:
			dst = append(dst, Delivery{Pending: e.Pending, PacketID: e.id, Dup: true})
		case phaseComp:
			dst = append(dst, Delivery{PacketID: e.id, Release: true})
		}
	}
	return dst
}

// AwaitRel records an inbound QoS 2 PUBLISH with packet identifier id, before
// the broker routes it. dup reports that id is already awaiting PUBREL: the
// message was routed on its first arrival and must not be routed again
// [MQTT-4.3.3-9]. ErrTooManyAwaitingRel means max_awaiting_rel is reached.
func (s *Session) AwaitRel(id uint16, now time.Time) (dup bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.awaitingRel[id]; ok {
		return true, nil
	}
	if s.cfg.MaxAwaitingRel > 0 && len(s.awaitingRel) >= s.cfg.MaxAwaitingRel {
		return false, ErrTooManyAwaitingRel
	}
	if s.awaitingRel == nil {
		s.awaitingRel = make(map[uint16]time.Time)
	}
	s.awaitingRel[id] = now
	if s.j != nil {
		s.j.st.PutAwaitingRel(s.ClientID, id, now)
	}
	return false, nil
}

// Release ends an inbound QoS 2 exchange on PUBREL; it reports false when id
// was not awaiting release (v5 then answers PUBCOMP 0x92).
func (s *Session) Release(id uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.awaitingRel[id]; !ok {
		return false
	}
	delete(s.awaitingRel, id)
	if len(s.awaitingRel) == 0 {
		s.awaitingRel = nil
	}
	if s.j != nil {
		s.j.st.DeleteAwaitingRel(s.ClientID, id)
	}
	return true
}

// InboundInflight is the number of inbound QoS 2 messages awaiting PUBREL.
func (s *Session) InboundInflight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.awaitingRel)
}

// ExpireAwaitingRel forgets inbound QoS 2 packet identifiers that have waited
// for PUBREL longer than timeout (await_rel_timeout) and returns how many.
func (s *Session) ExpireAwaitingRel(now time.Time, timeout time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, at := range s.awaitingRel {
		if now.Sub(at) >= timeout {
			delete(s.awaitingRel, id)
			if s.j != nil {
				s.j.st.DeleteAwaitingRel(s.ClientID, id)
			}
			n++
		}
	}
	return n
}

// Stats returns the session's counters and current sizes.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Dropped: s.dropped, Expired: s.expired}
	st.Queued = s.queued()
	st.Inflight = int(s.live)
	st.AwaitingRel = len(s.awaitingRel)
	return st
}

// Pending calls fn for every queued message and then for every unacknowledged
// inflight message, in order (for persistence and the API). fn must not call
// back into the session.
func (s *Session) Pending(fn func(p *Pending, packetID uint16)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.inflight {
		if e.phase == phaseAck || e.phase == phaseRec {
			fn(&e.Pending, e.id)
		}
	}
	s.queue.each(func(p *Pending) { fn(p, 0) })
}

// Settle completes a delivery at once, for a channel whose peer has no
// acknowledgements of its own (raw TCP/UDP, a non-confirmable CoAP
// notification, an LwM2M command taken by the gateway): a PUBREL's exchange
// ends, a QoS 1 message is acknowledged, a QoS 2 message is received and
// completed. QoS 0 deliveries need nothing.
func (s *Session) Settle(d *Delivery) {
	switch {
	case d.Release:
		s.Comp(d.PacketID)
	case d.QoS == core.QoS1:
		s.Ack(d.PacketID)
	case d.QoS == core.QoS2:
		s.Rec(d.PacketID)
		s.Comp(d.PacketID)
	}
}

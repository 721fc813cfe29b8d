package memory

import (
	"sort"
	"sync"
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/store"
)

// Store is an in-memory store.Store. Create one with New.
type Store struct {
	d      *data
	opts   store.Options
	mu     sync.Mutex // guards closed
	closed bool
}

// data is the contents, shared by the handles Reopen makes.
type data struct {
	mu       sync.Mutex
	sessions map[string]*session        // guarded by mu
	bodies   map[uint64]*body           // guarded by mu
	retained map[string]*core.Message   // guarded by mu
	delayed  map[delayKey]store.Delayed // guarded by mu
	queued   int64                      // guarded by mu
	dropped  uint64                     // guarded by mu
	batches  uint64                     // guarded by mu
}

type session struct {
	record   *store.SessionRecord
	subs     map[string]core.SubOptions
	awaiting map[uint16]time.Time
	queue    []stored // sorted by Seq
	inflight []stored // sorted by Seq
	bytes    int64
}

type stored struct {
	e    store.Entry
	size int64
}

type body struct {
	msg  *core.Message
	refs int
	size int64
}

type delayKey struct {
	due int64
	id  uint64
}

// New returns an empty store with opts (Fsync, SyncInterval and
// MaxPendingBytes mean nothing here; MaxDiskBytes is enforced on encoded
// sizes, as the pebble store does).
func New(opts store.Options) *Store {
	return &Store{opts: opts, d: &data{
		sessions: make(map[string]*session),
		bodies:   make(map[uint64]*body),
		retained: make(map[string]*core.Message),
		delayed:  make(map[delayKey]store.Delayed),
	}}
}

// Reopen returns a new open handle with opts on the same contents, as if the
// process had restarted over a durable store; the shared test suite uses it
// to check what survives a Close. s may be closed.
func (s *Store) Reopen(opts store.Options) *Store {
	return &Store{d: s.d, opts: opts}
}

var _ store.Store = (*Store)(nil)

// lock takes the data lock unless the handle is closed.
func (s *Store) lock() bool {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return false
	}
	s.d.mu.Lock()
	s.d.batches++
	return true
}

func (d *data) session(clientID string) *session {
	ss := d.sessions[clientID]
	if ss == nil {
		ss = &session{subs: make(map[string]core.SubOptions), awaiting: make(map[uint16]time.Time)}
		d.sessions[clientID] = ss
	}
	return ss
}

// entrySize is what an entry counts against MaxDiskBytes: its encoding (the
// pebble store also counts its key, about as long as the client id).
func entrySize(clientID string, e *store.Entry) int64 {
	return int64(len(clientID) + 10 + len(store.AppendEntry(nil, e)))
}

// PutSession implements store.Store.
func (s *Store) PutSession(r store.SessionRecord) {
	if !s.lock() {
		return
	}
	defer s.d.mu.Unlock()
	s.d.session(r.ClientID).record = &r
}

// DeleteSession implements store.Store.
func (s *Store) DeleteSession(clientID string) {
	if !s.lock() {
		return
	}
	defer s.d.mu.Unlock()
	ss := s.d.sessions[clientID]
	if ss == nil {
		return
	}
	for _, list := range [][]stored{ss.queue, ss.inflight} {
		for _, st := range list {
			if st.e.SharedBody && st.e.Msg != nil {
				s.d.unref(st.e.Msg.ID)
			}
		}
	}
	s.d.queued -= ss.bytes
	delete(s.d.sessions, clientID)
}

// unref drops one reference to a shared body. Caller holds d.mu.
func (d *data) unref(id uint64) {
	b := d.bodies[id]
	if b == nil {
		return
	}
	if b.refs--; b.refs <= 0 {
		d.queued -= b.size
		delete(d.bodies, id)
	}
}

// PutSubscription implements store.Store.
func (s *Store) PutSubscription(clientID string, sub store.Subscription) {
	if !s.lock() {
		return
	}
	defer s.d.mu.Unlock()
	s.d.session(clientID).subs[sub.Filter] = sub.Opts
}

// DeleteSubscription implements store.Store.
func (s *Store) DeleteSubscription(clientID, filter string) {
	if !s.lock() {
		return
	}
	defer s.d.mu.Unlock()
	if ss := s.d.sessions[clientID]; ss != nil {
		delete(ss.subs, filter)
	}
}

// Enqueue implements store.Store.
func (s *Store) Enqueue(clientID string, e *store.Entry) error {
	if !s.lock() {
		return store.ErrClosed
	}
	defer s.d.mu.Unlock()
	size := entrySize(clientID, e)
	if max := s.opts.MaxDiskBytes; max > 0 && s.d.queued+size > max {
		s.d.dropped++
		return store.ErrFull
	}
	c := *e
	c.Phase = store.PhaseQueued
	c.SubIDs = append([]uint32(nil), e.SubIDs...)
	if c.SharedBody && c.Msg != nil {
		b := s.d.bodies[c.Msg.ID]
		if b == nil {
			b = &body{msg: c.Msg, size: int64(10 + len(store.AppendMessage(nil, c.Msg)))}
			s.d.bodies[c.Msg.ID] = b
			s.d.queued += b.size
		}
		b.refs++
		c.Msg = b.msg
	}
	ss := s.d.session(clientID)
	ss.queue = insert(ss.queue, stored{e: c, size: size})
	ss.bytes += size
	s.d.queued += size
	return nil
}

// insert puts st in list, sorted by Seq, replacing an entry with its Seq.
func insert(list []stored, st stored) []stored {
	i := sort.Search(len(list), func(i int) bool { return list[i].e.Seq >= st.e.Seq })
	if i < len(list) && list[i].e.Seq == st.e.Seq {
		list[i] = st
		return list
	}
	list = append(list, stored{})
	copy(list[i+1:], list[i:])
	list[i] = st
	return list
}

// take removes the entry with seq from list.
func take(list []stored, seq uint64) ([]stored, stored, bool) {
	i := sort.Search(len(list), func(i int) bool { return list[i].e.Seq >= seq })
	if i == len(list) || list[i].e.Seq != seq {
		return list, stored{}, false
	}
	st := list[i]
	return append(list[:i], list[i+1:]...), st, true
}

// MarkSent implements store.Store.
func (s *Store) MarkSent(clientID string, e *store.Entry) {
	if !s.lock() {
		return
	}
	defer s.d.mu.Unlock()
	ss := s.d.sessions[clientID]
	if ss == nil {
		return
	}
	var st stored
	var ok bool
	if ss.queue, st, ok = take(ss.queue, e.Seq); !ok {
		if ss.inflight, st, ok = take(ss.inflight, e.Seq); !ok || st.e.Phase != store.PhaseRec {
			if ok {
				ss.inflight = insert(ss.inflight, st)
			}
			return
		}
	}
	st.e.PacketID = e.PacketID
	st.e.Phase = store.PhaseRec
	ss.inflight = insert(ss.inflight, st)
}

// MarkReleased implements store.Store.
func (s *Store) MarkReleased(clientID string, seq uint64, packetID uint16, msgID uint64, sharedBody bool) {
	if !s.lock() {
		return
	}
	defer s.d.mu.Unlock()
	ss := s.d.sessions[clientID]
	if ss == nil {
		return
	}
	i := sort.Search(len(ss.inflight), func(i int) bool { return ss.inflight[i].e.Seq >= seq })
	if i == len(ss.inflight) || ss.inflight[i].e.Seq != seq {
		return
	}
	st := &ss.inflight[i]
	if st.e.Phase == store.PhaseComp {
		return
	}
	if st.e.SharedBody && st.e.Msg != nil {
		s.d.unref(st.e.Msg.ID)
	}
	st.e = store.Entry{Seq: seq, QoS: core.QoS2, PacketID: packetID, Phase: store.PhaseComp}
}

// Remove implements store.Store.
func (s *Store) Remove(clientID string, seq uint64, inflight bool, msgID uint64, sharedBody bool) {
	if !s.lock() {
		return
	}
	defer s.d.mu.Unlock()
	ss := s.d.sessions[clientID]
	if ss == nil {
		return
	}
	var st stored
	var ok bool
	if inflight {
		ss.inflight, st, ok = take(ss.inflight, seq)
	} else {
		ss.queue, st, ok = take(ss.queue, seq)
	}
	if !ok {
		return
	}
	if st.e.SharedBody && st.e.Msg != nil {
		s.d.unref(st.e.Msg.ID)
	}
	ss.bytes -= st.size
	s.d.queued -= st.size
}

// PutAwaitingRel implements store.Store.
func (s *Store) PutAwaitingRel(clientID string, packetID uint16, at time.Time) {
	if !s.lock() {
		return
	}
	defer s.d.mu.Unlock()
	s.d.session(clientID).awaiting[packetID] = at
}

// DeleteAwaitingRel implements store.Store.
func (s *Store) DeleteAwaitingRel(clientID string, packetID uint16) {
	if !s.lock() {
		return
	}
	defer s.d.mu.Unlock()
	if ss := s.d.sessions[clientID]; ss != nil {
		delete(ss.awaiting, packetID)
	}
}

// PutRetained implements store.Store.
func (s *Store) PutRetained(m *core.Message) {
	if !s.lock() {
		return
	}
	defer s.d.mu.Unlock()
	s.d.retained[m.Topic] = m
}

// DeleteRetained implements store.Store.
func (s *Store) DeleteRetained(topic string) {
	if !s.lock() {
		return
	}
	defer s.d.mu.Unlock()
	delete(s.d.retained, topic)
}

// PutDelayed implements store.Store.
func (s *Store) PutDelayed(d store.Delayed) {
	if !s.lock() {
		return
	}
	defer s.d.mu.Unlock()
	s.d.delayed[delayKey{d.Due.UnixNano(), d.Msg.ID}] = d
}

// DeleteDelayed implements store.Store.
func (s *Store) DeleteDelayed(due time.Time, msgID uint64) {
	if !s.lock() {
		return
	}
	defer s.d.mu.Unlock()
	delete(s.d.delayed, delayKey{due.UnixNano(), msgID})
}

// drained is the ticket of a store whose writes take effect at once.
type drained struct{}

func (drained) Pressured() bool          { return false }
func (drained) WhenDrained(w core.Waker) { w.Wake() }

// stuck is the ticket of a closed store: its writes were not stored, so it
// never drains (a publisher waiting on it is not acknowledged).
type stuck struct{}

func (stuck) Pressured() bool        { return true }
func (stuck) WhenDrained(core.Waker) {}

// Mark implements store.Store: writes take effect at once, so the ticket is
// already drained (after Close it never drains).
func (s *Store) Mark() store.Ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return stuck{}
	}
	return drained{}
}

// Flush implements store.Store.
func (s *Store) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	return nil
}

// LoadQueue implements store.Store; done is called on a new goroutine.
func (s *Store) LoadQueue(clientID string, after uint64, max int, done func([]store.Entry, error)) {
	if !s.lock() {
		go done(nil, store.ErrClosed)
		return
	}
	var out []store.Entry
	if ss := s.d.sessions[clientID]; ss != nil {
		i := sort.Search(len(ss.queue), func(i int) bool { return ss.queue[i].e.Seq > after })
		for ; i < len(ss.queue) && len(out) < max; i++ {
			out = append(out, copyEntry(ss.queue[i].e))
		}
	}
	s.d.mu.Unlock()
	go done(out, nil)
}

func copyEntry(e store.Entry) store.Entry {
	e.SubIDs = append([]uint32(nil), e.SubIDs...)
	if len(e.SubIDs) == 0 {
		e.SubIDs = nil
	}
	return e
}

// Restore implements store.Store. Sessions without a record (entries written
// for a client never PutSession'd) are dropped, as the pebble store does.
func (s *Store) Restore() (*store.Restored, error) {
	if !s.lock() {
		return nil, store.ErrClosed
	}
	defer s.d.mu.Unlock()
	r := &store.Restored{}
	ids := make([]string, 0, len(s.d.sessions))
	for id, ss := range s.d.sessions {
		if ss.record == nil {
			s.dropOrphan(id, ss)
			continue
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		ss := s.d.sessions[id]
		rs := store.RestoredSession{Record: *ss.record, Queued: len(ss.queue)}
		filters := make([]string, 0, len(ss.subs))
		for f := range ss.subs {
			filters = append(filters, f)
		}
		sort.Strings(filters)
		for _, f := range filters {
			rs.Subscriptions = append(rs.Subscriptions, store.Subscription{Filter: f, Opts: ss.subs[f]})
		}
		if len(ss.awaiting) > 0 {
			rs.AwaitingRel = make(map[uint16]time.Time, len(ss.awaiting))
			for k, v := range ss.awaiting {
				rs.AwaitingRel[k] = v
			}
		}
		for _, st := range ss.inflight {
			rs.Inflight = append(rs.Inflight, copyEntry(st.e))
		}
		if len(ss.queue) > 0 {
			rs.FirstSeq = ss.queue[0].e.Seq
			rs.LastSeq = ss.queue[len(ss.queue)-1].e.Seq
		}
		if n := len(ss.inflight); n > 0 && ss.inflight[n-1].e.Seq > rs.LastSeq {
			rs.LastSeq = ss.inflight[n-1].e.Seq
		}
		r.Sessions = append(r.Sessions, rs)
	}
	topics := make([]string, 0, len(s.d.retained))
	for t := range s.d.retained {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	for _, t := range topics {
		r.Retained = append(r.Retained, s.d.retained[t])
	}
	for _, d := range s.d.delayed {
		r.Delayed = append(r.Delayed, d)
	}
	sort.Slice(r.Delayed, func(i, j int) bool {
		a, b := r.Delayed[i], r.Delayed[j]
		if !a.Due.Equal(b.Due) {
			return a.Due.Before(b.Due)
		}
		return a.Msg.ID < b.Msg.ID
	})
	return r, nil
}

// dropOrphan forgets a session with no record. Caller holds d.mu.
func (s *Store) dropOrphan(id string, ss *session) {
	for _, list := range [][]stored{ss.queue, ss.inflight} {
		for _, st := range list {
			if st.e.SharedBody && st.e.Msg != nil {
				s.d.unref(st.e.Msg.ID)
			}
		}
	}
	s.d.queued -= ss.bytes
	delete(s.d.sessions, id)
}

// Stats implements store.Store.
func (s *Store) Stats() store.Stats {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	st := store.Stats{
		QueuedBytes: s.d.queued,
		Bodies:      len(s.d.bodies),
		Batches:     s.d.batches,
		DroppedFull: s.d.dropped,
	}
	for _, ss := range s.d.sessions {
		if ss.record != nil {
			st.Sessions++
		}
	}
	return st
}

// Close implements store.Store; later calls do nothing (writes are dropped,
// Enqueue, Flush, LoadQueue and Restore return store.ErrClosed).
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

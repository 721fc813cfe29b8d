package pebble

import (
	"encoding/binary"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/manifold-iot/manifold/core/store"
)

// restore reads everything for Restore and rebuilds the writer's accounting.
// It runs on the writer goroutine with everything before it committed.
func (s *Store) restore() (*store.Restored, error) {
	if err := s.failure(); err != nil {
		return nil, err
	}
	res := &store.Restored{}
	if err := s.account(res); err != nil {
		return nil, err
	}
	return res, nil
}

// restoreScan is the state of one pass over the store.
type restoreScan struct {
	s        *Store
	res      *store.Restored // nil: rebuild the accounting only
	clients  map[string]*clientAcc
	refs     map[uint64]*bodyRef
	sessions map[string]int // client id → index in res.Sessions
	cleanup  *pebble.Batch
	orphaned map[string]bool // clients with keys but no session record (Restore only)
	orphans  int             // their keys, deleted
	last     *store.RestoredSession
	lastID   string
	bad      int // values that did not decode, skipped
}

// account scans the store and rebuilds the shared body reference counts and
// the queued-bytes accounting; with res it also fills res (Restore). Queue
// entries are not decoded, only their headers read: a million queued
// messages cost a key-and-header scan, not a million decodes, and none is
// held in memory. Bodies nothing references any more (left by a crash between
// batches, which cannot happen, or by an older bug) are deleted and counted;
// with res, so are the entries of clients that have no session record.
func (s *Store) account(res *store.Restored) error {
	start := time.Now()
	rs := &restoreScan{
		s:        s,
		res:      res,
		clients:  make(map[string]*clientAcc),
		refs:     make(map[uint64]*bodyRef),
		sessions: make(map[string]int),
		orphaned: make(map[string]bool),
		cleanup:  s.db.NewBatch(),
	}
	defer func() { _ = rs.cleanup.Close() }()
	steps := []struct {
		kind byte
		fn   func(k, v []byte) error
	}{
		{kindSession, rs.session},
		{kindSub, rs.sub},
		{kindAwaiting, rs.awaiting},
		{kindInflight, rs.inflight},
		{kindQueue, rs.queue},
		{kindBody, nil}, // below, once every reference is known
		{kindRetained, rs.retained},
		{kindDelayed, rs.delayed},
	}
	for _, st := range steps {
		if st.fn == nil {
			continue
		}
		if res == nil && (st.kind == kindSub || st.kind == kindAwaiting || st.kind == kindRetained || st.kind == kindDelayed) {
			continue
		}
		if err := s.scanKind(st.kind, st.fn); err != nil {
			return err
		}
	}
	var unreferenced int
	var bodyBytes int64
	if err := s.scanKind(kindBody, func(k, v []byte) error {
		if len(k) != 9 {
			rs.bad++
			return nil
		}
		id := beUint64(k[1:])
		r := rs.refs[id]
		if r == nil {
			unreferenced++
			return rs.cleanup.Delete(k, nil)
		}
		r.size = int64(len(k) + len(v))
		bodyBytes += r.size
		return nil
	}); err != nil {
		return err
	}
	for c := range rs.orphaned {
		for _, kind := range []byte{kindSub, kindAwaiting, kindQueue, kindInflight} {
			p := clientPrefix(nil, kind, c)
			if err := rs.cleanup.DeleteRange(p, prefixEnd(p), nil); err != nil {
				return err
			}
		}
	}
	missing := 0
	for id, r := range rs.refs {
		if r.size == 0 {
			missing++
			delete(rs.refs, id)
		}
	}
	if !rs.cleanup.Empty() {
		if err := rs.cleanup.Commit(pebble.Sync); err != nil {
			return err
		}
	}

	// Swap the accounting in: queued keeps what Enqueue counted for ops not
	// applied yet and gets the difference between disk and the old view.
	var old, now int64
	for _, a := range s.w.clients {
		old += a.bytes
	}
	for _, r := range s.w.refs {
		old += r.size
	}
	sessions := 0
	for _, a := range rs.clients {
		now += a.bytes
		if a.exists {
			sessions++
		}
	}
	now += bodyBytes
	s.queued.Add(now - old)
	s.sessions.Store(int64(sessions))
	s.bodies.Store(int64(len(rs.refs)))
	s.w.clients, s.w.refs, s.w.accounted = rs.clients, rs.refs, true

	ev := s.log.Info()
	if res == nil {
		ev = s.log.Debug()
	}
	ev.Int("sessions", sessions).Int("bodies", len(rs.refs)).
		Int("unreferenced_bodies_deleted", unreferenced).Int("missing_bodies", missing).
		Int("orphan_keys_deleted", rs.orphans).Int("unreadable_values", rs.bad).
		Int64("queued_bytes", now).Dur("took", time.Since(start)).Msg("store_restored")
	if missing > 0 {
		s.log.Warn().Int("missing_bodies", missing).Msg("store_shared_bodies_missing")
	}
	return nil
}

// scanKind iterates one keyspace.
func (s *Store) scanKind(kind byte, fn func(k, v []byte) error) error {
	return s.scan([]byte{kind}, []byte{kind + 1}, fn)
}

// owner finds the session a per-client key belongs to; nil when the client
// has no session record.
func (rs *restoreScan) owner(k []byte) (string, *clientAcc, []byte, bool) {
	c, rest, err := splitClient(k)
	if err != nil {
		rs.bad++
		return "", nil, nil, false
	}
	a := rs.clients[string(c)] // no allocation: map lookup of a converted []byte
	if a == nil {
		if rs.res != nil {
			rs.orphan(c)
			return "", nil, nil, false
		}
		a = &clientAcc{}
		rs.clients[string(c)] = a
	}
	return string(c), a, rest, true
}

// orphan notes a key of a client that has no session record: the client's
// keys are range-deleted at the end of the scan.
func (rs *restoreScan) orphan(c []byte) {
	rs.orphans++
	if !rs.orphaned[string(c)] {
		rs.orphaned[string(c)] = true
	}
}

func (rs *restoreScan) session(k, v []byte) error {
	c, rest, err := splitClient(k)
	if err != nil || len(rest) != 0 {
		rs.bad++
		return nil
	}
	id := string(c)
	if rs.res != nil {
		rec, err := store.DecodeSessionRecord(v)
		if err != nil {
			rs.s.log.Warn().Err(err).Str("clientid", id).Msg("store_session_unreadable")
			rs.bad++
			rs.clients[id] = &clientAcc{exists: true} // keep its keys: not an orphan
			return nil
		}
		rec.ClientID = id
		rs.sessions[id] = len(rs.res.Sessions)
		rs.res.Sessions = append(rs.res.Sessions, store.RestoredSession{Record: rec})
	}
	rs.clients[id] = &clientAcc{exists: true}
	return nil
}

// restored is the session being restored for id; nil when its record did
// not decode (its keys are then kept, neither restored nor deleted).
func (rs *restoreScan) restored(id string) *store.RestoredSession {
	i, ok := rs.sessions[id]
	if !ok {
		return nil
	}
	return &rs.res.Sessions[i]
}

func (rs *restoreScan) sub(k, v []byte) error {
	id, _, rest, ok := rs.owner(k)
	if !ok {
		return nil
	}
	o, err := store.DecodeSubOptions(v)
	if err != nil {
		rs.s.log.Warn().Err(err).Str("clientid", id).Msg("store_subscription_unreadable")
		rs.bad++
		return nil
	}
	if r := rs.restored(id); r != nil {
		r.Subscriptions = append(r.Subscriptions, store.Subscription{Filter: string(rest), Opts: o})
	}
	return nil
}

func (rs *restoreScan) awaiting(k, v []byte) error {
	id, _, rest, ok := rs.owner(k)
	if !ok {
		return nil
	}
	at, err := store.DecodeTime(v)
	if err != nil || len(rest) != 2 {
		rs.bad++
		return nil
	}
	r := rs.restored(id)
	if r == nil {
		return nil
	}
	if r.AwaitingRel == nil {
		r.AwaitingRel = make(map[uint16]time.Time)
	}
	r.AwaitingRel[binary.BigEndian.Uint16(rest)] = at
	return nil
}

func (rs *restoreScan) addRef(id uint64) {
	r := rs.refs[id]
	if r == nil {
		r = &bodyRef{}
		rs.refs[id] = r
	}
	r.n++
}

func (rs *restoreScan) inflight(k, v []byte) error {
	id, a, rest, ok := rs.owner(k)
	if !ok {
		return nil
	}
	if len(rest) != 8 {
		rs.bad++
		return nil
	}
	seq := beUint64(rest)
	a.bytes += int64(len(k) + len(v))
	a.n++
	if rs.res == nil {
		shared, bid, err := store.EntryBodyRef(v)
		if err == nil && shared {
			rs.addRef(bid)
			a.inflightRef(seq, bid)
		}
		return nil
	}
	e, bid, err := store.DecodeEntry(v)
	if err != nil {
		rs.s.log.Warn().Err(err).Str("clientid", id).Uint64("seq", seq).Msg("store_entry_unreadable")
		rs.bad++
		return nil
	}
	if e.SharedBody {
		rs.addRef(bid)
		a.inflightRef(seq, bid)
		m, err := rs.s.body(bid)
		if err != nil {
			rs.s.log.Warn().Err(err).Str("clientid", id).Uint64("seq", seq).Uint64("msgid", bid).Msg("store_body_unreadable")
			rs.bad++
			return nil
		}
		e.Msg = m
	}
	e.Seq = seq
	r := rs.restored(id)
	if r == nil {
		return nil
	}
	r.Inflight = append(r.Inflight, e)
	if seq > r.LastSeq {
		r.LastSeq = seq
	}
	return nil
}

func (a *clientAcc) inflightRef(seq, id uint64) {
	if a.inflight == nil {
		a.inflight = make(map[uint64]uint64)
	}
	a.inflight[seq] = id
}

// queue counts one queued entry; the previous key's client is remembered so
// the million entries of one client cost one map lookup.
func (rs *restoreScan) queue(k, v []byte) error {
	c, rest, err := splitClient(k)
	if err != nil || len(rest) != 8 {
		rs.bad++
		return nil
	}
	a := rs.clients[string(c)]
	if a == nil {
		if rs.res != nil {
			rs.orphan(c)
			return nil
		}
		a = &clientAcc{}
		rs.clients[string(c)] = a
	}
	a.bytes += int64(len(k) + len(v))
	a.n++
	if shared, id, err := store.EntryBodyRef(v); err != nil {
		rs.bad++
	} else if shared {
		rs.addRef(id)
		a.sharedQ++
	}
	if r := rs.restoredQueue(c); r != nil {
		seq := beUint64(rest)
		if r.Queued == 0 {
			r.FirstSeq = seq
		}
		r.Queued++
		if seq > r.LastSeq {
			r.LastSeq = seq
		}
	}
	return nil
}

// restoredQueue is restored() for the queue scan, remembering the last
// client so a million entries of one session cost one map lookup.
func (rs *restoreScan) restoredQueue(c []byte) *store.RestoredSession {
	if rs.res == nil {
		return nil
	}
	if rs.last != nil && string(c) == rs.lastID {
		return rs.last
	}
	rs.lastID = string(c)
	rs.last = rs.restored(rs.lastID)
	return rs.last
}

func (rs *restoreScan) retained(k, v []byte) error {
	m, err := store.DecodeMessage(v)
	if err != nil {
		rs.s.log.Warn().Err(err).Str("topic", string(k[1:])).Msg("store_retained_unreadable")
		rs.bad++
		return nil
	}
	rs.res.Retained = append(rs.res.Retained, m)
	return nil
}

func (rs *restoreScan) delayed(k, v []byte) error {
	if len(k) != 17 {
		rs.bad++
		return nil
	}
	m, err := store.DecodeMessage(v)
	if err != nil {
		rs.s.log.Warn().Err(err).Msg("store_delayed_unreadable")
		rs.bad++
		return nil
	}
	rs.res.Delayed = append(rs.res.Delayed, store.Delayed{Msg: m, Due: time.Unix(0, int64(beUint64(k[1:9])))})
	return nil
}

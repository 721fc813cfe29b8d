package pebble

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/store"
)

// Sizes chosen for gateways: a small memtable and block cache keep the
// resident footprint near 64 MiB whatever the data size.
const (
	memTableSize = 16 << 20
	cacheSize    = 32 << 20
	// maxBatchBytes splits a writer round into several Pebble batches: a batch
	// past half the memtable would be applied as a flushable batch, forcing a
	// memtable rotation.
	maxBatchBytes = 4 << 20
	// opOverhead is what one pending op costs besides its key and value.
	opOverhead = 64
)

// Store is the Pebble-backed store.Store. Create one with Open.
type Store struct {
	db   *pebble.DB
	dir  string
	opts store.Options
	log  zerolog.Logger

	fullLogged atomic.Int64 // unix nanos of the last store_full_message_dropped
	fs         *walFS

	mu           sync.Mutex
	notFull      sync.Cond // signalled when the writer takes the pending ops
	pending      []op      // guarded by mu
	spare        []op      // guarded by mu: the writer's last slice, for reuse
	pendingBytes int64     // guarded by mu
	appended     uint64    // guarded by mu: write ops appended so far
	closing      bool      // guarded by mu

	wake      chan struct{} // capacity 1: the writer has work
	writerEnd chan struct{} // closed when the writer has exited
	syncerEnd chan struct{} // closed to stop the interval syncer
	syncerWG  sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	committed atomic.Uint64         // ops durable per the policy (tickets up to it are drained)
	failed    atomic.Pointer[error] // the first commit failure; tickets stop draining

	wmu     sync.Mutex
	waiters []waiter // guarded by wmu

	queued      atomic.Int64
	dropped     atomic.Uint64
	batches     atomic.Uint64
	syncs       atomic.Uint64 // syncs by FsyncAlways commits (walFS counts the others)
	sessions    atomic.Int64
	bodies      atomic.Int64
	pendingSeen atomic.Int64 // pendingBytes, for Stats without the lock

	w writer // owned by the writer goroutine
}

// writer is the state only the writer goroutine touches.
type writer struct {
	accounted bool                  // refs and clients were rebuilt from disk
	refs      map[uint64]*bodyRef   // shared body id → references
	clients   map[string]*clientAcc // per-client accounting
	scratch   []byte
	wake      []core.Waker
}

type bodyRef struct {
	n    int32
	size int64 // key + value bytes on disk
}

// clientAcc is what the writer knows of one client. Entry bytes are tracked
// per client, not per entry (a map per entry would cost ~40 B of memory for
// each of a million queued messages): Remove subtracts the client's average
// entry size, and the count is exact again when the client's queue empties.
type clientAcc struct {
	exists   bool              // a session record is stored
	bytes    int64             // queued + inflight entry bytes
	n        int64             // queued + inflight entries
	sharedQ  int64             // queued entries referencing a shared body
	inflight map[uint64]uint64 // seq → shared body id of an inflight entry in PhaseRec
}

type waiter struct {
	seq uint64
	w   core.Waker
}

type opKind uint8

const (
	opSet opKind = iota
	opDel
	opPutSession
	opDeleteSession
	opEnqueue
	opMarkSent
	opMarkReleased
	opRemove
	opLoad
	opFlush
	opRestore
)

// op is one appended write (or a read/control request ordered after the
// writes before it).
type op struct {
	kind     opKind
	inflight bool
	shared   bool
	key      []byte
	key2     []byte
	val      []byte
	client   string
	seq      uint64
	msgID    uint64
	size     int64
	msg      *core.Message // shared body to reference
	max      int
	load     func([]store.Entry, error)
	reply    chan error
	restored chan restoreResult
}

type restoreResult struct {
	r   *store.Restored
	err error
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it if needed) the store in dir. A dir that cannot be
// read, is not a directory or holds a damaged Pebble database fails with an
// error wrapping store.ErrCorrupt that names dir and the cause; one written by
// a newer Manifold fails with store.ErrNewerFormat. Open never starts empty
// over a directory it cannot read.
func Open(dir string, opts store.Options, log zerolog.Logger) (*Store, error) {
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = 100 * time.Millisecond
	}
	if opts.MaxPendingBytes <= 0 {
		opts.MaxPendingBytes = 64 << 20
	}
	log = log.With().Str("dir", dir).Logger() // the caller names the component
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s: not a directory", store.ErrCorrupt, dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s: %w", store.ErrCorrupt, dir, err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", store.ErrCorrupt, dir, err)
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", store.ErrCorrupt, dir, err)
	}
	existed := false // a database was there before: its V key must be too
	for _, n := range names {
		if strings.HasPrefix(n.Name(), "MANIFEST-") || strings.HasPrefix(n.Name(), "OPTIONS-") {
			existed = true
		}
	}

	fs := newWALFS(vfs.Default, opts.Fsync != store.FsyncAlways)
	cache := pebble.NewCache(cacheSize)
	defer cache.Unref()
	po := &pebble.Options{
		FS:                 fs,
		Cache:              cache,
		MemTableSize:       memTableSize,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             pebbleLogger{log},
		EventListener:      eventListener(log),
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		if strings.Contains(err.Error(), "unknown format major version") {
			return nil, fmt.Errorf("%w: %s: %w", store.ErrNewerFormat, dir, err)
		}
		return nil, fmt.Errorf("%w: %s: %w", store.ErrCorrupt, dir, err)
	}
	if err := checkVersion(db, dir, existed); err != nil {
		_ = db.Close()
		return nil, err
	}
	s := &Store{
		db:        db,
		dir:       dir,
		opts:      opts,
		log:       log,
		fs:        fs,
		wake:      make(chan struct{}, 1),
		writerEnd: make(chan struct{}),
		syncerEnd: make(chan struct{}),
		w: writer{
			refs:    make(map[uint64]*bodyRef),
			clients: make(map[string]*clientAcc),
		},
	}
	s.notFull.L = &s.mu
	go s.run()
	if opts.Fsync == store.FsyncInterval {
		s.syncerWG.Add(1)
		go s.syncer()
	}
	return s, nil
}

// checkVersion reads the V key: a fresh store gets formatVersion, a newer
// one is refused, and so is a database that existed without one (not ours,
// or its write-ahead log was lost: starting over it would look empty).
func checkVersion(db *pebble.DB, dir string, existed bool) error {
	v, closer, err := db.Get(versionKey)
	if errors.Is(err, pebble.ErrNotFound) {
		if existed {
			return fmt.Errorf("%w: %s holds a database without a Manifold format version (not a Manifold store, or its write-ahead log is lost)", store.ErrCorrupt, dir)
		}
		if err := db.Set(versionKey, []byte(strconv.Itoa(formatVersion)), pebble.Sync); err != nil {
			return fmt.Errorf("%w: %s: writing the format version: %w", store.ErrCorrupt, dir, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %s: reading the format version: %w", store.ErrCorrupt, dir, err)
	}
	text := string(v)
	_ = closer.Close()
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 {
		return fmt.Errorf("%w: %s: format version %q is not a number", store.ErrCorrupt, dir, text)
	}
	if n > formatVersion {
		return fmt.Errorf("%w: %s has format version %d, this Manifold reads up to %d", store.ErrNewerFormat, dir, n, formatVersion)
	}
	return nil
}

// appendOp queues o for the writer, waiting while MaxPendingBytes of writes
// are pending. write says o is a write a ticket covers. It reports false
// after Close.
func (s *Store) appendOp(o op, write bool) bool {
	size := int64(len(o.key)+len(o.key2)+len(o.val)) + opOverhead
	s.mu.Lock()
	for s.pendingBytes >= s.opts.MaxPendingBytes && !s.closing {
		s.notFull.Wait()
	}
	if s.closing {
		s.mu.Unlock()
		return false
	}
	s.pending = append(s.pending, o)
	s.pendingBytes += size
	s.pendingSeen.Store(s.pendingBytes)
	if write {
		s.appended++
	}
	// Only the op that makes the slice non-empty signals: the writer looks
	// at the slice again after every round, so later ones are seen.
	first := len(s.pending) == 1
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// PutSession implements store.Store.
func (s *Store) PutSession(r store.SessionRecord) {
	s.appendOp(op{
		kind:   opPutSession,
		client: r.ClientID,
		key:    clientPrefix(nil, kindSession, r.ClientID),
		val:    store.AppendSessionRecord(nil, &r),
	}, true)
}

// logFull says, at most every 10 s, that messages are being dropped because
// max_disk_bytes is reached (the drops themselves are counted in Stats).
func (s *Store) logFull(clientID string, max int64) {
	now := time.Now().UnixNano()
	last := s.fullLogged.Load()
	if now-last < int64(10*time.Second) || !s.fullLogged.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn().Str("clientid", clientID).Int64("max_disk_bytes", max).Uint64("dropped_total", s.dropped.Load()).
		Msg("store_full_message_dropped")
}

// DeleteSession implements store.Store.
func (s *Store) DeleteSession(clientID string) {
	s.appendOp(op{kind: opDeleteSession, client: clientID}, true)
}

// PutSubscription implements store.Store.
func (s *Store) PutSubscription(clientID string, sub store.Subscription) {
	s.appendOp(op{kind: opSet, key: subKey(clientID, sub.Filter), val: store.AppendSubOptions(nil, sub.Opts)}, true)
}

// DeleteSubscription implements store.Store.
func (s *Store) DeleteSubscription(clientID, filter string) {
	s.appendOp(op{kind: opDel, key: subKey(clientID, filter)}, true)
}

// Enqueue implements store.Store. The entry is encoded here, on the caller's
// goroutine; a shared body is encoded by the writer, once.
func (s *Store) Enqueue(clientID string, e *store.Entry) error {
	c := *e
	c.Phase = store.PhaseQueued
	// Key and value share one allocation (sized from an estimate of the
	// encoding; AppendEntry grows it if short).
	est := len(clientID) + 16 + 32 + len(e.Shared) + 5*len(e.SubIDs)
	if e.Msg != nil && !e.SharedBody {
		m := e.Msg
		est += 48 + len(m.Topic) + len(m.Payload) + len(m.From) + len(m.ContentType) +
			len(m.ResponseTopic) + len(m.CorrelationData) + 10*len(m.UserProperties)
		for _, p := range m.UserProperties {
			est += len(p.Key) + len(p.Value)
		}
	}
	buf := seqKey(make([]byte, 0, est), kindQueue, clientID, e.Seq)
	key := buf[:len(buf):len(buf)]
	val := store.AppendEntry(buf[len(buf):], &c)
	size := int64(len(key) + len(val))
	if max := s.opts.MaxDiskBytes; max > 0 {
		if s.queued.Add(size) > max {
			s.queued.Add(-size)
			s.dropped.Add(1)
			s.logFull(clientID, max)
			return store.ErrFull
		}
	} else {
		s.queued.Add(size)
	}
	o := op{kind: opEnqueue, client: clientID, key: key, val: val, seq: e.Seq, size: size}
	if e.SharedBody && e.Msg != nil {
		o.msg = e.Msg
	}
	if !s.appendOp(o, true) {
		s.queued.Add(-size)
		return store.ErrClosed
	}
	return nil
}

// MarkSent implements store.Store.
func (s *Store) MarkSent(clientID string, e *store.Entry) {
	c := *e
	c.Phase = store.PhaseRec
	o := op{
		kind:   opMarkSent,
		client: clientID,
		seq:    e.Seq,
		key:    seqKey(nil, kindQueue, clientID, e.Seq),
		key2:   seqKey(nil, kindInflight, clientID, e.Seq),
		val:    store.AppendEntry(nil, &c),
	}
	if e.SharedBody && e.Msg != nil {
		o.shared, o.msgID = true, e.Msg.ID
	}
	s.appendOp(o, true)
}

// MarkReleased implements store.Store. Whether the entry held a shared body
// is known to the writer (from MarkSent), so msgID and sharedBody are only
// a hint here.
func (s *Store) MarkReleased(clientID string, seq uint64, packetID uint16, msgID uint64, sharedBody bool) {
	e := store.Entry{Seq: seq, QoS: core.QoS2, PacketID: packetID, Phase: store.PhaseComp}
	s.appendOp(op{
		kind:   opMarkReleased,
		client: clientID,
		seq:    seq,
		key:    seqKey(nil, kindInflight, clientID, seq),
		val:    store.AppendEntry(nil, &e),
	}, true)
}

// Remove implements store.Store. For an inflight entry the writer knows
// whether it still holds a shared body; for a queued one msgID and
// sharedBody are trusted, so Remove must be called once per entry.
func (s *Store) Remove(clientID string, seq uint64, inflight bool, msgID uint64, sharedBody bool) {
	kind := byte(kindQueue)
	if inflight {
		kind = kindInflight
	}
	s.appendOp(op{
		kind:     opRemove,
		client:   clientID,
		seq:      seq,
		inflight: inflight,
		shared:   sharedBody,
		msgID:    msgID,
		key:      seqKey(nil, kind, clientID, seq),
	}, true)
}

// PutAwaitingRel implements store.Store.
func (s *Store) PutAwaitingRel(clientID string, packetID uint16, at time.Time) {
	s.appendOp(op{kind: opSet, key: awaitingKey(clientID, packetID), val: store.AppendTime(nil, at)}, true)
}

// DeleteAwaitingRel implements store.Store.
func (s *Store) DeleteAwaitingRel(clientID string, packetID uint16) {
	s.appendOp(op{kind: opDel, key: awaitingKey(clientID, packetID)}, true)
}

// PutRetained implements store.Store.
func (s *Store) PutRetained(m *core.Message) {
	s.appendOp(op{kind: opSet, key: retainedKey(m.Topic), val: store.AppendMessage(nil, m)}, true)
}

// DeleteRetained implements store.Store.
func (s *Store) DeleteRetained(topic string) {
	s.appendOp(op{kind: opDel, key: retainedKey(topic)}, true)
}

// PutDelayed implements store.Store.
func (s *Store) PutDelayed(d store.Delayed) {
	s.appendOp(op{kind: opSet, key: delayedKey(d.Due, d.Msg.ID), val: store.AppendMessage(nil, d.Msg)}, true)
}

// DeleteDelayed implements store.Store.
func (s *Store) DeleteDelayed(due time.Time, msgID uint64) {
	s.appendOp(op{kind: opDel, key: delayedKey(due, msgID)}, true)
}

// Mark implements store.Store. After Close the ticket never drains: writes
// made then were not stored.
func (s *Store) Mark() store.Ticket {
	s.mu.Lock()
	seq := s.appended
	if s.closing {
		seq = math.MaxUint64
	}
	s.mu.Unlock()
	return ticket{s: s, seq: seq}
}

// ticket is a point in the write log: drained once committed reaches seq.
type ticket struct {
	s   *Store
	seq uint64
}

// Pressured implements core.Backlog.
func (t ticket) Pressured() bool { return t.s.committed.Load() < t.seq }

// WhenDrained implements core.Backlog.
func (t ticket) WhenDrained(w core.Waker) {
	s := t.s
	if t.seq == math.MaxUint64 {
		return
	}
	s.wmu.Lock()
	if s.committed.Load() >= t.seq {
		s.wmu.Unlock()
		w.Wake()
		return
	}
	s.waiters = append(s.waiters, waiter{seq: t.seq, w: w})
	s.wmu.Unlock()
}

// Flush implements store.Store: it waits for the writes before it to be
// committed and, whatever the policy, synced.
func (s *Store) Flush() error {
	reply := make(chan error, 1)
	if !s.appendOp(op{kind: opFlush, reply: reply}, false) {
		return store.ErrClosed
	}
	return <-reply
}

// LoadQueue implements store.Store. It runs on the writer after everything
// appended before it is committed; done is called on a new goroutine.
func (s *Store) LoadQueue(clientID string, after uint64, max int, done func([]store.Entry, error)) {
	if !s.appendOp(op{kind: opLoad, client: clientID, seq: after, max: max, load: done}, false) {
		go done(nil, store.ErrClosed)
	}
}

// Restore implements store.Store.
func (s *Store) Restore() (*store.Restored, error) {
	reply := make(chan restoreResult, 1)
	if !s.appendOp(op{kind: opRestore, restored: reply}, false) {
		return nil, store.ErrClosed
	}
	r := <-reply
	return r.r, r.err
}

// Stats implements store.Store.
func (s *Store) Stats() store.Stats {
	return store.Stats{
		Sessions:     int(s.sessions.Load()),
		QueuedBytes:  s.queued.Load(),
		Bodies:       int(s.bodies.Load()),
		Batches:      s.batches.Load(),
		Syncs:        s.syncs.Load() + s.fs.syncs.Load(),
		DroppedFull:  s.dropped.Load(),
		PendingBytes: s.pendingSeen.Load(),
	}
}

// Close implements store.Store: pending writes are committed, the WAL is
// synced and the database closed. Later calls return the first one's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.notFull.Broadcast()
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
		<-s.writerEnd
		close(s.syncerEnd)
		s.syncerWG.Wait()
		_, err := s.fs.syncAll()
		if cerr := s.db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			s.closeErr = fmt.Errorf("store: closing %s: %w", s.dir, err)
		}
	})
	return s.closeErr
}

// syncer syncs the WAL every SyncInterval when something was written since
// the last sync (FsyncInterval). It runs apart from the writer, so a slow
// fsync never holds up commits.
func (s *Store) syncer() {
	defer s.syncerWG.Done()
	t := time.NewTicker(s.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.syncerEnd:
			return
		case <-t.C:
			if !s.fs.dirty() {
				continue
			}
			if _, err := s.fs.syncAll(); err != nil {
				s.log.Error().Err(err).Msg("store_sync_failed")
			}
		}
	}
}

// run is the writer goroutine: it takes every pending op at once, applies
// them as one Pebble batch (group commit), then releases tickets.
func (s *Store) run() {
	defer close(s.writerEnd)
	for range s.wake {
		for {
			s.mu.Lock()
			if len(s.pending) == 0 {
				closing := s.closing
				s.mu.Unlock()
				if closing {
					s.failWaiters()
					return
				}
				break
			}
			// Swap the pending slice for the one the last round used, so
			// the two are reused in turn.
			ops := s.pending
			upTo := s.appended
			s.pending = s.spare[:0]
			s.spare = nil
			s.pendingBytes = 0
			s.pendingSeen.Store(0)
			s.notFull.Broadcast()
			s.mu.Unlock()
			s.apply(ops, upTo)
			clear(ops)
			s.mu.Lock()
			s.spare = ops[:0]
			s.mu.Unlock()
		}
	}
}

// failWaiters drops the waiters of a closing store: their writes are all
// committed by now, so none is left (defensive).
func (s *Store) failWaiters() {
	s.wmu.Lock()
	s.waiters = nil
	s.wmu.Unlock()
}

// fail records the first commit error; tickets stop draining from then on.
func (s *Store) fail(err error) {
	if s.failed.CompareAndSwap(nil, &err) {
		s.log.Error().Err(err).Msg("store_commit_failed")
	}
}

func (s *Store) failure() error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// apply runs one round of ops on the writer goroutine.
func (s *Store) apply(ops []op, upTo uint64) {
	if !s.w.accounted && ops[0].kind != opRestore { // Restore accounts itself
		if err := s.account(nil); err != nil {
			s.fail(err)
		}
	}
	r := round{s: s, b: s.db.NewBatch()}
	var flushes []chan error
	for i := range ops {
		o := &ops[i]
		switch o.kind {
		case opSet:
			_ = r.b.Set(o.key, o.val, nil)
		case opDel:
			_ = r.b.Delete(o.key, nil)
		case opPutSession:
			if a := s.client(o.client); !a.exists {
				a.exists = true
				s.sessions.Add(1)
			}
			_ = r.b.Set(o.key, o.val, nil)
		case opEnqueue:
			a := s.client(o.client)
			if o.msg != nil {
				s.ref(r.b, o.msg)
				a.sharedQ++
			}
			a.bytes += o.size
			a.n++
			_ = r.b.Set(o.key, o.val, nil)
		case opMarkSent:
			_ = r.b.Delete(o.key, nil)
			_ = r.b.Set(o.key2, o.val, nil)
			if o.shared {
				a := s.client(o.client)
				if a.inflight == nil {
					a.inflight = make(map[uint64]uint64)
				}
				if _, again := a.inflight[o.seq]; !again { // a second MarkSent moves nothing
					a.inflight[o.seq] = o.msgID
					a.sharedQ--
				}
			}
		case opMarkReleased:
			_ = r.b.Set(o.key, o.val, nil)
			s.releaseInflight(r.b, o.client, o.seq)
		case opRemove:
			_ = r.b.Delete(o.key, nil)
			if o.inflight {
				s.releaseInflight(r.b, o.client, o.seq)
			} else if o.shared {
				s.unref(r.b, o.msgID)
				if a := s.w.clients[o.client]; a != nil {
					a.sharedQ--
				}
			}
			s.forget(o.client)
		case opDeleteSession:
			s.deleteSession(&r, o.client)
		case opLoad:
			r.commitNoSync()
			entries, err := s.load(o.client, o.seq, o.max)
			go o.load(entries, err)
		case opFlush:
			flushes = append(flushes, o.reply)
		case opRestore:
			r.commitNoSync()
			res, err := s.restore()
			o.restored <- restoreResult{res, err}
		}
		if r.b.Len() > maxBatchBytes {
			r.commitNoSync()
		}
	}
	r.commitFinal()
	if s.failure() == nil {
		s.release(upTo)
	}
	if len(flushes) > 0 {
		err := s.failure()
		if err == nil {
			_, err = s.fs.syncAll()
		}
		for _, c := range flushes {
			c <- err
		}
	}
}

// round is one writer round's current batch.
type round struct {
	s       *Store
	b       *pebble.Batch
	nosyncs bool // a batch was committed without sync this round
}

// commitNoSync commits the batch so far (for a read that must see it, or a
// batch grown too big); the round's final commit syncs it.
func (r *round) commitNoSync() {
	if r.b.Empty() {
		return
	}
	if err := r.b.Commit(pebble.NoSync); err != nil {
		r.s.fail(err)
	}
	_ = r.b.Close()
	r.s.batches.Add(1)
	r.b = r.s.db.NewBatch()
	r.nosyncs = true
}

// commitFinal commits the rest with a WAL sync: a real fsync under
// FsyncAlways, otherwise (see walFS) the write(2) that makes it survive
// kill -9.
func (r *round) commitFinal() {
	s := r.s
	var err error
	switch {
	case !r.b.Empty():
		err = r.b.Commit(pebble.Sync)
		s.batches.Add(1)
	case r.nosyncs:
		err = s.db.LogData(nil, pebble.Sync)
	default:
		_ = r.b.Close()
		return
	}
	_ = r.b.Close()
	if err != nil {
		s.fail(err)
		return
	}
	if s.opts.Fsync == store.FsyncAlways {
		s.syncs.Add(1)
	}
}

// release drains the tickets up to upTo, waking their waiters with no lock
// held.
func (s *Store) release(upTo uint64) {
	s.committed.Store(upTo)
	s.wmu.Lock()
	keep := s.waiters[:0]
	for _, w := range s.waiters {
		if w.seq <= upTo {
			s.w.wake = append(s.w.wake, w.w)
		} else {
			keep = append(keep, w)
		}
	}
	clear(s.waiters[len(keep):])
	s.waiters = keep
	s.wmu.Unlock()
	for _, w := range s.w.wake {
		w.Wake()
	}
	clear(s.w.wake)
	s.w.wake = s.w.wake[:0]
}

func (s *Store) client(id string) *clientAcc {
	a := s.w.clients[id]
	if a == nil {
		a = &clientAcc{}
		s.w.clients[id] = a
	}
	return a
}

// forget accounts for one removed entry of a client (see clientAcc).
func (s *Store) forget(id string) {
	a := s.w.clients[id]
	if a == nil || a.n <= 0 {
		return
	}
	d := a.bytes / a.n
	if a.n == 1 {
		d = a.bytes
	}
	a.bytes -= d
	a.n--
	s.queued.Add(-d)
}

// ref adds a reference to m's shared body, writing it on the first.
func (s *Store) ref(b *pebble.Batch, m *core.Message) {
	r := s.w.refs[m.ID]
	if r == nil {
		key := bodyKey(nil, m.ID)
		s.w.scratch = store.AppendMessage(s.w.scratch[:0], m)
		_ = b.Set(key, s.w.scratch, nil)
		r = &bodyRef{size: int64(len(key) + len(s.w.scratch))}
		s.w.refs[m.ID] = r
		s.queued.Add(r.size)
		s.bodies.Add(1)
	}
	r.n++
}

// unref drops a reference to a shared body, deleting it at zero.
func (s *Store) unref(b *pebble.Batch, id uint64) {
	r := s.w.refs[id]
	if r == nil {
		return
	}
	if r.n--; r.n > 0 {
		return
	}
	_ = b.Delete(bodyKey(nil, id), nil)
	delete(s.w.refs, id)
	s.queued.Add(-r.size)
	s.bodies.Add(-1)
}

// releaseInflight drops the shared body reference an inflight entry holds.
func (s *Store) releaseInflight(b *pebble.Batch, client string, seq uint64) {
	a := s.w.clients[client]
	if a == nil || a.inflight == nil {
		return
	}
	if id, ok := a.inflight[seq]; ok {
		delete(a.inflight, seq)
		s.unref(b, id)
	}
}

// deleteSession removes every key of a client with range deletions, after
// dropping the shared body references of its queue (read from disk: the
// batch before it is committed) and inflight window.
func (s *Store) deleteSession(r *round, client string) {
	a := s.w.clients[client]
	if a == nil {
		a = &clientAcc{}
	}
	qp := clientPrefix(nil, kindQueue, client)
	// Only a queue holding shared bodies is read (a million unshared entries
	// would hold up the writer for nothing).
	if a.sharedQ > 0 {
		r.commitNoSync() // the scan must see the writes before it
		if err := s.scan(qp, prefixEnd(qp), func(_, v []byte) error {
			shared, id, err := store.EntryBodyRef(v)
			if err == nil && shared {
				s.unref(r.b, id)
			}
			return nil
		}); err != nil {
			s.log.Error().Err(err).Str("clientid", client).Msg("store_delete_session_scan_failed")
		}
	}
	b := r.b
	for _, id := range a.inflight {
		s.unref(b, id)
	}
	s.queued.Add(-a.bytes)
	if a.exists {
		s.sessions.Add(-1)
	}
	delete(s.w.clients, client)
	_ = b.Delete(clientPrefix(nil, kindSession, client), nil)
	for _, kind := range []byte{kindSub, kindAwaiting, kindQueue, kindInflight} {
		p := clientPrefix(nil, kind, client)
		_ = b.DeleteRange(p, prefixEnd(p), nil)
	}
}

// scan calls fn for every key in [lower, upper) with its value (both valid
// only during the call).
func (s *Store) scan(lower, upper []byte, fn func(k, v []byte) error) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return err
		}
		if err := fn(it.Key(), v); err != nil {
			_ = it.Close()
			return err
		}
	}
	return it.Close()
}

// load reads up to max queued entries of client with Seq > after.
func (s *Store) load(client string, after uint64, max int) ([]store.Entry, error) {
	if after == math.MaxUint64 || max <= 0 {
		return nil, nil
	}
	if err := s.failure(); err != nil {
		return nil, err
	}
	p := clientPrefix(nil, kindQueue, client)
	lower := seqKey(nil, kindQueue, client, after+1)
	var out []store.Entry
	var bodies map[uint64]*core.Message
	err := s.scan(lower, prefixEnd(p), func(k, v []byte) error {
		if len(out) >= max {
			return errStop
		}
		if len(k) != len(p)+8 {
			return nil
		}
		seq := beUint64(k[len(p):])
		e, id, err := store.DecodeEntry(v)
		if err != nil {
			s.log.Warn().Err(err).Str("clientid", client).Uint64("seq", seq).Msg("store_entry_unreadable")
			return nil
		}
		if e.SharedBody {
			m := bodies[id]
			if m == nil {
				if m, err = s.body(id); err != nil {
					s.log.Warn().Err(err).Str("clientid", client).Uint64("seq", seq).Uint64("msgid", id).Msg("store_body_unreadable")
					return nil
				}
				if bodies == nil {
					bodies = make(map[uint64]*core.Message)
				}
				bodies[id] = m
			}
			e.Msg = m
		}
		e.Seq = seq
		out = append(out, e)
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return out, err
}

var errStop = errors.New("stop")

// body reads and decodes a shared body.
func (s *Store) body(id uint64) (*core.Message, error) {
	v, closer, err := s.db.Get(bodyKey(nil, id))
	if err != nil {
		return nil, err
	}
	defer func() { _ = closer.Close() }()
	return store.DecodeMessage(v)
}

func beUint64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

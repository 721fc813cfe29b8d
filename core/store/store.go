package store

import (
	"errors"
	"time"

	"github.com/manifold-iot/manifold/core"
)

// Errors returned by stores.
var (
	// ErrFull is returned by Enqueue when node.persistence.max_disk_bytes is
	// reached: the message is not stored (the caller drops and counts it).
	ErrFull = errors.New("store: disk quota (node.persistence.max_disk_bytes) reached")
	// ErrNewerFormat is returned by Open for a data directory written by a
	// newer Manifold whose format this one does not know.
	ErrNewerFormat = errors.New("store: data directory has a newer format")
	// ErrCorrupt is returned by Open when the data directory cannot be read.
	ErrCorrupt = errors.New("store: data directory is corrupt or unreadable")
	// ErrClosed is returned by calls made after Close.
	ErrClosed = errors.New("store: closed")
)

// Fsync is the durability policy (node.persistence.fsync).
type Fsync uint8

// Durability policies.
const (
	// FsyncInterval commits every write batch to the write-ahead log at once
	// (a kill -9 loses nothing committed) and syncs it to disk at most
	// Options.SyncInterval later (a power loss may lose that much).
	FsyncInterval Fsync = iota
	// FsyncAlways syncs every batch before its tickets are released: a QoS 1
	// or 2 publish is acknowledged only once it is on disk.
	FsyncAlways
	// FsyncNever leaves syncing to the operating system.
	FsyncNever
)

// Options configure a store.
type Options struct {
	Fsync        Fsync
	SyncInterval time.Duration // FsyncInterval's period; 0 means 100 ms
	MaxDiskBytes int64         // bound on queued message bytes on disk; 0 means unlimited
	// MaxPendingBytes bounds the writes accepted and not yet committed; a
	// writer past it waits for the batch in progress. 0 means 64 MiB.
	MaxPendingBytes int64
}

// Phase is where a stored queue entry stands.
type Phase uint8

// Entry phases.
const (
	PhaseQueued Phase = iota // waiting to be sent (QoS 0/1/2), or a QoS 1 sent and not acknowledged
	PhaseRec                 // QoS 2 sent with PacketID, awaiting PUBREC
	PhaseComp                // QoS 2 PUBREC received, awaiting PUBCOMP (Msg is nil: only PUBREL is ever resent)
)

// Entry is one message in a persistent session's queue or QoS 2 inflight
// window, as stored.
type Entry struct {
	Seq        uint64        // per session, increasing in queue order; never 0
	Msg        *core.Message // nil in PhaseComp
	QoS        core.QoS      // delivery QoS
	Retain     bool          // retain flag to send
	SubIDs     []uint32      // MQTT 5 subscription identifiers
	Shared     string        // shared-subscription group key ("" if none)
	SharedBody bool          // the body is stored once for several sessions, by Msg.ID, reference counted
	PacketID   uint16        // PhaseRec and PhaseComp only
	Phase      Phase
}

// SessionRecord is a persistent session's own state.
type SessionRecord struct {
	ClientID       string
	Username       string
	Proto          string        // core.ClientInfo.Proto of the last connection
	Expiry         time.Duration // session expiry interval after disconnect
	DisconnectedAt time.Time     // zero while connected (a crash then counts from the restart)
}

// Subscription is one stored subscription of a session.
type Subscription struct {
	Filter string // as the client gave it, $share/ prefix included
	Opts   core.SubOptions
}

// RestoredSession is a persistent session as found at start.
type RestoredSession struct {
	Record        SessionRecord
	Subscriptions []Subscription
	AwaitingRel   map[uint16]time.Time // inbound QoS 2 packet ids awaiting PUBREL
	Inflight      []Entry              // QoS 2 deliveries in PhaseRec or PhaseComp, in Seq order
	Queued        int                  // entries in PhaseQueued; read them with LoadQueue
	FirstSeq      uint64               // smallest queued Seq (0 when Queued is 0)
	LastSeq       uint64               // largest Seq of any entry, queued or inflight (0 if none)
}

// Delayed is a stored $delayed message.
type Delayed struct {
	Msg *core.Message // its Topic is the $delayed/<secs>/<topic> the client used
	Due time.Time
}

// Restored is everything a store holds, read once at start.
type Restored struct {
	Sessions []RestoredSession
	Retained []*core.Message
	Delayed  []Delayed
}

// Stats describe a store.
type Stats struct {
	Sessions     int    // persistent sessions stored
	QueuedBytes  int64  // bytes of queued entries and bodies (counted against MaxDiskBytes)
	Bodies       int    // shared bodies stored (reference counted)
	Batches      uint64 // write batches committed
	Syncs        uint64 // syncs to disk
	DroppedFull  uint64 // Enqueue calls refused with ErrFull
	PendingBytes int64  // accepted, not yet committed
}

// Store is the node's durable state: persistent sessions (their records,
// subscriptions, queues, QoS 2 inflight, inbound awaiting-PUBREL ids),
// retained messages and delayed messages.
//
// Writes are appended to an ordered log and applied in batches by one writer:
// every write method returns at once (it waits only when MaxPendingBytes of
// writes are pending), and writes take effect in the order they were called.
// The caller orders writes of one session (it calls them with the session's
// lock held). Mark returns a Ticket for everything appended before it: the
// ticket drains once those writes are committed (and synced, under
// FsyncAlways); a QoS 1/2 publish to a persistent session is acknowledged
// only then.
//
// All methods are safe from any goroutine.
type Store interface {
	// PutSession writes a session's record (create or update).
	PutSession(r SessionRecord)
	// DeleteSession removes a session and everything it holds: record,
	// subscriptions, queue, inflight, awaiting-PUBREL ids; shared bodies lose
	// their references.
	DeleteSession(clientID string)
	// PutSubscription writes one subscription (create or replace).
	PutSubscription(clientID string, s Subscription)
	// DeleteSubscription removes one subscription.
	DeleteSubscription(clientID, filter string)

	// Enqueue appends e (PhaseQueued) to a session's stored queue. With
	// e.SharedBody the body is written once under e.Msg.ID and referenced;
	// otherwise it is stored inline. ErrFull: MaxDiskBytes is reached, nothing
	// was stored.
	Enqueue(clientID string, e *Entry) error
	// MarkSent records that a queued QoS 2 entry was sent with e.PacketID
	// (PhaseRec): it moves from the queue to the inflight window.
	MarkSent(clientID string, e *Entry)
	// MarkReleased records the client's PUBREC for an inflight entry
	// (PhaseComp); its body is no longer needed.
	MarkReleased(clientID string, seq uint64, packetID uint16, msgID uint64, sharedBody bool)
	// Remove deletes an entry that was acknowledged, dropped or expired:
	// inflight says it was in the inflight window (MarkSent), else the queue.
	// msgID and sharedBody let a shared body lose its reference.
	Remove(clientID string, seq uint64, inflight bool, msgID uint64, sharedBody bool)
	// PutAwaitingRel records an inbound QoS 2 packet id awaiting PUBREL.
	PutAwaitingRel(clientID string, packetID uint16, at time.Time)
	// DeleteAwaitingRel forgets one (PUBREL received, or timed out).
	DeleteAwaitingRel(clientID string, packetID uint16)

	// PutRetained stores the retained message for m.Topic; DeleteRetained
	// clears a topic's.
	PutRetained(m *core.Message)
	DeleteRetained(topic string)
	// PutDelayed stores a $delayed message until Due; DeleteDelayed removes it
	// once published (or dropped).
	PutDelayed(d Delayed)
	DeleteDelayed(due time.Time, msgID uint64)

	// Mark returns a ticket for every write appended before the call.
	Mark() Ticket
	// Flush waits until every write appended before the call is committed
	// and synced (used at shutdown and by tests).
	Flush() error

	// LoadQueue reads up to max queued entries (PhaseQueued) of a session
	// with Seq > after, in order, seeing every write appended before the
	// call, and passes them to done on another goroutine (done must not
	// block). Sessions use it to page in a queue that lives on disk.
	LoadQueue(clientID string, after uint64, max int, done func([]Entry, error))

	// Restore reads everything stored; called once, at start, before writes.
	Restore() (*Restored, error)
	// Stats describe the store now.
	Stats() Stats
	// Close flushes pending writes, syncs and closes. Later calls fail or do
	// nothing.
	Close() error
}

// Ticket is a point in a store's write log (see Store.Mark). It is a
// core.Backlog: Pressured reports the writes before it are not yet durable.
type Ticket interface {
	core.Backlog
}

// Package store is the persistence interface of the core: the durable state
// of persistent sessions (records, subscriptions, queued messages, QoS 2
// inflight windows, inbound QoS 2 ids awaiting PUBREL), retained messages and
// $delayed messages. The broker and the sessions write through Store as state
// changes and read everything back once, with Restore, at start. Two
// implementations: core/store/pebble (the default, embedded Pebble under
// node.data_dir) and core/store/memory (tests only; with node.persistence
// off the broker uses no store at all). core/store/storetest is the
// behaviour both must have.
//
// This package also holds the binary codec of what is stored (codec.go):
// messages, queue entries, session records, subscription options and times.
// Every encoding starts with a format version byte; decoders are bounds
// checked, copy out of their input (Pebble's buffers live only until the
// iterator moves) and fail with an error wrapping ErrMalformed.
//
// # Data flow
//
// A session calls the write methods with its lock held, so its writes are
// ordered; they return at once (they wait only while
// Options.MaxPendingBytes of writes are pending) and are applied in call
// order by one writer in batches (group commit). Before acknowledging a QoS
// 1/2 PUBLISH that went into a persistent session, the broker takes
// Mark() and waits for the Ticket to drain (core.Backlog). A session whose
// queue lives on disk pages it in with LoadQueue.
//
// # Durability (pebble)
//
// A ticket drains when every write before it is committed to Pebble's
// write-ahead log and handed to the kernel with write(2): it then survives
// kill -9 under every policy. FsyncAlways also fsyncs the WAL before the
// ticket drains (it survives power loss); FsyncInterval fsyncs at most
// Options.SyncInterval later (a power loss loses at most that); FsyncNever
// leaves it to the kernel. Flush and Close always fsync.
//
// Why the write(2) needs care: Pebble's LogWriter (record/log_writer.go in
// v2.1.7) copies a batch committed with pebble.NoSync into a 32 KiB block
// buffer in user space and returns; its flush goroutine writes a partial
// block to the file only when a sync is requested or the block is full. A
// NoSync commit can therefore be lost by kill -9 (run with NoSync commits,
// the kill test in core/store/pebble lost 97 of 2000 entries whose ticket
// had drained). Pebble's Options.WALMinSyncInterval does not help: it delays
// the commit itself until the next sync. So every writer
// round is committed with pebble.Sync, and under FsyncInterval and
// FsyncNever the store opens Pebble over a file system wrapper (walFS) whose
// WAL files (write category "pebble-wal") turn Sync/SyncData into "mark
// dirty": the commit returns once the LogWriter has written the block with
// write(2), without an fsync, and the store fsyncs dirty WAL files itself on
// its interval (and when Pebble closes a WAL file on rotation, and on Flush
// and Close). Sstables, MANIFEST and OPTIONS sync as Pebble asks.
//
// # Key layout (pebble)
//
// Every key starts with a one-byte keyspace. A client id is written as its
// length (uvarint) then its bytes: uvarint is prefix-free, so the keys of one
// client are never under another client's prefix ("a" and "ab", "a\x00").
// Integers are big-endian and fixed width so keys sort numerically.
//
//	V                           → format version, decimal ASCII ("1")
//	S client                    → SessionRecord (AppendSessionRecord)
//	U client filter             → core.SubOptions (AppendSubOptions)
//	A client pid(2)             → time the QoS 2 PUBLISH arrived (AppendTime)
//	Q client seq(8)             → queued entry (AppendEntry, PhaseQueued)
//	I client seq(8)             → QoS 2 inflight entry (AppendEntry, PhaseRec
//	                              with its body, PhaseComp without)
//	M msgid(8)                  → shared body (AppendMessage)
//	R topic                     → retained message (AppendMessage)
//	D due-unixnano(8) msgid(8)  → delayed message (AppendMessage); the key
//	                              orders them by due time
//
// where "client" is uvarint(len) + the id's bytes. An entry's body is either
// inline (the encoded message follows its header) or, with Entry.SharedBody,
// an 8-byte reference to an M key: a message fanned out to many offline
// sessions is stored once. The writer keeps the reference counts in memory
// (msg id → count; a body exists on disk iff its count > 0): the first
// Enqueue of a body writes it, Remove / MarkReleased / DeleteSession drop
// references and the last deletes it. Restore rebuilds the counts from the
// Q and I entry headers (without decoding bodies) and deletes bodies nothing
// references. DeleteSession drops the references of the client's Q entries
// (read after committing everything before it, and only when the writer
// counts shared ones among them) and inflight entries, then
// removes the client with one point delete (S) and range deletions over its
// U, A, Q and I prefixes.
//
// Open writes the version on a fresh store and refuses one whose version is
// newer than it knows with ErrNewerFormat (naming the path and both
// versions). An unreadable or damaged directory fails with ErrCorrupt, never
// an empty start: a path that is not a directory, a MANIFEST or OPTIONS file
// Pebble cannot read, and a database that exists without a V key (its
// write-ahead log was lost, or it is not a Manifold store). A value that
// does not decode is skipped and logged (store_*_unreadable); a session
// whose record does not decode is not restored but its keys are kept.
//
// # Disk quota
//
// Options.MaxDiskBytes bounds QueuedBytes: the encoded size (key + value) of
// queued and inflight entries plus shared bodies, each body counted once.
// Enqueue refuses with ErrFull, synchronously, when the entry would cross it
// (counted in Stats.DroppedFull). The pebble store counts removed entries at
// their client's average entry size (tracking each entry's size would cost
// memory per queued message); the count is exact again whenever a client's
// queue empties and is recomputed from disk at start. It measures data, not
// Pebble's files, which hold more until compactions reclaim deleted entries.
package store

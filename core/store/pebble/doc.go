// Package pebble is the default store.Store: an embedded Pebble database
// (github.com/cockroachdb/pebble/v2, pure Go, builds with CGO_ENABLED=0)
// under node.data_dir. The key layout, the codec and the durability
// guarantees are documented in core/store.
//
// # The writer
//
// One goroutine owns all writes. A write method encodes its key and value on
// the caller's goroutine, appends an op to a mutex-guarded pending slice
// (waiting on a condition variable while Options.MaxPendingBytes are
// pending) and signals the writer. The writer swaps the whole slice out,
// applies it as one Pebble batch (several past 4 MiB) and commits it with
// pebble.Sync (see core/store for why, and for the walFS wrapper that makes
// that sync a write(2) under FsyncInterval and FsyncNever), then drains the
// tickets up to that point: Mark returns the number of write ops appended so
// far, a ticket is Pressured while fewer are committed, and WhenDrained
// wakers are called by the writer with no lock held. Under FsyncInterval a
// separate goroutine fsyncs the WAL every Options.SyncInterval when it was
// written to, so a slow disk never holds up commits.
//
// Reads that must see earlier writes (LoadQueue, DeleteSession's reference
// scan, Restore) are ops too: the writer commits what it has so far and
// reads the database. LoadQueue reads with an iterator bounded to the
// client's Q keys after the given seq, decodes at most max entries (shared
// bodies fetched once per call) and calls done on a new goroutine.
//
// The writer also owns the shared body reference counts and the per-client
// byte accounting behind Options.MaxDiskBytes; both are rebuilt from disk by
// Restore, or before the first write if Restore is not called. Restore scans
// every keyspace once: sessions, subscriptions, awaiting-PUBREL ids and
// inflight entries are decoded, queued entries only counted from their key
// and entry header (a million queued messages restore in about a second
// without being held in memory), retained and delayed messages decoded.
// Entries of a client that has no session record, and bodies nothing
// references, are deleted and logged (store_restored).
//
// # Footprint
//
// Pebble runs with a 16 MiB memtable and a 32 MiB block cache (gateways);
// its informational log lines go to zerolog at debug, background errors,
// slow disks and write stalls at warn.
package pebble

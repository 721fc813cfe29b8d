// Package memory is an in-memory store.Store with the same semantics as the
// pebble store, for tests: maps guarded by one mutex, every write takes
// effect at once (tickets are always drained), LoadQueue calls done on a new
// goroutine, and MaxDiskBytes is enforced on the encoded sizes of entries and
// shared bodies (each counted once). Nothing survives the process; with
// node.persistence off the broker uses no store at all, so this package is
// not used in production. Reopen gives a new handle on the same contents to
// test what a durable store keeps across Close.
package memory

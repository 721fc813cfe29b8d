// Package adaptertest is the conformance kit every adapter's tests run: an
// in-memory Driver that runs a Channel exactly as the edge does (one
// goroutine, decode loop, Replies applied in order, timers, Notify and Post
// coalescing, Close exactly once), so protocol tests need no sockets, and
// checks that a channel keeps the contract of adapters.Channel. Context is
// the adapters.Context those tests run against: a real broker with a deny
// list in place of the policy chain.
package adaptertest

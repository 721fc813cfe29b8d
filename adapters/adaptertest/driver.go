package adaptertest

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
)

// Driver runs one Channel in memory the way the edge does. Feed gives it
// bytes from the peer, Pump runs what Notify, Post and due timers scheduled,
// and Output returns what the channel wrote. All methods are called from the
// test's goroutine; the Handle it gives the channel is safe from any
// goroutine, as the edge's is.
type Driver struct {
	t  testing.TB
	Ch adapters.Channel

	in     []byte
	out    []byte
	closed bool
	reason error

	handle *handle
	timers map[adapters.TimerID]time.Time
	now    time.Time
}

// handle is the Driver's adapters.Handle.
type handle struct {
	mu       sync.Mutex
	notified bool
	posts    []any
}

func (h *handle) Notify() { h.mu.Lock(); h.notified = true; h.mu.Unlock() }
func (h *handle) Post(ev any) {
	h.mu.Lock()
	h.posts = append(h.posts, ev)
	h.mu.Unlock()
}

// Dial makes a channel of adapter a for a connection from remote, and opens it.
func Dial(t testing.TB, a adapters.Adapter, ctx adapters.Context, remote string) *Driver {
	t.Helper()
	d := &Driver{t: t, handle: &handle{}, timers: map[adapters.TimerID]time.Time{}, now: time.Now()}
	ci := adapters.ConnInfo{
		Listener: "test:default",
		Local:    netip.MustParseAddrPort("127.0.0.1:1883"),
		Remote:   netip.MustParseAddrPort(remote),
		Handle:   d.handle,
	}
	ch, err := a.NewChannel(ci, ctx)
	if err != nil {
		t.Fatalf("NewChannel: %v", err)
	}
	d.Ch = ch
	d.apply(ch.Open())
	return d
}

// Closed reports whether the channel asked to close (or was closed), and why.
func (d *Driver) Closed() (bool, error) { return d.closed, d.reason }

// Feed passes bytes from the peer through the channel's codec, as the edge's
// read loop does.
func (d *Driver) Feed(b []byte) {
	d.t.Helper()
	if d.closed {
		return
	}
	d.in = append(d.in, b...)
	for len(d.in) > 0 && !d.closed {
		f, n, err := d.Ch.Codec().Decode(d.in)
		if errors.Is(err, codec.ErrIncomplete) {
			return
		}
		if err != nil {
			d.apply(d.Ch.HandleFrameError(err))
			if !d.closed {
				d.close(err) // the edge closes after a frame error, whatever the replies say
			}
			return
		}
		r := d.Ch.HandleIn(f)
		d.in = d.in[n:] // only after HandleIn: frames may reference the buffer
		d.apply(r)
	}
}

// Pump runs everything scheduled for the channel: deliveries after Notify
// (again while Replies.More), posted events, and timers due by now. It
// returns when nothing is left.
func (d *Driver) Pump() {
	d.t.Helper()
	for i := 0; !d.closed; i++ {
		if i > 100000 {
			d.t.Fatal("adaptertest: channel keeps asking for more deliveries")
		}
		d.handle.mu.Lock()
		notified, posts := d.handle.notified, d.handle.posts
		d.handle.notified, d.handle.posts = false, nil
		d.handle.mu.Unlock()
		for _, ev := range posts {
			if d.closed {
				return
			}
			d.apply(d.Ch.HandleEvent(ev))
		}
		if notified && !d.closed {
			r := d.Ch.HandleDeliver()
			if r.More {
				d.handle.Notify()
			}
			d.apply(r)
		}
		if !notified && len(posts) == 0 {
			return
		}
	}
}

// Advance moves the driver's clock on by dt and fires the timers due.
func (d *Driver) Advance(dt time.Duration) {
	d.t.Helper()
	d.now = d.now.Add(dt)
	for !d.closed {
		var due adapters.TimerID
		found := false
		for id, at := range d.timers {
			if !at.After(d.now) {
				due, found = id, true
				break
			}
		}
		if !found {
			return
		}
		delete(d.timers, due)
		d.apply(d.Ch.HandleTimeout(due, d.now))
	}
}

// TimerSet reports whether the channel has timer id armed, and when it fires.
func (d *Driver) TimerSet(id adapters.TimerID) (time.Time, bool) {
	at, ok := d.timers[id]
	return at, ok
}

// Output returns and forgets what the channel has written so far.
func (d *Driver) Output() []byte {
	b := d.out
	d.out = nil
	return b
}

// Hangup tells the channel the peer went away without a goodbye.
func (d *Driver) Hangup(reason error) {
	if !d.closed {
		d.close(reason)
	}
}

func (d *Driver) apply(r adapters.Replies) {
	d.t.Helper()
	for _, f := range r.Out {
		if raw, ok := adapters.RawBytes(f); ok {
			d.out = append(d.out, raw...)
			continue
		}
		b, err := d.Ch.Codec().Encode(d.out, f)
		if err != nil {
			d.t.Fatalf("adaptertest: channel returned a frame its codec cannot encode: %v (%T)", err, f)
		}
		d.out = b
	}
	for _, tm := range r.Timers {
		if tm.After <= 0 {
			delete(d.timers, tm.ID)
		} else {
			d.timers[tm.ID] = d.now.Add(tm.After)
		}
	}
	if r.Shutdown != nil {
		d.close(r.Shutdown)
	}
}

func (d *Driver) close(reason error) {
	d.closed, d.reason = true, reason
	d.timers = map[adapters.TimerID]time.Time{}
	d.Ch.Close(reason)
}

// String describes the driver's state for failure messages.
func (d *Driver) String() string {
	return fmt.Sprintf("closed=%v reason=%v pending-in=%d out=%d", d.closed, d.reason, len(d.in), len(d.out))
}

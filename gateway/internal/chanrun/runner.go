package chanrun

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
	"github.com/manifold-iot/manifold/gateway/edge"
)

// maxKeptBuffer is the largest inbound or outbound buffer a Runner keeps
// between events; a larger one is dropped once it is empty.
const maxKeptBuffer = 1 << 20

// Transport is the driver's side of a Runner: where encoded output goes.
type Transport interface {
	// Send writes one batch of output: b holds Config.Room bytes of
	// headroom at its head (for a header the driver fills in place), then
	// the encoded frames. b is the Runner's and is reused after Send
	// returns. A failed write is the driver's to handle, usually by calling
	// BeginClose; Send may be called again after that and should then write
	// nothing.
	Send(b []byte)
}

// Config is what a Runner needs to know about its connection.
type Config struct {
	// Log is the listener's logger (it carries the listener and proto fields).
	Log *zerolog.Logger
	// Peer is the remote address, the "peer" field of the Runner's log lines.
	Peer netip.AddrPort
	// Name prefixes the errors the Runner makes ("listener", "httpgw").
	Name string
	// Room is the headroom kept at the head of every Send's bytes.
	Room int
	// PerFrame sends every encoded frame on its own (a datagram transport)
	// instead of all of an event's output in one Send.
	PerFrame bool
	// MaxPosts bounds the events Post queues before the owner runs them;
	// more are dropped. 0 means no bound.
	MaxPosts int
	// MaxInbound bounds the unread bytes Decode keeps (an incomplete frame);
	// more is edge.ErrInboundTooLarge.
	MaxInbound int
}

// Runner drives one adapters.Channel from its connection's owner goroutine.
// Embed it in the driver's connection and call Init before handing it to
// the adapter as the connection's adapters.Handle. Notify and Post are safe
// from any goroutine; every other method is the owner goroutine's only.
type Runner struct {
	cfg Config
	t   Transport

	// Handle side: safe from any goroutine.
	notified atomic.Bool // a HandleDeliver is due; stays set once closing
	dead     atomic.Bool // closing: Post drops its event
	pmu      sync.Mutex
	posts    []any         // guarded by pmu
	wake     chan struct{} // capacity 1: "look at notified and posts"

	// owner-only
	ch      adapters.Channel
	in      []byte // unread inbound bytes (Decode): an incomplete frame at most, between events
	out     []byte // this event's output; out[:Room] is the headroom
	spare   []any
	timers  []timerSlot
	idleAt  time.Time // the edge's idle deadline; zero when off
	framed  bool      // Decode decoded a frame: the idle deadline is off
	tm      *time.Timer
	tmAt    time.Time // when tm fires; zero when stopped
	closing bool      // no channel call but Close from now on
	reason  error     // why, as BeginClose was first told
	chose   bool      // the channel or the driver chose to close
}

var _ adapters.Handle = (*Runner)(nil)

// timerSlot is one of the channel's timers; ids are few, so a slice.
type timerSlot struct {
	id    adapters.TimerID
	armed bool
	at    time.Time
}

// Init prepares r for its connection; t receives its output.
func (r *Runner) Init(cfg Config, t Transport) {
	r.cfg, r.t = cfg, t
	r.wake = make(chan struct{}, 1)
}

// Notify implements adapters.Handle: schedule HandleDeliver. Calls made
// before it runs are coalesced into one; the owner clears the flag just
// before HandleDeliver, so a Notify racing with it schedules another.
func (r *Runner) Notify() {
	if r.notified.CompareAndSwap(false, true) {
		r.signal()
	}
}

// Post implements adapters.Handle: schedule HandleEvent(ev). Events posted
// once the connection is closing, or beyond Config.MaxPosts, are dropped.
func (r *Runner) Post(ev any) {
	if r.dead.Load() {
		return
	}
	r.pmu.Lock()
	if r.cfg.MaxPosts > 0 && len(r.posts) >= r.cfg.MaxPosts {
		r.pmu.Unlock()
		return
	}
	r.posts = append(r.posts, ev)
	r.pmu.Unlock()
	r.signal()
}

func (r *Runner) signal() {
	select {
	case r.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// Refuse makes Notify and Post do nothing from now on: the adapter refused
// the connection, so no channel will run.
func (r *Runner) Refuse() {
	r.dead.Store(true)
	r.notified.Store(true)
}

// Start sets the channel r drives; call it once, before Run.
func (r *Runner) Start(ch adapters.Channel) {
	r.ch = ch
	r.tm = time.NewTimer(time.Hour)
	r.tm.Stop()
	r.out = make([]byte, r.cfg.Room, 512)
}

// SetIdle sets the edge's idle deadline, d from now: the connection closes
// with edge.ErrIdleTimeout unless Decode decodes a frame before then.
func (r *Runner) SetIdle(d time.Duration) {
	if d > 0 {
		r.idleAt = time.Now().Add(d)
	}
}

// Channel is the channel r drives.
func (r *Runner) Channel() adapters.Channel { return r.ch }

// Closing reports whether the connection has started closing.
func (r *Runner) Closing() bool { return r.closing }

// Reason is why the connection closes, as BeginClose was first told, and
// whether the channel or the driver chose it.
func (r *Runner) Reason() (reason error, chose bool) { return r.reason, r.chose }

// Run is the owner's event loop: it opens the channel, then serves the
// driver's inbound messages (onIn), wake-ups, timers and stop (which begins
// closing for stopReason) until the connection starts closing. The driver
// closes its transport and calls Close after.
func Run[M any](r *Runner, in <-chan M, onIn func(M), stop <-chan struct{}, stopReason error) {
	r.Apply(r.ch.Open())
	r.Flush()
	for !r.closing {
		r.rearm()
		select {
		case m := <-in:
			onIn(m)
		case <-r.wake:
			r.onWake()
		case <-r.tm.C:
			r.tmAt = time.Time{}
			r.onTimers()
		case <-stop:
			r.BeginClose(stopReason, false)
		}
	}
}

// Buffer appends inbound bytes of a stream for Decode.
func (r *Runner) Buffer(b []byte) { r.in = append(r.in, b...) }

// Decode hands every complete frame buffered to HandleIn; the consumed bytes
// are discarded only after the last HandleIn of the batch, because frames
// may point into the buffer. Bytes the codec cannot decode, or more unread
// bytes than Config.MaxInbound, close the connection after the channel's
// HandleFrameError replies.
func (r *Runner) Decode() {
	used := 0
	var frameErr error
	for used < len(r.in) && !r.closing {
		f, n, err := r.ch.Codec().Decode(r.in[used:])
		if err != nil {
			if !errors.Is(err, codec.ErrIncomplete) {
				frameErr = err
			}
			break
		}
		if n <= 0 || n > len(r.in)-used {
			frameErr = edge.ErrNoProgress
			break
		}
		used += n
		if !r.framed {
			r.framed = true
			r.idleAt = time.Time{}
		}
		r.Apply(r.ch.HandleIn(f))
	}
	if frameErr == nil && !r.closing && len(r.in)-used > r.cfg.MaxInbound {
		frameErr = edge.ErrInboundTooLarge
	}
	if frameErr != nil && !r.closing {
		if e := r.cfg.Log.Debug(); e.Enabled() {
			e.Err(frameErr).Str("peer", r.cfg.Peer.String()).Msg("parse_frame_failed")
		}
		// The connection closes whatever the replies say.
		if err := r.encode(r.ch.HandleFrameError(frameErr).Out); err != nil {
			frameErr = err
		}
		r.BeginClose(frameErr, true)
	}
	if r.closing {
		used = len(r.in)
	}
	n := copy(r.in, r.in[used:])
	r.in = r.in[:n]
	if n == 0 && cap(r.in) > maxKeptBuffer {
		r.in = nil
	}
}

// onWake runs the posted events, then one HandleDeliver if Notify asked;
// all their replies go out in one Send.
func (r *Runner) onWake() {
	r.pmu.Lock()
	posts := r.posts
	r.posts = r.spare
	r.pmu.Unlock()
	for i, ev := range posts {
		if !r.closing {
			r.Apply(r.ch.HandleEvent(ev))
		}
		posts[i] = nil
	}
	r.spare = posts[:0]
	if !r.closing && r.notified.Swap(false) {
		rep := r.ch.HandleDeliver()
		more := rep.More
		r.Apply(rep)
		if more && !r.closing && r.notified.CompareAndSwap(false, true) {
			// Again after whatever else is waiting: the select picks among
			// ready cases at random, so the peer's messages get their turn.
			r.signal()
		}
	}
	r.Flush()
}

// onTimers fires the timers that are due.
func (r *Runner) onTimers() {
	now := time.Now()
	if !r.idleAt.IsZero() && !now.Before(r.idleAt) {
		if e := r.cfg.Log.Debug(); e.Enabled() {
			e.Str("peer", r.cfg.Peer.String()).Msg("idle_timeout")
		}
		r.BeginClose(edge.ErrIdleTimeout, true)
		return
	}
	// HandleTimeout may set timers (append): index, never hold a pointer.
	for i := 0; i < len(r.timers) && !r.closing; i++ {
		if t := r.timers[i]; t.armed && !now.Before(t.at) {
			r.timers[i].armed = false
			r.Apply(r.ch.HandleTimeout(t.id, now))
		}
	}
	r.Flush()
}

// Apply encodes rep.Out and sets rep's timers, or starts closing if rep
// asks (Shutdown) or a frame cannot be encoded. Timers set with a Shutdown
// are moot. The output waits for Flush, unless Config.PerFrame.
func (r *Runner) Apply(rep adapters.Replies) {
	if err := r.encode(rep.Out); err != nil {
		r.BeginClose(err, true)
		return
	}
	if rep.Shutdown != nil {
		r.BeginClose(rep.Shutdown, true)
		return
	}
	now := time.Now()
	for _, t := range rep.Timers {
		r.setTimer(t, now)
	}
}

// encode appends frames to r.out: Raw as it is, anything else through the
// channel's codec.
func (r *Runner) encode(frames []codec.Frame) error {
	var cd codec.Codec
	for _, f := range frames {
		if raw, ok := adapters.RawBytes(f); ok {
			r.out = append(r.out, raw...)
		} else {
			if cd == nil {
				cd = r.ch.Codec()
			}
			b, err := cd.Encode(r.out, f)
			if err != nil {
				r.cfg.Log.Error().Err(err).Str("frame", fmt.Sprintf("%T", f)).
					Str("peer", r.cfg.Peer.String()).Msg("encode_frame_failed")
				return fmt.Errorf("%s: encode %T: %w", r.cfg.Name, f, err)
			}
			r.out = b
		}
		if r.cfg.PerFrame {
			r.Flush()
		}
	}
	return nil
}

// Flush sends the output encoded since the last Flush, if any, in one Send.
func (r *Runner) Flush() {
	if len(r.out) > r.cfg.Room {
		r.t.Send(r.out)
	}
	r.out = r.out[:r.cfg.Room]
	if cap(r.out) > maxKeptBuffer {
		r.out = make([]byte, r.cfg.Room, 512)
	}
}

// BeginClose stops every channel call but Close and records why the
// connection closes; the first reason wins. chose says the channel or the
// driver chose to close (rather than the peer or the socket).
func (r *Runner) BeginClose(reason error, chose bool) {
	if r.closing {
		return
	}
	r.closing = true
	r.reason, r.chose = reason, chose
	r.dead.Store(true)
	r.notified.Store(true) // Notify does nothing from now on
	r.timers = nil
	r.idleAt = time.Time{}
}

// setTimer sets, replaces or cancels one of the channel's timers.
func (r *Runner) setTimer(t adapters.Timer, now time.Time) {
	for i := range r.timers {
		if r.timers[i].id == t.ID {
			r.timers[i].armed = t.After > 0
			r.timers[i].at = now.Add(t.After)
			return
		}
	}
	if t.After > 0 {
		r.timers = append(r.timers, timerSlot{id: t.ID, armed: true, at: now.Add(t.After)})
	}
}

// rearm points the connection's one time.Timer at its earliest deadline.
func (r *Runner) rearm() {
	next := r.idleAt
	for _, t := range r.timers {
		if t.armed && (next.IsZero() || t.at.Before(next)) {
			next = t.at
		}
	}
	switch {
	case next.IsZero():
		if !r.tmAt.IsZero() {
			r.tm.Stop()
			r.tmAt = time.Time{}
		}
	case !next.Equal(r.tmAt):
		// Since Go 1.23 Reset discards an expiry not yet received.
		r.tm.Reset(time.Until(next))
		r.tmAt = next
	}
}

// Close gives the channel its last call, Close(reason), and logs the close;
// the driver calls it once, after Run, when its transport is done sending.
func (r *Runner) Close(reason error) {
	r.tm.Stop()
	if e := r.cfg.Log.Debug(); e.Enabled() {
		e.AnErr("reason", reason).Str("peer", r.cfg.Peer.String()).Msg("connection_closed")
	}
	r.ch.Close(reason)
}

package edge

import (
	"context"
	"time"

	"github.com/manifold-iot/manifold/adapters"
)

// Connection timers live on a min-heap per event loop, driven by one
// time.Timer per loop that is set for the earliest deadline. A timer costs a
// connection one small entry instead of a runtime timer and its closure
// (about 300 bytes less per idle connection), and arming, re-arming and
// cancelling are heap operations on the loop, with no lock and no trip
// through Execute per timer.

// timerKind says what a timer is for.
type timerKind uint8

const (
	timerChannel   timerKind = iota // one of the channel's (adapters.Timer)
	timerIdle                       // the edge's idle timeout (no frame yet)
	timerHandshake                  // the WebSocket handshake deadline
)

// timerEntry is one timer of a connection. Every field is loop-only.
type timerEntry struct {
	c    *conn
	due  int64 // nanoseconds since the loop's epoch
	idx  int32 // position in the loop's heap; -1 while not armed
	id   adapters.TimerID
	kind timerKind
}

func newTimer(c *conn, kind timerKind) *timerEntry {
	return &timerEntry{c: c, idx: -1, kind: kind}
}

// arm sets the timer to fire d from now, replacing an earlier setting.
func (e *timerEntry) arm(d time.Duration) {
	ls := e.c.ls
	e.due = int64(time.Since(ls.epoch) + d)
	if e.idx >= 0 {
		ls.fixTimer(int(e.idx))
	} else {
		e.idx = int32(len(ls.timers))
		ls.timers = append(ls.timers, e)
		ls.up(int(e.idx))
	}
	ls.setWheel()
}

// stop cancels the timer; it does nothing if the timer is not armed.
func (e *timerEntry) stop() {
	if e.idx < 0 {
		return
	}
	ls := e.c.ls
	i, last := int(e.idx), len(ls.timers)-1
	if i != last {
		ls.swap(i, last)
	}
	ls.timers[last] = nil
	ls.timers = ls.timers[:last]
	e.idx = -1
	if i != last {
		ls.fixTimer(i)
	}
	if len(ls.timers) == 0 {
		ls.timers = nil // a burst of connections is over: give the array back
	}
}

// setWheel makes sure the loop's timer fires by the earliest deadline. It is
// never moved later: an early tick finds nothing due and sets it again.
func (ls *loopState) setWheel() {
	if len(ls.timers) == 0 {
		return
	}
	due := ls.timers[0].due
	if ls.wheelArmed && ls.wheelDue <= due {
		return
	}
	ls.wheelArmed, ls.wheelDue = true, due
	d := time.Duration(due) - time.Since(ls.epoch)
	if ls.wheelTimer == nil {
		ls.wheelTimer = time.AfterFunc(d, ls.tick.expired)
	} else {
		ls.wheelTimer.Reset(d)
	}
}

// timerTick carries the loop timer's expiry to the loop.
type timerTick struct{ ls *loopState }

// expired runs on the timer's goroutine.
func (t *timerTick) expired() { _ = t.ls.el.Execute(bg, t) }

// Run fires every timer that is due, on the loop.
func (t *timerTick) Run(context.Context) error {
	ls := t.ls
	ls.wheelArmed = false
	now := time.Now()
	at := int64(now.Sub(ls.epoch))
	for len(ls.timers) > 0 && ls.timers[0].due <= at {
		e := ls.timers[0]
		e.stop()
		e.fire(now) // may arm timers again, this one included
	}
	ls.setWheel()
	return nil
}

// The heap: timers[i].due <= the due of its children 2i+1 and 2i+2.

func (ls *loopState) swap(i, j int) {
	h := ls.timers
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = int32(i), int32(j)
}

func (ls *loopState) fixTimer(i int) {
	if !ls.down(i) {
		ls.up(i)
	}
}

func (ls *loopState) up(i int) {
	h := ls.timers
	for i > 0 {
		p := (i - 1) / 2
		if h[p].due <= h[i].due {
			return
		}
		ls.swap(i, p)
		i = p
	}
}

// down sifts i down and reports whether it moved.
func (ls *loopState) down(i int) bool {
	h := ls.timers
	start := i
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h[r].due < h[l].due {
			m = r
		}
		if h[i].due <= h[m].due {
			break
		}
		ls.swap(i, m)
		i = m
	}
	return i > start
}

package edge

import (
	"context"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
)

const (
	// drainBudget is how many drains one loop runs before it polls its
	// sockets again. gnet runs every task queued by Execute, including
	// tasks queued while it runs them, before it polls again; a connection
	// with a deep backlog re-queueing itself, or producers on other cores
	// notifying faster than the loop drains, would starve the loop's reads.
	// Past the budget drains wait in the ready list for the next I/O pass.
	drainBudget = 64
	// pollInterval is how often a loop re-checks connections parked on the
	// outbound bound or lingering to close. gnet has no "written" callback.
	pollInterval = 5 * time.Millisecond
	// yieldFallback delays deferred drains while the loop has no wake
	// socket (the short moment after its first connection).
	yieldFallback = 100 * time.Microsecond
	// closeLinger bounds how long a closing connection waits for its last
	// bytes to be sent.
	closeLinger = 5 * time.Second
	// peerCloseWait bounds how long a closing WebSocket waits for the
	// peer's close frame.
	peerCloseWait = time.Second
	// maxKeptOut is the largest output buffer a loop keeps for reuse.
	maxKeptOut = 1 << 20
	// maxKeptApp and maxFreeApps bound the WebSocket application buffers
	// a loop keeps for reuse.
	maxKeptApp  = 64 << 10
	maxFreeApps = 64
)

var wakeByte = []byte{1}

// loopState is what the edge keeps per gnet event loop. All fields but the
// immutable ones (s, el) are touched only on that loop.
type loopState struct {
	s  *Server
	el gnet.EventLoop

	// out is the loop's output buffer: every write of every connection on
	// the loop is encoded here, then copied by gnet (to the socket, or to
	// the connection's outbound buffer), so no connection keeps a buffer.
	out []byte

	// freeApps are WebSocket application buffers (the start of an MQTT
	// packet spread over frames) of connections that caught up; a
	// connection holds one only while a packet is incomplete.
	freeApps [][]byte

	// rx and tx count the bytes the loop's connections consumed and
	// wrote: written on the loop, read by Server.Traffic.
	rx, tx atomic.Uint64

	streak        int     // drains since the loop last polled its sockets
	ready, ready2 []*conn // deferred to the next I/O pass
	parked, park2 []*conn // waiting for the outbound buffer to fall, or lingering

	timer      *time.Timer
	timerArmed bool
	timerDue   time.Time

	// Connection timers (see timers.go), loop-only but for wheelTimer.
	timers     []*timerEntry // a min-heap by due
	epoch      time.Time     // what due counts from
	wheelTimer *time.Timer   // set for timers[0]
	wheelArmed bool
	wheelDue   int64
	tick       timerTick

	// The wake socket: one end of a socket pair enrolled in the loop, so
	// a byte written to the other end is an I/O event of this loop. It is
	// how deferred drains yield to the loop's sockets and come back right
	// after them, without a timer.
	enrolled bool
	wake     gnet.Conn
	wakeFD   int
	poked    bool
}

func newLoopState(s *Server, el gnet.EventLoop) *loopState {
	ls := &loopState{s: s, el: el, wakeFD: -1, epoch: time.Now()}
	ls.tick.ls = ls
	return ls
}

// take lends the loop's output buffer (empty); keep gives it back.
func (ls *loopState) take() []byte {
	b := ls.out
	ls.out = nil
	return b[:0]
}

func (ls *loopState) keep(b []byte) {
	if cap(b) <= maxKeptOut && cap(b) > cap(ls.out) {
		ls.out = b[:0]
	}
}

// getApp lends an empty application buffer (nil if none is kept); putApp
// gives one back.
func (ls *loopState) getApp() []byte {
	n := len(ls.freeApps)
	if n == 0 {
		return nil
	}
	b := ls.freeApps[n-1]
	ls.freeApps[n-1] = nil
	ls.freeApps = ls.freeApps[:n-1]
	return b
}

func (ls *loopState) putApp(b []byte) {
	if cap(b) > 0 && cap(b) <= maxKeptApp && len(ls.freeApps) < maxFreeApps {
		ls.freeApps = append(ls.freeApps, b[:0])
	}
}

// later defers c's drain to the loop's next I/O pass.
func (ls *loopState) later(c *conn) {
	if !c.ready {
		c.ready = true
		ls.ready = append(ls.ready, c)
	}
	if ls.poked {
		return
	}
	if ls.wake != nil {
		if _, err := syscall.Write(ls.wakeFD, wakeByte); err == nil || err == syscall.EAGAIN {
			ls.poked = true
			return
		}
	}
	ls.arm(yieldFallback)
}

// runReady drains the connections deferred to this pass.
func (ls *loopState) runReady() {
	list := ls.ready
	ls.ready = ls.ready2[:0]
	for i, c := range list {
		list[i] = nil
		if !c.ready {
			continue
		}
		c.ready = false
		c.deliver()
	}
	ls.ready2 = list[:0]
}

// park puts c on the list the loop re-checks every d (at most).
func (ls *loopState) park(c *conn, d time.Duration) {
	if !c.parked {
		c.parked = true
		ls.parked = append(ls.parked, c)
	}
	ls.arm(d)
}

// arm makes sure the loop ticks within d.
func (ls *loopState) arm(d time.Duration) {
	due := time.Now().Add(d)
	if ls.timerArmed && !due.Before(ls.timerDue) {
		return
	}
	ls.timerArmed, ls.timerDue = true, due
	if ls.timer == nil {
		ls.timer = time.AfterFunc(d, ls.expired)
	} else {
		ls.timer.Reset(d)
	}
}

// expired runs on the timer's goroutine.
func (ls *loopState) expired() { _ = ls.el.Execute(bg, ls) }

// Run is the loop's tick: it re-checks parked connections and runs deferred
// drains nobody woke. A stale tick (the timer was re-armed as it fired) only
// checks early.
func (ls *loopState) Run(context.Context) error {
	ls.timerArmed = false
	ls.streak = 0
	now := time.Now()
	list := ls.parked
	ls.parked = ls.park2[:0]
	for i, c := range list {
		list[i] = nil
		if !c.parked {
			continue
		}
		c.parked = false
		c.resume(now)
	}
	ls.park2 = list[:0]
	if len(ls.ready) > 0 && !ls.poked {
		ls.runReady()
	}
	return nil
}

// enrollWake makes the loop's wake socket. Until gnet has registered it (an
// OnOpen with the loopState as context), deferred drains use the timer.
func (ls *loopState) enrollWake() {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		ls.s.log.Warn().Err(err).Msg("wake_socket_failed")
		return
	}
	f := os.NewFile(uintptr(fds[0]), "edge-wake")
	nc, err := net.FileConn(f) // duplicates the descriptor
	_ = f.Close()
	if err != nil {
		_ = syscall.Close(fds[1])
		ls.s.log.Warn().Err(err).Msg("wake_socket_failed")
		return
	}
	// gnet duplicates nc's descriptor into the loop and closes nc.
	if _, err := ls.el.Enroll(gnet.NewContext(bg, ls), nc); err != nil {
		_ = nc.Close()
		_ = syscall.Close(fds[1])
		ls.s.log.Debug().Err(err).Msg("wake_socket_failed")
		return
	}
	ls.wakeFD = fds[1]
}

func (ls *loopState) wakeOpened(gc gnet.Conn) { ls.wake = gc }

func (ls *loopState) wakeClosed() { ls.wake = nil }

// onWake is the wake socket's OnTraffic: the loop has just polled its
// sockets, so the deferred drains run now.
func (ls *loopState) onWake(gc gnet.Conn) {
	_, _ = gc.Discard(-1)
	ls.poked = false
	ls.streak = 0
	ls.runReady()
}

// release runs after the loop has exited (gnet.Run returned).
func (ls *loopState) release() {
	if ls.timer != nil {
		ls.timer.Stop()
	}
	if ls.wheelTimer != nil {
		ls.wheelTimer.Stop()
	}
	ls.timers = nil
	if ls.wakeFD >= 0 {
		_ = syscall.Close(ls.wakeFD)
		ls.wakeFD = -1
	}
	ls.ready, ls.ready2, ls.parked, ls.park2 = nil, nil, nil, nil
	ls.freeApps = nil
}

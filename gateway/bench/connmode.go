package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// settle is how long conn mode waits after the last CONNACK before reading
// the broker's RSS, so its allocations for the last connections are in.
const settle = 2 * time.Second

// idleConn is one held connection: only its socket (and, for WebSocket, the
// frame writer for pings), no goroutine and no buffer.
type idleConn struct {
	nc net.Conn
	w  io.Writer
}

// runConn opens cfg.Clients idle connections at cfg.ConnRate, holds them for
// cfg.Duration (pinging every keep-alive/2) and reports CONNACK/s and, with
// --pid, the broker's RSS per connection.
func runConn(ctx context.Context, cfg *Config, d *dialer, progress io.Writer) (*Result, error) {
	res := newResult(cfg)
	if _, hard := fdLimit(); hard > 0 && uint64(cfg.Clients)+64 > hard {
		return nil, fmt.Errorf("-c: %d connections need more file descriptors than the limit %d: raise `ulimit -n` (hard limit) for this shell and the broker", cfg.Clients, hard)
	}
	var before procSample
	if cfg.PID > 0 {
		var err error
		if before, err = sampleProc(cfg.PID); err != nil {
			return nil, err
		}
	}
	genBefore := selfCPU()
	rid, _ := runID()
	conns := make([]idleConn, cfg.Clients)
	var hist Histogram
	var next, connected, failed atomic.Int64
	var firstErr atomic.Pointer[error]
	var abort atomic.Bool
	start := time.Now()
	var wg sync.WaitGroup
	for range min(cfg.Workers, cfg.Clients) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !abort.Load() && ctx.Err() == nil {
				k := next.Add(1) - 1
				if k >= int64(cfg.Clients) {
					return
				}
				if cfg.ConnRate > 0 {
					at := start.Add(time.Duration(float64(k) / cfg.ConnRate * float64(time.Second)))
					if wait := time.Until(at); wait > 0 {
						time.Sleep(wait)
					}
				}
				t0 := time.Now()
				rc, err := d.dial(ctx)
				if err == nil {
					if _, err = handshake(rc, cfg, fmt.Sprintf("%s-conn-%s-%d", cfg.Prefix, rid, cfg.StartIndex+int(k))); err != nil {
						rc.nc.Close()
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					if errors.Is(err, errTooManyFiles) {
						abort.Store(true) // every later attempt would fail the same way
					}
					continue
				}
				hist.Record(int64(time.Since(t0)))
				conns[k] = idleConn{nc: rc.nc, w: rc.w}
				connected.Add(1)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, lastAt := int64(0), start
	line := func(phase string) {
		if progress == nil {
			return
		}
		now := time.Now()
		c := connected.Load()
		fmt.Fprintf(progress, "%5.0fs  %s  connected %7.0f/s %8d  failed %d\n", now.Sub(start).Seconds(), phase,
			float64(c-last)/now.Sub(lastAt).Seconds(), c, failed.Load())
		last, lastAt = c, now
	}
connecting:
	for {
		select {
		case <-done:
			break connecting
		case <-tick.C:
			line("connecting")
		}
	}
	res.ConnectTime = time.Since(start)
	res.Connected, res.Failed = int(connected.Load()), int(failed.Load())
	if e := firstErr.Load(); e != nil {
		res.FirstError = (*e).Error()
	}
	if res.ConnectTime > 0 {
		res.ConnackRate = float64(res.Connected) / res.ConnectTime.Seconds()
	}
	var snap Snapshot
	hist.AddTo(&snap)
	res.ConnLatency = latencyOf(&snap)

	// Hold: settle, measure, keep alive until the duration is over.
	holdStart := time.Now()
	var connectedRSS procSample
	measured := cfg.PID == 0
	lastPing := holdStart
	hold := cfg.Duration
	if res.Connected == 0 {
		hold = time.Millisecond // nothing to hold
	} else if cfg.PID > 0 {
		hold = max(hold, settle)
	}
	holdEnd := time.NewTimer(hold)
	defer holdEnd.Stop()
holding:
	for {
		select {
		case <-ctx.Done():
			break holding
		case <-holdEnd.C:
			break holding
		case <-tick.C:
			line("holding")
			if !measured && time.Since(holdStart) >= settle {
				connectedRSS, _ = sampleProc(cfg.PID)
				measured = true
			}
			if cfg.KeepAlive > 0 && time.Since(lastPing) >= time.Duration(cfg.KeepAlive)*time.Second/2 {
				for _, c := range conns {
					if c.nc != nil {
						_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
						_, _ = c.w.Write(pingreq[:])
					}
				}
				lastPing = time.Now()
			}
		}
	}
	if !measured {
		connectedRSS, _ = sampleProc(cfg.PID)
	}
	for _, c := range conns {
		if c.nc != nil && alive(c.nc) {
			res.Alive++
		}
	}
	for _, c := range conns {
		if c.nc != nil {
			_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.w.Write(disconnectPkt[:])
			_ = c.nc.Close()
		}
	}
	res.Elapsed = time.Since(start)
	res.GenCPU = selfCPU() - genBefore
	if cfg.PID > 0 {
		after, err := sampleProc(cfg.PID)
		if err == nil {
			res.Broker = &BrokerFigures{CPU: connectedRSS.CPU - before.CPU, RSSBeforeKB: before.RSSKB, RSSConnectedKB: connectedRSS.RSSKB, RSSAfterKB: after.RSSKB}
		}
	}
	if res.Connected == 0 && res.FirstError != "" {
		return res, fmt.Errorf("no connection opened: %s", res.FirstError)
	}
	return res, nil
}

// alive reports whether the broker still holds a connection open: a
// non-blocking MSG_PEEK read sees no end of stream.
func alive(nc net.Conn) bool {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := true
	var b [1]byte
	_ = raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if n == 0 && err == nil {
			open = false // orderly shutdown by the peer
		} else if err != nil && !errors.Is(err, syscall.EAGAIN) {
			open = false
		}
		return true
	})
	return open
}

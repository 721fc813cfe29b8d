package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Run executes one bench run and returns its figures. Progress lines go to
// progress (nil: none). Cancelling ctx ends the run early with the figures so
// far.
func Run(ctx context.Context, cfg *Config, progress io.Writer) (*Result, error) {
	if cfg.Quiet {
		progress = nil
	}
	d, err := newDialer(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Mode == ModeConn {
		return runConn(ctx, cfg, d, progress)
	}
	return runMessages(ctx, cfg, d, progress)
}

// runID tells this run's client ids (and, in pubsub, payloads) from others.
func runID() (string, uint32) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:3]), binary.BigEndian.Uint32(b[:])
}

// connectAll opens n clients with at most cfg.Workers attempts at once and
// returns them in index order, or the first error (closing what was opened).
func connectAll(ctx context.Context, cfg *Config, d *dialer, n int, id func(i int) string) ([]*client, error) {
	clients := make([]*client, n)
	errs := make([]error, n)
	sem := make(chan struct{}, cfg.Workers)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			rc, err := d.dial(ctx)
			var recvMax uint16
			if err == nil {
				if recvMax, err = handshake(rc, cfg, id(i)); err != nil {
					rc.nc.Close()
				}
			}
			if err != nil {
				errs[i] = fmt.Errorf("client %s: %w", id(i), err)
				return
			}
			clients[i] = newClient(rc, cfg.Version)
			clients[i].recvMax = recvMax
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, c := range clients {
			if c != nil {
				c.rc.nc.Close()
			}
		}
		return nil, firstErr(errs)
	}
	return clients, nil
}

func firstErr(errs []error) error {
	n := 0
	var first error
	for _, e := range errs {
		if e != nil {
			if first == nil {
				first = e
			}
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("%w (and %d more connections failed)", first, n-1)
	}
	return first
}

// runMessages runs pub, sub and pubsub.
func runMessages(ctx context.Context, cfg *Config, d *dialer, progress io.Writer) (*Result, error) {
	rid, rmagic := runID()
	magic := Magic
	if cfg.Mode == ModePubSub {
		magic = rmagic
	}
	res := newResult(cfg)
	if cfg.PID > 0 { // fail before connecting anything
		if _, err := sampleProc(cfg.PID); err != nil {
			return nil, err
		}
	}

	// Subscribers first, so nothing published is missed.
	nsub, npub := cfg.Subscribers(), cfg.Publishers()
	subTopic := cfg.Topic
	if cfg.Mode == ModePubSub {
		subTopic = cfg.SubTopic
	}
	subID := func(i int) string { return fmt.Sprintf("%s-sub-%s-%d", cfg.Prefix, rid, cfg.StartIndex+i) }
	subClients, err := connectAll(ctx, cfg, d, nsub, subID)
	if err != nil {
		return nil, fmt.Errorf("connecting subscribers: %w", err)
	}
	subs := make([]*subscriber, nsub)
	for i, cl := range subClients {
		s := &subscriber{cl: cl, filter: Expand(subTopic, cfg.StartIndex+i, subID(i)), magic: magic, done: make(chan struct{})}
		if err := cl.subscribe(s.filter, cfg.SubQoS); err != nil {
			for _, c := range subClients {
				c.rc.nc.Close()
			}
			return nil, fmt.Errorf("subscriber %s: %w", subID(i), err)
		}
		subs[i] = s
	}
	pubID := func(i int) string { return fmt.Sprintf("%s-pub-%s-%d", cfg.Prefix, rid, cfg.StartIndex+i) }
	pubClients, err := connectAll(ctx, cfg, d, npub, pubID)
	if err != nil {
		for _, c := range subClients {
			c.rc.nc.Close()
		}
		return nil, fmt.Errorf("connecting publishers: %w", err)
	}
	every := cfg.Interval
	if cfg.Rate > 0 {
		every = time.Duration(float64(npub) / cfg.Rate * float64(time.Second))
	}
	pubs := make([]*publisher, npub)
	for i, cl := range pubClients {
		p := &publisher{
			cl: cl, id: uint32(cfg.StartIndex + i), topic: Expand(cfg.Topic, cfg.StartIndex+i, pubID(i)),
			qos: cfg.QoS, every: every, phase: every * time.Duration(i) / time.Duration(npub),
			magic: magic, done: make(chan struct{}),
		}
		if cfg.Limit > 0 {
			p.count = cfg.Limit / uint64(npub)
			if uint64(i) < cfg.Limit%uint64(npub) {
				p.count++
			}
		}
		if cfg.QoS > 0 {
			// MQTT 5.0 §4.9: never more unacknowledged QoS 1/2 publishes than
			// the broker's Receive Maximum.
			window := min(cfg.Inflight, int(cl.recvMax))
			p.free = make(chan uint16, window)
			for id := 1; id <= window; id++ {
				p.free <- uint16(id)
			}
		}
		pubs[i] = p
	}

	// Go. The broker's CPU is counted from here: connecting and
	// subscribing are not part of the per-message cost.
	var before procSample
	if cfg.PID > 0 {
		before, _ = sampleProc(cfg.PID)
	}
	genBefore := selfCPU()
	if cfg.ready != nil {
		cfg.ready()
	}
	for _, s := range subs {
		go s.run()
	}
	for _, p := range pubs {
		go p.readAcks()
	}
	var stop atomic.Bool
	stopCh := make(chan struct{})
	var stopOnce sync.Once
	halt := func() {
		stopOnce.Do(func() {
			stop.Store(true)
			close(stopCh)
			// A publisher blocked in a write because the broker stopped
			// reading gets a second more, then gives up: what it could not
			// write is not counted as sent.
			for _, c := range pubClients {
				_ = c.rc.nc.SetWriteDeadline(time.Now().Add(time.Second))
			}
		})
	}
	start := time.Now()
	stall := cfg.Drain
	if stall <= 0 {
		stall = 10 * time.Second
	}
	var pubWG sync.WaitGroup
	for _, p := range pubs {
		pubWG.Add(1)
		go func() { defer pubWG.Done(); p.run(start, &stop, stopCh, stall, cfg.Size, cfg.Version) }()
	}
	pubsDone := make(chan struct{})
	go func() { pubWG.Wait(); close(pubsDone) }()

	prog := newProgress(progress, start, pubs, subs)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var deadline <-chan time.Time
	if cfg.Duration > 0 {
		t := time.NewTimer(cfg.Duration)
		defer t.Stop()
		deadline = t.C
	}
	keepAlive := func(now time.Time) {
		for _, c := range pubClients {
			c.pingIfIdle(cfg.KeepAlive, now)
		}
		for _, c := range subClients {
			c.pingIfIdle(cfg.KeepAlive, now)
		}
	}

	// Publish phase (sub mode: the whole receive phase).
	var limitPoll <-chan time.Time
	if cfg.Mode == ModeSub && cfg.Limit > 0 {
		lp := time.NewTicker(20 * time.Millisecond)
		defer lp.Stop()
		limitPoll = lp.C
	}
	publishing := true
	pd := pubsDone
	for publishing {
		select {
		case <-ctx.Done():
			halt()
			publishing = false
		case <-deadline:
			halt()
			publishing = false
		case <-pd:
			pd = nil
			if npub > 0 {
				publishing = false
			}
		case now := <-tick.C:
			prog.line()
			keepAlive(now)
		case <-limitPoll:
			if sumSubs(subs, func(s *subscriber) uint64 { return s.recv.Load() }) >= cfg.Limit {
				publishing = false
			}
		}
	}
	halt()
	<-pubsDone
	pubEnd := time.Now()
	for _, c := range pubClients {
		_ = c.rc.nc.SetWriteDeadline(time.Time{}) // QoS 2 still sends PUBREL while draining
	}

	// Drain: wait for acknowledgements and deliveries, at most cfg.Drain, and
	// no longer than cfg.Idle without progress.
	fanout := deliveriesPerMessage(cfg, pubs, subs)
	expectedNow := func() uint64 {
		var n uint64
		for i, p := range pubs {
			n += fanout[i] * p.sent.Load()
		}
		return n
	}
	if npub > 0 {
		drainEnd := time.After(cfg.Drain)
		poll := time.NewTicker(20 * time.Millisecond)
		defer poll.Stop()
		lastProgress, lastCount := time.Now(), uint64(0)
	drain:
		for {
			acked, sent := uint64(0), uint64(0)
			for _, p := range pubs {
				sent += p.sent.Load()
				acked += p.acked.Load()
			}
			recv := sumSubs(subs, func(s *subscriber) uint64 { return s.unique.Load() })
			if (cfg.QoS == 0 || acked >= sent) && (nsub == 0 || recv >= expectedNow()) {
				break
			}
			if c := acked + recv; c != lastCount {
				lastCount, lastProgress = c, time.Now()
			} else if time.Since(lastProgress) >= cfg.Idle {
				break
			}
			select {
			case <-ctx.Done():
				break drain
			case <-drainEnd:
				break drain
			case now := <-tick.C:
				prog.line()
				keepAlive(now)
			case <-poll.C:
			}
		}
	}
	end := time.Now()

	// Close and collect.
	for _, c := range pubClients {
		c.disconnect()
	}
	for _, c := range subClients {
		c.disconnect()
	}
	for _, p := range pubs {
		<-p.done
	}
	for _, s := range subs {
		<-s.done
	}
	if cfg.PID > 0 {
		after, err := sampleProc(cfg.PID)
		if err == nil {
			res.Broker = &BrokerFigures{CPU: after.CPU - before.CPU, RSSBeforeKB: before.RSSKB, RSSAfterKB: after.RSSKB}
		}
	}
	res.GenCPU = selfCPU() - genBefore
	res.collect(start, pubEnd, end, pubs, subs, expectedNow())
	return res, nil
}

func sumSubs(subs []*subscriber, f func(*subscriber) uint64) uint64 {
	var n uint64
	for _, s := range subs {
		n += f(s)
	}
	return n
}

// deliveriesPerMessage is, in pubsub mode, how many deliveries one message
// of each publisher should make: one per matching non-shared subscription
// and one per matching shared group. Other modes count no expectation.
func deliveriesPerMessage(cfg *Config, pubs []*publisher, subs []*subscriber) []uint64 {
	per := make([]uint64, len(pubs))
	if cfg.Mode != ModePubSub {
		return per
	}
	for i, p := range pubs {
		groups := map[string]bool{}
		for _, s := range subs {
			g, f := shareGroup(s.filter)
			if !Match(f, p.topic) {
				continue
			}
			if g == "" {
				per[i]++
			} else if !groups[g] {
				groups[g] = true
				per[i]++
			}
		}
	}
	return per
}

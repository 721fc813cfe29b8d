package adaptertest

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
)

// Fixture is what the conformance kit needs to know about one adapter.
type Fixture struct {
	// New returns the adapter and a Context for one test (a fresh core).
	New func(t *testing.T) (adapters.Adapter, adapters.Context)
	// Hello is a valid opening exchange from a peer (an MQTT CONNECT, a
	// STOMP CONNECT frame); after it the channel must have written
	// something and must still be open.
	Hello []byte
	// Garbage is bytes the codec rejects after Hello.
	Garbage []byte
}

// Run checks that the adapter keeps the contract of adapters.Channel:
//   - Open's timers are well formed and the channel survives every prefix
//     of Hello (ErrIncomplete is not an error);
//   - after Hello the channel answers and stays open;
//   - undecodable input closes the channel, and Close is called exactly once
//     and is the last call;
//   - Notify and Post from other goroutines are safe (run it with -race);
//   - random input never panics and every frame the channel returns can be
//     encoded by its codec.
func Run(t *testing.T, f Fixture) {
	t.Run("open and hello byte by byte", func(t *testing.T) {
		a, ctx := f.New(t)
		d := Dial(t, a, ctx, "127.0.0.1:40001")
		for i := range f.Hello {
			d.Feed(f.Hello[i : i+1])
			if closed, reason := d.Closed(); closed {
				t.Fatalf("closed after %d of %d hello bytes: %v", i+1, len(f.Hello), reason)
			}
		}
		if len(d.Output()) == 0 {
			t.Fatal("no answer to the hello")
		}
	})
	t.Run("garbage closes exactly once", func(t *testing.T) {
		a, ctx := f.New(t)
		cc := &closeCounter{}
		d := Dial(t, wrap(a, cc), ctx, "127.0.0.1:40002")
		d.Feed(f.Hello)
		d.Feed(f.Garbage)
		if closed, _ := d.Closed(); !closed {
			t.Fatal("undecodable input did not close the channel")
		}
		d.Pump()
		d.Advance(time.Hour)
		if n, after := cc.counts(); n != 1 || after != 0 {
			t.Fatalf("Close called %d times, %d calls after it; want 1 and 0", n, after)
		}
	})
	t.Run("notify and post from other goroutines", func(t *testing.T) {
		a, ctx := f.New(t)
		d := Dial(t, a, ctx, "127.0.0.1:40003")
		d.Feed(f.Hello)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 100 {
					d.handle.Notify()
					d.handle.Post(struct{}{})
				}
			})
		}
		for range 50 {
			d.Pump()
		}
		wg.Wait()
		d.Pump()
		if closed, reason := d.Closed(); closed {
			t.Fatalf("an unknown event or a spurious Notify closed the channel: %v", reason)
		}
	})
	t.Run("random input never panics", func(t *testing.T) {
		a, ctx := f.New(t)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range 300 {
			d := Dial(t, a, ctx, "127.0.0.1:40004")
			if i%2 == 0 {
				d.Feed(f.Hello)
			}
			b := make([]byte, r.IntN(64))
			for j := range b {
				b[j] = byte(r.UintN(256))
			}
			d.Feed(b)
			d.Hangup(errors.New("adaptertest: done"))
		}
	})
}

// closeCounter counts Close calls and calls made after Close.
type closeCounter struct {
	mu            sync.Mutex
	closes, after int
}

func (c *closeCounter) counts() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closes, c.after
}

func (c *closeCounter) call() {
	c.mu.Lock()
	if c.closes > 0 {
		c.after++
	}
	c.mu.Unlock()
}

type countingAdapter struct {
	adapters.Adapter
	cc *closeCounter
}

func wrap(a adapters.Adapter, cc *closeCounter) adapters.Adapter { return countingAdapter{a, cc} }

func (a countingAdapter) NewChannel(ci adapters.ConnInfo, ctx adapters.Context) (adapters.Channel, error) {
	ch, err := a.Adapter.NewChannel(ci, ctx)
	if err != nil {
		return nil, err
	}
	return &countingChannel{Channel: ch, cc: a.cc}, nil
}

type countingChannel struct {
	adapters.Channel
	cc *closeCounter
}

func (c *countingChannel) Codec() codec.Codec { c.cc.call(); return c.Channel.Codec() }
func (c *countingChannel) HandleIn(f codec.Frame) adapters.Replies {
	c.cc.call()
	return c.Channel.HandleIn(f)
}
func (c *countingChannel) HandleFrameError(err error) adapters.Replies {
	c.cc.call()
	return c.Channel.HandleFrameError(err)
}
func (c *countingChannel) HandleDeliver() adapters.Replies {
	c.cc.call()
	return c.Channel.HandleDeliver()
}
func (c *countingChannel) HandleTimeout(id adapters.TimerID, now time.Time) adapters.Replies {
	c.cc.call()
	return c.Channel.HandleTimeout(id, now)
}
func (c *countingChannel) HandleEvent(ev any) adapters.Replies {
	c.cc.call()
	return c.Channel.HandleEvent(ev)
}
func (c *countingChannel) Close(reason error) {
	c.cc.mu.Lock()
	c.cc.closes++
	c.cc.mu.Unlock()
	c.Channel.Close(reason)
}

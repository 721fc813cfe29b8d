package listener

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
	"github.com/manifold-iot/manifold/gateway/config"
	"github.com/manifold-iot/manifold/gateway/edge"
)

// The line protocol exercises the driver without MQTT: a frame is a line
// ending in '\n'. Open greets with HELLO; then the channel answers
//
//	QUIT        BYE, and shuts down
//	TIMER <ms>  OK, and sets timer 1, which writes TICK
//	POST <x>    OK; another goroutine posts x, which writes EVENT <x>
//	FLOOD <n>   OK; another goroutine queues n lines, notifying after each;
//	            HandleDeliver writes at most 4 a call (More while more wait)
//	KICK        another goroutine posts a kick: KICKED, and shuts down
//	anything    echoed
//
// Every call checks it is not concurrent with another.

var (
	errQuit   = errors.New("line: quit")
	errKicked = errors.New("line: kicked")
)

type lineFrame struct{ b []byte }

type lineCodec struct{ f lineFrame }

func (lc *lineCodec) Decode(buf []byte) (codec.Frame, int, error) {
	i := bytes.IndexByte(buf, '\n')
	if i < 0 {
		return nil, 0, codec.ErrIncomplete
	}
	lc.f.b = buf[:i] // points into the driver's buffer
	return &lc.f, i + 1, nil
}

func (lc *lineCodec) Encode(dst []byte, f codec.Frame) ([]byte, error) {
	s, ok := f.(string)
	if !ok {
		return dst, fmt.Errorf("line: cannot encode %T", f)
	}
	return append(append(dst, s...), '\n'), nil
}

type lineAdapter struct{}

func (lineAdapter) Name() string { return "line" }
func (lineAdapter) NewChannel(ci adapters.ConnInfo, _ adapters.Context) (adapters.Channel, error) {
	return &lineChannel{h: ci.Handle}, nil
}

type lineChannel struct {
	h     adapters.Handle
	codec lineCodec
	busy  sync.Mutex // TryLock fails if the driver calls us concurrently

	mu     sync.Mutex
	queued []string

	frameErr error
	closes   int
	reason   error
}

type kickEvent struct{}

func (c *lineChannel) enter() func() {
	if !c.busy.TryLock() {
		panic("line: channel called concurrently")
	}
	return c.busy.Unlock
}

func (c *lineChannel) Codec() codec.Codec { defer c.enter()(); return &c.codec }
func (c *lineChannel) Open() adapters.Replies {
	defer c.enter()()
	return adapters.Replies{Out: []codec.Frame{"HELLO"}}
}

func (c *lineChannel) HandleIn(f codec.Frame) adapters.Replies {
	defer c.enter()()
	line := string(f.(*lineFrame).b)
	cmd, arg, _ := strings.Cut(line, " ")
	switch cmd {
	case "QUIT":
		return adapters.Replies{Out: []codec.Frame{"BYE"}, Shutdown: errQuit}
	case "TIMER":
		ms, _ := strconv.Atoi(arg)
		return adapters.Replies{Out: []codec.Frame{"OK"}, Timers: []adapters.Timer{{ID: 1, After: time.Duration(ms) * time.Millisecond}}}
	case "POST":
		go c.h.Post(arg)
		return adapters.Replies{Out: []codec.Frame{"OK"}}
	case "FLOOD":
		n, _ := strconv.Atoi(arg)
		go func() {
			for i := range n {
				c.mu.Lock()
				c.queued = append(c.queued, fmt.Sprintf("MSG %d", i))
				c.mu.Unlock()
				c.h.Notify()
			}
		}()
		return adapters.Replies{Out: []codec.Frame{"OK"}}
	case "KICK":
		go c.h.Post(kickEvent{})
		return adapters.Replies{}
	}
	return adapters.Replies{Out: []codec.Frame{line}}
}

func (c *lineChannel) HandleFrameError(err error) adapters.Replies {
	defer c.enter()()
	c.frameErr = err
	return adapters.Replies{Out: []codec.Frame{"ERROR"}}
}

func (c *lineChannel) HandleDeliver() adapters.Replies {
	defer c.enter()()
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(c.queued), 4)
	var r adapters.Replies
	for _, s := range c.queued[:n] {
		r.Out = append(r.Out, s)
	}
	c.queued = c.queued[n:]
	r.More = len(c.queued) > 0
	return r
}

func (c *lineChannel) HandleTimeout(id adapters.TimerID, _ time.Time) adapters.Replies {
	defer c.enter()()
	return adapters.Replies{Out: []codec.Frame{fmt.Sprintf("TICK %d", id)}}
}

func (c *lineChannel) HandleEvent(ev any) adapters.Replies {
	defer c.enter()()
	if _, ok := ev.(kickEvent); ok {
		return adapters.Replies{Out: []codec.Frame{"KICKED"}, Shutdown: errKicked}
	}
	return adapters.Replies{Out: []codec.Frame{fmt.Sprintf("EVENT %v", ev)}}
}

func (c *lineChannel) Close(reason error) {
	defer c.enter()()
	c.closes++
	c.reason = reason
}

// lineEnv is a TLS or WSS listener serving the line protocol.
func lineEnv(t *testing.T, wss bool, mods ...envOpts) *env {
	return newEnvWith(t, genCerts(t), wss, lineAdapter{}, mods...)
}

// lineClient speaks the line protocol over TLS (or over WebSocket frames
// when ws is set).
type lineClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	ws   *wsClient
}

func (e *env) lineClient() *lineClient {
	e.t.Helper()
	c, err := e.dialTLS(clientTLS(e.t, e.dir, false))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	lc := &lineClient{t: e.t, conn: c, r: bufio.NewReader(c)}
	lc.expect("HELLO")
	return lc
}

func (lc *lineClient) send(s string) {
	lc.t.Helper()
	var err error
	if lc.ws != nil {
		err = lc.ws.writeFrame(true, wsOpBinary, []byte(s))
	} else {
		_, err = io.WriteString(lc.conn, s)
	}
	if err != nil {
		lc.t.Fatalf("send %q: %v", s, err)
	}
}

func (lc *lineClient) line() (string, error) {
	if lc.ws != nil {
		return lc.ws.line()
	}
	s, err := lc.r.ReadString('\n')
	return strings.TrimSuffix(s, "\n"), err
}

func (lc *lineClient) expect(want ...string) {
	lc.t.Helper()
	for _, w := range want {
		got, err := lc.line()
		if err != nil || got != w {
			lc.t.Fatalf("got %q (%v), want %q", got, err, w)
		}
	}
}

// expectClosed reads until EOF; the peer must have sent nothing but want.
func (lc *lineClient) expectClosed(want ...string) {
	lc.t.Helper()
	lc.expect(want...)
	if s, err := lc.line(); err == nil {
		lc.t.Fatalf("got %q, want the connection closed", s)
	}
}

func (e *env) lineChannel(i int) *lineChannel {
	e.t.Helper()
	_, chans := e.ad.snapshot()
	if i >= len(chans) {
		e.t.Fatalf("no channel %d", i)
	}
	return chans[i].Channel.(*lineChannel)
}

// closedWith waits for channel i's Close and checks it came once, with want.
func (e *env) closedWith(i int, want error) {
	e.t.Helper()
	var chans []*recChannel
	if !eventually(e.t, 3*time.Second, func() bool {
		_, chans = e.ad.snapshot()
		return i < len(chans) && chans[i].closes.Load() > 0
	}) {
		e.t.Fatalf("channel %d not closed", i)
	}
	// Close is the owner's last act; give a second one time to show up.
	time.Sleep(20 * time.Millisecond)
	if n := chans[i].closes.Load(); n != 1 {
		e.t.Fatalf("channel %d closed %d times", i, n)
	}
	if r := chans[i].closeReason(); (want == nil && r != nil) || (want != nil && !errors.Is(r, want)) {
		e.t.Fatalf("channel %d closed with %v, want %v", i, r, want)
	}
}

func TestDriverSemantics(t *testing.T) {
	for _, wss := range []bool{false, true} {
		name := "tls"
		if wss {
			name = "wss"
		}
		t.Run(name, func(t *testing.T) {
			e := lineEnv(t, wss)
			dial := func() *lineClient {
				if wss {
					return e.wsLineClient()
				}
				return e.lineClient()
			}
			t.Run("echo, several frames per write and a frame across writes", func(t *testing.T) {
				c := dial()
				c.send("a\nb\nc")
				c.expect("a", "b")
				c.send("d\n")
				c.expect("cd")
			})
			t.Run("timer", func(t *testing.T) {
				c := dial()
				c.send("TIMER 30\n")
				c.expect("OK", "TICK 1")
			})
			t.Run("post", func(t *testing.T) {
				c := dial()
				c.send("POST x\n")
				c.expect("OK", "EVENT x")
			})
			t.Run("notify and More deliver everything in order", func(t *testing.T) {
				c := dial()
				c.send("FLOOD 200\n")
				c.expect("OK")
				for i := range 200 {
					c.expect(fmt.Sprintf("MSG %d", i))
				}
				c.send("still talking\n")
				c.expect("still talking")
			})
			t.Run("shutdown sends the last bytes, then closes once", func(t *testing.T) {
				c := dial()
				_, before := e.ad.snapshot()
				c.send("QUIT\nnever handled\n")
				c.expectClosed("BYE")
				e.closedWith(len(before)-1, errQuit)
			})
			t.Run("kick through Post", func(t *testing.T) {
				c := dial()
				_, before := e.ad.snapshot()
				c.send("KICK\n")
				c.expectClosed("KICKED")
				e.closedWith(len(before)-1, errKicked)
			})
			t.Run("peer hangs up", func(t *testing.T) {
				c := dial()
				_, before := e.ad.snapshot()
				c.conn.Close()
				e.closedWith(len(before)-1, nil)
			})
		})
	}
}

func TestDriverInboundBound(t *testing.T) {
	e := lineEnv(t, false, func(_ *config.SSLOptions, c *Config) { c.MaxInboundBuffered = 1024 })
	c := e.lineClient()
	c.send(strings.Repeat("x", 4096)) // no newline: an incomplete frame over the bound
	c.expectClosed("ERROR")
	e.closedWith(0, edge.ErrInboundTooLarge)
	if ch := e.lineChannel(0); !errors.Is(ch.frameErr, edge.ErrInboundTooLarge) {
		t.Fatalf("HandleFrameError got %v", ch.frameErr)
	}
}

func TestDriverIdleTimeout(t *testing.T) {
	e := lineEnv(t, false, func(_ *config.SSLOptions, c *Config) { c.IdleTimeout = 150 * time.Millisecond })
	c := e.lineClient()
	c.send("no newline yet")
	c.expectClosed()
	e.closedWith(0, edge.ErrIdleTimeout)

	// A decoded frame turns the idle timer off.
	c = e.lineClient()
	c.send("hi\n")
	c.expect("hi")
	time.Sleep(300 * time.Millisecond)
	c.send("still\n")
	c.expect("still")
}

func TestDriverSlowConsumer(t *testing.T) {
	e := lineEnv(t, false, func(_ *config.SSLOptions, c *Config) {
		c.SendTimeout = 200 * time.Millisecond
		c.SocketBuffer = 4096
	})
	// A client with a small receive window that never reads.
	d := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	c, err := tls.DialWithDialer(d, "tcp", e.addr, clientTLS(t, e.dir, false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "FLOOD 200000\n"); err != nil { // about 2 MB
		t.Fatal(err)
	}
	e.closedWith(0, ErrSendTimeout)
}

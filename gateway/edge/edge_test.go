package edge

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/internal/testkit"
)

func testLogger(t testing.TB) zerolog.Logger {
	if os.Getenv("EDGE_TEST_LOG") != "" {
		return zerolog.New(zerolog.NewConsoleWriter()).Level(zerolog.DebugLevel).With().Str("test", t.Name()).Logger()
	}
	return zerolog.Nop()
}

func testConfig() TCPConfig {
	cfg := DefaultTCPConfig()
	cfg.Bind = "127.0.0.1:0"
	cfg.Multicore = false
	cfg.Loops = 2
	return cfg
}

// startServer starts a listener for a and stops it when the test ends.
func startServer(t testing.TB, cfg TCPConfig, a *lineAdapter) *Server {
	t.Helper()
	s := NewTCP(cfg, a, nil, testLogger(t))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

// eventually polls cond until it holds or within has passed.
func eventually(t testing.TB, within time.Duration, cond func() bool) bool {
	t.Helper()
	return testkit.Eventually(within, cond)
}

// never reports whether cond stayed false for the whole of d.
func never(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return !cond()
}

type client struct {
	t testing.TB
	net.Conn
	r *bufio.Reader
}

func dial(t testing.TB, s *Server) *client {
	t.Helper()
	return dialWith(t, s, &net.Dialer{Timeout: 2 * time.Second})
}

func dialWith(t testing.TB, s *Server, d *net.Dialer) *client {
	t.Helper()
	nc, err := d.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return &client{t: t, Conn: nc, r: bufio.NewReaderSize(nc, 64<<10)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readLine reads one line (without '\n') within 5 seconds.
func (c *client) readLine() (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	s, err := c.r.ReadString('\n')
	return strings.TrimSuffix(s, "\n"), err
}

func (c *client) expect(want string) {
	c.t.Helper()
	got, err := c.readLine()
	if err != nil || got != want {
		c.t.Fatalf("read: got %q, %v; want %q", got, err, want)
	}
}

// expectEOF waits for the server to close the connection.
func (c *client) expectEOF() {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := c.r.ReadByte()
	if err == nil {
		c.t.Fatalf("read %q, want EOF", b)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.t.Fatal("connection still open")
	}
}

func onlyChannel(t testing.TB, a *lineAdapter) *lineChannel {
	t.Helper()
	var chans []*lineChannel
	if !eventually(t, 2*time.Second, func() bool { chans = a.channels(); return len(chans) == 1 }) {
		t.Fatalf("want 1 channel, have %d", len(chans))
	}
	return chans[0]
}

func subscriber(t testing.TB, a *lineAdapter, c *client) *lineChannel {
	t.Helper()
	c.send("SUB\n")
	c.expect("SUBSCRIBED")
	select {
	case ch := <-a.subs:
		return ch
	case <-time.After(2 * time.Second):
		t.Fatal("no subscriber registered")
		return nil
	}
}

func TestEcho(t *testing.T) {
	a := newLineAdapter()
	s := startServer(t, testConfig(), a)

	t.Run("byte_by_byte", func(t *testing.T) {
		c := dial(t, s)
		want := "the quick brown fox"
		for i := 0; i < len(want); i++ {
			c.send(want[i : i+1])
		}
		c.send("\n")
		c.expect(want)
	})
	t.Run("partial_frame_waits", func(t *testing.T) {
		// The server must hold a partial line it has read, with nothing
		// decodable in it, until the rest comes.
		c := dial(t, s)
		c.send("hel")
		ch := c.channel(a)
		if !eventually(t, 2*time.Second, func() bool {
			var n int
			onLoop(t, ch, func(c *conn) { n = c.gc.InboundBuffered() })
			return n == 3
		}) {
			t.Fatal("server did not buffer the partial line")
		}
		c.send("lo\n")
		c.expect("hello")
	})
	t.Run("split_across_writes", func(t *testing.T) {
		c := dial(t, s)
		c.send("hel")
		c.send("lo\nwor")
		c.send("ld\n\nlast")
		c.send("\n")
		for _, w := range []string{"hello", "world", "", "last"} {
			c.expect(w)
		}
	})
	t.Run("coalesced_many_reads", func(t *testing.T) {
		// ~600 KB in one write: the server reads it 64 KiB at a time, so
		// lines straddle reads and wait in gnet's inbound buffer.
		c := dial(t, s)
		const n = 20000
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "line-%d-%s\n", i, strings.Repeat("x", i%37))
		}
		errc := make(chan error, 1)
		go func() { _, err := c.Write([]byte(b.String())); errc <- err }()
		for i := 0; i < n; i++ {
			want := fmt.Sprintf("line-%d-%s", i, strings.Repeat("x", i%37))
			got, err := c.readLine()
			if err != nil || got != want {
				t.Fatalf("line %d: got %q, %v; want %q", i, got, err, want)
			}
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	})
}

func TestOpenRepliesAndConnInfo(t *testing.T) {
	a := newLineAdapter()
	a.greet = true
	cfg := testConfig()
	cfg.Name = "tcp:test"
	s := startServer(t, cfg, a)
	c := dial(t, s)
	c.expect("HELLO")
	ch := onlyChannel(t, a)
	ci := ch.ci
	if ci.Listener != "tcp:test" {
		t.Errorf("Listener = %q", ci.Listener)
	}
	if got, want := ci.Local.String(), s.Addr().String(); got != want {
		t.Errorf("Local = %s, want %s", got, want)
	}
	if got, want := ci.Remote.String(), c.LocalAddr().String(); got != want {
		t.Errorf("Remote = %s, want %s", got, want)
	}
	if ci.Handle == nil {
		t.Error("no Handle")
	}
	if s.Connections() != 1 {
		t.Errorf("Connections = %d", s.Connections())
	}
}

func TestShutdownSendsLastFrameBeforeEOF(t *testing.T) {
	t.Run("quit", func(t *testing.T) {
		a := newLineAdapter()
		s := startServer(t, testConfig(), a)
		c := dial(t, s)
		c.send("hello\nQUIT\nignored after quit\n")
		c.expect("hello")
		c.expect("BYE")
		c.expectEOF()
		ch := onlyChannel(t, a)
		if !eventually(t, 2*time.Second, func() bool { return ch.closes.Load() == 1 }) {
			t.Fatal(ch)
		}
		if !errors.Is(ch.closeReason(), errQuit) || ch.afterClose.Load() != 0 {
			t.Fatal(ch)
		}
	})
	t.Run("behind_a_backlog", func(t *testing.T) {
		// The peer does not read while the server echoes megabytes, so
		// when QUIT comes most of the echo waits in gnet's outbound buffer:
		// the close lingers until it is flushed, and BYE is still last.
		a := newLineAdapter()
		cfg := testConfig()
		cfg.MaxOutboundBuffered = 64 << 20
		s := startServer(t, cfg, a)
		c := dialWith(t, s, smallRcvBuf())
		payload := strings.Repeat("y", 1000)
		const n = 12000 // 12 MB
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(payload)
			b.WriteByte('\n')
		}
		b.WriteString("QUIT\n")
		c.send(b.String())
		ch := onlyChannel(t, a)
		// Wait until the server has handled QUIT, then read everything.
		if !eventually(t, 5*time.Second, func() bool { return serverClosing(ch) }) {
			t.Fatal("server did not reach QUIT")
		}
		var lingering bool
		var unsent int
		onLoop(t, ch, func(c *conn) { lingering, unsent = c.closing && !c.closed, c.gc.OutboundBuffered() })
		if !lingering || unsent == 0 {
			t.Fatalf("want a lingering close with unsent bytes; closing=%v unsent=%d", lingering, unsent)
		}
		for i := 0; i < n; i++ {
			got, err := c.readLine()
			if err != nil || got != payload {
				t.Fatalf("line %d: %d bytes, %v", i, len(got), err)
			}
		}
		c.expect("BYE")
		c.expectEOF()
		if !eventually(t, 2*time.Second, func() bool { return ch.closes.Load() == 1 }) || !errors.Is(ch.closeReason(), errQuit) {
			t.Fatal(ch)
		}
	})
}

// serverClosing asks ch's loop whether the connection is closing or closed.
func serverClosing(ch *lineChannel) bool {
	c := ch.ci.Handle.(*conn)
	res := make(chan bool, 1)
	err := c.ls.el.Execute(context.Background(), runFunc(func() { res <- c.closing || c.closed }))
	if err != nil {
		return true
	}
	select {
	case v := <-res:
		return v
	case <-time.After(time.Second):
		return false
	}
}

// onLoop runs f on ch's loop and waits for it.
func onLoop(t testing.TB, ch *lineChannel, f func(c *conn)) {
	t.Helper()
	c := ch.ci.Handle.(*conn)
	done := make(chan struct{})
	if err := c.ls.el.Execute(context.Background(), runFunc(func() { f(c); close(done) })); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("loop did not run the probe")
	}
}

type runFunc func()

func (f runFunc) Run(context.Context) error { f(); return nil }

// smallRcvBuf is a dialer whose socket has a 16 KiB receive buffer, so
// the server's writes back up quickly.
func smallRcvBuf() *net.Dialer {
	return &net.Dialer{Timeout: 2 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
		})
		if err != nil {
			return err
		}
		return serr
	}}
}

func TestTimers(t *testing.T) {
	a := newLineAdapter()
	s := startServer(t, testConfig(), a)

	t.Run("fires", func(t *testing.T) {
		c := dial(t, s)
		c.send("TIMER 20\n")
		c.expect("OK")
		c.expect("TICK")
	})
	t.Run("replaced", func(t *testing.T) {
		c := dial(t, s)
		c.send("TIMER 400\nTIMER 10\n")
		c.expect("OK")
		c.expect("OK")
		c.expect("TICK")
		ch := c.channel(a)
		if !never(600*time.Millisecond, func() bool { return ch.timeouts.Load() > 1 }) {
			t.Fatalf("replaced timer fired too: %v", ch)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		c := dial(t, s)
		c.send("TIMER 30\nCANCEL\n")
		c.expect("OK")
		c.expect("CANCELLED")
		ch := c.channel(a)
		if !never(300*time.Millisecond, func() bool { return ch.timeouts.Load() > 0 }) {
			t.Fatalf("cancelled timer fired: %v", ch)
		}
	})
	t.Run("cancelled_entry_reused", func(t *testing.T) {
		// A connection keeps one entry per timer armed at once: a cancelled
		// timer's entry serves the next one (the MQTT connect timer becomes
		// the keepalive), and the new timer still fires.
		c := dial(t, s)
		c.send("TIMER 60000\n")
		c.expect("OK")
		ch := c.channel(a)
		var entries int
		onLoop(t, ch, func(cn *conn) {
			cn.setTimer(adapters.Timer{ID: 1})
			cn.setTimer(adapters.Timer{ID: 2, After: 10 * time.Millisecond})
			entries = len(cn.timers)
		})
		if entries != 1 {
			t.Errorf("connection keeps %d timer entries, want 1", entries)
		}
		c.expect("TICK")
	})
	t.Run("cancelled_on_close", func(t *testing.T) {
		c := dial(t, s)
		c.send("TIMER 100\n")
		c.expect("OK")
		ch := c.channel(a)
		_ = c.Close()
		if !eventually(t, 2*time.Second, func() bool { return ch.closes.Load() == 1 }) {
			t.Fatal(ch)
		}
		if ch.closeReason() != nil {
			t.Errorf("EOF close reason = %v, want nil", ch.closeReason())
		}
		if !never(300*time.Millisecond, func() bool { return ch.timeouts.Load() > 0 || ch.afterClose.Load() > 0 }) {
			t.Fatalf("timer fired after close: %v", ch)
		}
	})
}

// channel finds the channel serving c.
func (c *client) channel(a *lineAdapter) *lineChannel { return channelFor(c.t, a, c.LocalAddr()) }

// channelFor finds the channel whose peer is addr: the newest, since a
// closed connection's port can come back for a later client.
func channelFor(t testing.TB, a *lineAdapter, addr net.Addr) *lineChannel {
	t.Helper()
	var found *lineChannel
	eventually(t, 2*time.Second, func() bool {
		chans := a.channels()
		for i := len(chans) - 1; i >= 0; i-- {
			if ch := chans[i]; ch.ci.Remote.String() == addr.String() {
				found = ch
				return true
			}
		}
		return false
	})
	if found == nil {
		t.Fatal("no channel for client")
	}
	return found
}

func TestIdleTimeout(t *testing.T) {
	a := newLineAdapter()
	cfg := testConfig()
	cfg.IdleTimeout = 100 * time.Millisecond
	s := startServer(t, cfg, a)

	silent := dial(t, s)
	talker := dial(t, s)
	talker.send("hi\n")
	talker.expect("hi")

	silent.expectEOF()
	ch := silent.channel(a)
	if !eventually(t, 2*time.Second, func() bool { return ch.closes.Load() == 1 }) || !errors.Is(ch.closeReason(), ErrIdleTimeout) {
		t.Fatal(ch)
	}
	tch := talker.channel(a)
	if !never(300*time.Millisecond, func() bool { return tch.closes.Load() > 0 }) {
		t.Fatalf("a connection that sent a frame was closed: %v", tch)
	}
}

func TestNotifyConcurrentDeliveries(t *testing.T) {
	a := newLineAdapter()
	s := startServer(t, testConfig(), a)
	c := dial(t, s)
	ch := subscriber(t, a, c)
	h := ch.ci.Handle

	const producers, each = 20, 1000
	var wg sync.WaitGroup
	for g := 0; g < producers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				ch.enqueue(fmt.Sprintf("%d %d", g, i))
				h.Notify()
			}
		}()
	}
	next := make([]int, producers)
	for n := 0; n < producers*each; n++ {
		got, err := c.readLine()
		if err != nil {
			t.Fatalf("after %d lines: %v (%v)", n, err, ch)
		}
		var g, i int
		if _, err := fmt.Sscanf(got, "%d %d", &g, &i); err != nil || g < 0 || g >= producers {
			t.Fatalf("bad line %q", got)
		}
		if i != next[g] {
			t.Fatalf("producer %d: got %d, want %d", g, i, next[g])
		}
		next[g]++
	}
	wg.Wait()
	if d := ch.delivered.Load(); d != producers*each {
		t.Fatalf("delivered %d", d)
	}
	t.Logf("%d lines in %d HandleDeliver calls", producers*each, ch.delivers.Load())
}

func TestBacklogDoesNotStarveTheLoop(t *testing.T) {
	// One loop; a subscriber with a long backlog delivered one line per
	// HandleDeliver (so every drain asks for More) to a client that reads
	// as fast as it can. Another connection on the same loop must still be
	// served while the backlog drains.
	a := newLineAdapter()
	a.batch = 1
	cfg := testConfig()
	cfg.Loops = 1
	cfg.MaxOutboundBuffered = 1 << 30
	s := startServer(t, cfg, a)
	sub := dial(t, s)
	ch := subscriber(t, a, sub)
	const n = 100000
	lines := make([]string, n)
	for i := range lines {
		lines[i] = "backlog"
	}
	ch.enqueue(lines...)
	readErr := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			if _, err := sub.readLine(); err != nil {
				readErr <- fmt.Errorf("line %d: %w", i, err)
				return
			}
		}
		readErr <- nil
	}()
	ch.ci.Handle.Notify()
	if !eventually(t, 2*time.Second, func() bool { return ch.delivered.Load() > 1000 }) {
		t.Fatal("backlog not draining")
	}
	other := dial(t, s)
	for i := 0; i < 3; i++ {
		other.send("ping\n")
		other.expect("ping")
	}
	if d := ch.delivered.Load(); d >= n {
		t.Fatalf("the other connection was served only after the whole backlog (%d)", d)
	} else {
		t.Logf("served with %d of %d delivered", d, n)
	}
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
}

func TestPost(t *testing.T) {
	a := newLineAdapter()
	s := startServer(t, testConfig(), a)
	c := dial(t, s)
	ch := subscriber(t, a, c)
	h := ch.ci.Handle
	h.Post("auth done")
	c.expect("auth done")
	h.Post(42)
	c.expect("42")
	h.Post("kick")
	c.expect("KICKED")
	c.expectEOF()
	if !eventually(t, 2*time.Second, func() bool { return ch.closes.Load() == 1 }) || !errors.Is(ch.closeReason(), errKicked) {
		t.Fatal(ch)
	}
	// After close, the handle is inert.
	h.Post("late")
	h.Notify()
	ch.enqueue("late")
	if !never(100*time.Millisecond, func() bool { return ch.afterClose.Load() > 0 }) {
		t.Fatal(ch)
	}
}

func TestFrameErrorClosesAfterReply(t *testing.T) {
	a := newLineAdapter()
	s := startServer(t, testConfig(), a)
	c := dial(t, s)
	c.send("fine\n" + strings.Repeat("z", 2000) + "\n")
	c.expect("fine")
	c.expect("ERR " + errLineTooLong.Error())
	c.expectEOF()
	ch := onlyChannel(t, a)
	if !eventually(t, 2*time.Second, func() bool { return ch.closes.Load() == 1 }) || !errors.Is(ch.closeReason(), errLineTooLong) {
		t.Fatal(ch)
	}
	if ch.frameErrs.Load() != 1 || ch.afterClose.Load() != 0 {
		t.Fatal(ch)
	}
}

func TestInboundBound(t *testing.T) {
	a := newLineAdapter()
	a.max = 1 << 30 // the codec waits forever for the end of the line
	cfg := testConfig()
	cfg.MaxInboundBuffered = 64 << 10
	s := startServer(t, cfg, a)
	c := dial(t, s)

	stop := make(chan struct{})
	defer close(stop)
	go func() { // a never-ending line
		chunk := []byte(strings.Repeat("a", 8<<10))
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	ch := onlyChannel(t, a)
	if !eventually(t, 5*time.Second, func() bool { return ch.closes.Load() == 1 }) {
		t.Fatal(ch)
	}
	if !errors.Is(ch.closeReason(), ErrInboundTooLarge) || ch.frameErrs.Load() != 1 {
		t.Fatal(ch)
	}
	// The peer is disconnected: reads end (EOF, or a reset since it was
	// still sending).
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, c.r)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("connection still open")
	}
	if !eventually(t, 2*time.Second, func() bool { return s.Connections() == 0 }) {
		t.Fatalf("Connections = %d", s.Connections())
	}
}

func TestOutboundBoundPausesAndResumesDeliveries(t *testing.T) {
	a := newLineAdapter()
	a.batch = 8
	cfg := testConfig()
	const bound = 256 << 10
	cfg.MaxOutboundBuffered = bound
	s := startServer(t, cfg, a)
	c := dialWith(t, s, smallRcvBuf())
	ch := subscriber(t, a, c)

	payload := strings.Repeat("p", 1000)
	const n = 16000 // 16 MB: far beyond the socket buffers and the bound
	for i := 0; i < n; i++ {
		ch.enqueue(fmt.Sprintf("%05d %s", i, payload))
	}
	ch.ci.Handle.Notify()

	// The client does not read: deliveries stall with most still queued.
	var last int64 = -1
	stalled := eventually(t, 5*time.Second, func() bool {
		d := ch.delivered.Load()
		if d == last {
			return true
		}
		last = d
		time.Sleep(100 * time.Millisecond)
		return false
	})
	if !stalled || last >= n {
		t.Fatalf("deliveries did not stall: delivered %d of %d", last, n)
	}
	var outbound int
	onLoop(t, ch, func(c *conn) { outbound = c.gc.OutboundBuffered() })
	if max := bound + a.batch*1100; outbound > max {
		t.Fatalf("outbound buffer %d > %d", outbound, max)
	}
	t.Logf("stalled at %d of %d delivered, %d bytes in gnet's buffer", last, n, outbound)

	// The client reads: deliveries resume and everything arrives in order.
	for i := 0; i < n; i++ {
		got, err := c.readLine()
		if err != nil || got != fmt.Sprintf("%05d %s", i, payload) {
			t.Fatalf("line %d: %.20q, %v", i, got, err)
		}
	}
	if d := ch.delivered.Load(); d != n {
		t.Fatalf("delivered %d", d)
	}
}

func TestSlowConsumerClosed(t *testing.T) {
	// A peer that keeps sending requests and never reads the replies is
	// closed once its unsent replies pass twice MaxOutboundBuffered.
	a := newLineAdapter()
	cfg := testConfig()
	cfg.MaxOutboundBuffered = 128 << 10
	s := startServer(t, cfg, a)
	c := dialWith(t, s, smallRcvBuf())
	line := strings.Repeat("e", 1000) + "\n"
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		b.WriteString(line)
	}
	go func() {
		for {
			if _, err := c.Write([]byte(b.String())); err != nil {
				return
			}
		}
	}()
	ch := onlyChannel(t, a)
	if !eventually(t, 10*time.Second, func() bool { return ch.closes.Load() == 1 }) || !errors.Is(ch.closeReason(), ErrOutboundTooLarge) {
		t.Fatal(ch)
	}
}

func TestMaxConnections(t *testing.T) {
	a := newLineAdapter()
	cfg := testConfig()
	cfg.MaxConnections = 2
	s := startServer(t, cfg, a)

	c1, c2 := dial(t, s), dial(t, s)
	c1.send("one\n")
	c1.expect("one")
	c2.send("two\n")
	c2.expect("two")

	c3 := dial(t, s)
	c3.expectEOF()
	if s.Connections() != 2 || len(a.channels()) != 2 {
		t.Fatalf("Connections = %d, channels = %d", s.Connections(), len(a.channels()))
	}

	_ = c1.Close()
	if !eventually(t, 2*time.Second, func() bool { return s.Connections() == 1 }) {
		t.Fatalf("Connections = %d", s.Connections())
	}
	c4 := dial(t, s)
	c4.send("four\n")
	c4.expect("four")
}

func TestAdapterRefusal(t *testing.T) {
	a := newLineAdapter()
	a.refuse.Store(true)
	s := startServer(t, testConfig(), a)
	c := dial(t, s)
	c.expectEOF()
	if s.Connections() != 0 {
		t.Fatalf("Connections = %d", s.Connections())
	}
}

func TestStopClosesEveryConnection(t *testing.T) {
	a := newLineAdapter()
	s := NewTCP(testConfig(), a, nil, testLogger(t))
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	const n = 6
	var clients []*client
	for i := 0; i < n; i++ {
		c := dial(t, s)
		c.send("TIMER 60000\n")
		c.expect("OK")
		clients = append(clients, c)
	}
	if s.Connections() != n {
		t.Fatalf("Connections = %d", s.Connections())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop took %v", time.Since(start))
	for _, c := range clients {
		c.expectEOF()
	}
	for _, ch := range a.channels() {
		if ch.closes.Load() != 1 || !errors.Is(ch.closeReason(), ErrServerClosed) || ch.afterClose.Load() != 0 {
			t.Fatal(ch)
		}
	}
	if s.Connections() != 0 {
		t.Fatalf("Connections = %d", s.Connections())
	}
	if _, err := net.DialTimeout("tcp", s.Addr().String(), time.Second); err == nil {
		t.Fatal("listener still accepting")
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	t.Run("address_in_use", func(t *testing.T) {
		a := newLineAdapter()
		first := startServer(t, testConfig(), a)
		cfg := testConfig()
		cfg.Bind = first.Addr().String()
		s := NewTCP(cfg, a, nil, testLogger(t))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err := s.Start(ctx)
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("Start = %v, want EADDRINUSE", err)
		}
		if !strings.Contains(err.Error(), "listeners.tcp.default.bind") {
			t.Errorf("error does not name the key: %v", err)
		}
		if err := s.Stop(ctx); err != nil {
			t.Errorf("Stop after failed Start: %v", err)
		}
	})
	t.Run("held_by_another_listener", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		cfg := testConfig()
		cfg.Bind = ln.Addr().String()
		s := NewTCP(cfg, newLineAdapter(), nil, testLogger(t))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := s.Start(ctx); !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("Start = %v, want EADDRINUSE", err)
		}
	})
	t.Run("twice", func(t *testing.T) {
		s := startServer(t, testConfig(), newLineAdapter())
		if err := s.Start(context.Background()); !errors.Is(err, ErrStarted) {
			t.Fatalf("second Start = %v", err)
		}
	})
	t.Run("invalid_config", func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxConnections = -1
		s := NewTCP(cfg, newLineAdapter(), nil, testLogger(t))
		err := s.Start(context.Background())
		if err == nil || !strings.Contains(err.Error(), "listeners.tcp.default.max_connections") {
			t.Fatalf("Start = %v", err)
		}
	})
}

func TestConfig(t *testing.T) {
	cases := []struct {
		name string
		edit func(*TCPConfig)
		key  string // "" = valid
	}{
		{"default", func(*TCPConfig) {}, ""},
		{"no_bind", func(c *TCPConfig) { c.Bind = "" }, "listeners.tcp.default.bind"},
		{"negative_loops", func(c *TCPConfig) { c.Loops = -1 }, "listeners.tcp.default.loops"},
		{"negative_inbound", func(c *TCPConfig) { c.MaxInboundBuffered = -1 }, "listeners.tcp.default.max_inbound_buffered"},
		{"negative_outbound", func(c *TCPConfig) { c.MaxOutboundBuffered = -1 }, "listeners.tcp.default.max_outbound_buffered"},
		{"named", func(c *TCPConfig) { c.Name = "tcp:internal"; c.Bind = "" }, "listeners.tcp.internal.bind"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultTCPConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.key)
			}
		})
	}
	d := TCPConfig{}.withDefaults()
	if d.Name != DefaultName || d.MaxInboundBuffered != DefaultMaxInboundBuffered ||
		d.MaxOutboundBuffered != DefaultMaxOutboundBuffered || d.IdleTimeout != DefaultIdleTimeout {
		t.Fatalf("withDefaults = %+v", d)
	}
}

func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

func TestStopReleasesDescriptors(t *testing.T) {
	before := openFDs(t)
	a := newLineAdapter()
	s := NewTCP(testConfig(), a, nil, testLogger(t))
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for i := 0; i < 4; i++ { // two per loop: each loop makes its wake socket
		c := dial(t, s)
		c.send("hi\n")
		c.expect("hi")
		conns = append(conns, c.Conn)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		_ = c.Close()
	}
	var now int
	if !eventually(t, 2*time.Second, func() bool { now = openFDs(t); return now <= before }) {
		t.Fatalf("%d descriptors open before, %d after Stop", before, now)
	}
}

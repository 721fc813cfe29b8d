package edge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
	"github.com/manifold-iot/manifold/gateway/internal/lograte"
)

// DefaultUDPName is the listener name used when UDPConfig.Name is empty.
const DefaultUDPName = "udp:default"

// DefaultMaxUDPSessions bounds the peers a UDP listener serves at once.
const DefaultMaxUDPSessions = 100_000

// ErrUDPStopped is the reason channels get when their UDP listener stops.
var ErrUDPStopped = errors.New("edge: udp listener stopped")

// UDPConfig configures one UDP listener served on gnet event loops: every
// peer address gets its own Channel (a "session"), driven like a connection.
type UDPConfig struct {
	// Name is the listener's name ("udp:default"); ConnInfo.Listener, the
	// "listener" log field, and the config key in errors.
	Name string `yaml:"name"`
	// Key, when set, is the config key path errors name
	// ("gateway.mqttsn.listeners.udp.default"); else it derives from Name.
	Key string `yaml:"-"`
	// Bind is host:port ("0.0.0.0:1884", "127.0.0.1:0"); udp4:// or udp6://
	// selects the family. gnet sets SO_REUSEPORT on UDP sockets, so a busy
	// port is not reported as an error.
	Bind string `yaml:"bind"`
	// MaxSessions bounds the peers served at once; datagrams from further
	// peers are dropped and counted (Stats.Refused). 0 means the default.
	MaxSessions int `yaml:"max_sessions"`
	// Multicore runs one event loop (and socket) per CPU; the kernel keeps a
	// peer on one socket. Loops > 0 sets the exact number.
	Multicore bool `yaml:"multicore"`
	Loops     int  `yaml:"loops"`
	// RecvBuffer and SendBuffer set SO_RCVBUF and SO_SNDBUF; 0 keeps the
	// system's.
	RecvBuffer int `yaml:"recbuf"`
	SendBuffer int `yaml:"sndbuf"`
}

func (c UDPConfig) withDefaults() UDPConfig {
	if c.Name == "" {
		c.Name = DefaultUDPName
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = DefaultMaxUDPSessions
	}
	return c
}

func (c UDPConfig) key() string {
	if c.Key != "" {
		return c.Key
	}
	return "listeners." + strings.ReplaceAll(c.Name, ":", ".")
}

// Validate checks the config; its errors name the offending key.
func (c UDPConfig) Validate() error {
	k := c.key()
	var errs []error
	if c.Bind == "" {
		errs = append(errs, fmt.Errorf("%s.bind: must not be empty", k))
	}
	if c.MaxSessions < 0 {
		errs = append(errs, fmt.Errorf("%s.max_sessions: must be >= 0, got %d", k, c.MaxSessions))
	}
	if c.Loops < 0 {
		errs = append(errs, fmt.Errorf("%s.loops: must be >= 0, got %d", k, c.Loops))
	}
	return errors.Join(errs...)
}

// UDPStats are a UDP listener's running totals.
type UDPStats struct {
	Sessions    int    // peers with a channel now
	DatagramsIn uint64 // datagrams received
	Malformed   uint64 // datagrams the codec rejected (dropped)
	Refused     uint64 // datagrams from new peers beyond MaxSessions, or refused by NewChannel
	// DatagramsOut counts replies sent; SendErrors those the socket refused
	// (its buffer full): dropped, as UDP may.
	DatagramsOut, SendErrors uint64
}

// UDPServer is one UDP listener on gnet event loops. A datagram is decoded
// with the peer's channel's codec (one or more frames); a datagram that does
// not decode is dropped and counted, and the session stays. Replies go back
// to the sender, one datagram per frame. Notify, Post and timers reach the
// peer's loop through EventLoop().Execute, so a Channel is only ever called
// on its loop.
type UDPServer struct {
	cfg     UDPConfig
	adapter adapters.Adapter
	ctx     adapters.Context
	log     zerolog.Logger

	sessions atomic.Int64
	stats    struct{ in, malformed, refused, out, sendErr, rx, tx atomic.Uint64 }
	badLog   lograte.Limiter
	fullLog  lograte.Limiter
	stopping atomic.Bool

	mu sync.Mutex
	lifecycle
	engine gnet.Engine
	addr   *net.UDPAddr
	sendFD int // a duplicate of the socket, for SendTo; -1 when none
	loops  map[gnet.EventLoop]*udpLoop
}

// NewUDP makes a UDP listener for adapter a; ctx is passed to NewChannel.
func NewUDP(cfg UDPConfig, a adapters.Adapter, ctx adapters.Context, log zerolog.Logger) *UDPServer {
	cfg = cfg.withDefaults()
	return &UDPServer{
		cfg: cfg, adapter: a, ctx: ctx,
		log:    log.With().Str("listener", cfg.Name).Str("proto", a.Name()).Logger(),
		loops:  make(map[gnet.EventLoop]*udpLoop),
		sendFD: -1,
	}
}

// Traffic returns the bytes of the datagrams received and of the replies
// sent since the listener started.
func (s *UDPServer) Traffic() (received, sent uint64) { return s.stats.rx.Load(), s.stats.tx.Load() }

// SendTo sends one datagram from the listener's own address (and port) to
// to, from any goroutine: an MQTT-SN ADVERTISE, whose source address tells
// clients where the gateway is. The socket has SO_BROADCAST set, so to may
// be a broadcast address.
func (s *UDPServer) SendTo(to netip.AddrPort, b []byte) error {
	s.mu.Lock()
	fd := s.sendFD
	s.mu.Unlock()
	if fd < 0 || s.stopping.Load() {
		return ErrUDPStopped
	}
	if err := syscall.Sendto(fd, b, 0, sockaddr(to)); err != nil {
		return fmt.Errorf("edge: sendto %s: %w", to, err)
	}
	return nil
}

// udpLoop is one event loop's sessions; touched only on that loop.
type udpLoop struct {
	el       gnet.EventLoop
	fd       int // the loop's socket
	local    netip.AddrPort
	sessions map[netip.AddrPort]*udpSession
}

// Start binds the socket and starts the loops; it returns once bound, or
// with the error wrapped with the config key.
func (s *UDPServer) Start(ctx context.Context) error {
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	ok := s.begin()
	s.mu.Unlock()
	if !ok {
		return ErrStarted
	}
	go s.lifecycle.run(s.runEngine, s.log)
	if failed, err := s.wait(ctx, s.Stop); failed {
		return fmt.Errorf("%s.bind: %s: %w", s.cfg.key(), s.cfg.Bind, err)
	} else if err != nil {
		return err
	}
	s.log.Debug().Str("bind", s.Addr().String()).Msg("listener_started")
	return nil
}

// runEngine is gnet.Run: it blocks until the engine stops.
func (s *UDPServer) runEngine() error {
	proto := s.cfg.Bind
	if !strings.Contains(proto, "://") {
		proto = "udp://" + proto
	}
	opts := []gnet.Option{
		gnet.WithMulticore(s.cfg.Multicore),
		gnet.WithNumEventLoop(s.cfg.Loops),
		gnet.WithReuseAddr(true),
		gnet.WithLockOSThread(false),
		gnet.WithReadBufferCap(readBufferCap), // one datagram per read: 64 KiB holds any
		gnet.WithLogger(gnetLogger{log: s.log}),
	}
	if s.cfg.RecvBuffer > 0 {
		opts = append(opts, gnet.WithSocketRecvBuffer(s.cfg.RecvBuffer))
	}
	if s.cfg.SendBuffer > 0 {
		opts = append(opts, gnet.WithSocketSendBuffer(s.cfg.SendBuffer))
	}
	return gnet.Run(&udpEvents{s: s}, proto, opts...)
}

// Addr is the bound address; nil before Start has succeeded.
func (s *UDPServer) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.addr == nil {
		return nil
	}
	return s.addr
}

// Stats returns the listener's counters.
func (s *UDPServer) Stats() UDPStats {
	return UDPStats{
		Sessions:     int(s.sessions.Load()),
		DatagramsIn:  s.stats.in.Load(),
		Malformed:    s.stats.malformed.Load(),
		Refused:      s.stats.refused.Load(),
		DatagramsOut: s.stats.out.Load(),
		SendErrors:   s.stats.sendErr.Load(),
	}
}

// Stop closes every session (each channel gets Close(ErrUDPStopped) on its
// loop) and the socket; it returns when the engine has stopped, or ctx.Err().
func (s *UDPServer) Stop(ctx context.Context) error {
	s.mu.Lock()
	booted, done := s.booted, s.done
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	if err := settled(ctx, booted, done); err != nil {
		return err
	}
	if !s.stopping.CompareAndSwap(false, true) {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// Close the sessions on their loops before the loops go away.
	s.mu.Lock()
	loops := make([]*udpLoop, 0, len(s.loops))
	for _, l := range s.loops {
		loops = append(loops, l)
	}
	eng := s.engine
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		err := l.el.Execute(bg, gnet.RunnableFunc(func(context.Context) error {
			defer wg.Done()
			for _, ss := range l.sessions {
				ss.close(ErrUDPStopped)
			}
			return nil
		}))
		if err != nil {
			wg.Done()
		}
	}
	closed := make(chan struct{})
	go func() { wg.Wait(); close(closed) }()
	select {
	case <-closed:
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
	default:
		stopCtx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { _ = eng.Stop(stopCtx) }()
	}
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	if s.sendFD >= 0 {
		_ = syscall.Close(s.sendFD)
		s.sendFD = -1
	}
	s.mu.Unlock()
	s.log.Debug().Msg("listener_stopped")
	return nil
}

type udpEvents struct {
	gnet.BuiltinEventEngine
	s *UDPServer
}

func (h *udpEvents) OnBoot(eng gnet.Engine) gnet.Action {
	s := h.s
	var addr *net.UDPAddr
	fd, err := eng.Dup()
	if err == nil {
		if sa, err := syscall.Getsockname(fd); err == nil {
			if ap, ok := sockaddrToAddrPort(sa); ok {
				addr = net.UDPAddrFromAddrPort(ap)
			}
		}
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1); err != nil {
			s.log.Debug().Err(err).Msg("udp_broadcast_unavailable")
		}
	} else {
		fd = -1
	}
	s.mu.Lock()
	s.engine, s.addr, s.sendFD = eng, addr, fd
	s.mu.Unlock()
	close(s.booted)
	return gnet.None
}

// OnTraffic handles one datagram. The gnet.Conn of a UDP server socket lives
// only for this call, so sessions keep the loop, the socket and the peer.
func (h *udpEvents) OnTraffic(gc gnet.Conn) gnet.Action {
	s := h.s
	buf, _ := gc.Next(-1)
	s.stats.in.Add(1)
	s.stats.rx.Add(uint64(len(buf)))
	if s.stopping.Load() {
		return gnet.None
	}
	peer := udpPeer(gc.RemoteAddr())
	if !peer.IsValid() {
		return gnet.None
	}
	l := s.loopFor(gc)
	ss := l.sessions[peer]
	if ss == nil {
		if ss = s.open(l, peer); ss == nil {
			return gnet.None
		}
		if ss.onDatagram(buf) == 0 && !ss.closed {
			ss.close(errUDPNoFrame) // garbage from a new peer makes no session
		}
		return gnet.None
	}
	ss.onDatagram(buf)
	return gnet.None
}

func udpPeer(a net.Addr) netip.AddrPort {
	u, ok := a.(*net.UDPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ap := u.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// loopFor returns the state of gc's loop, creating it on its first datagram.
func (s *UDPServer) loopFor(gc gnet.Conn) *udpLoop {
	el := gc.EventLoop()
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.loops[el]
	if l == nil {
		l = &udpLoop{el: el, fd: gc.Fd(), sessions: make(map[netip.AddrPort]*udpSession)}
		if sa, err := syscall.Getsockname(l.fd); err == nil {
			l.local, _ = sockaddrToAddrPort(sa)
		}
		s.loops[el] = l
	}
	return l
}

// open makes the session of a new peer, within MaxSessions.
func (s *UDPServer) open(l *udpLoop, peer netip.AddrPort) *udpSession {
	if s.sessions.Add(1) > int64(s.cfg.MaxSessions) {
		s.sessions.Add(-1)
		s.stats.refused.Add(1)
		if ok, n := s.fullLog.Allow(10 * time.Second); ok {
			s.log.Warn().Int("max_sessions", s.cfg.MaxSessions).Int64("refused", n).Str("peer", peer.String()).Msg("udp_sessions_full")
		}
		return nil
	}
	ss := &udpSession{s: s, l: l, peer: peer, sa: sockaddr(peer)}
	ch, err := s.adapter.NewChannel(adapters.ConnInfo{Listener: s.cfg.Name, Local: l.local, Remote: peer, Handle: ss}, s.ctx)
	if err != nil {
		s.sessions.Add(-1)
		s.stats.refused.Add(1)
		s.log.Info().Err(err).Str("peer", peer.String()).Msg("channel_refused")
		return nil
	}
	ss.ch, ss.codec = ch, ch.Codec()
	l.sessions[peer] = ss
	ss.apply(ch.Open())
	if ss.closed {
		return nil
	}
	return ss
}

func sockaddr(ap netip.AddrPort) syscall.Sockaddr {
	if ap.Addr().Is4() {
		return &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

// udpSession drives one peer's Channel; it is the adapters.Handle the
// channel gets. Fields below "loop-only" are touched only on the loop.
type udpSession struct {
	s    *UDPServer
	l    *udpLoop
	peer netip.AddrPort
	sa   syscall.Sockaddr

	scheduled atomic.Bool // a delivery is queued on the loop
	dead      atomic.Bool

	// loop-only
	ch     adapters.Channel
	codec  codec.Codec
	closed bool
	timers map[adapters.TimerID]*udpTimer
	wbuf   []byte
}

var _ adapters.Handle = (*udpSession)(nil)

// Notify implements adapters.Handle.
func (ss *udpSession) Notify() {
	if ss.scheduled.CompareAndSwap(false, true) {
		_ = ss.l.el.Execute(bg, gnet.RunnableFunc(ss.deliver))
	}
}

// Post implements adapters.Handle.
func (ss *udpSession) Post(ev any) {
	if ss.dead.Load() {
		return
	}
	_ = ss.l.el.Execute(bg, gnet.RunnableFunc(func(context.Context) error {
		if !ss.closed {
			ss.apply(ss.ch.HandleEvent(ev))
		}
		return nil
	}))
}

func (ss *udpSession) deliver(context.Context) error {
	if ss.closed {
		return nil
	}
	ss.scheduled.Store(false)
	r := ss.ch.HandleDeliver()
	more := r.More
	ss.apply(r)
	if more && !ss.closed {
		ss.Notify() // after other peers' work already queued on the loop
	}
	return nil
}

// errUDPNoFrame closes a new peer's session whose first datagram did not decode.
var errUDPNoFrame = errors.New("edge: first datagram from peer did not decode")

// onDatagram decodes one datagram into frames for the channel and returns
// how many it handled. A datagram that does not decode (or is cut short) is
// dropped and counted: on a datagram transport one bad packet does not end
// a session.
func (ss *udpSession) onDatagram(b []byte) (frames int) {
	for len(b) > 0 && !ss.closed {
		f, n, err := ss.codec.Decode(b)
		if err != nil || n <= 0 {
			if errors.Is(err, codec.ErrIncomplete) || err == nil {
				err = fmt.Errorf("edge: truncated datagram: %w", codec.ErrIncomplete)
			}
			ss.s.stats.malformed.Add(1)
			if ok, dropped := ss.s.badLog.Allow(time.Second); ok {
				ss.s.log.Info().Err(err).Str("peer", ss.peer.String()).Int64("dropped", dropped).Msg("malformed_datagram")
			}
			return frames
		}
		frames++
		ss.apply(ss.ch.HandleIn(f))
		b = b[n:]
	}
	return frames
}

// apply sends the replies (one datagram per frame), sets the timers and
// closes the session when the channel asks.
func (ss *udpSession) apply(r adapters.Replies) {
	for _, f := range r.Out {
		var b []byte
		if raw, ok := adapters.RawBytes(f); ok {
			b = raw
		} else {
			var err error
			ss.wbuf, err = ss.codec.Encode(ss.wbuf[:0], f)
			if err != nil {
				ss.s.log.Error().Err(err).Str("peer", ss.peer.String()).Msg("encode_failed")
				continue
			}
			b = ss.wbuf
		}
		if err := syscall.Sendto(ss.l.fd, b, 0, ss.sa); err != nil {
			ss.s.stats.sendErr.Add(1)
			continue
		}
		ss.s.stats.out.Add(1)
		ss.s.stats.tx.Add(uint64(len(b)))
	}
	for _, t := range r.Timers {
		ss.setTimer(t)
	}
	if r.Shutdown != nil {
		ss.close(r.Shutdown)
	}
}

// close ends the session: the channel's last call is Close(reason).
func (ss *udpSession) close(reason error) {
	if ss.closed {
		return
	}
	ss.closed = true
	ss.dead.Store(true)
	ss.scheduled.Store(true) // Notify does nothing from now on
	for _, t := range ss.timers {
		t.stop()
	}
	ss.timers = nil
	if ss.l.sessions[ss.peer] == ss {
		delete(ss.l.sessions, ss.peer)
	}
	ss.s.sessions.Add(-1)
	ss.ch.Close(reason)
}

// udpTimer is one of a channel's timers: a runtime timer that hops onto the
// loop; gen makes a replaced or stopped timer's late firing harmless.
type udpTimer struct {
	ss  *udpSession
	id  adapters.TimerID
	t   *time.Timer
	gen uint64 // loop-only
}

func (ss *udpSession) setTimer(tm adapters.Timer) {
	t := ss.timers[tm.ID]
	if tm.After <= 0 {
		if t != nil {
			t.stop()
		}
		return
	}
	if t == nil {
		if ss.timers == nil {
			ss.timers = make(map[adapters.TimerID]*udpTimer, 4)
		}
		t = &udpTimer{ss: ss, id: tm.ID}
		ss.timers[tm.ID] = t
	}
	t.stop()
	gen := t.gen
	t.t = time.AfterFunc(tm.After, func() {
		if ss.dead.Load() {
			return
		}
		_ = ss.l.el.Execute(bg, gnet.RunnableFunc(func(context.Context) error {
			if ss.closed || t.gen != gen {
				return nil
			}
			t.gen++
			ss.apply(ss.ch.HandleTimeout(t.id, time.Now()))
			return nil
		}))
	})
}

func (t *udpTimer) stop() {
	t.gen++
	if t.t != nil {
		t.t.Stop()
		t.t = nil
	}
}

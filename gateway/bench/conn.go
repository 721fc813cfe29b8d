package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/manifold-iot/manifold/codec"
	"github.com/manifold-iot/manifold/codec/mqtt"
)

// dialTimeout bounds one connection attempt: TCP, TLS, WebSocket upgrade and
// CONNECT/CONNACK.
const dialTimeout = 10 * time.Second

// maxPacket bounds the packets a bench client accepts (and its read buffer).
const maxPacket = 256<<20 + 1024

// errTooManyFiles explains EMFILE, the usual failure of a large conn run.
var errTooManyFiles = errors.New("too many open files (EMFILE): raise the limit with `ulimit -n` (for the broker too)")

// dialer opens connections as the Config says.
type dialer struct {
	cfg  *Config
	tls  *tls.Config
	next atomic.Uint64 // round robin over cfg.IfAddrs
}

func newDialer(cfg *Config) (*dialer, error) {
	d := &dialer{cfg: cfg}
	if cfg.TLS {
		// Bench runs against test certificates by default; --tls-verify checks them.
		d.tls = &tls.Config{InsecureSkipVerify: !cfg.TLSVerify, ServerName: cfg.Host} //nolint:gosec // opt-in verification for a load tool
		if cfg.CACert != "" {
			pem, err := os.ReadFile(cfg.CACert)
			if err != nil {
				return nil, fmt.Errorf("-cacert: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("-cacert: no PEM certificate in %s", cfg.CACert)
			}
			d.tls.RootCAs = pool
		}
	}
	return d, nil
}

func (d *dialer) netDialer() *net.Dialer {
	nd := &net.Dialer{Timeout: dialTimeout}
	if n := len(d.cfg.IfAddrs); n > 0 {
		ip := net.ParseIP(d.cfg.IfAddrs[int(d.next.Add(1)-1)%n])
		nd.LocalAddr = &net.TCPAddr{IP: ip}
	}
	return nd
}

// rawConn is an open MQTT transport: reads give MQTT bytes, writes take them
// (WebSocket framing is hidden).
type rawConn struct {
	nc net.Conn  // the socket (TLS wrapped when --tls)
	r  io.Reader // nc, or the WebSocket message reader
	w  io.Writer // nc, or a writer of masked binary frames
}

// dial connects and upgrades (TLS, WebSocket); it does not speak MQTT yet.
func (d *dialer) dial(ctx context.Context) (*rawConn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	addr := d.cfg.Addr()
	if d.cfg.WS {
		scheme := "ws"
		if d.cfg.TLS {
			scheme = "wss"
		}
		nd := d.netDialer()
		wd := ws.Dialer{
			Protocols: []string{"mqtt"}, // MQTT 5.0 §6.0: the subprotocol is "mqtt"
			Timeout:   dialTimeout,
			TLSConfig: d.tls,
			NetDial:   nd.DialContext,
		}
		nc, br, _, err := wd.Dial(ctx, scheme+"://"+addr+d.cfg.WSPath)
		if err != nil {
			return nil, wrapDialErr(err)
		}
		var src io.Reader = nc
		if br != nil {
			src = io.MultiReader(br, nc)
		}
		return &rawConn{nc: nc, r: &wsReader{r: wsutil.Reader{Source: src, State: ws.StateClientSide}}, w: &wsWriter{w: nc}}, nil
	}
	nc, err := d.netDialer().DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, wrapDialErr(err)
	}
	if d.tls != nil {
		tc := tls.Client(nc, d.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		nc = tc
	}
	return &rawConn{nc: nc, r: nc, w: nc}, nil
}

func wrapDialErr(err error) error {
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		return fmt.Errorf("%w: %v", errTooManyFiles, err)
	}
	return err
}

// wsReader reads the payload of binary WebSocket messages as one stream
// (RFC 6455 §5.2); control frames are skipped, a close frame ends the stream.
type wsReader struct {
	r      wsutil.Reader
	inData bool
}

func (w *wsReader) Read(p []byte) (int, error) {
	for {
		if w.inData {
			n, err := w.r.Read(p)
			if errors.Is(err, io.EOF) {
				w.inData = false
				if n > 0 {
					return n, nil
				}
				continue
			}
			return n, err
		}
		hdr, err := w.r.NextFrame()
		if err != nil {
			return 0, err
		}
		if hdr.OpCode == ws.OpClose {
			return 0, io.EOF
		}
		if hdr.OpCode.IsControl() {
			if err := w.r.Discard(); err != nil {
				return 0, err
			}
			continue
		}
		w.inData = true
	}
}

// wsWriter sends each Write as one masked binary frame (a client must mask,
// RFC 6455 §5.3), header and payload in one write.
type wsWriter struct {
	w   io.Writer
	buf []byte
}

type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) { a.b = append(a.b, p...); return len(p), nil }

func (w *wsWriter) Write(p []byte) (int, error) {
	h := ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: ws.NewMask(), Length: int64(len(p))}
	aw := appendWriter{b: w.buf[:0]}
	if err := ws.WriteHeader(&aw, h); err != nil {
		return 0, err
	}
	start := len(aw.b)
	aw.b = append(aw.b, p...)
	ws.Cipher(aw.b[start:], h.Mask, 0)
	w.buf = aw.b
	if _, err := w.w.Write(aw.b); err != nil {
		return 0, err
	}
	if cap(w.buf) > 1<<20 {
		w.buf = nil // do not keep a huge frame buffer
	}
	return len(p), nil
}

// handshake sends CONNECT and waits for a successful CONNACK, reading with a
// small buffer so an idle connection keeps nothing but its socket. It returns
// the broker's Receive Maximum (65535 when it sets none, MQTT 5.0 §3.2.2.3.3).
func handshake(rc *rawConn, cfg *Config, clientID string) (uint16, error) {
	rm, err := handshake1(rc, cfg, clientID)
	if rm == 0 {
		rm = 65535
	}
	return rm, err
}

func handshake1(rc *rawConn, cfg *Config, clientID string) (uint16, error) {
	_ = rc.nc.SetDeadline(time.Now().Add(dialTimeout))
	defer func() { _ = rc.nc.SetDeadline(time.Time{}) }()
	c := &mqtt.Connect{
		ProtocolLevel: cfg.Version,
		ClientID:      clientID,
		CleanStart:    true,
		KeepAlive:     cfg.KeepAlive,
	}
	if cfg.Username != "" {
		c.UsernameFlag, c.Username = true, cfg.Username
	}
	if cfg.Password != "" {
		c.PasswordFlag, c.Password = true, []byte(cfg.Password)
	}
	if cfg.Version == mqtt.V5 {
		c.Properties.ReceiveMaximum = 65535 // subscribers take what the broker sends
	}
	b, err := mqtt.Encode(nil, c, cfg.Version)
	if err != nil {
		return 0, fmt.Errorf("encode CONNECT: %w", err)
	}
	if _, err := rc.w.Write(b); err != nil {
		return 0, fmt.Errorf("send CONNECT: %w", err)
	}
	var buf [512]byte
	n := 0
	for {
		p, _, err := mqtt.Decode(buf[:n], cfg.Version, len(buf))
		if err == nil {
			ack, ok := p.(*mqtt.Connack)
			if !ok {
				return 0, fmt.Errorf("expected CONNACK, got %v", p.Type())
			}
			if ack.ReasonCode != mqtt.Success {
				return 0, fmt.Errorf("CONNACK refused: %v", ack.ReasonCode)
			}
			return ack.Properties.ReceiveMaximum, nil
		}
		if !errors.Is(err, codec.ErrIncomplete) {
			return 0, fmt.Errorf("decode CONNACK: %w", err)
		}
		if n == len(buf) {
			return 0, errors.New("CONNACK larger than 512 bytes")
		}
		k, err := rc.r.Read(buf[n:])
		if err != nil {
			return 0, fmt.Errorf("read CONNACK: %w", err)
		}
		n += k
	}
}

// client is a connected MQTT client with buffered I/O, used by publishers and
// subscribers (not by conn mode's idle connections).
type client struct {
	rc  *rawConn
	dec mqtt.Decoder
	buf []byte
	rd  int // start of unread bytes in buf
	wr  int // end of read bytes in buf

	mu        sync.Mutex // guards w: the owner goroutine, the ack reader and the pinger write
	w         *bufio.Writer
	lastWrite atomic.Int64 // unix nanos of the last flush, for keep-alive pings
	closing   atomic.Bool  // we are disconnecting: a read error is expected
	recvMax   uint16       // the broker's Receive Maximum

	// A publisher counts a message as sent once the bytes holding it have
	// been written to the socket, not when they enter the buffer: a run
	// that ends while the broker is not reading does not count messages
	// that never left. Guarded by mu.
	pending int            // publishes in w not yet written
	pktLen  int            // size of one publish packet
	sent    *atomic.Uint64 // where written publishes are counted; nil for subscribers
}

func newClient(rc *rawConn, version byte) *client {
	c := &client{
		rc:  rc,
		dec: mqtt.Decoder{Version: version, MaxSize: maxPacket},
		buf: make([]byte, 64<<10),
		w:   bufio.NewWriterSize(rc.w, 64<<10),
	}
	c.lastWrite.Store(time.Now().UnixNano())
	return c
}

// readPacket returns the next packet. It is valid until the next call
// (payloads reference the read buffer, and the Decoder reuses its structs).
func (c *client) readPacket() (mqtt.Packet, error) {
	for {
		if c.wr > c.rd {
			p, n, err := c.dec.DecodePacket(c.buf[c.rd:c.wr])
			if err == nil {
				c.rd += n
				return p, nil
			}
			if !errors.Is(err, codec.ErrIncomplete) {
				return nil, fmt.Errorf("decode: %w", err)
			}
		}
		if c.rd == c.wr {
			c.rd, c.wr = 0, 0
		} else if c.wr == len(c.buf) {
			if c.rd > 0 {
				c.wr = copy(c.buf, c.buf[c.rd:c.wr])
				c.rd = 0
			} else if len(c.buf) < maxPacket {
				grown := make([]byte, min(2*len(c.buf), maxPacket))
				copy(grown, c.buf[:c.wr])
				c.buf = grown
			} else {
				return nil, errors.New("packet larger than the read buffer")
			}
		}
		n, err := c.rc.r.Read(c.buf[c.wr:])
		c.wr += n
		if err != nil && n == 0 {
			return nil, err
		}
	}
}

// readError describes why the read loop ended: nil when we closed the
// connection ourselves.
func (c *client) readError(err error, lastDisconnect *mqtt.Disconnect) error {
	if c.closing.Load() {
		return nil
	}
	if lastDisconnect != nil {
		return fmt.Errorf("broker sent DISCONNECT %v", lastDisconnect.ReasonCode)
	}
	if errors.Is(err, io.EOF) {
		return errors.New("connection closed by the broker")
	}
	return err
}

// buffered reports whether unread bytes are waiting (acks are flushed only
// when the reader has caught up, batching them).
func (c *client) buffered() bool { return c.wr > c.rd }

// write appends bytes under the writer lock.
func (c *client) write(b []byte) error {
	c.mu.Lock()
	_, err := c.w.Write(b)
	c.mu.Unlock()
	return err
}

// flush sends the buffered bytes.
func (c *client) flush() error {
	c.mu.Lock()
	err := c.flushLocked()
	c.mu.Unlock()
	return err
}

func (c *client) flushLocked() error {
	if c.w.Buffered() == 0 {
		return nil
	}
	c.lastWrite.Store(time.Now().UnixNano())
	err := c.w.Flush()
	if c.sent != nil && c.pending > 0 {
		done := c.pending
		if err != nil {
			// Partly written: the bytes left are the newest publishes
			// (acknowledgements mixed in make this a slight overcount of
			// what is left, so sent is never overstated).
			left := min((c.w.Buffered()+c.pktLen-1)/c.pktLen, c.pending)
			done -= left
		}
		c.sent.Add(uint64(done))
		c.pending = 0
	}
	return err
}

// writePublish buffers one publish packet, flushing first when it would not
// fit, so the buffer only ever holds whole publishes (and small acks).
func (c *client) writePublish(pkt []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w.Available() < len(pkt) && c.w.Buffered() > 0 {
		if err := c.flushLocked(); err != nil {
			return err
		}
	}
	if _, err := c.w.Write(pkt); err != nil {
		return err
	}
	c.pending++
	if c.w.Buffered() == 0 { // larger than the buffer: bufio wrote it directly
		c.sent.Add(uint64(c.pending))
		c.pending = 0
	}
	return nil
}

// pingIfIdle sends PINGREQ when nothing was written for half the keep-alive
// (MQTT 5.0 §3.1.2.10: the client must send a packet within the keep-alive).
func (c *client) pingIfIdle(keepAlive uint16, now time.Time) {
	if keepAlive == 0 || now.UnixNano()-c.lastWrite.Load() < int64(keepAlive)*int64(time.Second)/2 {
		return
	}
	c.mu.Lock()
	_, _ = c.w.Write(pingreq[:])
	_ = c.flushLocked()
	c.mu.Unlock()
}

// disconnect sends DISCONNECT (normal disconnection) and closes the socket.
func (c *client) disconnect() {
	c.closing.Store(true)
	_ = c.rc.nc.SetWriteDeadline(time.Now().Add(time.Second)) // a broker that does not read cannot hold us
	c.mu.Lock()
	_, _ = c.w.Write(disconnectPkt[:])
	_ = c.flushLocked()
	c.mu.Unlock()
	_ = c.rc.nc.Close()
}

// Fixed packets. An acknowledgement with reason Success and no properties
// may omit the reason code in 5.0 (MQTT 5.0 §3.4.2.1), so the 3.1.1 form
// serves every version.
var (
	pingreq       = [2]byte{byte(mqtt.TypePingreq) << 4, 0}
	disconnectPkt = [2]byte{byte(mqtt.TypeDisconnect) << 4, 0}
)

func ackPacket(t mqtt.PacketType, id uint16) [4]byte {
	flags := byte(0)
	if t == mqtt.TypePubrel {
		flags = 2 // MQTT 5.0 §3.6.1: PUBREL flags are 0010
	}
	return [4]byte{byte(t)<<4 | flags, 2, byte(id >> 8), byte(id)}
}

// subscribe sends SUBSCRIBE and waits for SUBACK, failing on a refused filter.
func (c *client) subscribe(filter string, qos byte) error {
	s := &mqtt.Subscribe{PacketID: 1, Subscriptions: []mqtt.Subscription{{Filter: filter, QoS: qos}}}
	b, err := mqtt.Encode(nil, s, c.dec.Version)
	if err != nil {
		return fmt.Errorf("encode SUBSCRIBE %q: %w", filter, err)
	}
	if err := c.write(b); err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return err
	}
	_ = c.rc.nc.SetReadDeadline(time.Now().Add(dialTimeout))
	defer func() { _ = c.rc.nc.SetReadDeadline(time.Time{}) }()
	for {
		p, err := c.readPacket()
		if err != nil {
			return fmt.Errorf("waiting for SUBACK: %w", err)
		}
		if sa, ok := p.(*mqtt.Suback); ok {
			if len(sa.ReasonCodes) != 1 || sa.ReasonCodes[0] >= 0x80 {
				return fmt.Errorf("SUBSCRIBE %q refused: %v", filter, sa.ReasonCodes)
			}
			return nil
		}
	}
}

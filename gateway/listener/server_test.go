package listener

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/adaptertest"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/gateway/config"
	"github.com/manifold-iot/manifold/gateway/edge"
)

func TestTLSRoundTripQoS1(t *testing.T) {
	e := newEnv(t, false)
	subConn, err := e.dialTLS(clientTLS(t, e.dir, false))
	if err != nil {
		t.Fatal(err)
	}
	sub, got, err := pahoClient(t, subConn, "tls-sub")
	if err != nil {
		t.Fatal(err)
	}
	pubConn, err := e.dialTLS(clientTLS(t, e.dir, false))
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := pahoClient(t, pubConn, "tls-pub")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, sub, got, pub, "tls/q1", "over tls")

	infos, _ := e.ad.snapshot()
	if len(infos) != 2 {
		t.Fatalf("%d channels, want 2", len(infos))
	}
	for _, ci := range infos {
		if ci.Listener != "ssl:default" || ci.TLS == nil || !ci.TLS.HandshakeComplete ||
			ci.TLS.Version != tls.VersionTLS13 || len(ci.TLS.PeerCertificates) != 0 {
			t.Fatalf("ConnInfo %+v TLS %+v", ci, ci.TLS)
		}
		if !ci.Remote.Addr().IsLoopback() || ci.Local.String() != e.addr {
			t.Fatalf("addresses local %s remote %s, listener %s", ci.Local, ci.Remote, e.addr)
		}
	}
	if n := e.srv.Connections(); n != 2 {
		t.Fatalf("Connections() = %d, want 2", n)
	}
}

func TestMTLSRequireClientCertificate(t *testing.T) {
	e := newEnv(t, false, func(o *config.SSLOptions, _ *Config) {
		o.Verify, o.FailIfNoPeerCert = "verify_peer", true
	})
	if err := e.handshakeRefused(clientTLS(t, e.dir, false)); err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Fatalf("client without certificate: %v, want a 'certificate required' alert", err)
	}
	conn, err := e.dialTLS(clientTLS(t, e.dir, true))
	if err != nil {
		t.Fatal(err)
	}
	sub, got, err := pahoClient(t, conn, "device-1")
	if err != nil {
		t.Fatalf("client with certificate: %v", err)
	}
	roundTrip(t, sub, got, sub, "mtls/t", "hello")

	infos, _ := e.ad.snapshot()
	if len(infos) != 1 {
		t.Fatalf("%d channels, want 1 (the refused client gets none)", len(infos))
	}
	st := infos[0].TLS
	if st == nil || len(st.PeerCertificates) == 0 || st.PeerCertificates[0].Subject.CommonName != "device-1" ||
		len(st.VerifiedChains) == 0 {
		t.Fatalf("ConnInfo.TLS %+v: want the verified peer certificate CN=device-1", st)
	}
	if cn := adapters.PeerCertValue(st, "cn"); cn != "device-1" {
		t.Fatalf("PeerCertValue cn = %q", cn)
	}
	if dn := adapters.PeerCertValue(st, "dn"); dn != "CN=device-1,O=Manifold Test" {
		t.Fatalf("PeerCertValue dn = %q", dn)
	}
}

func TestMTLSWrongCARefused(t *testing.T) {
	e := newEnv(t, false, func(o *config.SSLOptions, _ *Config) {
		o.Verify, o.FailIfNoPeerCert = "verify_peer", true
	})
	other := genCerts(t) // another CA, another client certificate
	cfg := clientTLS(t, e.dir, false)
	pair, err := tls.LoadX509KeyPair(filepath.Join(other, "client-cert.pem"), filepath.Join(other, "client-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Certificates = []tls.Certificate{pair}
	if err := e.handshakeRefused(cfg); err == nil || !strings.Contains(err.Error(), "unknown certificate authority") {
		t.Fatalf("client certificate of another CA: %v, want an 'unknown certificate authority' alert", err)
	}
	// And a client that does not trust our CA refuses us.
	if _, err := e.dialTLS(clientTLS(t, other, true)); err == nil {
		t.Fatal("a client trusting another CA accepted our certificate")
	}
	if infos, _ := e.ad.snapshot(); len(infos) != 0 {
		t.Fatalf("%d channels made for refused clients", len(infos))
	}
}

func TestVerifyPeerWithoutFailIfNoPeerCert(t *testing.T) {
	e := newEnv(t, false, func(o *config.SSLOptions, _ *Config) { o.Verify = "verify_peer" })
	for _, withCert := range []bool{false, true} {
		conn, err := e.dialTLS(clientTLS(t, e.dir, withCert))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := pahoClient(t, conn, fmt.Sprintf("optional-%v", withCert)); err != nil {
			t.Fatalf("cert=%v: %v", withCert, err)
		}
	}
	infos, _ := e.ad.snapshot()
	if len(infos) != 2 || len(infos[0].TLS.PeerCertificates) != 0 || len(infos[1].TLS.PeerCertificates) != 1 {
		t.Fatalf("peer certificates: %d then %d, want 0 then 1", len(infos[0].TLS.PeerCertificates), len(infos[1].TLS.PeerCertificates))
	}
}

func TestTLSVersions(t *testing.T) {
	e := newEnv(t, false)
	old := clientTLS(t, e.dir, false)
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if _, err := e.dialTLS(old); err == nil || !strings.Contains(err.Error(), "protocol version") {
		t.Fatalf("TLS 1.1 client: %v, want a protocol version alert", err)
	}

	e12 := newEnv(t, false, func(o *config.SSLOptions, _ *Config) { o.Versions = []string{"tlsv1.2"} })
	c, err := e12.dialTLS(clientTLS(t, e12.dir, false))
	if err != nil {
		t.Fatal(err)
	}
	if v := c.ConnectionState().Version; v != tls.VersionTLS12 {
		t.Fatalf("negotiated %x on a tlsv1.2 listener", v)
	}
	c.Close()
	only13 := clientTLS(t, e12.dir, false)
	only13.MinVersion = tls.VersionTLS13
	if _, err := e12.dialTLS(only13); err == nil {
		t.Fatal("TLS 1.3-only client accepted by a tlsv1.2 listener")
	}
}

func TestMosquittoClientsOverTLS(t *testing.T) {
	needTool(t, "mosquitto_sub")
	needTool(t, "mosquitto_pub")
	e := newEnv(t, false, func(o *config.SSLOptions, _ *Config) { o.Verify = "verify_peer" })
	_, port, _ := net.SplitHostPort(e.addr)
	ca := filepath.Join(e.dir, "cacert.pem")
	cert, key := filepath.Join(e.dir, "client-cert.pem"), filepath.Join(e.dir, "client-key.pem")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	subOut := &lockedBuffer{}
	sub := exec.CommandContext(ctx, "mosquitto_sub", "-h", "localhost", "-p", port, "--cafile", ca,
		"--cert", cert, "--key", key, "-i", "mosq-sub", "-t", "mosq/tls", "-q", "1", "-C", "2", "-v")
	sub.Stdout, sub.Stderr = subOut, subOut
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	if !eventually(t, 5*time.Second, func() bool { return len(e.b.Subscriptions("mosq-sub")) == 1 }) {
		t.Fatalf("mosquitto_sub did not subscribe: %s", subOut.String())
	}
	pubs := [][]string{
		{"--cafile", ca, "-m", "server-auth"},                          // TLS
		{"--cafile", ca, "--cert", cert, "--key", key, "-m", "mutual"}, // mTLS
	}
	for _, args := range pubs {
		cmd := exec.CommandContext(ctx, "mosquitto_pub", append([]string{"-h", "localhost", "-p", port,
			"-t", "mosq/tls", "-q", "1"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_pub %v: %v\n%s", args, err, out)
		}
	}
	if err := sub.Wait(); err != nil {
		t.Fatalf("mosquitto_sub: %v\n%s", err, subOut.String())
	}
	if want := "mosq/tls server-auth\nmosq/tls mutual\n"; subOut.String() != want {
		t.Fatalf("mosquitto_sub printed %q, want %q", subOut.String(), want)
	}
	// Without the CA mosquitto refuses our certificate.
	cmd := exec.CommandContext(ctx, "mosquitto_pub", "-h", "localhost", "-p", port, "-t", "x", "-m", "x",
		"--cafile", filepath.Join(genCerts(t), "cacert.pem"))
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("mosquitto_pub trusted a certificate of another CA: %s", out)
	}
}

func TestReloadCertificate(t *testing.T) {
	e := newEnv(t, false)
	conn, err := e.dialTLS(clientTLS(t, e.dir, false))
	if err != nil {
		t.Fatal(err)
	}
	oldSerial := conn.ConnectionState().PeerCertificates[0].SerialNumber
	sub, got, err := pahoClient(t, conn, "before-reload")
	if err != nil {
		t.Fatal(err)
	}

	// A new CA and server certificate replace the files; Reload reads them.
	fresh := genCerts(t)
	for _, f := range []string{"cacert.pem", "cert.pem", "key.pem"} {
		b, err := os.ReadFile(filepath.Join(fresh, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(e.dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.tlsc.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if e.tlsc.Certificate().SerialNumber.Cmp(oldSerial) == 0 {
		t.Fatal("Certificate() still the old one after Reload")
	}

	// New connections get the new certificate (trusting only the new CA).
	conn2, err := e.dialTLS(clientTLS(t, fresh, false))
	if err != nil {
		t.Fatalf("new connection after Reload: %v", err)
	}
	if s := conn2.ConnectionState().PeerCertificates[0].SerialNumber; s.Cmp(oldSerial) == 0 {
		t.Fatal("new connection got the old certificate")
	}
	pub, _, err := pahoClient(t, conn2, "after-reload")
	if err != nil {
		t.Fatal(err)
	}
	// The connection made before the reload still works.
	roundTrip(t, sub, got, pub, "reload/t", "still here")

	// A broken file leaves the current certificate in place.
	if err := os.WriteFile(filepath.Join(e.dir, "key.pem"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.tlsc.Reload(); err == nil || !strings.Contains(err.Error(), "listeners.ssl.default.ssl_options.keyfile") {
		t.Fatalf("Reload of a broken key: %v, want an error naming the keyfile key", err)
	}
	if _, err := e.dialTLS(clientTLS(t, fresh, false)); err != nil {
		t.Fatalf("after a failed Reload: %v", err)
	}
}

func TestStopClosesEveryConnectionOnce(t *testing.T) {
	e := newEnv(t, false)
	for i := range 5 {
		c, err := e.dialTLS(clientTLS(t, e.dir, false))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := pahoClient(t, c, fmt.Sprintf("stop-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// One more that never finishes its handshake.
	silent, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	_, chans := e.ad.snapshot()
	if len(chans) != 5 {
		t.Fatalf("%d channels, want 5", len(chans))
	}
	for i, ch := range chans {
		if n := ch.closes.Load(); n != 1 {
			t.Fatalf("channel %d closed %d times", i, n)
		}
		if r := ch.closeReason(); !errors.Is(r, edge.ErrServerClosed) {
			t.Fatalf("channel %d closed with %v, want ErrServerClosed", i, r)
		}
	}
	if n := e.srv.Connections(); n != 0 {
		t.Fatalf("Connections() = %d after Stop", n)
	}
	_ = silent.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("handshaking connection after Stop: %v, want closed", err)
	}
	if _, err := net.Dial("tcp", e.addr); err == nil {
		t.Fatal("listener still accepting after Stop")
	}
}

func TestHandshakeTimeoutClosesSilentConnection(t *testing.T) {
	e := newEnv(t, false, func(_ *config.SSLOptions, c *Config) { c.HandshakeTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err = c.Read(make([]byte, 1))
	if el := time.Since(start); err == nil || el < 150*time.Millisecond || el > 2*time.Second {
		t.Fatalf("silent connection: read %v after %s, want closed after ~200ms", err, el)
	}
	if infos, _ := e.ad.snapshot(); len(infos) != 0 {
		t.Fatal("a channel was made for a connection that never shook hands")
	}
	if !eventually(t, time.Second, func() bool { return e.srv.active.Load() == 0 }) {
		t.Fatalf("%d sockets still counted", e.srv.active.Load())
	}
}

func TestMaxConnections(t *testing.T) {
	e := newEnv(t, false, func(_ *config.SSLOptions, c *Config) { c.MaxConnections = 1 })
	first, err := e.dialTLS(clientTLS(t, e.dir, false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pahoClient(t, first, "only-one"); err != nil {
		t.Fatal(err)
	}
	if err := e.handshakeRefused(clientTLS(t, e.dir, false)); err == nil {
		t.Fatal("second connection accepted over max_connections")
	}
}

func TestBindErrorNamesKey(t *testing.T) {
	e := newEnv(t, false)
	cfg := e.cfg
	cfg.Bind = e.addr
	srv := NewTLS(cfg, e.ad, &adaptertest.Context{Broker: e.b}, zerolog.Nop())
	err := srv.Start(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "listeners.ssl.default.bind: ") || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Start on a busy port: %v", err)
	}
	if err := srv.Stop(context.Background()); err != nil {
		t.Fatalf("Stop after a failed Start: %v", err)
	}
	if err := (&Server{}).Stop(context.Background()); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	if err := e.srv.Start(context.Background()); !errors.Is(err, edge.ErrStarted) {
		t.Fatalf("second Start: %v", err)
	}
}

func TestFromSSLAndFromWSS(t *testing.T) {
	dir := genCerts(t)
	cfg := config.Default()
	cfg.Dir = dir
	ssl := cfg.Listeners.SSL["default"]
	ssl.SSLOptions.Certfile, ssl.SSLOptions.Keyfile, ssl.SSLOptions.Cacertfile = "cert.pem", "key.pem", "cacert.pem"
	ssl.MaxConnections = 7
	ssl.SSLOptions.HandshakeTimeout = config.Duration(3 * time.Second)
	c, err := FromSSL("default", ssl, cfg.ResolvePath)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "ssl:default" || c.Bind != "0.0.0.0:8883" || c.MaxConnections != 7 || c.HandshakeTimeout != 3*time.Second ||
		c.SendTimeout != 15*time.Second || !c.TCPNoDelay || c.TLS == nil {
		t.Fatalf("FromSSL: %+v", c)
	}
	wss := cfg.Listeners.WSS["default"]
	wss.SSLOptions = ssl.SSLOptions
	c, err = FromWSS("default", wss, cfg.ResolvePath)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "wss:default" || c.WebSocket.Path != "/mqtt" || !c.WebSocket.FailIfNoSubprotocol ||
		!slices.Equal(c.WebSocket.Subprotocols, wss.WebSocket.SupportedSubprotocols) || c.WebSocket.Subprotocols[0] != "mqtt" {
		t.Fatalf("FromWSS: %+v", c)
	}
	wss.ProxyProtocol = true
	if _, err := FromWSS("default", wss, cfg.ResolvePath); err == nil ||
		!strings.HasPrefix(err.Error(), "listeners.wss.default.proxy_protocol: ") {
		t.Fatalf("FromWSS with proxy_protocol: %v", err)
	}
	wss.ProxyProtocol = false
	wss.SSLOptions.Certfile = "missing.pem"
	if _, err := FromWSS("default", wss, cfg.ResolvePath); err == nil ||
		!strings.HasPrefix(err.Error(), "listeners.wss.default.ssl_options.certfile: ") {
		t.Fatalf("FromWSS with a missing certfile: %v", err)
	}
}

// lockedBuffer is a bytes.Buffer a child process writes to while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

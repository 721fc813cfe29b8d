package listener

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/adaptertest"
	mqttad "github.com/manifold-iot/manifold/adapters/mqtt"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/gateway/config"
	"github.com/manifold-iot/manifold/internal/testkit"
)

// genCerts runs scripts/gen-certs.sh into a new temporary directory and
// returns it. Without openssl the test is skipped, except in CI.
func genCerts(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("openssl not installed (CI must install it: apt-get install openssl)")
		}
		t.Skip("openssl not installed: apt-get install openssl")
	}
	dir := t.TempDir()
	if out, err := runScript(dir); err != nil {
		t.Fatalf("gen-certs.sh: %v\n%s", err, out)
	}
	return dir
}

// runScript runs scripts/gen-certs.sh with args.
func runScript(args ...string) (string, error) {
	out, err := exec.Command("../../scripts/gen-certs.sh", args...).CombinedOutput()
	return string(out), err
}

// needTool skips outside CI when a third-party client is missing.
func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed (.ci/run installs it)", name)
		}
		t.Skipf("%s not installed: apt-get install mosquitto-clients", name)
	}
}

// eventually polls cond until it holds or within has passed.
func eventually(t testing.TB, within time.Duration, cond func() bool) bool {
	t.Helper()
	return testkit.Eventually(within, cond)
}

// recAdapter wraps an adapter and records every connection's ConnInfo and
// channel, counting each channel's Close calls.
type recAdapter struct {
	adapters.Adapter
	mu    sync.Mutex
	infos []adapters.ConnInfo
	chans []*recChannel
}

type recChannel struct {
	adapters.Channel
	closes atomic.Int32
	mu     sync.Mutex
	reason error
}

func (a *recAdapter) NewChannel(ci adapters.ConnInfo, ctx adapters.Context) (adapters.Channel, error) {
	ch, err := a.Adapter.NewChannel(ci, ctx)
	if err != nil {
		return nil, err
	}
	rc := &recChannel{Channel: ch}
	a.mu.Lock()
	a.infos = append(a.infos, ci)
	a.chans = append(a.chans, rc)
	a.mu.Unlock()
	return rc, nil
}

func (a *recAdapter) snapshot() ([]adapters.ConnInfo, []*recChannel) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]adapters.ConnInfo(nil), a.infos...), append([]*recChannel(nil), a.chans...)
}

func (c *recChannel) Close(reason error) {
	c.closes.Add(1)
	c.mu.Lock()
	c.reason = reason
	c.mu.Unlock()
	c.Channel.Close(reason)
}

func (c *recChannel) closeReason() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// env is a listener serving the real MQTT adapter over a real broker.
type env struct {
	t     *testing.T
	dir   string // certificates
	srv   *Server
	ad    *recAdapter
	b     *broker.Broker
	addr  string
	tlsc  *TLS
	cfg   Config
	isWSS bool
}

// envOpts adjusts an env before it starts: the ssl_options (paths are
// relative to the certificate directory) and the listener config.
type envOpts func(o *config.SSLOptions, c *Config)

func newEnv(t *testing.T, wss bool, mods ...envOpts) *env {
	t.Helper()
	return newEnvWith(t, genCerts(t), wss, mqttad.NewAdapter(mqttad.DefaultConfig()), mods...)
}

func newEnvWith(t *testing.T, dir string, wss bool, a adapters.Adapter, mods ...envOpts) *env {
	t.Helper()
	var opts config.SSLOptions
	opts.SetDefaults()
	opts.Certfile, opts.Keyfile, opts.Cacertfile = "cert.pem", "key.pem", "cacert.pem"
	name := "ssl:default"
	if wss {
		name = "wss:default"
	}
	cfg := DefaultConfig(name, "127.0.0.1:0", nil)
	cfg.HandshakeTimeout = 2 * time.Second
	for _, m := range mods {
		m(&opts, &cfg)
	}
	tlsc, err := TLSConfig("listeners.ssl.default", opts, func(p string) string { return filepath.Join(dir, p) })
	if err != nil {
		t.Fatalf("TLSConfig: %v", err)
	}
	cfg.TLS = tlsc
	b := broker.New(broker.DefaultConfig(), zerolog.Nop())
	t.Cleanup(b.Close)
	ad := &recAdapter{Adapter: a}
	ctx := &adaptertest.Context{Broker: b}
	var srv *Server
	if wss {
		srv = NewWSS(cfg, ad, ctx, zerolog.Nop())
	} else {
		srv = NewTLS(cfg, ad, ctx, zerolog.Nop())
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return &env{t: t, dir: dir, srv: srv, ad: ad, b: b, addr: srv.Addr().String(), tlsc: tlsc, cfg: cfg, isWSS: wss}
}

// clientTLS trusts the CA in dir and, with cert, presents dir's client
// certificate.
func clientTLS(t testing.TB, dir string, cert bool) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(dir, "cacert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no CA certificate")
	}
	c := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	if cert {
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "client-cert.pem"), filepath.Join(dir, "client-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c
}

// dialTLS connects and completes the handshake.
func (e *env) dialTLS(cfg *tls.Config) (*tls.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", e.addr, cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// pahoClient runs an MQTT 5 client (eclipse/paho.golang) on conn; received
// messages arrive on the returned channel.
func pahoClient(t *testing.T, conn net.Conn, id string) (*paho.Client, chan *paho.Publish, error) {
	t.Helper()
	got := make(chan *paho.Publish, 100)
	c := paho.NewClient(paho.ClientConfig{
		Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			got <- pr.Packet
			return true, nil
		}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: id, KeepAlive: 30, CleanStart: true}); err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c, got, nil
}

func recvWithin(t *testing.T, ch chan *paho.Publish, d time.Duration) *paho.Publish {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(d):
		t.Fatal("no message received")
		return nil
	}
}

// roundTrip subscribes sub to topic, publishes payload at QoS 1 from pub and
// waits for it.
func roundTrip(t *testing.T, sub *paho.Client, got chan *paho.Publish, pub *paho.Client, topic, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if _, err := pub.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(payload)}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	m := recvWithin(t, got, 5*time.Second)
	if m.Topic != topic || string(m.Payload) != payload || m.QoS != 1 {
		t.Fatalf("got %s %q QoS %d, want %s %q QoS 1", m.Topic, m.Payload, m.QoS, topic, payload)
	}
}

// handshakeRefused reports whether a client with cfg cannot get an MQTT
// session: the handshake fails or (TLS 1.3, where the server checks the
// client's certificate after the client's Handshake returned) the first read
// does.
func (e *env) handshakeRefused(cfg *tls.Config) error {
	c, err := e.dialTLS(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	// A v3.1.1 CONNECT: the server answers CONNACK if it accepted us.
	connect := []byte{0x10, 0x0e, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 30, 0, 2, 'i', 'd'}
	if _, err := c.Write(connect); err != nil {
		return err
	}
	var b [4]byte
	if _, err := c.Read(b[:]); err != nil {
		return err
	}
	return errors.New("refused client got a CONNACK")
}

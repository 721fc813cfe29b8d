package listener

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters/adaptertest"
	snc "github.com/manifold-iot/manifold/codec/sn"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/sn"
)

func startDTLS(t *testing.T, cfg DTLSConfig) (*DTLSServer, *broker.Broker) {
	t.Helper()
	b := broker.New(broker.DefaultConfig(), zerolog.Nop())
	t.Cleanup(b.Close)
	cfg.Bind = "127.0.0.1:0"
	s := NewDTLS(cfg, sn.NewAdapter(sn.DefaultConfig(), nil), &adaptertest.Context{Broker: b}, zerolog.Nop())
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s, b
}

func dialDTLS(t *testing.T, s *DTLSServer, opts ...dtls.ClientOption) *dtls.Conn {
	t.Helper()
	c, err := dtls.DialWithOptions("udp", s.Addr().(*net.UDPAddr), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.HandshakeContext(ctx); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return c
}

func snSend(t *testing.T, c net.Conn, m snc.Message) {
	t.Helper()
	b, _ := snc.Encode(nil, m)
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

func snRecv(t *testing.T, c net.Conn) snc.Message {
	t.Helper()
	buf := make([]byte, 2048)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	m, _, err := snc.Decode(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// snRoundTrip connects, subscribes to a short topic and publishes to it.
func snRoundTrip(t *testing.T, c net.Conn) {
	t.Helper()
	snSend(t, c, &snc.Connect{ProtocolID: 1, CleanSession: true, Duration: 30, ClientID: "dtls-client"})
	if a, ok := snRecv(t, c).(*snc.Connack); !ok || a.ReturnCode != snc.Accepted {
		t.Fatalf("CONNACK %+v", a)
	}
	short, _ := snc.ShortTopicID("dt")
	snSend(t, c, &snc.Subscribe{TopicIDType: snc.TopicShort, TopicID: short, MsgID: 1, QoS: 1})
	if a, ok := snRecv(t, c).(*snc.Suback); !ok || a.ReturnCode != snc.Accepted {
		t.Fatalf("SUBACK %+v", a)
	}
	snSend(t, c, &snc.Publish{QoS: 1, TopicIDType: snc.TopicShort, TopicID: short, MsgID: 2, Data: []byte("secure")})
	var gotAck, gotPub bool
	for range 2 {
		switch m := snRecv(t, c).(type) {
		case *snc.Puback:
			gotAck = m.MsgID == 2 && m.ReturnCode == snc.Accepted
		case *snc.Publish:
			gotPub = string(m.Data) == "secure"
		}
	}
	if !gotAck || !gotPub {
		t.Fatalf("PUBACK %v, PUBLISH back %v", gotAck, gotPub)
	}
	// A record that does not decode is dropped; the association lives on.
	if _, err := c.Write([]byte{2, 0x03}); err != nil {
		t.Fatal(err)
	}
	snSend(t, c, &snc.Pingreq{})
	if m, ok := snRecv(t, c).(*snc.Pingresp); !ok {
		t.Fatalf("after garbage got %+v", m)
	}
}

func TestDTLSPSKRoundTrip(t *testing.T) {
	key := []byte{0xAB, 0xC1, 0x23}
	s, b := startDTLS(t, DTLSConfig{PSK: map[string][]byte{"sensor-1": key}, PSKIdentityHint: "manifold"})
	c := dialDTLS(t, s,
		dtls.WithPSK(func([]byte) ([]byte, error) { return key, nil }),
		dtls.WithPSKIdentityHint([]byte("sensor-1")),
		dtls.WithCipherSuites(dtls.TLS_PSK_WITH_AES_128_CCM_8))
	snRoundTrip(t, c)
	if b.Stats().Connected != 1 || s.Connections() != 1 {
		t.Fatalf("connected %d, associations %d", b.Stats().Connected, s.Connections())
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !eventually(t, 2*time.Second, func() bool { return b.Stats().Connected == 0 }) {
		t.Fatal("channel not closed by Stop")
	}
}

func TestDTLSPSKWrongKey(t *testing.T) {
	s, _ := startDTLS(t, DTLSConfig{PSK: map[string][]byte{"sensor-1": {1, 2, 3}}})
	c, err := dtls.DialWithOptions("udp", s.Addr().(*net.UDPAddr),
		dtls.WithPSK(func([]byte) ([]byte, error) { return []byte{9, 9, 9}, nil }),
		dtls.WithPSKIdentityHint([]byte("sensor-1")),
		dtls.WithCipherSuites(dtls.TLS_PSK_WITH_AES_128_CCM_8))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.HandshakeContext(ctx); err == nil {
		t.Fatal("handshake with the wrong key succeeded")
	}
}

func TestDTLSCertificateRoundTrip(t *testing.T) {
	cert, pool := selfSigned(t)
	s, _ := startDTLS(t, DTLSConfig{Certificates: []tls.Certificate{cert}})
	c := dialDTLS(t, s, dtls.WithRootCAs(pool), dtls.WithServerName("localhost"))
	snRoundTrip(t, c)
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k, Leaf: leaf}, pool
}

func TestLoadPSKFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text string
		want       map[string]string
		ok         bool
	}{
		{"ok", "# comment\n\nsensor-1:abc123\nsensor-2 : 00ff\n", map[string]string{"sensor-1": "\xab\xc1\x23", "sensor-2 ": "\x00\xff"}, true},
		{"no colon", "sensor-1\n", nil, false},
		{"not hex", "a:xyz\n", nil, false},
		{"empty key", "a:\n", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if err := os.WriteFile(p, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadPSKFile(p)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v", err)
			}
			for id, k := range tc.want {
				if string(got[id]) != k {
					t.Fatalf("%q = %x, want %x", id, got[id], k)
				}
			}
		})
	}
}

func TestDTLSConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  DTLSConfig
	}{
		{"no bind", DTLSConfig{Name: "dtls:default", PSK: map[string][]byte{"a": {1}}}},
		{"no credentials", DTLSConfig{Name: "dtls:default", Bind: "127.0.0.1:0"}},
		{"verify without CA", DTLSConfig{Name: "dtls:default", Bind: "127.0.0.1:0", PSK: map[string][]byte{"a": {1}}, VerifyPeer: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

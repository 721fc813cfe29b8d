package listener

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"

	"github.com/pion/dtls/v3"

	"github.com/manifold-iot/manifold/adapters/certs"
	"github.com/manifold-iot/manifold/adapters/certs/certstest"
	snc "github.com/manifold-iot/manifold/codec/sn"
)

// TestDTLSReloadCertificates: an MQTT-SN DTLS listener serving certificate
// A gets certificate B from its files; new handshakes see B, the
// association made before keeps working, and a broken file keeps B.
func TestDTLSReloadCertificates(t *testing.T) {
	const key = "gateway.mqttsn.listeners.dtls.default"
	a, b := certstest.New(t, "cert-A"), certstest.New(t, "cert-B")
	files := certstest.InDir(t.TempDir())
	a.Write(t, files)
	r, err := certs.NewReloader(certs.Files{Key: key + ".dtls_options", Cert: files.Cert, PrivKey: files.Key})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := startDTLS(t, DTLSConfig{Name: "mqttsn:dtls:default", Key: key, Certs: r})
	roots := x509.NewCertPool()
	roots.AddCert(a.Leaf)
	roots.AddCert(b.Leaf)
	dial := func() *dtls.Conn {
		return dialDTLS(t, s, dtls.WithRootCAs(roots), dtls.WithServerName("localhost"))
	}

	c1 := dial()
	if cn := dtlsServerCN(t, c1); cn != "cert-A" {
		t.Fatalf("server certificate %q, want cert-A", cn)
	}
	short, _ := snc.ShortTopicID("rl")
	snConnect(t, c1, "before-reload")
	snSend(t, c1, &snc.Subscribe{TopicIDType: snc.TopicShort, TopicID: short, MsgID: 1})
	if a, ok := snRecv(t, c1).(*snc.Suback); !ok || a.ReturnCode != snc.Accepted {
		t.Fatalf("SUBACK %+v", a)
	}

	b.Write(t, files)
	if err := s.ReloadCertificates(); err != nil {
		t.Fatalf("ReloadCertificates: %v", err)
	}
	c2 := dial()
	if cn := dtlsServerCN(t, c2); cn != "cert-B" {
		t.Fatalf("server certificate after reload %q, want cert-B", cn)
	}
	snConnect(t, c2, "after-reload")
	snSend(t, c2, &snc.Publish{TopicIDType: snc.TopicShort, TopicID: short, Data: []byte("across the reload")})
	// The association made before the reload still receives and answers.
	if p, ok := snRecv(t, c1).(*snc.Publish); !ok || string(p.Data) != "across the reload" {
		t.Fatalf("first association got %+v, want the PUBLISH", p)
	}
	snSend(t, c1, &snc.Pingreq{})
	if m, ok := snRecv(t, c1).(*snc.Pingresp); !ok {
		t.Fatalf("PINGREQ on the first association: got %+v", m)
	}

	// A broken key file fails the reload, naming the key; B stays.
	certstest.WriteFile(t, files.Key, []byte("junk"))
	err = s.ReloadCertificates()
	if err == nil || !strings.Contains(err.Error(), key+".dtls_options.keyfile") {
		t.Fatalf("ReloadCertificates with a broken key: %v, want an error naming %s.dtls_options.keyfile", err, key)
	}
	if cn := dtlsServerCN(t, dial()); cn != "cert-B" {
		t.Fatalf("server certificate after a failed reload %q, want cert-B", cn)
	}
}

// TestDTLSReloadCertificatesWithoutFiles: PSK listeners and listeners given
// fixed certificates have no files to read: ReloadCertificates does nothing.
func TestDTLSReloadCertificatesWithoutFiles(t *testing.T) {
	c := certstest.New(t, "fixed")
	for _, cfg := range []DTLSConfig{
		{PSK: map[string][]byte{"id": {1, 2, 3}}},
		{Certificates: []tls.Certificate{c.TLS}},
	} {
		s, _ := startDTLS(t, cfg)
		if err := s.ReloadCertificates(); err != nil {
			t.Fatalf("ReloadCertificates: %v", err)
		}
	}
}

func snConnect(t *testing.T, c net.Conn, clientID string) {
	t.Helper()
	snSend(t, c, &snc.Connect{ProtocolID: 1, CleanSession: true, Duration: 30, ClientID: clientID})
	if a, ok := snRecv(t, c).(*snc.Connack); !ok || a.ReturnCode != snc.Accepted {
		t.Fatalf("CONNACK %+v", a)
	}
}

func dtlsServerCN(t *testing.T, c *dtls.Conn) string {
	t.Helper()
	st, ok := c.ConnectionState()
	if !ok || len(st.PeerCertificates) == 0 {
		t.Fatal("no server certificate")
	}
	cert, err := x509.ParseCertificate(st.PeerCertificates[0])
	if err != nil {
		t.Fatal(err)
	}
	return cert.Subject.CommonName
}

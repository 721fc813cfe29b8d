package gateway

import (
	"context"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters/certs/certstest"
	snc "github.com/manifold-iot/manifold/codec/sn"
)

// TestPutConfigsListenersReloadsDTLS: PUT /api/v5/configs/listeners {}
// re-reads the certificate files of the MQTT-SN, CoAP and LwM2M DTLS
// listeners: new handshakes get the new certificate, a session made before
// stays up, and a broken file answers 400 naming the key and keeps the
// certificate in service.
func TestPutConfigsListenersReloadsDTLS(t *testing.T) {
	a, b := certstest.New(t, "cert-A"), certstest.New(t, "cert-B")
	dir := t.TempDir()
	files := certstest.InDir(dir)
	a.Write(t, files)
	keys := filepath.Join(dir, "api-keys")
	certstest.WriteFile(t, keys, []byte("reload-key:reload-secret\n"))

	cfg := testConfig(t)
	cfg.Dashboard.Listeners.HTTP.Enable = true
	cfg.Dashboard.Listeners.HTTP.Bind = "127.0.0.1:0"
	cfg.APIKey.BootstrapFile = keys
	sn := cfg.Gateway.MQTTSN.Listeners.DTLS["default"]
	sn.Enable, sn.Bind = true, "127.0.0.1:0"
	sn.DTLSOptions.Certfile, sn.DTLSOptions.Keyfile = files.Cert, files.Key
	coap := cfg.Gateway.CoAP.Listeners.DTLS["default"]
	coap.Enable, coap.Bind, coap.Certfile, coap.Keyfile = true, "127.0.0.1:0", files.Cert, files.Key
	lw := cfg.Gateway.LwM2M.Listeners.DTLS["default"]
	lw.Enable, lw.Bind, lw.Certfile, lw.Keyfile = true, "127.0.0.1:0", files.Cert, files.Key
	srv, err := New(cfg, zerolog.Nop(), WithPasswordHashIterations(1000))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})

	roots := x509.NewCertPool()
	roots.AddCert(a.Leaf)
	roots.AddCert(b.Leaf)
	ids := []string{"mqttsn:dtls:default", "coap:dtls:default", "lwm2m:dtls:default"}
	addrs := map[string]*net.UDPAddr{}
	for _, id := range ids {
		deadline := time.Now().Add(5 * time.Second)
		for srv.Addr(id) == nil && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		ad, ok := srv.Addr(id).(*net.UDPAddr)
		if !ok {
			t.Fatalf("%s never started", id)
		}
		addrs[id] = ad
	}
	put := func() (int, string) {
		req := httptest.NewRequest("PUT", "/api/v5/configs/listeners", strings.NewReader("{}"))
		req.SetBasicAuth("reload-key", "reload-secret")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.api.Handler().ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}

	before := map[string]*dtls.Conn{}
	for _, id := range ids {
		c, cn := dialDTLSCN(t, addrs[id], roots)
		if cn != "cert-A" {
			t.Fatalf("%s: server certificate %q, want cert-A", id, cn)
		}
		before[id] = c
	}
	b.Write(t, files)
	if code, body := put(); code != http.StatusOK {
		t.Fatalf("PUT configs/listeners: %d %s", code, body)
	}
	for _, id := range ids {
		if _, cn := dialDTLSCN(t, addrs[id], roots); cn != "cert-B" {
			t.Fatalf("%s: server certificate after the reload %q, want cert-B", id, cn)
		}
	}
	// The session made before the reload is still served: MQTT-SN answers
	// a CONNECT on it.
	c := before["mqttsn:dtls:default"]
	connect, _ := snc.Encode(nil, &snc.Connect{ProtocolID: 1, CleanSession: true, Duration: 30, ClientID: "before-reload"})
	if _, err := c.Write(connect); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("CONNECT on the association made before the reload: %v", err)
	}
	if m, _, err := snc.Decode(buf[:n]); err != nil {
		t.Fatal(err)
	} else if ack, ok := m.(*snc.Connack); !ok || ack.ReturnCode != snc.Accepted {
		t.Fatalf("CONNECT on the association made before the reload: got %+v", m)
	}

	certstest.WriteFile(t, files.Key, []byte("junk"))
	code, body := put()
	if code != http.StatusBadRequest {
		t.Fatalf("PUT with a broken keyfile: %d %s, want 400", code, body)
	}
	for _, key := range []string{
		"gateway.mqttsn.listeners.dtls.default.dtls_options.keyfile",
		"gateway.coap.listeners.dtls.default.keyfile",
		"gateway.lwm2m.listeners.dtls.default.keyfile",
	} {
		if !strings.Contains(body, key) {
			t.Errorf("error %s does not name %s", body, key)
		}
	}
	for _, id := range ids {
		if _, cn := dialDTLSCN(t, addrs[id], roots); cn != "cert-B" {
			t.Fatalf("%s: server certificate after a failed reload %q, want cert-B", id, cn)
		}
	}
}

// dialDTLSCN handshakes with addr trusting roots and returns the session
// and the server certificate's CN.
func dialDTLSCN(t *testing.T, addr *net.UDPAddr, roots *x509.CertPool) (*dtls.Conn, string) {
	t.Helper()
	c, err := dtls.DialWithOptions("udp", addr, dtls.WithRootCAs(roots), dtls.WithServerName("localhost"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.HandshakeContext(ctx); err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	st, _ := c.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		t.Fatal("no server certificate")
	}
	cert, err := x509.ParseCertificate(st.PeerCertificates[0])
	if err != nil {
		t.Fatal(err)
	}
	return c, cert.Subject.CommonName
}

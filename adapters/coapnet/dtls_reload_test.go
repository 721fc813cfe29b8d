package coapnet

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	piondtls "github.com/pion/dtls/v3"
	"github.com/plgd-dev/go-coap/v3/dtls"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters/certs/certstest"
)

// TestDTLSReloadCertificates: a CoAP DTLS listener serving certificate A
// gets certificate B from its files; new handshakes see B, the session made
// before keeps being served, and a broken file keeps B.
func TestDTLSReloadCertificates(t *testing.T) {
	a, b := certstest.New(t, "cert-A"), certstest.New(t, "cert-B")
	files := certstest.InDir(t.TempDir())
	a.Write(t, files)
	ls := Listeners{DTLS: map[string]DTLSListener{
		"default": {Bind: "127.0.0.1:0", Certfile: files.Cert, Keyfile: files.Key},
	}}
	echo := func(w *ResponseWriter, r *pool.Message) {
		body, _ := r.ReadBody()
		_ = w.SetResponse(codes.Content, message.TextPlain, bytes.NewReader(body))
	}
	s, err := Listen(ls, echo, Options{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	addr := s.Addr("dtls:default").(*net.UDPAddr)
	roots := x509.NewCertPool()
	roots.AddCert(a.Leaf)
	roots.AddCert(b.Leaf)

	c1, cn := dialCoAPDTLS(t, addr, roots)
	if cn != "cert-A" {
		t.Fatalf("server certificate %q, want cert-A", cn)
	}
	coapEcho(t, c1, "before")

	b.Write(t, files)
	if err := s.ReloadCertificates("gateway.coap."); err != nil {
		t.Fatalf("ReloadCertificates: %v", err)
	}
	c2, cn := dialCoAPDTLS(t, addr, roots)
	if cn != "cert-B" {
		t.Fatalf("server certificate after reload %q, want cert-B", cn)
	}
	coapEcho(t, c2, "new")
	coapEcho(t, c1, "still there") // the session made before the reload

	// A certificate file that is not one fails the reload, naming the key
	// under the prefix; B stays.
	certstest.WriteFile(t, files.Cert, []byte("junk"))
	err = s.ReloadCertificates("gateway.coap.")
	if err == nil || !strings.Contains(err.Error(), "gateway.coap.listeners.dtls.default.certfile") {
		t.Fatalf("ReloadCertificates with a broken certfile: %v, want an error naming gateway.coap.listeners.dtls.default.certfile", err)
	}
	if _, cn := dialCoAPDTLS(t, addr, roots); cn != "cert-B" {
		t.Fatalf("server certificate after a failed reload %q, want cert-B", cn)
	}
	coapEcho(t, c1, "after the failed reload")
}

// TestDTLSReloadCertificatesPSK: a PSK listener has no files: nothing to
// reload, and a Server not started neither.
func TestDTLSReloadCertificatesPSK(t *testing.T) {
	ls := Listeners{DTLS: map[string]DTLSListener{"psk": {Bind: "127.0.0.1:0", PSK: map[string]string{"id": "secret"}}}}
	s, err := Listen(ls, func(*ResponseWriter, *pool.Message) {}, Options{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	if err := s.ReloadCertificates("gateway.coap."); err != nil {
		t.Fatalf("ReloadCertificates: %v", err)
	}
	var none *Server
	if err := none.ReloadCertificates("gateway.coap."); err != nil {
		t.Fatalf("ReloadCertificates on a nil Server: %v", err)
	}
}

// TestDTLSStartErrorNamesKey: a listener whose files do not load does not
// start, and the error names the file's key.
func TestDTLSStartErrorNamesKey(t *testing.T) {
	files := certstest.InDir(t.TempDir())
	certstest.New(t, "A").Write(t, files)
	ls := Listeners{DTLS: map[string]DTLSListener{"default": {Bind: "127.0.0.1:0", Certfile: files.Cert, Keyfile: files.Cert}}}
	s, err := Listen(ls, func(*ResponseWriter, *pool.Message) {}, Options{}, zerolog.Nop())
	if err == nil {
		s.Shutdown()
		t.Fatal("Listen with a certificate as keyfile succeeded")
	}
	if !strings.HasPrefix(err.Error(), "listeners.dtls.default.keyfile: ") {
		t.Fatalf("Listen: %v, want an error naming listeners.dtls.default.keyfile", err)
	}
}

// dialCoAPDTLS handshakes with addr (pion/dtls, trusting roots) and
// returns a go-coap client on the session and the server certificate's CN.
func dialCoAPDTLS(t *testing.T, addr *net.UDPAddr, roots *x509.CertPool) (*udpclient.Conn, string) {
	t.Helper()
	pc, err := piondtls.DialWithOptions("udp", addr, piondtls.WithRootCAs(roots), piondtls.WithServerName("localhost"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pc.HandshakeContext(ctx); err != nil {
		_ = pc.Close()
		t.Fatalf("handshake: %v", err)
	}
	st, _ := pc.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		t.Fatal("no server certificate")
	}
	cert, err := x509.ParseCertificate(st.PeerCertificates[0])
	if err != nil {
		t.Fatal(err)
	}
	cc := dtls.Client(pc)
	t.Cleanup(func() { _ = cc.Close(); _ = pc.Close() })
	return cc, cert.Subject.CommonName
}

func coapEcho(t *testing.T, cc *udpclient.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cc.Post(ctx, "/echo", message.TextPlain, strings.NewReader(msg))
	if err != nil {
		t.Fatalf("POST %q: %v", msg, err)
	}
	if resp.Code() != codes.Content {
		t.Fatalf("POST %q: %v", msg, resp.Code())
	}
	body, err := io.ReadAll(resp.Body())
	if err != nil || string(body) != msg {
		t.Fatalf("POST %q: got %q (%v)", msg, body, err)
	}
}

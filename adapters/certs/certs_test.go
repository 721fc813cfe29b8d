package certs_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v3"

	"github.com/manifold-iot/manifold/adapters/certs"
	"github.com/manifold-iot/manifold/adapters/certs/certstest"
)

const key = "listeners.dtls.default"

func TestLoadErrorsNameTheKey(t *testing.T) {
	a, b := certstest.New(t, "A"), certstest.New(t, "B")
	dir := t.TempDir()
	good := certstest.InDir(dir)
	a.Write(t, good)
	junk := filepath.Join(dir, "junk.pem")
	certstest.WriteFile(t, junk, []byte("junk"))
	otherKey := filepath.Join(dir, "other-key.pem")
	certstest.WriteFile(t, otherKey, b.KeyPEM)
	missing := filepath.Join(dir, "missing.pem")

	for _, tc := range []struct {
		name    string
		f       certs.Files
		wantErr string // "" loads
	}{
		{"loads", certs.Files{Cert: good.Cert, PrivKey: good.Key}, ""},
		{"loads with a CA", certs.Files{Cert: good.Cert, PrivKey: good.Key, CA: good.CA}, ""},
		{"missing certfile", certs.Files{Cert: missing, PrivKey: good.Key}, key + ".certfile"},
		{"certfile holds a key", certs.Files{Cert: good.Key, PrivKey: good.Key}, key + ".certfile"},
		{"missing keyfile", certs.Files{Cert: good.Cert, PrivKey: missing}, key + ".keyfile"},
		{"key of another certificate", certs.Files{Cert: good.Cert, PrivKey: otherKey}, key + ".keyfile"},
		{"missing cacertfile", certs.Files{Cert: good.Cert, PrivKey: good.Key, CA: missing}, key + ".cacertfile"},
		{"cacertfile without certificates", certs.Files{Cert: good.Cert, PrivKey: good.Key, CA: junk}, key + ".cacertfile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.Key = key
			got, err := tc.f.Load()
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr+": ") {
					t.Fatalf("Load: %v, want an error naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got.Certificate.Leaf.Subject.CommonName != "A" {
				t.Fatalf("leaf %q, want A", got.Certificate.Leaf.Subject.CommonName)
			}
			if (tc.f.CA != "") != (got.ClientCAs != nil) {
				t.Fatalf("ClientCAs %v with cacertfile %q", got.ClientCAs, tc.f.CA)
			}
		})
	}
}

func TestReloaderKeepsCurrentOnError(t *testing.T) {
	files := certstest.InDir(t.TempDir())
	certstest.New(t, "A").Write(t, files)
	r, err := certs.NewReloader(certs.Files{Key: key, Cert: files.Cert, PrivKey: files.Key})
	if err != nil {
		t.Fatal(err)
	}
	certstest.WriteFile(t, files.Key, []byte("junk"))
	if err := r.Reload(); err == nil || !strings.Contains(err.Error(), key+".keyfile") {
		t.Fatalf("Reload of a broken key: %v, want an error naming %s.keyfile", err, key)
	}
	if cn := r.Current().Certificate.Leaf.Subject.CommonName; cn != "A" {
		t.Fatalf("after a failed Reload the certificate is %q, want A", cn)
	}
	certstest.New(t, "B").Write(t, files)
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if cn := r.Current().Certificate.Leaf.Subject.CommonName; cn != "B" {
		t.Fatalf("after Reload the certificate is %q, want B", cn)
	}
}

// TestDTLSReloadSwapsCertificateAndCA runs a pion/dtls server with
// verify_peer and fail_if_no_peer_cert: after a reload new handshakes get
// the new server certificate and are checked against the new CA, while a
// session established before keeps working.
func TestDTLSReloadSwapsCertificateAndCA(t *testing.T) {
	srvA, srvB := certstest.New(t, "server-A"), certstest.New(t, "server-B")
	dev1, dev2 := certstest.New(t, "device-1"), certstest.New(t, "device-2")
	files := certstest.InDir(t.TempDir())
	srvA.Write(t, files)
	certstest.WriteFile(t, files.CA, dev1.CertPEM) // device-1 is the trusted CA
	r, err := certs.NewReloader(certs.Files{Key: key, Cert: files.Cert, PrivKey: files.Key, CA: files.CA})
	if err != nil {
		t.Fatal(err)
	}
	addr := echoServer(t, r)
	roots := x509.NewCertPool()
	roots.AddCert(srvA.Leaf)
	roots.AddCert(srvB.Leaf)

	c1, state, err := dial(t, addr, roots, &dev1.TLS)
	if err != nil {
		t.Fatalf("device-1 before reload: %v", err)
	}
	if got := serverCN(t, state); got != "server-A" {
		t.Fatalf("server certificate %q, want server-A", got)
	}
	if !bytes.Equal(state.caNames, dev1.Leaf.RawSubject) {
		t.Fatal("CertificateRequest does not name the CA of cacertfile")
	}
	echo(t, c1, "before")
	if _, _, err := dial(t, addr, roots, nil); err == nil {
		t.Fatal("a client without a certificate completed the handshake")
	}

	srvB.Write(t, files)
	certstest.WriteFile(t, files.CA, dev2.CertPEM)
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}

	c2, state, err := dial(t, addr, roots, &dev2.TLS)
	if err != nil {
		t.Fatalf("device-2 after reload: %v", err)
	}
	if got := serverCN(t, state); got != "server-B" {
		t.Fatalf("server certificate after reload %q, want server-B", got)
	}
	if !bytes.Equal(state.caNames, dev2.Leaf.RawSubject) {
		t.Fatal("CertificateRequest after reload does not name the new CA")
	}
	echo(t, c2, "new")
	if _, _, err := dial(t, addr, roots, &dev1.TLS); err == nil {
		t.Fatal("device-1, no longer trusted, completed a new handshake")
	}
	echo(t, c1, "still there") // the session made before the reload
}

type dialState struct {
	dtls.State
	caNames []byte // first name of the CertificateRequest's CA list
}

// dial handshakes with addr trusting roots, presenting cert (nil: none).
func dial(t *testing.T, addr *net.UDPAddr, roots *x509.CertPool, cert *tls.Certificate) (*dtls.Conn, dialState, error) {
	t.Helper()
	var st dialState
	opts := []dtls.ClientOption{dtls.WithRootCAs(roots), dtls.WithServerName("localhost"),
		dtls.WithGetClientCertificate(func(cri *dtls.CertificateRequestInfo) (*tls.Certificate, error) {
			if len(cri.AcceptableCAs) > 0 {
				st.caNames = cri.AcceptableCAs[0]
			}
			if cert == nil {
				return &tls.Certificate{}, nil
			}
			return cert, nil
		})}
	c, err := dtls.DialWithOptions("udp", addr, opts...)
	if err != nil {
		return nil, st, err
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.HandshakeContext(ctx); err != nil {
		return nil, st, err
	}
	s, ok := c.ConnectionState()
	if !ok {
		return nil, st, errors.New("no connection state")
	}
	st.State = s
	return c, st, nil
}

func serverCN(t *testing.T, st dialState) string {
	t.Helper()
	if len(st.PeerCertificates) == 0 {
		t.Fatal("no server certificate")
	}
	c, err := x509.ParseCertificate(st.PeerCertificates[0])
	if err != nil {
		t.Fatal(err)
	}
	return c.Subject.CommonName
}

func echo(t *testing.T, c *dtls.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("echo %q: %v", msg, err)
	}
	if string(buf[:n]) != msg {
		t.Fatalf("echo %q, got %q", msg, buf[:n])
	}
}

// echoServer serves r's certificate with verify_peer and
// fail_if_no_peer_cert, echoing every datagram.
func echoServer(t *testing.T, r *certs.Reloader) *net.UDPAddr {
	t.Helper()
	opts := append([]dtls.ServerOption{dtls.WithExtendedMasterSecret(dtls.RequestExtendedMasterSecret)},
		certs.DTLSServerOptions(r, true, true)...)
	ln, err := dtls.ListenWithOptions("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 256)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.UDPAddr)
}

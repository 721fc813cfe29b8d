// Package certstest makes throwaway certificates for tests of listeners
// that load PEM files (TLS, DTLS): self-signed ECDSA certificates for
// localhost and 127.0.0.1, good for server and client authentication, each
// its own CA.
package certstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Cert is one generated certificate.
type Cert struct {
	// CertPEM and KeyPEM are the certificate and its private key in PEM.
	CertPEM, KeyPEM []byte
	// Leaf is the parsed certificate; Pool trusts it (it is its own CA).
	Leaf *x509.Certificate
	Pool *x509.CertPool
	// TLS is the certificate and key, for a client presenting it.
	TLS tls.Certificate
}

// New generates a self-signed certificate whose subject CN is cn.
func New(t testing.TB, cn string) Cert {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:        true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return Cert{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		Leaf:    leaf, Pool: pool,
		TLS: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k, Leaf: leaf},
	}
}

// Files are the paths of a listener's certfile, keyfile and cacertfile.
type Files struct{ Cert, Key, CA string }

// Write writes c as certfile and keyfile of f (and as its cacertfile when
// f.CA is set), replacing what was there.
func (c Cert) Write(t testing.TB, f Files) {
	t.Helper()
	WriteFile(t, f.Cert, c.CertPEM)
	WriteFile(t, f.Key, c.KeyPEM)
	if f.CA != "" {
		WriteFile(t, f.CA, c.CertPEM)
	}
}

// InDir names cert.pem, key.pem and cacert.pem in dir.
func InDir(dir string) Files {
	return Files{Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem"), CA: filepath.Join(dir, "cacert.pem")}
}

// WriteFile writes b to path, failing t on an error.
func WriteFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

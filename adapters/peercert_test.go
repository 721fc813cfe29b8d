package adapters

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func atv(oid asn1.ObjectIdentifier, v string) pkix.AttributeTypeAndValue {
	return pkix.AttributeTypeAndValue{Type: oid, Value: v}
}

var (
	oidC     = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidO     = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU    = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidCN    = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidEmail = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidDC    = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	oidOther = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}
)

// certWithSubject makes a self-signed certificate whose subject is seq,
// attribute for attribute, in that order.
func certWithSubject(t *testing.T, seq pkix.RDNSequence) *x509.Certificate {
	t.Helper()
	raw, err := asn1.Marshal(seq)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		RawSubject:   raw,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPeerCertValue(t *testing.T) {
	plain := certWithSubject(t, pkix.RDNSequence{
		{atv(oidC, "SE")},
		{atv(oidO, "Acme")},
		{atv(oidOU, "Sensors")},
		{atv(oidCN, "device-1")},
	})
	tricky := certWithSubject(t, pkix.RDNSequence{
		{atv(oidDC, "example"), atv(oidO, "A+B, Inc.")}, // a multi-valued RDN (a SET: DER orders it)
		{atv(oidOther, "x")},
		{atv(oidEmail, "ops@example.com")},
		{atv(oidCN, "#lead space ")},
		{atv(oidCN, "second;cn")},
		{atv(oidO, "Ünïcode~")},
	})
	noCN := certWithSubject(t, pkix.RDNSequence{{atv(oidO, "Acme")}})
	state := func(c *x509.Certificate) *tls.ConnectionState {
		return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}}
	}
	cases := []struct {
		name  string
		state *tls.ConnectionState
		mode  string
		want  string
	}{
		{"cn", state(plain), "cn", "device-1"},
		{"dn last RDN first", state(plain), "dn", "CN=device-1,OU=Sensors,O=Acme,C=SE"},
		{"cn joins every CN in order", state(tricky), "cn", "#lead space ,second;cn"},
		{"dn escapes as EMQX does", state(tricky), "dn",
			`O=\C3\9Cn\C3\AFcode\7E,CN=second\;cn,CN=\#lead space\ ,EMAILADDRESS=ops@example.com,1.3.6.1.4.1.99999.1=x,O=A\+B\, Inc.+DC=example`}, // DER sorts the SET
		{"no CN", state(noCN), "cn", ""},
		{"crt is the DER", state(plain), "crt", string(plain.Raw)},
		{"pem is base64 DER without armour", state(plain), "pem", base64.StdEncoding.EncodeToString(plain.Raw)},
		{"disabled", state(plain), "disabled", ""},
		{"empty mode", state(plain), "", ""},
		{"unknown mode", state(plain), "sha1", ""},
		{"no certificate", &tls.ConnectionState{}, "cn", ""},
		{"no TLS", nil, "md5", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := PeerCertValue(tc.state, tc.mode); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// The md5 and pem modes checked against openssl's own view of the script's
// client certificate.
func TestPeerCertValueAgainstOpenSSL(t *testing.T) {
	dir := genCerts(t)
	file := filepath.Join(dir, "client-cert.pem")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	st := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}

	out, err := exec.Command("openssl", "x509", "-in", file, "-noout", "-fingerprint", "-md5").Output()
	if err != nil {
		t.Fatal(err)
	}
	_, fp, _ := strings.Cut(strings.TrimSpace(string(out)), "=")
	if want := strings.ToLower(strings.ReplaceAll(fp, ":", "")); PeerCertValue(st, "md5") != want {
		t.Fatalf("md5 %q, openssl says %q", PeerCertValue(st, "md5"), want)
	}
	body := strings.Join(strings.Split(strings.TrimSpace(string(b)), "\n")[1:len(strings.Split(strings.TrimSpace(string(b)), "\n"))-1], "")
	if PeerCertValue(st, "pem") != body {
		t.Fatal("pem is not the certificate file's base64 body")
	}
	out, err = exec.Command("openssl", "x509", "-in", file, "-noout", "-subject", "-nameopt", "RFC2253").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimPrefix(strings.TrimSpace(string(out)), "subject="); PeerCertValue(st, "dn") != want {
		t.Fatalf("dn %q, openssl RFC 2253 says %q", PeerCertValue(st, "dn"), want)
	}
}

// genCerts makes the test CA and certificates with scripts/gen-certs.sh.
func genCerts(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("openssl not installed (.ci/run installs it)")
		}
		t.Skip("openssl not installed: apt-get install openssl")
	}
	dir := t.TempDir()
	if out, err := exec.Command("../scripts/gen-certs.sh", dir).CombinedOutput(); err != nil {
		t.Fatalf("gen-certs.sh: %v\n%s", err, out)
	}
	return dir
}

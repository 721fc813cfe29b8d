package listener

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/manifold-iot/manifold/gateway/config"
)

func TestTLSConfig(t *testing.T) {
	dir := genCerts(t)
	resolve := func(p string) string { return filepath.Join(dir, p) }
	base := func() config.SSLOptions {
		var o config.SSLOptions
		o.SetDefaults()
		o.Certfile, o.Keyfile, o.Cacertfile = "cert.pem", "key.pem", "cacert.pem"
		return o
	}
	cases := []struct {
		name    string
		mod     func(o *config.SSLOptions)
		check   func(t *testing.T, c *tls.Config)
		wantErr string // prefix; "" for success
	}{
		{"defaults", nil, func(t *testing.T, c *tls.Config) {
			if c.MinVersion != tls.VersionTLS12 || c.MaxVersion != tls.VersionTLS13 || c.ClientAuth != tls.NoClientCert ||
				c.CipherSuites != nil || c.ClientCAs != nil || len(c.Certificates) != 1 {
				t.Fatalf("%+v", c)
			}
		}, ""},
		{"tls 1.3 only", func(o *config.SSLOptions) { o.Versions = []string{"tlsv1.3"} }, func(t *testing.T, c *tls.Config) {
			if c.MinVersion != tls.VersionTLS13 || c.MaxVersion != tls.VersionTLS13 {
				t.Fatalf("versions %x..%x", c.MinVersion, c.MaxVersion)
			}
		}, ""},
		{"tls 1.2 only", func(o *config.SSLOptions) { o.Versions = []string{"tlsv1.2"} }, func(t *testing.T, c *tls.Config) {
			if c.MinVersion != tls.VersionTLS12 || c.MaxVersion != tls.VersionTLS12 {
				t.Fatalf("versions %x..%x", c.MinVersion, c.MaxVersion)
			}
		}, ""},
		{"tls 1.1 refused", func(o *config.SSLOptions) { o.Versions = []string{"tlsv1.2", "tlsv1.1"} }, nil,
			"listeners.ssl.default.ssl_options.versions: tlsv1.1 is not supported"},
		{"tls 1.0 refused", func(o *config.SSLOptions) { o.Versions = []string{"tlsv1"} }, nil,
			"listeners.ssl.default.ssl_options.versions: tlsv1 is not supported"},
		{"unknown version", func(o *config.SSLOptions) { o.Versions = []string{"tlsv9"} }, nil,
			"listeners.ssl.default.ssl_options.versions: unknown version"},
		{"ciphers by IANA and OpenSSL names", func(o *config.SSLOptions) {
			o.Ciphers = []string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305",
				"TLS_AES_128_GCM_SHA256", "ecdhe-ecdsa-aes128-gcm-sha256"}
		}, func(t *testing.T, c *tls.Config) {
			want := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
				tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
			if !slices.Equal(c.CipherSuites, want) {
				t.Fatalf("suites %x, want %x", c.CipherSuites, want)
			}
		}, ""},
		{"unknown cipher", func(o *config.SSLOptions) { o.Ciphers = []string{"TLS_NOPE"} }, nil,
			"listeners.ssl.default.ssl_options.ciphers: unknown or unsupported cipher \"TLS_NOPE\""},
		{"cipher Go lacks", func(o *config.SSLOptions) { o.Ciphers = []string{"DHE-RSA-AES256-GCM-SHA384"} }, nil,
			"listeners.ssl.default.ssl_options.ciphers: unknown or unsupported cipher"},
		{"insecure cipher", func(o *config.SSLOptions) { o.Ciphers = []string{"RC4-SHA"} }, nil,
			"listeners.ssl.default.ssl_options.ciphers: RC4-SHA is insecure"},
		{"verify_peer", func(o *config.SSLOptions) { o.Verify = "verify_peer" }, func(t *testing.T, c *tls.Config) {
			if c.ClientAuth != tls.VerifyClientCertIfGiven || c.ClientCAs == nil {
				t.Fatalf("client auth %v, CAs %v", c.ClientAuth, c.ClientCAs)
			}
		}, ""},
		{"verify_peer and fail_if_no_peer_cert", func(o *config.SSLOptions) { o.Verify, o.FailIfNoPeerCert = "verify_peer", true },
			func(t *testing.T, c *tls.Config) {
				if c.ClientAuth != tls.RequireAndVerifyClientCert {
					t.Fatalf("client auth %v", c.ClientAuth)
				}
			}, ""},
		{"fail_if_no_peer_cert needs verify_peer", func(o *config.SSLOptions) { o.FailIfNoPeerCert = true },
			func(t *testing.T, c *tls.Config) {
				if c.ClientAuth != tls.NoClientCert {
					t.Fatalf("client auth %v", c.ClientAuth)
				}
			}, ""},
		{"verify_peer needs a CA file", func(o *config.SSLOptions) { o.Verify, o.Cacertfile = "verify_peer", "" }, nil,
			"listeners.ssl.default.ssl_options.cacertfile: required"},
		{"verify_none ignores a missing CA file", func(o *config.SSLOptions) { o.Cacertfile = "missing.pem" }, nil, ""},
		{"missing CA file", func(o *config.SSLOptions) { o.Verify, o.Cacertfile = "verify_peer", "missing.pem" }, nil,
			"listeners.ssl.default.ssl_options.cacertfile: open "},
		{"CA file without certificates", func(o *config.SSLOptions) { o.Verify, o.Cacertfile = "verify_peer", "key.pem" }, nil,
			"listeners.ssl.default.ssl_options.cacertfile: "},
		{"missing certfile", func(o *config.SSLOptions) { o.Certfile = "missing.pem" }, nil,
			"listeners.ssl.default.ssl_options.certfile: open "},
		{"certfile holds a key", func(o *config.SSLOptions) { o.Certfile = "key.pem" }, nil,
			"listeners.ssl.default.ssl_options.certfile: "},
		{"key of another certificate", func(o *config.SSLOptions) { o.Keyfile = "client-key.pem" }, nil,
			"listeners.ssl.default.ssl_options.keyfile: "},
		{"bad verify", func(o *config.SSLOptions) { o.Verify = "maybe" }, nil,
			"listeners.ssl.default.ssl_options.verify: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			if tc.mod != nil {
				tc.mod(&o)
			}
			tl, err := TLSConfig("listeners.ssl.default", o, resolve)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want prefix %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, tl.cur.Load())
			}
			if c := tl.Config(); c.GetConfigForClient == nil || len(c.Certificates) != 0 || c.MinVersion < tls.VersionTLS12 {
				t.Fatalf("outer config %+v", c)
			}
			if tl.Certificate().Subject.CommonName != "localhost" {
				t.Fatalf("Certificate() CN %q", tl.Certificate().Subject.CommonName)
			}
		})
	}
}

func TestTLSConfigWithoutResolve(t *testing.T) {
	dir := genCerts(t)
	var o config.SSLOptions
	o.SetDefaults()
	o.Certfile, o.Keyfile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if _, err := TLSConfig("listeners.wss.x", o, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(o.Certfile); err != nil {
		t.Fatal(err)
	}
	if _, err := TLSConfig("listeners.wss.x", o, nil); err == nil || !strings.HasPrefix(err.Error(), "listeners.wss.x.ssl_options.certfile: ") {
		t.Fatalf("missing certfile: %v", err)
	}
}

func TestGenCertsIsIdempotent(t *testing.T) {
	dir := genCerts(t)
	before, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := runScript(dir)
	if err != nil || !strings.Contains(out, "nothing to do") {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "cert.pem"))
	if string(before) != string(after) {
		t.Fatal("second run rewrote valid certificates")
	}
	if out, err := runScript("-f", dir); err != nil {
		t.Fatalf("-f: %v\n%s", err, out)
	}
	forced, _ := os.ReadFile(filepath.Join(dir, "cert.pem"))
	if string(forced) == string(before) {
		t.Fatal("-f did not regenerate")
	}
	if fi, err := os.Stat(filepath.Join(dir, "key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key.pem mode %v (%v), want 0600", fi.Mode(), err)
	}
	// A missing file makes the next run regenerate the whole set.
	_ = os.Remove(filepath.Join(dir, "client-key.pem"))
	if out, err := runScript(dir); err != nil || !strings.Contains(out, "wrote") {
		t.Fatalf("after a file went missing: %v\n%s", err, out)
	}
}

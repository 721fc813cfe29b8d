package listener

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/manifold-iot/manifold/adapters/certs"
	"github.com/manifold-iot/manifold/gateway/config"
)

// TLS is one listener's TLS settings, built from its ssl_options by
// TLSConfig. The certificate, its key and the client CA bundle can be read
// again with Reload while the listener runs: handshakes after Reload use the
// new files, connections already established keep theirs.
//
// How: the listener's tls.Config (Config) holds no certificate; its
// GetConfigForClient returns the current complete tls.Config, which Reload
// swaps atomically. A swap covers the CA pool as well as the certificate,
// which GetCertificate alone could not. Go copies the session ticket keys
// of the outer config into the returned one, so session resumption
// survives a reload.
type TLS struct {
	files certs.Files // Key "listeners.ssl.default.ssl_options", for errors
	base  tls.Config  // versions, ciphers, client auth; no certificates

	outer *tls.Config
	cur   atomic.Pointer[tls.Config]
	mu    sync.Mutex // serializes Reload
}

// TLSConfig builds the TLS settings of the listener whose key is key
// ("listeners.ssl.default") from its ssl_options, reading the certificate
// files (resolve turns relative paths into absolute ones; nil leaves them).
// Only TLS 1.2 and 1.3 are offered: versions naming anything older is an
// error, as is an unknown or insecure cipher. Errors name the key
// (listeners.ssl.default.ssl_options.versions: …).
//
// verify: verify_peer asks for a client certificate and checks it against
// cacertfile when one is given (VerifyClientCertIfGiven); with
// fail_if_no_peer_cert: true a client without one is refused
// (RequireAndVerifyClientCert). verify_none asks for none.
func TLSConfig(key string, opts config.SSLOptions, resolve func(string) string) (*TLS, error) {
	if resolve == nil {
		resolve = func(p string) string { return p }
	}
	k := key + ".ssl_options"
	t := &TLS{files: certs.Files{Key: k}}
	var errs []error

	minV, maxV, err := tlsVersions(opts.Versions)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s.versions: %w", k, err))
	}
	t.base.MinVersion, t.base.MaxVersion = minV, maxV

	suites, err := cipherSuites(opts.Ciphers)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s.ciphers: %w", k, err))
	}
	t.base.CipherSuites = suites

	switch opts.Verify {
	case "", "verify_none":
		t.base.ClientAuth = tls.NoClientCert
	case "verify_peer":
		t.base.ClientAuth = tls.VerifyClientCertIfGiven
		if opts.FailIfNoPeerCert {
			t.base.ClientAuth = tls.RequireAndVerifyClientCert
		}
		if opts.Cacertfile == "" {
			// Without a bundle Go would check client certificates against
			// the system roots: any public CA could vouch for a device.
			errs = append(errs, fmt.Errorf("%s.cacertfile: required with verify: verify_peer", k))
		}
		t.files.CA = resolve(opts.Cacertfile)
	default:
		errs = append(errs, fmt.Errorf("%s.verify: must be verify_peer or verify_none, got %q", k, opts.Verify))
	}
	if opts.Certfile == "" {
		errs = append(errs, fmt.Errorf("%s.certfile: must not be empty", k))
	}
	if opts.Keyfile == "" {
		errs = append(errs, fmt.Errorf("%s.keyfile: must not be empty", k))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	t.files.Cert, t.files.PrivKey = resolve(opts.Certfile), resolve(opts.Keyfile)

	cur, err := t.load()
	if err != nil {
		return nil, err
	}
	t.cur.Store(cur)
	t.outer = &tls.Config{
		MinVersion: minV,
		MaxVersion: maxV,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return t.cur.Load(), nil
		},
	}
	return t, nil
}

// Config is the tls.Config a listener serves with; it stays the same across
// reloads.
func (t *TLS) Config() *tls.Config { return t.outer }

// Reload reads the certificate, key and client CA files again. New
// handshakes use them at once; established connections are not touched. On
// an error (a missing file, a key that does not match) the current
// certificates stay in use and the error names the key.
func (t *TLS) Reload() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur, err := t.load()
	if err != nil {
		return err
	}
	t.cur.Store(cur)
	return nil
}

// Certificate is the server certificate (leaf first) handshakes use now.
func (t *TLS) Certificate() *x509.Certificate {
	c := t.cur.Load()
	return c.Certificates[0].Leaf
}

// load reads the files (certs.Files.Load: errors name the key) into a
// complete tls.Config.
func (t *TLS) load() (*tls.Config, error) {
	b, err := t.files.Load()
	if err != nil {
		return nil, err
	}
	c := t.base.Clone()
	c.Certificates = []tls.Certificate{b.Certificate}
	c.ClientCAs = b.ClientCAs
	return c, nil
}

// tlsVersions maps ssl_options.versions onto a version range. Only TLS 1.2
// and 1.3 exist here: older versions are broken (RFC 8996 deprecates them).
func tlsVersions(vs []string) (uint16, uint16, error) {
	if len(vs) == 0 {
		return tls.VersionTLS12, tls.VersionTLS13, nil
	}
	var minV, maxV uint16
	for _, v := range vs {
		var n uint16
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "tlsv1.3":
			n = tls.VersionTLS13
		case "tlsv1.2":
			n = tls.VersionTLS12
		case "tlsv1.1", "tlsv1", "tlsv1.0", "sslv3":
			return 0, 0, fmt.Errorf("%s is not supported: only tlsv1.2 and tlsv1.3 (RFC 8996)", v)
		default:
			return 0, 0, fmt.Errorf("unknown version %q: want tlsv1.2 or tlsv1.3", v)
		}
		if minV == 0 || n < minV {
			minV = n
		}
		if n > maxV {
			maxV = n
		}
	}
	return minV, maxV, nil
}

// openSSLCiphers maps OpenSSL cipher names (EMQX's form) onto the IANA names
// Go uses, for the suites Go implements.
var openSSLCiphers = map[string]string{
	"ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-RSA-AES128-GCM-SHA256":   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-RSA-AES256-GCM-SHA384":   "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-RSA-CHACHA20-POLY1305":   "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-ECDSA-AES128-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
	"ECDHE-RSA-AES128-SHA":          "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
	"ECDHE-ECDSA-AES256-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
	"ECDHE-RSA-AES256-SHA":          "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
	"AES128-GCM-SHA256":             "TLS_RSA_WITH_AES_128_GCM_SHA256",
	"AES256-GCM-SHA384":             "TLS_RSA_WITH_AES_256_GCM_SHA384",
	"AES128-SHA":                    "TLS_RSA_WITH_AES_128_CBC_SHA",
	"AES256-SHA":                    "TLS_RSA_WITH_AES_256_CBC_SHA",
	"ECDHE-ECDSA-AES128-SHA256":     "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
	"ECDHE-RSA-AES128-SHA256":       "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
	"AES128-SHA256":                 "TLS_RSA_WITH_AES_128_CBC_SHA256",
	"ECDHE-RSA-DES-CBC3-SHA":        "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
	"DES-CBC3-SHA":                  "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
	"ECDHE-ECDSA-RC4-SHA":           "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
	"ECDHE-RSA-RC4-SHA":             "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
	"RC4-SHA":                       "TLS_RSA_WITH_RC4_128_SHA",
}

// tls13Ciphers are TLS 1.3's suites. Go always offers all three and cannot
// be told otherwise, so naming them is accepted and changes nothing.
var tls13Ciphers = map[string]bool{
	"TLS_AES_128_GCM_SHA256":       true,
	"TLS_AES_256_GCM_SHA384":       true,
	"TLS_CHACHA20_POLY1305_SHA256": true,
}

// cipherSuites maps ssl_options.ciphers (IANA or OpenSSL names; an entry may
// hold several separated by ':' or ',', as OpenSSL cipher strings do) onto
// Go's TLS 1.2 suite ids. Empty means Go's defaults (nil).
func cipherSuites(names []string) ([]uint16, error) {
	if len(names) == 0 {
		return nil, nil
	}
	secure := map[string]uint16{}
	for _, s := range tls.CipherSuites() {
		secure[s.Name] = s.ID
	}
	insecure := map[string]bool{}
	for _, s := range tls.InsecureCipherSuites() {
		insecure[s.Name] = true
	}
	var ids []uint16
	seen := map[uint16]bool{}
	for _, entry := range names {
		for _, name := range strings.FieldsFunc(entry, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
			iana := name
			if v, ok := openSSLCiphers[strings.ToUpper(name)]; ok {
				iana = v
			}
			iana = strings.ToUpper(iana)
			if tls13Ciphers[iana] {
				continue
			}
			// Go's older name of the CHACHA20 suites lacks the hash.
			if strings.HasSuffix(iana, "_CHACHA20_POLY1305") {
				iana += "_SHA256"
			}
			id, ok := secure[iana]
			switch {
			case ok:
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			case insecure[iana]:
				return nil, fmt.Errorf("%s is insecure and not offered", name)
			default:
				return nil, fmt.Errorf("unknown or unsupported cipher %q (IANA or OpenSSL names of suites Go implements)", name)
			}
		}
	}
	return ids, nil
}

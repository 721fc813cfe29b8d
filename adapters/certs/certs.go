package certs

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// Files names the PEM files of one listener and the configuration key
// errors name.
type Files struct {
	// Key is the key the files' settings sit under
	// ("listeners.ssl.default.ssl_options"); errors name Key+".certfile".
	Key string
	// Cert is the certificate chain (leaf first), PrivKey its private key.
	Cert, PrivKey string
	// CA is the client CA bundle; "" loads none.
	CA string
}

// Bundle is what Load read. It is never modified after Load returns.
type Bundle struct {
	// Certificate is the server's certificate and key, Leaf parsed.
	Certificate tls.Certificate
	// ClientCAs is the pool of CA, or nil when Files.CA is "".
	ClientCAs *x509.CertPool
	// caSubjects are the raw subjects of ClientCAs, announced in a DTLS
	// CertificateRequest.
	caSubjects [][]byte
}

// Load reads the files. Errors name the key of the file at fault: an
// unreadable file, a certfile without a certificate, a key that does not
// match the certificate, a cacertfile without a certificate.
func (f Files) Load() (*Bundle, error) {
	certPEM, err := os.ReadFile(f.Cert)
	if err != nil {
		return nil, fmt.Errorf("%s.certfile: %w", f.Key, err)
	}
	if _, err := firstCertificate(certPEM); err != nil {
		return nil, fmt.Errorf("%s.certfile: %s: %w", f.Key, f.Cert, err)
	}
	keyPEM, err := os.ReadFile(f.PrivKey)
	if err != nil {
		return nil, fmt.Errorf("%s.keyfile: %w", f.Key, err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s.keyfile: %s: %w", f.Key, f.PrivKey, err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%s.certfile: %s: %w", f.Key, f.Cert, err)
		}
	}
	b := &Bundle{Certificate: pair}
	if f.CA != "" {
		caPEM, err := os.ReadFile(f.CA)
		if err != nil {
			return nil, fmt.Errorf("%s.cacertfile: %w", f.Key, err)
		}
		pool := x509.NewCertPool()
		for rest := caPEM; ; {
			var blk *pem.Block
			if blk, rest = pem.Decode(rest); blk == nil {
				break
			}
			if blk.Type != "CERTIFICATE" {
				continue
			}
			if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
				pool.AddCert(c)
				b.caSubjects = append(b.caSubjects, c.RawSubject)
			}
		}
		if len(b.caSubjects) == 0 {
			return nil, fmt.Errorf("%s.cacertfile: %s: no PEM certificate found", f.Key, f.CA)
		}
		b.ClientCAs = pool
	}
	return b, nil
}

// firstCertificate parses the first CERTIFICATE block of a PEM file, so a
// broken certfile is reported as such rather than as a key mismatch.
func firstCertificate(b []byte) (*x509.Certificate, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no PEM certificate found")
		}
		if blk.Type == "CERTIFICATE" {
			return x509.ParseCertificate(blk.Bytes)
		}
	}
}

// Reloader holds a listener's current Bundle; Reload replaces it.
type Reloader struct {
	files Files
	cur   atomic.Pointer[Bundle]
	mu    sync.Mutex // serializes Reload
}

// NewReloader loads files (an error names the key, as Load's do) and
// returns a Reloader holding them.
func NewReloader(files Files) (*Reloader, error) {
	b, err := files.Load()
	if err != nil {
		return nil, err
	}
	r := &Reloader{files: files}
	r.cur.Store(b)
	return r, nil
}

// Current is the Bundle handshakes use now.
func (r *Reloader) Current() *Bundle { return r.cur.Load() }

// Files are the files r reads.
func (r *Reloader) Files() Files { return r.files }

// Reload reads the files again and, if all of them loaded, makes them
// current. On an error (naming the key) the current Bundle stays.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, err := r.files.Load()
	if err != nil {
		return err
	}
	r.cur.Store(b)
	return nil
}

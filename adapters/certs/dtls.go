package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/protocol/handshake"
)

// DTLSServerOptions are the pion/dtls server options that present r's
// certificate. Every handshake reads r's current Bundle, so a Reload takes
// effect at the next handshake and established sessions keep theirs.
//
// verifyPeer asks clients for a certificate and checks one given against
// r's current client CA pool (the system roots when r has no cacertfile);
// failIfNoPeerCert then refuses a client without one. pion/dtls fixes its
// ClientCAs when the listener starts, so the check is ours: ClientAuth is
// RequestClientCert (or RequireAnyClientCert) and VerifyPeerCertificate
// verifies the chain as pion would (intermediates from the peer, extended
// key usage clientAuth), against the pool current at that handshake. The
// CertificateRequest announces the current CAs' names.
func DTLSServerOptions(r *Reloader, verifyPeer, failIfNoPeerCert bool) []dtls.ServerOption {
	opts := []dtls.ServerOption{
		dtls.WithGetCertificate(func(*dtls.ClientHelloInfo) (*tls.Certificate, error) {
			return &r.Current().Certificate, nil
		}),
	}
	if !verifyPeer {
		return opts
	}
	auth := dtls.RequestClientCert
	if failIfNoPeerCert {
		auth = dtls.RequireAnyClientCert
	}
	return append(opts,
		dtls.WithClientAuth(auth),
		dtls.WithVerifyPeerCertificate(func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyClient(raw, r.Current().ClientCAs)
		}),
		// RFC 5246 §7.4.4: certificate_authorities lists the CAs' names.
		dtls.WithCertificateRequestMessageHook(func(m handshake.MessageCertificateRequest) handshake.Message {
			m.CertificateAuthoritiesNames = r.Current().caSubjects
			return &m
		}),
	)
}

// verifyClient checks a client's chain (leaf first) against roots, as
// pion/dtls's own client certificate check does.
func verifyClient(raw [][]byte, roots *x509.CertPool) error {
	if len(raw) == 0 {
		return nil // no certificate: ClientAuth decides whether that is allowed
	}
	chain := make([]*x509.Certificate, 0, len(raw))
	for _, der := range raw {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("certs: client certificate: %w", err)
		}
		chain = append(chain, c)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: time.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return fmt.Errorf("certs: client certificate not verified: %w", err)
	}
	return nil
}

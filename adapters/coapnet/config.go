package coapnet

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/pion/dtls/v3"
	coapnet "github.com/plgd-dev/go-coap/v3/net"

	"github.com/manifold-iot/manifold/adapters/certs"
)

// Listeners are the named UDP and DTLS listeners of one CoAP-based gateway
// (`listeners.udp.<name>`, `listeners.dtls.<name>`).
type Listeners struct {
	UDP  map[string]UDPListener  `yaml:"udp"`
	DTLS map[string]DTLSListener `yaml:"dtls"`
}

// UDPListener is a plain CoAP listener.
type UDPListener struct {
	// Bind is host:port or :port to listen on.
	Bind string `yaml:"bind"`
}

// DTLSListener is a CoAP-over-DTLS listener. With PSK set it speaks only the
// PSK cipher suites (pion/dtls's rule); otherwise it presents Certfile/Keyfile,
// which Server.ReloadCertificates reads again while it runs.
type DTLSListener struct {
	// Bind is host:port or :port to listen on.
	Bind string `yaml:"bind"`
	// PSK maps a client's PSK identity to its key. A key written "0x…" is hex,
	// any other value is used as it is.
	PSK map[string]string `yaml:"psk"`
	// PSKIdentityHint is sent to clients in the handshake; empty sends none.
	PSKIdentityHint string `yaml:"psk_identity_hint"`
	// Certfile and Keyfile are the PEM certificate chain and key the server presents.
	Certfile string `yaml:"certfile"`
	Keyfile  string `yaml:"keyfile"`
	// Cacertfile holds the CAs client certificates are verified against.
	Cacertfile string `yaml:"cacertfile"`
	// Verify is verify_none (default) or verify_peer.
	Verify string `yaml:"verify"`
	// FailIfNoPeerCert refuses a client without a certificate (with verify_peer).
	FailIfNoPeerCert bool `yaml:"fail_if_no_peer_cert"`
	// HandshakeTimeout bounds a DTLS handshake; 0 means 10 s.
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
}

// Validate checks the listeners; errors name the key under prefix
// ("listeners.udp.default.bind: …").
func (l *Listeners) Validate(prefix string) error {
	for _, name := range sortedKeys(l.UDP) {
		if err := validBind(l.UDP[name].Bind); err != nil {
			return fmt.Errorf("%slisteners.udp.%s.bind: %w", prefix, name, err)
		}
	}
	for _, name := range sortedKeys(l.DTLS) {
		d := l.DTLS[name]
		key := fmt.Sprintf("%slisteners.dtls.%s", prefix, name)
		if err := validBind(d.Bind); err != nil {
			return fmt.Errorf("%s.bind: %w", key, err)
		}
		if len(d.PSK) == 0 && (d.Certfile == "" || d.Keyfile == "") {
			return fmt.Errorf("%s: needs psk, or certfile and keyfile", key)
		}
		if d.Verify != "" && d.Verify != "verify_none" && d.Verify != "verify_peer" {
			return fmt.Errorf("%s.verify: %q is not verify_none or verify_peer", key, d.Verify)
		}
		for id, k := range d.PSK {
			if _, err := pskKey(k); err != nil {
				return fmt.Errorf("%s.psk.%s: %w", key, id, err)
			}
		}
	}
	return nil
}

// ValidateTransport checks the transport keys every CoAP-based gateway has
// (max_body_size, ack_timeout, max_retransmit: RFC 7252 §4.8's ACK_TIMEOUT
// and MAX_RETRANSMIT); errors name the key under prefix.
func ValidateTransport(prefix string, maxBodySize int, ackTimeout time.Duration, maxRetransmit int) error {
	switch {
	case maxBodySize < 16:
		return fmt.Errorf("%smax_body_size: must be at least 16", prefix)
	case ackTimeout <= 0:
		return fmt.Errorf("%sack_timeout: must be positive", prefix)
	case maxRetransmit < 1 || maxRetransmit > 20:
		return fmt.Errorf("%smax_retransmit: must be 1..20", prefix)
	}
	return nil
}

func validBind(b string) error {
	if b == "" {
		return errors.New("empty")
	}
	if _, _, err := net.SplitHostPort(b); err != nil {
		return err
	}
	return nil
}

func pskKey(v string) ([]byte, error) {
	if h, ok := strings.CutPrefix(v, "0x"); ok {
		k, err := hex.DecodeString(h)
		if err != nil {
			return nil, fmt.Errorf("bad hex key: %w", err)
		}
		return k, nil
	}
	if v == "" {
		return nil, errors.New("empty key")
	}
	return []byte(v), nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// dtlsOptions builds pion/dtls's server options for d, the listener whose
// key is key ("listeners.dtls.default"). With certificates it also returns
// the Reloader of its files (nil for a PSK listener); errors name the key.
func (d *DTLSListener) dtlsOptions(key string) (coapnet.DTLSServerOptions, *certs.Reloader, error) {
	opts := []dtls.ServerOption{dtls.WithExtendedMasterSecret(dtls.RequestExtendedMasterSecret)}
	if len(d.PSK) > 0 {
		keys := make(map[string][]byte, len(d.PSK))
		for id, v := range d.PSK {
			k, err := pskKey(v)
			if err != nil {
				return coapnet.DTLSServerOptions{}, nil, fmt.Errorf("%s.psk.%s: %w", key, id, err)
			}
			keys[id] = k
		}
		opts = append(opts,
			dtls.WithPSK(func(identity []byte) ([]byte, error) {
				if k, ok := keys[string(identity)]; ok {
					return k, nil
				}
				return nil, fmt.Errorf("coapnet: unknown PSK identity %q", identity)
			}),
			dtls.WithCipherSuites(
				dtls.TLS_PSK_WITH_AES_128_CCM_8, dtls.TLS_PSK_WITH_AES_128_CCM,
				dtls.TLS_PSK_WITH_AES_128_GCM_SHA256, dtls.TLS_PSK_WITH_AES_128_CBC_SHA256,
			))
		if d.PSKIdentityHint != "" {
			opts = append(opts, dtls.WithPSKIdentityHint([]byte(d.PSKIdentityHint)))
		}
		return coapnet.NewDTLSServerOptions(opts...), nil, nil
	}
	verify := d.Verify == "verify_peer"
	f := certs.Files{Key: key, Cert: d.Certfile, PrivKey: d.Keyfile}
	if verify {
		f.CA = d.Cacertfile // "": client certificates are checked against the system roots
	}
	r, err := certs.NewReloader(f)
	if err != nil {
		return coapnet.DTLSServerOptions{}, nil, err
	}
	opts = append(opts, certs.DTLSServerOptions(r, verify, d.FailIfNoPeerCert)...)
	return coapnet.NewDTLSServerOptions(opts...), r, nil
}

package adapters

import (
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// PeerCertValue is what mqtt.peer_cert_as_username and
// mqtt.peer_cert_as_clientid take from the client's certificate (the first
// of state.PeerCertificates), as EMQX 5 defines the modes
// (emqx_channel:set_peercert_infos):
//
//	cn   the subject's common name; several CNs are joined with ","
//	dn   the subject DN as an RFC 4514 string, last RDN first ("CN=device-1,O=Acme")
//	crt  the certificate's DER bytes, as they are
//	pem  the DER bytes in standard base64 (EMQX's "pem" has no PEM armour)
//	md5  the MD5 of the DER bytes, in lowercase hex
//
// It returns "" without a peer certificate, for "disabled" or "", and for
// an unknown mode.
func PeerCertValue(state *tls.ConnectionState, mode string) string {
	if state == nil || len(state.PeerCertificates) == 0 {
		return ""
	}
	c := state.PeerCertificates[0]
	switch mode {
	case "cn":
		return commonNames(c)
	case "dn":
		return subjectDN(c)
	case "crt":
		return string(c.Raw)
	case "pem":
		return base64.StdEncoding.EncodeToString(c.Raw)
	case "md5":
		sum := md5.Sum(c.Raw)
		return hex.EncodeToString(sum[:])
	}
	return ""
}

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// rdnTypeNames are the attribute names EMQX's DN strings use (esockd_ssl);
// other types are written as their dotted OID.
var rdnTypeNames = map[string]string{
	"2.5.4.4":                    "SN",
	"2.5.4.42":                   "GIVENNAME",
	"2.5.4.43":                   "INITIALS",
	"2.5.4.44":                   "GENERATIONQUALIFIER",
	"2.5.4.3":                    "CN",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "TITLE",
	"2.5.4.6":                    "C",
	"2.5.4.5":                    "SERIALNUMBER",
	"2.5.4.65":                   "PSEUDONYM",
	"0.9.2342.19200300.100.1.25": "DC",
	"1.2.840.113549.1.9.1":       "EMAILADDRESS",
	"2.5.4.9":                    "STREET",
	"0.9.2342.19200300.100.1.1":  "UID",
}

// subject parses the certificate's subject in its own order (pkix.Name
// reorders and drops attributes).
func subject(c *x509.Certificate) pkix.RDNSequence {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(c.RawSubject, &seq); err != nil || len(rest) > 0 {
		return nil
	}
	return seq
}

// commonNames joins every CN of the subject, in order, with ",".
func commonNames(c *x509.Certificate) string {
	var cns []string
	for _, rdn := range subject(c) {
		for _, atv := range rdn {
			if atv.Type.Equal(oidCommonName) {
				cns = append(cns, attrValue(atv.Value))
			}
		}
	}
	return strings.Join(cns, ",")
}

// subjectDN formats the subject as RFC 4514 does: RDNs last first, joined
// by ","; the attributes of a multi-valued RDN joined by "+".
func subjectDN(c *x509.Certificate) string {
	seq := subject(c)
	var b strings.Builder
	for i := len(seq) - 1; i >= 0; i-- {
		if i < len(seq)-1 {
			b.WriteByte(',')
		}
		for j, atv := range seq[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			oid := atv.Type.String()
			if name, ok := rdnTypeNames[oid]; ok {
				b.WriteString(name)
			} else {
				b.WriteString(oid)
			}
			b.WriteByte('=')
			escapeRDNValue(&b, attrValue(atv.Value))
		}
	}
	return b.String()
}

func attrValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return fmt.Sprint(v)
}

// escapeRDNValue escapes as RFC 4514 §2.4 asks, byte by byte as EMQX does:
// a leading space or '#', a trailing space, and '"' '+' ',' ';' '<' '>' '\'
// get a backslash; bytes outside 0x20..0x7D (control characters, '~' and
// every byte of a non-ASCII UTF-8 sequence) become \XX.
func escapeRDNValue(b *strings.Builder, s string) {
	const hexdigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case i == 0 && (ch == ' ' || ch == '#'):
			b.WriteByte('\\')
			b.WriteByte(ch)
		case i == len(s)-1 && ch == ' ':
			b.WriteString("\\ ")
		case strings.IndexByte(`"+,;<>\`, ch) >= 0:
			b.WriteByte('\\')
			b.WriteByte(ch)
		case ch < 0x20 || ch >= 0x7e:
			b.WriteByte('\\')
			b.WriteByte(hexdigits[ch>>4])
			b.WriteByte(hexdigits[ch&0xf])
		default:
			b.WriteByte(ch)
		}
	}
}

package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// formed is implemented by the scalar types of this package so that the
// decoder can say what it expected in its own words, whatever the parse error.
type formed interface {
	configForm() string
}

// errForm is returned by the parsers below; the decoder replaces it with an
// "expected <form>, got <value>" message naming the key.
var errForm = errors.New("config: malformed value")

// Duration is a length of time written the EMQX way: a number followed by a
// unit (ms, s, m, h, d), optionally repeated as in 1h30m. The bare number 0 is
// accepted; any other number needs a unit, since EMQX reads bare numbers as
// milliseconds in some keys and seconds in others. It marshals back as a string.
type Duration time.Duration

// ParseDuration parses s as a Duration ("500ms", "30s", "1m", "2h", "1d", "1h30m",
// "1.5h"; case-insensitive).
func ParseDuration(s string) (Duration, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "0" {
		return 0, nil
	}
	if s == "" {
		return 0, errForm
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, errForm
		}
		num := s[:i]
		s = s[i:]
		var unit time.Duration
		// "ms" is tried before "m".
		for _, u := range []struct {
			name string
			d    time.Duration
		}{{"ms", time.Millisecond}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
			if strings.HasPrefix(s, u.name) {
				unit, s = u.d, s[len(u.name):]
				break
			}
		}
		if unit == 0 {
			return 0, errForm
		}
		whole, frac, hasFrac := strings.Cut(num, ".")
		if whole == "" && frac == "" || hasFrac && frac == "" || strings.Contains(frac, ".") {
			return 0, errForm
		}
		var part time.Duration
		if whole != "" {
			w, err := strconv.ParseInt(whole, 10, 64)
			if err != nil || w > int64(math.MaxInt64/unit) {
				return 0, errForm
			}
			part = time.Duration(w) * unit
		}
		if frac != "" {
			f, err := strconv.ParseFloat("0."+frac, 64)
			if err != nil {
				return 0, errForm
			}
			part += time.Duration(f * float64(unit))
		}
		if total > math.MaxInt64-part {
			return 0, errForm
		}
		total += part
	}
	return Duration(total), nil
}

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// String formats d in the units ParseDuration reads, largest first: 2h, 1h30m, 1d, 500ms.
func (d Duration) String() string {
	if d == 0 {
		return "0s"
	}
	v := time.Duration(d)
	if v < 0 || v%time.Millisecond != 0 {
		return v.String() // not expressible in config units; never produced by ParseDuration
	}
	var b strings.Builder
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := v / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.name)
			v -= n * u.d
		}
	}
	return b.String()
}

// MarshalText writes d as String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a duration as ParseDuration does.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func (Duration) configForm() string {
	return "a duration such as 500ms, 30s, 1m, 2h, 1d or 1h30m"
}

// ByteSize is a number of bytes, written as a plain number or with a unit:
// KB, MB, GB, TB (powers of 1024, as in EMQX) or their KiB, MiB, GiB, TiB
// spellings, case-insensitive. The empty string is 0, which keys that allow it
// read as "unset".
type ByteSize int64

// byteUnit returns the multiplier of a lowercase size suffix.
func byteUnit(suffix string) (int64, bool) {
	switch suffix {
	case "", "b":
		return 1, true
	case "k", "kb", "kib":
		return 1 << 10, true
	case "m", "mb", "mib":
		return 1 << 20, true
	case "g", "gb", "gib":
		return 1 << 30, true
	case "t", "tb", "tib":
		return 1 << 40, true
	}
	return 0, false
}

// ParseByteSize parses s as a ByteSize ("1024", "64KB", "1MB", "1GiB").
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return 0, nil
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, errForm
	}
	mult, ok := byteUnit(strings.TrimSpace(s[i:]))
	if !ok {
		return 0, errForm
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, errForm
	}
	return ByteSize(n * mult), nil
}

// String formats b with the largest unit that divides it exactly: 1MB, 64KB, 1000.
func (b ByteSize) String() string {
	for _, u := range []struct {
		name string
		n    int64
	}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
		if b != 0 && int64(b)%u.n == 0 {
			return strconv.FormatInt(int64(b)/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// MarshalText writes b as String does.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText parses a size as ParseByteSize does.
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

func (ByteSize) configForm() string {
	return "a size such as 1024, 64KB, 1MB or 1GB"
}

// Address is a listen address in its normalized host:port form. It accepts
// "host:port", ":port" and a bare port ("1883"), both of which mean all IPv4
// interfaces ("0.0.0.0:1883"), and bracketed IPv6 ("[::1]:1883"). Port 0 asks
// the kernel for a free port (tests use it).
type Address string

// ParseAddress validates s as a listen address and returns its normalized form.
func ParseAddress(s string) (Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errForm
	}
	host, port := "", s
	if !isDigits(s) {
		var err error
		host, port, err = net.SplitHostPort(s)
		if err != nil || !isDigits(port) {
			return "", errForm
		}
	}
	p, err := strconv.Atoi(port)
	if err != nil || p > 65535 {
		return "", errForm
	}
	switch {
	case host == "":
		host = "0.0.0.0"
	case strings.ContainsAny(host, ":%"):
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return "", errForm
		}
		host = ip.String()
	default:
		if ip, err := netip.ParseAddr(host); err == nil {
			host = ip.String()
		} else if !isHostname(host) {
			return "", errForm
		}
	}
	return Address(net.JoinHostPort(strings.ToLower(host), strconv.Itoa(p))), nil
}

// String returns the address as host:port.
func (a Address) String() string { return string(a) }

// Port returns the port number, or -1 if a is not a valid address.
func (a Address) Port() int {
	_, port, err := net.SplitHostPort(string(a))
	if err != nil {
		return -1
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return -1
	}
	return p
}

// MarshalText writes the address as is.
func (a Address) MarshalText() ([]byte, error) { return []byte(a), nil }

// UnmarshalText parses and normalizes an address as ParseAddress does.
func (a *Address) UnmarshalText(b []byte) error {
	v, err := ParseAddress(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

func (Address) configForm() string {
	return `an address such as "0.0.0.0:1883", ":1883", "1883" or "[::1]:1883"`
}

// isDigits reports whether s is a non-empty run of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isHostname reports whether s is a syntactically valid DNS name.
func isHostname(s string) bool {
	labels := strings.Split(strings.TrimSuffix(s, "."), ".")
	if len(s) > 253 || isDigits(labels[len(labels)-1]) {
		return false // a numeric last label means a malformed IP address, not a name
	}
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// LogLevel is the minimum severity that is logged: debug, info, warning or
// error. "warn" is read as warning; case does not matter.
type LogLevel string

// The log levels, least severe first.
const (
	LogDebug   LogLevel = "debug"
	LogInfo    LogLevel = "info"
	LogWarning LogLevel = "warning"
	LogError   LogLevel = "error"
)

// UnmarshalText lowercases the level and maps the alias warn to warning;
// whether the result is a known level is checked by the key's allowed values.
func (l *LogLevel) UnmarshalText(b []byte) error {
	v := strings.ToLower(strings.TrimSpace(string(b)))
	if v == "warn" {
		v = string(LogWarning)
	}
	*l = LogLevel(v)
	return nil
}

// MarshalText writes the level as is.
func (l LogLevel) MarshalText() ([]byte, error) { return []byte(l), nil }

// expectedGot formats the standard bad-value message.
func expectedGot(form, got string) string {
	return fmt.Sprintf("expected %s, got %s", form, got)
}

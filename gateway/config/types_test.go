package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	good := []struct {
		name, in string
		want     time.Duration
	}{
		{"seconds", "30s", 30 * time.Second},
		{"minutes", "1m", time.Minute},
		{"hours", "2h", 2 * time.Hour},
		{"milliseconds", "500ms", 500 * time.Millisecond},
		{"days", "1d", 24 * time.Hour},
		{"combined", "1h30m", 90 * time.Minute},
		{"combined with days", "1d2h3m4s5ms", 26*time.Hour + 3*time.Minute + 4*time.Second + 5*time.Millisecond},
		{"fraction", "1.5h", 90 * time.Minute},
		{"upper case", "30S", 30 * time.Second},
		{"surrounding space", " 15s ", 15 * time.Second},
		{"bare zero", "0", 0},
		{"zero with unit", "0s", 0},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if err != nil {
				t.Fatalf("ParseDuration(%q): %v", tc.in, err)
			}
			if got.Duration() != tc.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tc.in, got.Duration(), tc.want)
			}
		})
	}
	bad := []struct{ name, in string }{
		{"empty", ""},
		{"bare number", "30"},
		{"unknown unit", "30x"},
		{"microseconds", "30us"},
		{"negative", "-1s"},
		{"unit only", "s"},
		{"trailing garbage", "1h foo"},
		{"dangling dot", "1.s"},
		{"two dots", "1.2.3s"},
		{"word", "abc"},
		{"overflow", "9999999999999999999d"},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.name, func(t *testing.T) {
			if got, err := ParseDuration(tc.in); err == nil {
				t.Errorf("ParseDuration(%q) = %v, want an error", tc.in, got)
			}
		})
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want string
	}{
		{"zero", 0, "0s"},
		{"seconds", 30 * time.Second, "30s"},
		{"minutes and seconds", 90 * time.Second, "1m30s"},
		{"hours", 2 * time.Hour, "2h"},
		{"a day", 24 * time.Hour, "1d"},
		{"milliseconds", 1500 * time.Millisecond, "1s500ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Duration(tc.in)
			if got := d.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			back, err := ParseDuration(d.String())
			if err != nil || back != d {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", d.String(), back, err, d)
			}
		})
	}
}

func TestParseByteSize(t *testing.T) {
	good := []struct {
		name, in string
		want     int64
	}{
		{"bytes", "1024", 1024},
		{"bytes with unit", "100B", 100},
		{"kilobytes", "64KB", 64 << 10},
		{"megabytes", "1MB", 1 << 20},
		{"gigabytes", "1GB", 1 << 30},
		{"terabytes", "2TB", 2 << 40},
		{"kibibytes", "64KiB", 64 << 10},
		{"mebibytes", "1MiB", 1 << 20},
		{"gibibytes", "1GiB", 1 << 30},
		{"lower case", "1mb", 1 << 20},
		{"mixed case", "1Mb", 1 << 20},
		{"short unit", "16k", 16 << 10},
		{"space before unit", "8 KB", 8 << 10},
		{"empty is unset", "", 0},
		{"zero", "0", 0},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseByteSize(tc.in)
			if err != nil {
				t.Fatalf("ParseByteSize(%q): %v", tc.in, err)
			}
			if int64(got) != tc.want {
				t.Errorf("ParseByteSize(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
	bad := []struct{ name, in string }{
		{"unknown unit", "1XB"},
		{"fraction", "1.5MB"},
		{"negative", "-1"},
		{"unit only", "MB"},
		{"bits", "1Mbit"},
		{"overflow", "99999999999TB"},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.name, func(t *testing.T) {
			if got, err := ParseByteSize(tc.in); err == nil {
				t.Errorf("ParseByteSize(%q) = %d, want an error", tc.in, got)
			}
		})
	}
}

func TestByteSizeString(t *testing.T) {
	tests := []struct {
		name string
		in   ByteSize
		want string
	}{
		{"zero", 0, "0"},
		{"odd bytes", 1000, "1000"},
		{"kilobytes", 64 << 10, "64KB"},
		{"megabyte", 1 << 20, "1MB"},
		{"gigabytes", 3 << 30, "3GB"},
		{"mqtt maximum", 268435455, "268435455"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseAddress(t *testing.T) {
	good := []struct{ name, in, want string }{
		{"host and port", "127.0.0.1:1883", "127.0.0.1:1883"},
		{"all interfaces", "0.0.0.0:1883", "0.0.0.0:1883"},
		{"port only", ":1883", "0.0.0.0:1883"},
		{"bare port", "1883", "0.0.0.0:1883"},
		{"ipv6 loopback", "[::1]:1883", "[::1]:1883"},
		{"ipv6 any", "[::]:8883", "[::]:8883"},
		{"ipv6 normalized", "[0:0:0:0:0:0:0:1]:1883", "[::1]:1883"},
		{"hostname", "localhost:1883", "localhost:1883"},
		{"hostname lowercased", "Broker.Example.com:1883", "broker.example.com:1883"},
		{"leading zeros in port", "0.0.0.0:01883", "0.0.0.0:1883"},
		{"ephemeral port", "127.0.0.1:0", "127.0.0.1:0"},
		{"spaces trimmed", " 1883 ", "0.0.0.0:1883"},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAddress(tc.in)
			if err != nil {
				t.Fatalf("ParseAddress(%q): %v", tc.in, err)
			}
			if string(got) != tc.want {
				t.Errorf("ParseAddress(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	bad := []struct{ name, in string }{
		{"empty", ""},
		{"port too large", "65536"},
		{"host without port", "127.0.0.1"},
		{"named port", "localhost:mqtt"},
		{"unbracketed ipv6", "::1:1883"},
		{"bad ipv4", "300.1.1.1:1883"},
		{"bad hostname", "bad host:1883"},
		{"negative port", ":-1"},
		{"empty port", "127.0.0.1:"},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.name, func(t *testing.T) {
			if got, err := ParseAddress(tc.in); err == nil {
				t.Errorf("ParseAddress(%q) = %q, want an error", tc.in, got)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	candidates := []string{"max_inflight", "max_mqueue_len", "ws", "wss", "tcp"}
	tests := []struct{ name, key, want string }{
		{"one letter missing", "max_inflght", "max_inflight"},
		{"transposition", "max_infilght", "max_inflight"},
		{"case only", "Max_Inflight", "max_inflight"},
		{"too far", "maximum_inflight", ""},
		{"short key not matched to everything", "x", ""},
		{"close short key", "tpc", "tcp"},
		{"short key two edits away", "foo", ""},
		{"two edits in a long key", "max_inflihgt_", "max_inflight"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := suggest(tc.key, candidates); got != tc.want {
				t.Errorf("suggest(%q) = %q, want %q", tc.key, got, tc.want)
			}
		})
	}
}

func TestParsePercent(t *testing.T) {
	tests := []struct {
		in   string
		want Percent
		ok   bool
	}{
		{"70%", 70, true},
		{"12.5%", 12.5, true},
		{" 0% ", 0, true},
		{"100%", 100, true},
		{"70", 0, false},
		{"0.7", 0, false},
		{"101%", 0, false},
		{"-1%", 0, false},
		{"%", 0, false},
		{"NaN%", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePercent(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("ParsePercent(%q) = %v, %v", tc.in, got, err)
			}
			if tc.ok && got.String() != strings.TrimSpace(tc.in) {
				t.Errorf("String() = %q", got.String())
			}
		})
	}
}

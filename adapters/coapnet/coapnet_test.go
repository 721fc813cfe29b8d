package coapnet

import (
	"testing"

	"github.com/plgd-dev/go-coap/v3/net/blockwise"
)

func TestBlockSizeExponent(t *testing.T) {
	tests := []struct {
		size int
		want blockwise.SZX
	}{{16, blockwise.SZX16}, {64, blockwise.SZX64}, {100, blockwise.SZX128}, {1024, blockwise.SZX1024}, {4096, blockwise.SZX1024}}
	for _, tc := range tests {
		o := Options{BlockSize: tc.size}
		if got := o.szx(); got != tc.want {
			t.Errorf("block size %d: szx %v, want %v", tc.size, got, tc.want)
		}
	}
}

func TestListenersValidate(t *testing.T) {
	tests := []struct {
		name string
		l    Listeners
		ok   bool
	}{
		{"empty", Listeners{}, true},
		{"udp", Listeners{UDP: map[string]UDPListener{"a": {Bind: ":5683"}}}, true},
		{"udp no port", Listeners{UDP: map[string]UDPListener{"a": {Bind: "127.0.0.1"}}}, false},
		{"dtls psk", Listeners{DTLS: map[string]DTLSListener{"a": {Bind: ":5684", PSK: map[string]string{"i": "0x00ff"}}}}, true},
		{"dtls empty key", Listeners{DTLS: map[string]DTLSListener{"a": {Bind: ":5684", PSK: map[string]string{"i": ""}}}}, false},
		{"dtls certs", Listeners{DTLS: map[string]DTLSListener{"a": {Bind: ":5684", Certfile: "c", Keyfile: "k", Verify: "verify_peer"}}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.l.Validate("x."); (err == nil) != tc.ok {
				t.Fatalf("Validate: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestPSKKeys(t *testing.T) {
	if k, err := pskKey("0x7365"); err != nil || string(k) != "se" {
		t.Fatalf("hex key: %q %v", k, err)
	}
	if k, err := pskKey("secret"); err != nil || string(k) != "secret" {
		t.Fatalf("plain key: %q %v", k, err)
	}
}

package coapnet

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
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

func TestValidateTransport(t *testing.T) {
	tests := []struct {
		name      string
		body      int
		ack       time.Duration
		retx      int
		wantInErr string // "" : valid
	}{
		{"defaults", 1 << 20, 2 * time.Second, 4, ""},
		{"smallest", 16, time.Millisecond, 1, ""},
		{"largest retransmit", 16, time.Second, 20, ""},
		{"body too small", 15, time.Second, 4, "x.max_body_size: must be at least 16"},
		{"no ack timeout", 16, 0, 4, "x.ack_timeout: must be positive"},
		{"no retransmit", 16, time.Second, 0, "x.max_retransmit: must be 1..20"},
		{"too many retransmits", 16, time.Second, 21, "x.max_retransmit: must be 1..20"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateTransport("x.", tc.body, tc.ack, tc.retx)
			switch {
			case tc.wantInErr == "" && err != nil:
				t.Fatalf("ValidateTransport: %v, want nil", err)
			case tc.wantInErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantInErr)):
				t.Fatalf("ValidateTransport: %v, want %q", err, tc.wantInErr)
			}
		})
	}
}

func TestPathSegmentsAndQuery(t *testing.T) {
	tests := []struct {
		name    string
		opts    []message.Option
		segs    []string
		segsErr bool
		query   map[string]string
	}{
		{"none", nil, nil, false, map[string]string{}},
		{"path and query", []message.Option{
			{ID: message.URIPath, Value: []byte("rd")}, {ID: message.URIPath, Value: []byte("5a3f")},
			{ID: message.URIQuery, Value: []byte("ep=dev1")}, {ID: message.URIQuery, Value: []byte("b")},
			{ID: message.URIQuery, Value: []byte("ep=dev2")}, {ID: message.URIQuery, Value: []byte("lt=a=b")},
		}, []string{"rd", "5a3f"}, false, map[string]string{"ep": "dev1", "b": "", "lt": "a=b"}},
		{"NUL in path", []message.Option{{ID: message.URIPath, Value: []byte("a\x00b")}}, nil, true, map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := pool.NewMessage(t.Context())
			m.SetCode(codes.GET)
			for _, o := range tc.opts {
				m.AddOptionBytes(o.ID, o.Value)
			}
			segs, err := PathSegments(m)
			if (err != nil) != tc.segsErr || !reflect.DeepEqual(segs, tc.segs) {
				t.Errorf("PathSegments: %q, %v; want %q (error %v)", segs, err, tc.segs, tc.segsErr)
			}
			if q := Query(m); !reflect.DeepEqual(q, tc.query) {
				t.Errorf("Query: %v, want %v", q, tc.query)
			}
		})
	}
}

func TestAddrOfServerNotStarted(t *testing.T) {
	var s *Server
	if a := s.Addr("udp:default"); a != nil {
		t.Fatalf("Addr on a nil Server: %v, want nil", a)
	}
}

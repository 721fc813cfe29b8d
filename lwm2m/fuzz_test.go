package lwm2m

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters/adaptertest"
	"github.com/manifold-iot/manifold/core/broker"
)

// fuzzServer is a gateway whose handlers are driven directly, over a real
// broker, without listeners.
func fuzzServer(f *testing.F) *Server {
	b := broker.New(broker.DefaultConfig(), zerolog.Nop())
	f.Cleanup(b.Close)
	cfg := DefaultConfig()
	cfg.XMLDir = "../configs/lwm2m"
	cfg.MaxClients = 64
	s, err := New(cfg, &testContext{Context: adaptertest.Context{Broker: b}}, nil, zerolog.Nop())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Shutdown)
	return s
}

// FuzzRegister sends Register (and then Update and De-register on the
// location it got) with an arbitrary query and payload: nothing may panic,
// and every request gets an answer code from the registration interface.
func FuzzRegister(f *testing.F) {
	f.Add("ep=dev1&lt=60&lwm2m=1.0&b=U", []byte(`</>;rt="oma.lwm2m",</1/0>,</3/0>`))
	f.Add("ep=dev2&lt=300&lwm2m=1.1&b=U&Q", []byte(`</lwm2m>;rt="oma.lwm2m";ct=11543,</lwm2m/1/0>,</lwm2m/3>;ver=1.1`))
	f.Add("ep=dev3&b=UQ", []byte(`</3/0>,</3/0/1>`))
	f.Add("ep=&lt=x", []byte("<"))
	f.Add("ep=dev4&lt=99999999999", []byte(`</1>;ver="1.0`))
	s := fuzzServer(f)
	peer := netip.MustParseAddrPort("127.0.0.1:40000")
	f.Fuzz(func(t *testing.T, q string, payload []byte) {
		m := pool.NewMessage(context.Background())
		m.SetCode(codes.POST)
		m.SetType(message.Confirmable)
		if err := m.SetPath("/rd"); err != nil {
			t.Fatal(err)
		}
		for _, kv := range strings.Split(q, "&") {
			if len(kv) > 0 && len(kv) < 256 {
				m.AddQuery(kv)
			}
		}
		if len(payload) > 0 {
			m.SetBody(bytes.NewReader(payload))
		}
		resp := s.handle(&request{msg: m, peer: peer, listener: "udp:default"})
		switch resp.code {
		case codes.Created, codes.BadRequest, codes.ServiceUnavailable:
		default:
			t.Fatalf("register answered %v", resp.code)
		}
		if resp.code != codes.Created {
			return
		}
		if len(resp.location) != 2 || resp.location[0] != "rd" {
			t.Fatalf("location %q", resp.location)
		}
		u := pool.NewMessage(context.Background())
		u.SetCode(codes.POST)
		u.SetType(message.Confirmable)
		_ = u.SetPath("/rd/" + resp.location[1])
		u.SetBody(bytes.NewReader(payload))
		if c := s.handle(&request{msg: u, peer: peer, listener: "udp:default"}).code; c != codes.Changed && c != codes.BadRequest {
			t.Fatalf("update answered %v", c)
		}
		d := pool.NewMessage(context.Background())
		d.SetCode(codes.DELETE)
		d.SetType(message.Confirmable)
		_ = d.SetPath("/rd/" + resp.location[1])
		if c := s.handle(&request{msg: d, peer: peer, listener: "udp:default"}).code; c != codes.Deleted && c != codes.NotFound {
			t.Fatalf("de-register answered %v", c)
		}
	})
}

// FuzzDatagram feeds arbitrary datagrams through go-coap's decoder and the
// gateway's routing: nothing may panic, and every request is answered.
func FuzzDatagram(f *testing.F) {
	for _, seed := range [][]byte{
		{0x40, 0x02, 0x00, 0x01, 0xb2, 'r', 'd', 0x47, 'e', 'p', '=', 'd', 'e', 'v', '1'},
		{0x40, 0x04, 0x00, 0x02, 0xb2, 'r', 'd', 0x02, 'a', 'b'},
		{0x50, 0x45, 0x00, 0x03, 0x60, 0xff, 0x01}, // a NON 2.05 notification
		{0x40, 0x01, 0x00},
	} {
		f.Add(seed)
	}
	s := fuzzServer(f)
	peer := netip.MustParseAddrPort("127.0.0.1:40001")
	f.Fuzz(func(t *testing.T, data []byte) {
		m := pool.NewMessage(context.Background())
		if _, err := m.UnmarshalWithDecoder(coder.DefaultCoder, data); err != nil {
			return // go-coap refuses it before any handler runs
		}
		resp := s.handle(&request{msg: m, peer: peer, listener: "udp:default"})
		if !resp.none && resp.code == 0 {
			t.Fatalf("no answer code for %v", m)
		}
	})
}

package coap

import (
	"context"
	"net/netip"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters/adaptertest"
	"github.com/manifold-iot/manifold/core/broker"
)

// FuzzHandle feeds arbitrary datagrams through go-coap's decoder and the
// gateway's routing and resources (against a real broker): nothing may
// panic, and every request gets an answer code.
func FuzzHandle(f *testing.F) {
	seeds := []message.Message{
		newRequest(message.Confirmable, codes.POST, 1, []byte{1}, "/ps/a/b", "clientid=f1", "qos=1", "retain=true"),
		withObserve(newRequest(message.Confirmable, codes.GET, 2, []byte{1, 2}, "/ps/a/+", "clientid=f1"), 0),
		withObserve(newRequest(message.NonConfirmable, codes.GET, 3, []byte{1, 2}, "/ps/a/+", "clientid=f1"), 1),
		newRequest(message.Confirmable, codes.POST, 4, []byte{3}, "/mqtt/connection", "clientid=f2"),
		newRequest(message.Confirmable, codes.PUT, 5, []byte{3}, "/mqtt/t", "c=f3", "u=a", "p=b"),
		newRequest(message.Confirmable, codes.GET, 6, nil, "/.well-known/core"),
	}
	buf := make([]byte, 1024)
	for _, m := range seeds {
		n, err := coder.DefaultCoder.Encode(m, buf)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte(nil), buf[:n]...))
	}
	f.Add([]byte{0x40, 0x01, 0x00})
	f.Add([]byte{0x40, 0x02, 0x00, 0x02, 0xF0})

	b := broker.New(broker.DefaultConfig(), zerolog.Nop())
	f.Cleanup(b.Close)
	cfg := DefaultConfig()
	cfg.MaxClients = 64
	ctx := &testContext{Context: adaptertest.Context{Broker: b}}
	ctx.Deny("publish:denied")
	s, err := New(cfg, ctx, zerolog.Nop())
	if err != nil {
		f.Fatal(err)
	}
	peer := netip.MustParseAddrPort("127.0.0.1:40000")
	f.Fuzz(func(t *testing.T, data []byte) {
		m := pool.NewMessage(context.Background())
		if _, err := m.UnmarshalWithDecoder(coder.DefaultCoder, data); err != nil {
			return // go-coap refuses it before any handler runs
		}
		resp := s.handle(&request{msg: m, peer: peer, listener: "udp:default"})
		if resp.code == 0 {
			t.Fatalf("no answer code for %v", m)
		}
	})
}

package coap

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	piondtls "github.com/pion/dtls/v3"
	"github.com/plgd-dev/go-coap/v3/dtls"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"

	"github.com/manifold-iot/manifold/adapters/coapnet"
	"github.com/manifold-iot/manifold/core"
)

func payload4K(t *testing.T) []byte {
	b := make([]byte, 4096)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBlockwisePublish4K(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.mqttClient("sub")
	sub.subscribe("big", core.QoS1)
	data := payload4K(t)
	resp, err := e.dial().Post(ctxT(t), "/ps/big", message.AppOctets, bytes.NewReader(data), queries("clientid=b1")...)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code() != codes.Changed {
		t.Fatalf("code %v", resp.Code())
	}
	eventually(t, 2*time.Second, func() bool { return len(sub.messages()) == 1 })
	if got := sub.messages()[0].Payload; !bytes.Equal(got, data) {
		t.Fatalf("published %d bytes, want the 4096 sent", len(got))
	}
}

func TestBlockwisePublishOverMaxBodySize(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBodySize = 2048 })
	sub := e.mqttClient("sub")
	sub.subscribe("big", core.QoS1)
	resp, err := e.dial().Post(ctxT(t), "/ps/big", message.AppOctets, bytes.NewReader(payload4K(t)), queries("clientid=b2")...)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code() != codes.RequestEntityTooLarge {
		t.Fatalf("code %v, want 4.13", resp.Code())
	}
	if v, err := resp.GetOptionUint32(message.Size1); err != nil || v != 2048 {
		t.Fatalf("Size1 %d (%v), want 2048", v, err)
	}
	if n := len(sub.messages()); n != 0 {
		t.Fatalf("%d messages published", n)
	}
}

func TestBlockwiseNotification4K(t *testing.T) {
	e := newEnv(t, nil)
	got := make(chan []byte, 4)
	obs, err := e.dial().Observe(ctxT(t), "/ps/big", func(m *pool.Message) {
		b, _ := m.ReadBody()
		got <- b
	}, queries("clientid=b3")...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = obs.Cancel(ctxT(t), queries("clientid=b3")...) }()
	<-got // the registration
	data := payload4K(t)
	e.mqttClient("pub").publish("big", string(data), core.QoS0)
	select {
	case b := <-got:
		if !bytes.Equal(b, data) {
			t.Fatalf("notification of %d bytes, want the 4096 published", len(b))
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no notification")
	}
}

func TestBlockwiseNotificationFirstBlock(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw()
	tok := observeRaw(t, r, "/ps/big", "clientid=b4")
	data := payload4K(t)
	e.mqttClient("pub").publish("big", string(data), core.QoS0)
	n := r.mustRecv()
	b2, err := n.Options.GetUint32(message.Block2)
	if err != nil {
		t.Fatal("a 4 KiB notification without Block2")
	}
	if size2, _ := n.Options.GetUint32(message.Size2); size2 != 4096 || len(n.Payload) != 1024 || b2>>4 != 0 || b2&8 == 0 {
		t.Fatalf("first block: Block2 %#x, Size2 %d, %d bytes", b2, size2, len(n.Payload))
	}
	// RFC 7959 §3.4: the rest comes with GET and Block2, without Observe.
	req := newRequest(message.Confirmable, codes.GET, r.nextMID(), tok, "/ps/big", "clientid=b4")
	buf := make([]byte, 4)
	req.Options, _, _ = req.Options.SetUint32(buf, message.Block2, 1<<4|6)
	r.sendMsg(req)
	m := r.mustRecv()
	if m.Code != codes.Content || !bytes.Equal(m.Payload, data[1024:2048]) {
		t.Fatalf("block 1: %v, %d bytes", m.Code, len(m.Payload))
	}
}

func TestDTLSPSK(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Listeners.DTLS = map[string]coapnet.DTLSListener{"default": {
			Bind: "127.0.0.1:0", PSK: map[string]string{"dev1": "0x73656372657431"},
		}}
	})
	sub := e.mqttClient("sub")
	sub.subscribe("secure/#", core.QoS1)
	cc, err := dtls.Dial(e.srv.Addr("dtls:default").String(), dtls.NewDTLSClientOptions(
		piondtls.WithPSK(func([]byte) ([]byte, error) { return []byte("secret1"), nil }),
		piondtls.WithPSKIdentityHint([]byte("dev1")),
		piondtls.WithCipherSuites(piondtls.TLS_PSK_WITH_AES_128_CCM_8),
	))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cc.Close() }()
	got := make(chan string, 4)
	obs, err := cc.Observe(ctxT(t), "/ps/secure/down", func(m *pool.Message) {
		b, _ := m.ReadBody()
		got <- string(b)
	}, queries("clientid=s1")...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = obs.Cancel(ctxT(t), queries("clientid=s1")...) }()
	<-got
	resp, err := cc.Post(ctxT(t), "/ps/secure/up", message.TextPlain, bytes.NewReader([]byte("hi")), queries("clientid=s1")...)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code() != codes.Changed {
		t.Fatalf("code %v", resp.Code())
	}
	eventually(t, 2*time.Second, func() bool { return len(sub.messages()) == 1 })
	sub.publish("secure/down", "cmd", core.QoS1)
	select {
	case p := <-got:
		if p != "cmd" {
			t.Fatalf("notification %q", p)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no notification over DTLS")
	}
}

func TestMalformedDatagramsAreLoggedNotFatal(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw()
	garbage := [][]byte{
		{0x40, 0x01, 0x00},                          // header cut short
		{0x48, 0x01, 0x00, 0x01, 1, 2},              // token longer than the datagram
		{0x40, 0x02, 0x00, 0x02, 0xF0},              // option delta 15 is reserved
		{0x40, 0x02, 0x00, 0x03, 0xFF},              // payload marker, no payload
		{0x4F, 0x01, 0x00, 0x04},                    // token length 15 is reserved
		{0x40, 0x02, 0x00, 0x05, 0xB4, 'p', 's', 0}, // option runs past the end
	}
	rnd := make([]byte, 64)
	_, _ = rand.Read(rnd)
	garbage = append(garbage, rnd)
	for _, g := range garbage {
		r.sendBytes(g)
	}
	eventually(t, 2*time.Second, func() bool { return bytes.Contains([]byte(e.logs.String()), []byte("coap_malformed_message")) })
	// The server still serves.
	for {
		m, ok := r.recv(50 * time.Millisecond)
		if !ok {
			break
		}
		if m.Type != message.Reset {
			t.Fatalf("a malformed datagram was answered %v %v, want nothing or RST", m.Type, m.Code)
		}
	}
	req := newRequest(message.Confirmable, codes.POST, r.nextMID(), []byte{1}, "/ps/ok", "clientid=z")
	r.sendMsg(req)
	if m := r.mustRecv(); m.Code != codes.Changed {
		t.Fatalf("code %v after garbage", m.Code)
	}
}

// TestBlock1WithSize1AndRequestTag sends a block-wise publish by hand, as
// libcoap does: Block1 with Size1 on the first block and a Request-Tag
// (RFC 9175, option 292) on every block.
func TestBlock1WithSize1AndRequestTag(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.mqttClient("sub")
	sub.subscribe("tagged", core.QoS1)
	r := e.raw()
	data := payload4K(t)[:2048]
	tok := []byte{0xbb, 1, 2, 3, 4, 5, 6, 7}
	for num := 0; num < 2; num++ {
		req := newRequest(message.Confirmable, codes.POST, r.nextMID(), tok, "/ps/tagged", "clientid=rt1")
		buf := make([]byte, 4)
		more := uint32(0)
		if num == 0 {
			more = 8
		}
		req.Options, _, _ = req.Options.SetUint32(buf, message.Block1, uint32(num)<<4|more|6)
		if num == 0 {
			req.Options, _, _ = req.Options.SetUint32(make([]byte, 4), message.Size1, 2048)
		}
		req.Options = req.Options.Add(message.Option{ID: message.RequestTag, Value: []byte{0xab}})
		req.Payload = data[num*1024 : (num+1)*1024]
		r.sendMsg(req)
		a := r.mustRecv()
		want := codes.Continue
		if num == 1 {
			want = codes.Changed
		}
		if a.Code != want {
			t.Fatalf("block %d answered %v (%q), want %v", num, a.Code, a.Payload, want)
		}
	}
	eventually(t, 2*time.Second, func() bool { return len(sub.messages()) == 1 })
	if got := sub.messages()[0].Payload; !bytes.Equal(got, data) {
		t.Fatalf("published %d bytes, want the 2048 sent", len(got))
	}
}

func TestUnknownCriticalOptionIsBadOption(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw()
	req := newRequest(message.Confirmable, codes.POST, r.nextMID(), []byte{1}, "/ps/a", "clientid=u1")
	req.Options = req.Options.Add(message.Option{ID: 2049, Value: []byte{1}}) // odd: critical, and unknown
	r.sendMsg(req)
	if m := r.mustRecv(); m.Code != codes.BadOption {
		t.Fatalf("code %v, want 4.02 (RFC 7252 §5.4.1)", m.Code)
	}
}

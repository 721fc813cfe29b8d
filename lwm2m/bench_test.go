package lwm2m

import (
	"fmt"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/session"
)

// waker is a core subscriber that signals each delivery.
type waker struct {
	sess *session.Session
	got  chan struct{}
	buf  []session.Delivery
}

func (w *waker) Notify() {
	w.buf, _ = w.sess.Take(w.buf[:0], time.Now(), 0)
	for range w.buf {
		w.got <- struct{}{}
	}
}
func (w *waker) Kick(error) {}

// BenchmarkReadCommand measures a whole read: an MQTT command published to
// dn, the CoAP GET to a Go device on loopback, its TLV answer decoded, and
// the response published on up/resp.
func BenchmarkReadCommand(b *testing.B) {
	e := newEnv(b, nil)
	d := newDevice(b, "bench", "1.0")
	d.dialUDP(e.srv.Addr("udp:default").String())
	if d.register() != codes.Created {
		b.Fatal("register")
	}
	e.waitUplink("lwm2m/bench/up/resp", msgType("register"))
	w := &waker{got: make(chan struct{}, 16)}
	w.sess = e.ctx.Connect(broker.ConnectRequest{Client: &core.ClientInfo{ClientID: "bench-sub", Proto: "mqtt"}, Conn: w, CleanStart: true}).Session
	if _, err := e.ctx.Subscribe("bench-sub", w, "lwm2m/bench/up/resp", core.SubOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.command("bench", fmt.Sprintf(`{"reqID":%d,"msgType":"read","data":{"path":"/3/0/0"}}`, i))
		select {
		case <-w.got:
		case <-time.After(5 * time.Second):
			b.Fatal("no response")
		}
	}
}

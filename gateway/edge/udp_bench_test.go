package edge

import (
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	snc "github.com/manifold-iot/manifold/codec/sn"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/session"
)

type benchSub struct{}

func (benchSub) Notify()    {}
func (benchSub) Kick(error) {}

// BenchmarkUDPPublishQoS0 drives the MQTT-SN channel over the UDP edge (one
// event loop) from one client socket on loopback: QoS 0 PUBLISH datagrams
// (64-byte payload) into a real broker with one subscriber, in windows of
// 256 closed by a PINGREQ whose PINGRESP proves the window was processed
// (so no datagram is lost to a full socket buffer). msg/s is publishes per
// second into the core; the client's sendto calls share the machine.
func BenchmarkUDPPublishQoS0(b *testing.B) {
	e := newSNEdge(b, UDPConfig{Loops: 1, RecvBuffer: 4 << 20}, nil)
	br := e.b
	sub := benchSub{}
	br.Connect(broker.ConnectRequest{Client: &core.ClientInfo{ClientID: "sub"}, Conn: sub, CleanStart: true})
	if _, err := br.Subscribe("sub", sub, "bench/#", core.SubOptions{}); err != nil {
		b.Fatal(err)
	}
	sess := br.Session("sub")
	c := e.dial(b)
	c.connect("pub", 0)
	c.send(&snc.Register{MsgID: 1, TopicName: "bench/t"})
	id := expect[*snc.Regack](c).TopicID
	pub, _ := snc.Encode(nil, &snc.Publish{TopicID: id, Data: make([]byte, 64)})
	ping, _ := snc.Encode(nil, &snc.Pingreq{})
	buf := make([]byte, 64)
	var ds []session.Delivery
	const window = 256
	b.ReportAllocs()
	b.ResetTimer()
	pc := ipv4.NewPacketConn(c.c)
	msgs := make([]ipv4.Message, window)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{pub}
	}
	for sent := 0; sent < b.N; {
		n := min(window, b.N-sent)
		for off := 0; off < n; { // sendmmsg: the client's cost stays small
			k, err := pc.WriteBatch(msgs[off:n], 0)
			if err != nil {
				b.Fatal(err)
			}
			off += k
		}
		sent += n
		if _, err := c.c.Write(ping); err != nil {
			b.Fatal(err)
		}
		_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.c.Read(buf); err != nil {
			b.Fatalf("no PINGRESP: %v (a datagram was lost?)", err)
		}
		ds, _ = sess.Take(ds[:0], time.Now(), 0)
		clear(ds)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	if st := br.Stats(); st.Published < uint64(b.N) {
		b.Fatalf("published %d of %d", st.Published, b.N)
	}
}

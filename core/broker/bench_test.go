package broker

import (
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/session"
	"github.com/manifold-iot/manifold/core/topicmetrics"
	"github.com/manifold-iot/manifold/core/trace"
)

func benchBroker(b *testing.B) *Broker {
	cfg := DefaultConfig()
	cfg.Session = session.Config{MaxInflight: 1000, MaxQueueLen: 0}
	cfg.Sys.ClientConnected, cfg.Sys.ClientDisconnected = false, false
	br := New(cfg, zerolog.Nop())
	b.Cleanup(br.Close)
	return br
}

func benchSub(b *testing.B, br *Broker, id, filter string, qos core.QoS) *session.Session {
	c := &testConn{}
	res := br.Connect(ConnectRequest{Client: &core.ClientInfo{ClientID: id}, Conn: c, CleanStart: true})
	if _, err := br.Subscribe(id, c, filter, core.SubOptions{QoS: qos}); err != nil {
		b.Fatal(err)
	}
	return res.Session
}

func drain(s *session.Session, buf []session.Delivery) []session.Delivery {
	buf, _ = s.Take(buf[:0], time.Now(), 0)
	for _, d := range buf {
		if d.QoS == core.QoS1 {
			s.Ack(d.PacketID)
		}
	}
	return buf
}

// BenchmarkPublishFanIn: many publishers, one subscriber on "#": the cost of
// one Publish through the core (match, merge, enqueue), with the
// subscriber's queue drained as a connection would.
func BenchmarkPublishFanIn(b *testing.B) {
	for _, qos := range []core.QoS{0, 1} {
		b.Run(fmt.Sprintf("qos%d", qos), func(b *testing.B) {
			br := benchBroker(b)
			s := benchSub(b, br, "sub", "#", qos)
			topics := make([]string, 8)
			for i := range topics {
				topics[i] = fmt.Sprintf("load/%d", i)
			}
			payload := make([]byte, 64)
			var buf []session.Delivery
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				m := &core.Message{From: "p", Topic: topics[i%len(topics)], QoS: qos, Payload: payload}
				if _, err := br.Publish(m); err != nil {
					b.Fatal(err)
				}
				if i%64 == 63 {
					buf = drain(s, buf)
				}
			}
		})
	}
}

// BenchmarkPublishFanOut: one publish to 100 subscribers; ns/op is per
// publish, and the per-delivery figure is reported as ns/delivery.
func BenchmarkPublishFanOut(b *testing.B) {
	const subs = 100
	br := benchBroker(b)
	sessions := make([]*session.Session, subs)
	for i := range sessions {
		sessions[i] = benchSub(b, br, fmt.Sprintf("s%d", i), "fan/out", 0)
	}
	payload := make([]byte, 64)
	var buf []session.Delivery
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := br.Publish(&core.Message{From: "p", Topic: "fan/out", Payload: payload}); err != nil {
			b.Fatal(err)
		}
		if i%16 == 15 {
			for _, s := range sessions {
				buf = drain(s, buf)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs), "ns/delivery")
}

// BenchmarkPublishObserved: BenchmarkPublishFanIn's QoS 0 publish with the
// observability hooks wired in: "off" has a tracer and a topic metrics
// registry with nothing traced or registered (the cost every node pays),
// "topic_metrics" counts the published topics, "trace" runs a topic trace
// matching them (records beyond the writer's queue are dropped and counted).
func BenchmarkPublishObserved(b *testing.B) {
	for _, mode := range []string{"off", "topic_metrics", "trace"} {
		b.Run(mode, func(b *testing.B) {
			tr := trace.New(b.TempDir(), 0, zerolog.Nop())
			b.Cleanup(tr.Close)
			reg := topicmetrics.New()
			cfg := DefaultConfig()
			cfg.Session = session.Config{MaxInflight: 1000, MaxQueueLen: 0}
			cfg.Sys.ClientConnected, cfg.Sys.ClientDisconnected = false, false
			cfg.Trace, cfg.TopicMetrics = tr, reg
			br := New(cfg, zerolog.Nop())
			b.Cleanup(br.Close)
			s := benchSub(b, br, "sub", "#", 0)
			topics := make([]string, 8)
			for i := range topics {
				topics[i] = fmt.Sprintf("load/%d", i)
				if mode == "topic_metrics" {
					if err := reg.Register(topics[i]); err != nil {
						b.Fatal(err)
					}
				}
			}
			if mode == "trace" {
				if _, err := tr.Create(trace.Spec{Name: "bench", Type: trace.TypeTopic, Topic: "load/#", PayloadEncode: trace.EncodeHidden}); err != nil {
					b.Fatal(err)
				}
			}
			payload := make([]byte, 64)
			var buf []session.Delivery
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				m := &core.Message{From: "p", Topic: topics[i%len(topics)], Payload: payload}
				if _, err := br.Publish(m); err != nil {
					b.Fatal(err)
				}
				if i%64 == 63 {
					buf = drain(s, buf)
				}
			}
		})
	}
}

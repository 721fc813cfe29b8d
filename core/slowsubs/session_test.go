package slowsubs_test

import (
	"testing"
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/session"
	"github.com/manifold-iot/manifold/core/slowsubs"
)

// TestSessionAcknowledgementsAreMeasured drives a real session: a QoS 1
// PUBACK and a QoS 2 PUBREC are measured from the message's timestamp; QoS 0
// and fast deliveries are not.
func TestSessionAcknowledgementsAreMeasured(t *testing.T) {
	cfg := slowsubs.DefaultConfig()
	cfg.Enable, cfg.Threshold = true, 100*time.Millisecond
	tr := slowsubs.New(cfg)
	s := session.New("sub", session.Config{SlowSubs: tr})
	old := time.Now().Add(-2 * time.Second)
	for _, p := range []session.Pending{
		{Msg: &core.Message{Topic: "slow/q1", QoS: 1, Timestamp: old}, QoS: 1},
		{Msg: &core.Message{Topic: "slow/q2", QoS: 2, Timestamp: old}, QoS: 2},
		{Msg: &core.Message{Topic: "slow/q0", Timestamp: old}, QoS: 0},
		{Msg: &core.Message{Topic: "fast/q1", QoS: 1, Timestamp: time.Now()}, QoS: 1},
	} {
		s.Enqueue(p)
	}
	ds, _ := s.Take(nil, time.Now(), 0)
	for _, d := range ds {
		switch d.QoS {
		case core.QoS1:
			s.Ack(d.PacketID)
		case core.QoS2:
			s.Rec(d.PacketID)
			s.Comp(d.PacketID)
		}
	}
	got := tr.TopK()
	if len(got) != 2 {
		t.Fatalf("TopK = %+v, want slow/q1 and slow/q2", got)
	}
	topics := map[string]bool{}
	for _, e := range got {
		topics[e.Topic] = true
		if e.ClientID != "sub" || e.Latency < 2*time.Second {
			t.Errorf("entry %+v", e)
		}
	}
	if !topics["slow/q1"] || !topics["slow/q2"] {
		t.Errorf("topics = %v", topics)
	}
}

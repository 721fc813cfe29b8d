package session

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/core"
)

type countingNotifier struct{ n atomic.Int64 }

func (c *countingNotifier) Notify() { c.n.Add(1) }

func msg(topic string, qos core.QoS) Pending {
	return Pending{Msg: &core.Message{Topic: topic, QoS: qos, Timestamp: time.Now()}, QoS: qos}
}

func topics(ds []Delivery) []string {
	var out []string
	for _, d := range ds {
		switch {
		case d.Release:
			out = append(out, fmt.Sprintf("rel:%d", d.PacketID))
		case d.Dup:
			out = append(out, "dup:"+d.Msg.Topic)
		default:
			out = append(out, d.Msg.Topic)
		}
	}
	return out
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestTakeRespectsWindowAndOrder(t *testing.T) {
	s := New("c", Config{MaxInflight: 2})
	n := &countingNotifier{}
	s.Bind(n, 0)
	for _, p := range []Pending{msg("a", 1), msg("b", 0), msg("c", 2), msg("d", 1), msg("e", 0)} {
		if !s.Enqueue(p) {
			t.Fatalf("enqueue %s refused", p.Msg.Topic)
		}
	}
	got, more := s.Take(nil, time.Now(), 0)
	if !equal(topics(got), []string{"a", "b", "c"}) || more {
		t.Fatalf("first Take = %v more=%v, want [a b c] (window 2 stops at d)", topics(got), more)
	}
	if got[0].PacketID == 0 || got[1].PacketID != 0 || got[2].PacketID == 0 || got[0].PacketID == got[2].PacketID {
		t.Fatalf("packet ids %d %d %d: want non-zero distinct ids for QoS>0 and 0 for QoS 0", got[0].PacketID, got[1].PacketID, got[2].PacketID)
	}
	if again, _ := s.Take(nil, time.Now(), 0); len(again) != 0 {
		t.Fatalf("Take with a full window returned %v", topics(again))
	}
	if s.Ack(got[2].PacketID) {
		t.Fatal("PUBACK accepted for a QoS 2 delivery")
	}
	if !s.Ack(got[0].PacketID) {
		t.Fatal("PUBACK for a QoS 1 delivery refused")
	}
	if s.Ack(got[0].PacketID) {
		t.Fatal("duplicate PUBACK accepted")
	}
	rest, _ := s.Take(nil, time.Now(), 0)
	if !equal(topics(rest), []string{"d", "e"}) {
		t.Fatalf("after PUBACK Take = %v, want [d e]", topics(rest))
	}
	st := s.Stats()
	if st.Inflight != 2 || st.Queued != 0 {
		t.Fatalf("stats %+v, want 2 inflight, 0 queued", st)
	}
}

func TestReceiveMaximumNarrowsWindow(t *testing.T) {
	s := New("c", Config{MaxInflight: 10})
	s.Bind(&countingNotifier{}, 1)
	s.Enqueue(msg("a", 1))
	s.Enqueue(msg("b", 1))
	if got, _ := s.Take(nil, time.Now(), 0); !equal(topics(got), []string{"a"}) {
		t.Fatalf("Take with Receive Maximum 1 = %v, want [a]", topics(got))
	}
}

func TestTakeLimit(t *testing.T) {
	s := New("c", Config{})
	s.Bind(&countingNotifier{}, 0)
	for i := range 5 {
		s.Enqueue(msg(fmt.Sprint(i), 0))
	}
	got, more := s.Take(nil, time.Now(), 3)
	if len(got) != 3 || !more {
		t.Fatalf("Take limit 3 = %d deliveries more=%v", len(got), more)
	}
	got, more = s.Take(got[:0], time.Now(), 3)
	if len(got) != 2 || more {
		t.Fatalf("second Take = %d deliveries more=%v", len(got), more)
	}
}

func TestQueueLimitsAndDropPolicy(t *testing.T) {
	cases := []struct {
		name        string
		cfg         Config
		online      bool
		in          []Pending
		wantQueued  []string
		wantDropped uint64
	}{
		{"QoS 0 dropped first to make room", Config{MaxQueueLen: 3, StoreQoS0: true}, false,
			[]Pending{msg("q0a", 0), msg("q1", 1), msg("q0b", 0), msg("q1b", 1)}, []string{"q1", "q0b", "q1b"}, 1},
		{"new QoS 0 dropped when full", Config{MaxQueueLen: 2, StoreQoS0: true}, false,
			[]Pending{msg("a", 1), msg("b", 1), msg("c", 0)}, []string{"a", "b"}, 1},
		{"QoS 1 and 2 overflow past max_mqueue_len up to the hard bound", Config{MaxQueueLen: 2, Overflow: 1}, false,
			[]Pending{msg("a", 1), msg("b", 2), msg("c", 1), msg("d", 1)}, []string{"a", "b", "c"}, 1},
		{"offline QoS 0 not stored", Config{StoreQoS0: false}, false,
			[]Pending{msg("a", 0), msg("b", 1)}, []string{"b"}, 1},
		{"offline QoS 0 stored", Config{StoreQoS0: true}, false,
			[]Pending{msg("a", 0), msg("b", 1)}, []string{"a", "b"}, 0},
		{"online QoS 0 always queued", Config{StoreQoS0: false}, true,
			[]Pending{msg("a", 0)}, []string{"a"}, 0},
		{"unlimited queue", Config{}, false,
			[]Pending{msg("a", 1), msg("b", 1), msg("c", 1)}, []string{"a", "b", "c"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New("c", tc.cfg)
			if tc.online {
				s.Bind(&countingNotifier{}, 0)
			}
			for _, p := range tc.in {
				s.Enqueue(p)
			}
			var queued []string
			s.Pending(func(p *Pending, id uint16) { queued = append(queued, p.Msg.Topic) })
			if !equal(queued, tc.wantQueued) {
				t.Fatalf("queued %v, want %v", queued, tc.wantQueued)
			}
			if d := s.Stats().Dropped; d != tc.wantDropped {
				t.Fatalf("dropped %d, want %d", d, tc.wantDropped)
			}
		})
	}
}

func TestNotifyOncePerBatch(t *testing.T) {
	s := New("c", Config{MaxInflight: 1})
	n := &countingNotifier{}
	s.Bind(n, 0)
	s.Enqueue(msg("a", 1))
	s.Enqueue(msg("b", 1))
	if n.n.Load() != 1 {
		t.Fatalf("%d notifications for one batch, want 1", n.n.Load())
	}
	got, _ := s.Take(nil, time.Now(), 0) // takes a; b waits for the window
	s.Enqueue(msg("c", 1))
	if n.n.Load() != 1 {
		t.Fatalf("notified while the window is full: %d", n.n.Load())
	}
	s.Ack(got[0].PacketID)
	s.Take(nil, time.Now(), 0) // b
	s.Ack(2)
	s.Take(nil, time.Now(), 0) // c; queue empty now
	s.Enqueue(msg("d", 1))
	if n.n.Load() != 2 {
		t.Fatalf("%d notifications, want 2 after the queue emptied and refilled", n.n.Load())
	}
}

func TestExpiredMessagesAreDropped(t *testing.T) {
	s := New("c", Config{})
	s.Bind(&countingNotifier{}, 0)
	old := msg("old", 1)
	old.Msg.Timestamp = time.Now().Add(-time.Minute)
	old.Msg.ExpiryInterval = time.Second
	s.Enqueue(old)
	s.Enqueue(msg("fresh", 1))
	got, _ := s.Take(nil, time.Now(), 0)
	if !equal(topics(got), []string{"fresh"}) || s.Stats().Expired != 1 {
		t.Fatalf("Take = %v, expired %d; want [fresh] and 1 expired", topics(got), s.Stats().Expired)
	}
}

func TestResumeAfterReconnect(t *testing.T) {
	s := New("c", Config{})
	first := &countingNotifier{}
	s.Bind(first, 0)
	s.Enqueue(msg("q1", 1))
	s.Enqueue(msg("q2", 2))
	s.Enqueue(msg("q2b", 2))
	got, _ := s.Take(nil, time.Now(), 0)
	if !s.Rec(got[1].PacketID) {
		t.Fatal("PUBREC refused")
	}
	if !s.Rec(got[1].PacketID) {
		t.Fatal("duplicate PUBREC must be answered with PUBREL again")
	}
	s.Unbind(first)
	s.Enqueue(msg("later", 1))

	s.Bind(&countingNotifier{}, 0)
	resume := s.Resume(nil)
	want := []string{"dup:q1", fmt.Sprintf("rel:%d", got[1].PacketID), "dup:q2b"}
	if !equal(topics(resume), want) {
		t.Fatalf("Resume = %v, want %v", topics(resume), want)
	}
	if resume[0].PacketID != got[0].PacketID || resume[2].PacketID != got[2].PacketID {
		t.Fatal("resent packets must keep their packet identifiers")
	}
	if !s.Comp(got[1].PacketID) || s.Comp(got[1].PacketID) {
		t.Fatal("PUBCOMP must complete the QoS 2 delivery once")
	}
	next, _ := s.Take(nil, time.Now(), 0)
	if !equal(topics(next), []string{"later"}) {
		t.Fatalf("Take after resume = %v, want [later]", topics(next))
	}
}

func TestUnbindIgnoresStaleConnection(t *testing.T) {
	s := New("c", Config{})
	old, cur := &countingNotifier{}, &countingNotifier{}
	s.Bind(old, 0)
	s.Bind(cur, 0) // takeover
	if s.Unbind(old) {
		t.Fatal("the old connection unbound the new one")
	}
	if !s.Online() {
		t.Fatal("session went offline")
	}
	s.Enqueue(msg("x", 0))
	if old.n.Load() != 0 || cur.n.Load() != 1 {
		t.Fatalf("notifications old=%d new=%d, want 0 and 1", old.n.Load(), cur.n.Load())
	}
}

func TestPacketIDsSkipZeroAndInUse(t *testing.T) {
	s := New("c", Config{MaxInflight: 3})
	s.Bind(&countingNotifier{}, 0)
	s.nextID = 65533
	for i := range 3 {
		s.Enqueue(msg(fmt.Sprint(i), 1))
	}
	got, _ := s.Take(nil, time.Now(), 0)
	ids := []uint16{got[0].PacketID, got[1].PacketID, got[2].PacketID}
	if fmt.Sprint(ids) != "[65534 65535 1]" {
		t.Fatalf("ids %v, want [65534 65535 1]", ids)
	}
	s.Ack(65535)
	s.nextID = 65533
	s.Enqueue(msg("x", 1))
	got, _ = s.Take(nil, time.Now(), 0)
	if got[0].PacketID != 65535 {
		t.Fatalf("id %d, want 65535 (65534 is still in use)", got[0].PacketID)
	}
}

func TestAwaitingRel(t *testing.T) {
	s := New("c", Config{MaxAwaitingRel: 2})
	now := time.Now()
	if dup, err := s.AwaitRel(1, now); dup || err != nil {
		t.Fatalf("first AwaitRel: dup=%v err=%v", dup, err)
	}
	if dup, err := s.AwaitRel(1, now); !dup || err != nil {
		t.Fatalf("repeat AwaitRel: dup=%v err=%v, want dup", dup, err)
	}
	s.AwaitRel(2, now.Add(time.Minute))
	if _, err := s.AwaitRel(3, now); !errors.Is(err, ErrTooManyAwaitingRel) {
		t.Fatalf("third AwaitRel: %v, want ErrTooManyAwaitingRel", err)
	}
	if !s.Release(1) || s.Release(1) {
		t.Fatal("PUBREL must release once")
	}
	if n := s.ExpireAwaitingRel(now.Add(3*time.Minute), 90*time.Second); n != 1 || s.InboundInflight() != 0 {
		t.Fatalf("expired %d, left %d; want 1 and 0", n, s.InboundInflight())
	}
}

// Many publishers enqueue while the connection takes and acknowledges: every
// QoS 1 message arrives exactly once, each publisher's in order.
func TestConcurrentEnqueueAndTake(t *testing.T) {
	const pubs, per = 4, 2000
	s := New("c", Config{MaxInflight: 16})
	n := &countingNotifier{}
	s.Bind(n, 0)
	var wg sync.WaitGroup
	for p := range pubs {
		wg.Go(func() {
			for i := range per {
				m := msg(fmt.Sprintf("%d/%d", p, i), 1)
				for !s.Enqueue(m) {
					t.Error("enqueue refused with an unlimited queue")
					return
				}
			}
		})
	}
	next := make([]int, pubs)
	got := 0
	deadline := time.Now().Add(20 * time.Second)
	var buf []Delivery
	for got < pubs*per && time.Now().Before(deadline) {
		buf, _ = s.Take(buf[:0], time.Now(), 64)
		for _, d := range buf {
			var p, i int
			fmt.Sscanf(d.Msg.Topic, "%d/%d", &p, &i)
			if i != next[p] {
				t.Fatalf("publisher %d: got message %d, want %d", p, i, next[p])
			}
			next[p]++
			got++
			if !s.Ack(d.PacketID) {
				t.Fatalf("ack %d refused", d.PacketID)
			}
		}
	}
	wg.Wait()
	if got != pubs*per {
		t.Fatalf("delivered %d of %d", got, pubs*per)
	}
	if st := s.Stats(); st.Inflight != 0 || st.Queued != 0 || st.Dropped != 0 {
		t.Fatalf("stats after draining %+v", st)
	}
}

type countingWaker struct{ n atomic.Int64 }

func (w *countingWaker) Wake() { w.n.Add(1) }

func TestPushBackSignals(t *testing.T) {
	s := New("c", Config{MaxQueueLen: 4, MaxInflight: 100})
	s.Bind(&countingNotifier{}, 0)
	w := &countingWaker{}
	s.WhenDrained(w)
	if w.n.Load() != 1 {
		t.Fatal("a waker on an empty queue must be woken at once")
	}
	for i := range 6 {
		if !s.Enqueue(msg(fmt.Sprint(i), 1)) {
			t.Fatalf("QoS 1 message %d refused below the hard bound", i)
		}
	}
	if !s.Pressured() {
		t.Fatal("a queue past max_mqueue_len must report pressure")
	}
	s.WhenDrained(w)
	s.WhenDrained(w) // registered once
	if w.n.Load() != 1 {
		t.Fatal("woken while the queue is full")
	}
	got, _ := s.Take(nil, time.Now(), 3) // 3 left: above half of 4
	if w.n.Load() != 1 || len(got) != 3 {
		t.Fatalf("woken at 3 queued (%d), took %d", w.n.Load(), len(got))
	}
	s.Take(nil, time.Now(), 1) // 2 left: half
	if w.n.Load() != 2 {
		t.Fatalf("wakes %d, want 2 once the queue drained to half", w.n.Load())
	}
	if s.Pressured() {
		t.Fatal("still pressured after draining")
	}
	for range 6 {
		s.Enqueue(msg("x", 1))
	}
	s.WhenDrained(w)
	s.Discard()
	if w.n.Load() != 3 || s.Stats().Queued != 0 {
		t.Fatalf("Discard: wakes %d, queued %d", w.n.Load(), s.Stats().Queued)
	}
}

func TestSettleCompletesEveryKindOfDelivery(t *testing.T) {
	s := New("c", Config{})
	s.Bind(&countingNotifier{}, 0)
	for _, q := range []core.QoS{core.QoS0, core.QoS1, core.QoS2} {
		s.Enqueue(Pending{Msg: &core.Message{Topic: "t", QoS: q}, QoS: q})
	}
	ds, _ := s.Take(nil, time.Now(), 0)
	if len(ds) != 3 {
		t.Fatalf("took %d deliveries", len(ds))
	}
	for i := range ds {
		s.Settle(&ds[i])
	}
	if st := s.Stats(); st.Inflight != 0 {
		t.Fatalf("%d deliveries still in flight after Settle", st.Inflight)
	}
	// A PUBREL to resend (a resumed QoS 2 exchange) is settled too.
	s.Enqueue(Pending{Msg: &core.Message{Topic: "t", QoS: core.QoS2}, QoS: core.QoS2})
	ds, _ = s.Take(nil, time.Now(), 0)
	s.Rec(ds[0].PacketID)
	s.Settle(&Delivery{PacketID: ds[0].PacketID, Release: true})
	if st := s.Stats(); st.Inflight != 0 {
		t.Fatalf("PUBREL not settled: %d in flight", st.Inflight)
	}
}

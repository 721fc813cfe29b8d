package session

import (
	"math/rand/v2"
	"testing"

	"github.com/manifold-iot/manifold/core"
)

// TestQueueAgainstSlice applies random pushes, pops and QoS 0 drops to a
// queue and to a plain slice, and compares them after every step: order,
// length, peek and each.
func TestQueueAgainstSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var q queue
	var model []Pending
	seq := uint64(0)
	for step := range 50000 {
		switch op := rng.IntN(100); {
		case len(model) < 3000 && (op < 45 || len(model) == 0 && op < 90):
			// Bursts: push several at once, so the queue grows past maxBlock.
			for range 1 + rng.IntN(40) {
				seq++
				p := Pending{Seq: seq, QoS: core.QoS(rng.IntN(3))}
				q.push(p)
				model = append(model, p)
			}
		case op < 90:
			// Pop bursts too: the queue grows and empties again and again.
			for n := 1 + rng.IntN(40); n > 0 && len(model) > 0; n-- {
				if got, want := q.pop(), model[0]; got.Seq != want.Seq {
					t.Fatalf("step %d: pop = %d, want %d", step, got.Seq, want.Seq)
				}
				model = model[1:]
			}
		default:
			got, ok := q.dropOldestQoS0()
			i := -1
			for j, p := range model {
				if p.QoS == core.QoS0 {
					i = j
					break
				}
			}
			if ok != (i >= 0) || ok && got.Seq != model[i].Seq {
				t.Fatalf("step %d: dropOldestQoS0 = %d %v, want index %d", step, got.Seq, ok, i)
			}
			if ok {
				model = append(model[:i:i], model[i+1:]...)
			}
		}
		if q.len() != len(model) {
			t.Fatalf("step %d: len = %d, want %d", step, q.len(), len(model))
		}
		if len(model) > 0 && q.peek().Seq != model[0].Seq {
			t.Fatalf("step %d: peek = %d, want %d", step, q.peek().Seq, model[0].Seq)
		}
		if step%997 == 0 {
			i := 0
			q.each(func(p *Pending) {
				if p.Seq != model[i].Seq {
					t.Fatalf("step %d: each[%d] = %d, want %d", step, i, p.Seq, model[i].Seq)
				}
				i++
			})
			if i != len(model) {
				t.Fatalf("step %d: each visited %d, want %d", step, i, len(model))
			}
		}
	}
}

func TestQueueGivesBackABurstsMemory(t *testing.T) {
	var q queue
	for i := range 10000 {
		q.push(Pending{Seq: uint64(i + 1)})
	}
	for q.len() > 0 {
		q.pop()
	}
	if q.head != nil || q.tail != nil {
		t.Fatalf("an emptied queue keeps a %d-message block after a burst", len(q.head.items))
	}
	q.push(Pending{Seq: 1})
	q.pop()
	if q.head == nil || len(q.head.items) != minBlock {
		t.Fatal("a queue that held one message does not keep its small block")
	}
}

// BenchmarkQueueDeep: push a million messages behind, then drain them; a
// fan-out subscriber that falls behind does this. ns/op is per message.
func BenchmarkQueueDeep(b *testing.B) {
	const depth = 1 << 20
	b.ReportAllocs()
	for b.Loop() {
		var q queue
		for i := range depth {
			q.push(Pending{Seq: uint64(i)})
		}
		for q.len() > 0 {
			q.pop()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*depth), "ns/msg")
}

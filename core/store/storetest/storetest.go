// Package storetest is the behaviour every store.Store must have, as a test
// suite the implementations run against themselves (core/store/memory and
// core/store/pebble). Durability is checked by closing a store and opening
// the same directory again.
package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/store"
)

// Opener opens the store kept in dir with opts; opening a dir again after
// Close must give back what was written there.
type Opener func(t *testing.T, dir string, opts store.Options) store.Store

// Run runs the suite against the stores open makes.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"sessions_subscriptions_awaiting", testSessions},
		{"delete_session_cascades", testDeleteSession},
		{"client_prefixes_do_not_collide", testPrefixes},
		{"enqueue_load_order", testEnqueueLoad},
		{"load_queue_paging", testPaging},
		{"qos2_transitions_survive_reopen", testTransitions},
		{"shared_bodies_reference_counted", testSharedBodies},
		{"shared_body_released_by_inflight", testSharedInflight},
		{"retained", testRetained},
		{"delayed", testDelayed},
		{"err_full", testFull},
		{"tickets_drain", testTickets},
		{"writes_before_close_survive", testCloseSurvives},
		{"closed_store", testClosed},
		{"orphan_entries_not_restored", testOrphans},
		{"load_sees_writes_before_it", testLoadSeesWrites},
		{"concurrent_sessions", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &harness{t: t, open: open, dir: t.TempDir()}
			h.opts = store.Options{Fsync: store.FsyncInterval, SyncInterval: 5 * time.Millisecond}
			h.s = open(t, h.dir, h.opts)
			t.Cleanup(func() { _ = h.s.Close() })
			tc.fn(t, h)
		})
	}
}

type harness struct {
	t    *testing.T
	open Opener
	dir  string
	opts store.Options
	s    store.Store
}

// reopen closes the store and opens its directory again.
func (h *harness) reopen() store.Store {
	h.t.Helper()
	if err := h.s.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.s = h.open(h.t, h.dir, h.opts)
	return h.s
}

// restore reopens the store and restores it.
func (h *harness) restore() *store.Restored {
	h.t.Helper()
	h.reopen()
	r, err := h.s.Restore()
	if err != nil {
		h.t.Fatalf("Restore: %v", err)
	}
	return r
}

func (h *harness) flush() {
	h.t.Helper()
	if err := h.s.Flush(); err != nil {
		h.t.Fatalf("Flush: %v", err)
	}
}

// load calls LoadQueue and waits (bounded) for its result.
func (h *harness) load(client string, after uint64, max int) []store.Entry {
	h.t.Helper()
	type result struct {
		e   []store.Entry
		err error
	}
	c := make(chan result, 1)
	h.s.LoadQueue(client, after, max, func(e []store.Entry, err error) { c <- result{e, err} })
	select {
	case r := <-c:
		if r.err != nil {
			h.t.Fatalf("LoadQueue(%q, %d, %d): %v", client, after, max, r.err)
		}
		return r.e
	case <-time.After(5 * time.Second):
		h.t.Fatalf("LoadQueue(%q, %d, %d): done not called", client, after, max)
		return nil
	}
}

func (h *harness) enqueue(client string, e *store.Entry) {
	h.t.Helper()
	if err := h.s.Enqueue(client, e); err != nil {
		h.t.Fatalf("Enqueue(%q, %d): %v", client, e.Seq, err)
	}
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

var base = time.Unix(1_700_000_000, 123_456_789)

// msg makes a message with every field set.
func msg(id uint64, topic string) *core.Message {
	return &core.Message{
		ID:              id,
		Topic:           topic,
		Payload:         []byte(fmt.Sprintf("payload-%d", id)),
		QoS:             core.QoS1,
		Retain:          id%2 == 0,
		From:            "publisher",
		Timestamp:       base.Add(time.Duration(id) * time.Second),
		PayloadFormat:   1,
		ExpiryInterval:  time.Hour,
		ContentType:     "text/plain",
		ResponseTopic:   "reply/" + topic,
		CorrelationData: []byte{1, 2, byte(id)},
		UserProperties:  []core.UserProperty{{Key: "k", Value: "v"}, {Key: "k", Value: "v2"}},
	}
}

func entry(seq uint64, m *core.Message, shared bool) *store.Entry {
	return &store.Entry{
		Seq:        seq,
		Msg:        m,
		QoS:        core.QoS1,
		Retain:     seq%3 == 0,
		SubIDs:     []uint32{uint32(seq), 7},
		Shared:     "",
		SharedBody: shared,
	}
}

// sameMessage compares every field (timestamps with Equal).
func sameMessage(t *testing.T, what string, got, want *core.Message) {
	t.Helper()
	if got == nil || want == nil {
		if got != want {
			t.Fatalf("%s: message %v, want %v", what, got, want)
		}
		return
	}
	g, w := *got, *want
	if !g.Timestamp.Equal(w.Timestamp) {
		t.Fatalf("%s: timestamp %v, want %v", what, g.Timestamp, w.Timestamp)
	}
	g.Timestamp, w.Timestamp = time.Time{}, time.Time{}
	if len(g.Payload) == 0 && len(w.Payload) == 0 {
		g.Payload, w.Payload = nil, nil
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: message\n got %+v\nwant %+v", what, g, w)
	}
}

// sameEntry compares a loaded entry with the one enqueued.
func sameEntry(t *testing.T, what string, got store.Entry, want *store.Entry) {
	t.Helper()
	sameMessage(t, what, got.Msg, want.Msg)
	g, w := got, *want
	g.Msg, w.Msg = nil, nil
	if len(g.SubIDs) == 0 && len(w.SubIDs) == 0 {
		g.SubIDs, w.SubIDs = nil, nil
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: entry\n got %+v\nwant %+v", what, g, w)
	}
}

func seqs(es []store.Entry) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

func session(r *store.Restored, id string) *store.RestoredSession {
	for i := range r.Sessions {
		if r.Sessions[i].Record.ClientID == id {
			return &r.Sessions[i]
		}
	}
	return nil
}

func testSessions(t *testing.T, h *harness) {
	disc := base.Add(time.Minute)
	h.s.PutSession(store.SessionRecord{ClientID: "a", Username: "u", Proto: "mqtt", Expiry: time.Hour})
	h.s.PutSession(store.SessionRecord{ClientID: "b", Proto: "mqtt-sn", Expiry: time.Minute, DisconnectedAt: disc})
	h.s.PutSession(store.SessionRecord{ClientID: "a", Username: "u2", Proto: "mqtt", Expiry: 2 * time.Hour})
	opts := core.SubOptions{QoS: core.QoS2, NoLocal: true, RetainAsPublished: true, RetainHandling: 2, SubscriptionID: 99}
	h.s.PutSubscription("a", store.Subscription{Filter: "x/#", Opts: opts})
	h.s.PutSubscription("a", store.Subscription{Filter: "$share/g/y/+", Opts: core.SubOptions{QoS: core.QoS1}})
	h.s.PutSubscription("a", store.Subscription{Filter: "gone", Opts: core.SubOptions{}})
	h.s.DeleteSubscription("a", "gone")
	h.s.PutSubscription("b", store.Subscription{Filter: "x/#", Opts: core.SubOptions{QoS: core.QoS1}})
	h.s.PutAwaitingRel("a", 1, base)
	h.s.PutAwaitingRel("a", 65535, base.Add(time.Second))
	h.s.PutAwaitingRel("a", 2, base)
	h.s.DeleteAwaitingRel("a", 2)
	h.flush()
	if n := h.s.Stats().Sessions; n != 2 {
		t.Fatalf("Stats().Sessions = %d before reopen, want 2", n)
	}

	r := h.restore()
	if len(r.Sessions) != 2 {
		t.Fatalf("restored %d sessions, want 2", len(r.Sessions))
	}
	a, b := session(r, "a"), session(r, "b")
	if a == nil || b == nil {
		t.Fatalf("restored sessions %+v, want a and b", r.Sessions)
	}
	if a.Record != (store.SessionRecord{ClientID: "a", Username: "u2", Proto: "mqtt", Expiry: 2 * time.Hour}) {
		t.Fatalf("a's record = %+v", a.Record)
	}
	if b.Record.Proto != "mqtt-sn" || b.Record.Expiry != time.Minute || !b.Record.DisconnectedAt.Equal(disc) {
		t.Fatalf("b's record = %+v", b.Record)
	}
	subs := a.Subscriptions
	sort.Slice(subs, func(i, j int) bool { return subs[i].Filter < subs[j].Filter })
	want := []store.Subscription{{Filter: "$share/g/y/+", Opts: core.SubOptions{QoS: core.QoS1}}, {Filter: "x/#", Opts: opts}}
	if !reflect.DeepEqual(subs, want) {
		t.Fatalf("a's subscriptions = %+v, want %+v", subs, want)
	}
	if len(b.Subscriptions) != 1 {
		t.Fatalf("b's subscriptions = %+v", b.Subscriptions)
	}
	if len(a.AwaitingRel) != 2 || !a.AwaitingRel[1].Equal(base) || !a.AwaitingRel[65535].Equal(base.Add(time.Second)) {
		t.Fatalf("a's awaiting rel = %v", a.AwaitingRel)
	}
	if len(b.AwaitingRel) != 0 || a.Queued != 0 || a.FirstSeq != 0 || a.LastSeq != 0 || len(a.Inflight) != 0 {
		t.Fatalf("unexpected state a=%+v b=%+v", a, b)
	}
	if n := h.s.Stats().Sessions; n != 2 {
		t.Fatalf("Stats().Sessions = %d after restore, want 2", n)
	}
}

func testDeleteSession(t *testing.T, h *harness) {
	for _, id := range []string{"a", "b"} {
		h.s.PutSession(store.SessionRecord{ClientID: id, Expiry: time.Hour})
		h.s.PutSubscription(id, store.Subscription{Filter: "t/#"})
		h.s.PutAwaitingRel(id, 5, base)
	}
	shared := msg(100, "t/shared")
	for seq := uint64(1); seq <= 4; seq++ {
		h.enqueue("a", entry(seq, msg(seq, "t/a"), false))
		h.enqueue("a", entry(seq+10, shared, true)) // the same body; one reference per entry
		h.enqueue("b", entry(seq, msg(seq, "t/b"), false))
	}
	h.enqueue("b", entry(20, shared, true))
	e := entry(30, msg(30, "t/a"), false)
	e.QoS = core.QoS2
	h.enqueue("a", e)
	e.PacketID = 9
	h.s.MarkSent("a", e)
	h.flush()
	before := h.s.Stats()
	if before.Bodies != 1 || before.Sessions != 2 {
		t.Fatalf("stats before delete = %+v, want 1 body, 2 sessions", before)
	}
	h.s.DeleteSession("a")
	h.flush()
	if got := h.load("a", 0, 100); len(got) != 0 {
		t.Fatalf("a's queue after DeleteSession = %v", seqs(got))
	}
	st := h.s.Stats()
	if st.Bodies != 1 || st.Sessions != 1 {
		t.Fatalf("stats after deleting a = %+v, want b's shared body kept and 1 session", st)
	}
	r := h.restore()
	if len(r.Sessions) != 1 || r.Sessions[0].Record.ClientID != "b" {
		t.Fatalf("restored %+v, want b only", r.Sessions)
	}
	b := r.Sessions[0]
	if b.Queued != 5 || len(b.Subscriptions) != 1 || len(b.AwaitingRel) != 1 {
		t.Fatalf("b restored as %+v", b)
	}
	h.s.DeleteSession("b")
	h.flush()
	if st := h.s.Stats(); st.Bodies != 0 || st.Sessions != 0 || st.QueuedBytes != 0 {
		t.Fatalf("stats after deleting both = %+v, want empty", st)
	}
	if r := h.restore(); len(r.Sessions) != 0 {
		t.Fatalf("restored %+v after deleting everything", r.Sessions)
	}
}

// testPrefixes uses client ids that are prefixes of one another.
func testPrefixes(t *testing.T, h *harness) {
	ids := []string{"a", "ab", "a\x00", "a\x01b", "", "\xff\xff"}
	for i, id := range ids {
		h.s.PutSession(store.SessionRecord{ClientID: id})
		h.s.PutSubscription(id, store.Subscription{Filter: "f" + id})
		for seq := uint64(1); seq <= uint64(i+1); seq++ {
			h.enqueue(id, entry(seq, msg(seq, "t"), false))
		}
	}
	h.s.DeleteSession("a")
	for i, id := range ids {
		got := h.load(id, 0, 100)
		want := i + 1
		if id == "a" {
			want = 0
		}
		if len(got) != want {
			t.Fatalf("client %q: %d entries, want %d", id, len(got), want)
		}
	}
	r := h.restore()
	if len(r.Sessions) != len(ids)-1 {
		t.Fatalf("restored %d sessions, want %d", len(r.Sessions), len(ids)-1)
	}
	for i, id := range ids[1:] {
		s := session(r, id)
		if s == nil || s.Queued != i+2 || len(s.Subscriptions) != 1 || s.Subscriptions[0].Filter != "f"+id {
			t.Fatalf("client %q restored as %+v", id, s)
		}
	}
}

func testEnqueueLoad(t *testing.T, h *harness) {
	h.s.PutSession(store.SessionRecord{ClientID: "c"})
	var want []*store.Entry
	for seq := uint64(1); seq <= 10; seq++ {
		e := entry(seq*2, msg(seq, "t/x"), false)
		if seq == 5 {
			e.Msg = &core.Message{ID: 5, Topic: "t/min"} // zero optional fields
			e.SubIDs = nil
			e.Shared = "$share/g/t/#"
			e.QoS = core.QoS0
		}
		want = append(want, e)
		h.enqueue("c", e)
	}
	got := h.load("c", 0, 100)
	if len(got) != len(want) {
		t.Fatalf("loaded %v, want 10 entries", seqs(got))
	}
	for i := range got {
		sameEntry(t, fmt.Sprintf("entry %d", i), got[i], want[i])
	}
	r := h.restore()
	c := session(r, "c")
	if c == nil || c.Queued != 10 || c.FirstSeq != 2 || c.LastSeq != 20 {
		t.Fatalf("restored %+v, want 10 queued from 2 to 20", c)
	}
	got = h.load("c", 0, 100)
	for i := range got {
		sameEntry(t, fmt.Sprintf("entry %d after reopen", i), got[i], want[i])
	}
}

func testPaging(t *testing.T, h *harness) {
	h.s.PutSession(store.SessionRecord{ClientID: "p"})
	for seq := uint64(1); seq <= 25; seq++ {
		h.enqueue("p", entry(seq, msg(seq, "t"), false))
	}
	var all []uint64
	after := uint64(0)
	var sizes []int
	for range 5 {
		page := h.load("p", after, 10)
		sizes = append(sizes, len(page))
		if len(page) == 0 {
			break
		}
		all = append(all, seqs(page)...)
		after = page[len(page)-1].Seq
	}
	if !reflect.DeepEqual(sizes, []int{10, 10, 5, 0}) {
		t.Fatalf("page sizes %v, want [10 10 5 0]", sizes)
	}
	for i, s := range all {
		if s != uint64(i+1) {
			t.Fatalf("seqs %v not 1..25 in order", all)
		}
	}
	if got := h.load("p", 12, 3); !reflect.DeepEqual(seqs(got), []uint64{13, 14, 15}) {
		t.Fatalf("load after 12 max 3 = %v", seqs(got))
	}
	if got := h.load("p", 25, 10); len(got) != 0 {
		t.Fatalf("load after the last = %v", seqs(got))
	}
	if got := h.load("p", 0, 0); len(got) != 0 {
		t.Fatalf("load max 0 = %v", seqs(got))
	}
}

func testTransitions(t *testing.T, h *harness) {
	h.s.PutSession(store.SessionRecord{ClientID: "q"})
	var es []*store.Entry
	for seq := uint64(1); seq <= 6; seq++ {
		e := entry(seq, msg(seq, "t/q"), false)
		e.QoS = core.QoS2
		es = append(es, e)
		h.enqueue("q", e)
	}
	es[1].PacketID = 7 // seq 2: sent, awaiting PUBREC
	h.s.MarkSent("q", es[1])
	es[2].PacketID = 8 // seq 3: PUBREC received
	h.s.MarkSent("q", es[2])
	h.s.MarkReleased("q", 3, 8, es[2].Msg.ID, false)
	h.s.Remove("q", 1, false, es[0].Msg.ID, false) // seq 1: acknowledged/dropped from the queue
	es[5].PacketID = 9                             // seq 6: sent, then completed
	h.s.MarkSent("q", es[5])
	h.s.MarkReleased("q", 6, 9, es[5].Msg.ID, false)
	h.s.Remove("q", 6, true, es[5].Msg.ID, false)

	r := h.restore()
	q := session(r, "q")
	if q == nil {
		t.Fatalf("session q not restored")
	}
	if q.Queued != 2 || q.FirstSeq != 4 || q.LastSeq != 5 {
		t.Fatalf("queued %d first %d last %d, want 2, 4, 5", q.Queued, q.FirstSeq, q.LastSeq)
	}
	if len(q.Inflight) != 2 {
		t.Fatalf("inflight %+v, want seqs 2 and 3", q.Inflight)
	}
	want2 := *es[1]
	want2.Phase = store.PhaseRec
	sameEntry(t, "inflight seq 2", q.Inflight[0], &want2)
	in3 := q.Inflight[1]
	if in3.Seq != 3 || in3.Phase != store.PhaseComp || in3.PacketID != 8 || in3.Msg != nil {
		t.Fatalf("inflight seq 3 = %+v, want PhaseComp pid 8 without body", in3)
	}
	if got := h.load("q", 0, 100); !reflect.DeepEqual(seqs(got), []uint64{4, 5}) {
		t.Fatalf("queue = %v, want [4 5]", seqs(got))
	}
	h.s.Remove("q", 2, true, es[1].Msg.ID, false)
	h.s.Remove("q", 3, true, es[2].Msg.ID, false)
	h.s.Remove("q", 4, false, es[3].Msg.ID, false)
	r = h.restore()
	q = session(r, "q")
	if len(q.Inflight) != 0 || q.Queued != 1 || q.FirstSeq != 5 || q.LastSeq != 5 {
		t.Fatalf("after removes: %+v", q)
	}
	// LastSeq covers an inflight entry past the queue.
	es[4].PacketID = 10
	h.s.MarkSent("q", es[4])
	h.enqueue("q", entry(7, msg(7, "t/q"), false))
	es7 := entry(7, msg(7, "t/q"), false)
	es7.QoS, es7.PacketID = core.QoS2, 11
	h.s.MarkSent("q", es7)
	r = h.restore()
	q = session(r, "q")
	if q.Queued != 0 || q.FirstSeq != 0 || q.LastSeq != 7 || len(q.Inflight) != 2 {
		t.Fatalf("inflight only: %+v, want 0 queued, LastSeq 7, 2 inflight", q)
	}
}

func testSharedBodies(t *testing.T, h *harness) {
	m := msg(42, "fan/out")
	clients := []string{"c1", "c2", "c3"}
	for _, c := range clients {
		h.s.PutSession(store.SessionRecord{ClientID: c})
		h.enqueue(c, entry(1, m, true))
	}
	h.flush()
	if st := h.s.Stats(); st.Bodies != 1 {
		t.Fatalf("Stats().Bodies = %d after fan-out to 3, want 1", st.Bodies)
	}
	h.s.Remove("c1", 1, false, m.ID, true)
	h.s.Remove("c2", 1, false, m.ID, true)
	h.flush()
	if st := h.s.Stats(); st.Bodies != 1 {
		t.Fatalf("Stats().Bodies = %d with one reference left, want 1", st.Bodies)
	}
	got := h.load("c3", 0, 10)
	if len(got) != 1 {
		t.Fatalf("c3's queue = %v", seqs(got))
	}
	sameEntry(t, "c3's entry", got[0], entry(1, m, true))
	r := h.restore()
	if c3 := session(r, "c3"); c3 == nil || c3.Queued != 1 {
		t.Fatalf("c3 restored as %+v", c3)
	}
	if st := h.s.Stats(); st.Bodies != 1 {
		t.Fatalf("Stats().Bodies = %d after restore, want 1", st.Bodies)
	}
	got = h.load("c3", 0, 10)
	if len(got) != 1 {
		t.Fatalf("c3's queue after reopen = %v", seqs(got))
	}
	sameEntry(t, "c3's entry after reopen", got[0], entry(1, m, true))
	h.s.Remove("c3", 1, false, m.ID, true)
	h.flush()
	if st := h.s.Stats(); st.Bodies != 0 || st.QueuedBytes != 0 {
		t.Fatalf("stats after the last reference = %+v, want no body and 0 bytes", st)
	}
	h.restore()
	if st := h.s.Stats(); st.Bodies != 0 || st.QueuedBytes != 0 {
		t.Fatalf("stats after reopen = %+v, want no body and 0 bytes", st)
	}
}

func testSharedInflight(t *testing.T, h *harness) {
	m := msg(7, "fan/q2")
	for _, c := range []string{"x", "y"} {
		h.s.PutSession(store.SessionRecord{ClientID: c})
		e := entry(1, m, true)
		e.QoS = core.QoS2
		h.enqueue(c, e)
		e.PacketID = 3
		h.s.MarkSent(c, e)
	}
	h.s.MarkReleased("x", 1, 3, m.ID, true)
	h.s.Remove("x", 1, true, m.ID, true) // already released: must not drop y's reference
	r := h.restore()
	y := session(r, "y")
	if y == nil || len(y.Inflight) != 1 || y.Inflight[0].Phase != store.PhaseRec {
		t.Fatalf("y restored as %+v", y)
	}
	sameMessage(t, "y's inflight body", y.Inflight[0].Msg, m)
	if st := h.s.Stats(); st.Bodies != 1 {
		t.Fatalf("Stats().Bodies = %d, want 1 (y's)", st.Bodies)
	}
	h.s.MarkReleased("y", 1, 3, m.ID, true)
	h.flush()
	if st := h.s.Stats(); st.Bodies != 0 {
		t.Fatalf("Stats().Bodies = %d after the last PUBREC, want 0", st.Bodies)
	}
	r = h.restore()
	if y := session(r, "y"); len(y.Inflight) != 1 || y.Inflight[0].Phase != store.PhaseComp || y.Inflight[0].Msg != nil {
		t.Fatalf("y restored as %+v, want one PhaseComp entry", y)
	}
}

func testRetained(t *testing.T, h *harness) {
	h.s.PutRetained(msg(1, "r/a"))
	h.s.PutRetained(msg(2, "r/b"))
	h.s.PutRetained(msg(3, "r/a")) // replaces
	h.s.PutRetained(msg(4, "r/c"))
	h.s.DeleteRetained("r/c")
	r := h.restore()
	got := r.Retained
	sort.Slice(got, func(i, j int) bool { return got[i].Topic < got[j].Topic })
	if len(got) != 2 {
		t.Fatalf("retained %d messages, want 2", len(got))
	}
	sameMessage(t, "r/a", got[0], msg(3, "r/a"))
	sameMessage(t, "r/b", got[1], msg(2, "r/b"))
}

func testDelayed(t *testing.T, h *harness) {
	for i, id := range []uint64{5, 6, 7} {
		h.s.PutDelayed(store.Delayed{Msg: msg(id, fmt.Sprintf("$delayed/%d/t", 10*(3-i))), Due: base.Add(time.Duration(3-i) * time.Minute)})
	}
	h.s.DeleteDelayed(base.Add(2*time.Minute), 6)
	r := h.restore()
	got := r.Delayed
	sort.Slice(got, func(i, j int) bool { return got[i].Due.Before(got[j].Due) })
	if len(got) != 2 {
		t.Fatalf("delayed %d, want 2", len(got))
	}
	if !got[0].Due.Equal(base.Add(time.Minute)) || !got[1].Due.Equal(base.Add(3*time.Minute)) {
		t.Fatalf("due times %v, %v", got[0].Due, got[1].Due)
	}
	sameMessage(t, "first due", got[0].Msg, msg(7, "$delayed/10/t"))
	sameMessage(t, "last due", got[1].Msg, msg(5, "$delayed/30/t"))
}

func testFull(t *testing.T, h *harness) {
	h.opts = store.Options{MaxDiskBytes: 4000}
	h.reopen()
	h.s.PutSession(store.SessionRecord{ClientID: "f"})
	big := func(seq uint64) *store.Entry {
		m := msg(seq, "t/full")
		m.Payload = make([]byte, 300)
		return entry(seq, m, false)
	}
	stored := 0
	var err error
	for seq := uint64(1); seq <= 100; seq++ {
		if err = h.s.Enqueue("f", big(seq)); err != nil {
			break
		}
		stored++
	}
	if !errors.Is(err, store.ErrFull) {
		t.Fatalf("Enqueue past MaxDiskBytes: %v, want ErrFull", err)
	}
	if stored < 5 || stored > 13 {
		t.Fatalf("stored %d entries of ~350 bytes under 4000 bytes", stored)
	}
	if st := h.s.Stats(); st.DroppedFull != 1 || st.QueuedBytes > 4000 {
		t.Fatalf("stats = %+v, want 1 dropped and at most 4000 bytes", st)
	}
	if got := h.load("f", 0, 1000); len(got) != stored {
		t.Fatalf("queue holds %d, want the %d accepted", len(got), stored)
	}
	for seq := uint64(1); seq <= uint64(stored); seq++ {
		h.s.Remove("f", seq, false, seq, false)
	}
	h.flush()
	if st := h.s.Stats(); st.QueuedBytes != 0 {
		t.Fatalf("QueuedBytes = %d after removing everything", st.QueuedBytes)
	}
	if err := h.s.Enqueue("f", big(1000)); err != nil {
		t.Fatalf("Enqueue after freeing space: %v", err)
	}
	// The accounting is rebuilt at start.
	h.restore()
	if st := h.s.Stats(); st.QueuedBytes <= 0 || st.QueuedBytes > 1000 {
		t.Fatalf("QueuedBytes after reopen = %d, want one entry's", st.QueuedBytes)
	}
}

type waker struct{ n atomic.Int32 }

func (w *waker) Wake() { w.n.Add(1) }

func testTickets(t *testing.T, h *harness) {
	if tk := h.s.Mark(); tk.Pressured() {
		t.Fatalf("a ticket with no write before it is pressured")
	}
	h.s.PutSession(store.SessionRecord{ClientID: "t"})
	for seq := uint64(1); seq <= 50; seq++ {
		h.enqueue("t", entry(seq, msg(seq, "t"), false))
	}
	tk := h.s.Mark()
	w := &waker{}
	tk.WhenDrained(w)
	eventually(t, 5*time.Second, "the ticket to drain", func() bool { return !tk.Pressured() })
	eventually(t, 5*time.Second, "the waker", func() bool { return w.n.Load() == 1 })
	h.flush()
	w2 := &waker{}
	tk.WhenDrained(w2) // already drained: at once
	if w2.n.Load() != 1 || w.n.Load() != 1 {
		t.Fatalf("wakes %d and %d, want 1 each", w.n.Load(), w2.n.Load())
	}
	h.s.PutRetained(msg(1, "x"))
	h.flush()
	if tk := h.s.Mark(); tk.Pressured() {
		t.Fatalf("ticket pressured after Flush")
	}
}

func testCloseSurvives(t *testing.T, h *harness) {
	h.s.PutSession(store.SessionRecord{ClientID: "s"})
	for seq := uint64(1); seq <= 500; seq++ {
		h.enqueue("s", entry(seq, msg(seq, "t/s"), seq%2 == 0))
	}
	h.s.PutRetained(msg(1, "keep"))
	r := h.restore() // Close without Flush
	if s := session(r, "s"); s == nil || s.Queued != 500 || s.LastSeq != 500 {
		t.Fatalf("restored %+v, want 500 queued", s)
	}
	if len(r.Retained) != 1 {
		t.Fatalf("retained %d, want 1", len(r.Retained))
	}
	got := h.load("s", 0, 1000)
	if len(got) != 500 {
		t.Fatalf("loaded %d, want 500", len(got))
	}
	sameEntry(t, "entry 500", got[499], entry(500, msg(500, "t/s"), true))
}

func testClosed(t *testing.T, h *harness) {
	if err := h.s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := h.s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := h.s.Enqueue("c", entry(1, msg(1, "t"), false)); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Enqueue after Close: %v, want ErrClosed", err)
	}
	if err := h.s.Flush(); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Flush after Close: %v, want ErrClosed", err)
	}
	if _, err := h.s.Restore(); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Restore after Close: %v, want ErrClosed", err)
	}
	c := make(chan error, 1)
	h.s.LoadQueue("c", 0, 10, func(_ []store.Entry, err error) { c <- err })
	select {
	case err := <-c:
		if !errors.Is(err, store.ErrClosed) {
			t.Fatalf("LoadQueue after Close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("LoadQueue after Close never called done")
	}
	h.s.PutSession(store.SessionRecord{ClientID: "late"}) // dropped, no panic
	if tk := h.s.Mark(); !tk.Pressured() {
		t.Fatalf("a ticket after Close drains: its writes were not stored")
	}
}

func testOrphans(t *testing.T, h *harness) {
	m := msg(9, "t")
	h.s.PutSession(store.SessionRecord{ClientID: "kept"})
	h.enqueue("kept", entry(1, m, true))
	h.enqueue("ghost", entry(1, m, true)) // no session record
	h.enqueue("ghost", entry(2, msg(10, "t"), false))
	h.s.PutSubscription("ghost", store.Subscription{Filter: "x"})
	r := h.restore()
	if len(r.Sessions) != 1 || r.Sessions[0].Record.ClientID != "kept" {
		t.Fatalf("restored %+v, want kept only", r.Sessions)
	}
	h.s.Remove("kept", 1, false, m.ID, true)
	h.flush()
	if st := h.s.Stats(); st.Bodies != 0 || st.QueuedBytes != 0 {
		t.Fatalf("stats %+v: the ghost's entries still hold space", st)
	}
}

func testLoadSeesWrites(t *testing.T, h *harness) {
	h.s.PutSession(store.SessionRecord{ClientID: "l"})
	for seq := uint64(1); seq <= 300; seq++ {
		h.enqueue("l", entry(seq, msg(seq, "t"), seq%5 == 0))
		if seq%100 == 0 {
			if got := h.load("l", 0, 1000); len(got) != int(seq) {
				t.Fatalf("after %d enqueues LoadQueue sees %d", seq, len(got))
			}
		}
	}
	h.s.Remove("l", 300, false, 300, true)
	if got := h.load("l", 0, 1000); len(got) != 299 {
		t.Fatalf("after a Remove LoadQueue sees %d, want 299", len(got))
	}
}

// testConcurrent runs sessions on their own goroutines, as the broker does,
// sharing bodies between them; everything adds up at the end.
func testConcurrent(t *testing.T, h *harness) {
	const clients, each = 4, 300
	var wg sync.WaitGroup
	for c := range clients {
		id := fmt.Sprintf("c%d", c)
		h.s.PutSession(store.SessionRecord{ClientID: id})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := uint64(1); seq <= each; seq++ {
				shared := seq%3 == 0
				m := msg(seq, "t") // the same id for every client: a fan-out when shared
				if !shared {
					m = msg(seq+uint64(c+1)*1_000_000, "t")
				}
				if err := h.s.Enqueue(id, entry(seq, m, shared)); err != nil {
					t.Error(err)
					return
				}
				if seq%50 == 0 {
					tk := h.s.Mark()
					w := &waker{}
					tk.WhenDrained(w)
				}
			}
			after := uint64(0)
			for {
				c := make(chan []store.Entry, 1)
				h.s.LoadQueue(id, after, 64, func(e []store.Entry, err error) {
					if err != nil {
						t.Error(err)
					}
					c <- e
				})
				page := <-c
				if len(page) == 0 {
					break
				}
				for _, e := range page {
					if e.Msg == nil {
						t.Errorf("%s seq %d: no body", id, e.Seq)
						return
					}
					h.s.Remove(id, e.Seq, false, e.Msg.ID, e.SharedBody)
				}
				after = page[len(page)-1].Seq
			}
		}()
	}
	wg.Wait()
	h.flush()
	if st := h.s.Stats(); st.Bodies != 0 || st.QueuedBytes != 0 || st.Sessions != clients {
		t.Fatalf("stats after every queue was replayed: %+v", st)
	}
	r := h.restore()
	for _, rs := range r.Sessions {
		if rs.Queued != 0 {
			t.Fatalf("%s still holds %d", rs.Record.ClientID, rs.Queued)
		}
	}
}

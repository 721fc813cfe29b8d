package retain

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/core"
)

// base is the broker time every test message is stamped with.
var base = time.Unix(1_700_000_000, 0)

// msg returns a retained message on topic t with payload p, stamped base.
func msg(t, p string) *core.Message {
	var payload []byte
	if p != "" {
		payload = []byte(p)
	}
	return &core.Message{Topic: t, Payload: payload, Retain: true, Timestamp: base}
}

// expiring returns msg(t, p) with an expiry interval, stamped base+at.
func expiring(t, p string, at, interval time.Duration) *core.Message {
	m := msg(t, p)
	m.Timestamp = base.Add(at)
	m.ExpiryInterval = interval
	return m
}

// mustSet sets m and fails the test on error.
func mustSet(t testing.TB, s *Store, m *core.Message) {
	t.Helper()
	if err := s.Set(m); err != nil {
		t.Fatalf("Set(%q): %v", m.Topic, err)
	}
}

// matched returns the sorted topics Match yields for filter at now.
func matched(s *Store, filter string, now time.Time) []string {
	var got []string
	s.Match(filter, now, func(m *core.Message) bool {
		got = append(got, m.Topic)
		return true
	})
	slices.Sort(got)
	return got
}

// stored returns the sorted topics Walk yields.
func stored(s *Store) []string {
	var got []string
	s.Walk(func(m *core.Message) bool {
		got = append(got, m.Topic)
		return true
	})
	slices.Sort(got)
	return got
}

// checkInvariants verifies the trie, the counters and the expiry heap agree:
// no empty node survives, every node sits under its topic, every node whose
// message can expire is in the heap at its position, and the heap is ordered.
func checkInvariants(t testing.TB, s *Store) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var nodes, msgs, expiring int
	var visit func(n *node, path string)
	visit = func(n *node, path string) {
		var kids []*node
		for _, k := range n.kids {
			if k.key != levelKey(k.n.level) {
				t.Errorf("%q: stale key for child %q", path, k.n.level)
			}
			kids = append(kids, k.n)
		}
		if n.lits != nil {
			if n.kids != nil {
				t.Errorf("%q: both kids and lits", path)
			}
			if len(n.lits) <= mapShrink {
				t.Errorf("%q: wide node with %d children", path, len(n.lits))
			}
			kids = nil
			for l, k := range n.lits {
				if l != k.level {
					t.Errorf("%q: lits key %q holds level %q", path, l, k.level)
				}
				kids = append(kids, k)
			}
		} else if len(n.kids) > smallKids {
			t.Errorf("%q: %d children in the slice", path, len(n.kids))
		}
		for _, k := range kids {
			p := k.level
			if n != &s.root {
				p = path + "/" + k.level
			}
			nodes++
			if k.empty() {
				t.Errorf("%q: empty node left in the trie", p)
			}
			if k.msg != nil {
				msgs++
				if k.msg.Topic != p {
					t.Errorf("message %q stored at %q", k.msg.Topic, p)
				}
			}
			wantHeap := k.msg != nil && k.msg.ExpiryInterval > 0
			if wantHeap {
				expiring++
			}
			switch {
			case wantHeap != (k.hidx > 0):
				t.Errorf("%q: hidx %d, expiring %v", p, k.hidx, wantHeap)
			case k.hidx > 0 && (k.hidx > len(s.expiry) || s.expiry[k.hidx-1].n != k):
				t.Errorf("%q: hidx %d does not point back", p, k.hidx)
			case k.hidx > 0 && !s.expiry[k.hidx-1].at.Equal(k.msg.Timestamp.Add(k.msg.ExpiryInterval)):
				t.Errorf("%q: heap deadline %v is stale", p, s.expiry[k.hidx-1].at)
			}
			visit(k, p)
		}
	}
	if s.root.msg != nil || s.root.hidx != 0 {
		t.Errorf("root holds a message")
	}
	visit(&s.root, "")
	if nodes != s.nodes {
		t.Errorf("nodes: counted %d, Store.nodes %d", nodes, s.nodes)
	}
	if msgs != s.Len() {
		t.Errorf("messages: counted %d, Len %d", msgs, s.Len())
	}
	if expiring != len(s.expiry) {
		t.Errorf("expiring: counted %d, heap %d", expiring, len(s.expiry))
	}
	for i := 1; i < len(s.expiry); i++ {
		if s.expiry.less(i, (i-1)/2) {
			t.Errorf("heap order broken at %d", i)
		}
	}
}

// join renders a topic list for error messages.
func join(ts []string) string { return "[" + strings.Join(ts, " ") + "]" }

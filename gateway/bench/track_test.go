package bench

import "testing"

func TestTracker(t *testing.T) {
	type msg struct {
		pub uint32
		seq uint64
	}
	cases := []struct {
		name                   string
		msgs                   []msg
		unique, dup, ooo, gaps uint64
	}{
		{"in order", []msg{{0, 0}, {0, 1}, {0, 2}}, 3, 0, 0, 0},
		{"duplicate", []msg{{0, 0}, {0, 1}, {0, 1}}, 2, 1, 0, 0},
		{"reordered", []msg{{0, 0}, {0, 2}, {0, 1}}, 3, 0, 1, 0},
		{"gap", []msg{{0, 0}, {0, 3}}, 2, 0, 0, 2},
		{"publishers are separate", []msg{{0, 5}, {1, 0}, {0, 7}, {1, 1}}, 4, 0, 0, 1},
		{"a late subscriber misses nothing", []msg{{0, 1000}, {0, 1001}}, 2, 0, 0, 0},
		{"redelivered old message", []msg{{0, 0}, {0, 1}, {0, 2}, {0, 0}}, 3, 1, 1, 0},
		{"across bitset words", []msg{{2, 63}, {2, 64}, {2, 200}, {2, 64}}, 3, 1, 1, 135},
		{"absurd sequence is not tracked", []msg{{0, 0}, {0, 1 << 40}}, 1, 0, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tr Tracker
			for _, m := range tc.msgs {
				tr.Observe(m.pub, m.seq)
			}
			if tr.Unique != tc.unique || tr.Dup != tc.dup || tr.OutOfOrder != tc.ooo || tr.Gaps() != tc.gaps {
				t.Errorf("unique %d dup %d ooo %d gaps %d; want %d %d %d %d",
					tr.Unique, tr.Dup, tr.OutOfOrder, tr.Gaps(), tc.unique, tc.dup, tc.ooo, tc.gaps)
			}
		})
	}
}

func TestExpectedDeliveries(t *testing.T) {
	pub := func(topic string, sent uint64) *publisher {
		p := &publisher{topic: topic}
		p.sent.Store(sent)
		return p
	}
	sub := func(f string) *subscriber { return &subscriber{filter: f} }
	cfg := &Config{Mode: ModePubSub}
	pubs := []*publisher{pub("bench/0", 100), pub("bench/1", 50), pub("other/2", 7)}
	cases := []struct {
		name string
		subs []*subscriber
		want uint64
	}{
		{"one wildcard subscriber", []*subscriber{sub("bench/+")}, 150},
		{"every topic", []*subscriber{sub("#")}, 157},
		{"two subscribers each get a copy", []*subscriber{sub("#"), sub("bench/0")}, 257},
		{"a shared group gets one copy", []*subscriber{sub("$share/g/#"), sub("$share/g/#"), sub("$share/h/bench/1")}, 207},
		{"nothing matches", []*subscriber{sub("none")}, 0},
	}
	for _, tc := range cases {
		var got uint64
		for i, n := range deliveriesPerMessage(cfg, pubs, tc.subs) {
			got += n * pubs[i].sent.Load()
		}
		if got != tc.want {
			t.Errorf("%s: expected %d, want %d", tc.name, got, tc.want)
		}
	}
}

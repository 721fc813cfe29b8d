package retain

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/topic"
)

// brute is what Match must yield: every stored topic the reference
// topic.Match accepts, sorted.
func brute(topics []string, filter string) []string {
	var want []string
	if topic.ValidFilter(filter, 0) != nil {
		return nil
	}
	for _, tp := range topics {
		if topic.Match(filter, tp) {
			want = append(want, tp)
		}
	}
	slices.Sort(want)
	return want
}

func TestMatch(t *testing.T) {
	topics := []string{
		"a", "a/b", "a/b/c", "a/c", "b", "a//b", "a/", "/a", "/", "//",
		"$SYS", "$SYS/x", "$SYS/x/y", "$", "x/$y",
	}
	s := New(DefaultConfig())
	for _, tp := range topics {
		mustSet(t, s, msg(tp, "x"))
	}
	cases := []struct {
		name, filter string
		want         []string
	}{
		{"exact", "a/b", []string{"a/b"}},
		{"exact single level", "a", []string{"a"}},
		{"exact missing", "a/x", nil},
		{"exact deeper than stored", "a/b/c/d", nil},
		{"exact intermediate without message", "x", nil},
		{"plus last", "a/+", []string{"a/", "a/b", "a/c"}},
		{"plus middle", "a/+/c", []string{"a/b/c"}},
		{"plus matches an empty level", "a/+/b", []string{"a//b"}},
		{"plus first level", "+/b", []string{"a/b"}},
		{"plus matches a leading empty level", "+/a", []string{"/a"}},
		{"plus plus", "+/+", []string{"/", "/a", "a/", "a/b", "a/c", "x/$y"}},
		{"lone plus skips dollar", "+", []string{"a", "b"}},
		{"hash", "a/b/#", []string{"a/b", "a/b/c"}},
		{"hash yields the parent level", "a/#", []string{"a", "a/", "a//b", "a/b", "a/b/c", "a/c"}},
		{"plus then hash yields the parent level", "a/+/#", []string{"a/", "a//b", "a/b", "a/b/c", "a/c"}},
		{"hash under a missing level", "q/#", nil},
		{"lone hash skips dollar", "#", []string{"/", "//", "/a", "a", "a/", "a//b", "a/b", "a/b/c", "a/c", "b", "x/$y"}},
		{"hash under an empty first level", "/#", []string{"/", "//", "/a"}},
		{"empty level literal", "a//b", []string{"a//b"}},
		{"trailing empty level", "a/", []string{"a/"}},
		{"only separators", "//", []string{"//"}},
		{"dollar hash", "$SYS/#", []string{"$SYS", "$SYS/x", "$SYS/x/y"}},
		{"dollar plus", "$SYS/+", []string{"$SYS/x"}},
		{"dollar exact", "$", []string{"$"}},
		{"first-level plus skips dollar", "+/x", nil},
		{"first-level plus plus skips dollar", "+/+/y", nil},
		{"dollar only matters at the first level", "x/+", []string{"x/$y"}},
		{"invalid: hash not last", "a/#/b", nil},
		{"invalid: plus inside a level", "a+/b", nil},
		{"invalid: empty filter", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := matched(s, tc.filter, base)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Match(%q) = %s, want %s", tc.filter, join(got), join(tc.want))
			}
			if want := brute(topics, tc.filter); !slices.Equal(tc.want, want) {
				t.Errorf("table disagrees with topic.Match for %q: %s", tc.filter, join(want))
			}
		})
	}
}

// TestMatchProperty compares Match with topic.Match over every stored topic,
// for random stores (wide and narrow nodes, empty and $ levels) and random
// filters, before and after deleting part of the store.
func TestMatchProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	levels := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "", "$s", "$",
		"longlevel1", "longlevel2", "longlevel", "longleve"} // equal 7-byte prefixes

	randLevel := func(narrow bool) string {
		if narrow {
			return levels[r.IntN(3)]
		}
		return levels[r.IntN(len(levels))]
	}
	for round := range 20 {
		narrow := round%2 == 0 // narrow stores have few children per node
		s := New(DefaultConfig())
		var topics []string
		seen := map[string]bool{}
		for range 400 {
			parts := make([]string, 1+r.IntN(5))
			for i := range parts {
				parts[i] = randLevel(narrow)
			}
			tp := strings.Join(parts, "/")
			if tp == "" {
				continue // not a topic name [MQTT-4.7.3-1]
			}
			mustSet(t, s, msg(tp, "x"))
			if !seen[tp] {
				seen[tp] = true
				topics = append(topics, tp)
			}
		}
		var filters []string
		for range 300 {
			parts := make([]string, 1+r.IntN(6))
			for i := range parts {
				switch x := r.IntN(10); {
				case x < 3:
					parts[i] = "+"
				case x == 3 && i == len(parts)-1:
					parts[i] = "#"
				default:
					parts[i] = randLevel(narrow)
				}
			}
			filters = append(filters, strings.Join(parts, "/"))
		}
		filters = append(filters, "#", "+", "+/#", "$s/#", "$/#", "/#", "+/+/+")
		check := func(stage string) {
			for _, f := range filters {
				got, want := matched(s, f, base), brute(topics, f)
				if !slices.Equal(got, want) {
					t.Fatalf("round %d %s: Match(%q) = %s, want %s", round, stage, f, join(got), join(want))
				}
			}
		}
		check("full")
		r.Shuffle(len(topics), func(i, j int) { topics[i], topics[j] = topics[j], topics[i] })
		for _, tp := range topics[:len(topics)/2] {
			if !s.Delete(tp) {
				t.Fatalf("Delete(%q) = false", tp)
			}
		}
		topics = topics[len(topics)/2:]
		check("after deletes")
		checkInvariants(t, s)
	}
}

func TestMatchStops(t *testing.T) {
	s := New(DefaultConfig())
	for _, tp := range []string{"a/1", "a/2", "a/3", "a/4", "a/5/x", "a/6/x", "a", "b/c"} {
		mustSet(t, s, msg(tp, "x"))
	}
	cases := []struct {
		name, filter string
		stopAt       int
	}{
		{"hash", "#", 3},
		{"hash parent", "a/#", 1},
		{"hash subtree", "a/#", 6},
		{"plus", "a/+", 2},
		{"plus inner", "a/+/x", 1},
		{"exact", "b/c", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			s.Match(tc.filter, base, func(*core.Message) bool {
				n++
				return n < tc.stopAt
			})
			if n != tc.stopAt {
				t.Errorf("fn called %d times, want %d", n, tc.stopAt)
			}
		})
	}
}

// TestMatchLiteralAllocs checks that an exact-filter Match allocates nothing.
func TestMatchLiteralAllocs(t *testing.T) {
	s := New(DefaultConfig())
	for _, tp := range []string{"sensors/1/temp", "sensors/2/temp", "sensors/1/hum"} {
		mustSet(t, s, msg(tp, "x"))
	}
	n := 0
	fn := func(*core.Message) bool { n++; return true }
	for _, f := range []string{"sensors/1/temp", "sensors/+/temp", "sensors/#"} {
		if a := testing.AllocsPerRun(100, func() { s.Match(f, base, fn) }); a != 0 {
			t.Errorf("Match(%q) allocates %.0f times", f, a)
		}
	}
}

func TestExpiry(t *testing.T) {
	type entry struct {
		topic    string
		at       time.Duration // Timestamp offset from base
		interval time.Duration // 0: never expires
	}
	msgs := []entry{
		{"never", 0, 0},
		{"short", 0, 10 * time.Second},
		{"long", 0, time.Hour},
		{"late/short", 30 * time.Second, 10 * time.Second},
	}
	cases := []struct {
		name string
		now  time.Duration
		want []string // alive (matched by "#", left after Expire)
	}{
		{"before any deadline", 5 * time.Second, []string{"late/short", "long", "never", "short"}},
		{"just before the deadline", 10*time.Second - 1, []string{"late/short", "long", "never", "short"}},
		{"at the deadline", 10 * time.Second, []string{"late/short", "long", "never"}},
		{"between", 39 * time.Second, []string{"late/short", "long", "never"}},
		{"later message expired", 40 * time.Second, []string{"long", "never"}},
		{"everything expiring expired", 2 * time.Hour, []string{"never"}},
	}
	fill := func(t *testing.T) *Store {
		s := New(DefaultConfig())
		for _, m := range msgs {
			if m.interval == 0 {
				mm := msg(m.topic, "x")
				mm.Timestamp = base.Add(m.at)
				mustSet(t, s, mm)
			} else {
				mustSet(t, s, expiring(m.topic, "x", m.at, m.interval))
			}
		}
		return s
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := base.Add(tc.now)
			t.Run("Match skips and deletes", func(t *testing.T) {
				s := fill(t)
				if got := matched(s, "#", now); !slices.Equal(got, tc.want) {
					t.Errorf("Match = %v, want %v", got, tc.want)
				}
				if got := stored(s); !slices.Equal(got, tc.want) {
					t.Errorf("after Match, stored %v, want %v (lazy deletion)", got, tc.want)
				}
				checkInvariants(t, s)
			})
			t.Run("Expire removes", func(t *testing.T) {
				s := fill(t)
				if n := s.Expire(now); n != len(msgs)-len(tc.want) {
					t.Errorf("Expire = %d, want %d", n, len(msgs)-len(tc.want))
				}
				if got := stored(s); !slices.Equal(got, tc.want) {
					t.Errorf("after Expire, stored %v, want %v", got, tc.want)
				}
				if n := s.Expire(now); n != 0 {
					t.Errorf("second Expire = %d", n)
				}
				checkInvariants(t, s)
			})
			t.Run("exact Match of an expired topic", func(t *testing.T) {
				s := fill(t)
				for _, m := range msgs {
					alive := slices.Contains(tc.want, m.topic)
					if got := matched(s, m.topic, now); (len(got) == 1) != alive {
						t.Errorf("Match(%q) = %v, alive %v", m.topic, got, alive)
					}
					if (s.Get(m.topic) != nil) != alive {
						t.Errorf("Get(%q) after Match: alive %v", m.topic, alive)
					}
				}
			})
		})
	}
}

func TestExpiryReplace(t *testing.T) {
	deadline := base.Add(10 * time.Second)
	cases := []struct {
		name      string
		first     *core.Message
		second    *core.Message
		wantAlive bool // at the first message's deadline
	}{
		{"expiring replaced by never-expiring", expiring("a", "1", 0, 10*time.Second), msg("a", "2"), true},
		{"never-expiring replaced by expiring", msg("a", "1"), expiring("a", "2", 0, 10*time.Second), false},
		{"deadline pushed later", expiring("a", "1", 0, 10*time.Second), expiring("a", "2", 0, time.Minute), true},
		{"deadline brought earlier", expiring("a", "1", 0, time.Minute), expiring("a", "2", 0, 10*time.Second), false},
		{"republished later", expiring("a", "1", 0, 10*time.Second), expiring("a", "2", 5*time.Second, 10*time.Second), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New(DefaultConfig())
			mustSet(t, s, expiring("other", "x", 0, 10*time.Second)) // a second heap entry
			mustSet(t, s, expiring("other2", "x", 0, time.Hour))
			mustSet(t, s, tc.first)
			mustSet(t, s, tc.second)
			checkInvariants(t, s)
			s.Expire(deadline)
			if got := s.Get("a"); (got == tc.second) != tc.wantAlive || (got != nil && got != tc.second) {
				t.Errorf("Get(a) = %v, want alive %v", got, tc.wantAlive)
			}
			checkInvariants(t, s)
		})
	}
}

func TestExpireBatch(t *testing.T) {
	s := New(DefaultConfig())
	total := ExpireBatch + 5
	for i := range total {
		mustSet(t, s, expiring("e/"+strconv.Itoa(i%100)+"/"+strconv.Itoa(i), "x", 0, time.Second))
	}
	now := base.Add(time.Second)
	if n := s.Expire(now); n != ExpireBatch {
		t.Fatalf("first Expire = %d, want %d", n, ExpireBatch)
	}
	if n := s.Expire(now); n != 5 {
		t.Fatalf("second Expire = %d, want 5", n)
	}
	if s.Len() != 0 || s.nodes != 0 {
		t.Fatalf("Len %d, nodes %d after expiring everything", s.Len(), s.nodes)
	}
}

// TestLazyDeletionKeepsReplacement checks that Match's deferred deletion of
// an expired message does not remove a replacement Set in between.
func TestLazyDeletionKeepsReplacement(t *testing.T) {
	s := New(DefaultConfig())
	old := expiring("a", "1", 0, time.Second)
	mustSet(t, s, old)
	fresh := msg("a", "2")
	mustSet(t, s, fresh)
	s.mu.Lock()
	got := s.remove(&s.root, "a", old) // what Match does after its walk
	s.mu.Unlock()
	if got != nil || s.Get("a") != fresh {
		t.Fatalf("deferred deletion removed the replacement")
	}
}

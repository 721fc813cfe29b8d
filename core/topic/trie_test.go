package topic

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sub is one subscription in a test's model of the trie.
type sub struct {
	filter, group string
	v             int
}

// canon renders a Result canonically: sorted subscriptions, then shared
// groups sorted by (name, filter) with sorted members.
func canon(r *Result[int]) string {
	subs := slices.Clone(r.Subs)
	slices.Sort(subs)
	var groups []string
	for _, g := range r.Shared {
		m := slices.Clone(g.Members)
		slices.Sort(m)
		groups = append(groups, fmt.Sprintf("%s|%s:%v", g.Name, g.Filter, m))
	}
	sort.Strings(groups)
	return fmt.Sprintf("subs=%v shared=%v", subs, groups)
}

// brute computes what Match must return by testing every subscription with
// the reference Match(filter, name).
func brute(set map[sub]bool, topic string) string {
	r := &Result[int]{}
	groups := map[[2]string]int{}
	for s := range set {
		if !Match(s.filter, topic) {
			continue
		}
		if s.group == "" {
			r.Subs = append(r.Subs, s.v)
			continue
		}
		k := [2]string{s.group, s.filter}
		i, ok := groups[k]
		if !ok {
			i = len(r.Shared)
			groups[k] = i
			r.Shared = append(r.Shared, Group[int]{Name: s.group, Filter: s.filter})
		}
		r.Shared[i].Members = append(r.Shared[i].Members, s.v)
	}
	return canon(r)
}

func subsOf(r *Result[int]) []int {
	s := slices.Clone(r.Subs)
	slices.Sort(s)
	return s
}

func TestTrieMatch(t *testing.T) {
	type check struct {
		topic string
		want  []int
	}
	cases := []struct {
		name   string
		subs   []sub
		checks []check
	}{
		{"exact",
			[]sub{{"a/b/c", "", 1}, {"a/b", "", 2}},
			[]check{{"a/b/c", []int{1}}, {"a/b", []int{2}}, {"a", nil}, {"a/b/c/d", nil}, {"a/b/x", nil}}},
		{"plus",
			[]sub{{"a/+/c", "", 1}, {"+", "", 2}, {"a/+", "", 3}, {"+/+", "", 4}},
			[]check{{"a/b/c", []int{1}}, {"a/x/c", []int{1}}, {"a", []int{2}}, {"a/b", []int{3, 4}}, {"a/b/d", nil}, {"x/y", []int{4}}}},
		{"hash",
			[]sub{{"#", "", 1}, {"a/#", "", 2}, {"a/b/#", "", 3}},
			[]check{{"a", []int{1, 2}}, {"a/b", []int{1, 2, 3}}, {"a/b/c/d", []int{1, 2, 3}}, {"b", []int{1}}, {"ab", []int{1}}}},
		{"hash matches parent level",
			[]sub{{"a/#", "", 1}, {"a/+/#", "", 2}, {"+/#", "", 3}},
			[]check{{"a", []int{1, 3}}, {"a/b", []int{1, 2, 3}}, {"b", []int{3}}, {"a/b/c", []int{1, 2, 3}}}},
		{"plus then hash",
			[]sub{{"+/b/#", "", 1}, {"+/+/+", "", 2}},
			[]check{{"a/b", []int{1}}, {"a/b/c", []int{1, 2}}, {"a/c/d", []int{2}}, {"a", nil}}},
		{"dollar topics",
			[]sub{{"#", "", 1}, {"+/info", "", 2}, {"$SYS/#", "", 3}, {"$SYS/+", "", 4}, {"$SYS/info", "", 5}, {"+/#", "", 6}, {"$SYS", "", 7}},
			[]check{{"$SYS/info", []int{3, 4, 5}}, {"$SYS", []int{3, 7}}, {"$SYS/a/b", []int{3}}, {"x/info", []int{1, 2, 6}}, {"$other", nil}}},
		{"dollar only first level",
			[]sub{{"a/+", "", 1}, {"a/#", "", 2}},
			[]check{{"a/$x", []int{1, 2}}}},
		{"empty levels",
			[]sub{{"a//b", "", 1}, {"a/+/b", "", 2}, {"a//+", "", 3}, {"a/+", "", 4}, {"a//#", "", 5}},
			[]check{{"a//b", []int{1, 2, 3, 5}}, {"a/", []int{4, 5}}, {"a//", []int{3, 5}}, {"a/x/b", []int{2}}}},
		{"leading slash",
			[]sub{{"/a", "", 1}, {"+/a", "", 2}, {"/+", "", 3}, {"+", "", 4}, {"#", "", 5}, {"/#", "", 6}},
			[]check{{"/a", []int{1, 2, 3, 5, 6}}, {"a", []int{4, 5}}, {"/", []int{3, 5, 6}}, {"//a", []int{5, 6}}}},
		{"trailing slash",
			[]sub{{"a/", "", 1}, {"a/+", "", 2}, {"a", "", 3}},
			[]check{{"a/", []int{1, 2}}, {"a", []int{3}}}},
		{"many values per filter",
			[]sub{{"a/b", "", 1}, {"a/b", "", 2}, {"a/b", "", 3}, {"a/c", "", 4}},
			[]check{{"a/b", []int{1, 2, 3}}, {"a/c", []int{4}}}},
		{"overlapping filters one entry per subscription",
			[]sub{{"a/b", "", 1}, {"a/+", "", 1}, {"a/#", "", 1}, {"#", "", 2}, {"a/+", "", 2}},
			[]check{{"a/b", []int{1, 1, 1, 2, 2}}, {"a", []int{1, 2}}, {"a/c", []int{1, 1, 2, 2}}}},
		{"wide node",
			wideSubs(100),
			[]check{{"w/0", []int{0, 1000}}, {"w/57", []int{57, 1000}}, {"w/99", []int{99, 1000}}, {"w/100", []int{1000}}, {"w", []int{1000}}}},
	}
	for _, cache := range []int{-1, 0} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/cache=%d", tc.name, cache), func(t *testing.T) {
				tr := NewTrie[int](Config{CacheSize: cache})
				for _, s := range tc.subs {
					if !tr.Insert(s.filter, s.group, s.v) {
						t.Fatalf("Insert(%q, %d) = false", s.filter, s.v)
					}
				}
				for pass := range 2 { // the second pass is served by the cache
					for _, c := range tc.checks {
						if got := subsOf(tr.Match(c.topic)); !slices.Equal(got, c.want) {
							t.Errorf("pass %d: Match(%q) = %v, want %v", pass, c.topic, got, c.want)
						}
					}
				}
			})
		}
	}
}

// wideSubs subscribes w/<i> for i < n (past smallKids: a map-mode node) and
// w/# as value 1000.
func wideSubs(n int) []sub {
	s := []sub{{"w/#", "", 1000}}
	for i := range n {
		s = append(s, sub{fmt.Sprintf("w/%d", i), "", i})
	}
	return s
}

func TestTrieSharedGroups(t *testing.T) {
	tr := NewTrie[int](DefaultConfig())
	for _, s := range []sub{
		{"a/+", "g1", 1}, {"a/+", "g1", 2}, // one group
		{"a/#", "g1", 3}, // same name, other filter: another group
		{"a/+", "g2", 4}, // other name, same filter: another group
		{"a/b", "", 5},   // ordinary
		{"a/+", "", 1},   // ordinary, same value as a member
		{"a/b", QueueGroup, 6},
	} {
		if !tr.Insert(s.filter, s.group, s.v) {
			t.Fatalf("Insert(%+v) = false", s)
		}
	}
	want := "subs=[1 5] shared=[$queue|a/b:[6] g1|a/#:[3] g1|a/+:[1 2] g2|a/+:[4]]"
	for pass := range 2 {
		if got := canon(tr.Match("a/b")); got != want {
			t.Fatalf("pass %d: Match(a/b) = %s, want %s", pass, got, want)
		}
	}
	// Membership is per (filter, group, value).
	if tr.Insert("a/+", "g1", 1) {
		t.Fatal("duplicate shared Insert = true")
	}
	if !tr.Remove("a/+", "g1", 2) || !tr.Remove("a/+", "g1", 1) {
		t.Fatal("Remove of a member = false")
	}
	if tr.Remove("a/+", "g1", 1) || tr.Remove("a/+", "g3", 4) || tr.Remove("a/+", "", 4) {
		t.Fatal("Remove of an absent subscription = true")
	}
	want = "subs=[1 5] shared=[$queue|a/b:[6] g1|a/#:[3] g2|a/+:[4]]"
	if got := canon(tr.Match("a/b")); got != want {
		t.Fatalf("after removes: Match(a/b) = %s, want %s", got, want)
	}
	if got, want := tr.Len(), 5; got != want {
		t.Fatalf("Len = %d, want %d", got, want)
	}
}

func TestTrieInsertRemoveIdempotent(t *testing.T) {
	cases := []struct {
		name, filter, group string
	}{
		{"exact", "a/b", ""},
		{"wildcard", "a/+/#", ""},
		{"root hash", "#", ""},
		{"shared", "a/b", "g"},
		{"empty levels", "//", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTrie[int](DefaultConfig())
			if tr.Remove(tc.filter, tc.group, 1) {
				t.Fatal("Remove from empty trie = true")
			}
			if !tr.Insert(tc.filter, tc.group, 1) {
				t.Fatal("first Insert = false")
			}
			if tr.Insert(tc.filter, tc.group, 1) {
				t.Fatal("second Insert = true")
			}
			if tr.Len() != 1 {
				t.Fatalf("Len = %d, want 1", tr.Len())
			}
			if !tr.Remove(tc.filter, tc.group, 1) {
				t.Fatal("first Remove = false")
			}
			if tr.Remove(tc.filter, tc.group, 1) {
				t.Fatal("second Remove = true")
			}
			if s := tr.Stats(); s.Subscriptions != 0 || s.Nodes != 0 {
				t.Fatalf("Stats after removing all = %+v", s)
			}
		})
	}
}

func TestTrieRemovePrunesOnlyEmptyNodes(t *testing.T) {
	tr := NewTrie[int](DefaultConfig())
	tr.Insert("a/b/c", "", 1)
	tr.Insert("a/b", "", 2)
	tr.Insert("a/b/c", "g", 3)
	tr.Remove("a/b/c", "", 1)
	if got := subsOf(tr.Match("a/b")); !slices.Equal(got, []int{2}) {
		t.Fatalf("Match(a/b) = %v", got)
	}
	if got := canon(tr.Match("a/b/c")); got != "subs=[] shared=[g|a/b/c:[3]]" {
		t.Fatalf("Match(a/b/c) = %s", got)
	}
	if n := tr.Stats().Nodes; n != 3 {
		t.Fatalf("Nodes = %d, want 3", n)
	}
	tr.Remove("a/b/c", "g", 3)
	if n := tr.Stats().Nodes; n != 2 {
		t.Fatalf("Nodes = %d, want 2", n)
	}
}

func TestTrieChurnLeavesNoNodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tr := NewTrie[int](Config{CacheSize: 64})
	var all []sub
	for i := range 5000 {
		var f string
		switch i % 4 {
		case 0:
			f = fmt.Sprintf("wide/%d", i) // a node that goes wide, then narrow again
		case 1:
			f = fmt.Sprintf("t/%d/d/%d/+/x", i%7, i)
		case 2:
			f = fmt.Sprintf("t/%d/#", i%13)
		default:
			f = randFilter(rng)
		}
		g := ""
		if i%5 == 0 {
			g = fmt.Sprintf("g%d", i%3)
		}
		s := sub{f, g, i % 50}
		if tr.Insert(s.filter, s.group, s.v) {
			all = append(all, s)
		}
	}
	for round := range 3 {
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		for i, s := range all {
			if i%97 == 0 {
				tr.Match(strings.ReplaceAll(strings.ReplaceAll(s.filter, "+", "x"), "#", "y"))
			}
			if !tr.Remove(s.filter, s.group, s.v) {
				t.Fatalf("round %d: Remove(%+v) = false", round, s)
			}
		}
		if s := tr.Stats(); s.Subscriptions != 0 || s.Nodes != 0 {
			t.Fatalf("round %d: after removing everything Stats = %+v", round, s)
		}
		if len(tr.root.kids) != 0 || tr.root.more != nil {
			t.Fatalf("round %d: root not empty", round)
		}
		for _, s := range all {
			tr.Insert(s.filter, s.group, s.v)
		}
	}
}

func TestTrieLargeValueSet(t *testing.T) {
	tr := NewTrie[int](DefaultConfig())
	const n = 1000
	for i := range n {
		if !tr.Insert("big", "", i) || !tr.Insert("big", "g", i) {
			t.Fatalf("Insert %d = false", i)
		}
	}
	for i := range n {
		if tr.Insert("big", "", i) || tr.Insert("big", "g", i) {
			t.Fatalf("duplicate Insert %d = true", i)
		}
	}
	r := tr.Match("big")
	if len(r.Subs) != n || len(r.Shared) != 1 || len(r.Shared[0].Members) != n {
		t.Fatalf("Match(big): %d subs, %d groups", len(r.Subs), len(r.Shared))
	}
	for i := 0; i < n; i += 2 {
		if !tr.Remove("big", "", i) || !tr.Remove("big", "g", i) {
			t.Fatalf("Remove %d = false", i)
		}
	}
	want := []int{}
	for i := 1; i < n; i += 2 {
		want = append(want, i)
	}
	r = tr.Match("big")
	if got := subsOf(r); !slices.Equal(got, want) {
		t.Fatalf("after removing evens: %d subs", len(got))
	}
	if m := slices.Sorted(slices.Values(r.Shared[0].Members)); !slices.Equal(m, want) {
		t.Fatalf("after removing evens: %d members", len(m))
	}
	for i := 1; i < n; i += 2 {
		if !tr.Remove("big", "", i) || !tr.Remove("big", "g", i) {
			t.Fatalf("Remove %d = false", i)
		}
	}
	if s := tr.Stats(); s.Subscriptions != 0 || s.Nodes != 0 {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestTrieCacheCoherence(t *testing.T) {
	type step = cacheStep
	cases := []struct {
		name  string
		steps []step
	}{
		{"subscribe after cached match appears", []step{
			{"?", "a/b", "", 0, "subs=[] shared=[]"},
			{"+", "a/b", "", 1, ""},
			{"?", "a/b", "", 0, "subs=[1] shared=[]"},
			{"+", "a/+", "", 2, ""},
			{"?", "a/b", "", 0, "subs=[1 2] shared=[]"},
			{"+", "#", "", 3, ""},
			{"?", "a/b", "", 0, "subs=[1 2 3] shared=[]"},
			{"+", "a/b/#", "", 4, ""},
			{"?", "a/b", "", 0, "subs=[1 2 3 4] shared=[]"},
		}},
		{"unsubscribe disappears", []step{
			{"+", "a/b", "", 1, ""},
			{"+", "a/+", "", 2, ""},
			{"+", "#", "", 3, ""},
			{"?", "a/b", "", 0, "subs=[1 2 3] shared=[]"},
			{"-", "a/+", "", 2, ""},
			{"?", "a/b", "", 0, "subs=[1 3] shared=[]"},
			{"-", "a/b", "", 1, ""},
			{"?", "a/b", "", 0, "subs=[3] shared=[]"},
			{"-", "#", "", 3, ""},
			{"?", "a/b", "", 0, "subs=[] shared=[]"},
		}},
		{"same value two filters removes one", []step{
			{"+", "a/b", "", 1, ""},
			{"+", "a/+", "", 1, ""},
			{"?", "a/b", "", 0, "subs=[1 1] shared=[]"},
			{"-", "a/+", "", 1, ""},
			{"?", "a/b", "", 0, "subs=[1] shared=[]"},
		}},
		{"non-matching change leaves entry", []step{
			{"+", "a/b", "", 1, ""},
			{"?", "a/b", "", 0, "subs=[1] shared=[]"},
			{"+", "a/c", "", 2, ""},
			{"+", "x/+", "", 3, ""},
			{"+", "+/b/c", "", 4, ""},
			{"?", "a/b", "", 0, "subs=[1] shared=[]"},
		}},
		{"dollar topic not touched by first-level wildcard", []step{
			{"?", "$SYS/x", "", 0, "subs=[] shared=[]"},
			{"+", "#", "", 1, ""},
			{"+", "+/x", "", 2, ""},
			{"?", "$SYS/x", "", 0, "subs=[] shared=[]"},
			{"+", "$SYS/#", "", 3, ""},
			{"?", "$SYS/x", "", 0, "subs=[3] shared=[]"},
		}},
		{"parent level hash", []step{
			{"?", "a", "", 0, "subs=[] shared=[]"},
			{"+", "a/#", "", 1, ""},
			{"?", "a", "", 0, "subs=[1] shared=[]"},
			{"-", "a/#", "", 1, ""},
			{"?", "a", "", 0, "subs=[] shared=[]"},
		}},
		{"shared groups", []step{
			{"?", "a/b", "", 0, "subs=[] shared=[]"},
			{"+", "a/+", "g", 1, ""},
			{"?", "a/b", "", 0, "subs=[] shared=[g|a/+:[1]]"},
			{"+", "a/+", "g", 2, ""},
			{"+", "a/b", "g", 3, ""},
			{"?", "a/b", "", 0, "subs=[] shared=[g|a/+:[1 2] g|a/b:[3]]"},
			{"-", "a/+", "g", 1, ""},
			{"?", "a/b", "", 0, "subs=[] shared=[g|a/+:[2] g|a/b:[3]]"},
			{"-", "a/+", "g", 2, ""},
			{"-", "a/b", "g", 3, ""},
			{"?", "a/b", "", 0, "subs=[] shared=[]"},
		}},
		{"duplicate insert and absent remove change nothing", []step{
			{"+", "a/b", "", 1, ""},
			{"?", "a/b", "", 0, "subs=[1] shared=[]"},
			{"+", "a/b", "", 1, ""},
			{"-", "a/b", "", 2, ""},
			{"-", "a/+", "", 1, ""},
			{"?", "a/b", "", 0, "subs=[1] shared=[]"},
		}},
		{"large cached result evicted then rebuilt", append(manyInserts("big/t", cacheCopyMax+5), []step{
			{"?", "big/t", "", 0, "subs=" + fmt.Sprint(seq(cacheCopyMax+5)) + " shared=[]"},
			{"+", "big/+", "", 999, ""},
			{"?", "big/t", "", 0, "subs=" + fmt.Sprint(append(seq(cacheCopyMax+5), 999)) + " shared=[]"},
			{"-", "big/+", "", 999, ""},
			{"?", "big/t", "", 0, "subs=" + fmt.Sprint(seq(cacheCopyMax+5)) + " shared=[]"},
		}...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTrie[int](DefaultConfig())
			for i, s := range tc.steps {
				switch s.op {
				case "+":
					tr.Insert(s.filter, s.group, s.v)
				case "-":
					tr.Remove(s.filter, s.group, s.v)
				case "?":
					r := tr.Match(s.filter)
					if got := canon(r); got != s.want {
						t.Fatalf("step %d: Match(%q) = %s, want %s", i, s.filter, got, s.want)
					}
					if r2 := tr.Match(s.filter); r2 != r {
						t.Fatalf("step %d: second Match(%q) not served from the cache", i, s.filter)
					}
				}
			}
		})
	}
}

// cacheStep is one step of a cache coherence case.
type cacheStep struct {
	op     string // "+" insert, "-" remove, "?" match
	filter string // or the topic for "?"
	group  string
	v      int
	want   string // for "?"
}

func manyInserts(filter string, n int) []cacheStep {
	var s []cacheStep
	for i := range n {
		s = append(s, cacheStep{"+", filter, "", i, ""})
	}
	return s
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestTrieCachedMatchDoesNotAllocate(t *testing.T) {
	tr := NewTrie[int](DefaultConfig())
	tr.Insert("a/+/c", "", 1)
	tr.Insert("a/#", "g", 2)
	tr.Match("a/b/c")
	if n := testing.AllocsPerRun(100, func() { tr.Match("a/b/c") }); n != 0 {
		t.Fatalf("cached Match allocates %v times", n)
	}
}

func TestTrieCacheBounded(t *testing.T) {
	tr := NewTrie[int](Config{CacheSize: 100})
	tr.Insert("#", "", 1)
	for i := range 10000 {
		if got := subsOf(tr.Match(fmt.Sprintf("t/%d", i))); !slices.Equal(got, []int{1}) {
			t.Fatalf("Match = %v", got)
		}
	}
	s := tr.Stats()
	if s.CacheSize != 128 || s.CacheEntries > s.CacheSize {
		t.Fatalf("Stats = %+v, want 128 slots", s)
	}
}

func TestTrieWalk(t *testing.T) {
	tr := NewTrie[int](DefaultConfig())
	want := []sub{
		{"a/b", "", 1}, {"a/b", "", 2}, {"a/+", "g", 3}, {"#", "", 4}, {"/x", "", 5},
		{"a//b", "", 6}, {"$SYS/#", "", 7}, {"a/b", "h", 8},
	}
	for i := range 20 { // a wide node
		want = append(want, sub{fmt.Sprintf("w/%d/+", i), "", 100 + i})
	}
	for _, s := range want {
		tr.Insert(s.filter, s.group, s.v)
	}
	var got []sub
	tr.Walk(func(filter, group string, v int) bool {
		got = append(got, sub{filter, group, v})
		return true
	})
	key := func(a, b sub) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) }
	slices.SortFunc(got, key)
	slices.SortFunc(want, key)
	if !slices.Equal(got, want) {
		t.Fatalf("Walk = %v\nwant %v", got, want)
	}
	n := 0
	tr.Walk(func(string, string, int) bool { n++; return n < 3 })
	if n != 3 {
		t.Fatalf("Walk did not stop: %d calls", n)
	}
}

func TestConfig(t *testing.T) {
	cases := []struct {
		name  string
		cfg   Config
		ok    bool
		slots int
	}{
		{"default", DefaultConfig(), true, DefaultCacheSize},
		{"zero means default", Config{}, true, DefaultCacheSize},
		{"disabled", Config{CacheSize: -1}, true, 0},
		{"rounded up", Config{CacheSize: 1000}, true, 1024},
		{"tiny", Config{CacheSize: 1}, true, 4},
		{"too large", Config{CacheSize: MaxCacheSize + 1}, false, MaxCacheSize},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate = %v", err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "cache_size:") {
				t.Fatalf("Validate error %q does not name the key", err)
			}
			if got := NewTrie[int](tc.cfg).Stats().CacheSize; got != tc.slots {
				t.Fatalf("cache slots = %d, want %d", got, tc.slots)
			}
		})
	}
}

// TestTriePointerValues uses the value type the broker uses.
func TestTriePointerValues(t *testing.T) {
	type record struct{ id string }
	a, b := &record{"a"}, &record{"a"} // equal contents, distinct subscriptions
	tr := NewTrie[*record](DefaultConfig())
	if !tr.Insert("x/+", "", a) || !tr.Insert("x/+", "", b) || tr.Insert("x/+", "", a) {
		t.Fatal("Insert of pointer values")
	}
	if r := tr.Match("x/y"); len(r.Subs) != 2 {
		t.Fatalf("Match = %d subs, want 2", len(r.Subs))
	}
}

// Random filters and topics over a small alphabet so they collide often.
var (
	levelAlphabet  = []string{"a", "b", "c", "", "$s"}
	filterWildcard = []string{"+", "#"}
)

func randTopic(rng *rand.Rand) string {
	n := 1 + rng.IntN(4)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = levelAlphabet[rng.IntN(len(levelAlphabet))]
	}
	return strings.Join(parts, "/")
}

func randFilter(rng *rand.Rand) string {
	n := 1 + rng.IntN(4)
	parts := make([]string, 0, n)
	for i := range n {
		if rng.IntN(3) == 0 {
			w := filterWildcard[rng.IntN(2)]
			if w == "#" {
				return strings.Join(append(parts, w), "/")
			}
			parts = append(parts, w)
			continue
		}
		if i > 0 && levelAlphabet[rng.IntN(len(levelAlphabet))] == "$s" {
			parts = append(parts, "$s")
			continue
		}
		parts = append(parts, levelAlphabet[rng.IntN(len(levelAlphabet))])
	}
	return strings.Join(parts, "/")
}

func randSub(rng *rand.Rand) sub {
	s := sub{filter: randFilter(rng), v: rng.IntN(6)}
	if rng.IntN(4) == 0 {
		s.group = []string{"g", "h"}[rng.IntN(2)]
	}
	return s
}

// TestTrieProperty applies random inserts, removes and matches and compares
// every match with the brute-force answer over the current set.
func TestTrieProperty(t *testing.T) {
	for _, cache := range []int{-1, 2, 16, 0} {
		t.Run(fmt.Sprintf("cache=%d", cache), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(cache+10), 7))
			tr := NewTrie[int](Config{CacheSize: cache})
			set := map[sub]bool{}
			var keys []sub // the members of set, for picking one to remove
			ops := 30000
			if raceEnabled {
				ops = 6000
			}
			for i := range ops {
				switch op := rng.IntN(10); {
				case op < 4 && rng.IntN(300) < len(keys):
					// Remove a present subscription; the set hovers near 150.
					j := rng.IntN(len(keys))
					s := keys[j]
					keys[j] = keys[len(keys)-1]
					keys = keys[:len(keys)-1]
					if !tr.Remove(s.filter, s.group, s.v) {
						t.Fatalf("op %d: Remove(%+v) of a present subscription = false", i, s)
					}
					delete(set, s)
				case op < 4:
					s := randSub(rng)
					if got, want := tr.Insert(s.filter, s.group, s.v), !set[s]; got != want {
						t.Fatalf("op %d: Insert(%+v) = %v, want %v", i, s, got, want)
					}
					if !set[s] {
						set[s] = true
						keys = append(keys, s)
					}
				case op < 5:
					s := randSub(rng)
					if got, want := tr.Remove(s.filter, s.group, s.v), set[s]; got != want {
						t.Fatalf("op %d: Remove(%+v) = %v, want %v", i, s, got, want)
					}
					if set[s] {
						delete(set, s)
						keys = slices.DeleteFunc(keys, func(k sub) bool { return k == s })
					}
				default:
					topic := randTopic(rng)
					want := brute(set, topic)
					if got, want := tr.Matches(topic), want != canon(&Result[int]{}); got != want {
						t.Fatalf("op %d: Matches(%q) = %v, want %v", i, topic, got, want)
					}
					if got := canon(tr.Match(topic)); got != want {
						t.Fatalf("op %d: Match(%q)\n got %s\nwant %s", i, topic, got, want)
					}
				}
				if tr.Len() != len(set) {
					t.Fatalf("op %d: Len = %d, want %d", i, tr.Len(), len(set))
				}
			}
		})
	}
}

// TestTrieConcurrent runs matchers against writers. While it runs, every
// match must hold the pinned subscriptions (never removed); once quiescent,
// every topic's match (cached or not) must equal the brute-force answer.
func TestTrieConcurrent(t *testing.T) {
	tr := NewTrie[int](Config{CacheSize: 64})
	pinned := map[sub]bool{{"#", "", 100}: true, {"a/+", "", 101}: true, {"+/b/#", "p", 102}: true}
	for s := range pinned {
		tr.Insert(s.filter, s.group, s.v)
	}
	var topics []string
	for _, a := range levelAlphabet {
		for _, b := range levelAlphabet {
			topics = append(topics, a, a+"/"+b, a+"/"+b+"/c")
		}
	}
	const writers, matchers = 4, 4
	var (
		wg   sync.WaitGroup
		stop atomic.Bool
		mu   sync.Mutex
		set  = map[sub]int{} // net insert count per subscription, 0 or 1 at rest
		errs = make(chan string, matchers)
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			var mine []sub
			for !stop.Load() {
				if len(mine) > 0 && rng.IntN(2) == 0 {
					i := rng.IntN(len(mine))
					s := mine[i]
					mine = slices.Delete(mine, i, i+1)
					if !tr.Remove(s.filter, s.group, s.v) {
						errs <- fmt.Sprintf("Remove(%+v) of own subscription = false", s)
						return
					}
					continue
				}
				// Values are disjoint per writer, so only this writer changes them.
				s := randSub(rng)
				s.v = w*10 + s.v
				if tr.Insert(s.filter, s.group, s.v) {
					mine = append(mine, s)
				}
			}
			mu.Lock()
			for _, s := range mine {
				set[s]++
			}
			mu.Unlock()
		}()
	}
	for m := range matchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(m), 2))
			for !stop.Load() {
				topic := topics[rng.IntN(len(topics))]
				r := tr.Match(topic)
				for s := range pinned {
					var found bool
					if s.group == "" {
						found = slices.Contains(r.Subs, s.v)
					} else {
						for _, g := range r.Shared {
							found = found || (g.Name == s.group && g.Filter == s.filter && slices.Contains(g.Members, s.v))
						}
					}
					if found != Match(s.filter, topic) {
						errs <- fmt.Sprintf("Match(%q): pinned %+v found=%v", topic, s, found)
						return
					}
				}
			}
		}()
	}
	deadline := time.After(1500 * time.Millisecond)
	select {
	case e := <-errs:
		stop.Store(true)
		wg.Wait()
		t.Fatal(e)
	case <-deadline:
	}
	stop.Store(true)
	wg.Wait()
	select {
	case e := <-errs:
		t.Fatal(e)
	default:
	}
	model := map[sub]bool{}
	for s := range pinned {
		model[s] = true
	}
	for s, n := range set {
		if n != 1 {
			t.Fatalf("%+v recorded %d times", s, n)
		}
		model[s] = true
	}
	if tr.Len() != len(model) {
		t.Fatalf("Len = %d, want %d", tr.Len(), len(model))
	}
	for pass := range 2 { // first pass may hit entries cached during the run
		for _, topic := range topics {
			if got, want := canon(tr.Match(topic)), brute(model, topic); got != want {
				t.Fatalf("pass %d: Match(%q)\n got %s\nwant %s", pass, topic, got, want)
			}
		}
	}
}

func TestTrieZeroValue(t *testing.T) {
	var tr Trie[int]
	if !tr.Insert("a/+", "", 1) {
		t.Fatal("Insert = false")
	}
	if got := subsOf(tr.Match("a/b")); !slices.Equal(got, []int{1}) {
		t.Fatalf("Match = %v", got)
	}
	if s := tr.Stats(); s.CacheSize != 0 || s.Subscriptions != 1 {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestMatchesDoesNotFillTheCache(t *testing.T) {
	tr := NewTrie[int](Config{CacheSize: 64})
	tr.Insert("a/+", "", 1)
	tr.Insert("s/#", "g", 2)
	for _, tc := range []struct {
		topic string
		want  bool
	}{{"a/b", true}, {"a/b/c", false}, {"s/x", true}, {"$SYS/x", false}, {"b", false}} {
		if got := tr.Matches(tc.topic); got != tc.want {
			t.Errorf("Matches(%q) = %v, want %v", tc.topic, got, tc.want)
		}
	}
	if n := tr.Stats().CacheEntries; n != 0 {
		t.Errorf("Matches left %d cache entries, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { tr.Matches("$SYS/brokers/n/clients/c/connected") }); n != 0 {
		t.Errorf("Matches allocates %v times per call, want 0", n)
	}
	tr.Match("a/b") // cached now; Matches reads the cached result
	if !tr.Matches("a/b") {
		t.Error("Matches(a/b) false once cached")
	}
}

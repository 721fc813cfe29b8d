package bench

import "testing"

func TestExpand(t *testing.T) {
	cases := []struct {
		pattern string
		i       int
		id      string
		want    string
	}{
		{"bench/%i", 7, "c", "bench/7"},
		{"t/%c/x", 1, "bench-pub-1", "t/bench-pub-1/x"},
		{"%c-%i", 2, "id", "id-2"},
		{"plain", 3, "id", "plain"},
		{"100%/x", 3, "id", "100%/x"},
	}
	for _, tc := range cases {
		if got := Expand(tc.pattern, tc.i, tc.id); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.pattern, got, tc.want)
		}
	}
}

func TestFilterFor(t *testing.T) {
	cases := map[string]string{
		"bench/%i":    "bench/+",
		"a/%c/b/%i":   "a/+/b/+",
		"a/dev-%i/b":  "a/+/b",
		"fixed/topic": "fixed/topic",
		"%i":          "+",
	}
	for in, want := range cases {
		if got := FilterFor(in); got != want {
			t.Errorf("FilterFor(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		filter, name string
		want         bool
	}{
		{"#", "a/b", true},
		{"#", "$SYS/x", false},
		{"+/b", "$SYS/b", false},
		{"$SYS/#", "$SYS/x", true},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/+", "a", false},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"+/+", "/x", true},
		{"a/+/c", "a//c", true},
		{"bench/+", "bench/7", true},
	}
	for _, tc := range cases {
		if got := Match(tc.filter, tc.name); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.filter, tc.name, got, tc.want)
		}
	}
}

func TestShareGroup(t *testing.T) {
	if g, f := shareGroup("$share/g1/a/+"); g != "g1" || f != "a/+" {
		t.Errorf("shareGroup = %q %q", g, f)
	}
	if g, f := shareGroup("a/+"); g != "" || f != "a/+" {
		t.Errorf("shareGroup = %q %q", g, f)
	}
}

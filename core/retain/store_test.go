package retain

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/manifold-iot/manifold/core"
)

// op is one Set in a table test: topic, payload ("" is a nil payload), and
// the error Set must return.
type op struct {
	topic, payload string
	err            error
}

func TestSet(t *testing.T) {
	cases := []struct {
		name string
		ops  []op
		want map[string]string // topic → payload after the ops
	}{
		{"store one", []op{{"a/b", "1", nil}}, map[string]string{"a/b": "1"}},
		{"replace", []op{{"a/b", "1", nil}, {"a/b", "2", nil}}, map[string]string{"a/b": "2"}},
		{"empty payload deletes", // [MQTT-3.3.1-6]
			[]op{{"a/b", "1", nil}, {"a/b", "", nil}}, map[string]string{}},
		{"empty payload on a missing topic stores nothing", // [MQTT-3.3.1-7]
			[]op{{"a/b", "", nil}}, map[string]string{}},
		{"delete parent keeps child",
			[]op{{"a", "1", nil}, {"a/b", "2", nil}, {"a", "", nil}}, map[string]string{"a/b": "2"}},
		{"delete child keeps parent",
			[]op{{"a", "1", nil}, {"a/b", "2", nil}, {"a/b", "", nil}}, map[string]string{"a": "1"}},
		{"empty levels are distinct topics",
			[]op{{"a/b", "1", nil}, {"a//b", "2", nil}, {"/a", "3", nil}, {"a/", "4", nil}, {"/", "5", nil}, {"//", "6", nil}},
			map[string]string{"a/b": "1", "a//b": "2", "/a": "3", "a/": "4", "/": "5", "//": "6"}},
		{"dollar topics", []op{{"$SYS/broker/uptime", "1", nil}, {"$", "2", nil}},
			map[string]string{"$SYS/broker/uptime": "1", "$": "2"}},
		{"wildcard in name", []op{{"a/+", "1", ErrInvalidTopic}, {"a/#", "1", ErrInvalidTopic}}, map[string]string{}},
		{"empty topic", []op{{"", "1", ErrInvalidTopic}}, map[string]string{}},
		{"invalid UTF-8", []op{{"a/\xff", "1", ErrInvalidTopic}, {"a\x00b", "1", ErrInvalidTopic}}, map[string]string{}},
		{"invalid topic with empty payload is an error too", []op{{"a/+", "", ErrInvalidTopic}}, map[string]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New(DefaultConfig())
			for _, o := range tc.ops {
				if err := s.Set(msg(o.topic, o.payload)); !errors.Is(err, o.err) {
					t.Fatalf("Set(%q, %q) = %v, want %v", o.topic, o.payload, err, o.err)
				}
			}
			if s.Len() != len(tc.want) {
				t.Errorf("Len = %d, want %d", s.Len(), len(tc.want))
			}
			for tp, p := range tc.want {
				if m := s.Get(tp); m == nil || string(m.Payload) != p {
					t.Errorf("Get(%q) = %v, want payload %q", tp, m, p)
				}
			}
			if got := len(stored(s)); got != len(tc.want) {
				t.Errorf("Walk yields %d messages, want %d", got, len(tc.want))
			}
			checkInvariants(t, s)
		})
	}
}

func TestSetEmptyNonNilPayloadDeletes(t *testing.T) {
	s := New(DefaultConfig())
	mustSet(t, s, msg("a", "1"))
	mustSet(t, s, &core.Message{Topic: "a", Payload: []byte{}})
	if s.Len() != 0 || s.Get("a") != nil {
		t.Fatalf("a zero-length payload did not delete: Len %d", s.Len())
	}
	checkInvariants(t, s)
}

func TestSetKeepsPointer(t *testing.T) {
	s := New(DefaultConfig())
	m := msg("a/b", "1")
	mustSet(t, s, m)
	if s.Get("a/b") != m {
		t.Fatal("Get does not return the stored message itself")
	}
}

func TestGetDelete(t *testing.T) {
	cases := []struct {
		name       string
		stored     []string
		del        string
		wantDel    bool
		wantRemain []string
	}{
		{"missing", []string{"a"}, "b", false, []string{"a"}},
		{"existing", []string{"a", "b"}, "a", true, []string{"b"}},
		{"intermediate level holds nothing", []string{"a/b"}, "a", false, []string{"a/b"}},
		{"deeper than stored", []string{"a"}, "a/b", false, []string{"a"}},
		{"empty level", []string{"a//b", "a/b"}, "a//b", true, []string{"a/b"}},
		{"leading slash", []string{"/a", "a"}, "/a", true, []string{"a"}},
		{"invalid topic", []string{"a"}, "+", false, []string{"a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New(DefaultConfig())
			for _, tp := range tc.stored {
				mustSet(t, s, msg(tp, "x"))
			}
			if got := s.Get(tc.del); (got != nil) != tc.wantDel {
				t.Errorf("Get(%q) before = %v", tc.del, got)
			}
			if got := s.Delete(tc.del); got != tc.wantDel {
				t.Errorf("Delete(%q) = %v, want %v", tc.del, got, tc.wantDel)
			}
			if s.Delete(tc.del) {
				t.Errorf("second Delete(%q) = true", tc.del)
			}
			if s.Get(tc.del) != nil {
				t.Errorf("Get(%q) after Delete is not nil", tc.del)
			}
			if got := stored(s); !slices.Equal(got, tc.wantRemain) {
				t.Errorf("remain %v, want %v", got, tc.wantRemain)
			}
			checkInvariants(t, s)
		})
	}
}

func TestLimits(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		ops  []op
		want []string // stored topic=payload after the ops
	}{
		{"full store rejects a new topic", Config{MaxRetained: 2},
			[]op{{"a", "1", nil}, {"b", "1", nil}, {"c", "1", ErrFull}}, []string{"a=1", "b=1"}},
		{"full store accepts a replacement", Config{MaxRetained: 2},
			[]op{{"a", "1", nil}, {"b", "1", nil}, {"a", "2", nil}}, []string{"a=2", "b=1"}},
		{"full store accepts a delete, then a new topic", Config{MaxRetained: 2},
			[]op{{"a", "1", nil}, {"b", "1", nil}, {"a", "", nil}, {"c", "1", nil}}, []string{"b=1", "c=1"}},
		{"an intermediate level is a new topic", Config{MaxRetained: 2},
			[]op{{"a/b", "1", nil}, {"b", "1", nil}, {"a", "1", ErrFull}}, []string{"a/b=1", "b=1"}},
		{"a rejected topic leaves no nodes", Config{MaxRetained: 1},
			[]op{{"a", "1", nil}, {"x/y/z", "1", ErrFull}}, []string{"a=1"}},
		{"payload too large", Config{MaxPayloadSize: 4},
			[]op{{"a", "12345", ErrPayloadTooLarge}, {"b", "1234", nil}}, []string{"b=1234"}},
		{"too large keeps the previous message", Config{MaxPayloadSize: 4},
			[]op{{"a", "1", nil}, {"a", "12345", ErrPayloadTooLarge}}, []string{"a=1"}},
		{"empty payload deletes when full", Config{MaxRetained: 1, MaxPayloadSize: 1},
			[]op{{"a", "1", nil}, {"a", "", nil}}, nil},
		{"zero is unlimited", Config{},
			[]op{{"a", strings.Repeat("x", 1<<10), nil}, {"b", "1", nil}, {"a", "2", nil}}, []string{"a=2", "b=1"}},
		{"negative counts as unlimited", Config{MaxRetained: -1, MaxPayloadSize: -1},
			[]op{{"a", "12", nil}, {"b", "1", nil}}, []string{"a=12", "b=1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New(tc.cfg)
			for _, o := range tc.ops {
				if err := s.Set(msg(o.topic, o.payload)); !errors.Is(err, o.err) {
					t.Fatalf("Set(%q) = %v, want %v", o.topic, err, o.err)
				}
			}
			var got []string
			s.Walk(func(m *core.Message) bool {
				got = append(got, m.Topic+"="+string(m.Payload))
				return true
			})
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("stored %v, want %v", got, tc.want)
			}
			checkInvariants(t, s)
		})
	}
}

func TestErrorsArePrefixed(t *testing.T) {
	s := New(Config{MaxRetained: 1, MaxPayloadSize: 1})
	mustSet(t, s, msg("a", "1"))
	for _, m := range []*core.Message{msg("b", "1"), msg("a", "12"), msg("+", "1")} {
		err := s.Set(m)
		if err == nil || !strings.HasPrefix(err.Error(), "retain: ") {
			t.Errorf("Set(%q) = %v, want a retain: error", m.Topic, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name    string
		cfg     Config
		wantKey string // "" for valid
	}{
		{"default", DefaultConfig(), ""},
		{"limits", Config{MaxRetained: 100, MaxPayloadSize: 1 << 20}, ""},
		{"negative count", Config{MaxRetained: -1}, "max_retained_messages"},
		{"negative payload", Config{MaxPayloadSize: -1}, "max_payload_size"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadConfig) || !strings.HasPrefix(err.Error(), tc.wantKey+":") {
				t.Fatalf("Validate = %v, want %s: ... %v", err, tc.wantKey, ErrBadConfig)
			}
		})
	}
}

func TestWalk(t *testing.T) {
	s := New(DefaultConfig())
	want := []string{"$SYS/a", "/", "a", "a/b", "b"}
	for _, tp := range want {
		mustSet(t, s, msg(tp, "x"))
	}
	mustSet(t, s, expiring("old", "x", 0, time.Second)) // expired ones are walked too
	want = append(want, "old")
	slices.Sort(want)
	if got := stored(s); !slices.Equal(got, want) {
		t.Errorf("Walk = %v, want %v", got, want)
	}
	n := 0
	s.Walk(func(*core.Message) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("Walk called fn %d times after it returned false", n)
	}
}

// TestPruning checks that deleting everything, by each way a message can go,
// leaves no node behind, including after churn and through wide nodes.
func TestPruning(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	levels := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "", "$s"}
	var topics []string
	seen := map[string]bool{}
	for len(topics) < 3000 {
		n := 1 + r.IntN(5)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = levels[r.IntN(len(levels))]
		}
		tp := strings.Join(parts, "/")
		if tp != "" && !seen[tp] {
			seen[tp] = true
			topics = append(topics, tp)
		}
	}
	cases := []struct {
		name   string
		expire bool // store expiring messages
		drop   func(s *Store, topics []string)
	}{
		{"Delete", false, func(s *Store, topics []string) {
			for _, tp := range topics {
				s.Delete(tp)
			}
		}},
		{"empty payload", false, func(s *Store, topics []string) {
			for _, tp := range topics {
				_ = s.Set(msg(tp, ""))
			}
		}},
		{"Delete expiring", true, func(s *Store, topics []string) {
			for _, tp := range topics {
				s.Delete(tp)
			}
		}},
		{"Expire", true, func(s *Store, _ []string) {
			for s.Expire(base.Add(time.Hour)) > 0 {
			}
		}},
		{"Match lazy deletion", true, func(s *Store, _ []string) {
			for _, f := range []string{"#", "$s/#"} {
				s.Match(f, base.Add(time.Hour), func(*core.Message) bool { return true })
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New(DefaultConfig())
			for round := range 3 { // churn: the same store filled and emptied
				for i, tp := range topics {
					if tc.expire {
						mustSet(t, s, expiring(tp, "x", time.Duration(i)*time.Millisecond, time.Minute))
					} else {
						mustSet(t, s, msg(tp, "x"))
					}
				}
				if s.Len() != len(topics) {
					t.Fatalf("round %d: Len %d, want %d", round, s.Len(), len(topics))
				}
				checkInvariants(t, s)
				shuffled := slices.Clone(topics)
				r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				// Half, then check the trie is consistent, then the rest.
				tc.drop(s, shuffled[:len(shuffled)/2])
				checkInvariants(t, s)
				tc.drop(s, shuffled[len(shuffled)/2:])
				checkInvariants(t, s)
				if s.Len() != 0 || s.nodes != 0 || len(s.expiry) != 0 || s.root.kids != nil || s.root.lits != nil {
					t.Fatalf("round %d: Len %d, nodes %d, heap %d, root kids %d/%d left",
						round, s.Len(), s.nodes, len(s.expiry), len(s.root.kids), len(s.root.lits))
				}
			}
		})
	}
}

func TestWideNodeShrinks(t *testing.T) {
	s := New(DefaultConfig())
	for i := range 100 {
		mustSet(t, s, msg(fmt.Sprintf("w/%d", i), "x"))
	}
	w := s.find("w")
	if w.lits == nil {
		t.Fatal("100 children did not move to a map")
	}
	for i := range 97 {
		s.Delete(fmt.Sprintf("w/%d", i))
	}
	if w.lits != nil || len(w.kids) != 3 {
		t.Fatalf("3 children left: lits %d, kids %d", len(w.lits), len(w.kids))
	}
	if got := matched(s, "w/+", base); !slices.Equal(got, []string{"w/97", "w/98", "w/99"}) {
		t.Fatalf("w/+ after shrink = %v", got)
	}
	checkInvariants(t, s)
}

// TestLongLevels checks levels that a child's key alone cannot tell apart:
// longer than 7 bytes with a common prefix and length, or over 255 bytes.
func TestLongLevels(t *testing.T) {
	long := strings.Repeat("a", 300)
	topics := []string{
		"x/temperature1", "x/temperature2", "x/temperatur", "x/tempera", "x/tempe",
		"x/" + long + "1", "x/" + long + "2", "x/" + long, "x/" + long[:256], "x/" + long[:255],
	}
	cases := []struct {
		name string
		wide bool // add children until x's children move to a map
	}{{"narrow", false}, {"wide", true}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New(DefaultConfig())
			if tc.wide {
				for i := range 2 * smallKids {
					mustSet(t, s, msg("x/filler"+strconv.Itoa(i), "f"))
				}
			}
			for _, tp := range topics {
				mustSet(t, s, msg(tp, tp))
			}
			for _, tp := range topics {
				if m := s.Get(tp); m == nil || string(m.Payload) != tp {
					t.Errorf("Get(%.20q…) found another topic's message", tp)
				}
				if got := matched(s, tp, base); !slices.Equal(got, []string{tp}) {
					t.Errorf("Match(%.20q…) = %d topics", tp, len(got))
				}
			}
			for i, tp := range topics {
				if !s.Delete(tp) {
					t.Fatalf("Delete(%.20q…) = false", tp)
				}
				for _, other := range topics[i+1:] {
					if s.Get(other) == nil {
						t.Fatalf("Delete(%.20q…) removed %.20q…", tp, other)
					}
				}
			}
			checkInvariants(t, s)
		})
	}
}

// TestLevelsAreCloned checks that the trie does not keep slices of the
// topic it was given, which may live in a reused packet buffer.
func TestLevelsAreCloned(t *testing.T) {
	buf := []byte("abc/def")
	s := New(DefaultConfig())
	mustSet(t, s, &core.Message{Topic: unsafe.String(&buf[0], len(buf)), Payload: []byte("x")})
	copy(buf, "xyz/uvw") // the buffer is reused for the next packet
	if s.find("abc/def") == nil {
		t.Fatal("the trie's levels changed with the caller's buffer")
	}
}

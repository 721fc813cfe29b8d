package acl

import (
	"net/netip"
	"strings"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/topic"
)

// File is a loaded rules file. It is not modified after LoadFile returns, so
// Check may run on any number of goroutines at once; to reload, load a new
// File and swap the pointer the caller holds (an atomic.Pointer, say).
type File struct {
	Path  string // where the rules were read from
	Rules []Rule // in file order; the first that matches decides
}

// Check decides whether client c may perform action on topic with the given
// QoS and retain flag: the permission of the first rule that matches, or
// NoMatch when none does. A rule matches when its action, its Who and one of
// its topics match.
//
// For core.ActionPublish, topic is the topic name published to. For
// core.ActionSubscribe, topic is the client's filter: a rule filter matches it
// when the rule filter, as a filter, matches the client's filter taken as a
// name (rule a/# matches a/+ and a/#; rule # matches #), and {eq, F} matches
// only the string F. A shared subscription ($share/<group>/<f>, $queue/<f>,
// and EMQX's $exclusive/<f>) is checked as its real filter f. Wildcard rule
// filters match $-topics too ($SYS/...), as in EMQX's authorization; only
// delivery follows [MQTT-4.7.2-1].
//
// action may also be core.ActionAll, asking for both: then only a rule whose
// action covers both matches. qos is the publish QoS or the QoS asked for in
// the subscription. retain is looked at only for publish, so a rule
// {all, [{retain, true}]} applies to every subscribe, as in EMQX. topic is the
// client's own, before any mountpoint is applied, as in EMQX. Superusers are
// the caller's business: Check applies the rules to everyone.
func (f *File) Check(c *core.ClientInfo, action core.Action, topic string, qos core.QoS, retain bool) Decision {
	if f == nil || action == 0 || action&^core.ActionAll != 0 {
		return NoMatch
	}
	if c == nil {
		c = &core.ClientInfo{}
	}
	if action&core.ActionSubscribe != 0 {
		topic = realFilter(topic)
	}
	// The peer's address without IPv4-mapping or zone, so that ::ffff:10.1.2.3
	// is matched by 10.0.0.0/8. Invalid (zero) for in-process clients.
	ip := c.Peer.Addr().Unmap().WithZone("")
	for i := range f.Rules {
		r := &f.Rules[i]
		if !r.Action.matches(action, qos, retain) {
			continue
		}
		if !r.whoLast && !r.Who.matches(c, ip) {
			continue
		}
		// An allow rule must cover the whole subscription, not merely match it
		// as a name: rule "a/+" matches "a/#" level by level but does not
		// cover it (EMQX lets it through; we do not). A deny rule keeps the
		// looser name match, which denies more.
		strict := action&core.ActionSubscribe != 0 && r.Permission == Allow
		if !r.matchTopics(c, topic, strict) {
			continue
		}
		if r.whoLast && !r.Who.matches(c, ip) {
			continue
		}
		return r.Permission
	}
	return NoMatch
}

// matches reports whether the action condition covers the request: every
// action asked for, the QoS, and for publish the retain flag.
func (a *ActionCond) matches(action core.Action, qos core.QoS, retain bool) bool {
	if a.Action&action != action || !a.QoS.Has(qos) {
		return false
	}
	if action&core.ActionPublish != 0 {
		switch a.Retain {
		case RetainTrue:
			return retain
		case RetainFalse:
			return !retain
		}
	}
	return true
}

// costly reports whether matching w runs a regular expression, in which case
// Check tests the (usually cheaper, usually more selective) topics first.
func (w *Who) costly() bool {
	if w.Regexp != nil {
		return true
	}
	for i := range w.Sub {
		if w.Sub[i].costly() {
			return true
		}
	}
	return false
}

// matches reports whether client c, connected from ip, satisfies w. An empty
// username or client id is an absent one: no username or clientid condition
// matches it (EMQX: username undefined).
func (w *Who) matches(c *core.ClientInfo, ip netip.Addr) bool {
	switch w.Kind {
	case WhoAll:
		return true
	case WhoUsername:
		return matchName(c.Username, w)
	case WhoClientID:
		return matchName(c.ClientID, w)
	case WhoIP:
		if !ip.IsValid() {
			return false
		}
		for _, p := range w.Prefixes {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	case WhoAnd:
		for i := range w.Sub {
			if !w.Sub[i].matches(c, ip) {
				return false
			}
		}
		return true
	case WhoOr:
		for i := range w.Sub {
			if w.Sub[i].matches(c, ip) {
				return true
			}
		}
		return false
	}
	return false
}

func matchName(v string, w *Who) bool {
	if v == "" {
		return false
	}
	if w.Regexp != nil {
		return w.Regexp.MatchString(v)
	}
	return v == w.Value
}

// matchTopics reports whether one of the rule's topics matches t (a topic name
// for publish, a real filter for subscribe). With strict set, a rule filter
// matches a subscription only if it covers every topic the subscription does.
func (r *Rule) matchTopics(c *core.ClientInfo, t string, strict bool) bool {
	for i := range r.Topics {
		f := &r.Topics[i]
		switch {
		case f.Eq:
			if t == f.Text {
				return true
			}
		case f.tmpl == nil:
			if matchFilter(f.Text, t) && (!strict || hashCovered(f.Text, t)) {
				return true
			}
		default:
			if !strings.HasPrefix(t, f.pre) {
				continue
			}
			if f.matchTemplate(c, t, strict) {
				return true
			}
		}
	}
	return false
}

// matchTemplate substitutes the client's values into a templated filter and
// matches the result against t. The filter matches nothing for this client
// when a value is empty (no username) or would add a wildcard level: a client
// named "+" must not turn "t/${clientid}" into "t/+".
//
// The filter is built in a stack buffer and never escapes, so short filters
// (up to 32 bytes, the compiler's temporary string buffer) cost no allocation.
func (f *Filter) matchTemplate(c *core.ClientInfo, t string, strict bool) bool {
	var arr [64]byte
	b, wild := arr[:0], false
	for _, s := range f.tmpl {
		v := s.lit
		switch s.ph {
		case phClientID:
			v = c.ClientID
		case phUsername:
			v = c.Username
		}
		if s.ph != phNone {
			if v == "" {
				return false
			}
			wild = wild || hasWildcard(v)
		}
		b = append(b, v...)
	}
	filter := string(b)
	if wild && wildLevels(filter) != f.wild {
		return false
	}
	return matchFilter(filter, t) && (!strict || hashCovered(filter, t))
}

// hashCovered completes matchFilter(rule, sub) for a subscription filter sub:
// matched as a name, sub's final "#" is an ordinary level that a rule "+"
// matches, and a rule "a/+/#" matches "a/#" although "a/#" also receives
// "a". sub is covered only when the rule has its own "#" at the same level or
// an earlier one.
func hashCovered(rule, sub string) bool {
	si := hashLevel(sub)
	if si < 0 {
		return true
	}
	ri := hashLevel(rule)
	return ri >= 0 && ri <= si
}

// hashLevel is the level number (from 0) of a filter's trailing "#", or -1.
func hashLevel(f string) int {
	if f == "#" || strings.HasSuffix(f, "/#") {
		return strings.Count(f, "/")
	}
	return -1
}

// hasWildcard reports whether v holds + or # (a plain loop: strings.ContainsAny
// costs more than the whole match here).
func hasWildcard(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] == '+' || v[i] == '#' {
			return true
		}
	}
	return false
}

// matchFilter is topic.Match without the $-topic exception [MQTT-4.7.2-1]:
// EMQX's authorization compares topic levels directly, so rule "#" or
// "+/brokers/#" also covers "$SYS/brokers/x". The exception protects
// subscribers from $-topics they did not ask for; an ACL rule is explicit.
func matchFilter(filter, name string) bool {
	if topic.Match(filter, name) {
		return true
	}
	if name == "" || name[0] != '$' || filter == "" || filter[0] != '+' && filter[0] != '#' {
		return false // topic.Match's answer did not come from the exception
	}
	fl, frest, fmore := cutLevel(filter)
	_, nrest, nmore := cutLevel(name)
	switch fl {
	case "#":
		return true
	case "+":
	default:
		return false // a literal level starting with + or # never equals one starting with $
	}
	if !fmore || !nmore {
		return fmore == nmore || !nmore && frest == "#"
	}
	return matchFilter(frest, nrest)
}

// cutLevel splits off the first level of a topic.
func cutLevel(s string) (level, rest string, more bool) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// realFilter strips a shared-subscription prefix: $share/<group>/<f> and
// $queue/<f> are authorized as f, as is EMQX's $exclusive/<f>. A malformed
// prefix (no filter after the group) is left for the caller to reject.
func realFilter(f string) string {
	if len(f) == 0 || f[0] != '$' {
		return f
	}
	switch {
	case strings.HasPrefix(f, "$share/"):
		rest := f[len("$share/"):]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			return rest[i+1:]
		}
	case strings.HasPrefix(f, "$queue/"):
		return f[len("$queue/"):]
	case strings.HasPrefix(f, "$exclusive/"):
		return f[len("$exclusive/"):]
	}
	return f
}

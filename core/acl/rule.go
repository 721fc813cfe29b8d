package acl

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/topic"
)

// Errors returned by Parse and LoadFile. Every *Error wraps one of the first
// two, so callers can tell a malformed file from a well-formed but wrong rule
// with errors.Is.
var (
	ErrSyntax      = errors.New("acl: syntax error")
	ErrInvalidRule = errors.New("acl: invalid rule")
)

// Error is a parse error at a position in the rules file. Its text is
// "file:line:col: message", like a compiler's.
type Error struct {
	File string // file name as given to LoadFile; "acl.conf" for Parse
	Line int    // 1-based
	Col  int    // 1-based, in characters
	Msg  string // what was expected and what was found
	Kind error  // ErrSyntax or ErrInvalidRule
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg) }

// Unwrap returns ErrSyntax or ErrInvalidRule.
func (e *Error) Unwrap() error { return e.Kind }

func newError(kind error, name string, src []byte, off int, msg string) *Error {
	line, col := position(src, off)
	return &Error{File: name, Line: line, Col: col, Msg: msg, Kind: kind}
}

// Decision is the outcome of checking a request against the rules.
type Decision uint8

// The three decisions. NoMatch is the zero value: no rule applies, and the
// next authorization source (or authorization.no_match) decides.
const (
	NoMatch Decision = iota
	Allow
	Deny
)

// String returns "allow", "deny" or "nomatch" (EMQX's metric names).
func (d Decision) String() string {
	switch d {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	case NoMatch:
		return "nomatch"
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}

// Rule is one compiled rule of the file. Rules are made by Parse: the
// placeholders of its topic filters are found there, so a Rule assembled by
// hand matches its filters literally.
type Rule struct {
	Line       int        // line of the rule's opening brace
	Permission Decision   // Allow or Deny
	Who        Who        // which clients the rule is about
	Action     ActionCond // which actions, QoS levels and retain flags
	Topics     []Filter   // matching any one of them is enough

	whoLast bool // Who is costly (a regex): test it after the topics
}

// WhoKind says which form of client condition a Who is.
type WhoKind uint8

// Client condition forms.
const (
	WhoAll      WhoKind = iota // all
	WhoUsername                // {username, "u"}, {user, "u"}, {username, {re, "..."}}
	WhoClientID                // {clientid, "c"}, {client, "c"}, {clientid, {re, "..."}}
	WhoIP                      // {ipaddr, "addr or CIDR"}, {ipaddrs, [...]}
	WhoAnd                     // {'and', [Who, ...]}: every one holds
	WhoOr                      // {'or', [Who, ...]}: at least one holds
)

// Who is a condition on the client.
type Who struct {
	Kind     WhoKind
	Value    string         // WhoUsername, WhoClientID: the exact value, when Regexp is nil
	Regexp   *regexp.Regexp // WhoUsername, WhoClientID: from {re, "..."}, matched unanchored
	Prefixes []netip.Prefix // WhoIP: masked, IPv4-mapped IPv6 prefixes turned into IPv4 ones
	Sub      []Who          // WhoAnd, WhoOr
}

// QoSSet is a set of QoS levels: bit q is set when QoS q is in the set.
type QoSSet uint8

// AnyQoS holds QoS 0, 1 and 2: the set of an action without a qos option.
const AnyQoS QoSSet = 1<<core.QoS0 | 1<<core.QoS1 | 1<<core.QoS2

// Has reports whether q is in the set.
func (s QoSSet) Has(q core.QoS) bool { return q <= core.QoS2 && s&(1<<q) != 0 }

// RetainCond is the retain option of a publish or all action.
type RetainCond uint8

// Retain conditions.
const (
	RetainAny   RetainCond = iota // {retain, all} or no retain option
	RetainTrue                    // {retain, true}: only retained publishes
	RetainFalse                   // {retain, false}: only non-retained publishes
)

// ActionCond is the action part of a rule.
type ActionCond struct {
	Action core.Action // core.ActionPublish, core.ActionSubscribe or core.ActionAll
	QoS    QoSSet      // AnyQoS unless a qos option narrows it
	Retain RetainCond  // applies to publish checks only
}

// Filter is one topic of a rule.
type Filter struct {
	Text string // the filter as written (without "eq ")
	Eq   bool   // {eq, Text}: equal strings only, no wildcards, no placeholders

	tmpl []segment // nil when Text has no placeholder
	wild int       // number of + and # levels in Text
	// pre holds the whole literal levels before the first placeholder
	// ("telemetry/" for "telemetry/${clientid}/#"), when none is a wildcard.
	// A topic that does not start with pre cannot match, so Check rejects it
	// without rendering the filter.
	pre string
}

// placeholder is a client value substituted into a topic filter.
type placeholder uint8

const (
	phNone placeholder = iota
	phClientID
	phUsername
)

// segment is a literal run of a templated filter or one placeholder.
type segment struct {
	lit string
	ph  placeholder
}

// Parse reads acl.conf source and compiles its rules, in file order. Errors
// are *Error values naming "acl.conf" and the line and column.
func Parse(src []byte) ([]Rule, error) {
	return parse("acl.conf", src)
}

// LoadFile reads and parses the rules file at path; errors name the path.
func LoadFile(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("acl: %w", err)
	}
	rules, err := parse(path, src)
	if err != nil {
		return nil, err
	}
	return &File{Path: path, Rules: rules}, nil
}

func parse(name string, src []byte) ([]Rule, error) {
	terms, err := parseTerms(name, src)
	if err != nil {
		return nil, err
	}
	c := compiler{name: name, src: src}
	rules := make([]Rule, 0, len(terms))
	for i := range terms {
		r, err := c.rule(&terms[i])
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// compiler turns terms into rules; its errors point into src.
type compiler struct {
	name string
	src  []byte

	// Rules come in source order, so their lines are counted incrementally
	// from the previous rule: loading stays linear in the file size.
	lineOff, line int
}

// lineAt returns the 1-based line of byte offset off, for offsets that do not
// decrease from one call to the next.
func (c *compiler) lineAt(off int) int {
	if c.line == 0 || off < c.lineOff {
		c.lineOff, c.line = 0, 1
	}
	for ; c.lineOff < off && c.lineOff < len(c.src); c.lineOff++ {
		if c.src[c.lineOff] == '\n' {
			c.line++
		}
	}
	return c.line
}

func (c *compiler) errorf(t *term, format string, args ...any) error {
	return newError(ErrInvalidRule, c.name, c.src, t.off, fmt.Sprintf(format, args...))
}

func (c *compiler) rule(t *term) (Rule, error) {
	r := Rule{Line: c.lineAt(t.off)}
	if t.kind != termTuple || len(t.elems) != 2 && len(t.elems) != 4 {
		return r, c.errorf(t, "expected a rule {allow|deny, Who, Action, Topics} or {allow|deny, all}, got %s", t)
	}
	perm := &t.elems[0]
	switch {
	case perm.isAtom("allow"):
		r.Permission = Allow
	case perm.isAtom("deny"):
		r.Permission = Deny
	default:
		return r, c.errorf(perm, "expected allow or deny, got %s", perm)
	}
	if len(t.elems) == 2 {
		// {allow, all}: every client, every action, every topic; EMQX
		// compiles it to {allow, all, all, ["#"]}, and "#" matches $-topics
		// here as in EMQX's authorization.
		if !t.elems[1].isAtom("all") {
			return r, c.errorf(&t.elems[1], "expected all in a two-element rule, got %s", &t.elems[1])
		}
		r.Who = Who{Kind: WhoAll}
		r.Action = ActionCond{Action: core.ActionAll, QoS: AnyQoS}
		r.Topics = []Filter{{Text: "#", wild: 1}}
		return r, nil
	}
	var err error
	if r.Who, err = c.who(&t.elems[1]); err != nil {
		return r, err
	}
	if r.Action, err = c.action(&t.elems[2]); err != nil {
		return r, err
	}
	if r.Topics, err = c.topics(&t.elems[3]); err != nil {
		return r, err
	}
	r.whoLast = r.Who.costly()
	return r, nil
}

const whoForms = "all, {username, ...}, {user, ...}, {clientid, ...}, {client, ...}, " +
	"{ipaddr, ...}, {ipaddrs, [...]}, {'and', [...]} or {'or', [...]}"

func (c *compiler) who(t *term) (Who, error) {
	if t.isAtom("all") {
		return Who{Kind: WhoAll}, nil
	}
	if t.kind != termTuple || len(t.elems) != 2 || t.elems[0].kind != termAtom {
		return Who{}, c.errorf(t, "unknown who %s: expected %s", t, whoForms)
	}
	arg := &t.elems[1]
	switch key := t.elems[0].s; key {
	case "username", "user", "clientid", "client":
		w := Who{Kind: WhoUsername}
		if key == "clientid" || key == "client" {
			w.Kind = WhoClientID
		}
		switch {
		case arg.kind == termString:
			w.Value = arg.s
		case arg.kind == termTuple && len(arg.elems) == 2 && arg.elems[0].isAtom("re") && arg.elems[1].kind == termString:
			re, err := regexp.Compile(arg.elems[1].s)
			if err != nil {
				return Who{}, c.errorf(&arg.elems[1], "invalid regex %s: %v", quoteString(arg.elems[1].s), err)
			}
			w.Regexp = re
		default:
			return Who{}, c.errorf(arg, "expected a string or {re, \"regex\"} after %s, got %s", key, arg)
		}
		return w, nil
	case "ipaddr":
		if arg.kind != termString {
			return Who{}, c.errorf(arg, "expected an address or CIDR string after ipaddr, got %s", arg)
		}
		p, err := c.prefix(arg)
		if err != nil {
			return Who{}, err
		}
		return Who{Kind: WhoIP, Prefixes: []netip.Prefix{p}}, nil
	case "ipaddrs":
		if arg.kind != termList || len(arg.elems) == 0 {
			return Who{}, c.errorf(arg, "expected a non-empty list of addresses or CIDRs after ipaddrs, got %s", arg)
		}
		w := Who{Kind: WhoIP, Prefixes: make([]netip.Prefix, 0, len(arg.elems))}
		for i := range arg.elems {
			e := &arg.elems[i]
			if e.kind != termString {
				return Who{}, c.errorf(e, "expected an address or CIDR string, got %s", e)
			}
			p, err := c.prefix(e)
			if err != nil {
				return Who{}, err
			}
			w.Prefixes = append(w.Prefixes, p)
		}
		return w, nil
	case "and", "or":
		if arg.kind != termList || len(arg.elems) == 0 {
			return Who{}, c.errorf(arg, "expected a non-empty list of conditions after '%s', got %s", key, arg)
		}
		w := Who{Kind: WhoAnd, Sub: make([]Who, 0, len(arg.elems))}
		if key == "or" {
			w.Kind = WhoOr
		}
		for i := range arg.elems {
			sub, err := c.who(&arg.elems[i])
			if err != nil {
				return Who{}, err
			}
			w.Sub = append(w.Sub, sub)
		}
		return w, nil
	}
	return Who{}, c.errorf(t, "unknown who %s: expected %s", t, whoForms)
}

// prefix parses "10.0.0.1", "10.0.0.0/8", "::1" or "fd00::/8". A prefix on
// IPv4-mapped IPv6 addresses becomes the IPv4 prefix it covers, since client
// addresses are unmapped before matching.
func (c *compiler) prefix(t *term) (netip.Prefix, error) {
	s := t.s
	var p netip.Prefix
	var err error
	if strings.IndexByte(s, '/') >= 0 {
		p, err = netip.ParsePrefix(s)
	} else {
		var a netip.Addr
		if a, err = netip.ParseAddr(s); err == nil {
			if a.Zone() != "" {
				return p, c.errorf(t, "IP address %s has a zone; zones are not supported", quoteString(s))
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if err != nil {
		return p, c.errorf(t, "invalid IP address or CIDR %s: %v", quoteString(s), err)
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

const actionForms = "publish, subscribe, all, or {publish|subscribe|all, [{qos, ...}, {retain, ...}]}"

func (c *compiler) action(t *term) (ActionCond, error) {
	a := ActionCond{QoS: AnyQoS}
	name, opts := t, (*term)(nil)
	if t.kind == termTuple && len(t.elems) == 2 && t.elems[1].kind == termList {
		name, opts = &t.elems[0], &t.elems[1]
	}
	switch {
	case name.isAtom("publish"):
		a.Action = core.ActionPublish
	case name.isAtom("subscribe"):
		a.Action = core.ActionSubscribe
	case name.isAtom("all"):
		a.Action = core.ActionAll
	default:
		return a, c.errorf(t, "unknown action %s: expected %s", t, actionForms)
	}
	if opts == nil {
		return a, nil
	}
	var qos QoSSet
	seenRetain := false
	for i := range opts.elems {
		o := &opts.elems[i]
		if o.kind != termTuple || len(o.elems) != 2 {
			return a, c.errorf(o, "expected {qos, ...} or {retain, ...}, got %s", o)
		}
		v := &o.elems[1]
		switch {
		case o.elems[0].isAtom("qos"):
			// EMQX collects every qos option; so do we.
			s, err := c.qos(v)
			if err != nil {
				return a, err
			}
			qos |= s
		case o.elems[0].isAtom("retain"):
			if a.Action == core.ActionSubscribe {
				return a, c.errorf(o, "retain applies to publish and all, not to subscribe")
			}
			if seenRetain {
				return a, c.errorf(o, "retain given twice")
			}
			seenRetain = true
			switch {
			case v.isAtom("true"):
				a.Retain = RetainTrue
			case v.isAtom("false"):
				a.Retain = RetainFalse
			case v.isAtom("all"):
				a.Retain = RetainAny
			default:
				return a, c.errorf(v, "retain must be true, false or all, got %s", v)
			}
		default:
			return a, c.errorf(o, "expected {qos, ...} or {retain, ...}, got %s", o)
		}
	}
	if qos != 0 {
		a.QoS = qos
	}
	return a, nil
}

func (c *compiler) qos(v *term) (QoSSet, error) {
	one := func(e *term) (QoSSet, error) {
		if e.kind != termInt || e.n < 0 || e.n > 2 {
			return 0, c.errorf(e, "qos must be 0, 1 or 2, got %s", e)
		}
		return 1 << e.n, nil
	}
	if v.kind != termList {
		return one(v)
	}
	if len(v.elems) == 0 {
		return 0, c.errorf(v, "empty qos list: the rule would match no QoS")
	}
	var s QoSSet
	for i := range v.elems {
		b, err := one(&v.elems[i])
		if err != nil {
			return 0, err
		}
		s |= b
	}
	return s, nil
}

func (c *compiler) topics(t *term) ([]Filter, error) {
	if t.kind != termList {
		return nil, c.errorf(t, "expected a list of topic filters, got %s", t)
	}
	if len(t.elems) == 0 {
		return nil, c.errorf(t, "empty topic list: the rule would match nothing")
	}
	fs := make([]Filter, 0, len(t.elems))
	for i := range t.elems {
		e := &t.elems[i]
		var f Filter
		switch {
		case e.kind == termTuple && len(e.elems) == 2 && e.elems[0].isAtom("eq") && e.elems[1].kind == termString:
			f = Filter{Text: e.elems[1].s, Eq: true}
			e = &e.elems[1]
		case e.kind == termString && strings.HasPrefix(e.s, "eq "):
			// EMQX 5 also takes "eq t/#" for {eq, "t/#"}.
			f = Filter{Text: e.s[len("eq "):], Eq: true}
		case e.kind == termString:
			f = Filter{Text: e.s}
		default:
			return nil, c.errorf(e, "expected a topic filter string or {eq, \"filter\"}, got %s", e)
		}
		if err := topic.ValidFilter(f.Text, 0); err != nil {
			return nil, c.errorf(e, "invalid topic filter %s: %v", quoteString(f.Text), err)
		}
		if !f.Eq {
			var err error
			if f.tmpl, err = parseTemplate(f.Text); err != nil {
				return nil, c.errorf(e, "%v", err)
			}
			f.wild = wildLevels(f.Text)
			if f.tmpl != nil {
				f.pre = literalLevels(f.tmpl)
			}
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// parseTemplate finds the placeholders of a filter: ${clientid} and
// ${username} anywhere, and EMQX 4's %c and %u when they fill a whole level
// (EMQX 4 substituted whole levels only). It returns nil when there are none.
func parseTemplate(s string) ([]segment, error) {
	var segs []segment
	lit := 0 // start of the pending literal
	flush := func(end int) {
		if end > lit {
			segs = append(segs, segment{lit: s[lit:end]})
		}
	}
	for i := 0; i < len(s); {
		// EMQX 4 forms: a level that is exactly %c or %u.
		if s[i] == '%' && (i == 0 || s[i-1] == '/') && i+1 < len(s) && (s[i+1] == 'c' || s[i+1] == 'u') &&
			(i+2 == len(s) || s[i+2] == '/') {
			flush(i)
			ph := phClientID
			if s[i+1] == 'u' {
				ph = phUsername
			}
			segs = append(segs, segment{ph: ph})
			i += 2
			lit = i
			continue
		}
		if s[i] == '$' && strings.HasPrefix(s[i:], "${") {
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				break // no closing brace: the rest is literal
			}
			name := s[i+2 : i+end]
			var ph placeholder
			switch name {
			case "clientid":
				ph = phClientID
			case "username":
				ph = phUsername
			default:
				if isVarName(name) {
					return nil, fmt.Errorf("unknown placeholder ${%s} in %s (want ${clientid} or ${username})",
						name, quoteString(s))
				}
				i += 2 // not a placeholder: keep "${" literal
				continue
			}
			flush(i)
			segs = append(segs, segment{ph: ph})
			i += end + 1
			lit = i
			continue
		}
		i++
	}
	if segs == nil {
		return nil, nil
	}
	flush(len(s))
	return segs, nil
}

// isVarName reports whether s looks like a placeholder name (EMQX's
// ${[a-zA-Z0-9_.]+}), so a misspelt one is reported instead of being taken
// literally.
func isVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// literalLevels returns the complete levels of the template's leading literal,
// with their trailing '/', or "" when one of them is a wildcard.
func literalLevels(tmpl []segment) string {
	if tmpl[0].ph != phNone {
		return ""
	}
	lit := tmpl[0].lit
	pre := lit[:strings.LastIndexByte(lit, '/')+1]
	if wildLevels(pre) > 0 {
		return ""
	}
	return pre
}

// wildLevels counts the levels of s that are exactly + or #.
func wildLevels(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if (s[i] == '+' || s[i] == '#') && (i == 0 || s[i-1] == '/') && (i+1 == len(s) || s[i+1] == '/') {
			n++
		}
	}
	return n
}

// String writes the rule back in acl.conf syntax (without the final '.').
// Parsing the result gives an equivalent rule.
func (r *Rule) String() string {
	var b strings.Builder
	b.WriteString("{")
	if r.Permission == Deny {
		b.WriteString("deny")
	} else {
		b.WriteString("allow")
	}
	b.WriteString(", ")
	r.Who.write(&b)
	b.WriteString(", ")
	r.Action.write(&b)
	b.WriteString(", [")
	for i, f := range r.Topics {
		if i > 0 {
			b.WriteString(", ")
		}
		if f.Eq {
			b.WriteString("{eq, " + quoteString(f.Text) + "}")
		} else {
			b.WriteString(quoteString(f.Text))
		}
	}
	b.WriteString("]}")
	return b.String()
}

// String writes the condition in acl.conf syntax.
func (w *Who) String() string {
	var b strings.Builder
	w.write(&b)
	return b.String()
}

func (w *Who) write(b *strings.Builder) {
	switch w.Kind {
	case WhoAll:
		b.WriteString("all")
	case WhoUsername, WhoClientID:
		key := "username"
		if w.Kind == WhoClientID {
			key = "clientid"
		}
		if w.Regexp != nil {
			fmt.Fprintf(b, "{%s, {re, %s}}", key, quoteString(w.Regexp.String()))
		} else {
			fmt.Fprintf(b, "{%s, %s}", key, quoteString(w.Value))
		}
	case WhoIP:
		if len(w.Prefixes) == 1 {
			b.WriteString("{ipaddr, " + quoteString(prefixString(w.Prefixes[0])) + "}")
			return
		}
		b.WriteString("{ipaddrs, [")
		for i, p := range w.Prefixes {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteString(prefixString(p)))
		}
		b.WriteString("]}")
	case WhoAnd, WhoOr:
		if w.Kind == WhoAnd {
			b.WriteString("{'and', [")
		} else {
			b.WriteString("{'or', [")
		}
		for i := range w.Sub {
			if i > 0 {
				b.WriteString(", ")
			}
			w.Sub[i].write(b)
		}
		b.WriteString("]}")
	default:
		fmt.Fprintf(b, "{unknown_who, %d}", w.Kind)
	}
}

func prefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// String writes the action in acl.conf syntax.
func (a *ActionCond) String() string {
	var b strings.Builder
	a.write(&b)
	return b.String()
}

func (a *ActionCond) write(b *strings.Builder) {
	name := a.Action.String()
	var opts []string
	if a.QoS != AnyQoS {
		var qs []string
		for q := core.QoS0; q <= core.QoS2; q++ {
			if a.QoS.Has(q) {
				qs = append(qs, strconv.Itoa(int(q)))
			}
		}
		opts = append(opts, "{qos, ["+strings.Join(qs, ", ")+"]}")
	}
	switch a.Retain {
	case RetainTrue:
		opts = append(opts, "{retain, true}")
	case RetainFalse:
		opts = append(opts, "{retain, false}")
	}
	if opts == nil {
		b.WriteString(name)
		return
	}
	b.WriteString("{" + name + ", [" + strings.Join(opts, ", ") + "]}")
}

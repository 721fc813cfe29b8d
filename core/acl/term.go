package acl

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file reads the subset of Erlang term syntax that acl.conf uses
// (file:consult's input): atoms, quoted atoms, strings, binaries of strings,
// integers, lists and tuples, `%` comments, each top-level term ended by `.`.
// It builds a small term tree; rule.go turns the tree into rules. Positions
// are byte offsets into the source, converted to line:column only when an
// error is reported, so the common path does no position bookkeeping.

// maxDepth bounds the nesting of lists and tuples. Real rules nest four or
// five deep ({'and', [{'or', [...]}]}); the bound keeps hostile input from
// growing the stack without limit.
const maxDepth = 64

type termKind uint8

const (
	termAtom termKind = iota
	termString
	termInt
	termList
	termTuple
)

// term is one parsed Erlang term.
type term struct {
	kind  termKind
	off   int    // byte offset of the term's first character
	s     string // atom name or string value
	n     int64  // integer value
	elems []term // list or tuple elements
}

func (t *term) isAtom(name string) bool { return t.kind == termAtom && t.s == name }

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokLBrace
	tokRBrace
	tokLBrack
	tokRBrack
	tokComma
	tokDot
	tokLBin // <<
	tokRBin // >>
	tokAtom
	tokString
	tokInt
)

type token struct {
	kind tokKind
	off  int
	s    string // atom name or string value
	n    int64
}

// describe names a token for "expected X, got Y" messages.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of file"
	case tokLBrace:
		return "'{'"
	case tokRBrace:
		return "'}'"
	case tokLBrack:
		return "'['"
	case tokRBrack:
		return "']'"
	case tokComma:
		return "','"
	case tokDot:
		return "'.'"
	case tokLBin:
		return "'<<'"
	case tokRBin:
		return "'>>'"
	case tokAtom:
		return "atom " + quoteAtom(t.s)
	case tokString:
		return "string " + shorten(quoteString(t.s))
	case tokInt:
		return "integer " + strconv.FormatInt(t.n, 10)
	}
	return "token"
}

// parser reads terms from src. name prefixes error positions.
type parser struct {
	name string
	src  []byte
	pos  int   // next unread byte
	tok  token // current token (one token of lookahead)
}

// parseTerms reads every top-level term of src.
func parseTerms(name string, src []byte) ([]term, error) {
	p := &parser{name: name, src: src}
	if len(src) >= 3 && src[0] == 0xEF && src[1] == 0xBB && src[2] == 0xBF {
		p.pos = 3 // UTF-8 byte order mark
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	var terms []term
	for p.tok.kind != tokEOF {
		t, err := p.term(0)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokDot {
			return nil, p.errorf(p.tok.off, "expected '.' after the rule, got %s", p.tok.describe())
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	return terms, nil
}

func (p *parser) errorf(off int, format string, args ...any) error {
	return newError(ErrSyntax, p.name, p.src, off, fmt.Sprintf(format, args...))
}

// term reads one term starting at the current token and leaves the token after
// it current.
func (p *parser) term(depth int) (term, error) {
	tok := p.tok
	switch tok.kind {
	case tokAtom:
		return term{kind: termAtom, off: tok.off, s: tok.s}, p.next()
	case tokInt:
		return term{kind: termInt, off: tok.off, n: tok.n}, p.next()
	case tokString:
		// Adjacent string literals are one string, as in Erlang: "a" "b" is "ab".
		var b strings.Builder
		for p.tok.kind == tokString {
			b.WriteString(p.tok.s)
			if err := p.next(); err != nil {
				return term{}, err
			}
		}
		return term{kind: termString, off: tok.off, s: b.String()}, nil
	case tokLBin:
		return p.binary()
	case tokLBrace, tokLBrack:
		if depth >= maxDepth {
			return term{}, p.errorf(tok.off, "terms nested deeper than %d levels", maxDepth)
		}
		kind, closer, closeName := termTuple, tokRBrace, "'}'"
		if tok.kind == tokLBrack {
			kind, closer, closeName = termList, tokRBrack, "']'"
		}
		if err := p.next(); err != nil {
			return term{}, err
		}
		t := term{kind: kind, off: tok.off}
		if p.tok.kind == closer {
			return t, p.next()
		}
		for {
			e, err := p.term(depth + 1)
			if err != nil {
				return term{}, err
			}
			t.elems = append(t.elems, e)
			switch p.tok.kind {
			case tokComma:
				if err := p.next(); err != nil {
					return term{}, err
				}
			case closer:
				return t, p.next()
			default:
				return term{}, p.errorf(p.tok.off, "expected ',' or %s, got %s", closeName, p.tok.describe())
			}
		}
	}
	return term{}, p.errorf(tok.off, "expected a term, got %s", tok.describe())
}

// binary reads <<"...", ...>>: a binary made of string segments is a string
// to us (EMQX converts both to binaries).
func (p *parser) binary() (term, error) {
	t := term{kind: termString, off: p.tok.off}
	if err := p.next(); err != nil {
		return term{}, err
	}
	if p.tok.kind == tokRBin {
		return t, p.next()
	}
	var b strings.Builder
	for {
		if p.tok.kind != tokString {
			return term{}, p.errorf(p.tok.off, "expected a string in the binary, got %s", p.tok.describe())
		}
		b.WriteString(p.tok.s)
		if err := p.next(); err != nil {
			return term{}, err
		}
		switch p.tok.kind {
		case tokString: // adjacent literals
		case tokComma:
			if err := p.next(); err != nil {
				return term{}, err
			}
		case tokRBin:
			t.s = b.String()
			return t, p.next()
		default:
			return term{}, p.errorf(p.tok.off, "expected ',' or '>>', got %s", p.tok.describe())
		}
	}
}

// next scans the following token into p.tok.
func (p *parser) next() error {
	src := p.src
	// Skip white space and comments.
	for p.pos < len(src) {
		c := src[p.pos]
		if c <= ' ' {
			p.pos++
			continue
		}
		if c == '%' {
			for p.pos < len(src) && src[p.pos] != '\n' {
				p.pos++
			}
			continue
		}
		break
	}
	start := p.pos
	if start >= len(src) {
		p.tok = token{kind: tokEOF, off: start}
		return nil
	}
	c := src[start]
	single := func(k tokKind) error {
		p.pos++
		p.tok = token{kind: k, off: start}
		return nil
	}
	switch {
	case c == '{':
		return single(tokLBrace)
	case c == '}':
		return single(tokRBrace)
	case c == '[':
		return single(tokLBrack)
	case c == ']':
		return single(tokRBrack)
	case c == ',':
		return single(tokComma)
	case c == '.':
		// Erlang wants white space after the full stop; we accept a rule
		// followed directly by the next one as well.
		return single(tokDot)
	case c == '<' && start+1 < len(src) && src[start+1] == '<':
		p.pos += 2
		p.tok = token{kind: tokLBin, off: start}
		return nil
	case c == '>' && start+1 < len(src) && src[start+1] == '>':
		p.pos += 2
		p.tok = token{kind: tokRBin, off: start}
		return nil
	case c == '"' || c == '\'':
		s, err := p.quoted(c)
		if err != nil {
			return err
		}
		kind := tokString
		if c == '\'' {
			kind = tokAtom
		}
		p.tok = token{kind: kind, off: start, s: s}
		return nil
	case c >= 'a' && c <= 'z':
		p.pos++
		for p.pos < len(src) && isAtomChar(src[p.pos]) {
			p.pos++
		}
		p.tok = token{kind: tokAtom, off: start, s: string(src[start:p.pos])}
		return nil
	case c >= 'A' && c <= 'Z' || c == '_':
		end := start + 1
		for end < len(src) && isAtomChar(src[end]) {
			end++
		}
		return p.errorf(start, "unexpected variable %s (an atom that begins with a capital letter must be quoted: '%s')",
			src[start:end], src[start:end])
	case c >= '0' && c <= '9' || c == '-' && start+1 < len(src) && src[start+1] >= '0' && src[start+1] <= '9':
		return p.integer()
	}
	r, _ := utf8.DecodeRune(src[start:])
	return p.errorf(start, "unexpected character %q", r)
}

func isAtomChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '@'
}

// integer scans an optionally negative decimal integer.
func (p *parser) integer() error {
	src, start := p.src, p.pos
	if src[p.pos] == '-' {
		p.pos++
	}
	for p.pos < len(src) && src[p.pos] >= '0' && src[p.pos] <= '9' {
		p.pos++
	}
	if p.pos+1 < len(src) && src[p.pos] == '.' && src[p.pos+1] >= '0' && src[p.pos+1] <= '9' {
		return p.errorf(start, "floats are not allowed here")
	}
	if p.pos < len(src) && (src[p.pos] == '#' || isAtomChar(src[p.pos])) {
		return p.errorf(start, "unsupported number syntax (only decimal integers are accepted)")
	}
	n, err := strconv.ParseInt(string(src[start:p.pos]), 10, 64)
	if err != nil {
		return p.errorf(start, "integer %s out of range", src[start:p.pos])
	}
	p.tok = token{kind: tokInt, off: start, n: n}
	return nil
}

// quoted scans a string ("...") or quoted atom ('...') with Erlang's escapes.
// An unknown escape stands for the character itself, as in Erlang ("\." is
// "."; a regex needs "\\." for a literal dot).
func (p *parser) quoted(q byte) (string, error) {
	src, start := p.src, p.pos
	what := "string"
	if q == '\'' {
		what = "quoted atom"
	}
	p.pos++
	// Fast path: no escapes.
	i := p.pos
	for i < len(src) && src[i] != q && src[i] != '\\' {
		i++
	}
	if i < len(src) && src[i] == q {
		p.pos = i + 1
		if !utf8.Valid(src[start+1 : i]) {
			return "", p.errorf(start, "%s is not valid UTF-8", what)
		}
		return string(src[start+1 : i]), nil
	}
	b := make([]byte, 0, i-start+8)
	for {
		if p.pos >= len(src) {
			return "", p.errorf(start, "unterminated %s", what)
		}
		c := src[p.pos]
		if c == q {
			p.pos++
			if !utf8.Valid(b) {
				return "", p.errorf(start, "%s is not valid UTF-8", what)
			}
			return string(b), nil
		}
		if c != '\\' {
			b = append(b, c)
			p.pos++
			continue
		}
		escOff := p.pos
		p.pos++
		if p.pos >= len(src) {
			return "", p.errorf(start, "unterminated %s", what)
		}
		c = src[p.pos]
		p.pos++
		switch c {
		case 'b':
			b = append(b, '\b')
		case 'd':
			b = append(b, 0x7f)
		case 'e':
			b = append(b, 0x1b)
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 's':
			b = append(b, ' ')
		case 't':
			b = append(b, '\t')
		case 'v':
			b = append(b, '\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := rune(c - '0')
			for k := 0; k < 2 && p.pos < len(src) && src[p.pos] >= '0' && src[p.pos] <= '7'; k++ {
				v = v*8 + rune(src[p.pos]-'0')
				p.pos++
			}
			b = utf8.AppendRune(b, v)
		case 'x':
			v, err := p.hexEscape(escOff)
			if err != nil {
				return "", err
			}
			b = utf8.AppendRune(b, v)
		case '^':
			if p.pos >= len(src) {
				return "", p.errorf(start, "unterminated %s", what)
			}
			b = append(b, src[p.pos]&31)
			p.pos++
		default:
			// Any other escaped character is itself (a multi-byte character
			// is copied whole by the plain path on the next iterations).
			b = append(b, c)
		}
	}
}

// hexEscape reads the part of \xHH or \x{H...} after the x.
func (p *parser) hexEscape(escOff int) (rune, error) {
	src := p.src
	if p.pos < len(src) && src[p.pos] == '{' {
		end := p.pos + 1
		for end < len(src) && isHex(src[end]) {
			end++
		}
		if end == p.pos+1 || end >= len(src) || src[end] != '}' || end-p.pos-1 > 6 {
			return 0, p.errorf(escOff, `invalid \x{...} escape`)
		}
		v, _ := strconv.ParseUint(string(src[p.pos+1:end]), 16, 32)
		p.pos = end + 1
		if v > utf8.MaxRune || v >= 0xD800 && v <= 0xDFFF {
			return 0, p.errorf(escOff, `\x{%x} is not a Unicode code point`, v)
		}
		return rune(v), nil
	}
	if p.pos+1 >= len(src) || !isHex(src[p.pos]) || !isHex(src[p.pos+1]) {
		return 0, p.errorf(escOff, `invalid \x escape (want \xHH or \x{H...})`)
	}
	v, _ := strconv.ParseUint(string(src[p.pos:p.pos+2]), 16, 8)
	p.pos += 2
	return rune(v), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// position converts a byte offset into a 1-based line and column (columns
// count characters, not bytes).
func position(src []byte, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	line, lineStart := 1, 0
	for i := 0; i < off; i++ {
		if src[i] == '\n' {
			line++
			lineStart = i + 1
		}
	}
	return line, utf8.RuneCount(src[lineStart:off]) + 1
}

// quoteString writes s as an Erlang string literal.
func quoteString(s string) string { return quoteWith(s, '"') }

// quoteAtom writes an atom as Erlang would: bare when it can be, else quoted.
func quoteAtom(s string) string {
	bare := s != "" && s[0] >= 'a' && s[0] <= 'z' && s != "and" && s != "or"
	for i := 0; bare && i < len(s); i++ {
		bare = isAtomChar(s[i])
	}
	if bare {
		return s
	}
	return quoteWith(s, '\'')
}

func quoteWith(s string, q byte) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, q)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = fmt.Appendf(b, `\x%02X`, s[i]) // not UTF-8 (only from a hand-made Rule)
		case r == rune(q) || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r < ' ' || r == 0x7f:
			b = fmt.Appendf(b, `\x%02X`, r)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(append(b, q))
}

// shorten trims long text in error messages.
func shorten(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// String writes the term back in Erlang syntax, for error messages.
func (t *term) String() string {
	var b strings.Builder
	t.write(&b, 0)
	return shorten(b.String())
}

func (t *term) write(b *strings.Builder, depth int) {
	if b.Len() > 200 || depth > 8 {
		b.WriteString("...")
		return
	}
	switch t.kind {
	case termAtom:
		b.WriteString(quoteAtom(t.s))
	case termString:
		b.WriteString(quoteString(t.s))
	case termInt:
		b.WriteString(strconv.FormatInt(t.n, 10))
	case termList, termTuple:
		open, closer := "[", "]"
		if t.kind == termTuple {
			open, closer = "{", "}"
		}
		b.WriteString(open)
		for i := range t.elems {
			if i > 0 {
				b.WriteString(", ")
			}
			t.elems[i].write(b, depth+1)
		}
		b.WriteString(closer)
	}
}

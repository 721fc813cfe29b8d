package lwm2m

import (
	"fmt"
	"strings"
)

// Link is one link-value of a CoRE Link Format document (RFC 6690 §2):
// "<target>" followed by parameters, in wire order.
type Link struct {
	Target string
	Params []LinkParam
}

// LinkParam is one link parameter. A parameter without a value (";obs") has
// an empty Value and Quoted false; Quoted records whether the value was a
// quoted-string so that encoding reproduces it.
type LinkParam struct {
	Name   string
	Value  string
	Quoted bool
}

// Param returns the value of the first parameter called name.
func (l Link) Param(name string) (string, bool) {
	for _, p := range l.Params {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// Path parses the target as an LwM2M path.
func (l Link) Path() (Path, error) { return ParsePath(l.Target) }

// String formats l as RFC 6690 link-value.
func (l Link) String() string { return string(l.AppendTo(nil)) }

// AppendTo appends the link-value form of l to dst.
func (l Link) AppendTo(dst []byte) []byte {
	dst = append(dst, '<')
	dst = append(dst, l.Target...)
	dst = append(dst, '>')
	for _, p := range l.Params {
		dst = append(dst, ';')
		dst = append(dst, p.Name...)
		switch {
		case p.Quoted || needsQuote(p.Value):
			dst = append(dst, '=', '"')
			for i := 0; i < len(p.Value); i++ {
				if c := p.Value[i]; c == '"' || c == '\\' {
					dst = append(dst, '\\')
				}
				dst = append(dst, p.Value[i])
			}
			dst = append(dst, '"')
		case p.Value != "":
			dst = append(dst, '=')
			dst = append(dst, p.Value...)
		}
	}
	return dst
}

// needsQuote reports whether v has characters a ptoken may not hold
// (RFC 6690 §2: ptoken excludes separators such as , ; " and space).
func needsQuote(v string) bool {
	for i := 0; i < len(v); i++ {
		if !isPtokenChar(v[i]) {
			return true
		}
	}
	return false
}

// isPtokenChar reports whether c is allowed in an RFC 6690 ptoken.
func isPtokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'()*+-./:<=>?@[]^_`{|}~", c) >= 0
}

// DecodeLinkFormat parses a CoRE Link Format document (content format 40,
// RFC 6690 §2), the payload of LwM2M Register, Update and Discover (LwM2M 1.1
// TS Core §5.3.1, §5.4.1). Whitespace around separators is tolerated; quoted
// values may contain , and ; and backslash escapes. An empty document is no
// links.
func DecodeLinkFormat(data []byte) ([]Link, error) {
	s := string(data)
	var links []Link
	i := skipSpace(s, 0)
	if i == len(s) {
		return nil, nil
	}
	for {
		if len(links) >= MaxLinks {
			return nil, fmt.Errorf("%w: more than %d links", ErrTooLarge, MaxLinks)
		}
		if i >= len(s) || s[i] != '<' {
			return nil, fmt.Errorf("%w: link %d: expected < at offset %d", ErrLinkFormat, len(links), i)
		}
		end := strings.IndexByte(s[i+1:], '>')
		if end < 0 {
			return nil, fmt.Errorf("%w: link %d: unterminated <", ErrLinkFormat, len(links))
		}
		l := Link{Target: s[i+1 : i+1+end]}
		i = skipSpace(s, i+2+end)
		for i < len(s) && s[i] == ';' {
			var p LinkParam
			var err error
			if p, i, err = parseLinkParam(s, skipSpace(s, i+1)); err != nil {
				return nil, fmt.Errorf("%w: link %d (%s): %v", ErrLinkFormat, len(links), l.Target, err)
			}
			l.Params = append(l.Params, p)
			i = skipSpace(s, i)
		}
		links = append(links, l)
		if i == len(s) {
			return links, nil
		}
		if s[i] != ',' {
			return nil, fmt.Errorf("%w: link %d: unexpected %q at offset %d", ErrLinkFormat, len(links)-1, s[i], i)
		}
		i = skipSpace(s, i+1)
	}
}

// parseLinkParam parses parmname [ "=" ( ptoken / quoted-string ) ] at s[i:].
func parseLinkParam(s string, i int) (LinkParam, int, error) {
	start := i
	for i < len(s) && isParmnameChar(s[i]) {
		i++
	}
	if i == start {
		return LinkParam{}, i, fmt.Errorf("empty parameter name at offset %d", start)
	}
	p := LinkParam{Name: s[start:i]}
	if i >= len(s) || s[i] != '=' {
		return p, i, nil
	}
	i++
	if i < len(s) && s[i] == '"' {
		var b strings.Builder
		for i++; ; i++ {
			if i >= len(s) {
				return p, i, fmt.Errorf("unterminated quoted value of %s", p.Name)
			}
			c := s[i]
			if c == '"' {
				p.Value, p.Quoted = b.String(), true
				return p, i + 1, nil
			}
			if c == '\\' {
				i++
				if i >= len(s) {
					return p, i, fmt.Errorf("unterminated quoted value of %s", p.Name)
				}
				c = s[i]
			}
			b.WriteByte(c)
		}
	}
	vs := i
	for i < len(s) && isPtokenChar(s[i]) && s[i] != ',' && s[i] != ';' {
		i++
	}
	if i == vs {
		return p, i, fmt.Errorf("empty value of %s at offset %d", p.Name, vs)
	}
	p.Value = s[vs:i]
	return p, i, nil
}

// isParmnameChar reports whether c may appear in a parmname (RFC 5988
// token characters, which LwM2M attribute names such as "pmin" use).
func isParmnameChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~*", c) >= 0
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}

// EncodeLinkFormat appends links as a CoRE Link Format document to dst.
func EncodeLinkFormat(dst []byte, links []Link) []byte {
	for i, l := range links {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = l.AppendTo(dst)
	}
	return dst
}

// Registration is what a Register or Update payload (LwM2M 1.1 TS Core
// §6.2.1) says about the client's objects.
type Registration struct {
	// AlternatePath is the root of the client's objects: the target of a
	// link with rt="oma.lwm2m", "/" when there is none.
	AlternatePath string
	// Objects are the Object and Object Instance paths the client lists,
	// relative to AlternatePath, in wire order.
	Objects []Path
	// Versions maps an Object id to the version its ";ver" attribute gives.
	Versions map[uint16]string
}

// ObjectList formats Objects as EMQX's register message lists them
// (["/1","/3/0"]).
func (r Registration) ObjectList() []string {
	out := make([]string, len(r.Objects))
	for i, p := range r.Objects {
		out[i] = p.String()
	}
	return out
}

// ParseRegistration interprets the links of a Register or Update payload:
// the rt="oma.lwm2m" link sets the alternate path, links below it name
// Objects and Object Instances. A link that is not an Object or Object
// Instance path is an error; the root link "</>" is skipped.
func ParseRegistration(links []Link) (Registration, error) {
	reg := Registration{AlternatePath: "/"}
	for _, l := range links {
		if rt, _ := l.Param("rt"); rt == "oma.lwm2m" {
			alt := strings.TrimSuffix(l.Target, "/")
			if alt == "" {
				alt = "/"
			}
			if alt[0] != '/' {
				return reg, fmt.Errorf("%w: alternate path %q", ErrLinkFormat, l.Target)
			}
			reg.AlternatePath = alt
		}
	}
	prefix := reg.AlternatePath
	if prefix == "/" {
		prefix = ""
	}
	for _, l := range links {
		if rt, _ := l.Param("rt"); rt == "oma.lwm2m" {
			continue
		}
		t := l.Target
		if prefix != "" {
			if !strings.HasPrefix(t, prefix+"/") {
				return reg, fmt.Errorf("%w: %q outside alternate path %q", ErrLinkFormat, t, reg.AlternatePath)
			}
			t = t[len(prefix):]
		}
		if t == "/" {
			continue
		}
		p, err := ParsePath(t)
		if err != nil || p.depth > 2 || p.depth == 0 {
			return reg, fmt.Errorf("%w: %q is not an object or object instance", ErrLinkFormat, l.Target)
		}
		if v, ok := l.Param("ver"); ok && p.depth == 1 {
			if reg.Versions == nil {
				reg.Versions = map[uint16]string{}
			}
			reg.Versions[p.Object()] = v
		}
		reg.Objects = append(reg.Objects, p)
	}
	return reg, nil
}

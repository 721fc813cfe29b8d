package lwm2m

import (
	"fmt"
	"strconv"
)

// MaxID is the largest Object, Object Instance, Resource or Resource Instance
// id; 65535 (MAX_ID) is reserved (LwM2M 1.1 TS Core §7.1).
const MaxID = 65534

// Path is an LwM2M path: the root "/", an Object "/3", an Object Instance
// "/3/0", a Resource "/3/0/1" or a Resource Instance "/3/0/7/1" (LwM2M 1.1 TS
// Core §6.1). The zero Path is the root. Paths are comparable values.
type Path struct {
	ids   [4]uint16
	depth uint8
}

// RootPath returns "/".
func RootPath() Path { return Path{} }

// ObjectPath returns "/o".
func ObjectPath(o uint16) Path { return Path{ids: [4]uint16{o}, depth: 1} }

// InstancePath returns "/o/i".
func InstancePath(o, i uint16) Path { return Path{ids: [4]uint16{o, i}, depth: 2} }

// ResourcePath returns "/o/i/r".
func ResourcePath(o, i, r uint16) Path { return Path{ids: [4]uint16{o, i, r}, depth: 3} }

// ResourceInstancePath returns "/o/i/r/ri".
func ResourceInstancePath(o, i, r, ri uint16) Path {
	return Path{ids: [4]uint16{o, i, r, ri}, depth: 4}
}

// ParsePath parses "/", "/o", "/o/i", "/o/i/r" or "/o/i/r/ri". One trailing
// slash is accepted ("/3/0/" is "/3/0"), as SenML base names end with one.
// Ids are decimal and at most MaxID.
func ParsePath(s string) (Path, error) {
	var p Path
	if len(s) == 0 || s[0] != '/' {
		return p, fmt.Errorf("%w: %q does not start with /", ErrInvalidPath, s)
	}
	rest := s[1:]
	if len(rest) > 0 && rest[len(rest)-1] == '/' {
		rest = rest[:len(rest)-1]
	}
	if rest == "" {
		if len(s) != 1 {
			return p, fmt.Errorf("%w: %q has an empty segment", ErrInvalidPath, s)
		}
		return p, nil
	}
	for {
		var seg string
		i := 0
		for i < len(rest) && rest[i] != '/' {
			i++
		}
		seg, rest = rest[:i], rest[i:]
		if p.depth == 4 {
			return Path{}, fmt.Errorf("%w: %q has more than 4 levels", ErrInvalidPath, s)
		}
		id, err := parseID(seg)
		if err != nil {
			return Path{}, fmt.Errorf("%w: %q: %v", ErrInvalidPath, s, err)
		}
		p.ids[p.depth] = id
		p.depth++
		if rest == "" {
			return p, nil
		}
		rest = rest[1:]
		if rest == "" {
			return Path{}, fmt.Errorf("%w: %q has an empty segment", ErrInvalidPath, s)
		}
	}
}

// parseID parses one decimal path segment.
func parseID(seg string) (uint16, error) {
	if seg == "" {
		return 0, fmt.Errorf("empty segment")
	}
	if len(seg) > 5 {
		return 0, fmt.Errorf("id %q out of range", seg)
	}
	n := 0
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("id %q is not decimal", seg)
		}
		n = n*10 + int(c-'0')
	}
	if n > MaxID {
		return 0, fmt.Errorf("id %d above %d", n, MaxID)
	}
	return uint16(n), nil
}

// Depth is the number of ids: 0 for the root, 1 for an Object, up to 4 for a
// Resource Instance.
func (p Path) Depth() int { return int(p.depth) }

// ID returns the id at level (0 = Object .. 3 = Resource Instance); 0 if the
// path is shorter.
func (p Path) ID(level int) uint16 {
	if level < 0 || level >= int(p.depth) {
		return 0
	}
	return p.ids[level]
}

// Object returns the Object id (0 for the root).
func (p Path) Object() uint16 { return p.ID(0) }

// Instance returns the Object Instance id (0 if the path is shorter).
func (p Path) Instance() uint16 { return p.ID(1) }

// Resource returns the Resource id (0 if the path is shorter).
func (p Path) Resource() uint16 { return p.ID(2) }

// ResourceInstance returns the Resource Instance id (0 if the path is shorter).
func (p Path) ResourceInstance() uint16 { return p.ID(3) }

// IsRoot reports whether p is "/".
func (p Path) IsRoot() bool { return p.depth == 0 }

// IsObject reports whether p names an Object ("/o").
func (p Path) IsObject() bool { return p.depth == 1 }

// IsInstance reports whether p names an Object Instance ("/o/i").
func (p Path) IsInstance() bool { return p.depth == 2 }

// IsResource reports whether p names a Resource ("/o/i/r").
func (p Path) IsResource() bool { return p.depth == 3 }

// IsResourceInstance reports whether p names a Resource Instance ("/o/i/r/ri").
func (p Path) IsResourceInstance() bool { return p.depth == 4 }

// Valid reports whether every id of p is at most MaxID.
func (p Path) Valid() bool {
	for i := 0; i < int(p.depth); i++ {
		if p.ids[i] > MaxID {
			return false
		}
	}
	return true
}

// Parent returns p without its last id; the root's parent is the root.
func (p Path) Parent() Path {
	if p.depth == 0 {
		return p
	}
	p.depth--
	p.ids[p.depth] = 0
	return p
}

// Child returns p with id appended, or ErrInvalidPath if p is a Resource
// Instance already or id is above MaxID.
func (p Path) Child(id uint16) (Path, error) {
	if p.depth == 4 {
		return p, fmt.Errorf("%w: %s has no children", ErrInvalidPath, p)
	}
	if id > MaxID {
		return p, fmt.Errorf("%w: id %d above %d", ErrInvalidPath, id, MaxID)
	}
	p.ids[p.depth] = id
	p.depth++
	return p, nil
}

// Under reports whether p equals prefix or lies below it ("/3/0/1" is under
// "/3", "/3/0" and "/3/0/1"; everything is under the root).
func (p Path) Under(prefix Path) bool {
	if prefix.depth > p.depth {
		return false
	}
	for i := 0; i < int(prefix.depth); i++ {
		if p.ids[i] != prefix.ids[i] {
			return false
		}
	}
	return true
}

// Less orders paths by their ids, a parent before its children.
func (p Path) Less(q Path) bool {
	n := min(p.depth, q.depth)
	for i := 0; i < int(n); i++ {
		if p.ids[i] != q.ids[i] {
			return p.ids[i] < q.ids[i]
		}
	}
	return p.depth < q.depth
}

// String formats p as "/", "/3", "/3/0", "/3/0/1" or "/3/0/7/1".
func (p Path) String() string {
	if p.depth == 0 {
		return "/"
	}
	return string(p.AppendTo(make([]byte, 0, 24)))
}

// AppendTo appends the String form of p to dst.
func (p Path) AppendTo(dst []byte) []byte {
	if p.depth == 0 {
		return append(dst, '/')
	}
	for i := 0; i < int(p.depth); i++ {
		dst = append(dst, '/')
		dst = strconv.AppendUint(dst, uint64(p.ids[i]), 10)
	}
	return dst
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (p Path) MarshalText() ([]byte, error) { return p.AppendTo(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParsePath.
func (p *Path) UnmarshalText(b []byte) error {
	q, err := ParsePath(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

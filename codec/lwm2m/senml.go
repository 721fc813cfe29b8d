package lwm2m

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
)

// number is a numeric literal as the wire carried it, before the model types
// it: JSON keeps integers exact this way and CBOR distinguishes them anyway.
type number struct {
	kind uint8 // numInt, numUint or numFloat
	i    int64
	u    uint64
	f    float64
}

const (
	numInt uint8 = iota
	numUint
	numFloat
)

// parseJSONNumber parses a JSON number literal, exactly if it is an integer.
func parseJSONNumber(s string) (number, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return number{kind: numInt, i: i}, nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return number{kind: numUint, u: u}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return number{}, fmt.Errorf("%w: number %q", ErrInvalidValue, s)
	}
	return number{kind: numFloat, f: f}, nil
}

func (n number) float() float64 {
	switch n.kind {
	case numInt:
		return float64(n.i)
	case numUint:
		return float64(n.u)
	}
	return n.f
}

// add returns a+b, exactly while both are in int64 range (SenML base value,
// RFC 8428 §4.5.2).
func (a number) add(b number) number {
	if a.kind == numInt && b.kind == numInt {
		s := a.i + b.i
		if (s > a.i) == (b.i > 0) {
			return number{kind: numInt, i: s}
		}
	}
	return number{kind: numFloat, f: a.float() + b.float()}
}

// typed turns n into a value of the model type t when known is true, or into
// Integer, Unsigned Integer or Float by its form otherwise.
func (n number) typed(t Type, known bool) (Value, error) {
	if !known {
		switch t = TypeFloat; n.kind {
		case numInt:
			t = TypeInteger
		case numUint:
			t = TypeUnsigned
		}
	}
	switch t {
	case TypeInteger, TypeTime:
		var i int64
		switch n.kind {
		case numInt:
			i = n.i
		case numFloat:
			if n.f != math.Trunc(n.f) || n.f < -(1<<63) || n.f >= 1<<63 {
				return Value{}, fmt.Errorf("%w: %s %v", ErrInvalidValue, t, n.f)
			}
			i = int64(n.f)
		default:
			return Value{}, fmt.Errorf("%w: %s %d out of range", ErrInvalidValue, t, n.u)
		}
		if t == TypeTime {
			return TimeValue(i), nil
		}
		return IntegerValue(i), nil
	case TypeUnsigned:
		switch n.kind {
		case numUint:
			return UnsignedValue(n.u), nil
		case numInt:
			if n.i >= 0 {
				return UnsignedValue(uint64(n.i)), nil
			}
		case numFloat:
			if n.f == math.Trunc(n.f) && n.f >= 0 && n.f < 1<<64 {
				return UnsignedValue(uint64(n.f)), nil
			}
		}
		return Value{}, fmt.Errorf("%w: unsigned integer %v", ErrInvalidValue, n.float())
	case TypeFloat:
		return FloatValue(n.float()), nil
	}
	return Value{}, fmt.Errorf("%w: number for a %s resource", ErrInvalidValue, t)
}

// senmlRaw is one SenML record (or LwM2M JSON entry) as decoded from JSON or
// CBOR, before names are resolved and values typed.
type senmlRaw struct {
	bn, n          string
	hasBN, hasN    bool
	bt, t          float64
	hasBT          bool
	bv, v          number
	hasBV, hasV    bool
	vs             string
	hasVS          bool
	vb             bool
	hasVB          bool
	vd             []byte
	hasVD          bool
	vlo            string
	hasVLO         bool
	opaqueIsBase64 bool // LwM2M JSON carries Opaque as a base64 "sv"
}

// senmlResolver resolves base fields across the records of one pack
// (RFC 8428 §4.5: base values apply until the next record that sets them).
type senmlResolver struct {
	m     Model
	bn    string
	bt    float64
	bv    number
	hasBV bool
	recs  []Record
}

// add resolves one raw record into a Record.
func (s *senmlResolver) add(r *senmlRaw, i int) error {
	if len(s.recs) >= MaxRecords {
		return fmt.Errorf("%w: more than %d records", ErrTooLarge, MaxRecords)
	}
	if r.hasBN {
		s.bn = r.bn
	}
	if r.hasBT {
		s.bt = r.bt
	}
	if r.hasBV {
		s.bv, s.hasBV = r.bv, true
	}
	name := s.bn + r.n
	p, err := ParsePath(name)
	if err != nil {
		return fmt.Errorf("%w: record %d: name %q: %v", ErrSenML, i, name, err)
	}
	values := 0
	for _, has := range [...]bool{r.hasV, r.hasVS, r.hasVB, r.hasVD, r.hasVLO} {
		if has {
			values++
		}
	}
	if values > 1 {
		return fmt.Errorf("%w: record %d (%s) has %d values", ErrSenML, i, p, values)
	}
	t, known := resourceType(s.m, p)
	var v Value
	switch {
	case r.hasV:
		n := r.v
		if s.hasBV {
			n = s.bv.add(n)
		}
		v, err = n.typed(t, known && t != TypeNone)
	case r.hasVS:
		switch {
		case known && t == TypeCorelnk:
			v = CorelnkValue(r.vs)
		case known && t == TypeOpaque && r.opaqueIsBase64:
			var b []byte
			if b, err = base64.StdEncoding.DecodeString(r.vs); err != nil {
				err = fmt.Errorf("%w: opaque sv is not base64", ErrInvalidValue)
			}
			v = OpaqueValue(b)
		default:
			v = StringValue(r.vs)
		}
	case r.hasVB:
		v = BooleanValue(r.vb)
	case r.hasVD:
		v = OpaqueValue(r.vd)
	case r.hasVLO:
		var l ObjectLink
		l, err = ParseObjectLink(r.vlo)
		v = ObjlnkValue(l)
	}
	if err != nil {
		return fmt.Errorf("record %d (%s): %w", i, p, err)
	}
	s.recs = append(s.recs, Record{Path: p, Value: v, Time: s.bt + r.t})
	return nil
}

// decodeBase64Data decodes a SenML "vd": base64url without padding
// (RFC 8428 §4.3), accepting the standard alphabet and padding too.
func decodeBase64Data(s string) ([]byte, error) {
	for _, enc := range [...]*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w: vd is not base64", ErrInvalidValue)
}

// senmlNames picks the base name and per-record names for encoding recs
// requested at base: the base path with a slash and relative names when every
// record lies strictly below it, full names otherwise.
func senmlNames(base Path, recs []Record) (bn string, rel bool) {
	if base.depth == 0 {
		return "", false
	}
	for _, r := range recs {
		if !r.Path.Under(base) || r.Path.depth == base.depth {
			return "", false
		}
	}
	return base.String() + "/", true
}

// relName appends the part of p below base ("7/0" for /3/0/7/0 under /3/0).
func relName(dst []byte, base, p Path) []byte {
	for i := int(base.depth); i < int(p.depth); i++ {
		if i > int(base.depth) {
			dst = append(dst, '/')
		}
		dst = strconv.AppendUint(dst, uint64(p.ids[i]), 10)
	}
	return dst
}

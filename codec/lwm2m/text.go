package lwm2m

import (
	"encoding/base64"
	"fmt"
	"strconv"
)

// DecodeText decodes a text/plain payload (content format 0, LwM2M 1.1 TS
// Core §7.4.1) for the Resource or Resource Instance p. The model types it; an
// unknown resource decodes as String. Booleans are "0" or "1" ("true" and
// "false" are accepted too), Time is Unix seconds, Objlnk "obj:inst" and
// Opaque base64.
func DecodeText(p Path, data []byte, m Model) ([]Record, error) {
	if p.depth < 3 {
		return nil, fmt.Errorf("%w: text/plain for %s, which is not a resource", ErrPathMismatch, p)
	}
	t, ok := resourceType(m, p)
	if !ok || t == TypeNone {
		t = TypeString
	}
	v, err := ParseText(t, string(data))
	if err != nil {
		return nil, fmt.Errorf("text %s: %w", p, err)
	}
	return []Record{{Path: p, Value: v}}, nil
}

// ParseText parses s, the text/plain form of a value of type t.
func ParseText(t Type, s string) (Value, error) {
	switch t {
	case TypeString:
		return StringValue(s), nil
	case TypeCorelnk:
		return CorelnkValue(s), nil
	case TypeInteger, TypeTime:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%w: %s %q", ErrInvalidValue, t, s)
		}
		if t == TypeTime {
			return TimeValue(i), nil
		}
		return IntegerValue(i), nil
	case TypeUnsigned:
		u, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%w: %s %q", ErrInvalidValue, t, s)
		}
		return UnsignedValue(u), nil
	case TypeFloat:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%w: %s %q", ErrInvalidValue, t, s)
		}
		return FloatValue(f), nil
	case TypeBoolean:
		switch s {
		case "1", "true":
			return BooleanValue(true), nil
		case "0", "false":
			return BooleanValue(false), nil
		}
		return Value{}, fmt.Errorf("%w: boolean %q", ErrInvalidValue, s)
	case TypeObjlnk:
		l, err := ParseObjectLink(s)
		if err != nil {
			return Value{}, err
		}
		return ObjlnkValue(l), nil
	case TypeOpaque:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return Value{}, fmt.Errorf("%w: opaque is not base64: %v", ErrInvalidValue, err)
		}
		return OpaqueValue(b), nil
	}
	return Value{}, fmt.Errorf("%w: no text form for %s", ErrInvalidValue, t)
}

// EncodeText appends the text/plain form of the single record of recs to dst.
func EncodeText(dst []byte, base Path, recs []Record) ([]byte, error) {
	r, err := single(base, recs, "text/plain")
	if err != nil {
		return dst, err
	}
	if r.Value.typ == TypeNone {
		return dst, fmt.Errorf("%w: text/plain record %s has no value", ErrInvalidValue, r.Path)
	}
	return r.Value.AppendText(dst), nil
}

// DecodeOpaque decodes an application/octet-stream payload (content format 42,
// LwM2M 1.1 TS Core §7.4.2) for the Resource or Resource Instance p: the
// payload, copied, is its Opaque value.
func DecodeOpaque(p Path, data []byte) ([]Record, error) {
	if p.depth < 3 {
		return nil, fmt.Errorf("%w: opaque for %s, which is not a resource", ErrPathMismatch, p)
	}
	return []Record{{Path: p, Value: OpaqueValue(append([]byte{}, data...))}}, nil
}

// EncodeOpaque appends the bytes of the single Opaque record of recs to dst.
func EncodeOpaque(dst []byte, base Path, recs []Record) ([]byte, error) {
	r, err := single(base, recs, "opaque")
	if err != nil {
		return dst, err
	}
	if r.Value.typ != TypeOpaque {
		return dst, fmt.Errorf("%w: opaque format cannot carry %s", ErrInvalidValue, r.Value.typ)
	}
	return append(dst, r.Value.bytes...), nil
}

// single checks that recs is one record for the resource base.
func single(base Path, recs []Record, format string) (Record, error) {
	if len(recs) != 1 {
		return Record{}, fmt.Errorf("%w: %s carries one value, got %d", ErrInvalidValue, format, len(recs))
	}
	if recs[0].Path != base || base.depth < 3 {
		return Record{}, fmt.Errorf("%w: %s record %s for request %s", ErrPathMismatch, format, recs[0].Path, base)
	}
	return recs[0], nil
}

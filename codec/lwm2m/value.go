package lwm2m

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Type is an LwM2M resource data type (LwM2M 1.1 TS Core Appendix C). Its
// String form is the name used in the object definition XML files and in
// EMQX write commands.
type Type uint8

// LwM2M data types. TypeNone is an executable resource or a record without a
// value (a Read-Composite request names paths only).
const (
	TypeNone Type = iota
	TypeString
	TypeInteger
	TypeUnsigned
	TypeFloat
	TypeBoolean
	TypeOpaque
	TypeTime
	TypeObjlnk
	TypeCorelnk
)

var typeNames = [...]string{
	TypeNone:     "none",
	TypeString:   "String",
	TypeInteger:  "Integer",
	TypeUnsigned: "Unsigned Integer",
	TypeFloat:    "Float",
	TypeBoolean:  "Boolean",
	TypeOpaque:   "Opaque",
	TypeTime:     "Time",
	TypeObjlnk:   "Objlnk",
	TypeCorelnk:  "Corelnk",
}

// String returns the OMA name of t ("Unsigned Integer", "Objlnk", "none").
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// ParseType parses an OMA type name case-insensitively: the names of
// Type.String plus "unsigned", "uint", "int", "bool", "objectlink",
// "corelink" and the empty string (TypeNone, as executable resources have no
// type in the XML).
func ParseType(s string) (Type, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "none":
		return TypeNone, nil
	case "string":
		return TypeString, nil
	case "integer", "int":
		return TypeInteger, nil
	case "unsigned integer", "unsigned", "uint", "unsignedinteger":
		return TypeUnsigned, nil
	case "float":
		return TypeFloat, nil
	case "boolean", "bool":
		return TypeBoolean, nil
	case "opaque":
		return TypeOpaque, nil
	case "time":
		return TypeTime, nil
	case "objlnk", "objectlink":
		return TypeObjlnk, nil
	case "corelnk", "corelink":
		return TypeCorelnk, nil
	}
	return TypeNone, fmt.Errorf("%w: unknown type %q", ErrInvalidValue, s)
}

// Model tells the decoders of formats that carry no type on the wire (TLV,
// text/plain, and numbers in the JSON formats) which type a resource has. The
// object registry (lwm2m/objects) implements it; nil is allowed everywhere and
// means "unknown", in which case TLV values decode as Opaque, text as String
// and JSON numbers as Integer or Float by their form.
type Model interface {
	// ResourceType returns the type of resource res of object obj, and false
	// if the object or resource is unknown.
	ResourceType(obj, res uint16) (Type, bool)
}

// ModelFunc adapts a function to Model.
type ModelFunc func(obj, res uint16) (Type, bool)

// ResourceType calls f.
func (f ModelFunc) ResourceType(obj, res uint16) (Type, bool) { return f(obj, res) }

// resourceType looks the type of the resource p names up in m.
func resourceType(m Model, p Path) (Type, bool) {
	if m == nil || p.depth < 3 {
		return TypeNone, false
	}
	return m.ResourceType(p.ids[0], p.ids[2])
}

// ObjectLink is an Objlnk value: an Object id and an Object Instance id
// (LwM2M 1.1 TS Core Appendix C, "Objlnk"). MaxID:MaxID+1 (65535:65535) is
// the null link.
type ObjectLink struct {
	Object   uint16
	Instance uint16
}

// String formats l as "obj:inst", the text/plain and JSON form.
func (l ObjectLink) String() string {
	return strconv.FormatUint(uint64(l.Object), 10) + ":" + strconv.FormatUint(uint64(l.Instance), 10)
}

// ParseObjectLink parses "obj:inst" with both ids decimal 0..65535.
func ParseObjectLink(s string) (ObjectLink, error) {
	o, i, ok := strings.Cut(s, ":")
	if !ok {
		return ObjectLink{}, fmt.Errorf("%w: objlnk %q is not obj:inst", ErrInvalidValue, s)
	}
	on, err1 := strconv.ParseUint(o, 10, 16)
	in, err2 := strconv.ParseUint(i, 10, 16)
	if err1 != nil || err2 != nil {
		return ObjectLink{}, fmt.Errorf("%w: objlnk %q is not obj:inst", ErrInvalidValue, s)
	}
	return ObjectLink{Object: uint16(on), Instance: uint16(in)}, nil
}

// Value is one typed LwM2M value. Build it with the constructors
// (StringValue, IntegerValue, ...) and read it with the accessor of its Type;
// the zero Value has TypeNone. Values are comparable with reflect.DeepEqual
// (floats compare by bits, so NaN equals itself).
type Value struct {
	typ   Type
	num   uint64 // int64, uint64, float64 bits, bool, time seconds or objlnk packed
	str   string // String, Corelnk
	bytes []byte // Opaque
}

// StringValue returns a String value.
func StringValue(s string) Value { return Value{typ: TypeString, str: s} }

// CorelnkValue returns a Corelnk value (a CoRE Link Format string).
func CorelnkValue(s string) Value { return Value{typ: TypeCorelnk, str: s} }

// IntegerValue returns an Integer value.
func IntegerValue(i int64) Value { return Value{typ: TypeInteger, num: uint64(i)} }

// UnsignedValue returns an Unsigned Integer value.
func UnsignedValue(u uint64) Value { return Value{typ: TypeUnsigned, num: u} }

// FloatValue returns a Float value.
func FloatValue(f float64) Value { return Value{typ: TypeFloat, num: math.Float64bits(f)} }

// BooleanValue returns a Boolean value.
func BooleanValue(b bool) Value {
	v := Value{typ: TypeBoolean}
	if b {
		v.num = 1
	}
	return v
}

// OpaqueValue returns an Opaque value holding b (not copied).
func OpaqueValue(b []byte) Value {
	if b == nil {
		b = []byte{}
	}
	return Value{typ: TypeOpaque, bytes: b}
}

// TimeValue returns a Time value of sec seconds since the Unix epoch.
func TimeValue(sec int64) Value { return Value{typ: TypeTime, num: uint64(sec)} }

// ObjlnkValue returns an Objlnk value.
func ObjlnkValue(l ObjectLink) Value {
	return Value{typ: TypeObjlnk, num: uint64(l.Object)<<16 | uint64(l.Instance)}
}

// Type returns the type of v.
func (v Value) Type() Type { return v.typ }

// Str returns the text of a String or Corelnk value, "" otherwise.
func (v Value) Str() string { return v.str }

// Int returns an Integer value, or the seconds of a Time value.
func (v Value) Int() int64 { return int64(v.num) }

// Uint returns an Unsigned Integer value.
func (v Value) Uint() uint64 { return v.num }

// Float returns a Float value.
func (v Value) Float() float64 {
	if v.typ != TypeFloat {
		return 0
	}
	return math.Float64frombits(v.num)
}

// Bool returns a Boolean value.
func (v Value) Bool() bool { return v.typ == TypeBoolean && v.num != 0 }

// Bytes returns the bytes of an Opaque value.
func (v Value) Bytes() []byte { return v.bytes }

// Time returns a Time value as a time.Time (UTC).
func (v Value) Time() time.Time { return time.Unix(int64(v.num), 0).UTC() }

// Link returns an Objlnk value.
func (v Value) Link() ObjectLink {
	return ObjectLink{Object: uint16(v.num >> 16), Instance: uint16(v.num)}
}

// Text formats v as LwM2M text/plain does (LwM2M 1.1 TS Core §7.4.1):
// decimal numbers, "0"/"1" booleans, Unix seconds for Time, "obj:inst" for
// Objlnk and base64 for Opaque. TypeNone formats as "".
func (v Value) Text() string { return string(v.AppendText(nil)) }

// AppendText appends the Text form of v to dst.
func (v Value) AppendText(dst []byte) []byte {
	switch v.typ {
	case TypeString, TypeCorelnk:
		return append(dst, v.str...)
	case TypeInteger, TypeTime:
		return strconv.AppendInt(dst, int64(v.num), 10)
	case TypeUnsigned:
		return strconv.AppendUint(dst, v.num, 10)
	case TypeFloat:
		return strconv.AppendFloat(dst, v.Float(), 'g', -1, 64)
	case TypeBoolean:
		if v.num != 0 {
			return append(dst, '1')
		}
		return append(dst, '0')
	case TypeOpaque:
		return base64.StdEncoding.AppendEncode(dst, v.bytes)
	case TypeObjlnk:
		l := v.Link()
		dst = strconv.AppendUint(dst, uint64(l.Object), 10)
		dst = append(dst, ':')
		return strconv.AppendUint(dst, uint64(l.Instance), 10)
	}
	return dst
}

// String formats v for logs: its type and Text form.
func (v Value) String() string { return v.typ.String() + "(" + v.Text() + ")" }

// Record is one decoded entry of a payload: the full path of a Resource or
// Resource Instance (or of anything, for a SenML record without a value) and
// its value. Time is the SenML/LwM2M JSON timestamp (base time plus time) in
// seconds; 0 means none, which SenML reads as "now" (RFC 8428 §4.5.3).
type Record struct {
	Path  Path
	Value Value
	Time  float64
}

// String formats r for logs.
func (r Record) String() string { return r.Path.String() + "=" + r.Value.String() }

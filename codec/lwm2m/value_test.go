package lwm2m

import (
	"math"
	"testing"
	"time"
)

func TestValueAccessors(t *testing.T) {
	tests := []struct {
		v    Value
		typ  Type
		text string
		log  string
		ok   func(Value) bool
	}{
		{StringValue("a"), TypeString, "a", "String(a)", func(v Value) bool { return v.Str() == "a" }},
		{CorelnkValue("</1>"), TypeCorelnk, "</1>", "Corelnk(</1>)", func(v Value) bool { return v.Str() == "</1>" }},
		{IntegerValue(-7), TypeInteger, "-7", "Integer(-7)", func(v Value) bool { return v.Int() == -7 }},
		{UnsignedValue(math.MaxUint64), TypeUnsigned, "18446744073709551615", "Unsigned Integer(18446744073709551615)",
			func(v Value) bool { return v.Uint() == math.MaxUint64 }},
		{FloatValue(-0.5), TypeFloat, "-0.5", "Float(-0.5)", func(v Value) bool { return v.Float() == -0.5 }},
		{BooleanValue(true), TypeBoolean, "1", "Boolean(1)", func(v Value) bool { return v.Bool() }},
		{BooleanValue(false), TypeBoolean, "0", "Boolean(0)", func(v Value) bool { return !v.Bool() }},
		{OpaqueValue(nil), TypeOpaque, "", "Opaque()", func(v Value) bool { return v.Bytes() != nil && len(v.Bytes()) == 0 }},
		{TimeValue(1700000000), TypeTime, "1700000000", "Time(1700000000)",
			func(v Value) bool {
				return v.Time().Equal(time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)) && v.Int() == 1700000000
			}},
		{ObjlnkValue(ObjectLink{65535, 65535}), TypeObjlnk, "65535:65535", "Objlnk(65535:65535)",
			func(v Value) bool { return v.Link() == ObjectLink{65535, 65535} && v.Link().String() == "65535:65535" }},
		{Value{}, TypeNone, "", "none()", func(v Value) bool { return !v.Bool() && v.Float() == 0 && v.Str() == "" }},
	}
	for _, tc := range tests {
		t.Run(tc.log, func(t *testing.T) {
			if tc.v.Type() != tc.typ || tc.v.Text() != tc.text || tc.v.String() != tc.log || !tc.ok(tc.v) {
				t.Fatalf("got %v %q %q", tc.v.Type(), tc.v.Text(), tc.v.String())
			}
		})
	}
	if Type(99).String() != "Type(99)" || ContentFormat(99).String() != "content-format(99)" {
		t.Error("unknown Type/ContentFormat names")
	}
	r := rec(t, "/3/0/7/1", IntegerValue(5))
	if r.String() != "/3/0/7/1=Integer(5)" || r.Path.Instance() != 0 || r.Path.Resource() != 7 || r.Path.ResourceInstance() != 1 || !r.Path.Valid() {
		t.Errorf("record %v", r)
	}
}

// TestTLVIntegerWidths checks the minimal widths of integers and unsigned
// integers at every size boundary (LwM2M 1.1 TS Core Appendix C: 1, 2, 4 or 8
// bytes) and that they decode back.
func TestTLVIntegerWidths(t *testing.T) {
	tests := []struct {
		v     Value
		width int
	}{
		{IntegerValue(127), 1}, {IntegerValue(-128), 1}, {IntegerValue(128), 2}, {IntegerValue(-32768), 2},
		{IntegerValue(32768), 4}, {IntegerValue(math.MaxInt32), 4}, {IntegerValue(math.MaxInt32 + 1), 8},
		{UnsignedValue(255), 1}, {UnsignedValue(256), 2}, {UnsignedValue(65535), 2}, {UnsignedValue(65536), 4},
		{UnsignedValue(math.MaxUint32), 4}, {UnsignedValue(math.MaxUint32 + 1), 8},
		{FloatValue(0.5), 4}, {FloatValue(0.1), 8},
	}
	res := map[Type]uint16{TypeInteger: 9, TypeUnsigned: 1, TypeFloat: 2}
	for _, tc := range tests {
		t.Run(tc.v.String(), func(t *testing.T) {
			obj := uint16(9999)
			if tc.v.Type() == TypeInteger {
				obj = 3
			}
			p := ResourcePath(obj, 0, res[tc.v.Type()])
			b, err := EncodeTLV(nil, p, []Record{{Path: p, Value: tc.v}})
			checkErr(t, err, nil)
			hdr := 2 // type byte and 8-bit id; lengths of 8 and more need a length byte
			if tc.width >= 8 {
				hdr = 3
			}
			if got := len(b) - hdr; got != tc.width {
				t.Fatalf("width %d, want %d (% X)", got, tc.width, b)
			}
			back, err := DecodeTLV(p, b, testModel)
			checkErr(t, err, nil)
			checkRecords(t, back, []Record{{Path: p, Value: tc.v}})
		})
	}
}

package lwm2m

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestDecodeSenMLCBOR(t *testing.T) {
	tests := []struct {
		name  string
		hex   string
		model Model
		want  []Record
		err   error
	}{
		{name: "base name, text, integer, half float",
			// [{-2:"/3/0/", 0:"0", 3:"ab"}, {0:"9", 2:100}, {0:"10", 2:1.5 (half)}]
			hex:  "83 A3 21 65 2F 33 2F 30 2F 00 61 30 03 62 61 62  A2 00 61 39 02 18 64  A2 00 62 31 30 02 F9 3E 00",
			want: []Record{rec(t, "/3/0/0", StringValue("ab")), rec(t, "/3/0/9", IntegerValue(100)), rec(t, "/3/0/10", FloatValue(1.5))}},
		{name: "indefinite array and map", hex: "9F BF 00 66 2F 33 2F 30 2F 39 02 20 FF FF", model: testModel,
			want: []Record{rec(t, "/3/0/9", IntegerValue(-1))}},
		{name: "indefinite name chunks", hex: "81 A2 00 7F 63 2F 33 2F 63 30 2F 39 FF 02 01", model: testModel,
			want: []Record{rec(t, "/3/0/9", IntegerValue(1))}},
		{name: "vd, vlo, vb", model: testModel,
			hex: "83 A2 00 66 2F 35 2F 30 2F 30 08 43 01 02 03  A2 00 67 2F 33 2F 30 2F 32 32 63 76 6C 6F 63 34 3A 30  A2 00 69 2F 39 39 39 39 2F 30 2F 33 04 F5",
			want: []Record{rec(t, "/5/0/0", OpaqueValue([]byte{1, 2, 3})), rec(t, "/3/0/22", ObjlnkValue(ObjectLink{4, 0})),
				rec(t, "/9999/0/3", BooleanValue(true))}},
		{name: "tagged time, single and double floats", model: testModel,
			hex:  "83 A2 00 67 2F 33 2F 30 2F 31 33 02 C1 1A 65 53 F1 00  A2 00 66 2F 36 2F 30 2F 30 02 FA 3F C0 00 00  A2 00 66 2F 36 2F 30 2F 31 02 FB 40 09 21 FB 54 44 2D 18",
			want: []Record{rec(t, "/3/0/13", TimeValue(0x6553F100)), rec(t, "/6/0/0", FloatValue(1.5)), rec(t, "/6/0/1", FloatValue(math.Pi))}},
		{name: "base time and time", model: testModel,
			hex:  "81 A4 22 19 03 E8 00 66 2F 33 2F 30 2F 39 02 01 06 05",
			want: []Record{{Path: ResourcePath(3, 0, 9), Value: IntegerValue(1), Time: 1005}}},
		{name: "unknown labels skipped", model: testModel,
			hex:  "81 A4 00 66 2F 33 2F 30 2F 39 02 01 01 61 25 18 63 82 A1 01 02 80",
			want: []Record{rec(t, "/3/0/9", IntegerValue(1))}},
		{name: "names only", hex: "82 A1 00 66 2F 33 2F 30 2F 39 A1 00 64 2F 31 2F 30",
			want: []Record{rec(t, "/3/0/9", Value{}), rec(t, "/1/0", Value{})}},
		{name: "empty", hex: "80", want: nil},
		{name: "truncated", hex: "81 A2 00 66 2F 33", err: ErrCBOR},
		{name: "huge declared length", hex: "9B 00 00 00 01 00 00 00 00", err: ErrCBOR},
		{name: "not an array", hex: "A0", err: ErrCBOR},
		{name: "trailing bytes", hex: "80 00", err: ErrCBOR},
		{name: "float map key", hex: "81 A1 F9 3E 00 01", err: ErrCBOR},
		{name: "name not text", hex: "81 A1 00 01", err: ErrCBOR},
		{name: "reserved additional info", hex: "81 A1 00 7C", err: ErrCBOR},
		{name: "lone break", hex: "81 A2 00 64 2F 31 2F 30 09 FF", err: ErrCBOR},
		{name: "must understand", hex: "81 A2 00 64 2F 31 2F 30 62 78 5F 01", err: ErrSenML},
		{name: "bver 11", hex: "81 A2 00 64 2F 31 2F 30 20 0B", err: ErrSenML},
		{name: "deep nesting", hex: "81 A2 00 64 2F 31 2F 30 09 " + strings.Repeat("81 ", 40) + "00", err: ErrTooLarge},
		{name: "two values", hex: "81 A3 00 66 2F 33 2F 30 2F 39 02 01 03 60", err: ErrSenML},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeSenMLCBOR(RootPath(), unhex(t, tc.hex), tc.model)
			checkErr(t, err, tc.err)
			if tc.err == nil {
				checkRecords(t, got, tc.want)
			}
		})
	}
}

func TestEncodeSenMLCBOR(t *testing.T) {
	recs := []Record{rec(t, "/3/0/0", StringValue("ab")), rec(t, "/3/0/9", IntegerValue(100)), rec(t, "/3/0/10", IntegerValue(-1)),
		rec(t, "/3/0/11", FloatValue(1.5)), rec(t, "/3/0/12", BooleanValue(true)), rec(t, "/3/0/5", OpaqueValue([]byte{1})),
		rec(t, "/3/0/22", ObjlnkValue(ObjectLink{4, 0})), rec(t, "/3/0/23", UnsignedValue(math.MaxUint64)),
		{Path: ResourcePath(3, 0, 24), Value: FloatValue(0.1), Time: 2}}
	got, err := EncodeSenMLCBOR(nil, InstancePath(3, 0), recs)
	checkErr(t, err, nil)
	want := unhex(t, "89 A3 21 65 2F 33 2F 30 2F 00 61 30 03 62 61 62"+
		" A2 00 61 39 02 18 64"+
		" A2 00 62 31 30 02 20"+
		" A2 00 62 31 31 02 FA 3F C0 00 00"+
		" A2 00 62 31 32 04 F5"+
		" A2 00 61 35 08 41 01"+
		" A2 00 62 32 32 63 76 6C 6F 63 34 3A 30"+
		" A2 00 62 32 33 02 1B FF FF FF FF FF FF FF FF"+
		" A3 00 62 32 34 02 FB 3F B9 99 99 99 99 99 9A 06 FA 40 00 00 00")
	if !bytes.Equal(got, want) {
		t.Fatalf("EncodeSenMLCBOR:\n got % X\nwant % X", got, want)
	}
	back, err := DecodeSenMLCBOR(RootPath(), got, ModelFunc(func(obj, res uint16) (Type, bool) {
		return map[uint16]Type{0: TypeString, 9: TypeInteger, 10: TypeInteger, 11: TypeFloat, 12: TypeBoolean, 5: TypeOpaque,
			22: TypeObjlnk, 23: TypeUnsigned, 24: TypeFloat}[res], true
	}))
	checkErr(t, err, nil)
	checkRecords(t, back, recs)
}

func TestHalfFloat(t *testing.T) {
	for h, want := range map[uint16]float64{0x0000: 0, 0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: 5.960464477539063e-8, 0x7c00: math.Inf(1), 0xfc00: math.Inf(-1)} {
		if got := halfToFloat(h); got != want {
			t.Errorf("halfToFloat(%#04x) = %v, want %v", h, got, want)
		}
	}
	if !math.IsNaN(halfToFloat(0x7e00)) {
		t.Error("0x7e00 is NaN")
	}
}

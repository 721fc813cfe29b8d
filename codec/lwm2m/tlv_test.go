package lwm2m

import (
	"bytes"
	"encoding/hex"
	"math"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deviceTLV is the Read /3/0 response of LwM2M 1.1 TS Core §7.4.3.2 (Example
// 1: Device object, single instance, without the Object Instance TLV).
const deviceTLV = `
C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65
C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74
C8 02 09 33 34 35 30 30 30 31 32 33
C3 03 31 2E 30
86 06 41 00 01 41 01 05
88 07 08 42 00 0E D8 42 01 13 88
87 08 41 00 7D 42 01 03 84
C1 09 64
C1 0A 0F
83 0B 41 00 00
C4 0D 51 82 42 8F
C6 0E 2B 30 32 3A 30 30
C1 10 55`

func deviceRecords(t testing.TB) []Record {
	return []Record{
		rec(t, "/3/0/0", StringValue("Open Mobile Alliance")),
		rec(t, "/3/0/1", StringValue("Lightweight M2M Client")),
		rec(t, "/3/0/2", StringValue("345000123")),
		rec(t, "/3/0/3", StringValue("1.0")),
		rec(t, "/3/0/6/0", IntegerValue(1)),
		rec(t, "/3/0/6/1", IntegerValue(5)),
		rec(t, "/3/0/7/0", IntegerValue(3800)),
		rec(t, "/3/0/7/1", IntegerValue(5000)),
		rec(t, "/3/0/8/0", IntegerValue(125)),
		rec(t, "/3/0/8/1", IntegerValue(900)),
		rec(t, "/3/0/9", IntegerValue(100)),
		rec(t, "/3/0/10", IntegerValue(15)),
		rec(t, "/3/0/11/0", IntegerValue(0)),
		rec(t, "/3/0/13", TimeValue(1367491215)),
		rec(t, "/3/0/14", StringValue("+02:00")),
		rec(t, "/3/0/16", StringValue("U")),
	}
}

func TestDecodeTLV(t *testing.T) {
	tests := []struct {
		name  string
		base  string
		hex   string
		model Model
		want  []Record
		err   error
	}{
		{name: "device instance", base: "/3/0", hex: deviceTLV, model: testModel, want: deviceRecords(t)},
		{name: "device instance wrapped", base: "/3/0", hex: "08 00 0E C8 00 0B 4D 61 6E 69 66 6F 6C 64 20 49 6E",
			model: testModel, want: []Record{rec(t, "/3/0/0", StringValue("Manifold In"))}},
		{name: "object with two instances", base: "/1",
			// LwM2M 1.1 TS Core §7.4.3.2 Example 3 shape: two Server instances.
			hex:   "08 00 06 C1 00 01 C1 01 3C 08 01 07 C1 00 02 C2 01 0E 10",
			model: testModel,
			want: []Record{rec(t, "/1/0/0", IntegerValue(1)), rec(t, "/1/0/1", IntegerValue(60)),
				rec(t, "/1/1/0", IntegerValue(2)), rec(t, "/1/1/1", IntegerValue(3600))}},
		{name: "single resource", base: "/3/0/9", hex: "C1 09 64", model: testModel, want: []Record{rec(t, "/3/0/9", IntegerValue(100))}},
		{name: "multiple resource", base: "/3/0/7", hex: "88 07 08 42 00 0E D8 42 01 13 88", model: testModel,
			want: []Record{rec(t, "/3/0/7/0", IntegerValue(3800)), rec(t, "/3/0/7/1", IntegerValue(5000))}},
		{name: "bare resource instances", base: "/3/0/7", hex: "42 00 0E D8 42 01 13 88", model: testModel,
			want: []Record{rec(t, "/3/0/7/0", IntegerValue(3800)), rec(t, "/3/0/7/1", IntegerValue(5000))}},
		{name: "resource instance", base: "/3/0/7/1", hex: "42 01 13 88", model: testModel,
			want: []Record{rec(t, "/3/0/7/1", IntegerValue(5000))}},
		{name: "16-bit ids and 16-bit length", base: "/65534/0", hex: "F0 FF FE 00 01 2A", model: testModel,
			want: []Record{rec(t, "/65534/0/65534", IntegerValue(42))}},
		{name: "24-bit length", base: "/5/0", hex: "D8 00 00 00 00", model: testModel,
			want: []Record{rec(t, "/5/0/0", OpaqueValue([]byte{}))}},
		{name: "no model is opaque", base: "/3/0/9", hex: "C1 09 64", want: []Record{rec(t, "/3/0/9", OpaqueValue([]byte{0x64}))}},
		{name: "typed values", base: "/9999/0", model: testModel,
			hex: "C4 01 FF FF FF FF C4 02 3F C0 00 00 C1 03 01 C3 00 3C 2F 3E",
			want: []Record{rec(t, "/9999/0/1", UnsignedValue(math.MaxUint32)), rec(t, "/9999/0/2", FloatValue(1.5)),
				rec(t, "/9999/0/3", BooleanValue(true)), rec(t, "/9999/0/0", CorelnkValue("</>"))}},
		{name: "objlnk and 8-byte float", base: "/3/0", model: testModel, hex: "C4 16 00 03 00 00",
			want: []Record{rec(t, "/3/0/22", ObjlnkValue(ObjectLink{3, 0}))}},
		{name: "double", base: "/6/0/0", model: testModel, hex: "C8 00 08 40 09 21 FB 54 44 2D 18",
			want: []Record{rec(t, "/6/0/0", FloatValue(math.Pi))}},
		{name: "negative integers", base: "/3/0", model: testModel, hex: "C1 09 FF C2 0A FF 00 C4 07 80 00 00 00 C8 08 08 80 00 00 00 00 00 00 00",
			want: []Record{rec(t, "/3/0/9", IntegerValue(-1)), rec(t, "/3/0/10", IntegerValue(-256)),
				rec(t, "/3/0/7", IntegerValue(math.MinInt32)), rec(t, "/3/0/8", IntegerValue(math.MinInt64))}},
		{name: "empty payload", base: "/3/0", hex: "", want: nil},
		{name: "truncated value", base: "/3/0", hex: "C8 00 14 4F 70", err: ErrTLVTruncated},
		{name: "truncated header", base: "/3/0", hex: "E8 00", err: ErrTLVTruncated},
		{name: "truncated length field", base: "/3/0", hex: "D0 00 00", err: ErrTLVTruncated},
		{name: "truncated inside instance", base: "/3", hex: "03 00 C3 00 41", err: ErrTLVTruncated},
		{name: "resource at object level", base: "/3", hex: "C1 09 64", err: ErrTLVStructure},
		{name: "instance id mismatch", base: "/3/0", hex: "03 01 C1 09 64", err: ErrTLVStructure},
		{name: "resource id mismatch", base: "/3/0/9", hex: "C1 0A 64", err: ErrTLVStructure},
		{name: "instance inside instance", base: "/3", hex: "02 00 00 00", err: ErrTLVStructure},
		{name: "resource inside multiple", base: "/3/0", hex: "83 07 C1 00 01", err: ErrTLVStructure},
		{name: "root path", base: "/", hex: "C1 09 64", err: ErrTLVStructure},
		{name: "reserved id 65535", base: "/3/0", hex: "E1 FF FF 00", err: ErrInvalidPath},
		{name: "3-byte integer", base: "/3/0/9", hex: "C3 09 00 00 01", model: testModel, err: ErrInvalidValue},
		{name: "boolean 2", base: "/9999/0/3", hex: "C1 03 02", model: testModel, err: ErrInvalidValue},
		{name: "float of 2 bytes", base: "/6/0/0", hex: "C2 00 00 00", model: testModel, err: ErrInvalidValue},
		{name: "objlnk of 2 bytes", base: "/3/0/22", hex: "C2 16 00 00", model: testModel, err: ErrInvalidValue},
		{name: "unsigned of 3 bytes", base: "/9999/0/1", hex: "C3 01 00 00 00", model: testModel, err: ErrInvalidValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeTLV(mustPath(t, tc.base), unhex(t, tc.hex), tc.model)
			checkErr(t, err, tc.err)
			if tc.err == nil {
				checkRecords(t, got, tc.want)
			}
		})
	}
}

func TestEncodeTLV(t *testing.T) {
	tests := []struct {
		name string
		base string
		recs []Record
		hex  string
		err  error
	}{
		{name: "device instance", base: "/3/0", recs: deviceRecords(t), hex: deviceTLV},
		{name: "object", base: "/1", recs: []Record{rec(t, "/1/0/0", IntegerValue(1)), rec(t, "/1/0/1", IntegerValue(60)),
			rec(t, "/1/1/0", IntegerValue(2)), rec(t, "/1/1/1", IntegerValue(3600))},
			// Lengths under 8 go in the type byte (LwM2M 1.1 TS Core §7.4.3, bits 2-0).
			hex: "06 00 C1 00 01 C1 01 3C 07 01 C1 00 02 C2 01 0E 10"},
		{name: "single resource", base: "/3/0/9", recs: []Record{rec(t, "/3/0/9", IntegerValue(100))}, hex: "C1 09 64"},
		{name: "multiple resource", base: "/3/0/7", recs: []Record{rec(t, "/3/0/7/0", IntegerValue(3800)), rec(t, "/3/0/7/1", IntegerValue(5000))},
			hex: "88 07 08 42 00 0E D8 42 01 13 88"},
		{name: "resource instance", base: "/3/0/7/1", recs: []Record{rec(t, "/3/0/7/1", IntegerValue(5000))}, hex: "42 01 13 88"},
		{name: "typed values", base: "/9999/0", recs: []Record{rec(t, "/9999/0/1", UnsignedValue(math.MaxUint32)),
			rec(t, "/9999/0/2", FloatValue(1.5)), rec(t, "/9999/0/3", BooleanValue(true)), rec(t, "/9999/0/0", CorelnkValue("</>"))},
			hex: "C4 01 FF FF FF FF C4 02 3F C0 00 00 C1 03 01 C3 00 3C 2F 3E"},
		{name: "double and 16-bit id", base: "/65534/0", recs: []Record{rec(t, "/65534/0/300", FloatValue(math.Pi))},
			hex: "E8 01 2C 08 40 09 21 FB 54 44 2D 18"},
		{name: "long opaque", base: "/5/0/0", recs: []Record{rec(t, "/5/0/0", OpaqueValue(bytes.Repeat([]byte{0xAB}, 300)))},
			hex: "D0 00 01 2C " + strings.Repeat("AB ", 300)},
		{name: "negative integers", base: "/3/0", recs: []Record{rec(t, "/3/0/9", IntegerValue(-1)), rec(t, "/3/0/10", IntegerValue(-256)),
			rec(t, "/3/0/7", IntegerValue(math.MinInt32)), rec(t, "/3/0/8", IntegerValue(math.MinInt64))},
			hex: "C1 09 FF C2 0A FF 00 C4 07 80 00 00 00 C8 08 08 80 00 00 00 00 00 00 00"},
		{name: "outside base", base: "/3/0", recs: []Record{rec(t, "/3/1/0", IntegerValue(1))}, err: ErrPathMismatch},
		{name: "not a resource", base: "/3", recs: []Record{rec(t, "/3/0", IntegerValue(1))}, err: ErrTLVStructure},
		{name: "no value", base: "/3/0", recs: []Record{rec(t, "/3/0/4", Value{})}, err: ErrInvalidValue},
		{name: "root", base: "/", recs: nil, err: ErrTLVStructure},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EncodeTLV([]byte("prefix"), mustPath(t, tc.base), tc.recs)
			checkErr(t, err, tc.err)
			if tc.err != nil {
				return
			}
			if want := append([]byte("prefix"), unhex(t, tc.hex)...); !bytes.Equal(got, want) {
				t.Fatalf("EncodeTLV:\n got % X\nwant % X", got, want)
			}
		})
	}
}

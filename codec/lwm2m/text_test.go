package lwm2m

import (
	"math"
	"testing"
)

func TestDecodeText(t *testing.T) {
	tests := []struct {
		name, path, in string
		model          Model
		want           Value
		err            error
	}{
		{name: "string", path: "/3/0/0", in: "Manifold", model: testModel, want: StringValue("Manifold")},
		{name: "unknown is string", path: "/3/0/9", in: "100", want: StringValue("100")},
		{name: "integer", path: "/3/0/9", in: "-100", model: testModel, want: IntegerValue(-100)},
		{name: "unsigned", path: "/9999/0/1", in: "18446744073709551615", model: testModel, want: UnsignedValue(math.MaxUint64)},
		{name: "float", path: "/6/0/0", in: "43.61", model: testModel, want: FloatValue(43.61)},
		{name: "boolean 1", path: "/9999/0/3", in: "1", model: testModel, want: BooleanValue(true)},
		{name: "boolean false", path: "/9999/0/3", in: "false", model: testModel, want: BooleanValue(false)},
		{name: "time", path: "/3/0/13", in: "1367491215", model: testModel, want: TimeValue(1367491215)},
		{name: "objlnk", path: "/3/0/22", in: "4:0", model: testModel, want: ObjlnkValue(ObjectLink{4, 0})},
		{name: "opaque base64", path: "/5/0/0", in: "AQID", model: testModel, want: OpaqueValue([]byte{1, 2, 3})},
		{name: "corelnk", path: "/9999/0/0", in: "</3/0>", model: testModel, want: CorelnkValue("</3/0>")},
		{name: "resource instance", path: "/3/0/7/1", in: "5000", model: testModel, want: IntegerValue(5000)},
		{name: "bad integer", path: "/3/0/9", in: "1.5", model: testModel, err: ErrInvalidValue},
		{name: "bad unsigned", path: "/9999/0/1", in: "-1", model: testModel, err: ErrInvalidValue},
		{name: "bad float", path: "/6/0/0", in: "north", model: testModel, err: ErrInvalidValue},
		{name: "bad boolean", path: "/9999/0/3", in: "2", model: testModel, err: ErrInvalidValue},
		{name: "bad objlnk", path: "/3/0/22", in: "4", model: testModel, err: ErrInvalidValue},
		{name: "bad objlnk id", path: "/3/0/22", in: "4:70000", model: testModel, err: ErrInvalidValue},
		{name: "bad base64", path: "/5/0/0", in: "!!", model: testModel, err: ErrInvalidValue},
		{name: "not a resource", path: "/3/0", in: "x", err: ErrPathMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeText(mustPath(t, tc.path), []byte(tc.in), tc.model)
			checkErr(t, err, tc.err)
			if tc.err != nil {
				return
			}
			checkRecords(t, got, []Record{rec(t, tc.path, tc.want)})
			out, err := EncodeText(nil, mustPath(t, tc.path), got)
			checkErr(t, err, nil)
			if want := tc.in; tc.name == "boolean false" {
				if string(out) != "0" {
					t.Fatalf("EncodeText = %q, want 0", out)
				}
			} else if string(out) != want {
				t.Fatalf("EncodeText = %q, want %q", out, want)
			}
		})
	}
}

func TestEncodeTextErrors(t *testing.T) {
	p := ResourcePath(3, 0, 0)
	tests := []struct {
		name string
		recs []Record
		err  error
	}{
		{"two records", []Record{{Path: p, Value: StringValue("a")}, {Path: p, Value: StringValue("b")}}, ErrInvalidValue},
		{"other path", []Record{{Path: ResourcePath(3, 0, 1), Value: StringValue("a")}}, ErrPathMismatch},
		{"no value", []Record{{Path: p}}, ErrInvalidValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EncodeText(nil, p, tc.recs)
			checkErr(t, err, tc.err)
		})
	}
}

func TestOpaque(t *testing.T) {
	p := ResourcePath(5, 0, 0)
	in := []byte{0, 1, 0xfe, 0xff}
	got, err := DecodeOpaque(p, in)
	checkErr(t, err, nil)
	checkRecords(t, got, []Record{{Path: p, Value: OpaqueValue(in)}})
	in[0] = 9 // the record owns a copy
	if got[0].Value.Bytes()[0] != 0 {
		t.Fatal("DecodeOpaque aliases its input")
	}
	out, err := EncodeOpaque(nil, p, got)
	checkErr(t, err, nil)
	if string(out) != "\x00\x01\xfe\xff" {
		t.Fatalf("EncodeOpaque = % x", out)
	}
	_, err = EncodeOpaque(nil, p, []Record{{Path: p, Value: StringValue("x")}})
	checkErr(t, err, ErrInvalidValue)
	_, err = DecodeOpaque(InstancePath(5, 0), in)
	checkErr(t, err, ErrPathMismatch)
}

func TestDispatch(t *testing.T) {
	base := InstancePath(3, 0)
	recs := []Record{{Path: ResourcePath(3, 0, 0), Value: StringValue("Manifold")}, {Path: ResourcePath(3, 0, 9), Value: IntegerValue(88)}}
	for _, f := range []ContentFormat{FormatTLV, FormatTLVLegacy, FormatLwM2MJSON, FormatLwM2MJSONLegacy, FormatSenMLJSON, FormatSenMLCBOR} {
		t.Run(f.String(), func(t *testing.T) {
			b, err := Encode(f, nil, base, recs)
			checkErr(t, err, nil)
			got, err := Decode(f, base, b, testModel)
			checkErr(t, err, nil)
			checkRecords(t, got, recs)
		})
	}
	_, err := Decode(ContentFormat(50), base, nil, nil)
	checkErr(t, err, ErrUnsupportedFormat)
	_, err = Encode(FormatLinkFormat, nil, base, recs)
	checkErr(t, err, ErrUnsupportedFormat)
}

func TestSortRecords(t *testing.T) {
	recs := []Record{rec(t, "/3/0/7/1", IntegerValue(2)), rec(t, "/3/1/0", StringValue("b")), rec(t, "/3/0/10", IntegerValue(3)),
		rec(t, "/3/0/7/0", IntegerValue(1)), rec(t, "/3/0/0", StringValue("a"))}
	SortRecords(recs)
	var got []string
	for _, r := range recs {
		got = append(got, r.Path.String())
	}
	want := []string{"/3/0/0", "/3/0/7/0", "/3/0/7/1", "/3/0/10", "/3/1/0"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("SortRecords = %v, want %v", got, want)
		}
	}
	b, err := EncodeTLV(nil, ObjectPath(3), recs)
	checkErr(t, err, nil)
	back, err := DecodeTLV(ObjectPath(3), b, testModel)
	checkErr(t, err, nil)
	checkRecords(t, back, recs)
}

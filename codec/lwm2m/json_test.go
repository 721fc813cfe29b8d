package lwm2m

import (
	"math"
	"testing"
)

func TestDecodeSenMLJSON(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		model Model
		want  []Record
		err   error
	}{
		{name: "wakaama device read", model: testModel,
			in: `[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"6/0","v":1},{"n":"6/1","v":5},` +
				`{"n":"9","v":100},{"n":"13","v":1367491215},{"n":"22","vlo":"4:0"}]`,
			want: []Record{rec(t, "/3/0/0", StringValue("Open Mobile Alliance")), rec(t, "/3/0/6/0", IntegerValue(1)),
				rec(t, "/3/0/6/1", IntegerValue(5)), rec(t, "/3/0/9", IntegerValue(100)), rec(t, "/3/0/13", TimeValue(1367491215)),
				rec(t, "/3/0/22", ObjlnkValue(ObjectLink{4, 0}))}},
		{name: "single resource by base name", model: testModel, in: `[{"bn":"/3/0/9","v":42}]`,
			want: []Record{rec(t, "/3/0/9", IntegerValue(42))}},
		{name: "full names", model: testModel, in: `[{"n":"/6/0/0","v":43.5},{"n":"/9999/0/3","vb":true},{"n":"/5/0/0","vd":"AQL_"}]`,
			want: []Record{rec(t, "/6/0/0", FloatValue(43.5)), rec(t, "/9999/0/3", BooleanValue(true)), rec(t, "/5/0/0", OpaqueValue([]byte{1, 2, 0xff}))}},
		{name: "vd with padding and standard alphabet", in: `[{"n":"/5/0/0","vd":"AQL/"}]`, want: []Record{rec(t, "/5/0/0", OpaqueValue([]byte{1, 2, 0xff}))}},
		{name: "base name changes", in: `[{"bn":"/3/0/","n":"0","vs":"a"},{"bn":"/1/0/","n":"1","v":60}]`, model: testModel,
			want: []Record{rec(t, "/3/0/0", StringValue("a")), rec(t, "/1/0/1", IntegerValue(60))}},
		{name: "base time and time", in: `[{"bn":"/3/0/","bt":1000,"n":"9","v":1,"t":5},{"n":"9","v":2,"t":10},{"n":"9","v":3}]`, model: testModel,
			want: []Record{{Path: ResourcePath(3, 0, 9), Value: IntegerValue(1), Time: 1005}, {Path: ResourcePath(3, 0, 9), Value: IntegerValue(2), Time: 1010},
				{Path: ResourcePath(3, 0, 9), Value: IntegerValue(3), Time: 1000}}},
		{name: "base value", in: `[{"bn":"/3/0/","bv":10,"n":"9","v":5},{"n":"10","v":-3}]`, model: testModel,
			want: []Record{rec(t, "/3/0/9", IntegerValue(15)), rec(t, "/3/0/10", IntegerValue(7))}},
		{name: "integral float for integer", in: `[{"n":"/3/0/9","v":25.0}]`, model: testModel, want: []Record{rec(t, "/3/0/9", IntegerValue(25))}},
		{name: "float resource given integer", in: `[{"n":"/6/0/0","v":25}]`, model: testModel, want: []Record{rec(t, "/6/0/0", FloatValue(25))}},
		{name: "unsigned", in: `[{"n":"/9999/0/1","v":18446744073709551615}]`, model: testModel, want: []Record{rec(t, "/9999/0/1", UnsignedValue(math.MaxUint64))}},
		{name: "no model guesses", in: `[{"n":"/3/0/9","v":42},{"n":"/3/0/10","v":4.5},{"n":"/3/0/11","v":18446744073709551615}]`,
			want: []Record{rec(t, "/3/0/9", IntegerValue(42)), rec(t, "/3/0/10", FloatValue(4.5)), rec(t, "/3/0/11", UnsignedValue(math.MaxUint64))}},
		{name: "corelnk by model", in: `[{"n":"/9999/0/0","vs":"</1>"}]`, model: testModel, want: []Record{rec(t, "/9999/0/0", CorelnkValue("</1>"))}},
		{name: "read-composite names only", in: `[{"n":"/3/0/9"},{"n":"/1/0"}]`,
			want: []Record{rec(t, "/3/0/9", Value{}), rec(t, "/1/0", Value{})}},
		{name: "unknown fields ignored", in: `[{"n":"/3/0/9","v":1,"u":"%","x":{"y":[1]}}]`, model: testModel, want: []Record{rec(t, "/3/0/9", IntegerValue(1))}},
		{name: "bver 10", in: `[{"bver":10,"n":"/3/0/9","v":1}]`, model: testModel, want: []Record{rec(t, "/3/0/9", IntegerValue(1))}},
		{name: "empty pack", in: `[]`, want: nil},
		{name: "must understand", in: `[{"n":"/3/0/9","v":1,"foo_":1}]`, err: ErrSenML},
		{name: "bver 11", in: `[{"bver":11,"n":"/3/0/9","v":1}]`, err: ErrSenML},
		{name: "two values", in: `[{"n":"/3/0/9","v":1,"vs":"1"}]`, err: ErrSenML},
		{name: "no name", in: `[{"v":1}]`, err: ErrSenML},
		{name: "name not a path", in: `[{"n":"temperature","v":1}]`, err: ErrSenML},
		{name: "non-integral integer", in: `[{"n":"/3/0/9","v":1.5}]`, model: testModel, err: ErrInvalidValue},
		{name: "negative unsigned", in: `[{"n":"/9999/0/1","v":-1}]`, model: testModel, err: ErrInvalidValue},
		{name: "number for string resource", in: `[{"n":"/3/0/0","v":1}]`, model: testModel, err: ErrInvalidValue},
		{name: "bad vlo", in: `[{"n":"/3/0/22","vlo":"x"}]`, err: ErrInvalidValue},
		{name: "bad vd", in: `[{"n":"/5/0/0","vd":"*"}]`, err: ErrInvalidValue},
		{name: "v is a string", in: `[{"n":"/3/0/9","v":"1"}]`, err: ErrJSON},
		{name: "vs is a number", in: `[{"n":"/3/0/9","vs":1}]`, err: ErrJSON},
		{name: "not an array", in: `{"n":"/3/0/9"}`, err: ErrJSON},
		{name: "truncated", in: `[{"n":"/3/0/9"`, err: ErrJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeSenMLJSON(RootPath(), []byte(tc.in), tc.model)
			checkErr(t, err, tc.err)
			if tc.err == nil {
				checkRecords(t, got, tc.want)
			}
		})
	}
}

func TestEncodeSenMLJSON(t *testing.T) {
	tests := []struct {
		name string
		base string
		recs []Record
		want string
		err  error
	}{
		{name: "instance", base: "/3/0", recs: []Record{rec(t, "/3/0/0", StringValue("Open \"Mobile\"")), rec(t, "/3/0/6/0", IntegerValue(1)),
			rec(t, "/3/0/13", TimeValue(1367491215)), rec(t, "/3/0/22", ObjlnkValue(ObjectLink{4, 0}))},
			want: `[{"bn":"/3/0/","n":"0","vs":"Open \"Mobile\""},{"n":"6/0","v":1},{"n":"13","v":1367491215},{"n":"22","vlo":"4:0"}]`},
		{name: "resource equals base", base: "/3/0/9", recs: []Record{rec(t, "/3/0/9", IntegerValue(100))},
			want: `[{"n":"/3/0/9","v":100}]`},
		{name: "values", base: "/", recs: []Record{rec(t, "/6/0/0", FloatValue(-43.25)), rec(t, "/9999/0/3", BooleanValue(false)),
			rec(t, "/5/0/0", OpaqueValue([]byte{1, 2, 0xff})), rec(t, "/9999/0/1", UnsignedValue(math.MaxUint64)), rec(t, "/1/0", Value{})},
			want: `[{"n":"/6/0/0","v":-43.25},{"n":"/9999/0/3","vb":false},{"n":"/5/0/0","vd":"AQL_"},{"n":"/9999/0/1","v":18446744073709551615},{"n":"/1/0"}]`},
		{name: "time", base: "/3/0", recs: []Record{{Path: ResourcePath(3, 0, 9), Value: IntegerValue(1), Time: 1700000000.5}},
			want: `[{"bn":"/3/0/","n":"9","v":1,"t":1.7000000005e+09}]`},
		{name: "control characters", base: "/3/0", recs: []Record{rec(t, "/3/0/0", StringValue("a\n\x01\\\xff"))},
			want: `[{"bn":"/3/0/","n":"0","vs":"a\n\u0001\\\ufffd"}]`},
		{name: "NaN", base: "/6/0", recs: []Record{rec(t, "/6/0/0", FloatValue(math.NaN()))}, err: ErrInvalidValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EncodeSenMLJSON(nil, mustPath(t, tc.base), tc.recs)
			checkErr(t, err, tc.err)
			if tc.err == nil && string(got) != tc.want {
				t.Fatalf("EncodeSenMLJSON:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestDecodeLwM2MJSON(t *testing.T) {
	tests := []struct {
		name  string
		base  string
		in    string
		model Model
		want  []Record
		err   error
	}{
		// LwM2M 1.0.2 TS §6.4.4 Device object example (abridged).
		{name: "device", base: "/3/0", model: testModel,
			in: `{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"6/0","v":1},{"n":"6/1","v":5},` +
				`{"n":"13","v":1367491215},{"n":"14","sv":"+02:00"},{"n":"22","ov":"4:0"}]}`,
			want: []Record{rec(t, "/3/0/0", StringValue("Open Mobile Alliance")), rec(t, "/3/0/6/0", IntegerValue(1)),
				rec(t, "/3/0/6/1", IntegerValue(5)), rec(t, "/3/0/13", TimeValue(1367491215)), rec(t, "/3/0/14", StringValue("+02:00")),
				rec(t, "/3/0/22", ObjlnkValue(ObjectLink{4, 0}))}},
		{name: "no bn is relative to the request", base: "/6/0", model: testModel, in: `{"e":[{"n":"0","v":43.5},{"n":"1","v":-3}]}`,
			want: []Record{rec(t, "/6/0/0", FloatValue(43.5)), rec(t, "/6/0/1", FloatValue(-3))}},
		{name: "single resource", base: "/3/0/9", model: testModel, in: `{"bn":"/3/0/9/","e":[{"n":"","v":100}]}`,
			want: []Record{rec(t, "/3/0/9", IntegerValue(100))}},
		{name: "opaque is base64 sv", base: "/5/0", model: testModel, in: `{"bn":"/5/0/","e":[{"n":"0","sv":"AQID"}]}`,
			want: []Record{rec(t, "/5/0/0", OpaqueValue([]byte{1, 2, 3}))}},
		{name: "boolean bv and times", base: "/9999/0", model: testModel, in: `{"bn":"/9999/0/","bt":100,"e":[{"n":"3","bv":true,"t":-5}]}`,
			want: []Record{{Path: ResourcePath(9999, 0, 3), Value: BooleanValue(true), Time: 95}}},
		{name: "two values", base: "/3/0", in: `{"e":[{"n":"9","v":1,"sv":"x"}]}`, err: ErrSenML},
		{name: "bad path", base: "/3/0", in: `{"bn":"x","e":[{"n":"9","v":1}]}`, err: ErrSenML},
		{name: "bad base64", base: "/5/0", model: testModel, in: `{"e":[{"n":"0","sv":"**"}]}`, err: ErrInvalidValue},
		{name: "not json", base: "/3/0", in: `{"e":[`, err: ErrJSON},
		{name: "e not a list", base: "/3/0", in: `{"e":1}`, err: ErrJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeLwM2MJSON(mustPath(t, tc.base), []byte(tc.in), tc.model)
			checkErr(t, err, tc.err)
			if tc.err == nil {
				checkRecords(t, got, tc.want)
			}
		})
	}
}

func TestEncodeLwM2MJSON(t *testing.T) {
	got, err := EncodeLwM2MJSON(nil, InstancePath(3, 0), []Record{rec(t, "/3/0/0", StringValue("Manifold")), rec(t, "/3/0/6/0", IntegerValue(1)),
		rec(t, "/3/0/13", TimeValue(5)), rec(t, "/3/0/22", ObjlnkValue(ObjectLink{4, 0})), rec(t, "/3/0/23", BooleanValue(true)),
		rec(t, "/3/0/24", OpaqueValue([]byte{1, 2, 3})), rec(t, "/3/0/25", FloatValue(0.5)), rec(t, "/3/0/26", UnsignedValue(7))})
	checkErr(t, err, nil)
	want := `{"bn":"/3/0/","e":[{"n":"0","sv":"Manifold"},{"n":"6/0","v":1},{"n":"13","v":5},{"n":"22","ov":"4:0"},` +
		`{"n":"23","bv":true},{"n":"24","sv":"AQID"},{"n":"25","v":0.5},{"n":"26","v":7}]}`
	if string(got) != want {
		t.Fatalf("EncodeLwM2MJSON:\n got %s\nwant %s", got, want)
	}
	got, err = EncodeLwM2MJSON(nil, ResourcePath(3, 0, 9), []Record{rec(t, "/3/0/9", IntegerValue(9))})
	checkErr(t, err, nil)
	if string(got) != `{"bn":"/3/0/9/","e":[{"n":"","v":9}]}` {
		t.Fatalf("EncodeLwM2MJSON = %s", got)
	}
	_, err = EncodeLwM2MJSON(nil, InstancePath(3, 0), []Record{rec(t, "/4/0/0", IntegerValue(1))})
	checkErr(t, err, ErrPathMismatch)
	_, err = EncodeLwM2MJSON(nil, InstancePath(6, 0), []Record{rec(t, "/6/0/0", FloatValue(math.Inf(1)))})
	checkErr(t, err, ErrInvalidValue)
}

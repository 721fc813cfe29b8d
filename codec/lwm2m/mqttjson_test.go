package lwm2m

import (
	"encoding/json"
	"math"
	"testing"
)

func TestContentJSON(t *testing.T) {
	tests := []struct {
		name string
		recs []Record
		want string
	}{
		{name: "device read", recs: []Record{rec(t, "/3/0/0", StringValue("Manifold")), rec(t, "/3/0/9", IntegerValue(95)),
			rec(t, "/3/0/7/0", IntegerValue(3800)), rec(t, "/3/0/13", TimeValue(1700000000))},
			want: `[{"path":"/3/0/0","value":"Manifold"},{"path":"/3/0/9","value":95},{"path":"/3/0/7/0","value":3800},{"path":"/3/0/13","value":1700000000}]`},
		{name: "every type", recs: []Record{rec(t, "/6/0/0", FloatValue(43.5)), rec(t, "/9999/0/3", BooleanValue(true)),
			rec(t, "/5/0/0", OpaqueValue([]byte{1, 2, 3})), rec(t, "/3/0/22", ObjlnkValue(ObjectLink{4, 0})),
			rec(t, "/9999/0/1", UnsignedValue(math.MaxUint64)), rec(t, "/9999/0/0", CorelnkValue(`</1>;rt="x"`)), rec(t, "/1/0", Value{})},
			want: `[{"path":"/6/0/0","value":43.5},{"path":"/9999/0/3","value":true},{"path":"/5/0/0","value":"AQID"},` +
				`{"path":"/3/0/22","value":"4:0"},{"path":"/9999/0/1","value":18446744073709551615},{"path":"/9999/0/0","value":"\u003c/1\u003e;rt=\"x\""},{"path":"/1/0","value":null}]`},
		{name: "non-finite floats", recs: []Record{rec(t, "/6/0/0", FloatValue(math.NaN())), rec(t, "/6/0/1", FloatValue(math.Inf(-1)))},
			want: `[{"path":"/6/0/0","value":"NaN"},{"path":"/6/0/1","value":"-Inf"}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(Content(tc.recs))
			checkErr(t, err, nil)
			if string(got) != tc.want {
				t.Fatalf("Content JSON:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestLinkContent(t *testing.T) {
	links, err := DecodeLinkFormat([]byte(`</3/0>;pmin=10,</3/0/1>`))
	checkErr(t, err, nil)
	got, _ := json.Marshal(LinkContent(links))
	if string(got) != `["\u003c/3/0\u003e;pmin=10","\u003c/3/0/1\u003e"]` {
		t.Fatalf("LinkContent = %s", got)
	}
}

func TestParseWrite(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		model Model
		base  string
		want  []Record
		err   error
	}{
		{name: "single typed", in: `{"path":"/3/0/13","type":"Time","value":1700000000}`, base: "/3/0/13",
			want: []Record{rec(t, "/3/0/13", TimeValue(1700000000))}},
		{name: "single by model", in: `{"path":"/1/0/1","value":"300"}`, model: testModel, base: "/1/0/1",
			want: []Record{rec(t, "/1/0/1", IntegerValue(300))}},
		{name: "type overrides model", in: `{"path":"/1/0/1","type":"String","value":"300"}`, model: testModel, base: "/1/0/1",
			want: []Record{rec(t, "/1/0/1", StringValue("300"))}},
		{name: "batch relative and absolute", model: testModel, base: "/3/0",
			in:   `{"basePath":"/3/0","content":[{"path":"14","type":"String","value":"+01:00"},{"path":"/3/0/13","value":5},{"path":"7/1","value":4000}]}`,
			want: []Record{rec(t, "/3/0/14", StringValue("+01:00")), rec(t, "/3/0/13", TimeValue(5)), rec(t, "/3/0/7/1", IntegerValue(4000))}},
		{name: "every type", model: testModel, base: "/9999/0",
			in: `{"basePath":"/9999/0","content":[{"path":"0","type":"Corelnk","value":"</1>"},{"path":"1","type":"Unsigned Integer","value":18446744073709551615},` +
				`{"path":"2","type":"Float","value":"2.5"},{"path":"3","type":"Boolean","value":1},{"path":"4","type":"Opaque","value":"AQID"},` +
				`{"path":"5","type":"Objlnk","value":"4:0"},{"path":"6","type":"Boolean","value":"false"},{"path":"7","type":"Integer","value":-7}]}`,
			want: []Record{rec(t, "/9999/0/0", CorelnkValue("</1>")), rec(t, "/9999/0/1", UnsignedValue(math.MaxUint64)),
				rec(t, "/9999/0/2", FloatValue(2.5)), rec(t, "/9999/0/3", BooleanValue(true)), rec(t, "/9999/0/4", OpaqueValue([]byte{1, 2, 3})),
				rec(t, "/9999/0/5", ObjlnkValue(ObjectLink{4, 0})), rec(t, "/9999/0/6", BooleanValue(false)), rec(t, "/9999/0/7", IntegerValue(-7))}},
		{name: "time as RFC 3339", in: `{"path":"/3/0/13","value":"2023-11-14T22:13:20Z"}`, model: testModel, base: "/3/0/13",
			want: []Record{rec(t, "/3/0/13", TimeValue(1700000000))}},
		{name: "bad time string", in: `{"path":"/3/0/13","value":"yesterday"}`, model: testModel, err: ErrInvalidValue},
		{name: "no type known", in: `{"path":"/3/0/99","value":1}`, model: testModel, err: ErrWriteCommand},
		{name: "unknown type", in: `{"path":"/3/0/13","type":"Date","value":1}`, err: ErrWriteCommand},
		{name: "not a resource", in: `{"path":"/3/0","type":"Integer","value":1}`, err: ErrWriteCommand},
		{name: "bad path", in: `{"path":"3/0/1","type":"Integer","value":1}`, err: ErrWriteCommand},
		{name: "no path", in: `{"value":1}`, err: ErrWriteCommand},
		{name: "missing value", in: `{"path":"/3/0/13","type":"Time"}`, err: ErrInvalidValue},
		{name: "string for integer", in: `{"path":"/3/0/9","type":"Integer","value":"abc"}`, err: ErrInvalidValue},
		{name: "number for string", in: `{"path":"/3/0/0","type":"String","value":5}`, err: ErrInvalidValue},
		{name: "bad boolean", in: `{"path":"/3/0/0","type":"Boolean","value":"yes"}`, err: ErrInvalidValue},
		{name: "outside base", in: `{"basePath":"/3/0","content":[{"path":"/4/0/0","type":"Integer","value":1}]}`, err: ErrPathMismatch},
		{name: "empty content", in: `{"basePath":"/3/0","content":[]}`, err: ErrWriteCommand},
		{name: "bad basePath", in: `{"basePath":"3","content":[{"path":"0","type":"Integer","value":1}]}`, err: ErrInvalidPath},
		{name: "not json", in: `{"path":`, err: ErrWriteCommand},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base, recs, err := ParseWrite([]byte(tc.in), tc.model)
			checkErr(t, err, tc.err)
			if tc.err != nil {
				return
			}
			if base.String() != tc.base {
				t.Fatalf("base = %s, want %s", base, tc.base)
			}
			checkRecords(t, recs, tc.want)
		})
	}
}

// TestWriteToWire shows the whole downlink path the gateway glues together:
// an MQTT write command becomes a TLV and a SenML JSON payload.
func TestWriteToWire(t *testing.T) {
	base, recs, err := ParseWrite([]byte(`{"basePath":"/1/0","content":[{"path":"1","value":300},{"path":"7","value":"UQ"}]}`), testModel)
	checkErr(t, err, nil)
	tlv, err := EncodeTLV(nil, base, recs)
	checkErr(t, err, nil)
	if want := unhex(t, "C2 01 01 2C C2 07 55 51"); string(tlv) != string(want) {
		t.Fatalf("TLV = % X, want % X", tlv, want)
	}
	senml, err := EncodeSenMLJSON(nil, base, recs)
	checkErr(t, err, nil)
	if string(senml) != `[{"bn":"/1/0/","n":"1","v":300},{"n":"7","vs":"UQ"}]` {
		t.Fatalf("SenML = %s", senml)
	}
}

func TestResponse(t *testing.T) {
	tests := []struct {
		name    string
		path    Path
		code    uint8
		content any
		want    string
	}{
		{"read", ResourcePath(3, 0, 0), 0x45, Content([]Record{rec(t, "/3/0/0", StringValue("Manifold"))}),
			`{"reqPath":"/3/0/0","code":"2.05","codeMsg":"content","content":[{"path":"/3/0/0","value":"Manifold"}]}`},
		{"write", ResourcePath(1, 0, 1), 0x44, nil, `{"reqPath":"/1/0/1","code":"2.04","codeMsg":"changed"}`},
		{"discover", InstancePath(3, 0), 0x45, []string{"</3/0/1>"},
			`{"reqPath":"/3/0","code":"2.05","codeMsg":"content","content":["\u003c/3/0/1\u003e"]}`},
		{"not found", ResourcePath(3, 0, 99), 0x84, nil, `{"reqPath":"/3/0/99","code":"4.04","codeMsg":"not_found"}`},
		{"unsupported format", InstancePath(3, 0), 0x8f, nil, `{"reqPath":"/3/0","code":"4.15","codeMsg":"unsupported_content_format"}`},
		{"server error", ObjectPath(3), 0xa3, nil, `{"reqPath":"/3","code":"5.03","codeMsg":"service_unavailable"}`},
		{"unregistered", ObjectPath(3), 0x9f, nil, `{"reqPath":"/3","code":"4.31","codeMsg":"unknown"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(NewResponse(tc.path, tc.code, tc.content))
			checkErr(t, err, nil)
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

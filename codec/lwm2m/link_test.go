package lwm2m

import (
	"reflect"
	"testing"
)

func TestDecodeLinkFormat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Link
		err  error
	}{
		{name: "register payload", in: `</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</5>;ver=1.1`,
			want: []Link{{Target: "/", Params: []LinkParam{{Name: "rt", Value: "oma.lwm2m", Quoted: true}, {Name: "ct", Value: "11543"}}},
				{Target: "/1/0"}, {Target: "/3/0"}, {Target: "/5", Params: []LinkParam{{Name: "ver", Value: "1.1"}}}}},
		{name: "discover with attributes", in: "</3/0>;pmin=10;pmax=60,</3/0/1>,</3/0/7>;dim=2;obs",
			want: []Link{{Target: "/3/0", Params: []LinkParam{{Name: "pmin", Value: "10"}, {Name: "pmax", Value: "60"}}},
				{Target: "/3/0/1"}, {Target: "/3/0/7", Params: []LinkParam{{Name: "dim", Value: "2"}, {Name: "obs"}}}}},
		{name: "whitespace and quoted separators", in: " </a> ; title=\"x, y; \\\"z\\\"\" ,\n </b>",
			want: []Link{{Target: "/a", Params: []LinkParam{{Name: "title", Value: `x, y; "z"`, Quoted: true}}}, {Target: "/b"}}},
		{name: "ct list", in: `</>;ct="60 110 112 11542 11543"`,
			want: []Link{{Target: "/", Params: []LinkParam{{Name: "ct", Value: "60 110 112 11542 11543", Quoted: true}}}}},
		{name: "empty", in: "", want: nil},
		{name: "no angle bracket", in: "/3/0", err: ErrLinkFormat},
		{name: "unterminated target", in: "</3/0", err: ErrLinkFormat},
		{name: "unterminated quote", in: `</3/0>;rt="x`, err: ErrLinkFormat},
		{name: "empty value", in: `</3/0>;pmin=`, err: ErrLinkFormat},
		{name: "empty parameter", in: `</3/0>;;pmin=1`, err: ErrLinkFormat},
		{name: "garbage after link", in: `</3/0> x`, err: ErrLinkFormat},
		{name: "trailing comma", in: `</3/0>,`, err: ErrLinkFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeLinkFormat([]byte(tc.in))
			checkErr(t, err, tc.err)
			if tc.err != nil {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("DecodeLinkFormat:\n got %+v\nwant %+v", got, tc.want)
			}
			again, err := DecodeLinkFormat(EncodeLinkFormat(nil, got))
			checkErr(t, err, nil)
			if !reflect.DeepEqual(again, got) {
				t.Fatalf("re-decoded %+v, want %+v", again, got)
			}
		})
	}
}

func TestEncodeLinkFormat(t *testing.T) {
	links := []Link{{Target: "/", Params: []LinkParam{{Name: "rt", Value: "oma.lwm2m", Quoted: true}}},
		{Target: "/3/0", Params: []LinkParam{{Name: "pmin", Value: "10"}, {Name: "obs"}, {Name: "title", Value: `a "b"`}}}}
	if got := string(EncodeLinkFormat(nil, links)); got != `</>;rt="oma.lwm2m",</3/0>;pmin=10;obs;title="a \"b\""` {
		t.Fatalf("EncodeLinkFormat = %s", got)
	}
	if v, ok := links[1].Param("pmin"); !ok || v != "10" {
		t.Fatal("Param(pmin)")
	}
	if _, ok := links[1].Param("pmax"); ok {
		t.Fatal("Param(pmax) found")
	}
	if p, err := links[1].Path(); err != nil || p != InstancePath(3, 0) {
		t.Fatalf("Path = %v, %v", p, err)
	}
}

func TestParseRegistration(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		alt     string
		objects []string
		vers    map[uint16]string
		err     error
	}{
		{name: "wakaama", in: `</>;rt="oma.lwm2m";ct=11543,</1/0>,</2/0>,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>,</31024>;ver=1.1,</31024/10>`,
			alt: "/", objects: []string{"/1/0", "/2/0", "/3/0", "/4/0", "/5/0", "/6/0", "/7/0", "/31024", "/31024/10"}, vers: map[uint16]string{31024: "1.1"}},
		{name: "no root link", in: `</1/0>,</3/0>`, alt: "/", objects: []string{"/1/0", "/3/0"}},
		{name: "alternate path", in: `</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>,</lwm2m/3/0>`, alt: "/lwm2m", objects: []string{"/1/0", "/3/0"}},
		{name: "outside alternate path", in: `</lwm2m>;rt="oma.lwm2m",</1/0>`, err: ErrLinkFormat},
		{name: "resource path", in: `</3/0/1>`, err: ErrLinkFormat},
		{name: "not a path", in: `</sensors/temp>`, err: ErrLinkFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			links, err := DecodeLinkFormat([]byte(tc.in))
			checkErr(t, err, nil)
			reg, err := ParseRegistration(links)
			checkErr(t, err, tc.err)
			if tc.err != nil {
				return
			}
			if reg.AlternatePath != tc.alt || !reflect.DeepEqual(reg.ObjectList(), tc.objects) || !reflect.DeepEqual(reg.Versions, tc.vers) {
				t.Fatalf("got %q %v %v, want %q %v %v", reg.AlternatePath, reg.ObjectList(), reg.Versions, tc.alt, tc.objects, tc.vers)
			}
		})
	}
}

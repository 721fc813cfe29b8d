package lwm2m

import (
	"testing"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		in, out string
		depth   int
		ids     [4]uint16
		err     bool
	}{
		{in: "/", out: "/", depth: 0},
		{in: "/3", out: "/3", depth: 1, ids: [4]uint16{3}},
		{in: "/3/0", out: "/3/0", depth: 2, ids: [4]uint16{3, 0}},
		{in: "/3/0/", out: "/3/0", depth: 2, ids: [4]uint16{3, 0}},
		{in: "/3/0/1", out: "/3/0/1", depth: 3, ids: [4]uint16{3, 0, 1}},
		{in: "/3/0/7/1", out: "/3/0/7/1", depth: 4, ids: [4]uint16{3, 0, 7, 1}},
		{in: "/65534/65534/65534/65534", out: "/65534/65534/65534/65534", depth: 4, ids: [4]uint16{65534, 65534, 65534, 65534}},
		{in: "/007", out: "/7", depth: 1, ids: [4]uint16{7}},
		{in: "", err: true},
		{in: "3/0", err: true},
		{in: "//", err: true},
		{in: "/3//0", err: true},
		{in: "/3/0//", err: true},
		{in: "/65535", err: true},
		{in: "/100000", err: true},
		{in: "/-1", err: true},
		{in: "/3/x", err: true},
		{in: "/1/2/3/4/5", err: true},
		{in: "/ 3", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			p, err := ParsePath(tc.in)
			if tc.err {
				checkErr(t, err, ErrInvalidPath)
				return
			}
			checkErr(t, err, nil)
			if p.String() != tc.out || p.Depth() != tc.depth {
				t.Fatalf("got %s depth %d, want %s depth %d", p, p.Depth(), tc.out, tc.depth)
			}
			for i := 0; i < 4; i++ {
				if p.ID(i) != tc.ids[i] {
					t.Fatalf("ID(%d) = %d, want %d", i, p.ID(i), tc.ids[i])
				}
			}
		})
	}
}

func TestPathRelations(t *testing.T) {
	res := ResourcePath(3, 0, 7)
	ri := ResourceInstancePath(3, 0, 7, 1)
	if !ri.Under(res) || !ri.Under(ObjectPath(3)) || !ri.Under(RootPath()) || !res.Under(res) {
		t.Error("Under misses ancestors")
	}
	if res.Under(ri) || ri.Under(ResourcePath(3, 0, 8)) || ri.Under(ObjectPath(4)) {
		t.Error("Under accepts non-ancestors")
	}
	if ri.Parent() != res || RootPath().Parent() != RootPath() {
		t.Error("Parent")
	}
	if c, err := res.Child(1); err != nil || c != ri {
		t.Errorf("Child = %v, %v", c, err)
	}
	if _, err := ri.Child(0); err == nil {
		t.Error("a resource instance has no children")
	}
	if _, err := res.Child(65535); err == nil {
		t.Error("id 65535 is reserved")
	}
	if !res.Less(ri) || ri.Less(res) || !ResourcePath(3, 0, 2).Less(ResourcePath(3, 0, 10)) {
		t.Error("Less")
	}
	if !res.IsResource() || !ri.IsResourceInstance() || !ObjectPath(1).IsObject() || !InstancePath(1, 0).IsInstance() || !RootPath().IsRoot() {
		t.Error("Is*")
	}
	var p Path
	if err := p.UnmarshalText([]byte("/5/0/1")); err != nil || p != ResourcePath(5, 0, 1) {
		t.Errorf("UnmarshalText = %v, %v", p, err)
	}
	if b, _ := p.MarshalText(); string(b) != "/5/0/1" {
		t.Errorf("MarshalText = %s", b)
	}
}

func TestParseType(t *testing.T) {
	for s, want := range map[string]Type{
		"String": TypeString, "integer": TypeInteger, "Unsigned Integer": TypeUnsigned, "Float": TypeFloat,
		"Boolean": TypeBoolean, "Opaque": TypeOpaque, "Time": TypeTime, "Objlnk": TypeObjlnk, "Corelnk": TypeCorelnk,
		"": TypeNone, " none ": TypeNone,
	} {
		got, err := ParseType(s)
		if err != nil || got != want {
			t.Errorf("ParseType(%q) = %v, %v; want %v", s, got, err, want)
		}
		if s != "" && s != " none " && s != "integer" && got.String() != s {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), s)
		}
	}
	if _, err := ParseType("Decimal"); err == nil {
		t.Error("ParseType accepted an unknown type")
	}
}

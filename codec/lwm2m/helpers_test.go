package lwm2m

import (
	"errors"
	"reflect"
	"testing"
)

// testModel types the resources the tests use: the Device object (3) as in
// LwM2M 1.1 TS Core Appendix E.4, plus a few others.
var testModel = ModelFunc(func(obj, res uint16) (Type, bool) {
	t, ok := testTypes[obj][res]
	return t, ok
})

var testTypes = map[uint16]map[uint16]Type{
	1: {0: TypeInteger, 1: TypeInteger, 6: TypeBoolean, 7: TypeString, 10: TypeObjlnk, 11: TypeUnsigned, 12: TypeTime},
	3: {0: TypeString, 1: TypeString, 2: TypeString, 3: TypeString, 4: TypeNone, 6: TypeInteger, 7: TypeInteger,
		8: TypeInteger, 9: TypeInteger, 10: TypeInteger, 11: TypeInteger, 13: TypeTime, 14: TypeString,
		15: TypeString, 16: TypeString, 22: TypeObjlnk},
	5:     {0: TypeOpaque, 1: TypeString, 3: TypeInteger},
	6:     {0: TypeFloat, 1: TypeFloat, 5: TypeTime},
	9999:  {0: TypeCorelnk, 1: TypeUnsigned, 2: TypeFloat, 3: TypeBoolean},
	65534: {65534: TypeInteger},
}

func mustPath(t testing.TB, s string) Path {
	t.Helper()
	p, err := ParsePath(s)
	if err != nil {
		t.Fatalf("ParsePath(%q): %v", s, err)
	}
	return p
}

func rec(t testing.TB, path string, v Value) Record {
	return Record{Path: mustPath(t, path), Value: v}
}

func checkRecords(t *testing.T, got, want []Record) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records:\n got %v\nwant %v", got, want)
	}
}

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

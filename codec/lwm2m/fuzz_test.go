package lwm2m

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

// sentinels are every error this package wraps; a decoder error that is none
// of them is a bug.
var sentinels = []error{ErrInvalidPath, ErrPathMismatch, ErrInvalidValue, ErrUnsupportedFormat, ErrTLVTruncated,
	ErrTLVStructure, ErrJSON, ErrSenML, ErrCBOR, ErrLinkFormat, ErrTooLarge, ErrWriteCommand}

func checkSentinel(t *testing.T, err error) {
	t.Helper()
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error %v wraps no package sentinel", err)
}

// fuzzBases are the request paths the fuzzers decode against.
var fuzzBases = []Path{RootPath(), ObjectPath(3), InstancePath(3, 0), ResourcePath(3, 0, 7), ResourceInstancePath(3, 0, 7, 1),
	InstancePath(9999, 0), ResourcePath(6, 0, 0), ResourcePath(5, 0, 0), ResourcePath(9999, 0, 3)}

// equivalent compares decoded records, treating numbers of equal value as
// equal (a Float 5.0 re-encodes as 5 and decodes as Integer when no model
// types it) and NaN as equal to NaN.
func equivalent(a, b []Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Path != b[i].Path || !sameFloat(a[i].Time, b[i].Time) {
			return false
		}
		va, vb := a[i].Value, b[i].Value
		if reflect.DeepEqual(va, vb) {
			continue
		}
		fa, oka := numeric(va)
		fb, okb := numeric(vb)
		if !oka || !okb || !sameFloat(fa, fb) {
			return false
		}
	}
	return true
}

func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func numeric(v Value) (float64, bool) {
	switch v.Type() {
	case TypeInteger, TypeTime:
		return float64(v.Int()), true
	case TypeUnsigned:
		return float64(v.Uint()), true
	case TypeFloat:
		return v.Float(), true
	}
	return 0, false
}

// fuzzRoundTrip decodes data, and when that succeeds encodes the records and
// decodes them again, expecting the same records.
func fuzzRoundTrip(t *testing.T, f ContentFormat, base Path, data []byte) {
	recs, err := Decode(f, base, data, testModel)
	if err != nil {
		checkSentinel(t, err)
		return
	}
	if len(recs) > MaxRecords {
		t.Fatalf("%d records", len(recs))
	}
	encBase := base
	if f == FormatSenMLJSON || f == FormatSenMLCBOR {
		encBase = RootPath()
	}
	enc, err := Encode(f, nil, encBase, recs)
	if err != nil {
		// Values JSON cannot carry (NaN, ±Inf from a SenML sum) and LwM2M
		// JSON names outside the request path are the only reasons.
		if !errors.Is(err, ErrInvalidValue) && !errors.Is(err, ErrPathMismatch) {
			t.Fatalf("Encode of %v: %v", recs, err)
		}
		return
	}
	back, err := Decode(f, encBase, enc, testModel)
	if err != nil {
		t.Fatalf("Decode of re-encoded %q: %v (records %v)", enc, err, recs)
	}
	if !equivalent(recs, back) {
		t.Fatalf("round trip:\n got %v\nwant %v\nwire %q", back, recs, enc)
	}
}

func FuzzDecodeTLV(f *testing.F) {
	f.Add(byte(2), unhex(f, deviceTLV))
	f.Add(byte(1), unhex(f, "08 00 06 C1 00 01 C1 01 3C 08 01 07 C1 00 02 C2 01 0E 10"))
	f.Add(byte(3), unhex(f, "88 07 08 42 00 0E D8 42 01 13 88"))
	f.Add(byte(5), unhex(f, "C4 01 FF FF FF FF C4 02 3F C0 00 00 C1 03 01 C3 00 3C 2F 3E"))
	f.Add(byte(4), unhex(f, "42 01 13 88"))
	f.Fuzz(func(t *testing.T, b byte, data []byte) {
		fuzzRoundTrip(t, FormatTLV, fuzzBases[int(b)%len(fuzzBases)], data)
	})
}

func FuzzDecodeText(f *testing.F) {
	f.Add(byte(6), []byte("43.61"))
	f.Add(byte(8), []byte("1"))
	f.Add(byte(7), []byte("AQID"))
	f.Add(byte(3), []byte("-5"))
	f.Fuzz(func(t *testing.T, b byte, data []byte) {
		fuzzRoundTrip(t, FormatText, fuzzBases[int(b)%len(fuzzBases)], data)
	})
}

func FuzzDecodeOpaque(f *testing.F) {
	f.Add(byte(7), []byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, b byte, data []byte) {
		fuzzRoundTrip(t, FormatOpaque, fuzzBases[int(b)%len(fuzzBases)], data)
	})
}

func FuzzDecodeLwM2MJSON(f *testing.F) {
	f.Add(byte(2), []byte(`{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"6/0","v":1},{"n":"13","v":1367491215},{"n":"22","ov":"4:0"}]}`))
	f.Add(byte(5), []byte(`{"bn":"/9999/0/","bt":100,"e":[{"n":"3","bv":true,"t":-5},{"n":"2","v":1.5}]}`))
	f.Add(byte(7), []byte(`{"e":[{"n":"","sv":"AQID"}]}`))
	f.Fuzz(func(t *testing.T, b byte, data []byte) {
		fuzzRoundTrip(t, FormatLwM2MJSON, fuzzBases[int(b)%len(fuzzBases)], data)
	})
}

func FuzzDecodeSenMLJSON(f *testing.F) {
	f.Add([]byte(`[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"6/0","v":1},{"n":"13","v":1367491215},{"n":"22","vlo":"4:0"}]`))
	f.Add([]byte(`[{"bn":"/3/0/","bt":1000,"bv":10,"n":"9","v":1,"t":5},{"n":"/5/0/0","vd":"AQL_"},{"n":"/9999/0/3","vb":true}]`))
	f.Add([]byte(`[{"n":"/3/0/9"},{"n":"/1/0"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, FormatSenMLJSON, RootPath(), data)
	})
}

func FuzzDecodeSenMLCBOR(f *testing.F) {
	f.Add(unhex(f, "83 A3 21 65 2F 33 2F 30 2F 00 61 30 03 62 61 62  A2 00 61 39 02 18 64  A2 00 62 31 30 02 F9 3E 00"))
	f.Add(unhex(f, "9F BF 00 66 2F 33 2F 30 2F 39 02 20 FF FF"))
	f.Add(unhex(f, "83 A2 00 66 2F 35 2F 30 2F 30 08 43 01 02 03  A2 00 67 2F 33 2F 30 2F 32 32 63 76 6C 6F 63 34 3A 30  A2 00 69 2F 39 39 39 39 2F 30 2F 33 04 F5"))
	f.Add(unhex(f, "81 A4 22 19 03 E8 00 66 2F 33 2F 30 2F 39 02 01 06 05"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, FormatSenMLCBOR, RootPath(), data)
	})
}

func FuzzDecodeLinkFormat(f *testing.F) {
	f.Add([]byte(`</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</5>;ver=1.1`))
	f.Add([]byte("</3/0>;pmin=10;pmax=60,</3/0/1>,</3/0/7>;dim=2;obs"))
	f.Add([]byte(" </a> ; title=\"x, y; \\\"z\\\"\" ,\n </b>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		links, err := DecodeLinkFormat(data)
		if err != nil {
			checkSentinel(t, err)
			return
		}
		if _, err := ParseRegistration(links); err != nil {
			checkSentinel(t, err)
		}
		enc := EncodeLinkFormat(nil, links)
		back, err := DecodeLinkFormat(enc)
		if err != nil || !reflect.DeepEqual(back, links) {
			t.Fatalf("round trip of %q via %q: %+v, %v; want %+v", data, enc, back, err, links)
		}
	})
}

// FuzzDecodeWriteCommand checks that MQTT write commands, which come from
// any MQTT client, never panic and always encode once accepted.
func FuzzDecodeWriteCommand(f *testing.F) {
	f.Add([]byte(`{"path":"/3/0/13","type":"Time","value":1700000000}`))
	f.Add([]byte(`{"basePath":"/3/0","content":[{"path":"14","type":"String","value":"+01:00"},{"path":"/3/0/13","value":5},{"path":"7/1","value":4000}]}`))
	f.Add([]byte(`{"basePath":"/9999/0","content":[{"path":"4","type":"Opaque","value":"AQID"},{"path":"5","type":"Objlnk","value":"4:0"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		base, recs, err := ParseWrite(data, testModel)
		if err != nil {
			checkSentinel(t, err)
			return
		}
		if _, err := EncodeTLV(nil, base, recs); err != nil {
			t.Fatalf("EncodeTLV of accepted write %s: %v", data, err)
		}
	})
}

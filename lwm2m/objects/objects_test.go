package objects

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	codec "github.com/manifold-iot/manifold/codec/lwm2m"
)

// configDir is the shipped definitions folder, relative to this package.
var configDir = filepath.Join("..", "..", DefaultDir)

func loadShipped(t *testing.T) *Registry {
	t.Helper()
	r, err := LoadDir(configDir)
	if err != nil {
		t.Fatalf("LoadDir(%s): %v", configDir, err)
	}
	return r
}

func TestShippedObjects(t *testing.T) {
	r := loadShipped(t)
	var ids []uint16
	for _, o := range r.Objects() {
		ids = append(ids, o.ID)
	}
	if len(ids) != 8 {
		t.Fatalf("objects %v, want 0..7", ids)
	}
	for i, id := range ids {
		if id != uint16(i) {
			t.Fatalf("objects %v, want 0..7", ids)
		}
	}
	objects := []struct {
		id        uint16
		name, urn string
		multiple  bool
		mandatory bool
		resources int
	}{
		{0, "LWM2M Security", "urn:oma:lwm2m:oma:0:1.1", true, true, 18},
		{1, "LwM2M Server", "urn:oma:lwm2m:oma:1:1.1", true, true, 24},
		{2, "LwM2M Access Control", "urn:oma:lwm2m:oma:2", true, false, 4},
		{3, "Device", "urn:oma:lwm2m:oma:3", false, true, 23},
		{4, "Connectivity Monitoring", "urn:oma:lwm2m:oma:4", false, false, 11},
		{5, "Firmware Update", "urn:oma:lwm2m:oma:5", false, false, 9},
		{6, "Location", "urn:oma:lwm2m:oma:6", false, false, 7},
		{7, "Connectivity Statistics", "urn:oma:lwm2m:oma:7", false, false, 9},
	}
	for _, want := range objects {
		o, ok := r.Object(want.id)
		if !ok {
			t.Fatalf("object %d missing", want.id)
		}
		if o.Name != want.name || o.URN != want.urn || o.Multiple != want.multiple || o.Mandatory != want.mandatory || len(o.Resources) != want.resources {
			t.Errorf("object %d = %q %q multiple=%v mandatory=%v %d resources; want %+v", o.ID, o.Name, o.URN, o.Multiple, o.Mandatory, len(o.Resources), want)
		}
	}
	resources := []struct {
		path      string
		name      string
		ops       string
		typ       codec.Type
		multiple  bool
		mandatory bool
	}{
		{"/0/0/0", "LWM2M Server URI", "", codec.TypeString, false, true},
		{"/0/0/2", "Security Mode", "", codec.TypeInteger, false, true},
		{"/0/0/3", "Public Key or Identity", "", codec.TypeOpaque, false, true},
		{"/0/0/10", "Short Server ID", "", codec.TypeInteger, false, false},
		{"/0/0/16", "DTLS/TLS Ciphersuite", "", codec.TypeUnsigned, true, false},
		{"/1/0/0", "Short Server ID", "R", codec.TypeInteger, false, true},
		{"/1/0/1", "Lifetime", "RW", codec.TypeInteger, false, true},
		{"/1/0/6", "Notification Storing When Disabled or Offline", "RW", codec.TypeBoolean, false, true},
		{"/1/0/7", "Binding", "RW", codec.TypeString, false, true},
		{"/1/0/8", "Registration Update Trigger", "E", codec.TypeNone, false, true},
		{"/1/0/12", "Last Bootstrapped", "R", codec.TypeTime, false, false},
		{"/2/0/2", "ACL", "RW", codec.TypeInteger, true, false},
		{"/3/0/0", "Manufacturer", "R", codec.TypeString, false, false},
		{"/3/0/4", "Reboot", "E", codec.TypeNone, false, true},
		{"/3/0/6", "Available Power Sources", "R", codec.TypeInteger, true, false},
		{"/3/0/11", "Error Code", "R", codec.TypeInteger, true, true},
		{"/3/0/13", "Current Time", "RW", codec.TypeTime, false, false},
		{"/3/0/16", "Supported Binding and Modes", "R", codec.TypeString, false, true},
		{"/3/0/22", "ExtDevInfo", "R", codec.TypeObjlnk, true, false},
		{"/4/0/4", "IP Addresses", "R", codec.TypeString, true, true},
		{"/5/0/0", "Package", "W", codec.TypeOpaque, false, true},
		{"/5/0/1", "Package URI", "W", codec.TypeString, false, true},
		{"/5/0/2", "Update", "E", codec.TypeNone, false, true},
		{"/5/0/3", "State", "R", codec.TypeInteger, false, true},
		{"/5/0/5", "Update Result", "R", codec.TypeInteger, false, true},
		{"/6/0/0", "Latitude", "R", codec.TypeFloat, false, true},
		{"/6/0/5", "Timestamp", "R", codec.TypeTime, false, true},
		{"/7/0/6", "Start", "E", codec.TypeNone, false, true},
		{"/7/0/8", "Collection Period", "RW", codec.TypeInteger, false, false},
	}
	for _, want := range resources {
		t.Run(want.path, func(t *testing.T) {
			p, err := codec.ParsePath(want.path)
			if err != nil {
				t.Fatal(err)
			}
			res, ok := r.Resource(p.Object(), p.Resource())
			if !ok {
				t.Fatalf("%s not defined", want.path)
			}
			if res.Name != want.name || res.Operations.String() != want.ops || res.Type != want.typ || res.Multiple != want.multiple || res.Mandatory != want.mandatory {
				t.Fatalf("%s = %q %q %v multiple=%v mandatory=%v; want %+v", want.path, res.Name, res.Operations, res.Type, res.Multiple, res.Mandatory, want)
			}
			if typ, ok := r.ResourceType(p.Object(), p.Resource()); !ok || typ != want.typ {
				t.Fatalf("ResourceType = %v, %v", typ, ok)
			}
		})
	}
	if _, ok := r.Resource(5, 4); ok {
		t.Error("/5/0/4 is not defined in Firmware Update 1.0")
	}
	if _, ok := r.ResourceType(42, 0); ok {
		t.Error("object 42 is not defined")
	}
}

// TestRegistryTypesTLV decodes the Device object example of LwM2M 1.1 TS Core
// §7.4.3.2 with the shipped definitions as the model.
func TestRegistryTypesTLV(t *testing.T) {
	r := loadShipped(t)
	data := []byte{0xC8, 0x00, 0x03, 'A', 'C', 'M', 0x86, 0x06, 0x41, 0x00, 0x01, 0x41, 0x01, 0x05,
		0xC4, 0x0D, 0x51, 0x82, 0x42, 0x8F, 0xC1, 0x10, 'U'}
	recs, err := codec.DecodeTLV(codec.InstancePath(3, 0), data, r)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/3/0/0=String(ACM)", "/3/0/6/0=Integer(1)", "/3/0/6/1=Integer(5)", "/3/0/13=Time(1367491215)", "/3/0/16=String(U)"}
	if len(recs) != len(want) {
		t.Fatalf("records %v, want %v", recs, want)
	}
	for i := range want {
		if recs[i].String() != want[i] {
			t.Fatalf("records %v, want %v", recs, want)
		}
	}
}

const minimal = `<?xml version="1.0" encoding="utf-8"?>
<LWM2M><Object ObjectType="MODefinition"><Name>Test</Name><ObjectID>%ID%</ObjectID><ObjectURN>urn:oma:lwm2m:x:%ID%</ObjectURN>
<MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory><Resources>%ITEMS%</Resources></Object></LWM2M>`

func doc(id, items string) string {
	return strings.ReplaceAll(strings.ReplaceAll(minimal, "%ID%", id), "%ITEMS%", items)
}

const item = `<Item ID="1"><Name>Temp</Name><Operations>R</Operations><MultipleInstances>Single</MultipleInstances><Mandatory>Mandatory</Mandatory><Type>Float</Type></Item>`

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  string
	}{
		{name: "minimal", in: doc("3303", item)},
		{name: "two objects in one file", in: strings.Replace(doc("10", item), "</LWM2M>", doc("11", item)[strings.Index(doc("11", item), "<Object "):], 1)},
		{name: "not xml", in: "{", err: "invalid object definition"},
		{name: "wrong root", in: "<Objects/>", err: "invalid object definition"},
		{name: "no object", in: "<LWM2M></LWM2M>", err: "no <Object>"},
		{name: "object id too large", in: doc("65535", item), err: `id "65535"`},
		{name: "object id not a number", in: doc("x", item), err: `id "x"`},
		{name: "unknown type", in: doc("9", strings.Replace(item, "Float", "Decimal", 1)), err: `object 9: resource 1 ("Temp"): unknown type "Decimal"`},
		{name: "unknown operations", in: doc("9", strings.Replace(item, ">R<", ">RX<", 1)), err: `operations "RX" are not`},
		{name: "bad multiplicity", in: doc("9", strings.Replace(item, ">Single<", ">One<", 1)), err: `<MultipleInstances> "One"`},
		{name: "bad mandatory", in: doc("9", strings.Replace(item, ">Mandatory<", ">Required<", 1)), err: `<Mandatory> "Required"`},
		{name: "readable without type", in: doc("9", strings.Replace(item, "Float", "", 1)), err: "without a type"},
		{name: "resource twice", in: doc("9", item+item), err: "resource 1 defined twice"},
		{name: "non-utf8 encoding", in: strings.Replace(doc("9", item), "utf-8", "iso-8859-1", 1), err: "unsupported encoding"},
		{name: "too large", in: doc("9", strings.Repeat(" ", MaxFileSize)+item), err: "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Parse(strings.NewReader(tc.in))
			if tc.err == "" {
				if err != nil || len(objs) == 0 {
					t.Fatalf("Parse = %v, %v", objs, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrInvalidDefinition) {
				t.Fatalf("error = %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestLoadDirErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.xml", doc("3303", item))
	write("notes.txt", "ignored")
	r, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Resource(3303, 1); !ok {
		t.Fatal("3303/1 not loaded")
	}
	write("b.xml", doc("3303", item))
	_, err = LoadDir(dir)
	if !errors.Is(err, ErrDuplicateObject) || !strings.Contains(err.Error(), "a.xml") || !strings.Contains(err.Error(), "b.xml") {
		t.Fatalf("duplicate: %v", err)
	}
	write("b.xml", doc("9", strings.Replace(item, "Float", "Decimal", 1)))
	_, err = LoadDir(dir)
	if !errors.Is(err, ErrInvalidDefinition) || !strings.Contains(err.Error(), "b.xml") {
		t.Fatalf("bad file: %v", err)
	}
	if _, err := LoadDir(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("LoadDir of a missing directory succeeded")
	}
}

func TestOperations(t *testing.T) {
	for in, want := range map[string]Operations{"": 0, "R": OpRead, "W": OpWrite, "RW": OpRead | OpWrite, "E": OpExecute, " rw ": OpRead | OpWrite, "BS_RW": 0} {
		got, err := ParseOperations(in)
		if err != nil || got != want {
			t.Errorf("ParseOperations(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if !(OpRead | OpWrite).Has(OpWrite) || OpRead.Has(OpWrite) {
		t.Error("Has")
	}
}

// FuzzDecodeObjectXML checks that no definition file makes Parse panic and
// that every accepted object is consistent.
func FuzzDecodeObjectXML(f *testing.F) {
	f.Add([]byte(doc("3303", item)))
	for _, name := range []string{"3.xml", "0.xml"} {
		if b, err := os.ReadFile(filepath.Join(configDir, name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Parse(strings.NewReader(string(data)))
		if err != nil {
			if !errors.Is(err, ErrInvalidDefinition) {
				t.Fatalf("error %v is not ErrInvalidDefinition", err)
			}
			return
		}
		for _, o := range objs {
			for i, r := range o.Resources {
				if i > 0 && o.Resources[i-1].ID >= r.ID {
					t.Fatalf("resources of %d not sorted and unique", o.ID)
				}
				if got, ok := o.Resource(r.ID); !ok || got.ID != r.ID {
					t.Fatalf("Resource(%d) lookup failed", r.ID)
				}
			}
		}
	})
}

func TestNilRegistry(t *testing.T) {
	var r *Registry
	if _, ok := r.ResourceType(3, 0); ok {
		t.Fatal("a nil registry knows resource /3/0/0")
	}
	// A typed nil registry passed as the codec's model decodes as untyped.
	recs, err := codec.DecodeTLV(codec.ResourcePath(3, 0, 9), []byte{0xC1, 0x09, 0x64}, r)
	if err != nil || len(recs) != 1 || recs[0].Value.Type() != codec.TypeOpaque {
		t.Fatalf("DecodeTLV with a nil registry = %v, %v", recs, err)
	}
}

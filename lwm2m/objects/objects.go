package objects

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	codec "github.com/manifold-iot/manifold/codec/lwm2m"
)

// DefaultDir is where the gateway looks for object definitions when its
// configuration names no other directory.
const DefaultDir = "configs/lwm2m"

// MaxFileSize bounds one definition file; the largest OMA registry files are
// well under 1 MiB.
const MaxFileSize = 4 << 20

var (
	// ErrInvalidDefinition reports an object definition that breaks
	// LWM2M.xsd: a missing or out-of-range id, an unknown type, operation,
	// multiplicity or mandatory value, a repeated resource id.
	ErrInvalidDefinition = errors.New("objects: invalid object definition")
	// ErrDuplicateObject reports two definitions of one Object id.
	ErrDuplicateObject = errors.New("objects: duplicate object id")
)

// Operations is the set of operations a resource allows (LWM2M.xsd
// <Operations>: "", R, W, RW, E).
type Operations uint8

// The operation bits.
const (
	OpRead Operations = 1 << iota
	OpWrite
	OpExecute
)

// Has reports whether o allows every operation of op.
func (o Operations) Has(op Operations) bool { return o&op == op }

// String returns the LWM2M.xsd form: "", "R", "W", "RW" or "E".
func (o Operations) String() string {
	var s string
	if o.Has(OpRead) {
		s += "R"
	}
	if o.Has(OpWrite) {
		s += "W"
	}
	if o.Has(OpExecute) {
		s += "E"
	}
	return s
}

// ParseOperations parses an <Operations> value. "BS_RW" (old registry files
// mark bootstrap-only resources so) counts as none, as the empty value does.
func ParseOperations(s string) (Operations, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "NONE", "BS_RW":
		return 0, nil
	case "R":
		return OpRead, nil
	case "W":
		return OpWrite, nil
	case "RW":
		return OpRead | OpWrite, nil
	case "E":
		return OpExecute, nil
	}
	return 0, fmt.Errorf("%w: operations %q", ErrInvalidDefinition, s)
}

// Resource is one <Item> of an object definition.
type Resource struct {
	ID               uint16
	Name             string
	Operations       Operations
	Multiple         bool // <MultipleInstances>Multiple</MultipleInstances>
	Mandatory        bool
	Type             codec.Type // TypeNone for executable resources
	RangeEnumeration string
	Units            string
	Description      string
}

// Object is one <Object> definition.
type Object struct {
	ID           uint16
	Name         string
	Description  string
	URN          string
	LwM2MVersion string // <LWM2MVersion>, "1.0" when absent
	Version      string // <ObjectVersion>, "1.0" when absent
	Multiple     bool   // the object may have several instances
	Mandatory    bool
	Resources    []Resource // sorted by ID
}

// Resource returns the resource with id.
func (o *Object) Resource(id uint16) (*Resource, bool) {
	i, ok := slices.BinarySearchFunc(o.Resources, id, func(r Resource, id uint16) int { return int(r.ID) - int(id) })
	if !ok {
		return nil, false
	}
	return &o.Resources[i], true
}

// Registry holds the known object definitions and implements codec.Model for
// the payload decoders. Fill it (Add, LoadDir) before sharing it; reads are
// then safe from any goroutine.
type Registry struct {
	objects map[uint16]*Object
	sources map[uint16]string
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{objects: map[uint16]*Object{}, sources: map[uint16]string{}}
}

// Add registers o, read from source (a file name, for error messages).
func (r *Registry) Add(o *Object, source string) error {
	if prev, ok := r.sources[o.ID]; ok {
		return fmt.Errorf("%w: object %d in %s is also defined in %s", ErrDuplicateObject, o.ID, source, prev)
	}
	r.objects[o.ID] = o
	r.sources[o.ID] = source
	return nil
}

// Object returns the definition of object id.
func (r *Registry) Object(id uint16) (*Object, bool) {
	if r == nil {
		return nil, false
	}
	o, ok := r.objects[id]
	return o, ok
}

// Objects returns every definition, sorted by id.
func (r *Registry) Objects() []*Object {
	if r == nil {
		return nil
	}
	out := make([]*Object, 0, len(r.objects))
	for _, o := range r.objects {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b *Object) int { return int(a.ID) - int(b.ID) })
	return out
}

// Resource returns the definition of resource res of object obj. A nil
// Registry knows no resources.
func (r *Registry) Resource(obj, res uint16) (*Resource, bool) {
	if r == nil {
		return nil, false
	}
	o, ok := r.objects[obj]
	if !ok {
		return nil, false
	}
	return o.Resource(res)
}

// ResourceType implements codec.Model.
func (r *Registry) ResourceType(obj, res uint16) (codec.Type, bool) {
	d, ok := r.Resource(obj, res)
	if !ok {
		return codec.TypeNone, false
	}
	return d.Type, true
}

// LoadDir reads every *.xml file of dir (in name order) into a new registry.
// An error names the file it comes from.
func LoadDir(dir string) (*Registry, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil {
		return nil, fmt.Errorf("objects: %s: %w", dir, err)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("objects: %w", err)
	}
	slices.Sort(files)
	r := NewRegistry()
	for _, f := range files {
		objs, err := LoadFile(f)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if err := r.Add(o, f); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

// LoadFile reads the object definitions of one XML file.
func LoadFile(name string) ([]*Object, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("objects: %w", err)
	}
	defer f.Close()
	objs, err := parse(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidDefinition, name, err)
	}
	return objs, nil
}

// The LWM2M.xsd document shape.
type xmlDoc struct {
	XMLName xml.Name    `xml:"LWM2M"`
	Objects []xmlObject `xml:"Object"`
}

type xmlObject struct {
	Name              string    `xml:"Name"`
	Description1      string    `xml:"Description1"`
	ObjectID          string    `xml:"ObjectID"`
	ObjectURN         string    `xml:"ObjectURN"`
	LwM2MVersion      string    `xml:"LWM2MVersion"`
	ObjectVersion     string    `xml:"ObjectVersion"`
	MultipleInstances string    `xml:"MultipleInstances"`
	Mandatory         string    `xml:"Mandatory"`
	Items             []xmlItem `xml:"Resources>Item"`
}

type xmlItem struct {
	ID                string `xml:"ID,attr"`
	Name              string `xml:"Name"`
	Operations        string `xml:"Operations"`
	MultipleInstances string `xml:"MultipleInstances"`
	Mandatory         string `xml:"Mandatory"`
	Type              string `xml:"Type"`
	RangeEnumeration  string `xml:"RangeEnumeration"`
	Units             string `xml:"Units"`
	Description       string `xml:"Description"`
}

// Parse reads one LWM2M.xsd document (an <LWM2M> root holding one or more
// <Object> elements) of at most MaxFileSize bytes. Errors wrap
// ErrInvalidDefinition.
func Parse(rd io.Reader) ([]*Object, error) {
	objs, err := parse(rd)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidDefinition, err)
	}
	return objs, nil
}

// parse is Parse with errors that do not name the sentinel yet.
func parse(rd io.Reader) ([]*Object, error) {
	lr := &io.LimitedReader{R: rd, N: MaxFileSize + 1}
	var doc xmlDoc
	d := xml.NewDecoder(lr)
	d.CharsetReader = func(label string, input io.Reader) (io.Reader, error) {
		if l := strings.ToLower(label); l == "us-ascii" || l == "ascii" {
			return input, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q (use UTF-8)", label)
	}
	if err := d.Decode(&doc); err != nil {
		if lr.N <= 0 {
			return nil, fmt.Errorf("larger than %d bytes", MaxFileSize)
		}
		return nil, err
	}
	if len(doc.Objects) == 0 {
		return nil, errors.New("no <Object> in <LWM2M>")
	}
	out := make([]*Object, 0, len(doc.Objects))
	for i, xo := range doc.Objects {
		o, err := xo.object()
		if err != nil {
			return nil, fmt.Errorf("<Object> %d (%q): %w", i+1, strings.TrimSpace(xo.Name), err)
		}
		out = append(out, o)
	}
	return out, nil
}

// object validates and converts one <Object>.
func (x xmlObject) object() (*Object, error) {
	id, err := parseID(x.ObjectID)
	if err != nil {
		return nil, fmt.Errorf("ObjectID: %w", err)
	}
	o := &Object{ID: id, Name: strings.TrimSpace(x.Name), Description: strings.TrimSpace(x.Description1),
		URN: strings.TrimSpace(x.ObjectURN), LwM2MVersion: orDefault(x.LwM2MVersion, "1.0"), Version: orDefault(x.ObjectVersion, "1.0")}
	if o.Name == "" {
		return nil, fmt.Errorf("object %d has no <Name>", id)
	}
	if o.Multiple, err = parseMultiple(x.MultipleInstances); err != nil {
		return nil, fmt.Errorf("object %d: %w", id, err)
	}
	if o.Mandatory, err = parseMandatory(x.Mandatory); err != nil {
		return nil, fmt.Errorf("object %d: %w", id, err)
	}
	o.Resources = make([]Resource, 0, len(x.Items))
	for _, it := range x.Items {
		r, err := it.resource()
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", id, err)
		}
		o.Resources = append(o.Resources, r)
	}
	slices.SortFunc(o.Resources, func(a, b Resource) int { return int(a.ID) - int(b.ID) })
	for i := 1; i < len(o.Resources); i++ {
		if o.Resources[i].ID == o.Resources[i-1].ID {
			return nil, fmt.Errorf("object %d: resource %d defined twice", id, o.Resources[i].ID)
		}
	}
	return o, nil
}

// resource validates and converts one <Item>.
func (x xmlItem) resource() (Resource, error) {
	id, err := parseID(x.ID)
	if err != nil {
		return Resource{}, fmt.Errorf("resource ID: %w", err)
	}
	r := Resource{ID: id, Name: strings.TrimSpace(x.Name), RangeEnumeration: strings.TrimSpace(x.RangeEnumeration),
		Units: strings.TrimSpace(x.Units), Description: strings.TrimSpace(x.Description)}
	wrap := func(err error) error { return fmt.Errorf("resource %d (%q): %w", id, r.Name, err) }
	if r.Operations, err = ParseOperations(x.Operations); err != nil {
		return r, wrap(fmt.Errorf("operations %q are not R, W, RW, E or empty", strings.TrimSpace(x.Operations)))
	}
	if r.Multiple, err = parseMultiple(x.MultipleInstances); err != nil {
		return r, wrap(err)
	}
	if r.Mandatory, err = parseMandatory(x.Mandatory); err != nil {
		return r, wrap(err)
	}
	if r.Type, err = codec.ParseType(x.Type); err != nil {
		return r, wrap(fmt.Errorf("unknown type %q", strings.TrimSpace(x.Type)))
	}
	if r.Type == codec.TypeNone && r.Operations != OpExecute && r.Operations != 0 {
		return r, wrap(errors.New("readable or writable resource without a type"))
	}
	return r, nil
}

func parseID(s string) (uint16, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil || n > codec.MaxID {
		return 0, fmt.Errorf("id %q is not 0..%d", s, codec.MaxID)
	}
	return uint16(n), nil
}

func parseMultiple(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "multiple":
		return true, nil
	case "single":
		return false, nil
	}
	return false, fmt.Errorf("<MultipleInstances> %q is neither Single nor Multiple", s)
}

func parseMandatory(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "mandatory":
		return true, nil
	case "optional":
		return false, nil
	}
	return false, fmt.Errorf("<Mandatory> %q is neither Mandatory nor Optional", s)
}

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return def
}

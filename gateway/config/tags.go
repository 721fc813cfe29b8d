package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Struct tags the decoder and Validate read, besides yaml:"name":
//
//	range:"lo..hi"     inclusive bounds (either side may be omitted), written in
//	                   the field's own syntax ("1..65535", "1..256MB", "1ms..");
//	                   for lists and maps it applies to each element.
//	oneof:"a|b|c"      the allowed strings (matched case-insensitively, stored
//	                   lowercase); for lists and maps, each element.
//	word:"infinity"    a word that is read as the field's zero value, which then
//	                   means unlimited ("infinity") or off ("disabled"); the zero
//	                   value itself is also accepted and always passes range.
//	config:"rest"      on a Section field tagged yaml:"-": collects the keys of
//	                   the enclosing mapping that no other field takes; on a
//	                   map[string]Section field, each such key becomes its own
//	                   Section (gateway.<name> for gateways without a type).
type fieldTags struct {
	rng   string
	word  string
	oneof []string
}

// tagsOf reads the decoder's tags from a struct field.
func tagsOf(f reflect.StructField) fieldTags {
	t := fieldTags{rng: f.Tag.Get("range"), word: f.Tag.Get("word")}
	if o := f.Tag.Get("oneof"); o != "" {
		t.oneof = strings.Split(o, "|")
	}
	return t
}

// fieldInfo locates one key of a struct.
type fieldInfo struct {
	index []int
	tags  fieldTags
}

// structInfo is the key layout of a struct type: inline fields flattened,
// yaml:"-" and unexported fields left out.
type structInfo struct {
	fields map[string]fieldInfo
	names  []string // keys in declaration order
	rest   []int    // index of the config:"rest" Section field, or nil
}

// structInfoOf computes the layout of t. It is cheap and not cached: a cache
// would be a mutable global.
func structInfoOf(t reflect.Type) structInfo {
	si := structInfo{fields: map[string]fieldInfo{}}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			idx := append(append([]int(nil), prefix...), i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if f.Tag.Get("config") == "rest" {
				si.rest = idx
				continue
			}
			if !f.IsExported() || name == "-" {
				continue
			}
			if opts == "inline" && f.Type.Kind() == reflect.Struct {
				walk(f.Type, idx)
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			si.fields[name] = fieldInfo{index: idx, tags: tagsOf(f)}
			si.names = append(si.names, name)
		}
	}
	walk(t, nil)
	return si
}

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	formedType          = reflect.TypeFor[formed]()
	sectionType         = reflect.TypeFor[Section]()
)

// isScalarType reports whether values of t are written as one YAML scalar.
func isScalarType(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// formOf describes what a key of type t with tags tg accepts, for error
// messages: "an integer 1..65535", "one of allow|deny", "a duration such as …
// or infinity".
func formOf(t reflect.Type, tg fieldTags) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if len(tg.oneof) > 0 {
		vals := tg.oneof
		if tg.word != "" {
			vals = append([]string{tg.word}, vals...)
		}
		return "one of " + strings.Join(vals, "|")
	}
	var base string
	numeric := false
	switch {
	case t.Implements(formedType):
		base = reflect.Zero(t).Interface().(formed).configForm()
	case t == sectionType:
		base = "a mapping"
	case t.Kind() == reflect.Bool:
		base = "true or false"
	case isInt(t.Kind()) || isUint(t.Kind()):
		rng := tg.rng
		switch {
		case rng != "":
		case isUint(t.Kind()) && t.Bits() < 64:
			rng = "0.." + strconv.FormatUint(1<<t.Bits()-1, 10)
		case isUint(t.Kind()):
			rng = "0.."
		case t.Bits() < 64:
			rng = strconv.FormatInt(-1<<(t.Bits()-1), 10) + ".." + strconv.FormatInt(1<<(t.Bits()-1)-1, 10)
		}
		base, numeric = intForm(rng), true
	case isFloat(t.Kind()):
		base, numeric = "a number", true
		if tg.rng != "" {
			base += " " + rangeText(tg.rng)
		}
	case t.Kind() == reflect.String:
		base = "a string"
	case t.Kind() == reflect.Slice:
		base = "a list"
	case t.Kind() == reflect.Map, t.Kind() == reflect.Struct:
		base = "a mapping"
	default:
		base = "a value of type " + t.String()
	}
	if tg.rng != "" && !numeric && t.Kind() != reflect.Slice && t.Kind() != reflect.Map {
		base += " (" + rangeText(tg.rng) + ")"
	}
	if tg.word != "" {
		base += " or " + tg.word
	}
	return base
}

// intForm words an integer range the way people say it.
func intForm(rng string) string {
	lo, hi, _ := strings.Cut(rng, "..")
	switch {
	case rng == "":
		return "an integer"
	case lo == "0" && hi == "":
		return "a non-negative integer"
	case lo == "1" && hi == "":
		return "a positive integer"
	case lo != "" && hi != "":
		return "an integer " + lo + ".." + hi
	}
	return "an integer " + rangeText(rng)
}

// rangeText renders "lo..hi", ">= lo" or "<= hi".
func rangeText(rng string) string {
	lo, hi, _ := strings.Cut(rng, "..")
	switch {
	case lo != "" && hi != "":
		return lo + ".." + hi
	case lo != "":
		return ">= " + lo
	default:
		return "<= " + hi
	}
}

func isInt(k reflect.Kind) bool {
	return k == reflect.Int || k == reflect.Int8 || k == reflect.Int16 || k == reflect.Int32 || k == reflect.Int64
}

func isUint(k reflect.Kind) bool {
	return k == reflect.Uint || k == reflect.Uint8 || k == reflect.Uint16 || k == reflect.Uint32 || k == reflect.Uint64
}

func isFloat(k reflect.Kind) bool { return k == reflect.Float32 || k == reflect.Float64 }

// tagsAllow reports whether scalar value v satisfies tg's range and oneof.
// The zero value always passes when the field has a word for it.
func tagsAllow(v reflect.Value, tg fieldTags) bool {
	if tg.word != "" && v.IsZero() {
		return true
	}
	if len(tg.oneof) > 0 && v.Kind() == reflect.String {
		found := false
		for _, o := range tg.oneof {
			if v.String() == o {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	if tg.rng == "" {
		return true
	}
	lo, hi, _ := strings.Cut(tg.rng, "..")
	t := v.Type()
	switch k := v.Kind(); {
	case isInt(k):
		return (lo == "" || v.Int() >= boundInt(t, lo)) && (hi == "" || v.Int() <= boundInt(t, hi))
	case isUint(k):
		return (lo == "" || v.Uint() >= uint64(boundInt(t, lo))) && (hi == "" || v.Uint() <= uint64(boundInt(t, hi)))
	case isFloat(k):
		return (lo == "" || v.Float() >= boundFloat(lo)) && (hi == "" || v.Float() <= boundFloat(hi))
	}
	return true
}

// boundInt parses one side of a range tag in the syntax of type t. A bad tag
// is a programming error caught by the package's tests, so it panics.
func boundInt(t reflect.Type, s string) int64 {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		p := reflect.New(t)
		if err := p.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			panic(fmt.Sprintf("config: bad range bound %q for %s", s, t))
		}
		if isUint(t.Kind()) {
			return int64(p.Elem().Uint())
		}
		return p.Elem().Int()
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(fmt.Sprintf("config: bad range bound %q for %s", s, t))
	}
	return n
}

// boundFloat parses one side of a float range tag.
func boundFloat(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(fmt.Sprintf("config: bad range bound %q", s))
	}
	return f
}

// display renders a typed value for a Validate message: strings and
// text-marshaling types quoted, numbers bare.
func display(v reflect.Value) string {
	if v.Type().Implements(textMarshalerType) {
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err == nil {
			return strconv.Quote(string(b))
		}
	}
	if v.Kind() == reflect.String {
		return strconv.Quote(v.String())
	}
	return fmt.Sprint(v.Interface())
}

// quoteGot renders raw input for a message, shortened if long.
func quoteGot(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}

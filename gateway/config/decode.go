package config

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// source records where the nodes of a configuration tree came from. It is
// filled while the file is parsed and the environment applied, and only read
// afterwards, so Sections sharing it may be decoded concurrently.
type source struct {
	file   string                // the file as named to Load; "" for none
	env    map[*yaml.Node]string // nodes an environment variable created or set → its name
	envKey map[string]string     // environment variable → the key path it names
}

func newSource(file string) *source {
	return &source{file: file, env: map[*yaml.Node]string{}, envKey: map[string]string{}}
}

// where names the origin of the first of nodes that has one: the environment
// variable if any of them came from one, otherwise "file:line".
func (s *source) where(nodes ...*yaml.Node) string {
	if s == nil {
		return ""
	}
	for _, n := range nodes {
		if v, ok := s.env[n]; ok && n != nil {
			return v
		}
	}
	for _, n := range nodes {
		if n != nil && n.Line > 0 && s.file != "" {
			return fmt.Sprintf("%s:%d", s.file, n.Line)
		}
	}
	return ""
}

// origin finds where the key path key was set in the tree rooted at root,
// falling back to its nearest ancestor that was; "" when none was. For the
// whole configuration base is "" and rootKey nil; for a Section they are its
// key path and (if known) the key node it hangs from, its last resort.
func (s *source) origin(root, rootKey *yaml.Node, base, key string) string {
	rel := key
	best, cur := "", resolveAlias(root)
	if base != "" {
		if key != base && !strings.HasPrefix(key, base+".") {
			return ""
		}
		rel = strings.TrimPrefix(strings.TrimPrefix(key, base), ".")
		best = s.where(rootKey, cur)
	}
	if rel == "" {
		return best
	}
	for _, seg := range strings.Split(rel, ".") {
		switch {
		case cur == nil:
			return best
		case cur.Kind == yaml.MappingNode:
			j := findKey(cur, seg, false)
			if j < 0 {
				return best
			}
			k, v := cur.Content[j], cur.Content[j+1]
			if w := s.where(k, v); w != "" {
				best = w
			}
			cur = resolveAlias(v)
		case cur.Kind == yaml.SequenceNode:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 1 || i > len(cur.Content) {
				return best
			}
			cur = resolveAlias(cur.Content[i-1])
			if w := s.where(cur); w != "" {
				best = w
			}
		default:
			return best
		}
	}
	return best
}

// decoder is the strict reflective walker: it fills typed values from a YAML
// tree, naming the full key path and origin of every problem.
type decoder struct {
	src   *source
	errs  []*Error
	warns []Warning
}

// fail records an error about key, located at the first of nodes with an origin.
func (d *decoder) fail(key, msg string, sentinel error, nodes ...*yaml.Node) {
	d.errs = append(d.errs, &Error{Source: d.src.where(nodes...), Key: key, Msg: msg, Err: sentinel})
}

// invalid records a value n of the wrong shape or form under key node k
// (nil for list elements), located at k's line: "expected <form>, got <n>".
func (d *decoder) invalid(key string, t reflect.Type, tg fieldTags, n, k *yaml.Node) {
	d.fail(key, expectedGot(formOf(t, tg), gotOf(n)), ErrInvalid, k, n)
}

// gotOf describes a node for a bad-value message.
func gotOf(n *yaml.Node) string {
	n = resolveAlias(n)
	switch {
	case n == nil || n.Kind == 0:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Style == 0 && n.Value == "":
		return "an empty value"
	case isNull(n):
		return "null"
	}
	return quoteGot(n.Value)
}

// join appends one segment to a key path.
func join(path, seg string) string {
	if path == "" {
		return seg
	}
	return path + "." + seg
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent, empty, or a YAML null (~, null).
func isNull(n *yaml.Node) bool {
	n = resolveAlias(n)
	return n == nil || n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// findKey returns the index of the key named name in mapping m, or -1.
// With fold it falls back to a case-insensitive match (for environment
// variables, which are lowercased).
func findKey(m *yaml.Node, name string, fold bool) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := resolveAlias(m.Content[i]); k.Kind == yaml.ScalarNode && k.Value == name {
			return i
		}
	}
	if fold {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if k := resolveAlias(m.Content[i]); k.Kind == yaml.ScalarNode && strings.EqualFold(k.Value, name) {
				return i
			}
		}
	}
	return -1
}

// setDefaults calls SetDefaults on p if its type has it.
func setDefaults(p reflect.Value) {
	if d, ok := p.Interface().(Defaulter); ok {
		d.SetDefaults()
	}
}

// newElem makes e (a fresh map entry or list element) hold its type's defaults.
func newElem(e reflect.Value) {
	if e.Kind() == reflect.Pointer {
		p := reflect.New(e.Type().Elem())
		setDefaults(p)
		e.Set(p)
		return
	}
	setDefaults(e.Addr())
}

// elemTags are the tags a list's or map's elements inherit: range and oneof,
// not the word, which stands for the whole list or map.
func elemTags(tg fieldTags) fieldTags { return fieldTags{rng: tg.rng, oneof: tg.oneof} }

// decodeValue decodes node n, found under key node k (nil for list
// elements), onto the addressable value v at key path path.
func (d *decoder) decodeValue(path string, k, n *yaml.Node, v reflect.Value, tg fieldTags) {
	n = resolveAlias(n)
	t := v.Type()
	if tg.word != "" && n != nil && n.Kind == yaml.ScalarNode && strings.EqualFold(strings.TrimSpace(n.Value), tg.word) {
		v.SetZero()
		return
	}
	switch {
	case t == sectionType:
		d.decodeSection(path, k, n, v)
	case isScalarType(t):
		if n == nil || n.Kind != yaml.ScalarNode {
			d.invalid(path, t, tg, n, k)
			return
		}
		d.decodeText(path, n.Value, isNull(n), v, tg, n, k)
	case t.Kind() == reflect.Pointer:
		if isNull(n) && isScalarType(t.Elem()) {
			v.SetZero()
			return
		}
		if v.IsNil() {
			newElem(v)
		}
		d.decodeValue(path, k, n, v.Elem(), tg)
	case t.Kind() == reflect.Struct:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.invalid(path, t, tg, n, k)
			return
		}
		d.decodeStruct(path, n, v)
	case t.Kind() == reflect.Map:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.invalid(path, t, tg, n, k)
			return
		}
		d.decodeMap(path, n, v, elemTags(tg))
	case t.Kind() == reflect.Slice:
		d.decodeSlice(path, k, n, v, tg)
	case t.Kind() == reflect.Interface:
		if isNull(n) {
			v.SetZero()
			return
		}
		var x any
		if err := n.Decode(&x); err != nil {
			d.fail(path, err.Error(), ErrInvalid, n, k)
			return
		}
		if x == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(x))
		}
	default:
		d.fail(path, "cannot decode into "+t.String(), ErrInvalid, n, k)
	}
}

// decodeText parses raw, the text of one scalar, onto v. nodes locate it.
func (d *decoder) decodeText(path, raw string, null bool, v reflect.Value, tg fieldTags, nodes ...*yaml.Node) {
	t := v.Type()
	if null {
		raw = ""
	}
	bad := func() {
		d.fail(path, expectedGot(formOf(t, tg), gotText(raw, null)), ErrInvalid, nodes...)
	}
	x := reflect.New(t).Elem()
	switch {
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		if err := x.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(raw)); err != nil {
			if t.Implements(formedType) || len(tg.oneof) > 0 {
				bad()
			} else {
				d.fail(path, err.Error(), ErrInvalid, nodes...)
			}
			return
		}
	case t.Kind() == reflect.Bool:
		switch strings.ToLower(strings.TrimSpace(raw)) {
		case "true":
			x.SetBool(true)
		case "false":
			x.SetBool(false)
		default:
			bad()
			return
		}
	case isInt(t.Kind()):
		i, err := strconv.ParseInt(strings.TrimSpace(raw), 10, t.Bits())
		if err != nil {
			bad()
			return
		}
		x.SetInt(i)
	case isUint(t.Kind()):
		u, err := strconv.ParseUint(strings.TrimSpace(raw), 10, t.Bits())
		if err != nil {
			bad()
			return
		}
		x.SetUint(u)
	case isFloat(t.Kind()):
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), t.Bits())
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			bad()
			return
		}
		x.SetFloat(f)
	case t.Kind() == reflect.String:
		s := raw
		if len(tg.oneof) > 0 {
			for _, o := range tg.oneof {
				if strings.EqualFold(strings.TrimSpace(s), o) {
					s = o
				}
			}
		}
		x.SetString(s)
	}
	if !tagsAllow(x, tg) {
		bad()
		return
	}
	v.Set(x)
}

// gotText describes scalar text for a bad-value message.
func gotText(raw string, null bool) string {
	switch {
	case null && raw == "":
		return "an empty value"
	case raw == "":
		return `""`
	}
	return quoteGot(raw)
}

// keyName returns the text of mapping key k, recording an error for keys
// that are not plain strings (including YAML merge keys, not supported).
func (d *decoder) keyName(path string, k *yaml.Node) (string, bool) {
	k = resolveAlias(k)
	switch {
	case k.Kind != yaml.ScalarNode:
		d.fail(path, "expected a key, got "+gotOf(k), ErrInvalid, k)
		return "", false
	case k.ShortTag() == "!!merge":
		d.fail(path, "merge keys (<<) are not supported: write the keys out", ErrInvalid, k)
		return "", false
	}
	return k.Value, true
}

// duplicate reports (and records an error for) a key seen before in the same mapping.
func (d *decoder) duplicate(seen map[string]*yaml.Node, key, name string, k *yaml.Node) bool {
	if first, ok := seen[name]; ok {
		msg := "duplicate key"
		if first.Line > 0 {
			msg = fmt.Sprintf("duplicate key (first at line %d)", first.Line)
		}
		d.fail(key, msg, ErrInvalid, k)
		return true
	}
	seen[name] = k
	return false
}

// decodeStruct decodes mapping n onto struct v, key by key.
func (d *decoder) decodeStruct(path string, n *yaml.Node, v reflect.Value) {
	si := structInfoOf(v.Type())
	seen := map[string]*yaml.Node{}
	var rest []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		name, ok := d.keyName(path, k)
		if !ok {
			continue
		}
		key := join(path, name)
		if d.duplicate(seen, key, name, k) {
			continue
		}
		f, ok := si.fields[name]
		if !ok {
			if si.rest != nil && v.FieldByIndex(si.rest).Kind() == reflect.Map {
				d.decodeRestEntry(key, name, k, val, v.FieldByIndex(si.rest))
			} else if si.rest != nil {
				rest = append(rest, k, val)
			} else {
				d.unknown(path, name, k, val, si.names)
			}
			continue
		}
		d.decodeValue(key, k, val, v.FieldByIndex(f.index), f.tags)
	}
	if len(rest) > 0 {
		fv := v.FieldByIndex(si.rest)
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column, Content: rest}
		if old := fv.Interface().(Section); old.node != nil {
			m = mergeMapping(old.node, m)
		}
		fv.Set(reflect.ValueOf(Section{key: path, node: m, src: d.src}))
	}
}

// unknown records an unknown key: an error for the file, a warning per
// variable for keys that environment variables made up.
func (d *decoder) unknown(path, name string, k, val *yaml.Node, candidates []string) {
	key := join(path, name)
	hint := ""
	if s := suggest(name, candidates); s != "" {
		hint = "did you mean " + join(path, s) + "?"
	}
	if _, fromEnv := d.src.env[k]; fromEnv {
		for _, name := range d.envVarsUnder(k, val) {
			msg := "unknown key " + d.src.envKey[name] + ", ignored"
			if hint != "" {
				msg += " (" + hint + ")"
			}
			d.warns = append(d.warns, Warning{Source: name, Key: d.src.envKey[name], Message: msg})
		}
		return
	}
	msg := "unknown key"
	if hint != "" {
		msg += " (" + hint + ")"
	}
	d.fail(key, msg, ErrUnknownKey, k)
}

// envVarsUnder lists, sorted, the environment variables that set nodes in
// the subtrees of the given nodes.
func (d *decoder) envVarsUnder(nodes ...*yaml.Node) []string {
	set := map[string]bool{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil {
			return
		}
		if v, ok := d.src.env[n]; ok {
			set[v] = true
		}
		if n.Kind != yaml.AliasNode {
			for _, c := range n.Content {
				walk(c)
			}
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	names := make([]string, 0, len(set))
	for v := range set {
		names = append(names, v)
	}
	sort.Strings(names)
	return names
}

// decodeMap decodes mapping n onto map v, merging: existing entries are
// updated in place, new ones start from their type's defaults.
func (d *decoder) decodeMap(path string, n *yaml.Node, v reflect.Value, tg fieldTags) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.fail(path, "cannot decode into "+t.String(), ErrInvalid, n)
		return
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		name, ok := d.keyName(path, k)
		if !ok {
			continue
		}
		key := join(path, name)
		if d.duplicate(seen, key, name, k) {
			continue
		}
		if name == "" || strings.Contains(name, ".") {
			d.fail(key, fmt.Sprintf("invalid name %q: a name must not be empty or contain '.'", name), ErrInvalid, k)
			continue
		}
		mk := reflect.ValueOf(name).Convert(t.Key())
		e := reflect.New(t.Elem()).Elem()
		if old := v.MapIndex(mk); old.IsValid() {
			e.Set(old)
		} else {
			newElem(e)
		}
		d.decodeValue(key, k, val, e, tg)
		if v.IsNil() {
			v.Set(reflect.MakeMap(t))
		}
		v.SetMapIndex(mk, e)
	}
}

// decodeSlice decodes onto list v: a YAML list replaces it (each element
// starting from its type's defaults); a scalar is read as a comma-separated
// list when the elements are scalars; a mapping whose keys are 1-based
// indexes updates or appends single elements (environment variables such as
// MANIFOLD_AUTHORIZATION__SOURCES__1__PATH produce those).
func (d *decoder) decodeSlice(path string, k, n *yaml.Node, v reflect.Value, tg fieldTags) {
	t := v.Type()
	et := elemTags(tg)
	switch {
	case isNull(n):
		v.SetZero()
	case n.Kind == yaml.SequenceNode:
		if len(n.Content) == 0 {
			v.SetZero()
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			newElem(s.Index(i))
			d.decodeValue(join(path, strconv.Itoa(i+1)), nil, item, s.Index(i), et)
		}
		v.Set(s)
	case n.Kind == yaml.ScalarNode && isScalarType(t.Elem()):
		var parts []string
		for _, p := range strings.Split(n.Value, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		if len(parts) == 0 {
			v.SetZero()
			return
		}
		s := reflect.MakeSlice(t, len(parts), len(parts))
		for i, p := range parts {
			d.decodeText(join(path, strconv.Itoa(i+1)), p, false, s.Index(i), et, n, k)
		}
		v.Set(s)
	case n.Kind == yaml.MappingNode:
		d.decodeIndexed(path, k, n, v, et)
	default:
		d.invalid(path, t, tg, n, k)
	}
}

// decodeIndexed applies a mapping of 1-based indexes onto list v.
func (d *decoder) decodeIndexed(path string, k, n *yaml.Node, v reflect.Value, tg fieldTags) {
	type entry struct {
		idx    int
		k, val *yaml.Node
	}
	var entries []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		ek, val := n.Content[i], n.Content[i+1]
		name, ok := d.keyName(path, ek)
		if !ok {
			continue
		}
		idx, err := strconv.Atoi(name)
		if err != nil || idx < 1 {
			if _, fromEnv := d.src.env[ek]; fromEnv {
				d.unknown(path, name, ek, val, nil)
				continue
			}
			d.invalid(path, v.Type(), fieldTags{}, n, k)
			return
		}
		entries = append(entries, entry{idx, ek, val})
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].idx < entries[j].idx })
	cur := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
	reflect.Copy(cur, v)
	for _, e := range entries {
		key := join(path, strconv.Itoa(e.idx))
		switch {
		case e.idx <= cur.Len():
		case e.idx == cur.Len()+1:
			cur = reflect.Append(cur, reflect.Zero(v.Type().Elem()))
			newElem(cur.Index(e.idx - 1))
		default:
			d.fail(key, fmt.Sprintf("index %d is out of range: the list has %d elements", e.idx, cur.Len()), ErrInvalid, e.k)
			continue
		}
		d.decodeValue(key, e.k, e.val, cur.Index(e.idx-1), tg)
	}
	v.Set(cur)
}

// decodeRestEntry keeps one key no field takes as its own Section in m, a
// config:"rest" map[string]Section (gateways this build has no typed
// config for, by name).
func (d *decoder) decodeRestEntry(key, name string, k, val *yaml.Node, m reflect.Value) {
	if m.IsNil() {
		m.Set(reflect.MakeMap(m.Type()))
	}
	sv := reflect.New(sectionType).Elem()
	if old := m.MapIndex(reflect.ValueOf(name)); old.IsValid() {
		sv.Set(old)
	}
	d.decodeSection(key, k, val, sv)
	m.SetMapIndex(reflect.ValueOf(name), sv)
}

// decodeSection keeps mapping n raw in Section v, merged over what v held.
func (d *decoder) decodeSection(path string, k, n *yaml.Node, v reflect.Value) {
	if isNull(n) {
		line, col := 0, 0
		if n != nil {
			line, col = n.Line, n.Column
		}
		n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line, Column: col}
	}
	if n.Kind != yaml.MappingNode {
		d.invalid(path, sectionType, fieldTags{}, n, k)
		return
	}
	if old := v.Interface().(Section); old.node != nil {
		n = mergeMapping(old.node, n)
	}
	v.Set(reflect.ValueOf(Section{key: path, keyNode: k, node: n, src: d.src}))
}

// mergeMapping returns a new mapping with src's keys laid over dst's,
// mappings merged recursively; neither input is modified.
func mergeMapping(dst, src *yaml.Node) *yaml.Node {
	out := *resolveAlias(dst)
	out.Content = append([]*yaml.Node(nil), out.Content...)
	for i := 0; i+1 < len(src.Content); i += 2 {
		k, v := src.Content[i], src.Content[i+1]
		j := findKey(&out, resolveAlias(k).Value, false)
		switch {
		case j < 0:
			out.Content = append(out.Content, k, v)
		case resolveAlias(out.Content[j+1]).Kind == yaml.MappingNode && resolveAlias(v).Kind == yaml.MappingNode:
			out.Content[j+1] = mergeMapping(out.Content[j+1], resolveAlias(v))
		default:
			out.Content[j+1] = v
		}
	}
	return &out
}

package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment variable that overrides a key.
const EnvPrefix = "MANIFOLD_"

// applyEnv lays the MANIFOLD_ variables of environ over the tree root, in
// name order (so MANIFOLD_X=[...] applies before MANIFOLD_X__1=...). Every
// node a variable creates or sets is recorded in d.src.env for messages.
func (d *decoder) applyEnv(root *yaml.Node, environ []string) {
	type variable struct{ name, value string }
	var vars []variable
	for _, e := range environ {
		name, value, ok := strings.Cut(e, "=")
		if ok && strings.HasPrefix(name, EnvPrefix) {
			vars = append(vars, variable{name, value})
		}
	}
	sort.SliceStable(vars, func(i, j int) bool { return vars[i].name < vars[j].name })
	for _, v := range vars {
		d.applyVar(root, v.name, v.value)
	}
}

// warn records a tolerated problem with an environment variable.
func (d *decoder) warn(name, key, msg string) {
	d.warns = append(d.warns, Warning{Source: name, Key: key, Message: msg})
}

// applyVar sets the key that variable name names to raw: MANIFOLD_A__B__C
// names a.b.c (double underscore nests, case is ignored); a numeric segment
// indexes a list from 1.
func (d *decoder) applyVar(root *yaml.Node, name, raw string) {
	segs := strings.Split(strings.ToLower(strings.TrimPrefix(name, EnvPrefix)), "__")
	for _, s := range segs {
		if s == "" {
			d.warn(name, "", "not a key path (empty segment between double underscores), ignored")
			return
		}
	}
	key := strings.Join(segs, ".")
	d.src.envKey[name] = key
	val := envValue(raw)
	d.markEnv(val, name)
	cur := root
	for i, seg := range segs {
		last := i == len(segs)-1
		switch cur.Kind {
		case yaml.MappingNode:
			j := findKey(cur, seg, true)
			if j < 0 {
				k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg}
				next := val
				if !last {
					next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				}
				d.src.env[k], d.src.env[next] = name, name
				cur.Content = append(cur.Content, k, next)
				cur = next
				continue
			}
			if last {
				cur.Content[j+1] = envReplace(cur.Content[j+1], val)
				return
			}
			cur = d.descend(&cur.Content[j+1])
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(seg)
			parent := strings.Join(segs[:i], ".")
			switch {
			case err != nil || idx < 1:
				d.warn(name, key, fmt.Sprintf("unknown key %s, ignored (%s is a list: expected an index 1..%d)", key, parent, len(cur.Content)+1))
				return
			case idx <= len(cur.Content):
				if last {
					cur.Content[idx-1] = envReplace(cur.Content[idx-1], val)
					return
				}
				cur = d.descend(&cur.Content[idx-1])
			case idx == len(cur.Content)+1:
				next := val
				if !last {
					next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
					d.src.env[next] = name
				}
				cur.Content = append(cur.Content, next)
				cur = next
			default:
				d.errs = append(d.errs, &Error{Source: name, Key: join(parent, seg),
					Msg: fmt.Sprintf("index %d is out of range: the list has %d elements", idx, len(cur.Content)), Err: ErrInvalid})
				return
			}
		default:
			d.warn(name, key, fmt.Sprintf("unknown key %s, ignored (%s holds a single value)", key, strings.Join(segs[:i], ".")))
			return
		}
	}
}

// descend returns the node in *slot ready to hold child keys: an alias is
// replaced by a copy of its target (so the override does not leak to other
// uses of the anchor) and a null becomes an empty mapping.
func (d *decoder) descend(slot **yaml.Node) *yaml.Node {
	n := *slot
	if n.Kind == yaml.AliasNode {
		n = deepCopy(resolveAlias(n))
		*slot = n
	}
	if isNull(n) {
		n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
		*slot = n
	}
	return n
}

// envReplace returns what replaces old when a variable sets it to val:
// val, or old and val merged when both are mappings.
func envReplace(old, val *yaml.Node) *yaml.Node {
	if o := resolveAlias(old); o.Kind == yaml.MappingNode && val.Kind == yaml.MappingNode {
		return mergeMapping(o, val)
	}
	return val
}

// envValue parses a variable's value as YAML would read it in the file: a
// plain scalar, or, when it starts with [ { " or ', a flow list, flow mapping
// or quoted string (falling back to the plain text if that does not parse).
func envValue(raw string) *yaml.Node {
	t := strings.TrimSpace(raw)
	if t != "" && strings.ContainsRune(`[{"'`, rune(t[0])) {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(t), &doc); err == nil && doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
			return doc.Content[0]
		}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Value: t}
}

// markEnv records that variable name set every node of the tree n.
func (d *decoder) markEnv(n *yaml.Node, name string) {
	d.src.env[n] = name
	if n.Kind != yaml.AliasNode {
		for _, c := range n.Content {
			d.markEnv(c, name)
		}
	}
}

// deepCopy copies the tree n (aliases are shared, not copied).
func deepCopy(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		if child.Kind == yaml.AliasNode {
			c.Content[i] = child
		} else {
			c.Content[i] = deepCopy(child)
		}
	}
	return &c
}

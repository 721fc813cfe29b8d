package config

import (
	"errors"
	"reflect"

	"gopkg.in/yaml.v3"
)

// Section is a part of the configuration kept as raw YAML for a package that
// defines its own typed config: a gateway (gateway.stomp, …) or an
// authorization source's provider. It remembers its key path and where each
// of its keys came from, so that Decode reports problems exactly as Load does:
// "configs/manifold.yaml:40: gateway.stomp.listeners.tcp.default.bnd: unknown key".
// The zero Section is empty. Sections are immutable and safe for concurrent use.
type Section struct {
	key     string
	keyNode *yaml.Node // the key the section hangs from, if any
	node    *yaml.Node // a mapping, or nil when empty
	src     *source
}

// Key returns the section's key path, such as "gateway.stomp".
func (s Section) Key() string { return s.key }

// IsZero reports whether the section has no keys.
func (s Section) IsZero() bool { return s.node == nil || len(s.node.Content) == 0 }

// Keys returns the section's top-level keys in file order.
func (s Section) Keys() []string {
	if s.node == nil {
		return nil
	}
	keys := make([]string, 0, len(s.node.Content)/2)
	for i := 0; i+1 < len(s.node.Content); i += 2 {
		keys = append(keys, resolveAlias(s.node.Content[i]).Value)
	}
	return keys
}

// Decode decodes the section onto out, a non-nil pointer to a struct the
// caller has filled with its defaults, with the same strict rules as Load:
// unknown keys and bad values are *Error values naming the full key path and
// origin. Keys that environment variables made up are ignored; use
// DecodeWithWarnings to log them. Tags understood on out's fields are those
// of this package's own types (yaml, range, oneof, word); map entries and
// list elements it creates get SetDefaults if their type is a Defaulter.
func (s Section) Decode(out any) error {
	_, err := s.DecodeWithWarnings(out)
	return err
}

// DecodeWithWarnings is Decode that also returns a warning for each
// environment variable that named a key out does not have.
func (s Section) DecodeWithWarnings(out any) ([]Warning, error) {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, errors.New("config: Section.Decode needs a non-nil pointer")
	}
	if s.node == nil {
		return nil, nil
	}
	src := s.src
	if src == nil {
		src = newSource("")
	}
	d := &decoder{src: src}
	d.decodeValue(s.key, nil, s.node, v.Elem(), fieldTags{})
	return d.warns, joinErrors(d.errs)
}

// Origin returns where key (a full key path inside the section, such as
// "gateway.stomp.listeners.tcp.default.bind") was set: "file:line", the
// environment variable, or "" when it keeps its default. A key not set
// itself is located at its nearest ancestor that was. Packages use it to
// locate the errors of their own Validate.
func (s Section) Origin(key string) string {
	if s.node == nil {
		return ""
	}
	return s.src.origin(s.node, s.keyNode, s.key, key)
}

// MarshalYAML writes the section's raw keys.
func (s Section) MarshalYAML() (any, error) {
	if s.node == nil {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, nil
	}
	return s.node, nil
}

// MarshalYAML writes the source with its Extra keys inline, as in the file.
func (s AuthzSource) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	add := func(key string, v any) error {
		var kn, vn yaml.Node
		kn.SetString(key)
		if err := vn.Encode(v); err != nil {
			return err
		}
		n.Content = append(n.Content, &kn, &vn)
		return nil
	}
	if err := add("type", s.Type); err != nil {
		return nil, err
	}
	if err := add("enable", s.Enable); err != nil {
		return nil, err
	}
	if s.Path != "" || s.Type == "file" {
		if err := add("path", s.Path); err != nil {
			return nil, err
		}
	}
	if s.Extra.node != nil {
		n.Content = append(n.Content, s.Extra.node.Content...)
	}
	return n, nil
}

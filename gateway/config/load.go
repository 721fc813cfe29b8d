package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads the configuration: Default, overlaid with the YAML file at path
// ("" for none), overlaid with the MANIFOLD_ variables of environ (pass
// os.Environ()), then checked with Validate.
//
// The file is parsed into a YAML tree, the variables are applied to the tree,
// and the tree is decoded strictly onto the defaults, so every problem names
// its full key path and where it came from ("file:line" or the variable).
// All problems found are returned together, joined, as *Error values. The
// warnings (variables naming unknown keys) are returned even with an error.
func Load(path string, environ []string) (*Config, []Warning, error) {
	src := newSource(path)
	root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	dir := ""
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("config: %w", err)
		}
		if root, err = parseFile(path, data); err != nil {
			return nil, nil, err
		}
		if dir, err = filepath.Abs(filepath.Dir(path)); err != nil {
			return nil, nil, fmt.Errorf("config: %w", err)
		}
	}
	d := &decoder{src: src}
	d.applyEnv(root, environ)
	cfg := Default()
	d.decodeValue("", nil, root, reflect.ValueOf(cfg).Elem(), fieldTags{})
	d.checkFileSources(cfg)
	if len(d.errs) > 0 {
		return nil, d.warns, joinErrors(d.errs)
	}
	cfg.Dir = dir
	cfg.resolvePaths()
	errs := cfg.validate()
	for _, e := range errs {
		if e.Source == "" {
			e.Source = src.origin(root, nil, "", e.Key)
		}
	}
	if len(errs) > 0 {
		return nil, d.warns, joinErrors(errs)
	}
	return cfg, d.warns, nil
}

// checkFileSources rejects keys of file authorization sources beyond type,
// enable and path, which the decoder kept in Extra since it could not know
// the type yet.
func (d *decoder) checkFileSources(cfg *Config) {
	for i := range cfg.Authorization.Sources {
		s := &cfg.Authorization.Sources[i]
		if s.Type != "file" || s.Extra.node == nil {
			continue
		}
		for j := 0; j+1 < len(s.Extra.node.Content); j += 2 {
			k := s.Extra.node.Content[j]
			d.unknown(s.Extra.key, resolveAlias(k).Value, k, s.Extra.node.Content[j+1], []string{"type", "enable", "path"})
		}
		s.Extra = Section{}
	}
}

// parseFile parses data, the file named name, into the mapping at its top.
func parseFile(name string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, syntaxError(name, data, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, &Error{Source: fmt.Sprintf("%s:%d", name, max(next.Line, 1)), Msg: "expected one YAML document, found another", Err: ErrSyntax}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(name, data, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Source: fmt.Sprintf("%s:%d", name, root.Line), Msg: "expected a mapping of sections (node:, mqtt:, …) at the top, got " + gotOf(root), Err: ErrInvalid}
	}
	return root, nil
}

// syntaxError turns a yaml.v3 error into "file:line: message". yaml.v3 says
// "yaml: line N: message", but leaves the line out for line 1 and for a few
// errors it does not locate, which are located here by searching the text.
func syntaxError(name string, data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, after
			}
		}
	} else if anchor, ok := strings.CutPrefix(msg, "unknown anchor '"); ok {
		anchor, _, _ = strings.Cut(anchor, "'")
		if i := bytes.Index(data, []byte("*"+anchor)); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
		}
	} else if strings.Contains(msg, "control characters") {
		if i := bytes.IndexFunc(data, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' && r != '\r' }); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
		}
	}
	return &Error{Source: fmt.Sprintf("%s:%d", name, line), Msg: msg, Err: ErrSyntax}
}

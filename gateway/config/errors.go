package config

import (
	"errors"
	"sort"
	"strings"
)

// Sentinel errors that every *Error wraps, for errors.Is.
var (
	// ErrSyntax marks a file that is not well-formed YAML.
	ErrSyntax = errors.New("config: syntax error")
	// ErrUnknownKey marks a key the configuration does not define.
	ErrUnknownKey = errors.New("config: unknown key")
	// ErrInvalid marks a value of the wrong form or out of range, or a
	// combination of values that does not make sense.
	ErrInvalid = errors.New("config: invalid value")
)

// Error is one configuration problem. It prints as
// "source: key: message", where source is "file:line" or the name of the
// environment variable the value came from, and either part may be absent
// (a default value has no source; a syntax error has no key).
type Error struct {
	Source string // "configs/manifold.yaml:12", "MANIFOLD_MQTT__MAX_INFLIGHT" or ""
	Key    string // full key path, "mqtt.max_inflight"; "" for syntax errors
	Msg    string // what is wrong and, for bad values, the expected form
	Err    error  // ErrSyntax, ErrUnknownKey or ErrInvalid
}

// Error formats the problem as "source: key: message".
func (e *Error) Error() string {
	parts := make([]string, 0, 3)
	if e.Source != "" {
		parts = append(parts, e.Source)
	}
	if e.Key != "" {
		parts = append(parts, e.Key)
	}
	return strings.Join(append(parts, e.Msg), ": ")
}

// Unwrap returns the sentinel the error belongs to.
func (e *Error) Unwrap() error { return e.Err }

// joinErrors returns nil, the single error, or all of them joined (one per line).
func joinErrors(errs []*Error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

// Warning is a problem Load tolerated, for the caller to log: today only an
// environment variable naming a key that does not exist.
type Warning struct {
	Source  string // the environment variable, "MANIFOLD_MQTT__FOO"
	Key     string // the key path it names, "mqtt.foo"
	Message string // "unknown key mqtt.foo, ignored"
}

// String formats the warning as "source: message".
func (w Warning) String() string {
	if w.Source == "" {
		return w.Message
	}
	return w.Source + ": " + w.Message
}

// suggest returns the candidate closest to key, if one is close enough to
// be a typo: within edit distance 2, and 1 for keys shorter than 6 bytes
// (so "foo" does not suggest "log").
func suggest(key string, candidates []string) string {
	limit := min(2, max(1, len(key)/3))
	best, bestDist := "", limit+1
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		if d := editDistance(strings.ToLower(key), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b, in
// bytes: Levenshtein with swaps of adjacent bytes counted as one edit.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

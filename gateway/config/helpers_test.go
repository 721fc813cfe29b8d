package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeConfig writes content to manifold.yaml in a fresh temporary directory
// and returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "manifold.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mustLoad loads and fails the test on error.
func mustLoad(t *testing.T, path string, env []string) (*Config, []Warning) {
	t.Helper()
	cfg, warns, err := Load(path, env)
	if err != nil {
		t.Fatalf("Load: unexpected error:\n%v", err)
	}
	return cfg, warns
}

// wantErr checks that err is non-nil, wraps sentinel (if given) and contains
// every one of subs.
func wantErr(t *testing.T, err error, sentinel error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an error containing %q, got nil", subs)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Errorf("error %q does not wrap %v", err, sentinel)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

// resolvedDefault is what Load returns for a file in dir that sets nothing.
func resolvedDefault(dir string) *Config {
	c := Default()
	c.Dir = dir
	c.resolvePaths()
	return c
}

package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCLICommands(t *testing.T) {
	cases := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{"help lists every command", []string{"--help"}, exitOK, []string{"start", "version", "bench", "help", "MANIFOLD_LISTENERS__TCP__DEFAULT__BIND"}, nil},
		{"help command", []string{"help"}, exitOK, []string{"Commands:"}, nil},
		{"no command is a usage error", nil, exitUsage, nil, []string{"Usage: manifold"}},
		{"unknown command", []string{"frobnicate"}, exitUsage, nil, []string{`unknown command "frobnicate"`}},
		{"version", []string{"version"}, exitOK, []string{"manifold dev"}, nil},
		{"start rejects a stray argument", []string{"start", "extra"}, exitUsage, nil, []string{`unexpected argument "extra"`}},
		{"start with a missing file", []string{"start", "-c", "/nonexistent/manifold.yaml"}, exitUsage, nil, []string{"/nonexistent/manifold.yaml"}},
		{"bench names a bad flag", []string{"bench", "pub", "-q", "3"}, exitUsage, nil, []string{"-q: QoS must be 0, 1 or 2"}},
		{"start -h shows its flags", []string{"start", "-h"}, exitOK, nil, []string{"-c file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, nil, &stdout, &stderr)
			if code != tc.wantCode {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tc.wantCode, stderr.String())
			}
			for _, s := range tc.wantStdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range tc.wantStderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
		})
	}
}

package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestParseLevel(t *testing.T) {
	cases := []struct {
		in      string
		want    zerolog.Level
		wantErr bool
	}{
		{"debug", zerolog.DebugLevel, false},
		{"INFO", zerolog.InfoLevel, false},
		{"warning", zerolog.WarnLevel, false},
		{"warn", zerolog.WarnLevel, false},
		{"error", zerolog.ErrorLevel, false},
		{"verbose", zerolog.NoLevel, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseLevel(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseLevel(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Fatalf("ParseLevel(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestNewFormats(t *testing.T) {
	t.Run("auto on a buffer writes JSON", func(t *testing.T) {
		var buf bytes.Buffer
		log, err := New(&buf, "info", "auto")
		if err != nil {
			t.Fatal(err)
		}
		log.Info().Str("listener", "tcp:default").Msg("listener_started")
		var ev map[string]any
		if err := json.Unmarshal(buf.Bytes(), &ev); err != nil {
			t.Fatalf("not JSON: %q: %v", buf.String(), err)
		}
		if ev["message"] != "listener_started" || ev["listener"] != "tcp:default" || ev["level"] != "info" {
			t.Fatalf("unexpected event %v", ev)
		}
	})
	t.Run("console is readable text", func(t *testing.T) {
		var buf bytes.Buffer
		log, err := New(&buf, "info", "console")
		if err != nil {
			t.Fatal(err)
		}
		log.Info().Str("bind", "0.0.0.0:1883").Msg("listener_started")
		out := buf.String()
		if !strings.Contains(out, "listener_started") || !strings.Contains(out, "bind=0.0.0.0:1883") || strings.HasPrefix(out, "{") {
			t.Fatalf("unexpected console output %q", out)
		}
	})
	t.Run("level filters", func(t *testing.T) {
		var buf bytes.Buffer
		log, err := New(&buf, "warning", "json")
		if err != nil {
			t.Fatal(err)
		}
		log.Info().Msg("hidden")
		log.Warn().Msg("shown")
		if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown") {
			t.Fatalf("level not applied: %q", buf.String())
		}
	})
	t.Run("unknown format", func(t *testing.T) {
		if _, err := New(&bytes.Buffer{}, "info", "xml"); err == nil {
			t.Fatal("want an error for format xml")
		}
	})
}

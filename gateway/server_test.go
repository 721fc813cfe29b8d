package gateway

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/gateway/config"
)

func TestNewRejectsInvalidConfig(t *testing.T) {
	if _, err := New(nil, zerolog.Nop()); err == nil {
		t.Fatal("New(nil) succeeded")
	}
	cfg := config.Default()
	cfg.MQTT.MaxQoSAllowed = 3
	_, err := New(cfg, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "mqtt.max_qos_allowed") {
		t.Fatalf("New with max_qos_allowed 3: error %v, want one naming mqtt.max_qos_allowed", err)
	}
}

func TestRunReportsListenersAndStopsWithContext(t *testing.T) {
	var logs bytes.Buffer
	cfg := config.Default()
	srv, err := New(cfg, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	out := logs.String()
	for _, want := range []string{`"bind":"0.0.0.0:1883"`, `"proto":"tcp"`, `"server_stopped"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

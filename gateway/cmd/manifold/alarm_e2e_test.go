package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestE2EAlarmOnSys runs the binary with max_connections 2 on the MQTT
// listener: a mosquitto_sub watching $SYS/brokers/+/alarms/activate is the
// first connection, a second client makes 100% of the limit, and the
// watcher receives the high_connection_usage alarm.
func TestE2EAlarmOnSys(t *testing.T) {
	needTool(t, "mosquitto_sub")
	b := startBroker(t,
		"MANIFOLD_LISTENERS__TCP__DEFAULT__MAX_CONNECTIONS=2",
		"MANIFOLD_SYSMON__CONNECTIONS__CHECK_INTERVAL=100ms",
	)
	watch := b.startSub(t, "-i", "alarm-watch", "-t", "$SYS/brokers/+/alarms/#", "-C", "1", "-v")
	b.waitSubscribed(t, "alarm-watch")
	b.startSub(t, "-i", "second", "-t", "x") // the second of two connections
	got := watch.wait(t, 10*time.Second)
	topic, payload, _ := strings.Cut(strings.TrimSpace(got), " ")
	if !strings.HasPrefix(topic, "$SYS/brokers/") || !strings.HasSuffix(topic, "/alarms/activate") {
		t.Fatalf("mosquitto_sub got %q", got)
	}
	var a struct {
		Name         string         `json:"name"`
		Activated    bool           `json:"activated"`
		DeactivateAt any            `json:"deactivate_at"`
		Details      map[string]any `json:"details"`
	}
	if err := json.Unmarshal([]byte(payload), &a); err != nil {
		t.Fatalf("payload %q: %v", payload, err)
	}
	if a.Name != "high_connection_usage/tcp:default" || !a.Activated || a.DeactivateAt != "infinity" ||
		a.Details["max_connections"] != float64(2) {
		t.Fatalf("alarm %+v", a)
	}
	if !eventually(t, 5*time.Second, func() bool {
		for _, ev := range b.logs.find("alarm_activated") {
			if ev["name"] == a.Name && ev["level"] == "warn" {
				return true
			}
		}
		return false
	}) {
		t.Fatal("no alarm_activated warning in the log")
	}
}

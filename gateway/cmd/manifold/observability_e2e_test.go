package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// apiDo sends a JSON request to the API with basic auth and returns the
// status and body.
func apiDo(t *testing.T, base, key, secret, method, path string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.SetBasicAuth(key, secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// TestE2ETraceAndTopicMetrics is issue 10's trace and topic metrics
// acceptance with the real binary and mosquitto clients: a topic trace and a
// clientid trace created through the API record mosquitto_pub's publish
// (downloaded as the log file), and a registered topic counts the message in
// and its delivery to mosquitto_sub out.
func TestE2ETraceAndTopicMetrics(t *testing.T) {
	needTool(t, "mosquitto_sub")
	needTool(t, "mosquitto_pub")
	dir := t.TempDir()
	b := startBroker(t,
		"MANIFOLD_DASHBOARD__LISTENERS__HTTP__ENABLE=true",
		"MANIFOLD_DASHBOARD__LISTENERS__HTTP__BIND=127.0.0.1:0",
		"MANIFOLD_NODE__DATA_DIR="+filepath.Join(dir, "data"))
	base, key, secret := credential(t, dir)
	api := func(method, path string, body any, want int) string {
		t.Helper()
		st, out := apiDo(t, base, key, secret, method, path, body)
		if st != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, st, out, want)
		}
		return out
	}
	api("POST", "/api/v5/trace", map[string]any{"name": "topic-e2e", "type": "topic", "topic": "e2e/#"}, 200)
	api("POST", "/api/v5/trace", map[string]any{"name": "client-e2e", "type": "clientid", "clientid": "e2epub"}, 200)
	api("POST", "/api/v5/mqtt/topic_metrics", map[string]any{"topic": "e2e/m"}, 200)

	sub := b.startSub(t, "-i", "e2esub", "-t", "e2e/#", "-q", "1", "-v", "-C", "1")
	b.waitSubscribed(t, "e2esub")
	if out, err := b.mosquitto(t, 5*time.Second, "mosquitto_pub", "-i", "e2epub", "-t", "e2e/m", "-q", "1", "-m", "hello trace"); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, out)
	}
	if got := strings.TrimSpace(sub.wait(t, 10*time.Second)); got != "e2e/m hello trace" {
		t.Fatalf("mosquitto_sub got %q", got)
	}

	wantIn := map[string][]string{
		"topic-e2e": {
			"[subscribe] clientid=e2esub topic=e2e/# qos=1",
			"[publish] clientid=e2epub topic=e2e/m qos=1 retain=false payload=hello trace",
			"[deliver] clientid=e2esub topic=e2e/m qos=1 retain=false from=e2epub payload=hello trace",
		},
		"client-e2e": {
			"[connected] clientid=e2epub",
			"[publish] clientid=e2epub topic=e2e/m qos=1",
			"[disconnected] clientid=e2epub",
		},
	}
	for name, lines := range wantIn {
		var log string
		if !eventually(t, 5*time.Second, func() bool {
			log = api("GET", "/api/v5/trace/"+name+"/download", nil, 200)
			for _, l := range lines {
				if !strings.Contains(log, l) {
					return false
				}
			}
			return true
		}) {
			t.Errorf("trace %s lacks %q; log:\n%s", name, lines, log)
		}
	}

	var m struct {
		Topic   string             `json:"topic"`
		Metrics map[string]float64 `json:"metrics"`
	}
	if !eventually(t, 5*time.Second, func() bool {
		_ = json.Unmarshal([]byte(api("GET", "/api/v5/mqtt/topic_metrics/e2e%2Fm", nil, 200)), &m)
		return m.Metrics["messages.out.count"] == 1
	}) {
		t.Fatalf("topic metrics %+v", m)
	}
	if m.Topic != "e2e/m" || m.Metrics["messages.in.count"] != 1 || m.Metrics["messages.qos1.in.count"] != 1 ||
		m.Metrics["messages.qos1.out.count"] != 1 || m.Metrics["messages.dropped.count"] != 0 {
		t.Errorf("topic metrics %+v", m)
	}
}

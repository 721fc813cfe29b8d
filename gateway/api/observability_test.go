package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// step is one request of an API table and what it must answer.
type step struct {
	name, method, path string
	body               any
	status             int
	code               string // error code, for 4xx
	has                string // a substring of the body
}

func (n *node) run(t *testing.T, steps []step) {
	t.Helper()
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			st, body := n.do(t, n.keyAuth(), s.method, s.path, s.body)
			if st != s.status {
				t.Fatalf("%s %s: %d %s, want %d", s.method, s.path, st, body, s.status)
			}
			if s.code != "" && errCode(body) != s.code {
				t.Errorf("error code of %s, want %s", body, s.code)
			}
			if s.has != "" && !strings.Contains(string(body), s.has) {
				t.Errorf("body %s lacks %s", body, s.has)
			}
		})
	}
}

func TestSlowSubscriptionsAPI(t *testing.T) {
	n := start(t, nil)
	n.run(t, []step{
		{"defaults", "GET", "/api/v5/slow_subscriptions/settings", nil, 200, "",
			`{"enable":false,"threshold":"500ms","expire_interval":"300s","top_k_num":10,"stats_type":"whole"}`},
		{"empty topk", "GET", "/api/v5/slow_subscriptions/topk", nil, 200, "", "[]"},
		{"bad threshold", "PUT", "/api/v5/slow_subscriptions/settings", map[string]any{"threshold": "soon"}, 400, "BAD_REQUEST", "threshold"},
		{"bad top_k", "PUT", "/api/v5/slow_subscriptions/settings", map[string]any{"top_k_num": 0}, 400, "BAD_REQUEST", "top_k_num"},
		{"bad stats_type", "PUT", "/api/v5/slow_subscriptions/settings", map[string]any{"stats_type": "internal"}, 400, "BAD_REQUEST", "stats_type"},
		{"not JSON", "PUT", "/api/v5/slow_subscriptions/settings", "enable", 400, "BAD_REQUEST", ""},
		{"enable", "PUT", "/api/v5/slow_subscriptions/settings", map[string]any{"enable": true, "threshold": "1ms", "top_k_num": 5}, 200, "",
			`{"enable":true,"threshold":"1ms","expire_interval":"300s","top_k_num":5,"stats_type":"whole"}`},
		{"clear", "DELETE", "/api/v5/slow_subscriptions", nil, 204, "", ""},
	})
	// A subscriber that acknowledges QoS 1 after a delay above 1ms.
	got := make(chan struct{}, 1)
	o := pahov3.NewClientOptions().AddBroker(n.mqtt).SetClientID("slowpoke").SetAutoAckDisabled(true).SetAutoReconnect(false)
	c := pahov3.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	c.Subscribe("slow/t", 1, func(_ pahov3.Client, m pahov3.Message) {
		time.Sleep(20 * time.Millisecond) // the latency being measured
		m.Ack()
		got <- struct{}{}
	}).Wait()
	pub := n.client(t, "pub", "", true)
	pub.Publish("slow/t", 1, false, "x").Wait()
	<-got
	var topk []struct {
		ClientID       string `json:"clientid"`
		Node           string `json:"node"`
		Topic          string `json:"topic"`
		Timespan       int64  `json:"timespan"`
		LastUpdateTime int64  `json:"last_update_time"`
	}
	if !eventually(2*time.Second, func() bool { n.get(t, "/api/v5/slow_subscriptions/topk", &topk); return len(topk) == 1 }) {
		t.Fatalf("topk = %+v", topk)
	}
	e := topk[0]
	if e.ClientID != "slowpoke" || e.Topic != "slow/t" || e.Timespan < 20 || e.Node != n.cfg.Node.Name ||
		time.Since(time.UnixMilli(e.LastUpdateTime)) > time.Minute {
		t.Errorf("entry %+v", e)
	}
	n.run(t, []step{{"clear again", "DELETE", "/api/v5/slow_subscriptions", nil, 204, "", ""},
		{"cleared", "GET", "/api/v5/slow_subscriptions/topk", nil, 200, "", "[]"}})
	if st, _ := n.do(t, noAuth, "GET", "/api/v5/slow_subscriptions/topk", nil); st != http.StatusUnauthorized {
		t.Errorf("without credentials: %d", st)
	}
}

type topicMetric struct {
	Topic      string             `json:"topic"`
	CreateTime string             `json:"create_time"`
	ResetTime  string             `json:"reset_time"`
	Metrics    map[string]float64 `json:"metrics"`
}

func TestTopicMetricsAPI(t *testing.T) {
	n := start(t, nil)
	n.run(t, []step{
		{"empty", "GET", "/api/v5/mqtt/topic_metrics", nil, 200, "", "[]"},
		{"register", "POST", "/api/v5/mqtt/topic_metrics", map[string]any{"topic": "m/1"}, 200, "", `"messages.in.count":0`},
		{"register other", "POST", "/api/v5/mqtt/topic_metrics", map[string]any{"topic": "m/2"}, 200, "", `"topic":"m/2"`},
		{"again", "POST", "/api/v5/mqtt/topic_metrics", map[string]any{"topic": "m/1"}, 409, "BAD_TOPIC", ""},
		{"filter", "POST", "/api/v5/mqtt/topic_metrics", map[string]any{"topic": "m/#"}, 400, "BAD_TOPIC", ""},
		{"empty topic", "POST", "/api/v5/mqtt/topic_metrics", map[string]any{}, 400, "BAD_TOPIC", ""},
		{"not JSON", "POST", "/api/v5/mqtt/topic_metrics", "m/1", 400, "BAD_REQUEST", ""},
		{"get encoded", "GET", "/api/v5/mqtt/topic_metrics/m%2F1", nil, 200, "", `"topic":"m/1"`},
		{"get plain", "GET", "/api/v5/mqtt/topic_metrics/m/1", nil, 200, "", `"topic":"m/1"`},
		{"get unknown", "GET", "/api/v5/mqtt/topic_metrics/m%2F9", nil, 404, "TOPIC_NOT_FOUND", ""},
		{"bad action", "PUT", "/api/v5/mqtt/topic_metrics", map[string]any{"action": "zero"}, 400, "BAD_REQUEST", ""},
		{"reset unknown", "PUT", "/api/v5/mqtt/topic_metrics", map[string]any{"action": "reset", "topic": "m/9"}, 404, "TOPIC_NOT_FOUND", ""},
		{"delete", "DELETE", "/api/v5/mqtt/topic_metrics/m%2F2", nil, 204, "", ""},
		{"delete again", "DELETE", "/api/v5/mqtt/topic_metrics/m%2F2", nil, 404, "TOPIC_NOT_FOUND", ""},
	})
	got := make(chan struct{}, 10)
	sub := n.client(t, "sub", "", true)
	sub.Subscribe("m/+", 1, func(pahov3.Client, pahov3.Message) { got <- struct{}{} }).Wait()
	pub := n.client(t, "pub", "", true)
	pub.Publish("m/1", 1, false, "a").Wait()
	pub.Publish("m/1", 0, false, "b").Wait()
	<-got
	<-got
	var m topicMetric
	n.get(t, "/api/v5/mqtt/topic_metrics/m%2F1", &m)
	for k, v := range map[string]float64{"messages.in.count": 2, "messages.out.count": 2, "messages.qos1.in.count": 1,
		"messages.qos0.in.count": 1, "messages.qos1.out.count": 1, "messages.dropped.count": 0} {
		if m.Metrics[k] != v {
			t.Errorf("%s = %v, want %v (%v)", k, m.Metrics[k], v, m.Metrics)
		}
	}
	for _, k := range []string{"messages.in.rate", "messages.out.rate", "messages.dropped.rate", "messages.qos2.out.count"} {
		if _, ok := m.Metrics[k]; !ok {
			t.Errorf("metric %s missing", k)
		}
	}
	if _, err := time.Parse(time.RFC3339, m.CreateTime); err != nil || m.ResetTime != "" {
		t.Errorf("create_time %q reset_time %q", m.CreateTime, m.ResetTime)
	}
	n.run(t, []step{{"reset all", "PUT", "/api/v5/mqtt/topic_metrics", map[string]any{"action": "reset"}, 204, "", ""}})
	var list []topicMetric
	n.get(t, "/api/v5/mqtt/topic_metrics", &list)
	if len(list) != 1 || list[0].Metrics["messages.in.count"] != 0 || list[0].ResetTime == "" {
		t.Errorf("after reset: %+v", list)
	}
}

type traceView struct {
	Name          string           `json:"name"`
	Type          string           `json:"type"`
	ClientID      string           `json:"clientid"`
	Topic         string           `json:"topic"`
	Status        string           `json:"status"`
	StartAt       string           `json:"start_at"`
	EndAt         string           `json:"end_at"`
	PayloadEncode string           `json:"payload_encode"`
	LogSize       map[string]int64 `json:"log_size"`
}

func TestTraceAPI(t *testing.T) {
	n := start(t, nil)
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	n.run(t, []step{
		{"empty", "GET", "/api/v5/trace", nil, 200, "", "[]"},
		{"bad name", "POST", "/api/v5/trace", map[string]any{"name": "a b", "type": "clientid", "clientid": "c"}, 400, "BAD_REQUEST", "name"},
		{"bad type", "POST", "/api/v5/trace", map[string]any{"name": "x", "type": "user"}, 400, "BAD_REQUEST", "type"},
		{"no clientid", "POST", "/api/v5/trace", map[string]any{"name": "x", "type": "clientid"}, 400, "BAD_REQUEST", "clientid"},
		{"bad filter", "POST", "/api/v5/trace", map[string]any{"name": "x", "type": "topic", "topic": "a/#/b"}, 400, "BAD_REQUEST", "topic"},
		{"bad ip", "POST", "/api/v5/trace", map[string]any{"name": "x", "type": "ip_address", "ip_address": "host"}, 400, "BAD_REQUEST", "ip_address"},
		{"bad time", "POST", "/api/v5/trace", map[string]any{"name": "x", "type": "clientid", "clientid": "c", "end_at": "tomorrow"}, 400, "BAD_REQUEST", "end_at"},
		{"ended", "POST", "/api/v5/trace", map[string]any{"name": "x", "type": "clientid", "clientid": "c", "start_at": 1000, "end_at": 2000}, 400, "BAD_REQUEST", "passed"},
		{"bad encode", "POST", "/api/v5/trace", map[string]any{"name": "x", "type": "clientid", "clientid": "c", "payload_encode": "b64"}, 400, "BAD_REQUEST", "payload_encode"},
		{"create client", "POST", "/api/v5/trace", map[string]any{"name": "c1", "type": "clientid", "clientid": "tc"}, 200, "", `"status":"running"`},
		{"create topic", "POST", "/api/v5/trace", map[string]any{"name": "t1", "type": "topic", "topic": "tr/#", "payload_encode": "hex"}, 200, "", `"payload_encode":"hex"`},
		{"create waiting", "POST", "/api/v5/trace", map[string]any{"name": "w1", "type": "ip_address", "ip_address": "127.0.0.1", "start_at": later}, 200, "", `"status":"waiting"`},
		{"duplicate", "POST", "/api/v5/trace", map[string]any{"name": "c1", "type": "clientid", "clientid": "tc"}, 409, "ALREADY_EXISTS", ""},
		{"stop unknown", "PUT", "/api/v5/trace/nope/stop", nil, 404, "NOT_FOUND", ""},
		{"delete unknown", "DELETE", "/api/v5/trace/nope", nil, 404, "NOT_FOUND", ""},
		{"download unknown", "GET", "/api/v5/trace/nope/download", nil, 404, "NOT_FOUND", ""},
		{"log unknown", "GET", "/api/v5/trace/nope/log", nil, 404, "NOT_FOUND", ""},
		{"log bad bytes", "GET", "/api/v5/trace/c1/log?bytes=0", nil, 400, "BAD_REQUEST", "bytes"},
		{"log bad position", "GET", "/api/v5/trace/c1/log?position=-1", nil, 400, "BAD_REQUEST", "position"},
	})
	var list []traceView
	n.get(t, "/api/v5/trace", &list)
	if len(list) != 3 || list[0].Name != "c1" || list[0].ClientID != "tc" || list[0].PayloadEncode != "text" {
		t.Fatalf("list = %+v", list)
	}
	start, _ := time.Parse(time.RFC3339, list[0].StartAt)
	end, _ := time.Parse(time.RFC3339, list[0].EndAt)
	if d := end.Sub(start); d < 10*time.Minute-time.Second || d > 10*time.Minute+time.Second {
		t.Errorf("default duration %v, want 10m", d)
	}
	if _, ok := list[0].LogSize[n.cfg.Node.Name]; !ok {
		t.Errorf("log_size %v not keyed by node", list[0].LogSize)
	}

	c := n.client(t, "tc", "", true)
	c.Publish("tr/x", 1, false, "hello").Wait()
	var logText string
	if !eventually(2*time.Second, func() bool {
		st, body := n.do(t, n.keyAuth(), "GET", "/api/v5/trace/c1/download", nil)
		logText = string(body)
		return st == 200 && strings.Contains(logText, "[publish] clientid=tc topic=tr/x qos=1 retain=false payload=hello")
	}) {
		t.Fatalf("client trace log:\n%s", logText)
	}
	req, _ := http.NewRequest("GET", n.base+"/api/v5/trace/t1/download", nil)
	n.keyAuth()(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="t1.log"` {
		t.Errorf("Content-Disposition %q", cd)
	}

	// The log in chunks: position and bytes page through it.
	var whole strings.Builder
	pos := 0
	for i := 0; i < 100; i++ {
		var chunk struct {
			Items string `json:"items"`
			Meta  struct {
				Position int `json:"position"`
				Bytes    int `json:"bytes"`
			} `json:"meta"`
		}
		n.get(t, "/api/v5/trace/c1/log?bytes=16&position="+itoa(pos), &chunk)
		if chunk.Meta.Bytes != len(chunk.Items) || chunk.Meta.Position != pos+chunk.Meta.Bytes || chunk.Meta.Bytes > 16 {
			t.Fatalf("chunk at %d: %+v", pos, chunk)
		}
		if chunk.Meta.Bytes == 0 {
			break
		}
		whole.WriteString(chunk.Items)
		pos = chunk.Meta.Position
	}
	if !strings.HasPrefix(logText, whole.String()) || whole.Len() == 0 {
		t.Errorf("chunks %q are not the log %q", whole.String(), logText)
	}

	var stopped traceView
	st, body := n.do(t, n.keyAuth(), "PUT", "/api/v5/trace/c1/stop", nil)
	if st != 200 || json.Unmarshal(body, &stopped) != nil || stopped.Status != "stopped" {
		t.Fatalf("stop: %d %s", st, body)
	}
	n.run(t, []step{
		{"delete one", "DELETE", "/api/v5/trace/t1", nil, 204, "", ""},
		{"gone", "GET", "/api/v5/trace/t1/log", nil, 404, "NOT_FOUND", ""},
		{"delete all", "DELETE", "/api/v5/trace", nil, 204, "", ""},
		{"none left", "GET", "/api/v5/trace", nil, 200, "", "[]"},
	})
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

package api_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/manifold-iot/manifold/gateway/config"
)

// alarmBody is one alarm as GET /api/v5/alarms returns it.
type alarmBody struct {
	Node         string         `json:"node"`
	Name         string         `json:"name"`
	Message      string         `json:"message"`
	Details      map[string]any `json:"details"`
	Duration     int64          `json:"duration"`
	ActivateAt   string         `json:"activate_at"`
	DeactivateAt string         `json:"deactivate_at"`
	Activated    bool           `json:"activated"`
}

func TestAlarmsAPI(t *testing.T) {
	n := start(t, nil)
	reg := n.srv.Alarms()
	for i := range 3 {
		reg.Activate(fmt.Sprint("test_alarm_", i), "raised by the test", map[string]any{"i": i})
	}
	reg.Deactivate("test_alarm_0")

	tests := []struct {
		name      string
		query     string
		status    int
		names     []string
		count     int
		activated bool
	}{
		{"active ones", "?activated=true", 200, []string{"test_alarm_1", "test_alarm_2"}, 2, true},
		{"deactivated ones", "?activated=false", 200, []string{"test_alarm_0"}, 1, false},
		{"both without the filter", "", 200, []string{"test_alarm_1", "test_alarm_2", "test_alarm_0"}, 3, true},
		{"paging", "?activated=true&page=2&limit=1", 200, []string{"test_alarm_2"}, 2, true},
		{"page past the end", "?activated=true&page=5&limit=1", 200, nil, 2, true},
		{"bad filter", "?activated=maybe", 400, nil, 0, false},
		{"bad limit", "?limit=0", 400, nil, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.status != 200 {
				st, body := n.do(t, n.keyAuth(), "GET", "/api/v5/alarms"+tc.query, nil)
				if st != tc.status || errCode(body) != "BAD_REQUEST" {
					t.Fatalf("status %d %s, want %d", st, body, tc.status)
				}
				return
			}
			var p page[alarmBody]
			n.get(t, "/api/v5/alarms"+tc.query, &p)
			var got []string
			for _, a := range p.Data {
				got = append(got, a.Name)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.names) || p.Meta.Count != tc.count || p.Data == nil {
				t.Fatalf("names %v count %d, want %v %d", got, p.Meta.Count, tc.names, tc.count)
			}
			if len(p.Data) == 0 {
				return
			}
			a := p.Data[0]
			if a.Node != n.cfg.Node.Name || a.Message != "raised by the test" || a.Activated != tc.activated || a.Duration < 0 {
				t.Errorf("alarm %+v", a)
			}
			if _, err := time.Parse(time.RFC3339, a.ActivateAt); err != nil {
				t.Errorf("activate_at %q: %v", a.ActivateAt, err)
			}
			if a.Activated && a.DeactivateAt != "infinity" {
				t.Errorf("deactivate_at of an active alarm %q", a.DeactivateAt)
			}
			if !a.Activated {
				if _, err := time.Parse(time.RFC3339, a.DeactivateAt); err != nil {
					t.Errorf("deactivate_at %q: %v", a.DeactivateAt, err)
				}
			}
		})
	}

	if st, _ := n.do(t, noAuth, "GET", "/api/v5/alarms", nil); st != 401 {
		t.Fatalf("without credentials: %d", st)
	}
	if st, _ := n.do(t, n.keyAuth(), "DELETE", "/api/v5/alarms", nil); st != 204 {
		t.Fatalf("DELETE: %d", st)
	}
	var p page[alarmBody]
	n.get(t, "/api/v5/alarms?activated=false", &p)
	if p.Meta.Count != 0 {
		t.Fatalf("deactivated alarms after DELETE: %+v", p)
	}
	n.get(t, "/api/v5/alarms?activated=true", &p)
	if p.Meta.Count != 2 {
		t.Fatalf("DELETE cleared active alarms: %+v", p)
	}
	_, body := n.do(t, noAuth, "GET", "/metrics", nil)
	if !strings.Contains(string(body), "manifold_alarms_active 2\n") {
		t.Errorf("/metrics does not count 2 active alarms")
	}
}

// TestConnectionAlarm connects clients up to 90% of a listener's
// max_connections and waits for the node's monitor to raise the alarm,
// then for it to clear when they leave.
func TestConnectionAlarm(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listeners.TCP["default"].MaxConnections = 2
	cfg.Sysmon.Connections.CheckInterval = config.Duration(50 * time.Millisecond)
	n := start(t, cfg)
	name := "high_connection_usage/tcp:default"
	active := func() *alarmBody {
		var p page[alarmBody]
		n.get(t, "/api/v5/alarms?activated=true", &p)
		for i := range p.Data {
			if p.Data[i].Name == name {
				return &p.Data[i]
			}
		}
		return nil
	}
	c1 := n.client(t, "c1", "", true)
	c2 := n.client(t, "c2", "", true)
	if !eventually(5*time.Second, func() bool { return active() != nil }) {
		t.Fatal("no alarm with 2 of 2 connections")
	}
	a := active()
	if a.Details["current_connections"] != float64(2) || a.Details["max_connections"] != float64(2) || a.Details["listener"] != "tcp:default" {
		t.Errorf("details %v", a.Details)
	}
	for _, c := range []pahov3.Client{c1, c2} {
		c.Disconnect(0)
	}
	if !eventually(5*time.Second, func() bool { return active() == nil }) {
		t.Fatal("alarm not cleared after the clients left")
	}
}

// TestGatewayConnectionAlarm: a gateway listener's max_connections raises
// the same alarm (STOMP over TCP here).
func TestGatewayConnectionAlarm(t *testing.T) {
	cfg := testConfig(t)
	cfg.Gateway.STOMP.Listeners.TCP["default"].MaxConnections = 2
	cfg.Sysmon.Connections.CheckInterval = config.Duration(50 * time.Millisecond)
	n := start(t, cfg)
	const name = "high_connection_usage/stomp:tcp:default"
	active := func() bool {
		var p page[alarmBody]
		n.get(t, "/api/v5/alarms?activated=true", &p)
		for i := range p.Data {
			if p.Data[i].Name == name {
				return true
			}
		}
		return false
	}
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", n.srv.Addr("stomp:tcp:default").String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("CONNECT\naccept-version:1.2\nhost:manifold\n\n\x00")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		reply := make([]byte, 9)
		if _, err := io.ReadFull(c, reply); err != nil || string(reply) != "CONNECTED" {
			t.Fatalf("reply %q: %v", reply, err)
		}
		conns = append(conns, c)
	}
	if !eventually(5*time.Second, active) {
		t.Fatal("no alarm with 2 of 2 STOMP connections")
	}
	for _, c := range conns {
		c.Close()
	}
	if !eventually(5*time.Second, func() bool { return !active() }) {
		t.Fatal("alarm not cleared after the STOMP clients left")
	}
}

// TestSessionQueueFullAlarm overflows an offline persistent session's queue
// through the node and waits for session_queue_full/<clientid>, then
// reconnects the client, which drains the queue and clears it.
func TestSessionQueueFullAlarm(t *testing.T) {
	cfg := testConfig(t)
	cfg.MQTT.MaxMqueueLen = 5
	n := start(t, cfg)
	name := "session_queue_full/sleeper"
	find := func(activated bool) *alarmBody {
		var p page[alarmBody]
		n.get(t, fmt.Sprintf("/api/v5/alarms?activated=%v", activated), &p)
		for i := range p.Data {
			if p.Data[i].Name == name {
				return &p.Data[i]
			}
		}
		return nil
	}
	c := n.client(t, "sleeper", "", false)
	c.Subscribe("q/#", 1, nil).Wait()
	c.Disconnect(0)
	for i := range 5 {
		n.do(t, n.keyAuth(), "POST", "/api/v5/publish", map[string]any{"topic": "q/1", "payload": fmt.Sprint(i)})
	}
	if find(true) != nil {
		t.Fatal("alarm raised before the queue overflowed")
	}
	for range 5 {
		n.do(t, n.keyAuth(), "POST", "/api/v5/publish", map[string]any{"topic": "q/1", "payload": "more"})
	}
	if !eventually(5*time.Second, func() bool { return find(true) != nil }) {
		t.Fatal("no session_queue_full alarm")
	}
	if a := find(true); a.Details["clientid"] != "sleeper" || a.Details["max_mqueue_len"] != float64(5) {
		t.Errorf("details %v", a.Details)
	}
	n.client(t, "sleeper", "", false) // takes the queued messages
	if !eventually(5*time.Second, func() bool { return find(true) == nil && find(false) != nil }) {
		t.Fatal("alarm not cleared after the session drained")
	}
}

// TestGatewayBytes sends a STOMP CONNECT to the STOMP gateway and reads
// its bytes in the gateway's and the listener's counters.
func TestGatewayBytes(t *testing.T) {
	n := start(t, nil)
	conn, err := net.Dial("tcp", n.srv.Addr("stomp:tcp:default").String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	connect := "CONNECT\naccept-version:1.2\nhost:manifold\n\n\x00"
	if _, err := conn.Write([]byte(connect)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	reply := make([]byte, 9)
	if _, err := io.ReadFull(conn, reply); err != nil || string(reply) != "CONNECTED" {
		t.Fatalf("reply %q: %v", reply, err)
	}
	want := []struct {
		series string
		min    float64
	}{
		{`manifold_gateway_bytes_received_total{gateway="stomp"}`, float64(len(connect))},
		{`manifold_gateway_bytes_sent_total{gateway="stomp"}`, 10},
		{`manifold_listener_bytes_received_total{listener="stomp:tcp:default",type="tcp"}`, float64(len(connect))},
	}
	// The loop counts a write once it has returned, which can be just after
	// the client has read it.
	var text string
	counted := eventually(5*time.Second, func() bool {
		_, body := n.do(t, noAuth, "GET", "/metrics", nil)
		text = string(body)
		for _, tc := range want {
			if metricValue(text, tc.series) < tc.min {
				return false
			}
		}
		return true
	})
	if !counted {
		for _, tc := range want {
			t.Errorf("%s = %v, want at least %v", tc.series, metricValue(text, tc.series), tc.min)
		}
	}
}

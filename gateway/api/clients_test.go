package api_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

type clientRow struct {
	ClientID         string `json:"clientid"`
	Username         string `json:"username"`
	Connected        bool   `json:"connected"`
	ConnState        string `json:"conn_state"`
	ProtoName        string `json:"proto_name"`
	ProtoVer         int    `json:"proto_ver"`
	IPAddress        string `json:"ip_address"`
	Listener         string `json:"listener"`
	SubscriptionsCnt int    `json:"subscriptions_cnt"`
}

func TestClientsListFiltersAndPaging(t *testing.T) {
	n := start(t, nil)
	n.client(t, "dev-1", "alice", true)
	n.client(t, "dev-2", "bob", true)
	gone := n.client(t, "sensor-3", "alice", false) // persistent: stays as a session
	gone.Disconnect(0)
	if !eventually(5*time.Second, func() bool {
		var p page[clientRow]
		n.get(t, "/api/v5/clients?conn_state=disconnected", &p)
		return p.Meta.Count == 1
	}) {
		t.Fatal("sensor-3 never shown disconnected")
	}
	cases := []struct {
		query string
		want  []string
		count int
	}{
		{"", []string{"dev-1", "dev-2", "sensor-3"}, 3},
		{"clientid=dev-2", []string{"dev-2"}, 1},
		{"username=alice", []string{"dev-1", "sensor-3"}, 2},
		{"ip_address=127.0.0.1&conn_state=connected", []string{"dev-1", "dev-2"}, 2},
		{"conn_state=disconnected", []string{"sensor-3"}, 1},
		{"proto_name=MQTT&like_clientid=dev", []string{"dev-1", "dev-2"}, 2},
		{"like_username=li", []string{"dev-1", "sensor-3"}, 2},
		{"proto_name=STOMP", nil, 0},
		{"limit=2", []string{"dev-1", "dev-2"}, 3},
		{"limit=2&page=2", []string{"sensor-3"}, 3},
		{"limit=2&page=3", nil, 3},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			var p page[clientRow]
			n.get(t, "/api/v5/clients?"+tc.query, &p)
			var got []string
			for _, c := range p.Data {
				got = append(got, c.ClientID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || p.Meta.Count != tc.count {
				t.Fatalf("got %v count %d, want %v count %d", got, p.Meta.Count, tc.want, tc.count)
			}
		})
	}
	var p page[clientRow]
	n.get(t, "/api/v5/clients?limit=2", &p)
	if !p.Meta.HasNext || p.Meta.Limit != 2 || p.Meta.Page != 1 {
		t.Fatalf("meta %+v", p.Meta)
	}
	if c := p.Data[0]; !c.Connected || c.ProtoName != "MQTT" || c.ProtoVer != 4 || c.IPAddress != "127.0.0.1" || c.Listener != "tcp:default" {
		t.Fatalf("client row %+v", c)
	}
	for _, bad := range []string{"page=0", "limit=0", "limit=x", "limit=100000", "conn_state=idle"} {
		if st, body := n.do(t, n.keyAuth(), "GET", "/api/v5/clients?"+bad, nil); st != 400 || errCode(body) != "BAD_REQUEST" {
			t.Errorf("%s: %d %s", bad, st, body)
		}
	}
}

func TestClientOnlineStatusAndKick(t *testing.T) {
	n := start(t, nil)
	c := n.client(t, "x", "", true)
	var row clientRow
	n.get(t, "/api/v5/clients/x", &row)
	if !row.Connected || row.ConnState != "connected" {
		t.Fatalf("online client: %+v", row)
	}
	if st, body := n.do(t, n.keyAuth(), "GET", "/api/v5/clients/nobody", nil); st != 404 || errCode(body) != "CLIENTID_NOT_FOUND" {
		t.Fatalf("unknown client: %d %s", st, body)
	}
	// Kick: the connection is closed; a clean session leaves nothing behind.
	if st, _ := n.do(t, n.keyAuth(), "DELETE", "/api/v5/clients/x", nil); st != 204 {
		t.Fatalf("kick: %d", st)
	}
	if !eventually(5*time.Second, func() bool { return !c.IsConnectionOpen() }) {
		t.Fatal("kicked client still connected")
	}
	if !eventually(5*time.Second, func() bool {
		var p page[clientRow]
		n.get(t, "/api/v5/clients?clientid=x", &p)
		return p.Meta.Count == 0
	}) {
		t.Fatal("kicked clean-session client still listed")
	}
	if st, _ := n.do(t, n.keyAuth(), "DELETE", "/api/v5/clients/x", nil); st != 404 {
		t.Fatalf("kick again: %d", st)
	}
	// DELETE of an offline persistent session discards it.
	n.client(t, "p", "", false).Disconnect(0)
	if !eventually(5*time.Second, func() bool {
		var r clientRow
		n.get(t, "/api/v5/clients/p", &r)
		return !r.Connected
	}) {
		t.Fatal("p never went offline")
	}
	if st, _ := n.do(t, n.keyAuth(), "DELETE", "/api/v5/clients/p", nil); st != 204 {
		t.Fatalf("discard offline session: %d", st)
	}
	if st, _ := n.do(t, n.keyAuth(), "GET", "/api/v5/clients/p", nil); st != 404 {
		t.Fatalf("discarded session still there: %d", st)
	}
}

func TestSubscribeOnBehalf(t *testing.T) {
	n := start(t, nil)
	got := make(chan string, 10)
	c := n.client(t, "sub", "", true)
	c.AddRoute("#", func(_ pahov3.Client, m pahov3.Message) { got <- m.Topic() + " " + string(m.Payload()) })
	offline := n.client(t, "off", "", false)
	offline.Disconnect(0)
	if !eventually(5*time.Second, func() bool {
		var r clientRow
		n.get(t, "/api/v5/clients/off", &r)
		return !r.Connected
	}) {
		t.Fatal("client off still shown connected after its DISCONNECT")
	}
	cases := []struct {
		name, path string
		body       any
		want       int
		code       string
	}{
		{"subscribe", "/api/v5/clients/sub/subscribe", map[string]any{"topic": "a/+", "qos": 1}, 200, ""},
		{"bulk", "/api/v5/clients/sub/subscribe/bulk", []map[string]any{{"topic": "b/1"}, {"topic": "c/#", "qos": 2}}, 200, ""},
		{"bad filter", "/api/v5/clients/sub/subscribe", map[string]any{"topic": "a/#/b"}, 400, "BAD_REQUEST"},
		{"bad qos", "/api/v5/clients/sub/subscribe", map[string]any{"topic": "a", "qos": 3}, 400, "BAD_REQUEST"},
		{"unknown client", "/api/v5/clients/nobody/subscribe", map[string]any{"topic": "a"}, 404, "CLIENTID_NOT_FOUND"},
		{"offline client", "/api/v5/clients/off/subscribe", map[string]any{"topic": "a"}, 409, "CLIENT_NOT_CONNECTED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := n.do(t, n.keyAuth(), "POST", tc.path, tc.body)
			if st != tc.want || (tc.code != "" && errCode(body) != tc.code) {
				t.Fatalf("%d %s, want %d %s", st, body, tc.want, tc.code)
			}
		})
	}
	var subs []struct {
		Topic string
		QoS   int
	}
	n.get(t, "/api/v5/clients/sub/subscriptions", &subs)
	if fmt.Sprint(subs) != "[{a/+ 1} {b/1 0} {c/# 2}]" {
		t.Fatalf("subscriptions %v", subs)
	}
	n.do(t, n.keyAuth(), "POST", "/api/v5/publish", map[string]any{"topic": "a/x", "payload": "hi"})
	select {
	case m := <-got:
		if m != "a/x hi" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message on the subscription made through the API")
	}
	if st, _ := n.do(t, n.keyAuth(), "POST", "/api/v5/clients/sub/unsubscribe", map[string]any{"topic": "a/+"}); st != 204 {
		t.Fatalf("unsubscribe: %d", st)
	}
	if st, _ := n.do(t, n.keyAuth(), "POST", "/api/v5/clients/sub/unsubscribe/bulk", []map[string]any{{"topic": "b/1"}}); st != 204 {
		t.Fatalf("unsubscribe bulk: %d", st)
	}
	n.get(t, "/api/v5/clients/sub/subscriptions", &subs)
	if fmt.Sprint(subs) != "[{c/# 2}]" {
		t.Fatalf("after unsubscribe %v", subs)
	}
	if st, _ := n.do(t, n.keyAuth(), "GET", "/api/v5/clients/nobody/subscriptions", nil); st != 404 {
		t.Fatalf("subscriptions of nobody: %d", st)
	}
}

func TestSubscriptionsTopicsRoutes(t *testing.T) {
	n := start(t, nil)
	a := n.client(t, "a", "", true)
	b := n.client(t, "b", "", true)
	a.Subscribe("s/+", 1, nil).Wait()
	a.Subscribe("$share/g/s/x", 0, nil).Wait()
	b.Subscribe("s/+", 0, nil).Wait()
	b.Subscribe("t/#", 2, nil).Wait()
	type sub struct {
		ClientID string `json:"clientid"`
		Topic    string `json:"topic"`
		QoS      int    `json:"qos"`
		Share    string `json:"share_group"`
	}
	cases := []struct {
		query string
		want  string
	}{
		{"", "[{a $share/g/s/x 0 g} {a s/+ 1 } {b s/+ 0 } {b t/# 2 }]"},
		{"clientid=b", "[{b s/+ 0 } {b t/# 2 }]"},
		{"topic=s/%2B", "[{a s/+ 1 } {b s/+ 0 }]"},
		{"qos=2", "[{b t/# 2 }]"},
		{"share_group=g", "[{a $share/g/s/x 0 g}]"},
		{"match_topic=t/%23", "[{b t/# 2 }]"},
		{"match_topic=s/%2B", "[{a $share/g/s/x 0 g} {a s/+ 1 } {b s/+ 0 }]"},
		{"limit=1&page=4", "[{b t/# 2 }]"},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			var p page[sub]
			n.get(t, "/api/v5/subscriptions?"+tc.query, &p)
			if fmt.Sprint(p.Data) != tc.want {
				t.Fatalf("got %v, want %s", p.Data, tc.want)
			}
		})
	}
	if st, _ := n.do(t, n.keyAuth(), "GET", "/api/v5/subscriptions?qos=5", nil); st != 400 {
		t.Fatal("qos=5 accepted")
	}
	type route struct{ Topic, Node string }
	for _, path := range []string{"/api/v5/topics", "/api/v5/routes"} {
		var p page[route]
		n.get(t, path, &p)
		if fmt.Sprint(p.Data) != "[{s/+ manifold@127.0.0.1} {s/x manifold@127.0.0.1} {t/# manifold@127.0.0.1}]" || p.Meta.Count != 3 {
			t.Fatalf("%s: %v", path, p.Data)
		}
	}
	var one []route
	n.get(t, "/api/v5/topics/"+url.PathEscape("t/#"), &one)
	if len(one) != 1 || one[0].Topic != "t/#" {
		t.Fatalf("topic t/#: %v", one)
	}
	if st, _ := n.do(t, n.keyAuth(), "GET", "/api/v5/routes/none", nil); st != 404 {
		t.Fatal("unknown route found")
	}
	var p page[route]
	n.get(t, "/api/v5/topics?topic=t/%23", &p)
	if p.Meta.Count != 1 {
		t.Fatalf("topics?topic=t/#: %v", p.Data)
	}
}

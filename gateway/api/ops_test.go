package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"
)

func TestPublish(t *testing.T) {
	n := start(t, nil)
	got := make(chan pahov3.Message, 10)
	c := n.client(t, "sub", "", true)
	c.Subscribe("p/#", 1, func(_ pahov3.Client, m pahov3.Message) { got <- m }).Wait()
	cases := []struct {
		name    string
		body    any
		want    int
		payload string
	}{
		{"plain", map[string]any{"topic": "p/1", "payload": "hello", "qos": 1}, 200, "hello"},
		{"base64", map[string]any{"topic": "p/2", "payload": base64.StdEncoding.EncodeToString([]byte{0, 1, 2}), "payload_encoding": "base64"}, 200, "\x00\x01\x02"},
		{"with properties", map[string]any{"topic": "p/3", "payload": "x", "properties": map[string]any{"message_expiry_interval": 60, "user_properties": map[string]string{"a": "b"}}}, 200, "x"},
		{"no subscriber", map[string]any{"topic": "nobody/here", "payload": "x"}, 202, ""},
		{"bad encoding", map[string]any{"topic": "p/1", "payload": "x", "payload_encoding": "hex"}, 400, ""},
		{"bad base64", map[string]any{"topic": "p/1", "payload": "!!", "payload_encoding": "base64"}, 400, ""},
		{"bad qos", map[string]any{"topic": "p/1", "payload": "x", "qos": 3}, 400, ""},
		{"wildcard topic", map[string]any{"topic": "p/#", "payload": "x"}, 400, ""},
		{"no topic", map[string]any{"payload": "x"}, 400, ""},
		{"not JSON", "topic=p", 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := n.do(t, n.keyAuth(), "POST", "/api/v5/publish", tc.body)
			if st != tc.want {
				t.Fatalf("%d %s, want %d", st, body, tc.want)
			}
			if st == 202 && !strings.Contains(string(body), "no_matching_subscribers") {
				t.Fatalf("202 body %s", body)
			}
			if st >= 400 && errCode(body) != "BAD_REQUEST" {
				t.Fatalf("error body %s", body)
			}
			if tc.payload == "" {
				return
			}
			select {
			case m := <-got:
				if string(m.Payload()) != tc.payload {
					t.Fatalf("payload %q, want %q", m.Payload(), tc.payload)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("nothing delivered")
			}
		})
	}
	st, body := n.do(t, n.keyAuth(), "POST", "/api/v5/publish/bulk", []map[string]any{{"topic": "p/a", "payload": "1"}, {"topic": "p/b", "payload": "2"}})
	if st != 200 {
		t.Fatalf("bulk: %d %s", st, body)
	}
	for _, want := range []string{"1", "2"} {
		select {
		case m := <-got:
			if string(m.Payload()) != want {
				t.Fatalf("bulk payload %q, want %q", m.Payload(), want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("bulk message not delivered")
		}
	}
	if st, _ := n.do(t, n.keyAuth(), "POST", "/api/v5/publish/bulk", []map[string]any{}); st != 400 {
		t.Fatalf("empty bulk: %d", st)
	}
}

func TestRetainer(t *testing.T) {
	n := start(t, nil)
	for _, tp := range []string{"r/1", "r/2", "r/3"} {
		n.do(t, n.keyAuth(), "POST", "/api/v5/publish", map[string]any{"topic": tp, "payload": "v-" + tp, "retain": true, "qos": 1})
	}
	type msg struct {
		Topic, Payload string
		QoS            int
	}
	var p page[msg]
	n.get(t, "/api/v5/retainer/messages?topic=r/%2B&limit=2", &p)
	if p.Meta.Count != 3 || len(p.Data) != 2 || p.Data[0].Topic != "r/1" || !p.Meta.HasNext {
		t.Fatalf("list: %+v", p)
	}
	var m msg
	n.get(t, "/api/v5/retainer/message/"+url.PathEscape("r/2"), &m)
	if dec, _ := base64.StdEncoding.DecodeString(m.Payload); string(dec) != "v-r/2" || m.QoS != 1 {
		t.Fatalf("get: %+v", m)
	}
	cases := []struct {
		name, method, path string
		want               int
	}{
		{"get unknown", "GET", "/api/v5/retainer/message/none", 404},
		{"delete", "DELETE", "/api/v5/retainer/message/r%2F2", 204},
		{"delete again", "DELETE", "/api/v5/retainer/message/r%2F2", 404},
		{"get deleted", "GET", "/api/v5/retainer/messages/r%2F2", 404},
		{"clean", "DELETE", "/api/v5/retainer/messages", 204},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if st, body := n.do(t, n.keyAuth(), tc.method, tc.path, nil); st != tc.want {
				t.Fatalf("%d %s, want %d", st, body, tc.want)
			}
		})
	}
	n.get(t, "/api/v5/retainer/messages?topic=r/%2B", &p)
	if p.Meta.Count != 0 {
		t.Fatalf("after clean: %+v", p)
	}
}

func TestBanned(t *testing.T) {
	n := start(t, nil)
	victim := n.client(t, "victim", "", true)
	cases := []struct {
		name string
		body any
		want int
	}{
		{"ban a client id", map[string]any{"as": "clientid", "who": "victim", "reason": "test"}, 200},
		{"ban it again", map[string]any{"as": "clientid", "who": "victim"}, 409},
		{"ban a username until later", map[string]any{"as": "username", "who": "eve", "until": time.Now().Add(time.Hour).Format(time.RFC3339)}, 200},
		{"ban a peer", map[string]any{"as": "peerhost", "who": "10.1.2.3"}, 200},
		{"bad peer", map[string]any{"as": "peerhost", "who": "not-an-ip"}, 400},
		{"bad kind", map[string]any{"as": "ip", "who": "x"}, 400},
		{"no who", map[string]any{"as": "clientid"}, 400},
		{"until in the past", map[string]any{"as": "clientid", "who": "z", "until": "2001-01-01T00:00:00Z"}, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if st, body := n.do(t, n.keyAuth(), "POST", "/api/v5/banned", tc.body); st != tc.want {
				t.Fatalf("%d %s, want %d", st, body, tc.want)
			}
		})
	}
	// Banning a client id kicks it, and it cannot come back.
	if !eventually(5*time.Second, func() bool { return !victim.IsConnectionOpen() }) {
		t.Fatal("banned client still connected")
	}
	o := pahov3.NewClientOptions().AddBroker(n.mqtt).SetClientID("victim").SetAutoReconnect(false).SetConnectRetry(false)
	c := pahov3.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() == nil {
		c.Disconnect(0)
		t.Fatal("a banned client id connected")
	}
	if tok.(*pahov3.ConnectToken).ReturnCode() != 5 {
		t.Fatalf("MQTT 3.1.1: a banned client is refused with %v, want return code 5", tok.Error())
	}
	// MQTT 5: CONNACK reason code 0x8A Banned.
	conn, err := net.Dial("tcp", strings.TrimPrefix(n.mqtt, "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte{0x10, 19, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 60, 0, 0, 6, 'v', 'i', 'c', 't', 'i', 'm'})
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	ack := make([]byte, 4)
	if _, err := io.ReadFull(conn, ack); err != nil || ack[0] != 0x20 || ack[3] != 0x8A {
		t.Fatalf("MQTT 5 CONNACK of a banned client: % x %v, want reason 0x8a", ack, err)
	}
	var p page[struct{ As, Who, Until string }]
	n.get(t, "/api/v5/banned", &p)
	if p.Meta.Count != 3 || p.Data[0].As != "clientid" || p.Data[0].Until != "infinity" {
		t.Fatalf("list %+v", p)
	}
	if st, _ := n.do(t, n.keyAuth(), "DELETE", "/api/v5/banned/clientid/victim", nil); st != 204 {
		t.Fatalf("unban: %d", st)
	}
	if st, _ := n.do(t, n.keyAuth(), "DELETE", "/api/v5/banned/clientid/victim", nil); st != 404 {
		t.Fatalf("unban again: %d", st)
	}
	n.client(t, "victim", "", true) // connects again
	var alarms page[any]
	n.get(t, "/api/v5/alarms", &alarms)
	if alarms.Meta.Count != 0 || alarms.Data == nil {
		t.Fatalf("alarms %+v", alarms)
	}

	// The bans survive a restart of the node on the same data dir.
	cfg := testConfig(t)
	cfg.Node.DataDir = n.dataDir
	n.srv.Shutdown(context.Background())
	n2 := start(t, cfg)
	n2.get(t, "/api/v5/banned", &p)
	if p.Meta.Count != 2 || p.Data[0].As != "peerhost" {
		t.Fatalf("bans after restart %+v", p)
	}
}

func TestNodeStatusStats(t *testing.T) {
	n := start(t, nil)
	n.client(t, "one", "", true).Subscribe("x/y", 0, nil).Wait()
	st, body := n.do(t, noAuth, "GET", "/api/v5/status", nil)
	if st != 200 || !strings.Contains(string(body), "is started") {
		t.Fatalf("status text: %d %s", st, body)
	}
	var s struct {
		NodeName     string `json:"node_name"`
		BrokerStatus string `json:"broker_status"`
		Connections  int
		Listeners    []struct{ ID string }
	}
	n.get(t, "/api/v5/status?format=json", &s)
	if s.NodeName != "manifold@127.0.0.1" || s.BrokerStatus != "started" || s.Connections != 1 || len(s.Listeners) == 0 {
		t.Fatalf("status json %+v", s)
	}
	var nodes []struct {
		Node            string
		Version         string
		LiveConnections int `json:"live_connections"`
	}
	n.get(t, "/api/v5/nodes", &nodes)
	if len(nodes) != 1 || nodes[0].Version != "test" || nodes[0].LiveConnections != 1 {
		t.Fatalf("nodes %+v", nodes)
	}
	if st, _ := n.do(t, n.keyAuth(), "GET", "/api/v5/nodes/manifold@127.0.0.1", nil); st != 200 {
		t.Fatal("get node")
	}
	if st, _ := n.do(t, n.keyAuth(), "GET", "/api/v5/nodes/other@host", nil); st != 404 {
		t.Fatal("unknown node found")
	}
	var agg map[string]float64
	n.get(t, "/api/v5/stats?aggregate=true", &agg)
	if agg["live_connections.count"] != 1 || agg["subscriptions.count"] != 1 || agg["topics.count"] != 1 {
		t.Fatalf("stats %v", agg)
	}
	var per []map[string]any
	n.get(t, "/api/v5/stats", &per)
	if len(per) != 1 || per[0]["node"] != "manifold@127.0.0.1" {
		t.Fatalf("stats per node %v", per)
	}
	n.do(t, n.keyAuth(), "POST", "/api/v5/publish", map[string]any{"topic": "x/y", "payload": "1"})
	n.do(t, n.keyAuth(), "POST", "/api/v5/publish", map[string]any{"topic": "nobody", "payload": "1"})
	var m map[string]float64
	n.get(t, "/api/v5/metrics?aggregate=true", &m)
	if m["messages.received"] != 2 || m["messages.dropped.no_subscribers"] != 1 {
		t.Fatalf("metrics %v", m)
	}
	if st, _ := n.do(t, n.keyAuth(), "GET", "/api/v5/stats?aggregate=maybe", nil); st != 400 {
		t.Fatal("aggregate=maybe accepted")
	}
}

func TestListenersAndGateways(t *testing.T) {
	n := start(t, nil)
	n.client(t, "c", "", true)
	type lst struct {
		ID                 string
		Type               string
		Running            bool
		CurrentConnections int `json:"current_connections"`
		Addr               string
		BytesReceived      *uint64 `json:"bytes_received"`
		BytesSent          *uint64 `json:"bytes_sent"`
	}
	var ls []lst
	ids := map[string]lst{}
	// The connected client's CONNECT and CONNACK went through tcp:default
	// (a write is counted once it has returned: poll).
	eventually(5*time.Second, func() bool {
		ls = nil
		n.get(t, "/api/v5/listeners", &ls)
		for _, l := range ls {
			ids[l.ID] = l
		}
		l := ids["tcp:default"]
		return l.BytesReceived != nil && *l.BytesReceived > 0 && l.BytesSent != nil && *l.BytesSent > 0
	})
	if !ids["tcp:default"].Running || ids["tcp:default"].CurrentConnections != 1 || !ids["dashboard:http"].Running || !ids["stomp:tcp:default"].Running {
		t.Fatalf("listeners %+v", ls)
	}
	if l := ids["tcp:default"]; l.BytesReceived == nil || *l.BytesReceived == 0 || l.BytesSent == nil || *l.BytesSent == 0 {
		t.Fatalf("tcp:default bytes received %v sent %v, want both counted", l.BytesReceived, l.BytesSent)
	}
	cases := []struct {
		name, method, path string
		want               int
	}{
		{"get", "GET", "/api/v5/listeners/tcp:default", 200},
		{"get unknown", "GET", "/api/v5/listeners/tcp:nope", 404},
		{"bad action", "POST", "/api/v5/listeners/tcp:default/pause", 400},
		{"unknown listener", "POST", "/api/v5/listeners/tcp:nope/stop", 404},
		{"the API's own", "POST", "/api/v5/listeners/dashboard:http/stop", 400},
		{"start a running one", "POST", "/api/v5/listeners/tcp:default/start", 400},
		{"stop", "POST", "/api/v5/listeners/tcp:default/stop", 204},
		{"stop again", "POST", "/api/v5/listeners/tcp:default/stop", 400},
		{"start", "PUT", "/api/v5/listeners/tcp:default/start", 204},
		{"restart", "POST", "/api/v5/listeners/tcp:default/restart", 204},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if st, body := n.do(t, n.keyAuth(), tc.method, tc.path, nil); st != tc.want {
				t.Fatalf("%d %s, want %d", st, body, tc.want)
			}
			if tc.name == "stop" {
				var l lst
				n.get(t, "/api/v5/listeners/tcp:default", &l)
				if l.Running {
					t.Fatal("stopped listener reported running")
				}
			}
		})
	}
	// The restarted listener accepts connections on its new address.
	a := n.srv.Addr("tcp:default")
	if a == nil {
		t.Fatal("no tcp listener after restart")
	}
	conn, err := net.Dial("tcp", a.String())
	if err != nil {
		t.Fatalf("dial restarted listener: %v", err)
	}
	conn.Close()

	var gws []struct {
		Name      string
		Status    string
		Listeners []lst
	}
	n.get(t, "/api/v5/gateways", &gws)
	var names []string
	for _, g := range gws {
		names = append(names, g.Name)
		if g.Status != "running" || len(g.Listeners) == 0 {
			t.Errorf("gateway %+v", g)
		}
	}
	if fmt.Sprint(names) != "[coap lwm2m mqttsn raw stomp]" {
		t.Fatalf("gateways %v", names)
	}
	var p page[clientRow]
	n.get(t, "/api/v5/gateways/stomp/clients", &p)
	if p.Meta.Count != 0 {
		t.Fatalf("stomp clients %+v", p)
	}
	// A STOMP client shows up under its gateway.
	sc, err := net.Dial("tcp", n.srv.Addr("stomp:tcp:default").String())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	fmt.Fprintf(sc, "CONNECT\naccept-version:1.2\nhost:x\nclient-id:stomp-1\n\n\x00")
	if !eventually(5*time.Second, func() bool {
		n.get(t, "/api/v5/gateways/stomp/clients", &p)
		return p.Meta.Count == 1
	}) {
		t.Fatalf("stomp client not listed: %+v", p)
	}
	if p.Data[0].ProtoName != "STOMP" {
		t.Fatalf("stomp client %+v", p.Data[0])
	}
	if st, _ := n.do(t, n.keyAuth(), "GET", "/api/v5/gateways/nope/clients", nil); st != 404 {
		t.Fatal("unknown gateway found")
	}
	if st, _ := n.do(t, n.keyAuth(), "GET", "/api/v5/gateways/stomp", nil); st != 200 {
		t.Fatal("gateway stomp")
	}
}

func TestConfigs(t *testing.T) {
	prev := zerolog.GlobalLevel()
	defer zerolog.SetGlobalLevel(prev)
	n := start(t, nil)
	var all map[string]any
	n.get(t, "/api/v5/configs", &all)
	mqtt, _ := all["mqtt"].(map[string]any)
	if mqtt["max_inflight"] != float64(32) {
		t.Fatalf("configs.mqtt %v", mqtt)
	}
	if d := all["dashboard"].(map[string]any); d["default_password"] == "public" {
		t.Fatal("the default password is shown")
	}
	var log map[string]any
	n.get(t, "/api/v5/configs/log", &log)
	if log["level"] != "info" {
		t.Fatalf("log %v", log)
	}
	cases := []struct {
		name, root string
		body       any
		want       int
	}{
		{"set level", "log", map[string]string{"level": "debug"}, 200},
		{"bad level", "log", map[string]string{"level": "loud"}, 400},
		{"reload certificates", "listeners", map[string]any{}, 200},
		{"not reloadable", "mqtt", map[string]any{"max_inflight": 5}, 400},
		{"unknown mqtt key", "mqtt", map[string]any{"max_nothing": 5}, 400},
		{"out of range", "mqtt", map[string]any{"max_clientid_len": 3}, 400},
		{"wrong type", "mqtt", map[string]any{"idle_timeout": "soon"}, 400},
		{"mqtt limits", "mqtt", map[string]any{"max_clientid_len": 30, "idle_timeout": "20s"}, 200},
		{"not a root", "node", map[string]any{}, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if st, body := n.do(t, n.keyAuth(), "PUT", "/api/v5/configs/"+tc.root, tc.body); st != tc.want {
				t.Fatalf("%d %s, want %d", st, body, tc.want)
			}
		})
	}
	n.get(t, "/api/v5/configs/log", &log)
	if log["level"] != "debug" || zerolog.GlobalLevel() != zerolog.DebugLevel {
		t.Fatalf("level after set: %v, global %v", log["level"], zerolog.GlobalLevel())
	}
	n.get(t, "/api/v5/configs/mqtt", &mqtt)
	if mqtt["max_clientid_len"] != float64(30) || mqtt["idle_timeout"] != "20s" || mqtt["max_inflight"] != float64(32) {
		t.Fatalf("mqtt after update: %v", mqtt)
	}
	// New connections get the new limit: a 31-character client id is refused.
	o := pahov3.NewClientOptions().AddBroker(n.mqtt).SetClientID(strings.Repeat("c", 31)).SetAutoReconnect(false).SetConnectRetry(false)
	if tok := pahov3.NewClient(o).Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() == nil {
		t.Fatal("a client id over the new max_clientid_len connected")
	}
	n.client(t, strings.Repeat("c", 30), "", true)
	if st, _ := n.do(t, n.keyAuth(), "GET", "/api/v5/configs/nope", nil); st != 404 {
		t.Fatal("unknown root found")
	}
}

// metricValue returns the value of the sample line that starts with
// series ("name{labels}"), or -1.
func metricValue(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

func TestPrometheusMetrics(t *testing.T) {
	n := start(t, nil)
	c := n.client(t, "m", "", true)
	got := make(chan struct{}, 1)
	c.Subscribe("a", 0, func(pahov3.Client, pahov3.Message) { got <- struct{}{} }).Wait()
	n.do(t, n.keyAuth(), "POST", "/api/v5/publish", map[string]any{"topic": "none", "payload": "1"})

	// Bytes move when a client publishes: 2000 bytes in, and out again to the subscriber.
	const rxSeries, txSeries = `manifold_listener_bytes_received_total{listener="tcp:default",type="tcp"}`,
		`manifold_listener_bytes_sent_total{listener="tcp:default",type="tcp"}`
	metrics := func() string { _, body := n.do(t, noAuth, "GET", "/metrics", nil); return string(body) }
	// CONNECT, SUBSCRIBE; CONNACK, SUBACK (a write is counted once it has
	// returned, which can be just after the client has read it).
	var rx0, tx0 float64
	if !eventually(5*time.Second, func() bool {
		before := metrics()
		rx0, tx0 = metricValue(before, rxSeries), metricValue(before, txSeries)
		return rx0 > 0 && tx0 > 0
	}) {
		t.Fatalf("bytes before publishing: received %v, sent %v", rx0, tx0)
	}
	c.Publish("a", 1, false, strings.Repeat("x", 2000)).Wait()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the message did not come back")
	}
	if !eventually(5*time.Second, func() bool {
		text := metrics()
		rx, tx := metricValue(text, rxSeries), metricValue(text, txSeries)
		return rx >= rx0+2000 && tx >= tx0+2000 && metricValue(text, "manifold_bytes_received_total") >= rx &&
			metricValue(text, "manifold_bytes_sent_total") >= tx
	}) {
		text := metrics()
		t.Fatalf("bytes did not move: received %v → %v, sent %v → %v", rx0, metricValue(text, rxSeries), tx0, metricValue(text, txSeries))
	}

	for _, path := range []string{"/metrics", "/api/v5/prometheus/stats"} {
		st, body := n.do(t, noAuth, "GET", path, nil)
		if st != 200 {
			t.Fatalf("%s: %d", path, st)
		}
		text := string(body)
		for _, want := range []string{
			"manifold_connections 1\n",
			"manifold_subscriptions 1\n",
			`manifold_messages_dropped_total{reason="no_subscribers"} 1`,
			`manifold_listener_connections{listener="tcp:default",type="tcp"} 1`,
			`manifold_gateway_connections{gateway="stomp"} 0`,
			`manifold_gateway_bytes_received_total{gateway="stomp"} 0`,
			"manifold_alarms_active 0\n",
			"# TYPE go_goroutines gauge",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q", path, want)
			}
		}
		promtool, err := exec.LookPath("promtool")
		if err != nil {
			t.Fatal("promtool not found: install Debian's prometheus package (apt-get install -y prometheus)")
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool check metrics: %v\n%s\n--- metrics:\n%s", err, out, text)
		}
	}
}

func TestSwaggerListsEveryPath(t *testing.T) {
	n := start(t, nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	n.get(t, "/api-docs/swagger.json", &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	// Every path the tests above call is documented with its method.
	for _, want := range []string{
		"post /api/v5/login", "get /api/v5/clients", "get /api/v5/clients/{clientid}", "delete /api/v5/clients/{clientid}",
		"get /api/v5/clients/{clientid}/subscriptions", "post /api/v5/clients/{clientid}/subscribe",
		"get /api/v5/subscriptions", "get /api/v5/topics", "get /api/v5/routes", "post /api/v5/publish",
		"post /api/v5/publish/bulk", "get /api/v5/retainer/messages", "get /api/v5/retainer/message/{topic}",
		"get /api/v5/banned", "delete /api/v5/banned/{as}/{who}", "get /api/v5/alarms", "delete /api/v5/alarms", "get /api/v5/gateways",
		"get /api/v5/gateways/{name}/clients", "get /api/v5/listeners", "post /api/v5/listeners/{id}/{action}",
		"get /api/v5/configs", "put /api/v5/configs/{root}", "get /api/v5/prometheus/stats", "get /metrics",
		"get /api/v5/status", "get /api/v5/nodes", "get /api/v5/stats", "get /api/v5/metrics",
		"post /api/v5/users/{username}/change_pwd", "get /api/v5/api_key", "post /api/v5/api_key",
	} {
		m, p, _ := strings.Cut(want, " ")
		if _, ok := doc.Paths[p][m]; !ok {
			t.Errorf("swagger.json lacks %s", want)
		}
	}
}

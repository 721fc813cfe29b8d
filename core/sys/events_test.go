package sys

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/internal/testkit"
)

// client returns an MQTT 5 client with a username and an address.
func client(id string) *core.ClientInfo {
	return &core.ClientInfo{
		ClientID: id, Username: "alice", Proto: "mqtt", ProtoVer: 5,
		Peer: netip.MustParseAddrPort("192.0.2.7:51234"), Listener: "tcp:default",
	}
}

// decode parses a JSON event, keeping numbers exact, and checks its keys
// appear in exactly the order given.
func decode(t *testing.T, m *core.Message, keys ...string) map[string]any {
	t.Helper()
	if m == nil {
		t.Fatal("no event published")
	}
	if m.QoS != 0 || m.Retain || m.From != "" {
		t.Fatalf("event %s: qos %d retain %v from %q", m.Topic, m.QoS, m.Retain, m.From)
	}
	dec := json.NewDecoder(strings.NewReader(string(m.Payload)))
	dec.UseNumber()
	var got map[string]any
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%s: %v", m.Payload, err)
	}
	var order []string
	dec = json.NewDecoder(strings.NewReader(string(m.Payload)))
	dec.Token() // {
	for dec.More() {
		k, _ := dec.Token()
		order = append(order, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	if !slices.Equal(order, keys) {
		t.Fatalf("keys %v\nwant %v", order, keys)
	}
	return got
}

// checkFields compares decoded fields with want; "~now" means a
// millisecond timestamp within the last minute.
func checkFields(t *testing.T, got map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g := got[k]
		if w == "~now" {
			n, err := g.(json.Number).Int64()
			if err != nil || time.Since(time.UnixMilli(n)) > time.Minute || time.Since(time.UnixMilli(n)) < -time.Second {
				t.Errorf("%s = %v, want a recent ms timestamp", k, g)
			}
			continue
		}
		if n, ok := g.(json.Number); ok {
			g = n.String()
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %#v, want %#v", k, g, w)
		}
	}
}

func TestConnectedEvent(t *testing.T) {
	s, r := newSys(t, testConfig(), nil)
	at := time.UnixMilli(1_700_000_000_123)
	s.ClientConnected(client("dev/1"), ConnInfo{
		CleanStart: true, Keepalive: 60 * time.Second, ExpiryInterval: 2 * time.Hour,
		ConnectedAt: at, SockPort: 1883,
	})
	got := decode(t, r.last(pre+"clients/dev/1/connected"),
		"clientid", "username", "ipaddress", "sockport", "protocol", "proto_name", "proto_ver",
		"keepalive", "clean_start", "expiry_interval", "is_bridge", "connected_at", "ts")
	checkFields(t, got, map[string]any{
		"clientid": "dev/1", "username": "alice", "ipaddress": "192.0.2.7", "sockport": "1883",
		"protocol": "mqtt", "proto_name": "MQTT", "proto_ver": "5", "keepalive": "60",
		"clean_start": true, "expiry_interval": "7200", "is_bridge": false,
		"connected_at": "1700000000123", "ts": "~now",
	})
}

func TestConnectedEventDefaults(t *testing.T) {
	s, r := newSys(t, testConfig(), nil)
	// MQTT 3.1, no username, in-process (no address), no port, a bridge.
	ci := &core.ClientInfo{ClientID: "b", Proto: "mqtt", ProtoVer: 3}
	s.ClientConnected(ci, ConnInfo{IsBridge: true})
	got := decode(t, r.last(pre+"clients/b/connected"),
		"clientid", "username", "ipaddress", "protocol", "proto_name", "proto_ver",
		"keepalive", "clean_start", "expiry_interval", "is_bridge", "connected_at", "ts")
	checkFields(t, got, map[string]any{
		"username": nil, "ipaddress": nil, "proto_name": "MQIsdp", "proto_ver": "3",
		"clean_start": false, "is_bridge": true, "connected_at": "~now",
	})
}

func TestDisconnectedEvent(t *testing.T) {
	s, r := newSys(t, testConfig(), nil)
	ci := client("c1")
	ci.Peer = netip.MustParseAddrPort("[::ffff:10.0.0.1]:1000") // IPv4 over an IPv6 socket
	s.ClientDisconnected(ci, "keepalive_timeout")
	s.ClientDisconnected(client("c2"), "")
	got := decode(t, r.last(pre+"clients/c1/disconnected"),
		"clientid", "username", "ipaddress", "protocol", "proto_name", "proto_ver", "reason", "disconnected_at", "ts")
	checkFields(t, got, map[string]any{
		"clientid": "c1", "username": "alice", "ipaddress": "10.0.0.1", "protocol": "mqtt",
		"proto_name": "MQTT", "proto_ver": "5", "reason": "keepalive_timeout",
		"disconnected_at": "~now", "ts": "~now",
	})
	got = decode(t, r.last(pre+"clients/c2/disconnected"),
		"clientid", "username", "ipaddress", "protocol", "proto_name", "proto_ver", "reason", "disconnected_at", "ts")
	checkFields(t, got, map[string]any{"reason": "normal"})
}

func TestSubscriptionEvents(t *testing.T) {
	s, r := newSys(t, testConfig(), nil)
	s.ClientSubscribed(client("c1"), "a/+", core.SubOptions{QoS: 1, NoLocal: true, RetainHandling: 2, SubscriptionID: 9})
	s.ClientUnsubscribed(client("c1"), "a/+")
	got := decode(t, r.last(pre+"clients/c1/subscribed"), "clientid", "username", "protocol", "topic", "subopts", "ts")
	checkFields(t, got, map[string]any{"clientid": "c1", "topic": "a/+", "protocol": "mqtt", "ts": "~now"})
	opts := got["subopts"].(map[string]any)
	checkFields(t, opts, map[string]any{"qos": "1", "rh": "2", "rap": "0", "nl": "1", "subid": "9"})
	got = decode(t, r.last(pre+"clients/c1/unsubscribed"), "clientid", "username", "protocol", "topic", "ts")
	checkFields(t, got, map[string]any{"topic": "a/+", "username": "alice"})
}

func TestGatewayClientTopics(t *testing.T) {
	s, r := newSys(t, testConfig(), nil)
	for _, c := range []struct{ proto, gw, name string }{
		{"mqtt-sn", "mqttsn", "MQTT-SN"}, {"coap", "coap", "CoAP"}, {"lwm2m", "lwm2m", "LwM2M"},
		{"stomp", "stomp", "STOMP"}, {"raw", "raw", "raw"},
	} {
		ci := &core.ClientInfo{ClientID: "d1", Proto: c.proto, ProtoVer: 1}
		s.ClientConnected(ci, ConnInfo{})
		m := r.last(pre + "gateway/" + c.gw + "/clients/d1/connected")
		if m == nil {
			t.Fatalf("%s: nothing on the gateway topic; got %v", c.proto, r.topics())
		}
		var ev connectedEvent
		if err := json.Unmarshal(m.Payload, &ev); err != nil || ev.Protocol != c.gw || ev.ProtoName != c.name {
			t.Fatalf("%s: %s (%v)", c.proto, m.Payload, err)
		}
	}
	// The protocol name a client gave wins.
	s.ClientConnected(&core.ClientInfo{ClientID: "d2", Proto: "coap"}, ConnInfo{ProtoName: "CoAP-1.0"})
	var ev connectedEvent
	if err := json.Unmarshal(r.last(pre+"gateway/coap/clients/d2/connected").Payload, &ev); err != nil || ev.ProtoName != "CoAP-1.0" {
		t.Fatalf("proto_name %q (%v)", ev.ProtoName, err)
	}
}

func TestEventFlags(t *testing.T) {
	events := []struct {
		name string
		set  func(*Config)
		fire func(*Sys)
	}{
		{"connected", func(c *Config) { c.ClientConnected = false }, func(s *Sys) { s.ClientConnected(client("c"), ConnInfo{}) }},
		{"disconnected", func(c *Config) { c.ClientDisconnected = false }, func(s *Sys) { s.ClientDisconnected(client("c"), "normal") }},
		{"subscribed", func(c *Config) { c.ClientSubscribed = false }, func(s *Sys) { s.ClientSubscribed(client("c"), "t", core.SubOptions{}) }},
		{"unsubscribed", func(c *Config) { c.ClientUnsubscribed = false }, func(s *Sys) { s.ClientUnsubscribed(client("c"), "t") }},
	}
	for _, off := range events {
		t.Run(off.name+" off", func(t *testing.T) {
			cfg := testConfig()
			off.set(&cfg)
			s, r := newSys(t, cfg, nil)
			for _, e := range events {
				e.fire(s)
			}
			got := r.topics()
			if got[pre+"clients/c/"+off.name] != 0 {
				t.Fatalf("%s published while disabled", off.name)
			}
			if len(got) != 3 {
				t.Fatalf("published %v, want the three other events", got)
			}
		})
	}
	// Defaults are EMQX's: connected and disconnected only.
	s, r := newSys(t, DefaultConfig(), nil)
	for _, e := range events {
		e.fire(s)
	}
	if got := r.topics(); len(got) != 2 || got["$SYS/brokers/manifold@127.0.0.1/clients/c/connected"] != 1 ||
		got["$SYS/brokers/manifold@127.0.0.1/clients/c/disconnected"] != 1 {
		t.Fatalf("defaults published %v", got)
	}
	s.ClientConnected(nil, ConnInfo{}) // ignored, no panic
}

func TestPayloadsAreFresh(t *testing.T) {
	cfg := testConfig()
	cfg.Interval = 5 * time.Millisecond
	s, r := newSys(t, cfg, func() Snapshot { return snap })
	s.Start()
	testkit.MustEventually(t, 2*time.Second, func() bool { return len(r.on(pre+"stats/retained/count")) >= 2 })
	s.Stop()
	ms := r.on(pre + "stats/retained/count")
	if &ms[0].Payload[0] == &ms[1].Payload[0] || ms[0] == ms[1] {
		t.Fatal("two publishes share a message or payload")
	}
}

func BenchmarkClientConnected(b *testing.B) {
	s := New(testConfig(), nopPublisher{}, nil, zeroLog)
	ci := client("dev-000123")
	info := ConnInfo{CleanStart: true, Keepalive: time.Minute, SockPort: 1883}
	b.ReportAllocs()
	for b.Loop() {
		s.ClientConnected(ci, info)
	}
}

// listening is a recorder that says which topics have subscribers.
type listening struct {
	recorder
	topics map[string]bool
}

func (l *listening) Interested(topic string) bool { return l.topics[topic] }

func TestEventsNobodyListensToAreNotBuilt(t *testing.T) {
	l := &listening{topics: map[string]bool{pre + "clients/b/connected": true}}
	s := New(testConfig(), l, nil, zeroLog)
	t.Cleanup(s.Stop)
	s.ClientConnected(client("a"), ConnInfo{})
	s.ClientConnected(client("b"), ConnInfo{})
	if got := l.topics; len(l.on(pre+"clients/a/connected")) != 0 || len(l.on(pre+"clients/b/connected")) != 1 {
		t.Fatalf("published %v with subscribers only on %v", l.all(), got)
	}
}

func TestEventNobodyListensToCostsOnlyItsTopic(t *testing.T) {
	s := New(testConfig(), &listening{}, nil, zeroLog)
	t.Cleanup(s.Stop)
	ci := client("dev-000123")
	// The topic string is built to ask; the event and its JSON are not.
	if n := testing.AllocsPerRun(100, func() { s.ClientConnected(ci, ConnInfo{}) }); n > 1 {
		t.Fatalf("an unheard connected event allocates %v times, want at most 1 (its topic)", n)
	}
}

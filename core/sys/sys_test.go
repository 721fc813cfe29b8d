package sys

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/internal/testkit"
)

const pre = "$SYS/brokers/n1@host/"

var snap = Snapshot{
	Nodes:       []string{"n1@host", "n2@host"},
	Connections: 3, Sessions: 5, Subscriptions: 7, Topics: 6, Retained: 2,
	MessagesReceived: 100, MessagesSent: 90, MessagesDropped: 4, MessagesNoSubscriber: 3,
	DeliveryDropped: 1, BytesReceived: 4096, BytesSent: 8192,
}

func TestPeriodicTopicsAndPayloads(t *testing.T) {
	cfg := testConfig()
	cfg.Interval = 20 * time.Millisecond
	s, r := newSys(t, cfg, func() Snapshot { return snap })
	s.Start()
	// At least two rounds: the one at Start and one from the ticker.
	testkit.MustEventually(t, 2*time.Second, func() bool { return len(r.on(pre+"metrics/bytes/sent")) >= 2 })

	want := map[string]string{
		"$SYS/brokers":                                  "n1@host,n2@host",
		pre + "version":                                 "1.2.3",
		pre + "sysdescr":                                Sysdescr,
		pre + "stats/connections/count":                 "3",
		pre + "stats/sessions/count":                    "5",
		pre + "stats/subscriptions/count":               "7",
		pre + "stats/topics/count":                      "6",
		pre + "stats/retained/count":                    "2",
		pre + "metrics/messages/received":               "100",
		pre + "metrics/messages/sent":                   "90",
		pre + "metrics/messages/dropped":                "4",
		pre + "metrics/messages/dropped/no_subscribers": "3",
		pre + "metrics/delivery/dropped":                "1",
		pre + "metrics/bytes/received":                  "4096",
		pre + "metrics/bytes/sent":                      "8192",
	}
	for topic, payload := range want {
		m := r.last(topic)
		if m == nil {
			t.Errorf("nothing on %s", topic)
			continue
		}
		if string(m.Payload) != payload {
			t.Errorf("%s = %q, want %q", topic, m.Payload, payload)
		}
	}
	retained := map[string]bool{"$SYS/brokers": true, pre + "version": true, pre + "sysdescr": true, pre + "uptime": true}
	for _, m := range r.all() {
		if m.Retain != retained[m.Topic] || m.QoS != 0 || m.From != "" {
			t.Errorf("%s: retain %v qos %d from %q", m.Topic, m.Retain, m.QoS, m.From)
		}
		if _, ok := want[m.Topic]; !ok && m.Topic != pre+"uptime" && m.Topic != pre+"datetime" {
			t.Errorf("unexpected topic %s", m.Topic)
		}
	}
	checkBeat(t, r)
}

// checkBeat checks the latest uptime and datetime payloads.
func checkBeat(t *testing.T, r *recorder) {
	t.Helper()
	up := r.last(pre + "uptime")
	if up == nil || !regexp.MustCompile(`^[0-9]+$`).Match(up.Payload) {
		t.Fatalf("uptime %v", up)
	}
	dt := r.last(pre + "datetime")
	if dt == nil {
		t.Fatal("no datetime")
	}
	at, err := time.Parse(time.RFC3339Nano, string(dt.Payload))
	if err != nil || time.Since(at) > time.Minute || time.Since(at) < 0 {
		t.Fatalf("datetime %q: %v", dt.Payload, err)
	}
	if !regexp.MustCompile(`\.[0-9]{9}`).Match(dt.Payload) {
		t.Fatalf("datetime %q without nanoseconds", dt.Payload)
	}
}

func TestStartPublishesAtOnce(t *testing.T) {
	cfg := testConfig()
	cfg.Interval, cfg.HeartbeatInterval = time.Hour, time.Hour
	s, r := newSys(t, cfg, func() Snapshot { return snap })
	s.Start()
	testkit.MustEventually(t, 2*time.Second, func() bool { return r.last(pre+"metrics/bytes/sent") != nil })
	for _, topic := range []string{pre + "version", pre + "uptime", pre + "datetime", "$SYS/brokers"} {
		if n := len(r.on(topic)); n != 1 {
			t.Errorf("%s published %d times at Start, want once", topic, n)
		}
	}
}

func TestHeartbeatOnly(t *testing.T) {
	cfg := testConfig()
	cfg.HeartbeatInterval = 10 * time.Millisecond
	s, r := newSys(t, cfg, func() Snapshot { t.Error("stats called without Interval"); return snap })
	s.Start()
	testkit.MustEventually(t, 2*time.Second, func() bool { return len(r.on(pre+"datetime")) >= 3 })
	for topic := range r.topics() {
		if topic != pre+"uptime" && topic != pre+"datetime" {
			t.Errorf("heartbeat published %s", topic)
		}
	}
	checkBeat(t, r)
}

func TestUptimeCountsFromStarted(t *testing.T) {
	cfg := testConfig()
	cfg.HeartbeatInterval = time.Hour
	cfg.Started = time.Now().Add(-90 * time.Second)
	s, r := newSys(t, cfg, nil)
	s.Start()
	testkit.MustEventually(t, 2*time.Second, func() bool { return r.last(pre+"uptime") != nil })
	ms, err := strconv.ParseInt(string(r.last(pre+"uptime").Payload), 10, 64)
	if err != nil || ms < 90_000 || ms > 150_000 {
		t.Fatalf("uptime %d ms (%v), want about 90000", ms, err)
	}
}

func TestWithoutStats(t *testing.T) {
	cfg := testConfig()
	cfg.Interval = time.Hour
	cfg.Version = ""
	s, r := newSys(t, cfg, nil)
	s.Start()
	testkit.MustEventually(t, 2*time.Second, func() bool { return r.last(pre+"datetime") != nil })
	if got := r.topics(); len(got) != 5 {
		t.Fatalf("published %v, want version, sysdescr, brokers, uptime, datetime", got)
	}
	if m := r.last("$SYS/brokers"); string(m.Payload) != "n1@host" {
		t.Fatalf("$SYS/brokers = %q, want this node", m.Payload)
	}
	if m := r.last(pre + "version"); string(m.Payload) != "unknown" {
		t.Fatalf("version = %q", m.Payload)
	}
}

func TestStopStops(t *testing.T) {
	cfg := testConfig()
	cfg.Interval, cfg.HeartbeatInterval = 5*time.Millisecond, 3*time.Millisecond
	s, r := newSys(t, cfg, func() Snapshot { return snap })
	s.Start()
	testkit.MustEventually(t, 2*time.Second, func() bool { return len(r.on(pre+"version")) >= 2 })
	s.Stop()
	select {
	case <-s.exited:
	default:
		t.Fatal("Stop returned with the goroutine running")
	}
	n := r.len()
	s.ClientConnected(client("c1"), ConnInfo{})
	s.ClientDisconnected(client("c1"), "")
	s.Stop()
	s.Start()
	if r.len() != n {
		t.Fatalf("published %d messages after Stop", r.len()-n)
	}
}

func TestDisabledStartsNothing(t *testing.T) {
	s, r := newSys(t, testConfig(), func() Snapshot { return snap })
	s.Start()
	s.Start()
	s.Stop()
	if r.len() != 0 {
		t.Fatalf("published %d messages with both intervals 0", r.len())
	}
}

func TestStopBeforeStart(t *testing.T) {
	cfg := testConfig()
	cfg.Interval = time.Millisecond
	s, r := newSys(t, cfg, nil)
	s.Stop()
	s.Start()
	s.Stop()
	if r.len() != 0 {
		t.Fatalf("published %d messages", r.len())
	}
}

func TestPublishFailureLogged(t *testing.T) {
	var buf bytes.Buffer
	r := &recorder{fail: true}
	cfg := testConfig()
	cfg.Interval = time.Hour
	s := New(cfg, r, func() Snapshot { return snap }, zerolog.New(&buf))
	s.Start()
	s.Stop() // the Start round has run by the time Stop returns
	out := buf.String()
	if !bytes.Contains([]byte(out), []byte(`"message":"sys_publish_failed"`)) || !bytes.Contains([]byte(out), []byte(`"failed":17`)) {
		t.Fatalf("log %s", out)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"empty node":         func(c *Config) { c.Node = "" },
		"slash in node":      func(c *Config) { c.Node = "a/b" },
		"wildcard in node":   func(c *Config) { c.Node = "a+" },
		"negative interval":  func(c *Config) { c.Interval = -time.Second },
		"negative heartbeat": func(c *Config) { c.HeartbeatInterval = -time.Second },
	} {
		t.Run(name, func(t *testing.T) {
			c := DefaultConfig()
			mod(&c)
			if err := c.Validate(); !errors.Is(err, ErrBadConfig) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

package trace_test

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/trace"
	"github.com/manifold-iot/manifold/internal/testkit"
)

type conn struct{}

func (conn) Notify()    {}
func (conn) Kick(error) {}

func newTracer(t *testing.T, maxSize int64) *trace.Tracer {
	tr := trace.New(filepath.Join(t.TempDir(), "trace"), maxSize, zerolog.Nop())
	t.Cleanup(tr.Close)
	return tr
}

func newBroker(t *testing.T, tr *trace.Tracer) *broker.Broker {
	cfg := broker.DefaultConfig()
	cfg.Trace = tr
	cfg.Sys.ClientConnected, cfg.Sys.ClientDisconnected = false, false
	b := broker.New(cfg, zerolog.Nop())
	t.Cleanup(b.Close)
	return b
}

// logOf reads a trace's whole log.
func logOf(t *testing.T, tr *trace.Tracer, name string) string {
	t.Helper()
	f, _, err := tr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// waitFor waits until the trace's log has every one of subs.
func waitFor(t *testing.T, tr *trace.Tracer, name string, subs ...string) string {
	t.Helper()
	var log string
	deadline := time.Now().Add(2 * time.Second)
	for {
		log = logOf(t, tr, name)
		missing := ""
		for _, s := range subs {
			if !strings.Contains(log, s) {
				missing = s
			}
		}
		if missing == "" {
			return log
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s lacks %q; log:\n%s", name, missing, log)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func connect(b *broker.Broker, id, peer string) {
	ci := &core.ClientInfo{ClientID: id, Username: "u-" + id, Proto: "mqtt", ProtoVer: 5, Listener: "tcp:default"}
	if peer != "" {
		ci.Peer = netip.MustParseAddrPort(peer)
	}
	b.Connect(broker.ConnectRequest{Client: ci, Conn: conn{}, CleanStart: true})
}

func TestTracesThroughTheBroker(t *testing.T) {
	tr := newTracer(t, 0)
	if tr.Active() {
		t.Fatal("active with no trace")
	}
	b := newBroker(t, tr)
	for _, s := range []trace.Spec{
		{Name: "by-client", Type: trace.TypeClientID, ClientID: "c1"},
		{Name: "by_topic", Type: trace.TypeTopic, Topic: "sensors/+/temp", PayloadEncode: trace.EncodeHex},
		{Name: "by-ip", Type: trace.TypeIP, IPAddress: "10.0.0.7"},
	} {
		if _, err := tr.Create(s); err != nil {
			t.Fatal(err)
		}
	}
	if !tr.Active() {
		t.Fatal("not active with running traces")
	}
	connect(b, "c1", "10.0.0.7:5000")
	connect(b, "c2", "10.0.0.8:5000")
	if _, err := b.SubscribeFor("c2", "sensors/+/temp", core.SubOptions{QoS: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SubscribeFor("c1", "cmd/c1", core.SubOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SubscribeFor("c2", "$share/g/sensors/x/temp", core.SubOptions{}); err != nil {
		t.Fatal(err)
	}
	mustPublish := func(m *core.Message) {
		if _, err := b.Publish(m); err != nil {
			t.Fatal(err)
		}
	}
	mustPublish(&core.Message{From: "c1", Topic: "sensors/k/temp", QoS: 1, Payload: []byte("hi\nthere")})
	mustPublish(&core.Message{From: "c2", Topic: "cmd/c1", Payload: []byte("go")})
	mustPublish(&core.Message{From: "c2", Topic: "other", Payload: []byte("no")})
	b.Disconnect("c1", conn{}, false, nil, "normal") // conn{} is the value c1 connected with

	client := waitFor(t, tr, "by-client",
		"[connected] clientid=c1 username=u-c1 peer=10.0.0.7:5000 proto=mqtt proto_ver=5 listener=tcp:default session_present=false",
		"[subscribe] clientid=c1 topic=cmd/c1 qos=0",
		`[publish] clientid=c1 topic=sensors/k/temp qos=1 retain=false payload=hi\nthere`,
		"[deliver] clientid=c1 topic=cmd/c1 qos=0 retain=false from=c2 payload=go",
		"[disconnected] clientid=c1 peer=10.0.0.7:5000 reason=normal")
	if strings.Contains(client, "clientid=c2 topic=other") {
		t.Errorf("client trace has c2's publish:\n%s", client)
	}
	topic := waitFor(t, tr, "by_topic",
		"[subscribe] clientid=c2 topic=sensors/+/temp qos=1",
		"[subscribe] clientid=c2 topic=$share/g/sensors/x/temp qos=0",
		"[publish] clientid=c1 topic=sensors/k/temp qos=1 retain=false payload=68690a7468657265",
		"[deliver] clientid=c2 topic=sensors/k/temp qos=1 retain=false from=c1 payload=68690a7468657265")
	if strings.Contains(topic, "cmd/c1") || strings.Contains(topic, "[connected]") {
		t.Errorf("topic trace has unrelated events:\n%s", topic)
	}
	ip := waitFor(t, tr, "by-ip", "[connected] clientid=c1", "[disconnected] clientid=c1")
	if strings.Contains(ip, "clientid=c2") || strings.Contains(ip, "[publish]") {
		t.Errorf("ip trace has other events:\n%s", ip)
	}
	for _, line := range strings.Split(strings.TrimSpace(client), "\n") {
		if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", strings.Fields(line)[0]); err != nil {
			t.Errorf("line without a timestamp: %q", line)
		}
	}
	infos := tr.List()
	if len(infos) != 3 || infos[0].Name != "by-client" || infos[0].Status != trace.StatusRunning || infos[0].LogSize == 0 {
		t.Errorf("List = %+v", infos)
	}
}

func TestPayloadHidden(t *testing.T) {
	tr := newTracer(t, 0)
	b := newBroker(t, tr)
	if _, err := tr.Create(trace.Spec{Name: "h", Type: trace.TypeTopic, Topic: "#", PayloadEncode: trace.EncodeHidden}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Publish(&core.Message{Topic: "t", Payload: []byte("secret")}); err != nil {
		t.Fatal(err)
	}
	log := waitFor(t, tr, "h", "payload=******")
	if strings.Contains(log, "secret") {
		t.Errorf("hidden payload written:\n%s", log)
	}
}

func TestCreateValidates(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		spec trace.Spec
		want error
	}{
		{"bad name", trace.Spec{Name: "a b", Type: trace.TypeClientID, ClientID: "x"}, trace.ErrInvalid},
		{"long name", trace.Spec{Name: strings.Repeat("n", 257), Type: trace.TypeClientID, ClientID: "x"}, trace.ErrInvalid},
		{"path name", trace.Spec{Name: "../x", Type: trace.TypeClientID, ClientID: "x"}, trace.ErrInvalid},
		{"bad type", trace.Spec{Name: "n", Type: "user", ClientID: "x"}, trace.ErrInvalid},
		{"no clientid", trace.Spec{Name: "n", Type: trace.TypeClientID}, trace.ErrInvalid},
		{"bad filter", trace.Spec{Name: "n", Type: trace.TypeTopic, Topic: "a/#/b"}, trace.ErrInvalid},
		{"bad ip", trace.Spec{Name: "n", Type: trace.TypeIP, IPAddress: "300.1.1.1"}, trace.ErrInvalid},
		{"bad encode", trace.Spec{Name: "n", Type: trace.TypeClientID, ClientID: "x", PayloadEncode: "base64"}, trace.ErrInvalid},
		{"end before start", trace.Spec{Name: "n", Type: trace.TypeClientID, ClientID: "x", Start: now, End: now.Add(-time.Second)}, trace.ErrInvalid},
		{"end passed", trace.Spec{Name: "n", Type: trace.TypeClientID, ClientID: "x", Start: now.Add(-time.Hour), End: now.Add(-time.Minute)}, trace.ErrInvalid},
		{"ok", trace.Spec{Name: "n", Type: trace.TypeClientID, ClientID: "x"}, nil},
		{"duplicate", trace.Spec{Name: "n", Type: trace.TypeTopic, Topic: "t"}, trace.ErrExists},
	} {
		tr := newTracer(t, 0)
		if tc.name == "duplicate" {
			if _, err := tr.Create(trace.Spec{Name: "n", Type: trace.TypeClientID, ClientID: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		t.Run(tc.name, func(t *testing.T) {
			info, err := tr.Create(tc.spec)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Create = %v, want %v", err, tc.want)
			}
			if err == nil && (info.PayloadEncode != trace.EncodeText || info.End.Sub(info.Start) != trace.DefaultDuration) {
				t.Errorf("defaults not filled: %+v", info)
			}
		})
	}
}

func TestLimitStopDelete(t *testing.T) {
	tr := newTracer(t, 0)
	for i := range trace.MaxTraces {
		if _, err := tr.Create(trace.Spec{Name: fmt.Sprintf("t%d", i), Type: trace.TypeClientID, ClientID: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.Create(trace.Spec{Name: "more", Type: trace.TypeClientID, ClientID: "x"}); !errors.Is(err, trace.ErrFull) {
		t.Fatalf("31st trace: %v, want ErrFull", err)
	}
	info, err := tr.Stop("t0")
	if err != nil || info.Status != trace.StatusStopped {
		t.Fatalf("Stop = %+v, %v", info, err)
	}
	path := filepath.Join(tr.Dir(), "t0.log")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stopped trace lost its log: %v", err)
	}
	if err := tr.Delete("t0"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("deleted trace's log remains: %v", err)
	}
	for _, err := range []error{tr.Delete("t0"), func() error { _, err := tr.Stop("t0"); return err }()} {
		if !errors.Is(err, trace.ErrNotFound) {
			t.Errorf("unknown trace: %v, want ErrNotFound", err)
		}
	}
	if err := tr.DeleteAll(); err != nil || len(tr.List()) != 0 || tr.Active() {
		t.Errorf("DeleteAll: %v, %d left, active %v", err, len(tr.List()), tr.Active())
	}
}

func TestWaitingTraceDoesNotRecord(t *testing.T) {
	tr := newTracer(t, 0)
	b := newBroker(t, tr)
	info, err := tr.Create(trace.Spec{Name: "later", Type: trace.TypeTopic, Topic: "#", Start: time.Now().Add(time.Hour)})
	if err != nil || info.Status != trace.StatusWaiting {
		t.Fatalf("Create = %+v, %v", info, err)
	}
	if tr.Active() {
		t.Error("a waiting trace makes the tracer active")
	}
	_, _ = b.Publish(&core.Message{Topic: "t", Payload: []byte("x")})
	if log := logOf(t, tr, "later"); log != "" {
		t.Errorf("waiting trace wrote:\n%s", log)
	}
}

func TestFileSizeBound(t *testing.T) {
	tr := newTracer(t, 1024)
	b := newBroker(t, tr)
	if _, err := tr.Create(trace.Spec{Name: "small", Type: trace.TypeTopic, Topic: "#"}); err != nil {
		t.Fatal(err)
	}
	payload := []byte(strings.Repeat("p", 100))
	for range 50 {
		_, _ = b.Publish(&core.Message{Topic: "t", Payload: payload})
	}
	testkit.MustEventually(t, 2*time.Second, func() bool { i, _ := tr.Get("small"); return i.Truncated })
	i, _ := tr.Get("small")
	if i.LogSize > 1024 || i.LogSize == 0 {
		t.Errorf("log size %d, want 1..1024", i.LogSize)
	}
	if log := logOf(t, tr, "small"); int64(len(log)) != i.LogSize || !strings.HasSuffix(log, "\n") {
		t.Errorf("file is %d bytes (reported %d), ends %q", len(log), i.LogSize, log[max(0, len(log)-10):])
	}
}

func TestTracesSurviveRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "trace")
	tr := trace.New(dir, 0, zerolog.Nop())
	b := newBroker(t, tr)
	for _, s := range []trace.Spec{
		{Name: "keep", Type: trace.TypeTopic, Topic: "k/#"},
		{Name: "stopped", Type: trace.TypeClientID, ClientID: "x"},
		{Name: "gone", Type: trace.TypeIP, IPAddress: "::1"},
	} {
		if _, err := tr.Create(s); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = tr.Stop("stopped")
	_ = tr.Delete("gone")
	_, _ = b.Publish(&core.Message{Topic: "k/1", Payload: []byte("first")})
	waitFor(t, tr, "keep", "payload=first")
	tr.Close()

	again := trace.New(dir, 0, zerolog.Nop())
	t.Cleanup(again.Close)
	infos := again.List()
	if len(infos) != 2 || infos[0].Name != "keep" || infos[0].Status != trace.StatusRunning || infos[0].LogSize == 0 ||
		infos[1].Name != "stopped" || infos[1].Status != trace.StatusStopped {
		t.Fatalf("after restart: %+v", infos)
	}
	b2 := newBroker(t, again)
	_, _ = b2.Publish(&core.Message{Topic: "k/2", Payload: []byte("second")})
	log := waitFor(t, again, "keep", "payload=first", "payload=second")
	if strings.Index(log, "first") > strings.Index(log, "second") {
		t.Errorf("log not appended to:\n%s", log)
	}
}

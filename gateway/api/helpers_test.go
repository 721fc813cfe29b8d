package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/gateway"
	"github.com/manifold-iot/manifold/gateway/api"
	"github.com/manifold-iot/manifold/gateway/config"
	"github.com/manifold-iot/manifold/internal/testkit"
)

// node is a running in-process server and a client of its API.
type node struct {
	srv     *gateway.Server
	cfg     *config.Config
	base    string // http://127.0.0.1:port
	mqtt    string // tcp://127.0.0.1:port
	key     string // the ctl credential: an API key
	secret  string
	dataDir string
}

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Node.DataDir = t.TempDir()
	cfg.Listeners.TCP["default"].Bind = "127.0.0.1:0"
	cfg.Listeners.WS["default"].Enable = false
	cfg.Dashboard.Listeners.HTTP.Bind = "127.0.0.1:0"
	cfg.Authorization.Sources = nil
	cfg.Gateway.STOMP.Listeners.TCP["default"].Bind = "127.0.0.1:0"
	cfg.Gateway.STOMP.Listeners.HTTP["default"].Enable = false
	cfg.Gateway.MQTTSN.Listeners.UDP["default"].Bind = "127.0.0.1:0"
	cfg.Gateway.CoAP.Listeners.UDP["default"].Bind = "127.0.0.1:0"
	cfg.Gateway.Raw.Listeners.TCP["default"].Bind = "127.0.0.1:0"
	cfg.Gateway.Raw.Listeners.UDP["default"].Bind = "127.0.0.1:0"
	cfg.Gateway.LwM2M.Listeners.UDP["default"].Bind = "127.0.0.1:0"
	cfg.Gateway.LwM2M.XMLDir = "../../configs/lwm2m"
	cfg.SysTopics.SysEventMessages = config.SysEventMessages{}
	// The machine's own alarms would depend on the machine running the tests.
	cfg.Sysmon.OS.MemCheckInterval, cfg.Sysmon.OS.CPUCheckInterval, cfg.Sysmon.Disk.DiskCheckInterval = 0, 0, 0
	return cfg
}

// start runs a server with cfg (testConfig when nil) until the test ends.
func start(t *testing.T, cfg *config.Config) *node {
	t.Helper()
	if cfg == nil {
		cfg = testConfig(t)
	}
	srv, err := gateway.New(cfg, zerolog.Nop(), gateway.WithVersion("test"), gateway.WithPasswordHashIterations(1000))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	if !eventually(5*time.Second, func() bool {
		for _, l := range srv.Listeners() {
			if !l.Running {
				return false
			}
		}
		return true
	}) {
		t.Fatal("server did not start")
	}
	n := &node{srv: srv, cfg: cfg, base: "http://" + srv.Addr("dashboard:http").String(),
		mqtt: "tcp://" + srv.Addr("tcp:default").String(), dataDir: cfg.Node.DataDir}
	data, err := os.ReadFile(filepath.Join(cfg.Node.DataDir, api.CtlKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	var c api.CtlCredential
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	n.key, n.secret = c.Key, c.Secret
	return n
}

// eventually polls cond until it holds or within has passed.
func eventually(within time.Duration, cond func() bool) bool {
	return testkit.Eventually(within, cond)
}

// auth is how a request authenticates.
type auth func(*http.Request)

func bearer(t string) auth {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+t) }
}
func basic(k, s string) auth {
	return func(r *http.Request) { r.SetBasicAuth(k, s) }
}
func noAuth(*http.Request) {}

// do sends a request; body is JSON-encoded unless it is a string.
func (n *node) do(t *testing.T, a auth, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, n.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	a(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// key is the node's ctl API key.
func (n *node) keyAuth() auth { return basic(n.key, n.secret) }

// get is a GET with the ctl key that must answer 200; it decodes into v.
func (n *node) get(t *testing.T, path string, v any) {
	t.Helper()
	st, body := n.do(t, n.keyAuth(), "GET", path, nil)
	if st != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, st, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, body)
		}
	}
}

// errCode extracts the code of an error body.
func errCode(body []byte) string {
	var e struct{ Code string }
	_ = json.Unmarshal(body, &e)
	return e.Code
}

// page is a paged list.
type page[T any] struct {
	Data []T `json:"data"`
	Meta struct {
		Page, Limit, Count int
		HasNext            bool `json:"hasnext"`
	} `json:"meta"`
}

// client connects an MQTT 3.1.1 client.
func (n *node) client(t *testing.T, id, username string, clean bool) pahov3.Client {
	t.Helper()
	o := pahov3.NewClientOptions().AddBroker(n.mqtt).SetClientID(id).SetUsername(username).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second)
	c := pahov3.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// daemonEnv binds every listener of the shipped config to a free loopback
// port and keeps data and log in dir.
func daemonEnv(dir string) []string {
	return append(os.Environ(),
		"MANIFOLD_LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_LISTENERS__WS__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_DASHBOARD__LISTENERS__HTTP__BIND=127.0.0.1:0",
		"MANIFOLD_GATEWAY__STOMP__LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_GATEWAY__STOMP__LISTENERS__HTTP__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_GATEWAY__MQTTSN__LISTENERS__UDP__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_GATEWAY__COAP__LISTENERS__UDP__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_GATEWAY__RAW__LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_GATEWAY__RAW__LISTENERS__UDP__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_NODE__DATA_DIR="+filepath.Join(dir, "data"),
		"MANIFOLD_LOG__FILE__PATH="+filepath.Join(dir, "log", "manifold.log"),
	)
}

// manifold runs the binary with args and returns its exit code and output.
func manifold(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binPath, append(args[:1:1], append([]string{"-c", shippedConfig(t)}, args[1:]...)...)...)
	if args[0] == "ctl" {
		cmd = exec.Command(binPath, append([]string{"ctl", "-c", shippedConfig(t)}, args[1:]...)...)
	}
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	case err != nil:
		t.Fatalf("%v: %v", args, err)
	}
	return 0, stdout.String(), stderr.String()
}

// credential reads the ctl credential the node wrote.
func credential(t *testing.T, dir string) (url, key, secret string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "data", "ctl.key"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ URL, API_Key, API_Secret string }
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c.URL, c.API_Key, c.API_Secret
}

// apiGet GETs an API path with basic auth and decodes the JSON answer.
func apiGet(t *testing.T, base, key, secret, path string, v any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.SetBasicAuth(key, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		_ = json.NewDecoder(resp.Body).Decode(v)
	}
	return resp.StatusCode
}

func TestE2EDaemonStatusCtlStop(t *testing.T) {
	dir := t.TempDir()
	env := daemonEnv(dir)
	t.Cleanup(func() { manifold(t, env, "stop") }) // a failed test leaves no node behind

	if code, _, _ := manifold(t, env, "status"); code != 1 {
		t.Fatalf("status before start: exit %d, want 1", code)
	}
	if code, _, stderr := manifold(t, env, "ctl", "clients", "list"); code != 1 || !strings.Contains(stderr, "not running") {
		t.Fatalf("ctl before start: exit %d, stderr %q", code, stderr)
	}
	code, out, stderr := manifold(t, env, "start", "-d")
	if code != 0 || !strings.Contains(out, "started (pid") || !strings.Contains(out, "tcp:default") || !strings.Contains(out, "raw:udp:default") {
		t.Fatalf("start -d: exit %d\n%s%s", code, out, stderr)
	}
	if code, out, _ := manifold(t, env, "start", "-d"); code != 1 {
		t.Fatalf("second start -d: exit %d\n%s", code, out)
	}
	code, out, _ = manifold(t, env, "status")
	if code != 0 || !strings.Contains(out, "is started") || !strings.Contains(out, "connections: 0") || !strings.Contains(out, "tcp:default") {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	// The ctl credential is private to the node's user.
	fi, err := os.Stat(filepath.Join(dir, "data", "ctl.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ctl.key: %v %v", err, fi)
	}

	// An MQTT client shows up in ctl clients list; ctl kicks it.
	base, key, secret := credential(t, dir)
	var ls []struct{ ID, Addr string }
	apiGet(t, base, key, secret, "/api/v5/listeners", &ls)
	var mqttAddr string
	for _, l := range ls {
		if l.ID == "tcp:default" {
			mqttAddr = l.Addr
		}
	}
	needTool(t, "mosquitto_sub")
	sub := exec.Command("mosquitto_sub", "-h", "127.0.0.1", "-p", mqttAddr[strings.LastIndexByte(mqttAddr, ':')+1:], "-i", "watcher", "-t", "a/b")
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Process.Kill(); _ = sub.Wait() })
	if !eventually(t, 5*time.Second, func() bool {
		_, out, _ := manifold(t, env, "ctl", "clients", "list")
		return strings.Contains(out, "Client(watcher,") && strings.Contains(out, "connected=true")
	}) {
		t.Fatal("ctl clients list never showed watcher")
	}
	if _, out, _ := manifold(t, env, "ctl", "subscriptions", "list"); !strings.Contains(out, "watcher -> topic:a/b qos:0") {
		t.Fatalf("ctl subscriptions list:\n%s", out)
	}
	if _, out, _ := manifold(t, env, "ctl", "topics", "list"); !strings.Contains(out, "a/b -> manifold@127.0.0.1") {
		t.Fatalf("ctl topics list:\n%s", out)
	}
	if code, out, _ := manifold(t, env, "ctl", "clients", "kick", "watcher"); code != 0 || strings.TrimSpace(out) != "ok" {
		t.Fatalf("ctl kick: %d %s", code, out)
	}
	if code, _, stderr := manifold(t, env, "ctl", "clients", "show", "nobody"); code != 1 || !strings.Contains(stderr, "CLIENTID_NOT_FOUND") {
		t.Fatalf("ctl show nobody: %d %s", code, stderr)
	}
	if code, _, _ := manifold(t, env, "ctl", "clients", "dance"); code != 2 {
		t.Fatalf("ctl bad subcommand: exit %d, want 2", code)
	}
	for _, args := range [][]string{
		{"ctl", "banned", "add", "clientid", "evil", "testing"},
		{"ctl", "banned", "del", "clientid", "evil"},
		{"ctl", "admins", "add", "ops", "ops-password"},
		{"ctl", "admins", "passwd", "ops", "ops-password-2"},
		{"ctl", "admins", "del", "ops"},
		{"ctl", "retainer", "clean"},
		{"ctl", "log", "set-level", "debug"},
	} {
		if code, out, stderr := manifold(t, env, args...); code != 0 {
			t.Fatalf("%v: exit %d %s%s", args, code, out, stderr)
		}
	}
	if _, out, _ := manifold(t, env, "ctl", "api-keys", "add", "script"); !strings.Contains(out, "api_secret: ") {
		t.Fatalf("ctl api-keys add:\n%s", out)
	}
	if _, out, _ := manifold(t, env, "ctl", "api-keys", "list"); !strings.Contains(out, "script api_key=") {
		t.Fatalf("ctl api-keys list:\n%s", out)
	}
	if _, out, _ := manifold(t, env, "ctl", "listeners"); !strings.Contains(out, "tcp:default\n  listen_on       : 127.0.0.1:0") {
		t.Fatalf("ctl listeners:\n%s", out)
	}
	if _, out, _ := manifold(t, env, "ctl", "gateways"); !strings.Contains(out, "Gateway(name=stomp, status=running") {
		t.Fatalf("ctl gateways:\n%s", out)
	}

	code, out, stderr = manifold(t, env, "stop")
	if code != 0 || !strings.Contains(out, "stopped") {
		t.Fatalf("stop: exit %d %s%s", code, out, stderr)
	}
	if code, out, _ := manifold(t, env, "status"); code != 1 || !strings.Contains(out, "not running") {
		t.Fatalf("status after stop: exit %d %s", code, out)
	}
	if code, _, _ := manifold(t, env, "stop"); code != 1 {
		t.Fatalf("stop when stopped: exit %d", code)
	}
	for _, f := range []string{"manifold.pid", "ctl.key"} {
		if _, err := os.Stat(filepath.Join(dir, "data", f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind after stop: %v", f, err)
		}
	}
	log, err := os.ReadFile(filepath.Join(dir, "log", "manifold.log"))
	if err != nil || !strings.Contains(string(log), `"server_stopped"`) || !strings.Contains(string(log), `"api_log_level_set"`) {
		t.Fatalf("log file lacks server_stopped: %v\n%s", err, log)
	}
}

func TestE2EAPIKeyPublishReachesMosquittoSub(t *testing.T) {
	needTool(t, "mosquitto_sub")
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte("script-key:script-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, "MANIFOLD_DASHBOARD__LISTENERS__HTTP__ENABLE=true", "MANIFOLD_DASHBOARD__LISTENERS__HTTP__BIND=127.0.0.1:0",
		"MANIFOLD_API_KEY__BOOTSTRAP_FILE="+keys)
	var base string
	for _, ev := range b.logs.find("listener_started") {
		if ev["proto"] == "dashboard" {
			base = "http://" + ev["addr"].(string)
		}
	}
	if base == "" {
		t.Fatal("no dashboard listener_started")
	}
	type page struct {
		Data []struct {
			ClientID  string `json:"clientid"`
			Connected bool   `json:"connected"`
		} `json:"data"`
		Meta struct{ Count int } `json:"meta"`
	}
	sub := b.startSub(t, "-i", "x", "-t", "api/test", "-C", "1", "-W", "10")
	b.waitSubscribed(t, "x")
	var p page
	if st := apiGet(t, base, "script-key", "script-secret", "/api/v5/clients?clientid=x", &p); st != 200 || p.Meta.Count != 1 || !p.Data[0].Connected {
		t.Fatalf("clients?clientid=x while subscribed: %d %+v", st, p)
	}
	body := `{"topic":"api/test","payload":"from-the-api","qos":1}`
	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-sf", "-u", "script-key:script-secret", "-H", "Content-Type: application/json",
			"-d", body, base+"/api/v5/publish").CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"id"`) {
			t.Fatalf("curl publish: %v %s", err, out)
		}
	} else {
		req, _ := http.NewRequest("POST", base+"/api/v5/publish", strings.NewReader(body))
		req.SetBasicAuth("script-key", "script-secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("publish: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	if out := sub.wait(t, 10*time.Second); strings.TrimSpace(out) != "from-the-api" {
		t.Fatalf("mosquitto_sub got %q", out)
	}
	// mosquitto_sub has gone (clean session): the client is no longer listed.
	if !eventually(t, 5*time.Second, func() bool {
		p = page{}
		apiGet(t, base, "script-key", "script-secret", "/api/v5/clients?clientid=x", &p)
		return p.Meta.Count == 0
	}) {
		t.Fatalf("clients?clientid=x after disconnect: %+v", p)
	}
	// A wrong secret is refused.
	if st := apiGet(t, base, "script-key", "nope", "/api/v5/clients", nil); st != 401 {
		t.Fatalf("wrong secret: %d", st)
	}
}

func TestE2EStopKeepsPersistentSessions(t *testing.T) {
	dir := t.TempDir()
	env := daemonEnv(dir)
	t.Cleanup(func() { manifold(t, env, "stop") })
	mqttAddr := func() string {
		base, key, secret := credential(t, dir)
		var ls []struct{ ID, Addr string }
		apiGet(t, base, key, secret, "/api/v5/listeners", &ls)
		for _, l := range ls {
			if l.ID == "tcp:default" {
				return l.Addr
			}
		}
		t.Fatal("no tcp:default listener")
		return ""
	}
	if code, out, stderr := manifold(t, env, "start", "-d"); code != 0 {
		t.Fatalf("start -d: %d %s%s", code, out, stderr)
	}
	o := pahov3.NewClientOptions().AddBroker("tcp://" + mqttAddr()).SetClientID("keeper").SetCleanSession(false).SetAutoReconnect(false)
	c := pahov3.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	if tok := c.Subscribe("keep/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	c.Disconnect(100)
	if code, out, stderr := manifold(t, env, "stop"); code != 0 {
		t.Fatalf("stop: %d %s%s", code, out, stderr)
	}
	if code, out, stderr := manifold(t, env, "start", "-d"); code != 0 {
		t.Fatalf("second start -d: %d %s%s", code, out, stderr)
	}
	if code, out, _ := manifold(t, env, "ctl", "clients", "show", "keeper"); code != 0 || !strings.Contains(out, "connected=false") {
		t.Fatalf("the persistent session did not survive stop/start: %d %s", code, out)
	}
	if _, out, _ := manifold(t, env, "ctl", "subscriptions", "show", "keeper"); !strings.Contains(out, "keeper -> topic:keep/# qos:1") {
		t.Fatalf("its subscription did not survive: %s", out)
	}
}

package lwm2m

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// output collects a child process's stdout and stderr.
type output struct {
	mu sync.Mutex
	b  strings.Builder
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// TestNodeLwM2MClient drives the gateway with a real LwM2M client, npm
// lwm2m-node-lib (scripts/e2e/lwm2m, installed by .ci/run with npm ci): it
// registers, is read and written through MQTT commands, and notifies on
// observe.
func TestNodeLwM2MClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found (CI installs nodejs)")
	}
	dir, _ := filepath.Abs("../scripts/e2e/lwm2m")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "lwm2m-node-lib")); err != nil {
		t.Fatal("npm lwm2m-node-lib missing: run (cd scripts/e2e/lwm2m && npm ci)")
	}
	e := newEnv(t, nil)
	host, port, _ := strings.Cut(e.srv.Addr("udp:default").String(), ":")
	out := &output{}
	cmd := exec.Command(node, filepath.Join(dir, "client.js"), host, port, "node-ep")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	wait := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), what) {
			if time.Now().After(deadline) || strings.Contains(out.String(), `"event":"error"`) {
				t.Fatalf("waiting for %q; node said:\n%s", what, out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	wait(`"event":"registered"`)
	topic := "lwm2m/node-ep/up/resp"
	reg := e.waitUplink(topic, msgType("register"))
	if data(reg)["lwm2m"] != "1.0" || !strings.Contains(reg.Raw, `"/3/0"`) {
		t.Fatalf("register message: %s", reg.Raw)
	}

	e.command("node-ep", `{"reqID":1,"msgType":"read","data":{"path":"/3/0/0"}}`)
	r := e.waitUplink(topic, reqID(1))
	if data(r)["code"] != "2.05" || content(r)["/3/0/0"] != "Manifold-node" {
		t.Fatalf("read: %s", r.Raw)
	}

	e.command("node-ep", `{"reqID":2,"msgType":"write","data":{"path":"/3/0/1","type":"String","value":"renamed"}}`)
	r = e.waitUplink(topic, reqID(2))
	if data(r)["code"] != "2.04" {
		t.Fatalf("write: %s", r.Raw)
	}
	wait(`"path":"/3/0/1","value":"renamed"`)
	e.command("node-ep", `{"reqID":3,"msgType":"read","data":{"path":"/3/0/1"}}`)
	r = e.waitUplink(topic, reqID(3))
	if content(r)["/3/0/1"] != "renamed" {
		t.Fatalf("read after write: %s", r.Raw)
	}

	e.command("node-ep", `{"reqID":4,"msgType":"observe","data":{"path":"/3/0/9"}}`)
	r = e.waitUplink(topic, reqID(4))
	if data(r)["code"] != "2.05" || content(r)["/3/0/9"] != float64(90) {
		t.Fatalf("observe: %s", r.Raw)
	}
	// A write changes the resource; the client notifies its observer.
	e.command("node-ep", `{"reqID":5,"msgType":"write","data":{"path":"/3/0/9","value":42}}`)
	e.waitUplink(topic, reqID(5))
	n := e.waitUplink("lwm2m/node-ep/up/notify", msgType("notify"))
	if n.Body["reqID"] != float64(4) || content(n)["/3/0/9"] != float64(42) {
		t.Fatalf("notify: %s", n.Raw)
	}
}

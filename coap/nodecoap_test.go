package coap

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/core"
)

// TestNodeCoapObserveAndRSTUnsubscribe drives the gateway with npm coap
// (scripts/e2e/coap, installed by .ci/run with npm ci): it observes, gets a
// notification, closes its stream, and answers the next confirmable
// notification with RST, which must end the subscription.
func TestNodeCoapObserveAndRSTUnsubscribe(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found (CI installs nodejs)")
	}
	dir, _ := filepath.Abs("../scripts/e2e/coap")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "coap")); err != nil {
		t.Fatal("npm coap missing: run (cd scripts/e2e/coap && npm ci)")
	}
	e := newEnv(t, nil)
	_, port, _ := strings.Cut(e.addr(), ":")
	o := &observer{}
	o.cmd = exec.Command(node, filepath.Join(dir, "observe.js"), port, "/ps/node/t", "clientid=n1")
	o.cmd.Stdout, o.cmd.Stderr = o, o
	if err := o.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.cmd.Process.Kill(); _ = o.cmd.Wait() })
	wait := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(o.String(), what) {
			if time.Now().After(deadline) || strings.Contains(o.String(), "FAIL") {
				t.Fatalf("waiting for %q; node said:\n%s", what, o.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	wait("REGISTERED")
	eventually(t, 5*time.Second, func() bool { return len(e.ctx.Subscriptions("n1")) == 1 })
	pub := e.mqttClient("pub")
	pub.publish("node/t", "first", core.QoS1)
	wait("NOTIFY first")
	wait("CLOSED")
	pub.publish("node/t", "second", core.QoS1) // a CON notification: node answers RST
	eventually(t, 5*time.Second, func() bool { return len(e.ctx.Subscriptions("n1")) == 0 })
	if !strings.Contains(e.logs.String(), `"outcome":"reset"`) {
		t.Fatalf("the observation did not end by RST; logs:\n%s", e.logs.String())
	}
	if strings.Contains(o.String(), "NOTIFY second") {
		t.Fatal("the closed stream still delivered")
	}
}

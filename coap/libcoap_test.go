package coap

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/adapters/coapnet"
	"github.com/manifold-iot/manifold/core"
)

// These tests drive the gateway with libcoap's coap-client-openssl (Debian
// libcoap3-bin, installed by .ci/run). They fail, not skip, when it is
// missing: CI must run them.

func coapClient(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("coap-client-openssl")
	if err != nil {
		t.Fatal("coap-client-openssl not found: apt-get install -y libcoap3-bin")
	}
	return p
}

// runCoapClient runs coap-client-openssl to completion and returns its stdout.
func runCoapClient(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, coapClient(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("coap-client-openssl %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

// observer is a coap-client-openssl observing in the background.
type observer struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	out bytes.Buffer
}

func (o *observer) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.out.Write(p)
}

func (o *observer) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.out.String()
}

func startObserver(t *testing.T, args ...string) *observer {
	t.Helper()
	o := &observer{}
	o.cmd = exec.Command(coapClient(t), args...)
	o.cmd.Stdout = o
	o.cmd.Stderr = o
	if err := o.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = o.cmd.Process.Kill()
		_ = o.cmd.Wait()
	})
	return o
}

func (e *env) url(scheme, listener, path string) string {
	return scheme + "://" + e.srv.Addr(listener).String() + path
}

func TestLibcoapPublish(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.mqttClient("sub")
	sub.subscribe("sensors/#", core.QoS1)
	runCoapClient(t, "-m", "post", "-e", "21.5", e.url("coap", "udp:default", "/ps/sensors/1/temp?clientid=c1"))
	eventually(t, 2*time.Second, func() bool { return len(sub.messages()) == 1 })
	if m := sub.messages()[0]; m.Topic != "sensors/1/temp" || string(m.Payload) != "21.5" {
		t.Fatalf("got %s %q", m.Topic, m.Payload)
	}
}

func TestLibcoapObserve(t *testing.T) {
	e := newEnv(t, nil)
	o := startObserver(t, "-m", "get", "-s", "20", "-w", e.url("coap", "udp:default", "/ps/cmd/c1?clientid=c1"))
	eventually(t, 5*time.Second, func() bool { return len(e.ctx.Subscriptions("c1")) == 1 })
	pub := e.mqttClient("pub")
	pub.publish("cmd/c1", "hello-0", core.QoS0)
	pub.publish("cmd/c1", "hello-1", core.QoS1)
	eventually(t, 5*time.Second, func() bool {
		s := o.String()
		return strings.Contains(s, "hello-0") && strings.Contains(s, "hello-1")
	})
}

func blockPayload() []byte {
	return bytes.Repeat([]byte("0123456789abcdef"), 256) // 4 KiB, printable
}

func TestLibcoapBlockwise4K(t *testing.T) {
	e := newEnv(t, nil)
	sub := e.mqttClient("sub")
	sub.subscribe("big/#", core.QoS1)
	data := blockPayload()
	file := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	runCoapClient(t, "-m", "post", "-b", "1024", "-f", file, e.url("coap", "udp:default", "/ps/big/up?clientid=bw1"))
	eventually(t, 3*time.Second, func() bool { return len(sub.messages()) == 1 })
	if got := sub.messages()[0].Payload; !bytes.Equal(got, data) {
		t.Fatalf("published %d bytes, want the 4096 sent", len(got))
	}

	// And a 4 KiB notification, fetched block by block (RFC 7959 §3.4).
	o := startObserver(t, "-m", "get", "-s", "20", "-b", "1024", e.url("coap", "udp:default", "/ps/big/down?clientid=bw2"))
	eventually(t, 5*time.Second, func() bool { return len(e.ctx.Subscriptions("bw2")) == 1 })
	e.mqttClient("pub").publish("big/down", string(data), core.QoS0)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(o.String(), string(data)) {
		if time.Now().After(deadline) {
			t.Fatalf("observer output: %q\nlogs: %s", o.String(), e.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLibcoapDTLSPSK(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Listeners.DTLS = map[string]coapnet.DTLSListener{"default": {
			Bind: "127.0.0.1:0", PSK: map[string]string{"dev1": "secret1"},
		}}
	})
	sub := e.mqttClient("sub")
	sub.subscribe("secure/#", core.QoS1)
	runCoapClient(t, "-m", "post", "-u", "dev1", "-k", "secret1", "-e", "hi",
		e.url("coaps", "dtls:default", "/ps/secure/up?clientid=s1"))
	eventually(t, 3*time.Second, func() bool { return len(sub.messages()) == 1 })
	if m := sub.messages()[0]; string(m.Payload) != "hi" {
		t.Fatalf("got %q", m.Payload)
	}
}

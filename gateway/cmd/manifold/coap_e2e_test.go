package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestE2ECoAPWithLibcoap is issue 8's CoAP acceptance, as a new user tries
// it with the shipped config and libcoap's coap-client: a POST to
// /ps/sensors/1/temp reaches mosquitto_sub, and an observation of
// /ps/cmd/c1 receives what mosquitto_pub publishes on cmd/c1.
func TestE2ECoAPWithLibcoap(t *testing.T) {
	needTool(t, "mosquitto_sub")
	needTool(t, "coap-client-openssl")
	b := startBroker(t)
	addr := b.gwAddr(t, "coap", "udp")

	t.Run("post", func(t *testing.T) {
		watcher := b.startSub(t, "-i", "coapwatch", "-t", "sensors/#", "-v", "-C", "1")
		b.waitSubscribed(t, "coapwatch")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "coap-client-openssl", "-m", "post", "-e", "21.5",
			"coap://"+addr+"/ps/sensors/1/temp?clientid=c1").CombinedOutput()
		if err != nil {
			t.Fatalf("coap-client: %v %s", err, out)
		}
		if got := strings.TrimSpace(watcher.wait(t, 10*time.Second)); got != "sensors/1/temp 21.5" {
			t.Fatalf("mosquitto_sub got %q", got)
		}
	})

	t.Run("observe", func(t *testing.T) {
		obs := exec.Command("coap-client-openssl", "-s", "20", "coap://"+addr+"/ps/cmd/c1?clientid=c1")
		out := &lockedBuffer{}
		obs.Stdout, obs.Stderr = out, out
		if err := obs.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = obs.Process.Kill(); _ = obs.Wait() })
		if !eventually(t, 10*time.Second, func() bool {
			for _, ev := range b.logs.find("observe_registered") {
				if ev["clientid"] == "c1" && ev["topic"] == "cmd/c1" {
					return true
				}
			}
			return false
		}) {
			t.Fatalf("the observation was not registered; coap-client: %q", out.String())
		}
		if o, err := b.mosquitto(t, 5*time.Second, "mosquitto_pub", "-t", "cmd/c1", "-m", "x"); err != nil {
			t.Fatalf("mosquitto_pub: %v %s", err, o)
		}
		if !eventually(t, 10*time.Second, func() bool {
			for _, line := range strings.Split(out.String(), "\n") {
				if strings.TrimSpace(line) == "x" {
					return true
				}
			}
			return false
		}) {
			t.Fatalf("coap-client observing cmd/c1 got %q", out.String())
		}
	})
}

// TestE2ECoAPOverDTLSPSK: the DTLS listener, enabled with a PSK identity
// from the environment, carries coap-client's coaps:// publish.
func TestE2ECoAPOverDTLSPSK(t *testing.T) {
	needTool(t, "mosquitto_sub")
	needTool(t, "coap-client-openssl")
	b := startBroker(t,
		"MANIFOLD_GATEWAY__COAP__LISTENERS__DTLS__DEFAULT__ENABLE=true",
		"MANIFOLD_GATEWAY__COAP__LISTENERS__DTLS__DEFAULT__BIND=127.0.0.1:0",
		"MANIFOLD_GATEWAY__COAP__LISTENERS__DTLS__DEFAULT__PSK__DEVICE-1=secret")
	addr := b.gwAddr(t, "coap", "dtls")
	watcher := b.startSub(t, "-i", "coapswatch", "-t", "up/#", "-v", "-C", "1")
	b.waitSubscribed(t, "coapswatch")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "coap-client-openssl", "-m", "post", "-u", "device-1", "-k", "secret", "-e", "hi",
		"coaps://"+addr+"/ps/up/c1?clientid=c1").CombinedOutput()
	if err != nil {
		t.Fatalf("coap-client: %v %s", err, out)
	}
	if got := strings.TrimSpace(watcher.wait(t, 10*time.Second)); got != "up/c1 hi" {
		t.Fatalf("mosquitto_sub got %q; coap-client: %s", got, out)
	}
}

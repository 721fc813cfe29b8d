package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/manifold-iot/manifold/codec"
	mq "github.com/manifold-iot/manifold/codec/mqtt"
)

// The persistence tests run the real binary on one data directory, kill it
// with SIGKILL (no shutdown, no final sync) and start it again on the same
// directory.

// crash kills the broker with SIGKILL and waits for it to be gone.
func (b *runningBroker) crash(t *testing.T) {
	t.Helper()
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	<-b.done
	_ = b.cmd.Wait()
}

// storeEnv points the broker at dir for its store.
func storeEnv(dir string, extra ...string) []string {
	return append([]string{"MANIFOLD_NODE__DATA_DIR=" + dir}, extra...)
}

// TestE2EKill9KeepsAcknowledgedMessages is issue 4's acceptance scenario: a
// persistent mosquitto_sub session, 10,000 QoS 1 messages published while
// it is away (each acknowledged), kill -9, restart, reconnect: every message
// arrives once, in order.
func TestE2EKill9KeepsAcknowledgedMessages(t *testing.T) {
	needTool(t, "mosquitto_sub")
	const n = 10000
	dir := t.TempDir()
	// The session's queue must hold them all (max_mqueue_len, 1000 by
	// default, would drop the rest, as EMQX does).
	env := storeEnv(dir, "MANIFOLD_MQTT__MAX_MQUEUE_LEN=20000")
	b := startBroker(t, env...)
	sub := []string{"-V", "mqttv311", "-i", "kill9-sub", "-c", "-q", "1", "-t", "kill9/#"}
	if out, err := b.mosquitto(t, 10*time.Second, "mosquitto_sub", append(sub, "-E")...); err != nil {
		t.Fatalf("subscribe: %v: %s", err, out)
	}

	pub := pahov3.NewClient(pahov3.NewClientOptions().AddBroker("tcp://" + b.addr).SetClientID("kill9-pub").
		SetCleanSession(true).SetAutoReconnect(false).SetMaxResumePubInFlight(64))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	toks := make([]pahov3.Token, 0, 64)
	for i := range n {
		toks = append(toks, pub.Publish("kill9/a", 1, false, strconv.Itoa(i)))
		if len(toks) == cap(toks) || i == n-1 {
			for _, tok := range toks {
				if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
					t.Fatalf("publish %d not acknowledged: %v", i, tok.Error())
				}
			}
			toks = toks[:0]
		}
	}
	b.crash(t) // every message above was acknowledged

	b = startBroker(t, env...)
	out, err := b.mosquitto(t, 60*time.Second, "mosquitto_sub", append(sub, "-C", strconv.Itoa(n), "-W", "50")...)
	if err != nil {
		t.Fatalf("reconnect: %v; got %d lines", err, strings.Count(out, "\n"))
	}
	lines := strings.Fields(out)
	if len(lines) != n {
		t.Fatalf("got %d messages after the restart, want %d", len(lines), n)
	}
	for i, l := range lines {
		if l != strconv.Itoa(i) {
			t.Fatalf("message %d is %q: lost, duplicated or out of order", i, l)
		}
	}
}

// TestE2EKill9KeepsRetainedAndDelayed: a retained message survives kill -9,
// and a $delayed message that fell due while the broker was down is
// published at start, into a persistent session.
func TestE2EKill9KeepsRetainedAndDelayed(t *testing.T) {
	needTool(t, "mosquitto_sub")
	dir := t.TempDir()
	b := startBroker(t, storeEnv(dir)...)
	sub := []string{"-V", "mqttv5", "-i", "delay-sub", "-c", "-x", "600", "-q", "1", "-t", "later/#"}
	if out, err := b.mosquitto(t, 10*time.Second, "mosquitto_sub", append(sub, "-E")...); err != nil {
		t.Fatalf("subscribe: %v: %s", err, out)
	}
	if out, err := b.mosquitto(t, 10*time.Second, "mosquitto_pub", "-t", "keep/x", "-m", "kept", "-r", "-q", "1"); err != nil {
		t.Fatalf("publish retained: %v: %s", err, out)
	}
	if out, err := b.mosquitto(t, 10*time.Second, "mosquitto_pub", "-t", "$delayed/1/later/x", "-m", "due", "-q", "1"); err != nil {
		t.Fatalf("publish delayed: %v: %s", err, out)
	}
	due := time.Now().Add(time.Second)
	b.crash(t)
	time.Sleep(time.Until(due)) // the message falls due while the broker is down

	b = startBroker(t, storeEnv(dir)...)
	out, err := b.mosquitto(t, 10*time.Second, "mosquitto_sub", "-t", "keep/#", "-C", "1", "-W", "5")
	if err != nil || strings.TrimSpace(out) != "kept" {
		t.Fatalf("retained message after kill -9: %v: %q", err, out)
	}
	out, err = b.mosquitto(t, 10*time.Second, "mosquitto_sub", append(sub, "-C", "1", "-W", "5")...)
	if err != nil || strings.TrimSpace(out) != "due" {
		t.Fatalf("delayed message due while down: %v: %q", err, out)
	}
}

// TestE2EKill9CompletesQoS2 covers both directions of a QoS 2 exchange cut
// by kill -9: a publisher whose PUBLISH got PUBREC sends PUBREL after the
// restart and gets PUBCOMP (the message routed exactly once), and a
// subscriber that had sent PUBREC gets the PUBREL again with the same packet
// identifier.
func TestE2EKill9CompletesQoS2(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, storeEnv(dir)...)

	sub := dialRaw(t, b.addr, "q2-sub", false)
	sub.send(&mq.Subscribe{PacketID: 1, Subscriptions: []mq.Subscription{{Filter: "q2/#", QoS: 2}}})
	sub.expect(func(p mq.Packet) bool { _, ok := p.(*mq.Suback); return ok })

	pub := dialRaw(t, b.addr, "q2-pub", false)
	pub.send(&mq.Publish{Topic: "q2/in", QoS: 2, PacketID: 9, Payload: []byte("once")})
	pub.expect(func(p mq.Packet) bool {
		r, ok := p.(*mq.Pubrec)
		return ok && r.PacketID == 9 && r.ReasonCode == mq.Success
	})

	// The subscriber gets the message and acknowledges it with PUBREC only.
	var first *mq.Publish
	sub.expect(func(p mq.Packet) bool { first, _ = p.(*mq.Publish); return first != nil })
	if string(first.Payload) != "once" {
		t.Fatalf("delivered %q", first.Payload)
	}
	sub.send(&mq.Pubrec{PacketID: first.PacketID})
	sub.expect(func(p mq.Packet) bool { r, ok := p.(*mq.Pubrel); return ok && r.PacketID == first.PacketID })
	b.crash(t)

	b = startBroker(t, storeEnv(dir)...)
	pub = dialRaw(t, b.addr, "q2-pub", true)
	pub.send(&mq.Pubrel{PacketID: 9})
	pub.expect(func(p mq.Packet) bool {
		c, ok := p.(*mq.Pubcomp)
		if ok && c.ReasonCode != mq.Success {
			t.Fatalf("PUBCOMP after restart: %v, want Success (the packet id was still awaiting PUBREL)", c.ReasonCode)
		}
		return ok && c.PacketID == 9
	})

	// The subscriber's PUBREC may or may not have reached the disk before
	// the kill (nothing waits on it): the broker then resends the PUBLISH
	// with DUP and the same packet identifier, which the client recognises
	// as the message it already has [MQTT-4.3.3], and asks for PUBREC again.
	sub = dialRaw(t, b.addr, "q2-sub", true)
	sub.expect(func(p mq.Packet) bool {
		switch p := p.(type) {
		case *mq.Publish:
			if !p.Dup || p.PacketID != first.PacketID {
				t.Fatalf("after the restart: PUBLISH %+v, want PUBREL %d or a DUP resend with that id", p, first.PacketID)
			}
			sub.send(&mq.Pubrec{PacketID: p.PacketID})
		case *mq.Pubrel:
			if p.PacketID != first.PacketID {
				t.Fatalf("PUBREL for packet id %d, want %d", p.PacketID, first.PacketID)
			}
			return true
		}
		return false
	})
	sub.send(&mq.Pubcomp{PacketID: first.PacketID})
	sub.expectNothing(500 * time.Millisecond)
}

// rawClient is an MQTT 5 client on our codec, for exchanges a library hides.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	buf  []byte
}

// dialRaw connects id with a one-hour session; resume asks for it back.
func dialRaw(t *testing.T, addr, id string, resume bool) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &rawClient{t: t, conn: conn}
	c.send(&mq.Connect{ProtocolLevel: mq.V5, ClientID: id, CleanStart: !resume, KeepAlive: 60,
		Properties: mq.Properties{SessionExpiryInterval: 3600, HasSessionExpiryInterval: true}})
	c.expect(func(p mq.Packet) bool {
		ack, ok := p.(*mq.Connack)
		if ok && (ack.ReasonCode != mq.Success || ack.SessionPresent != resume) {
			t.Fatalf("CONNACK %+v, want success with session present %v", ack, resume)
		}
		return ok
	})
	return c
}

func (c *rawClient) send(p mq.Packet) {
	c.t.Helper()
	b, err := mq.Encode(nil, p, mq.V5)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// next reads one packet, or returns nil when nothing comes within d.
func (c *rawClient) next(d time.Duration) mq.Packet {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	tmp := make([]byte, 4096)
	for {
		p, n, err := mq.Decode(c.buf, mq.V5, 0)
		if err == nil {
			c.buf = c.buf[n:]
			return p
		}
		if !errors.Is(err, codec.ErrIncomplete) {
			c.t.Fatalf("decode: %v", err)
		}
		k, err := c.conn.Read(tmp)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil
			}
			c.t.Fatalf("read: %v", err)
		}
		c.buf = append(c.buf, tmp[:k]...)
	}
}

// expect reads packets until want accepts one (within 5 s).
func (c *rawClient) expect(want func(mq.Packet) bool) {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var seen []string
	for time.Now().Before(deadline) {
		p := c.next(time.Until(deadline))
		if p == nil {
			break
		}
		if want(p) {
			return
		}
		seen = append(seen, fmt.Sprintf("%T%+v", p, p))
	}
	c.t.Fatalf("expected packet never came; saw %v", seen)
}

func (c *rawClient) expectNothing(d time.Duration) {
	c.t.Helper()
	if p := c.next(d); p != nil {
		c.t.Fatalf("unexpected %T %+v", p, p)
	}
}

// TestE2EOfflineQueueLivesOnDisk: the broker's memory stays flat (within
// 50 MB) while one offline persistent session accumulates 1,000,000 queued
// 64-byte QoS 1 messages: the queue lives on disk, not in RAM.
func TestE2EOfflineQueueLivesOnDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes a million messages")
	}
	needTool(t, "mosquitto_sub")
	const total, warm = 1_000_000, 100_000
	b := startBroker(t, storeEnv(t.TempDir(), "MANIFOLD_MQTT__MAX_MQUEUE_LEN=infinity", "MANIFOLD_LOG__LEVEL=info")...)
	if out, err := b.mosquitto(t, 10*time.Second, "mosquitto_sub", "-i", "hoarder", "-c", "-q", "1", "-t", "bulk", "-E"); err != nil {
		t.Fatalf("subscribe: %v: %s", err, out)
	}
	pub := dialRaw(t, b.addr, "bulk-pub", false)
	payload := []byte(strings.Repeat("x", 64))
	var rssWarm int64
	const window = 32 // mqtt.max_inflight, our Receive Maximum
	sent, acked := 0, 0
	var out []byte
	for acked < total {
		out = out[:0]
		for sent < total && sent-acked < window {
			var err error
			out, err = mq.Encode(out, &mq.Publish{Topic: "bulk", QoS: 1, PacketID: uint16(sent%60000 + 1), Payload: payload}, mq.V5)
			if err != nil {
				t.Fatal(err)
			}
			sent++
		}
		if len(out) > 0 {
			if _, err := pub.conn.Write(out); err != nil {
				t.Fatal(err)
			}
		}
		p := pub.next(10 * time.Second)
		if _, ok := p.(*mq.Puback); !ok {
			t.Fatalf("after %d acknowledged: got %T %+v, want PUBACK", acked, p, p)
		}
		acked++
		if acked == warm {
			rssWarm = rssOf(t, b.cmd.Process.Pid)
		}
	}
	rss := rssOf(t, b.cmd.Process.Pid)
	t.Logf("broker RSS after %d queued messages: %d MB; after %d: %d MB", warm, rssWarm>>20, total, rss>>20)
	if rss-rssWarm > 50<<20 {
		t.Fatalf("RSS grew by %d MB from %d to %d queued messages, want at most 50 MB", (rss-rssWarm)>>20, warm, total)
	}
}

// rssOf reads a process's resident set size from /proc.
func rssOf(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestE2EUnreadableStoreStopsTheStart: a data directory the store cannot use
// stops `manifold start` with a non-zero exit and a message naming the path;
// the node never starts empty by mistake.
func TestE2EUnreadableStoreStopsTheStart(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	corrupt := t.TempDir()
	b := startBroker(t, storeEnv(corrupt)...) // a real store, then damaged
	b.crash(t)
	manifests, _ := filepath.Glob(filepath.Join(corrupt, "store", "MANIFEST-*"))
	if len(manifests) == 0 {
		t.Fatal("no MANIFEST in the store to damage")
	}
	for _, m := range manifests {
		if err := os.WriteFile(m, bytes.Repeat([]byte{0xA5}, 200), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, dir string }{{"a file in place of the directory", notADir}, {"a damaged store", corrupt}} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binPath, "start", "-c", shippedConfig(t))
			cmd.Env = append(os.Environ(), "MANIFOLD_LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:0",
				"MANIFOLD_LISTENERS__WS__DEFAULT__ENABLE=false", "MANIFOLD_DASHBOARD__LISTENERS__HTTP__ENABLE=false",
				"MANIFOLD_NODE__DATA_DIR="+tc.dir)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("still running with an unusable store; stderr:\n%s", stderr.String())
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("want a non-zero exit, got %v; stderr:\n%s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), filepath.Join(tc.dir, "store")) || !strings.Contains(stderr.String(), "node.data_dir") {
				t.Errorf("the error does not name node.data_dir and the store path:\n%s", stderr.String())
			}
			if strings.Contains(stderr.String(), "server_started") {
				t.Errorf("server started on an unusable store:\n%s", stderr.String())
			}
		})
	}
}

// TestE2EKill9KeepsMQTTSNAcknowledgedMessages: an MQTT-SN sensor's QoS 1
// publishes, each acknowledged with PUBACK, to a persistent mosquitto_sub
// session that is away; kill -9, restart, reconnect: every one arrives, in
// order. (The PUBACK waits for the subscriber's copy to be in the store;
// the window that wait closes is too short for a kill from here to hit
// reliably, so this checks the guarantee end to end, not that wait.)
func TestE2EKill9KeepsMQTTSNAcknowledgedMessages(t *testing.T) {
	needTool(t, "mosquitto_sub")
	const n = 2000
	dir := t.TempDir()
	env := storeEnv(dir, "MANIFOLD_MQTT__MAX_MQUEUE_LEN=5000")
	b := startBroker(t, env...)
	sub := []string{"-V", "mqttv311", "-i", "kill9-sn-sub", "-c", "-q", "1", "-t", "kill9sn/#"}
	if out, err := b.mosquitto(t, 10*time.Second, "mosquitto_sub", append(sub, "-E")...); err != nil {
		t.Fatalf("subscribe: %v: %s", err, out)
	}
	c := dialSN(t, b.gwAddr(t, "mqttsn", "udp"))
	c.connect("kill9-sn-pub", true)
	id := c.register("kill9sn/a", 1)
	for i := range n {
		c.publishQoS1(id, uint16(i%65000+2), strconv.Itoa(i))
	}
	b.crash(t) // every message above was acknowledged

	b = startBroker(t, env...)
	out, err := b.mosquitto(t, 60*time.Second, "mosquitto_sub", append(sub, "-C", strconv.Itoa(n), "-W", "50")...)
	if err != nil {
		t.Fatalf("reconnect: %v; got %d lines", err, strings.Count(out, "\n"))
	}
	lines := strings.Fields(out)
	if len(lines) != n {
		t.Fatalf("got %d messages after the restart, want %d", len(lines), n)
	}
	for i, l := range lines {
		if l != strconv.Itoa(i) {
			t.Fatalf("message %d is %q: lost, duplicated or out of order", i, l)
		}
	}
}

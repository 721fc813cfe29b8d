package broker

import (
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/session"
	"github.com/manifold-iot/manifold/core/store"
	"github.com/manifold-iot/manifold/core/store/memory"
	"github.com/manifold-iot/manifold/internal/testkit"
)

// restartable is a broker over a memory store that can be "restarted": a new
// broker on the same stored state, as after kill -9 (nothing flushed but what
// the store committed).
type restartable struct {
	t   *testing.T
	st  *memory.Store
	mod func(*Config)
	b   *Broker
}

func newRestartable(t *testing.T, mod func(*Config)) *restartable {
	r := &restartable{t: t, st: memory.New(store.Options{}), mod: mod}
	r.start()
	return r
}

func (r *restartable) start() {
	r.t.Helper()
	cfg := DefaultConfig()
	cfg.Session.MaxQueueLen = 0 // unbounded unless a test says otherwise
	if r.mod != nil {
		r.mod(&cfg)
	}
	cfg.Store = r.st
	r.b = New(cfg, zerolog.Nop())
	r.t.Cleanup(r.b.Close)
	if err := r.b.Restore(); err != nil {
		r.t.Fatalf("Restore: %v", err)
	}
}

// restart abandons the broker (no Disconnect, no Close: a crash) and starts
// a new one on what the store holds.
func (r *restartable) restart() {
	r.t.Helper()
	r.b.Close()
	r.st = r.st.Reopen(store.Options{})
	r.start()
}

func publishN(t *testing.T, b *Broker, topic string, qos core.QoS, n int) {
	t.Helper()
	for i := range n {
		if _, err := b.Publish(&core.Message{Topic: topic, QoS: qos, Payload: []byte(strconv.Itoa(i)), From: "pub"}); err != nil {
			t.Fatal(err)
		}
	}
}

// drainAll takes and acknowledges every message of c's session until want
// payloads arrived (paging from the store is asynchronous) or 5 s passed.
func drainAll(t *testing.T, c *client_, want int) []string {
	t.Helper()
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		ds, _ := c.res.Session.Take(nil, time.Now(), 0)
		if len(ds) == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		for _, d := range ds {
			got = append(got, string(d.Msg.Payload))
			switch d.QoS {
			case core.QoS1:
				c.res.Session.Ack(d.PacketID)
			case core.QoS2:
				c.res.Session.Rec(d.PacketID)
				c.res.Session.Comp(d.PacketID)
			}
		}
	}
	return got
}

func wantSequence(t *testing.T, got []string, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("got %d messages, want %d", len(got), n)
	}
	for i, p := range got {
		if p != strconv.Itoa(i) {
			t.Fatalf("message %d is %q: lost, duplicated or out of order", i, p)
		}
	}
}

func TestPersistentSessionSurvivesRestart(t *testing.T) {
	for _, qos := range []core.QoS{core.QoS0, core.QoS1, core.QoS2} {
		t.Run("qos"+strconv.Itoa(int(qos)), func(t *testing.T) {
			r := newRestartable(t, func(c *Config) { c.Session.MemQueueLen = 16 })
			c := connect(t, r.b, "dev", false, time.Hour, nil)
			c.sub(t, r.b, "t/#", core.SubOptions{QoS: core.QoS2})
			r.b.Disconnect("dev", c.conn, false, nil, "normal")
			publishN(t, r.b, "t/a", qos, 200) // 16 in memory, the rest on disk only

			r.restart()
			c = connect(t, r.b, "dev", false, time.Hour, nil)
			if !c.res.SessionPresent {
				t.Fatal("session not present after the restart")
			}
			wantSequence(t, drainAll(t, c, 200), 200)
			// The subscription came back too.
			publishN(t, r.b, "t/b", core.QoS1, 1)
			if got := drainAll(t, c, 1); len(got) != 1 {
				t.Fatalf("restored subscription delivered %v", got)
			}
		})
	}
}

func TestSpilledQueueStaysOnDiskWhileOffline(t *testing.T) {
	r := newRestartable(t, func(c *Config) { c.Session.MemQueueLen = 16 })
	c := connect(t, r.b, "dev", false, time.Hour, nil)
	c.sub(t, r.b, "t", core.SubOptions{QoS: core.QoS1})
	r.b.Disconnect("dev", c.conn, false, nil, "normal")
	publishN(t, r.b, "t", core.QoS1, 1000)
	sess := r.b.Session("dev")
	if st := sess.Stats(); st.Queued != 1000 {
		t.Fatalf("queued %d, want 1000", st.Queued)
	}
	inMemory := 0
	sess.Pending(func(*session.Pending, uint16) { inMemory++ })
	if inMemory > 16 {
		t.Fatalf("%d messages held in memory for an offline session, want at most mem_queue_len 16", inMemory)
	}
	// Online, the client gets them all, in order, paged in from the store.
	c = connect(t, r.b, "dev", false, time.Hour, nil)
	wantSequence(t, drainAll(t, c, 1000), 1000)
}

func TestFanOutToPersistentSessionsStoresOneBody(t *testing.T) {
	r := newRestartable(t, nil)
	for i := range 3 {
		id := "s" + strconv.Itoa(i)
		c := connect(t, r.b, id, false, time.Hour, nil)
		c.sub(t, r.b, "t", core.SubOptions{QoS: core.QoS1})
		r.b.Disconnect(id, c.conn, false, nil, "normal")
	}
	publishN(t, r.b, "t", core.QoS1, 1)
	if err := r.st.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := r.st.Stats().Bodies; n != 1 {
		t.Fatalf("%d bodies stored for one message to 3 sessions, want 1", n)
	}
	r.restart()
	for i := range 3 {
		c := connect(t, r.b, "s"+strconv.Itoa(i), false, time.Hour, nil)
		wantSequence(t, drainAll(t, c, 1), 1)
	}
	if err := r.st.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := r.st.Stats().Bodies; n != 0 {
		t.Fatalf("%d bodies left after every session acknowledged, want 0", n)
	}
}

func TestSessionEndRemovesItFromTheStore(t *testing.T) {
	cases := []struct {
		name string
		end  func(r *restartable, c *client_)
	}{
		{"disconnect with expiry 0", func(r *restartable, c *client_) {
			zero := time.Duration(0)
			r.b.Disconnect("dev", c.conn, false, &zero, "normal")
		}},
		{"clean start", func(r *restartable, c *client_) {
			r.b.Disconnect("dev", c.conn, false, nil, "normal")
			c2 := connect(t, r.b, "dev", true, 0, nil)
			r.b.Disconnect("dev", c2.conn, false, nil, "normal")
		}},
		{"expiry", func(r *restartable, c *client_) {
			r.b.Disconnect("dev", c.conn, false, nil, "normal")
			testkit.MustEventually(t, 5*time.Second, func() bool { return r.b.Session("dev") == nil })
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRestartable(t, nil)
			expiry := time.Hour
			if tc.name == "expiry" {
				expiry = 50 * time.Millisecond
			}
			c := connect(t, r.b, "dev", false, expiry, nil)
			c.sub(t, r.b, "t", core.SubOptions{QoS: core.QoS1})
			publishN(t, r.b, "t", core.QoS1, 5)
			tc.end(r, c)
			if err := r.st.Flush(); err != nil {
				t.Fatal(err)
			}
			if n := r.st.Stats().Sessions; n != 0 {
				t.Fatalf("%d sessions stored after the session ended", n)
			}
			r.restart()
			if s := r.b.Session("dev"); s != nil {
				t.Fatal("ended session restored")
			}
		})
	}
}

func TestSessionExpiryCountsAcrossRestart(t *testing.T) {
	r := newRestartable(t, nil)
	r.st.PutSession(store.SessionRecord{ClientID: "old", Expiry: time.Minute, DisconnectedAt: time.Now().Add(-2 * time.Minute)})
	r.st.PutSession(store.SessionRecord{ClientID: "young", Expiry: time.Hour, DisconnectedAt: time.Now().Add(-time.Minute)})
	r.restart()
	if r.b.Session("old") != nil {
		t.Error("a session whose expiry passed while the node was down was restored")
	}
	if r.b.Session("young") == nil {
		t.Error("a session with expiry left was not restored")
	}
}

func TestRetainedAndDelayedSurviveRestart(t *testing.T) {
	r := newRestartable(t, nil)
	if _, err := r.b.Publish(&core.Message{Topic: "keep/a", Payload: []byte("v"), Retain: true, QoS: core.QoS1}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.b.Publish(&core.Message{Topic: "keep/b", Payload: []byte("gone"), Retain: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.b.Publish(&core.Message{Topic: "keep/b", Retain: true}); err != nil { // clears keep/b
		t.Fatal(err)
	}
	c := connect(t, r.b, "dev", false, time.Hour, nil)
	c.sub(t, r.b, "later", core.SubOptions{QoS: core.QoS1})
	r.b.Disconnect("dev", c.conn, false, nil, "normal")
	if _, err := r.b.Publish(&core.Message{Topic: "$delayed/1/later", Payload: []byte("0"), QoS: core.QoS1}); err != nil {
		t.Fatal(err)
	}
	r.restart()
	if m := r.b.Retained().Get("keep/a"); m == nil || string(m.Payload) != "v" {
		t.Fatalf("retained keep/a after restart: %+v", m)
	}
	if m := r.b.Retained().Get("keep/b"); m != nil {
		t.Fatalf("cleared retained keep/b came back: %+v", m)
	}
	c = connect(t, r.b, "dev", false, time.Hour, nil)
	got := drainAll(t, c, 1) // falls due a second after the publish
	wantSequence(t, got, 1)
	// Once published it is gone from the store: a second restart does not repeat it.
	testkit.MustEventually(t, 5*time.Second, func() bool {
		rs, err := r.st.Restore()
		return err == nil && len(rs.Delayed) == 0
	})
	r.restart()
	c = connect(t, r.b, "dev", false, time.Hour, nil)
	if extra := drainAll(t, c, 1); len(extra) != 0 {
		t.Fatalf("delayed message published again after a second restart: %v", extra)
	}
}

func TestQoS2StateSurvivesRestart(t *testing.T) {
	r := newRestartable(t, nil)
	sub := connect(t, r.b, "sub", false, time.Hour, nil)
	sub.sub(t, r.b, "t", core.SubOptions{QoS: core.QoS2})
	pub := connect(t, r.b, "pub", false, time.Hour, nil)
	if dup, err := pub.res.Session.AwaitRel(7, time.Now()); dup || err != nil {
		t.Fatalf("AwaitRel: %v %v", dup, err)
	}
	publishN(t, r.b, "t", core.QoS2, 2)
	ds, _ := sub.res.Session.Take(nil, time.Now(), 0)
	if len(ds) != 2 {
		t.Fatalf("took %d", len(ds))
	}
	sub.res.Session.Rec(ds[0].PacketID) // the first awaits PUBCOMP, the second PUBREC
	r.restart()

	pub = connect(t, r.b, "pub", false, time.Hour, nil)
	if !pub.res.Session.Release(7) {
		t.Error("inbound packet id 7 no longer awaits PUBREL after the restart")
	}
	sub = connect(t, r.b, "sub", false, time.Hour, nil)
	resumed := sub.res.Session.Resume(nil)
	if len(resumed) != 2 || !resumed[0].Release || resumed[0].PacketID != ds[0].PacketID ||
		resumed[1].Release || !resumed[1].Dup || resumed[1].PacketID != ds[1].PacketID || string(resumed[1].Msg.Payload) != "1" {
		t.Fatalf("resumed %+v, want PUBREL %d then DUP PUBLISH %d", resumed, ds[0].PacketID, ds[1].PacketID)
	}
}

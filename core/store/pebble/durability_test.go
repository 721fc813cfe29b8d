package pebble

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/store"
)

const (
	envKillDir   = "MANIFOLD_STORE_KILL_DIR"
	envKillFsync = "MANIFOLD_STORE_KILL_FSYNC"
	killEntries  = 2000
)

func testMsg(id uint64) *core.Message {
	return &core.Message{ID: id, Topic: "t/kill", Payload: []byte(fmt.Sprintf("payload-%d", id)), QoS: core.QoS1, Timestamp: time.Unix(0, int64(id))}
}

type chanWaker chan struct{}

func (c chanWaker) Wake() { close(c) }

// TestKillChild is the child of TestKillDurability: it writes, waits for its
// ticket to drain and kills itself with SIGKILL, without Close.
func TestKillChild(t *testing.T) {
	dir := os.Getenv(envKillDir)
	if dir == "" {
		t.Skip("run by TestKillDurability")
	}
	f, _ := strconv.Atoi(os.Getenv(envKillFsync))
	// No periodic sync before the kill: only what a drained ticket promises
	// (write(2) to the WAL, or fsync under FsyncAlways) protects the data.
	s, err := Open(dir, store.Options{Fsync: store.Fsync(f), SyncInterval: time.Hour}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s.PutSession(store.SessionRecord{ClientID: "k", Expiry: time.Hour})
	shared := testMsg(1_000_000)
	for seq := uint64(1); seq <= killEntries; seq++ {
		e := &store.Entry{Seq: seq, Msg: testMsg(seq), QoS: core.QoS1}
		if seq%10 == 0 {
			e.Msg, e.SharedBody = shared, true
		}
		if err := s.Enqueue("k", e); err != nil {
			t.Fatal(err)
		}
		if seq%100 == 0 {
			w := make(chanWaker)
			s.Mark().WhenDrained(w) // tickets every 100 entries, as a publisher would
			if seq == killEntries {
				<-w
			}
		}
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// TestKillDurability checks "a drained ticket survives kill -9" under every
// policy: a child process writes, waits for its ticket and SIGKILLs itself;
// the directory is then reopened.
func TestKillDurability(t *testing.T) {
	if os.Getenv(envKillDir) != "" {
		t.Skip("child")
	}
	for _, tc := range []struct {
		name  string
		fsync store.Fsync
	}{{"interval", store.FsyncInterval}, {"always", store.FsyncAlways}, {"never", store.FsyncNever}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), envKillDir+"="+dir, envKillFsync+"="+strconv.Itoa(int(tc.fsync)))
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child did not die of SIGKILL: %v\n%s", err, out)
			}
			s := openT(t, dir, store.Options{})
			defer s.Close()
			r, err := s.Restore()
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Sessions) != 1 || r.Sessions[0].Queued != killEntries || r.Sessions[0].LastSeq != killEntries {
				t.Fatalf("after kill -9: %+v, want %d queued", r.Sessions, killEntries)
			}
			got := load(t, s, "k", 0, killEntries+1)
			if len(got) != killEntries || got[killEntries-1].Msg.ID != 1_000_000 || got[killEntries-2].Msg.ID != killEntries-1 {
				t.Fatalf("loaded %d entries after kill -9", len(got))
			}
			if st := s.Stats(); st.Bodies != 1 {
				t.Fatalf("Stats().Bodies = %d, want the one shared body", st.Bodies)
			}
		})
	}
}

func load(t *testing.T, s store.Store, client string, after uint64, max int) []store.Entry {
	t.Helper()
	type result struct {
		e   []store.Entry
		err error
	}
	c := make(chan result, 1)
	s.LoadQueue(client, after, max, func(e []store.Entry, err error) { c <- result{e, err} })
	select {
	case r := <-c:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.e
	case <-time.After(10 * time.Second):
		t.Fatal("LoadQueue: done not called")
		return nil
	}
}

func writeSome(t *testing.T, dir string) {
	t.Helper()
	s := openT(t, dir, store.Options{})
	s.PutSession(store.SessionRecord{ClientID: "c"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	garbage := func(t *testing.T, dir, glob string) {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(dir, glob))
		if len(files) == 0 {
			t.Fatalf("no %s in %s", glob, dir)
		}
		for _, f := range files {
			if err := os.WriteFile(f, []byte("this is not a pebble file, not at all"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T) string // returns the dir to open
		want    error
	}{
		{"file_where_the_dir_should_be", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "data")
			if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, store.ErrCorrupt},
		{"corrupt_manifest", func(t *testing.T) string {
			dir := t.TempDir()
			writeSome(t, dir)
			garbage(t, dir, "MANIFEST-*")
			return dir
		}, store.ErrCorrupt},
		{"corrupt_options", func(t *testing.T) string {
			dir := t.TempDir()
			writeSome(t, dir)
			garbage(t, dir, "OPTIONS-*")
			return dir
		}, store.ErrCorrupt},
		{"missing_manifest", func(t *testing.T) string {
			dir := t.TempDir()
			writeSome(t, dir)
			files, _ := filepath.Glob(filepath.Join(dir, "MANIFEST-*"))
			for _, f := range files {
				_ = os.Remove(f)
			}
			return dir
		}, store.ErrCorrupt},
		{"write_ahead_log_lost", func(t *testing.T) string {
			dir := t.TempDir()
			writeSome(t, dir)
			files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
			for _, f := range files {
				_ = os.Remove(f)
			}
			return dir
		}, store.ErrCorrupt},
		{"symlink_loop", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "loop")
			if err := os.Symlink(p, p); err != nil {
				t.Fatal(err)
			}
			return p
		}, store.ErrCorrupt},
		{"newer_format", func(t *testing.T) string {
			dir := t.TempDir()
			writeSome(t, dir)
			db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{testLogger(t)}})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Set(versionKey, []byte("2"), pebble.Sync); err != nil {
				t.Fatal(err)
			}
			_ = db.Close()
			return dir
		}, store.ErrNewerFormat},
		{"garbage_version", func(t *testing.T) string {
			dir := t.TempDir()
			writeSome(t, dir)
			db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{testLogger(t)}})
			if err != nil {
				t.Fatal(err)
			}
			_ = db.Set(versionKey, []byte("x"), pebble.Sync)
			_ = db.Close()
			return dir
		}, store.ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.prepare(t)
			s, err := Open(dir, store.Options{}, testLogger(t))
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open succeeded, want %v", tc.want)
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("Open: %v, want %v naming %s", err, tc.want, dir)
			}
			if tc.want == store.ErrNewerFormat && (!strings.Contains(err.Error(), "2") || !strings.Contains(err.Error(), "1")) {
				t.Fatalf("Open: %v, want both versions named", err)
			}
		})
	}
}

func TestUnreadableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every directory")
	}
	dir := t.TempDir()
	writeSome(t, dir)
	if err := os.Chmod(dir, 0); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.Chmod(dir, 0o700) }()
	if _, err := Open(dir, store.Options{}, testLogger(t)); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Open of an unreadable dir: %v, want ErrCorrupt", err)
	}
}

// TestPendingBound runs writers past a tiny MaxPendingBytes concurrently:
// they wait for the writer, never deadlock, and every write lands.
func TestPendingBound(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, store.Options{MaxPendingBytes: 2048, Fsync: store.FsyncAlways})
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := range writers {
		id := fmt.Sprintf("w%d", w)
		s.PutSession(store.SessionRecord{ClientID: id})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := uint64(1); seq <= each; seq++ {
				if err := s.Enqueue(id, &store.Entry{Seq: seq, Msg: testMsg(seq), QoS: core.QoS1}); err != nil {
					t.Error(err)
					return
				}
				if seq%50 == 0 {
					w := make(chanWaker)
					s.Mark().WhenDrained(w)
					<-w
				}
			}
		}()
	}
	wg.Wait()
	if st := s.Stats(); st.Batches < 2 || st.Syncs < 2 {
		t.Fatalf("stats %+v: want several batches, each synced (FsyncAlways)", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, store.Options{})
	defer s.Close()
	r, err := s.Restore()
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range r.Sessions {
		if rs.Queued != each {
			t.Fatalf("%s: %d queued, want %d", rs.Record.ClientID, rs.Queued, each)
		}
	}
	if len(r.Sessions) != writers {
		t.Fatalf("%d sessions, want %d", len(r.Sessions), writers)
	}
}

// TestIntervalSyncs checks FsyncInterval syncs in the background, and only
// when something was written.
func TestIntervalSyncs(t *testing.T) {
	s := openT(t, t.TempDir(), store.Options{SyncInterval: 2 * time.Millisecond})
	defer s.Close()
	s.PutSession(store.SessionRecord{ClientID: "x"})
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Syncs == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no background sync under FsyncInterval")
		}
		time.Sleep(time.Millisecond)
	}
	if s.fs.dirty() {
		// A write could only come from us; nothing else was written.
		deadline = time.Now().Add(5 * time.Second)
		for s.fs.dirty() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	if s.fs.dirty() {
		t.Fatal("the WAL stays dirty under FsyncInterval")
	}
}

// TestDamagedValues: a value that does not decode is skipped and logged,
// never a reason to start empty or to delete a session's queue.
func TestDamagedValues(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, store.Options{})
	for _, c := range []string{"good", "bad"} {
		s.PutSession(store.SessionRecord{ClientID: c})
		for seq := uint64(1); seq <= 3; seq++ {
			if err := s.Enqueue(c, &store.Entry{Seq: seq, Msg: testMsg(seq), QoS: core.QoS1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.PutRetained(testMsg(9))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{testLogger(t)}})
	if err != nil {
		t.Fatal(err)
	}
	junk := []byte{9, 9, 9}
	_ = db.Set(clientPrefix(nil, kindSession, "bad"), junk, pebble.Sync)
	_ = db.Set(seqKey(nil, kindQueue, "good", 2), junk, pebble.Sync)
	_ = db.Set(retainedKey("r/junk"), junk, pebble.Sync)
	_ = db.Close()

	s = openT(t, dir, store.Options{})
	r, err := s.Restore()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sessions) != 1 || r.Sessions[0].Record.ClientID != "good" || r.Sessions[0].Queued != 3 {
		t.Fatalf("restored %+v, want good with 3 entries (one unreadable)", r.Sessions)
	}
	if len(r.Retained) != 1 {
		t.Fatalf("retained %d, want the readable one", len(r.Retained))
	}
	if got := load(t, s, "good", 0, 10); len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 3 {
		t.Fatalf("loaded %d entries, want seqs 1 and 3", len(got))
	}
	if got := load(t, s, "bad", 0, 10); len(got) != 3 {
		t.Fatalf("the unreadable session's queue holds %d, want its 3 entries kept", len(got))
	}
	_ = s.Close()
}

// TestOpenTwice: a second Open of a directory in use fails (Pebble's LOCK)
// instead of sharing it.
func TestOpenTwice(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, store.Options{})
	defer s.Close()
	s2, err := Open(dir, store.Options{}, testLogger(t))
	if err == nil {
		_ = s2.Close()
		t.Fatal("a second Open of the same directory succeeded")
	}
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Open: %v, want an error naming %s", err, dir)
	}
}

// TestWALWrapped checks the deferred-sync wrapper catches Pebble's WAL (its
// write category) except under FsyncAlways, where Pebble syncs as usual.
func TestWALWrapped(t *testing.T) {
	for _, tc := range []struct {
		fsync   store.Fsync
		wrapped bool
	}{{store.FsyncInterval, true}, {store.FsyncNever, true}, {store.FsyncAlways, false}} {
		s := openT(t, t.TempDir(), store.Options{Fsync: tc.fsync})
		s.fs.mu.Lock()
		n := len(s.fs.files)
		s.fs.mu.Unlock()
		if (n > 0) != tc.wrapped {
			t.Errorf("fsync policy %d: %d WAL files wrapped, want wrapped=%v", tc.fsync, n, tc.wrapped)
		}
		_ = s.Close()
	}
}

// TestBodyReclaim: Restore deletes shared bodies nothing references, and an
// entry whose body is gone is skipped by LoadQueue (logged), not returned
// without a message.
func TestBodyReclaim(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, store.Options{})
	s.PutSession(store.SessionRecord{ClientID: "c"})
	for seq := uint64(1); seq <= 3; seq++ {
		if err := s.Enqueue("c", &store.Entry{Seq: seq, Msg: testMsg(seq), QoS: core.QoS1, SharedBody: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{testLogger(t)}})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Set(bodyKey(nil, 777), store.AppendMessage(nil, testMsg(777)), pebble.Sync) // referenced by nothing
	_ = db.Delete(bodyKey(nil, 2), pebble.Sync)                                        // referenced by seq 2
	_ = db.Close()

	s = openT(t, dir, store.Options{})
	defer s.Close()
	if _, err := s.Restore(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Bodies != 2 {
		t.Fatalf("Stats().Bodies = %d, want the 2 referenced bodies left", st.Bodies)
	}
	got := load(t, s, "c", 0, 10)
	if len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 3 {
		t.Fatalf("loaded %d entries, want seqs 1 and 3", len(got))
	}
	if _, _, err := s.db.Get(bodyKey(nil, 777)); !errors.Is(err, pebble.ErrNotFound) {
		t.Fatalf("the unreferenced body is still there: %v", err)
	}
}

package alarm

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/internal/testkit"
)

// only returns a config with just the named check enabled, every minute.
func only(check string) MonitorConfig {
	c := DefaultMonitorConfig()
	c.MemCheckInterval, c.CPUCheckInterval, c.DiskCheckInterval, c.ConnCheckInterval = 0, 0, 0, 0
	switch check {
	case "mem":
		c.MemCheckInterval = time.Minute
	case "cpu":
		c.CPUCheckInterval = time.Minute
	case "disk":
		c.DiskCheckInterval = time.Minute
	case "conn":
		c.ConnCheckInterval = time.Minute
	}
	return c
}

// run feeds a monitor one reading per step, a minute apart, and returns
// whether alarm was active after each.
func run(t *testing.T, cfg MonitorConfig, rd Readers, steps int, set func(i int), alarm string) []bool {
	t.Helper()
	r, _, c := newRegistry(0)
	m := NewMonitor(cfg, r, rd, zerolog.Nop())
	var out []bool
	for i := range steps {
		set(i)
		m.Check(c.t)
		out = append(out, r.IsActive(alarm))
		c.advance(time.Minute)
	}
	return out
}

func TestMonitorMemory(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		name   string
		alarm  string
		avail  []uint64 // of 10 GiB
		rss    []uint64
		active []bool
	}{
		{"system memory over 70% raises, under clears", NameHighSystemMemory,
			[]uint64{5 * gib, 2 * gib, 2 * gib, 4 * gib}, []uint64{0, 0, 0, 0}, []bool{false, true, true, false}},
		{"process RSS over 5% of memory raises", NameHighProcessMemory,
			[]uint64{8 * gib, 8 * gib, 8 * gib}, []uint64{gib / 4, gib, gib / 4}, []bool{false, true, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var avail, rss uint64
			rd := Readers{
				SysMem:  func() (uint64, uint64, error) { return 10 * gib, avail, nil },
				ProcRSS: func() (uint64, error) { return rss, nil },
			}
			got := run(t, only("mem"), rd, len(tc.avail), func(i int) { avail, rss = tc.avail[i], tc.rss[i] }, tc.alarm)
			if !slices.Equal(got, tc.active) {
				t.Errorf("active %v, want %v", got, tc.active)
			}
		})
	}
}

func TestMonitorCPUHysteresis(t *testing.T) {
	// usage per minute on 2 cores, in percent of both; the first sample is the baseline.
	usage := []float64{0, 90, 70, 61, 50, 70, 85}
	want := []bool{false, true, true, true, false, false, true}
	var cpu time.Duration
	rd := Readers{CPUTime: func() (time.Duration, error) { return cpu, nil }, NumCPU: 2}
	got := run(t, only("cpu"), rd, len(usage), func(i int) {
		cpu += time.Duration(usage[i] / 100 * float64(2*time.Minute))
	}, NameHighCPU)
	if !slices.Equal(got, want) {
		t.Errorf("active %v, want %v (usage %v)", got, want, usage)
	}
}

func TestMonitorDisk(t *testing.T) {
	free := []uint64{50, 9, 5, 11}
	want := []bool{false, true, true, false}
	var f uint64
	var path string
	rd := Readers{Disk: func(p string) (uint64, uint64, error) { path = p; return 100, f, nil }}
	cfg := only("disk")
	cfg.DataDir = "/var/lib/manifold"
	got := run(t, cfg, rd, len(free), func(i int) { f = free[i] }, NameLowDiskSpace)
	if !slices.Equal(got, want) || path != cfg.DataDir {
		t.Errorf("active %v, want %v (path %q)", got, want, path)
	}
}

func TestMonitorReaderErrorsSkipTheCheck(t *testing.T) {
	rd := Readers{SysMem: func() (uint64, uint64, error) { return 0, 0, fmt.Errorf("no /proc") }}
	got := run(t, only("mem"), rd, 2, func(int) {}, NameHighSystemMemory)
	if !slices.Equal(got, []bool{false, false}) {
		t.Errorf("active %v", got)
	}
}

func TestMonitorConnections(t *testing.T) {
	// connections of a listener with max_connections 100; step 5 the listener stops.
	conns := []int{50, 90, 85, 79, 95, -1}
	want := []bool{false, true, true, false, true, false}
	var n int
	rd := Readers{Listeners: func() []ListenerLoad {
		ls := []ListenerLoad{{ID: "tcp:unlimited", Current: 1 << 20}}
		if n >= 0 {
			ls = append(ls, ListenerLoad{ID: "tcp:default", Current: n, Max: 100})
		}
		return ls
	}}
	r, _, c := newRegistry(0)
	m := NewMonitor(only("conn"), r, rd, zerolog.Nop())
	var got []bool
	for i := range conns {
		n = conns[i]
		m.Check(c.t)
		got = append(got, r.IsActive(PrefixHighConnections+"tcp:default"))
		c.advance(time.Minute)
	}
	if !slices.Equal(got, want) {
		t.Errorf("active %v, want %v", got, want)
	}
	for _, a := range append(r.List(true), r.List(false)...) {
		if strings.Contains(a.Name, "unlimited") {
			t.Errorf("alarm for a listener without max_connections: %s", a.Name)
		}
	}
}

func TestMonitorIntervals(t *testing.T) {
	calls := 0
	rd := Readers{SysMem: func() (uint64, uint64, error) { calls++; return 1, 1, nil }}
	r, _, c := newRegistry(0)
	m := NewMonitor(only("mem"), r, rd, zerolog.Nop())
	for _, step := range []time.Duration{0, 30 * time.Second, 30 * time.Second, 10 * time.Second, 50 * time.Second} {
		c.advance(step)
		m.Check(c.t)
	}
	if calls != 3 { // at 0, 60s and 120s
		t.Errorf("memory read %d times in 2 minutes of 1m interval, want 3", calls)
	}
}

// slowConn is a subscriber connection that never drains.
type slowConn struct{}

func (slowConn) Notify()    {}
func (slowConn) Kick(error) {}

// TestSessionQueueFull overflows a real broker session's queue and checks
// that the alarm is raised with the client id, and cleared when the queue
// drains below half, or when the session ends.
func TestSessionQueueFull(t *testing.T) {
	for _, end := range []string{"drain", "session ends"} {
		t.Run(end, func(t *testing.T) {
			cfg := broker.DefaultConfig()
			cfg.Session.MaxQueueLen = 4
			b := broker.New(cfg, zerolog.Nop())
			t.Cleanup(b.Close)
			reg := New(cfg.NodeName, b.SysPublisher(), 0, zerolog.Nop())
			rd := Readers{SessionQueue: func(id string) (int, int, bool) {
				s := b.Session(id)
				if s == nil {
					return 0, 0, false
				}
				return s.Stats().Queued, cfg.Session.MaxQueueLen, true
			}}
			m := NewMonitor(only(""), reg, rd, zerolog.Nop()) // queue alarms need no check of their own
			b.OnQueueFull(m.QueueFull)

			conn := slowConn{}
			res := b.Connect(broker.ConnectRequest{Client: &core.ClientInfo{ClientID: "slow"}, Conn: conn, CleanStart: true})
			if _, err := b.Subscribe("slow", conn, "t", core.SubOptions{QoS: 0}); err != nil {
				t.Fatal(err)
			}
			publish := func(n int) {
				for range n {
					if _, err := b.Publish(&core.Message{From: "p", Topic: "t", Payload: []byte("x")}); err != nil {
						t.Fatal(err)
					}
				}
			}
			publish(4) // fills the queue: no drop yet
			m.Check(time.Now())
			if reg.ActiveCount() != 0 {
				t.Fatalf("alarm before any drop: %v", names(reg.List(true)))
			}
			publish(10)
			now := time.Now()
			m.Check(now)
			act := reg.List(true)
			if len(act) != 1 || act[0].Name != PrefixQueueFull+"slow" || act[0].Details["clientid"] != "slow" ||
				act[0].Details["max_mqueue_len"] != 4 {
				t.Fatalf("active alarms %+v", act)
			}
			switch end {
			case "drain":
				res.Session.Take(nil, time.Now(), 2) // 2 of 4 left: not below half yet
				m.Check(now.Add(time.Minute))
				if reg.ActiveCount() != 1 {
					t.Fatal("cleared at half the queue")
				}
				res.Session.Take(nil, time.Now(), 0)
				m.Check(now.Add(2 * time.Minute))
			case "session ends":
				b.Disconnect("slow", conn, false, nil, "normal")
				m.Check(now.Add(time.Minute))
			}
			if reg.ActiveCount() != 0 || len(reg.List(false)) != 1 {
				t.Fatalf("not cleared: active %v", names(reg.List(true)))
			}
			// It can be raised again.
			if end == "drain" {
				publish(10)
				m.Check(now.Add(3 * time.Minute))
				if reg.ActiveCount() != 1 {
					t.Fatal("not raised again")
				}
			}
		})
	}
}

func TestQueueFullIsBounded(t *testing.T) {
	r, _, _ := newRegistry(0)
	m := NewMonitor(only(""), r, Readers{}, zerolog.Nop())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				m.QueueFull(fmt.Sprint("c", (g*100+i)/2)) // each id reported twice
			}
		}()
	}
	wg.Wait()
	m.Check(time.Now())
	if n := r.ActiveCount(); n != MaxQueueAlarms {
		t.Fatalf("%d session_queue_full alarms, want the bound %d", n, MaxQueueAlarms)
	}
}

func TestMonitorGoroutineRaisesQueueFull(t *testing.T) {
	r, _, _ := newRegistry(0)
	m := NewMonitor(only(""), r, Readers{}, zerolog.Nop())
	m.Start()
	m.Start()
	m.QueueFull("x")
	testkit.MustEventually(t, 2*time.Second, func() bool { return r.IsActive(PrefixQueueFull + "x") })
	m.Stop()
	m.Stop()
	m.QueueFull("y") // after Stop: recorded, never raised, never blocks
	if r.IsActive(PrefixQueueFull + "y") {
		t.Fatal("raised after Stop")
	}
}

func TestMonitorStopBeforeStart(t *testing.T) {
	m := NewMonitor(DefaultMonitorConfig(), New("n", nil, 0, zerolog.Nop()), Readers{}, zerolog.Nop())
	m.Stop()
	m.Start() // does nothing
	m.Stop()
}

func TestSystemReaders(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the system readers read Linux's /proc")
	}
	rd := SystemReaders()
	total, avail, err := rd.SysMem()
	if err != nil || total == 0 || avail > total {
		t.Fatalf("SysMem %d %d %v", total, avail, err)
	}
	if rss, err := rd.ProcRSS(); err != nil || rss == 0 || rss > total {
		t.Fatalf("ProcRSS %d %v", rss, err)
	}
	if cpu, err := rd.CPUTime(); err != nil || cpu <= 0 {
		t.Fatalf("CPUTime %v %v", cpu, err)
	}
	if dt, df, err := rd.Disk(t.TempDir()); err != nil || dt == 0 || df > dt {
		t.Fatalf("Disk %d %d %v", dt, df, err)
	}
}

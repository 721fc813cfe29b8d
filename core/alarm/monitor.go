package alarm

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Alarm names. The first three are EMQX 5's; the others are Manifold's,
// named the same way. The per-listener and per-session alarms carry the
// listener id or client id after a slash, as EMQX names its per-connection
// alarms (conn_congestion/<clientid>/<username>), so that one is active per
// listener or session.
const (
	NameHighSystemMemory  = "high_system_memory_usage"
	NameHighProcessMemory = "high_process_memory_usage"
	NameHighCPU           = "high_cpu_usage"
	NameLowDiskSpace      = "low_disk_space"
	PrefixHighConnections = "high_connection_usage/" // + listener id
	PrefixQueueFull       = "session_queue_full/"    // + client id
)

// MaxQueueAlarms bounds the session_queue_full alarms active or pending at
// once: a broker dropping for a million slow sessions raises this many.
const MaxQueueAlarms = 100

// MonitorConfig holds the thresholds and periods of the checks, the
// sysmon.* keys. Percentages are 0..100. An interval of 0 disables its
// checks.
type MonitorConfig struct {
	// MemCheckInterval is sysmon.os.mem_check_interval.
	MemCheckInterval time.Duration
	// SysMemHighWatermark (sysmon.os.sysmem_high_watermark) raises
	// high_system_memory_usage while used system memory is above it.
	SysMemHighWatermark float64
	// ProcMemHighWatermark (sysmon.os.procmem_high_watermark) raises
	// high_process_memory_usage while this process's RSS is above this
	// share of system memory.
	ProcMemHighWatermark float64
	// CPUCheckInterval is sysmon.os.cpu_check_interval.
	CPUCheckInterval time.Duration
	// CPUHighWatermark and CPULowWatermark (sysmon.os.cpu_*_watermark):
	// high_cpu_usage is raised above the high mark and cleared below the low.
	CPUHighWatermark, CPULowWatermark float64
	// DiskCheckInterval is sysmon.disk.disk_check_interval.
	DiskCheckInterval time.Duration
	// DiskLowWatermark (sysmon.disk.low_watermark) raises low_disk_space
	// while the free space of DataDir's file system is below it.
	DiskLowWatermark float64
	// DataDir is node.data_dir, the directory whose file system is watched.
	DataDir string
	// ConnCheckInterval is sysmon.connections.check_interval.
	ConnCheckInterval time.Duration
	// ConnHighWatermark and ConnLowWatermark (sysmon.connections.*):
	// high_connection_usage/<listener> is raised when a listener's
	// connections reach the high share of its max_connections and cleared
	// below the low share.
	ConnHighWatermark, ConnLowWatermark float64
}

// DefaultMonitorConfig returns EMQX's defaults for the sysmon.os keys and
// Manifold's for the others.
func DefaultMonitorConfig() MonitorConfig {
	return MonitorConfig{
		MemCheckInterval: time.Minute, SysMemHighWatermark: 70, ProcMemHighWatermark: 5,
		CPUCheckInterval: time.Minute, CPUHighWatermark: 80, CPULowWatermark: 60,
		DiskCheckInterval: time.Minute, DiskLowWatermark: 10, DataDir: "data",
		ConnCheckInterval: 5 * time.Second, ConnHighWatermark: 90, ConnLowWatermark: 80,
	}
}

// ListenerLoad is one listener's connections against its limit.
type ListenerLoad struct {
	ID      string // "tcp:default"
	Current int
	Max     int // max_connections; 0 is unlimited (never alarms)
}

// Readers are how the monitor observes the machine and the broker; tests
// inject their own. A nil reader disables its checks; a reader that
// returns an error skips that check this time (logged once).
type Readers struct {
	// SysMem returns total and available system memory in bytes
	// (/proc/meminfo MemTotal and MemAvailable).
	SysMem func() (total, available uint64, err error)
	// ProcRSS returns this process's resident set in bytes.
	ProcRSS func() (uint64, error)
	// CPUTime returns the CPU time this process has used, user and system.
	CPUTime func() (time.Duration, error)
	// NumCPU is how many cores share CPUTime's budget; 0 is runtime.NumCPU().
	NumCPU int
	// Disk returns the total and free (available to unprivileged users)
	// bytes of the file system holding path.
	Disk func(path string) (total, free uint64, err error)
	// Listeners returns every running listener's load.
	Listeners func() []ListenerLoad
	// SessionQueue returns a session's queued messages and its queue bound
	// (max_mqueue_len); ok is false when the session is gone.
	SessionQueue func(clientID string) (queued, limit int, ok bool)
}

// SystemReaders returns the readers of this machine (Linux /proc and
// statfs; on other systems the memory and CPU readers report errors).
// Listeners and SessionQueue are left for the caller.
func SystemReaders() Readers {
	return Readers{SysMem: readMeminfo, ProcRSS: readRSS, CPUTime: readCPUTime, Disk: readDisk}
}

// Monitor runs the checks on one goroutine (Start, Stop) and raises and
// clears alarms in a Registry. Check runs one pass, for tests.
type Monitor struct {
	cfg MonitorConfig
	reg *Registry
	rd  Readers
	log zerolog.Logger

	// Check state; guarded by checkMu (the goroutine and Check).
	checkMu  sync.Mutex
	due      [4]time.Time // next mem, cpu, disk, connection check
	cpuAt    time.Time    // wall time of the last CPU sample; zero before the first
	cpuUsed  time.Duration
	failed   map[string]bool   // readers whose error was logged
	queueSet map[string]string // clientID → alarm name, active session_queue_full alarms

	// The queue-full hook's state: clients reported by QueueFull and not yet
	// handled, and every client pending or alarmed (read lock-free on the
	// drop path).
	qmu     sync.Mutex
	pending []string     // guarded by qmu; at most MaxQueueAlarms
	seen    sync.Map     // clientID → struct{}: pending or alarmed
	nseen   atomic.Int32 // entries in seen
	kick    chan struct{}

	mu      sync.Mutex // guards started and stopped
	started bool
	stopped bool
	done    chan struct{} // closed by Stop
	exited  chan struct{} // closed when run returns, or by Stop when it never ran
}

// NewMonitor returns a monitor of rd raising alarms in reg. Nothing runs
// until Start.
func NewMonitor(cfg MonitorConfig, reg *Registry, rd Readers, log zerolog.Logger) *Monitor {
	if rd.NumCPU <= 0 {
		rd.NumCPU = runtime.NumCPU()
	}
	return &Monitor{cfg: cfg, reg: reg, rd: rd, log: log,
		failed: map[string]bool{}, queueSet: map[string]string{},
		kick: make(chan struct{}, 1), done: make(chan struct{}), exited: make(chan struct{})}
}

// Start runs the checks on one goroutine, at once and then at their
// intervals. Start after Start or Stop does nothing.
func (m *Monitor) Start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started || m.stopped {
		return
	}
	m.started = true
	go m.run()
}

// Stop ends the goroutine and waits for it. It may be called more than
// once, and before Start.
func (m *Monitor) Stop() {
	m.mu.Lock()
	if !m.stopped {
		m.stopped = true
		close(m.done)
		if !m.started {
			close(m.exited)
		}
	}
	m.mu.Unlock()
	<-m.exited
}

// tick is the goroutine's base period: the shortest enabled interval, at
// least 100ms, at most 1s.
func (m *Monitor) tick() time.Duration {
	t := time.Second
	for _, d := range []time.Duration{m.cfg.MemCheckInterval, m.cfg.CPUCheckInterval, m.cfg.DiskCheckInterval, m.cfg.ConnCheckInterval} {
		if d > 0 && d < t {
			t = d
		}
	}
	return max(t, 100*time.Millisecond)
}

func (m *Monitor) run() {
	defer close(m.exited)
	t := time.NewTicker(m.tick())
	defer t.Stop()
	m.Check(time.Now())
	for {
		select {
		case <-m.done:
			return
		case now := <-t.C:
			m.Check(now)
		case <-m.kick:
			m.raiseQueueFull()
		}
	}
}

// Check runs every check whose interval has passed at now, clears the
// session_queue_full alarms of sessions that drained or ended, and raises
// those reported since the last pass.
func (m *Monitor) Check(now time.Time) {
	m.checkMu.Lock()
	defer m.checkMu.Unlock()
	type check struct {
		every time.Duration
		run   func(time.Time)
	}
	checks := [4]check{
		{m.cfg.MemCheckInterval, m.checkMemory},
		{m.cfg.CPUCheckInterval, m.checkCPU},
		{m.cfg.DiskCheckInterval, m.checkDisk},
		{m.cfg.ConnCheckInterval, m.checkConnections},
	}
	for i, c := range checks {
		if c.every <= 0 || now.Before(m.due[i]) {
			continue
		}
		m.due[i] = now.Add(c.every)
		c.run(now)
	}
	m.checkQueues()
	m.raiseQueueFullLocked()
}

// readFailed logs a reader's first error; later ones are silent until it
// succeeds again.
func (m *Monitor) readFailed(reader string, err error) {
	if err == nil {
		delete(m.failed, reader)
		return
	}
	if !m.failed[reader] {
		m.failed[reader] = true
		m.log.Warn().Err(err).Str("reader", reader).Msg("sysmon_read_failed")
	}
}

// percent formats a share as EMQX prints it in details ("71.23%").
func percent(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "%" }

// mark formats a watermark for a message: "70%", "12.5%".
func mark(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "%" }

// checkMemory raises or clears high_system_memory_usage and
// high_process_memory_usage. EMQX clears them as soon as the usage is back
// under the watermark; so do we.
func (m *Monitor) checkMemory(time.Time) {
	if m.rd.SysMem == nil {
		return
	}
	total, avail, err := m.rd.SysMem()
	m.readFailed("sysmem", err)
	if err != nil || total == 0 {
		return
	}
	used := 100 * float64(total-min(avail, total)) / float64(total)
	if m.cfg.SysMemHighWatermark > 0 {
		if used > m.cfg.SysMemHighWatermark {
			m.reg.Activate(NameHighSystemMemory, "System memory usage is higher than "+mark(m.cfg.SysMemHighWatermark),
				map[string]any{"high_watermark": m.cfg.SysMemHighWatermark, "usage": percent(used), "total": total, "available": avail})
		} else {
			m.reg.Deactivate(NameHighSystemMemory)
		}
	}
	if m.rd.ProcRSS == nil || m.cfg.ProcMemHighWatermark <= 0 {
		return
	}
	rss, err := m.rd.ProcRSS()
	m.readFailed("rss", err)
	if err != nil {
		return
	}
	share := 100 * float64(rss) / float64(total)
	if share > m.cfg.ProcMemHighWatermark {
		m.reg.Activate(NameHighProcessMemory, "Process memory usage is higher than "+mark(m.cfg.ProcMemHighWatermark),
			map[string]any{"high_watermark": m.cfg.ProcMemHighWatermark, "usage": percent(share), "rss": rss})
	} else {
		m.reg.Deactivate(NameHighProcessMemory)
	}
}

// checkCPU samples the process's CPU time and compares its share of all
// cores since the last sample with the watermarks: raised above the high
// mark, cleared below the low one, left as it is in between (hysteresis).
func (m *Monitor) checkCPU(now time.Time) {
	if m.rd.CPUTime == nil {
		return
	}
	used, err := m.rd.CPUTime()
	m.readFailed("cpu", err)
	if err != nil {
		return
	}
	prevAt, prevUsed := m.cpuAt, m.cpuUsed
	m.cpuAt, m.cpuUsed = now, used
	wall := now.Sub(prevAt)
	if prevAt.IsZero() || wall <= 0 {
		return // the first sample is the baseline
	}
	usage := 100 * float64(used-prevUsed) / (float64(wall) * float64(m.rd.NumCPU))
	switch {
	case usage > m.cfg.CPUHighWatermark:
		m.reg.Activate(NameHighCPU, "CPU usage is higher than "+mark(m.cfg.CPUHighWatermark),
			map[string]any{"high_watermark": m.cfg.CPUHighWatermark, "low_watermark": m.cfg.CPULowWatermark,
				"usage": percent(usage), "cores": m.rd.NumCPU})
	case usage < m.cfg.CPULowWatermark:
		m.reg.Deactivate(NameHighCPU)
	}
}

// checkDisk raises low_disk_space while the data directory's file system
// has less free space than the watermark.
func (m *Monitor) checkDisk(time.Time) {
	if m.rd.Disk == nil || m.cfg.DataDir == "" {
		return
	}
	total, free, err := m.rd.Disk(m.cfg.DataDir)
	m.readFailed("disk", err)
	if err != nil || total == 0 {
		return
	}
	share := 100 * float64(free) / float64(total)
	if share < m.cfg.DiskLowWatermark {
		m.reg.Activate(NameLowDiskSpace, "Free disk space of node.data_dir is lower than "+mark(m.cfg.DiskLowWatermark),
			map[string]any{"low_watermark": m.cfg.DiskLowWatermark, "free": percent(share), "free_bytes": free,
				"total_bytes": total, "path": m.cfg.DataDir})
	} else {
		m.reg.Deactivate(NameLowDiskSpace)
	}
}

// checkConnections raises high_connection_usage/<listener> for listeners
// near their max_connections and clears those below the low mark (and
// those of listeners that went).
func (m *Monitor) checkConnections(time.Time) {
	if m.rd.Listeners != nil {
		seen := map[string]bool{}
		for _, l := range m.rd.Listeners() {
			if l.Max <= 0 {
				continue
			}
			name := PrefixHighConnections + l.ID
			seen[name] = true
			usage := 100 * float64(l.Current) / float64(l.Max)
			switch {
			case usage >= m.cfg.ConnHighWatermark:
				m.reg.Activate(name, fmt.Sprintf("Connections of listener %s reached %s of max_connections", l.ID, mark(m.cfg.ConnHighWatermark)),
					map[string]any{"listener": l.ID, "current_connections": l.Current, "max_connections": l.Max,
						"high_watermark": m.cfg.ConnHighWatermark, "low_watermark": m.cfg.ConnLowWatermark, "usage": percent(usage)})
			case usage < m.cfg.ConnLowWatermark:
				m.reg.Deactivate(name)
			}
		}
		for _, a := range m.reg.List(true) {
			if len(a.Name) > len(PrefixHighConnections) && a.Name[:len(PrefixHighConnections)] == PrefixHighConnections && !seen[a.Name] {
				m.reg.Deactivate(a.Name) // the listener stopped, or its limit was lifted
			}
		}
	}
}

// checkQueues clears the session_queue_full alarms whose session drained
// below half its queue bound, or ended. It runs on every pass: at most
// MaxQueueAlarms lookups.
func (m *Monitor) checkQueues() {
	for id, name := range m.queueSet {
		queued, limit, ok := 0, 0, false
		if m.rd.SessionQueue != nil {
			queued, limit, ok = m.rd.SessionQueue(id)
		}
		if ok && limit > 0 && queued >= limit/2 {
			continue
		}
		m.reg.Deactivate(name)
		delete(m.queueSet, id)
		m.seen.Delete(id)
		m.nseen.Add(-1)
	}
}

// QueueFull is the broker's hook: a message for clientID was dropped
// because its session's queue is full. It is called on the publisher's
// goroutine for every such drop, so it costs one lock-free map read when
// the session is already alarmed, and never blocks or publishes: the
// monitor's goroutine raises the alarm. At most MaxQueueAlarms sessions are
// alarmed or pending at once; further ones are not reported.
func (m *Monitor) QueueFull(clientID string) {
	if _, ok := m.seen.Load(clientID); ok {
		return
	}
	if m.nseen.Load() >= MaxQueueAlarms {
		return
	}
	if _, loaded := m.seen.LoadOrStore(clientID, struct{}{}); loaded {
		return
	}
	if m.nseen.Add(1) > MaxQueueAlarms {
		m.seen.Delete(clientID)
		m.nseen.Add(-1)
		return
	}
	m.qmu.Lock()
	m.pending = append(m.pending, clientID)
	m.qmu.Unlock()
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *Monitor) raiseQueueFull() {
	m.checkMu.Lock()
	defer m.checkMu.Unlock()
	m.raiseQueueFullLocked()
}

// raiseQueueFullLocked raises the alarms QueueFull reported; caller holds
// checkMu.
func (m *Monitor) raiseQueueFullLocked() {
	m.qmu.Lock()
	ids := m.pending
	m.pending = nil
	m.qmu.Unlock()
	for _, id := range ids {
		details := map[string]any{"clientid": id}
		if m.rd.SessionQueue != nil {
			queued, limit, ok := m.rd.SessionQueue(id)
			if !ok {
				m.seen.Delete(id)
				m.nseen.Add(-1)
				continue
			}
			details["queued"], details["max_mqueue_len"] = queued, limit
		}
		name := PrefixQueueFull + id
		m.queueSet[id] = name
		m.reg.Activate(name, "Message queue of session "+id+" is full; messages are dropped", details)
	}
}

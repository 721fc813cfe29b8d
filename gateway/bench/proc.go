package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It is
// 100 on every Linux architecture Go supports (the kernel fixes it for user
// space regardless of CONFIG_HZ); reading it needs sysconf(_SC_CLK_TCK),
// which would take cgo, so it is a constant.
const clockTicks = 100

// procSample is a broker's CPU time and resident memory at one moment.
type procSample struct {
	CPU   time.Duration // utime + stime
	RSSKB int64         // VmRSS in KiB
}

// sampleProc reads /proc/PID/stat and /proc/PID/status.
func sampleProc(pid int) (procSample, error) {
	var s procSample
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("-pid %d: %w", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// fields are counted after the last ')'. utime and stime are fields 14
	// and 15 (proc(5)), the 12th and 13th after the state.
	str := string(b)
	i := strings.LastIndexByte(str, ')')
	if i < 0 || i+2 > len(str) {
		return s, fmt.Errorf("-pid %d: unreadable /proc stat", pid)
	}
	f := strings.Fields(str[i+2:])
	if len(f) < 13 {
		return s, fmt.Errorf("-pid %d: short /proc stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("-pid %d: bad utime/stime in /proc stat", pid)
	}
	s.CPU = time.Duration(ut+st) * time.Second / clockTicks
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("-pid %d: %w", pid, err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			if fs := strings.Fields(rest); len(fs) > 0 {
				s.RSSKB, _ = strconv.ParseInt(fs[0], 10, 64)
			}
		}
	}
	return s, nil
}

// selfCPU is this process's CPU time, to show whether the generator itself
// was the bottleneck.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fdLimit returns the soft and hard RLIMIT_NOFILE (Go raises the soft limit
// to the hard one at start-up).
func fdLimit() (soft, hard uint64) {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil {
		return 0, 0
	}
	return rl.Cur, rl.Max
}

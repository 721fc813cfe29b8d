package alarm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// readMeminfo reads MemTotal and MemAvailable from /proc/meminfo (kB).
func readMeminfo() (total, available uint64, err error) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, 0, fmt.Errorf("alarm: %w", err)
	}
	var haveTotal, haveAvail bool
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case bytes.HasPrefix(line, []byte("MemTotal:")):
			total, haveTotal = kB(line[len("MemTotal:"):])
		case bytes.HasPrefix(line, []byte("MemAvailable:")):
			available, haveAvail = kB(line[len("MemAvailable:"):])
		}
	}
	if !haveTotal || !haveAvail {
		return 0, 0, errors.New("alarm: /proc/meminfo lacks MemTotal or MemAvailable")
	}
	return total, available, nil
}

// kB parses "   16318412 kB" into bytes.
func kB(b []byte) (uint64, bool) {
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(f[0]), 10, 64)
	return n << 10, err == nil
}

// readRSS reads this process's resident set from /proc/self/statm (pages).
func readRSS() (uint64, error) {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, fmt.Errorf("alarm: %w", err)
	}
	f := bytes.Fields(data)
	if len(f) < 2 {
		return 0, errors.New("alarm: /proc/self/statm is malformed")
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("alarm: /proc/self/statm: %w", err)
	}
	return pages * uint64(os.Getpagesize()), nil
}

// readCPUTime is getrusage(RUSAGE_SELF): user plus system time.
func readCPUTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("alarm: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// readDisk is statfs(path): total and available blocks in bytes.
func readDisk(path string) (total, free uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("alarm: statfs %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	return st.Blocks * bs, st.Bavail * bs, nil
}

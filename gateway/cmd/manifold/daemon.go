package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/manifold-iot/manifold/gateway/api"
	"github.com/manifold-iot/manifold/gateway/config"
)

// pidFileName is the node's pid file under node.data_dir.
const pidFileName = "manifold.pid"

// Bounds of start -d and stop.
const (
	startWait = 30 * time.Second
	stopWait  = 60 * time.Second
)

func pidPath(cfg *config.Config) string { return filepath.Join(cfg.Node.DataDir, pidFileName) }

// writePidFile records this process as the node of cfg's data dir; it
// refuses when another live node already holds it.
func writePidFile(cfg *config.Config) error {
	if pid, alive := readPid(cfg); alive && pid != os.Getpid() {
		return fmt.Errorf("node.data_dir %s: another manifold (pid %d) is running", cfg.Node.DataDir, pid)
	}
	if err := os.MkdirAll(cfg.Node.DataDir, 0o755); err != nil {
		return fmt.Errorf("node.data_dir: %w", err)
	}
	return os.WriteFile(pidPath(cfg), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

// removePidFile removes the pid file if it is still this process's.
func removePidFile(cfg *config.Config) {
	if pid, _ := readPid(cfg); pid == os.Getpid() {
		_ = os.Remove(pidPath(cfg))
	}
}

// readPid reads the pid file; alive reports whether that process exists
// and is a manifold node (not a recycled pid).
func readPid(cfg *config.Config) (pid int, alive bool) {
	data, err := os.ReadFile(pidPath(cfg))
	if err != nil {
		return 0, false
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, processAlive(pid)
}

func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	// On Linux, make sure the pid was not recycled by something else.
	if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		args := bytes.Split(bytes.TrimRight(cmd, "\x00"), []byte{0})
		return len(args) > 1 && string(args[1]) == "start"
	}
	return true
}

// daemonize is `manifold start -d`: it starts `manifold start` again in a
// new session with its output appended to the log file and file logging
// on, waits until the node answers (or fails), and returns.
func daemonize(cfgPath string, cfg *config.Config, environ []string, stdout, stderr io.Writer) int {
	if pid, alive := readPid(cfg); alive {
		fmt.Fprintf(stderr, "manifold: already running (pid %d)\n", pid)
		return exitFailed
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "manifold: %v\n", err)
		return exitFailed
	}
	args := []string{"start"}
	if cfgPath != "" {
		abs, err := filepath.Abs(cfgPath)
		if err != nil {
			fmt.Fprintf(stderr, "manifold: %v\n", err)
			return exitFailed
		}
		args = append(args, "-c", abs)
	}
	logPath := cfg.Log.File.Path
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		fmt.Fprintf(stderr, "manifold: log.file.path: %v\n", err)
		return exitFailed
	}
	out, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintf(stderr, "manifold: log.file.path: %v\n", err)
		return exitFailed
	}
	defer out.Close()
	// Before the logger opens the file (and after a panic) the process's
	// own output still lands in the log.
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		fmt.Fprintf(stderr, "manifold: %v\n", err)
		return exitFailed
	}
	defer devnull.Close()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(append([]string{}, environ...), "MANIFOLD_LOG__FILE__ENABLE=true")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "manifold: starting the node: %v\n", err)
		return exitFailed
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	deadline := time.After(startWait)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			fmt.Fprintf(stderr, "manifold: the node exited during start (%v); see %s\n", err, logPath)
			return exitFailed
		case <-deadline:
			fmt.Fprintf(stderr, "manifold: the node (pid %d) did not answer within %v; see %s\n", cmd.Process.Pid, startWait, logPath)
			return exitFailed
		case <-tick.C:
		}
		pid, alive := readPid(cfg)
		if !alive || pid != cmd.Process.Pid {
			continue
		}
		if !cfg.Dashboard.Listeners.HTTP.Enable {
			fmt.Fprintf(stdout, "manifold started (pid %d); log %s\n", pid, logPath)
			return exitOK
		}
		cred, err := readCredential(cfg)
		if err != nil || cred.PID != pid {
			continue
		}
		st, err := fetchStatus(cred)
		if err != nil || !allRunning(st) {
			continue // the API answers before the gateways' listeners are up
		}
		fmt.Fprintf(stdout, "manifold %s started (pid %d)\n", st.RelVsn, pid)
		fmt.Fprintf(stdout, "  api: %s\n", cred.URL)
		for _, l := range st.Listeners {
			if l.Running {
				fmt.Fprintf(stdout, "  %-22s %s\n", l.ID, l.Addr)
			}
		}
		fmt.Fprintf(stdout, "  log: %s\n", logPath)
		return exitOK
	}
}

// allRunning reports whether every listener of st is up.
func allRunning(st nodeStatus) bool {
	for _, l := range st.Listeners {
		if !l.Running {
			return false
		}
	}
	return true
}

// nodeStatus is GET /api/v5/status?format=json.
type nodeStatus struct {
	NodeName    string `json:"node_name"`
	RelVsn      string `json:"rel_vsn"`
	AppStatus   string `json:"app_status"`
	Uptime      int64  `json:"uptime"`
	Connections int    `json:"connections"`
	Sessions    int    `json:"sessions"`
	PID         int    `json:"pid"`
	Listeners   []struct {
		ID                 string `json:"id"`
		Bind               string `json:"bind"`
		Addr               string `json:"addr"`
		Running            bool   `json:"running"`
		CurrentConnections int    `json:"current_connections"`
	} `json:"listeners"`
}

func readCredential(cfg *config.Config) (api.CtlCredential, error) {
	var c api.CtlCredential
	data, err := os.ReadFile(filepath.Join(cfg.Node.DataDir, api.CtlKeyFile))
	if err != nil {
		return c, err
	}
	err = json.Unmarshal(data, &c)
	return c, err
}

func fetchStatus(cred api.CtlCredential) (nodeStatus, error) {
	var st nodeStatus
	c := &ctlClient{cred: cred}
	err := c.call("GET", "/status?format=json", nil, &st)
	return st, err
}

// runStatus is `manifold status`: exit 0 and a summary when the node runs,
// 1 when it does not.
func runStatus(args, environ []string, stdout, stderr io.Writer) int {
	cfg, code := loadForClient("status", args, environ, stderr)
	if cfg == nil {
		return code
	}
	pid, alive := readPid(cfg)
	cred, err := readCredential(cfg)
	if err != nil {
		if alive {
			fmt.Fprintf(stdout, "manifold is running (pid %d); its API is off or not ready\n", pid)
			return exitOK
		}
		fmt.Fprintln(stdout, "manifold is not running")
		return exitFailed
	}
	st, err := fetchStatus(cred)
	if err != nil {
		if alive {
			fmt.Fprintf(stdout, "manifold (pid %d) is running but its API at %s does not answer: %v\n", pid, cred.URL, err)
		} else {
			fmt.Fprintln(stdout, "manifold is not running")
		}
		return exitFailed
	}
	fmt.Fprintf(stdout, "Node %s is started\n", st.NodeName)
	fmt.Fprintf(stdout, "manifold %s is %s (pid %d)\n", st.RelVsn, st.AppStatus, st.PID)
	fmt.Fprintf(stdout, "uptime: %v\n", (time.Duration(st.Uptime) * time.Millisecond).Round(time.Second))
	fmt.Fprintf(stdout, "connections: %d (sessions %d)\n", st.Connections, st.Sessions)
	fmt.Fprintln(stdout, "listeners:")
	for _, l := range st.Listeners {
		state := "stopped"
		if l.Running {
			state = "running"
		}
		fmt.Fprintf(stdout, "  %-22s %-22s %-8s connections %d\n", l.ID, orDash(l.Addr), state, l.CurrentConnections)
	}
	return exitOK
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// runStop is `manifold stop`: SIGTERM to the node, then wait (bounded) for
// it to exit; the node persists its sessions and closes its listeners.
func runStop(args, environ []string, stdout, stderr io.Writer) int {
	cfg, code := loadForClient("stop", args, environ, stderr)
	if cfg == nil {
		return code
	}
	pid, alive := readPid(cfg)
	if !alive {
		fmt.Fprintln(stderr, "manifold is not running")
		return exitFailed
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		fmt.Fprintf(stderr, "manifold: stopping pid %d: %v\n", pid, err)
		return exitFailed
	}
	deadline := time.Now().Add(stopWait)
	for time.Now().Before(deadline) {
		if !processAlive(pid) {
			fmt.Fprintf(stdout, "manifold stopped (pid %d)\n", pid)
			return exitOK
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Fprintf(stderr, "manifold: pid %d did not stop within %v\n", pid, stopWait)
	return exitFailed
}

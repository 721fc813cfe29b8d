package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/manifold-iot/manifold/gateway"
	"github.com/manifold-iot/manifold/gateway/bench"
	"github.com/manifold-iot/manifold/gateway/config"
	"github.com/manifold-iot/manifold/gateway/logging"
)

// version is set at build time: -ldflags "-X main.version=…".
var version = "dev"

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // the server could not start or stopped with an error
	exitUsage  = 2 // bad command line or configuration
)

type command struct {
	name    string
	summary string
	run     func(args, environ []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"start", "run the broker in the foreground, or in the background with -d (-c FILE)", runStart},
		{"stop", "stop the node started in this data dir (graceful)", runStop},
		{"status", "show whether the node runs: exit 0 when it does, 1 when not", runStatus},
		{"ctl", "operate the running node: clients, subscriptions, banned, … (ctl -h)", runCtl},
		{"version", "print the version and exit", runVersion},
		{"bench", "MQTT load generator: pub | sub | pubsub | conn (bench -help)", runBench},
		{"help", "show this help", nil},
	}
}

func run(args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	case "-v", "--version":
		return runVersion(nil, environ, stdout, stderr)
	}
	for _, c := range commands() {
		if c.name == args[0] && c.run != nil {
			return c.run(args[1:], environ, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "manifold: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Manifold: MQTT broker and multi-protocol IoT gateway.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: manifold <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Configuration keys can be overridden by environment variables:")
	fmt.Fprintln(w, "  MANIFOLD_LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:1883 sets listeners.tcp.default.bind")
	fmt.Fprintln(w, "Run 'manifold <command> -h' for a command's flags.")
}

func runVersion(_, _ []string, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "manifold %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}

func runStart(args, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "", "configuration `file` (YAML); default "+defaultConfigFile+" when it exists, else built-in defaults")
	daemon := fs.Bool("d", false, "run in the background, logging to log.file.path")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: manifold start [-d] [-c FILE]")
		fmt.Fprintln(stderr, "Runs the broker in the foreground until SIGINT or SIGTERM; with -d in the")
		fmt.Fprintln(stderr, "background (pid file in node.data_dir; stop it with `manifold stop`).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "manifold start: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}

	*cfgPath = configPath(*cfgPath)
	cfg, warnings, err := config.Load(*cfgPath, environ)
	if err != nil {
		fmt.Fprintf(stderr, "manifold: %v\n", err)
		return exitUsage
	}
	if *daemon {
		return daemonize(*cfgPath, cfg, environ, stdout, stderr)
	}
	var logOut io.Writer = stderr
	if f := cfg.Log.File; f.Enable {
		rf, err := logging.OpenRotating(f.Path, int64(f.RotationSize), f.RotationCount)
		if err != nil {
			fmt.Fprintf(stderr, "manifold: %v\n", err)
			return exitUsage
		}
		defer rf.Close()
		logOut = rf
	}
	// The logger logs everything the process-wide level allows, so that
	// `manifold ctl log set-level` can change it at run time.
	log, err := logging.New(logOut, "debug", string(cfg.Log.Format))
	if err == nil {
		err = logging.SetLevel(string(cfg.Log.Level))
	}
	if err != nil {
		fmt.Fprintf(stderr, "manifold: %v\n", err)
		return exitUsage
	}
	for _, w := range warnings {
		log.Warn().Str("warning", w.String()).Msg("config_warning")
	}
	log.Info().Str("version", version).Str("config", *cfgPath).Msg("manifold_starting")

	srv, err := gateway.New(cfg, log, gateway.WithVersion(version))
	if err != nil {
		log.Error().Err(err).Msg("server_config_invalid")
		return exitUsage
	}
	if err := writePidFile(cfg); err != nil {
		log.Error().Err(err).Msg("pid_file_failed")
		_ = srv.Shutdown(context.Background())
		return exitFailed
	}
	defer removePidFile(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Run(ctx); err != nil {
		log.Error().Err(err).Msg("server_failed")
		return exitFailed
	}
	return exitOK
}

// defaultConfigFile is read when -c is not given and it exists in the
// working directory (the repository's layout: `make build && bin/manifold start -d`).
const defaultConfigFile = "configs/manifold.yaml"

// configPath is -c's value, or defaultConfigFile when -c was not given and
// that file exists.
func configPath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if _, err := os.Stat(defaultConfigFile); err == nil {
		return defaultConfigFile
	}
	return ""
}

// runBench is `manifold bench`: the load generator lives in gateway/bench.
func runBench(args, _ []string, stdout, stderr io.Writer) int {
	return bench.Main(args, stdout, stderr)
}

package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes of Main, as the manifold command uses them.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// Main runs `manifold bench` with args (the mode first), printing progress to
// stderr and the summary to stdout, and returns the exit code: 0 when the run
// completed (whatever it measured: loss is a figure, not an error), 1 when it
// could not run (no connection, no subscription), 2 for a bad command line.
// SIGINT ends a run early with the summary so far.
func Main(args []string, stdout, stderr io.Writer) int {
	cfg, err := Parse(args, stderr)
	if err != nil {
		if errors.Is(err, ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "manifold bench: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := Run(ctx, cfg, stderr)
	if res != nil {
		if cfg.Format == "kv" {
			res.WriteKV(stdout)
		} else {
			res.WriteTable(stdout)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "manifold bench: %v\n", err)
		return exitFailed
	}
	return exitOK
}

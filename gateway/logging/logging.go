package logging

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// Format selects how log events are written.
type Format string

// The log formats accepted by log.format.
const (
	FormatAuto    Format = "auto"    // console on a terminal, JSON otherwise
	FormatJSON    Format = "json"    // one JSON object per line
	FormatConsole Format = "console" // human-readable, coloured on a terminal
)

// ParseLevel maps a configured level name (debug, info, warning or warn,
// error) to a zerolog level.
func ParseLevel(name string) (zerolog.Level, error) {
	switch strings.ToLower(name) {
	case "debug":
		return zerolog.DebugLevel, nil
	case "info", "":
		return zerolog.InfoLevel, nil
	case "warning", "warn":
		return zerolog.WarnLevel, nil
	case "error":
		return zerolog.ErrorLevel, nil
	}
	return zerolog.NoLevel, fmt.Errorf("logging: unknown level %q (want debug, info, warning or error)", name)
}

// New returns a logger writing to w at the given level and format. With
// FormatAuto the console writer is used only when w is a terminal.
func New(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return zerolog.Nop(), err
	}
	out := w
	switch Format(strings.ToLower(format)) {
	case FormatJSON:
	case FormatConsole:
		out = consoleWriter(w)
	case FormatAuto, "":
		if isTerminal(w) {
			out = consoleWriter(w)
		}
	default:
		return zerolog.Nop(), fmt.Errorf("logging: unknown format %q (want auto, json or console)", format)
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}

func consoleWriter(w io.Writer) zerolog.ConsoleWriter {
	return zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339, NoColor: !isTerminal(w)}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

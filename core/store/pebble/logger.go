package pebble

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"
)

// pebbleLogger sends Pebble's own chatter to zerolog: its informational
// lines at debug, its errors at error.
type pebbleLogger struct{ l zerolog.Logger }

// Infof implements pebble.Logger.
func (p pebbleLogger) Infof(format string, args ...any) {
	if e := p.l.Debug(); e.Enabled() {
		e.Str("detail", fmt.Sprintf(format, args...)).Msg("pebble_info")
	}
}

// Errorf implements pebble.Logger.
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error().Str("detail", fmt.Sprintf(format, args...)).Msg("pebble_error")
}

// Fatalf implements pebble.Logger: Pebble calls it when it cannot go on
// (a failed WAL write), and expects it not to return.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Fatal().Str("detail", fmt.Sprintf(format, args...)).Msg("pebble_fatal")
}

// eventListener logs the Pebble events an operator should see.
func eventListener(l zerolog.Logger) *pebble.EventListener {
	return &pebble.EventListener{
		BackgroundError: func(err error) {
			l.Warn().Err(err).Msg("store_background_error")
		},
		DiskSlow: func(info pebble.DiskSlowInfo) {
			l.Warn().Str("path", info.Path).Str("op", info.OpType.String()).Dur("duration", info.Duration).Msg("store_disk_slow")
		},
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			l.Warn().Str("reason", info.Reason).Msg("store_write_stall_begin")
		},
		WriteStallEnd: func() {
			l.Info().Msg("store_write_stall_end")
		},
	}
}

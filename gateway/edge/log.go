package edge

import (
	"fmt"

	"github.com/rs/zerolog"
)

// gnetLogger adapts zerolog to gnet's logging.Logger. gnet logs noisily
// (every engine start, every loop exit), so everything goes to debug except
// its errors (accept failures, poller errors), which go to warn because they
// may mean the listener stopped.
//
// gnet keeps one process-wide default logger that the last started engine
// sets; a few of its messages (listener close errors) go there.
type gnetLogger struct{ log zerolog.Logger }

func (l gnetLogger) emit(e *zerolog.Event, format string, args []any) {
	if e.Enabled() {
		e.Str("detail", fmt.Sprintf(format, args...)).Msg("gnet_log")
	}
}

func (l gnetLogger) Debugf(format string, args ...any) { l.emit(l.log.Debug(), format, args) }
func (l gnetLogger) Infof(format string, args ...any)  { l.emit(l.log.Debug(), format, args) }
func (l gnetLogger) Warnf(format string, args ...any)  { l.emit(l.log.Debug(), format, args) }
func (l gnetLogger) Errorf(format string, args ...any) { l.emit(l.log.Warn(), format, args) }

// Fatalf logs at error; it does not exit the process (a library must not).
func (l gnetLogger) Fatalf(format string, args ...any) { l.emit(l.log.Error(), format, args) }

package edge

import (
	"context"

	"github.com/rs/zerolog"
)

// lifecycle is the start-up and shut-down bookkeeping the TCP and UDP
// servers share: gnet.Run runs on its own goroutine; OnBoot closes booted
// once the socket is bound; done closes when gnet.Run has returned. A server
// is started once.
type lifecycle struct {
	started bool          // guarded by the server's mu
	booted  chan struct{} // closed by OnBoot: listening
	done    chan struct{} // closed when gnet.Run has returned
	runErr  error         // gnet.Run's result; read after done
}

// begin marks the server started and makes its channels; it reports false
// on a second Start. Caller holds the server's mu.
func (l *lifecycle) begin() bool {
	if l.started {
		return false
	}
	l.started = true
	l.booted = make(chan struct{})
	l.done = make(chan struct{})
	return true
}

// run calls gnet.Run (runEngine) and publishes its end: an engine that stops
// after it was listening logs why.
func (l *lifecycle) run(runEngine func() error, log zerolog.Logger) {
	err := runEngine()
	l.runErr = err // published to Start and Stop by close(done)
	select {
	case <-l.booted:
		if err != nil {
			log.Error().Err(err).Msg("listener_failed")
		}
	default:
	}
	close(l.done)
}

// wait returns once the socket is bound (nil), gnet.Run has failed (its
// error, for the caller to wrap), or ctx has ended (stop is started in the
// background and ctx.Err() returned).
func (l *lifecycle) wait(ctx context.Context, stop func(context.Context) error) (runFailed bool, err error) {
	select {
	case <-l.booted:
		return false, nil
	case <-l.done:
		return true, l.runErr
	case <-ctx.Done():
		go func() { _ = stop(context.Background()) }()
		return false, ctx.Err()
	}
}

// settled waits, for Stop, until a started server is listening or has
// failed; done is nil when the server never started.
func settled(ctx context.Context, booted, done chan struct{}) error {
	if done == nil {
		return nil
	}
	select {
	case <-booted:
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

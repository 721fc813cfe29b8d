package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// HTTPListener serves the API on one address; it satisfies the gateway's
// listener interface (Start, Stop, Addr).
type HTTPListener struct {
	api  *API
	bind string
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// NewListener returns a listener for the API on bind (host:port).
func (a *API) NewListener(bind string) *HTTPListener {
	return &HTTPListener{api: a, bind: bind}
}

// Start binds, writes the ctl credential for the bound address and serves
// in the background.
func (l *HTTPListener) Start(context.Context) error {
	ln, err := net.Listen("tcp", l.bind)
	if err != nil {
		return errors.Join(errors.New("dashboard.listeners.http.bind"), err)
	}
	l.ln = ln
	l.srv = &http.Server{
		Handler:           l.api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	if err := l.api.writeCtlFile(ln.Addr()); err != nil {
		ln.Close()
		return errors.Join(errors.New("node.data_dir: writing the ctl credential"), err)
	}
	l.done = make(chan struct{})
	go func() {
		defer close(l.done)
		if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.api.log.Error().Err(err).Msg("api_serve_failed")
		}
	}()
	return nil
}

// Stop closes the listener, waits (bounded by ctx, at most 5 s) for
// requests in flight, and removes the ctl credential.
func (l *HTTPListener) Stop(ctx context.Context) error {
	if l.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := l.srv.Shutdown(ctx)
	if err != nil {
		l.srv.Close()
	}
	<-l.done
	l.api.removeCtlFile()
	return err
}

// Addr is the bound address.
func (l *HTTPListener) Addr() net.Addr {
	if l.ln == nil {
		return nil
	}
	return l.ln.Addr()
}

package logging

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/rs/zerolog"
)

// RotatingFile is an io.Writer appending to a file that is rotated by size
// (log.file.*): when a write would take the file past MaxSize it is renamed
// to path.1 (path.1 to path.2, …, keeping Count of them) and a new file is
// started. One write is never split across files. Safe for concurrent use.
type RotatingFile struct {
	path    string
	maxSize int64
	count   int

	mu   sync.Mutex
	f    *os.File // guarded by mu
	size int64    // guarded by mu
}

// OpenRotating opens (creating it and its directory) the log file at path.
func OpenRotating(path string, maxSize int64, count int) (*RotatingFile, error) {
	if maxSize <= 0 || count < 1 {
		return nil, errors.New("logging: rotation size and count must be positive")
	}
	r := &RotatingFile{path: path, maxSize: maxSize, count: count}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("logging: log.file.path: %w", err)
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *RotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("logging: log.file.path: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("logging: log.file.path: %w", err)
	}
	r.f, r.size = f, st.Size()
	return nil
}

// Write appends p, rotating first if p would take the file past its size.
func (r *RotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, os.ErrClosed
	}
	if r.size > 0 && r.size+int64(len(p)) > r.maxSize {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

// rotate shifts path.i to path.i+1 (dropping the last) and path to path.1;
// caller holds mu.
func (r *RotatingFile) rotate() error {
	r.f.Close()
	r.f = nil
	_ = os.Remove(fmt.Sprintf("%s.%d", r.path, r.count))
	for i := r.count - 1; i >= 1; i-- {
		_ = os.Rename(fmt.Sprintf("%s.%d", r.path, i), fmt.Sprintf("%s.%d", r.path, i+1))
	}
	if err := os.Rename(r.path, r.path+".1"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("logging: rotating %s: %w", r.path, err)
	}
	return r.open()
}

// Close closes the file.
func (r *RotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// SetLevel changes the level of every logger in the process at run time
// (zerolog's global level): a logger built with New at "debug" then logs
// only what the level set here allows. It is how `manifold ctl log
// set-level` takes effect without a restart.
func SetLevel(name string) error {
	lvl, err := ParseLevel(name)
	if err != nil {
		return err
	}
	zerolog.SetGlobalLevel(lvl)
	return nil
}

// Level returns the level SetLevel set last, by its configuration name.
func Level() string {
	switch zerolog.GlobalLevel() {
	case zerolog.DebugLevel, zerolog.TraceLevel:
		return "debug"
	case zerolog.InfoLevel:
		return "info"
	case zerolog.WarnLevel:
		return "warning"
	}
	return "error"
}

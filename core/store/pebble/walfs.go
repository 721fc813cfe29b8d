package pebble

import (
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// walCategory is the write category Pebble's standalone WAL manager creates
// (and recycles) write-ahead log files with.
const walCategory vfs.DiskWriteCategory = "pebble-wal"

// walFS wraps the OS file system so that, when deferred, the sync Pebble
// issues on a WAL file after writing a committed batch only marks the file
// dirty: the commit returns once its bytes were handed to the kernel with
// write(2) (they survive kill -9), and syncAll makes them durable (power loss)
// on the store's own schedule. Pebble's LogWriter otherwise keeps a NoSync
// commit in a user-space block buffer until the next sync or full 32 KiB
// block, where a kill -9 loses it. Every other file (sstables, MANIFEST,
// OPTIONS, directories) syncs as Pebble asks.
type walFS struct {
	vfs.FS
	deferred bool // set before Open, read-only after

	mu    sync.Mutex
	files map[*walFile]struct{} // open WAL files; guarded by mu
	syncs atomic.Uint64         // real syncs of WAL files done by syncAll
}

func newWALFS(fs vfs.FS, deferred bool) *walFS {
	return &walFS{FS: fs, deferred: deferred, files: make(map[*walFile]struct{})}
}

// Unwrap implements vfs.FS.
func (fs *walFS) Unwrap() vfs.FS { return fs.FS }

// Create implements vfs.FS.
func (fs *walFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	return fs.wrap(f, category, err)
}

// ReuseForWrite implements vfs.FS.
func (fs *walFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	return fs.wrap(f, category, err)
}

func (fs *walFS) wrap(f vfs.File, category vfs.DiskWriteCategory, err error) (vfs.File, error) {
	if err != nil || !fs.deferred || category != walCategory {
		return f, err
	}
	w := &walFile{File: f, fs: fs}
	fs.mu.Lock()
	fs.files[w] = struct{}{}
	fs.mu.Unlock()
	return w, nil
}

// dirty reports whether a WAL file was written since its last real sync.
func (fs *walFS) dirty() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for f := range fs.files {
		if f.dirty.Load() {
			return true
		}
	}
	return false
}

// syncAll really syncs every open WAL file written since its last sync and
// reports whether it synced any.
func (fs *walFS) syncAll() (bool, error) {
	fs.mu.Lock()
	files := make([]*walFile, 0, len(fs.files))
	for f := range fs.files {
		files = append(files, f)
	}
	fs.mu.Unlock()
	var first error
	synced := false
	for _, f := range files {
		ok, err := f.realSync()
		synced = synced || ok
		if err != nil && first == nil {
			first = err
		}
	}
	if synced {
		fs.syncs.Add(1)
	}
	return synced, first
}

// walFile is a WAL file whose syncs are deferred to walFS.syncAll.
type walFile struct {
	vfs.File
	fs     *walFS
	dirty  atomic.Bool
	syncMu sync.Mutex // serializes real syncs with Close
	closed bool       // guarded by syncMu
}

// Write implements vfs.File.
func (f *walFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.dirty.Store(true)
	return n, err
}

// Sync implements vfs.File: deferred (the data was written with write(2)).
func (f *walFile) Sync() error { return nil }

// SyncData implements vfs.File: deferred.
func (f *walFile) SyncData() error { return nil }

// SyncTo implements vfs.File: deferred, and no full sync happened.
func (f *walFile) SyncTo(int64) (bool, error) { return false, nil }

func (f *walFile) realSync() (bool, error) {
	f.syncMu.Lock()
	defer f.syncMu.Unlock()
	if f.closed || !f.dirty.Swap(false) {
		return false, nil
	}
	if err := f.File.SyncData(); err != nil {
		f.dirty.Store(true)
		return false, err
	}
	return true, nil
}

// Close implements vfs.File: a WAL file is synced before it is closed (when
// Pebble rotates it), so no committed write is left to the OS's discretion.
func (f *walFile) Close() error {
	_, serr := f.realSync()
	f.syncMu.Lock()
	f.closed = true
	f.syncMu.Unlock()
	f.fs.mu.Lock()
	delete(f.fs.files, f)
	f.fs.mu.Unlock()
	if err := f.File.Close(); err != nil {
		return err
	}
	return serr
}

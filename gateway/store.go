package gateway

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core/store"
	"github.com/manifold-iot/manifold/core/store/pebble"
	"github.com/manifold-iot/manifold/gateway/config"
)

// storeDir is where the embedded store lives under node.data_dir.
const storeDir = "store"

// openStore opens the embedded store node.persistence configures, or
// returns nil when persistence is off. An unreadable or corrupt data
// directory is an error naming the path: the node never starts empty by
// mistake.
func openStore(cfg *config.Config, log zerolog.Logger) (store.Store, error) {
	p := cfg.Node.Persistence
	if !p.Enable {
		log.Info().Msg("persistence_disabled")
		return nil, nil
	}
	dir := filepath.Join(cfg.Node.DataDir, storeDir)
	opts := store.Options{
		Fsync:        fsyncPolicy(p.Fsync),
		SyncInterval: time.Duration(p.SyncInterval),
		MaxDiskBytes: int64(p.MaxDiskBytes),
	}
	st, err := pebble.Open(dir, opts, log.With().Str("component", "store").Logger())
	if err != nil {
		return nil, fmt.Errorf("node.data_dir: cannot open the store in %s: %w", dir, err)
	}
	log.Info().Str("dir", dir).Str("fsync", p.Fsync).Msg("store_opened")
	return st, nil
}

func fsyncPolicy(s string) store.Fsync {
	switch s {
	case "always":
		return store.FsyncAlways
	case "never":
		return store.FsyncNever
	}
	return store.FsyncInterval
}

// closeBroker stops the broker and then closes the store, which flushes and
// syncs what the broker wrote last (the disconnections of its clients).
func (s *Server) closeBroker() {
	s.closeOnce.Do(func() {
		if s.sysmon != nil {
			s.sysmon.Stop()
		}
		s.broker.Close()
		s.obs.close()
		closeStore(s.store, s.log)
	})
}

func closeStore(st store.Store, log zerolog.Logger) {
	if st == nil {
		return
	}
	if err := st.Close(); err != nil {
		log.Error().Err(err).Msg("store_close_failed")
	}
}

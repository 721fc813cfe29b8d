package pebble

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core/store"
	"github.com/manifold-iot/manifold/core/store/storetest"
)

func openT(t *testing.T, dir string, opts store.Options) *Store {
	t.Helper()
	s, err := Open(dir, opts, testLogger(t))
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func TestSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dir string, opts store.Options) store.Store {
		return openT(t, dir, opts)
	})
}

// testLogger logs warnings and errors into the test's output.
func testLogger(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
}

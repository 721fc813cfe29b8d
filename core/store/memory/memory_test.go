package memory_test

import (
	"sync"
	"testing"

	"github.com/manifold-iot/manifold/core/store"
	"github.com/manifold-iot/manifold/core/store/memory"
	"github.com/manifold-iot/manifold/core/store/storetest"
)

func TestSuite(t *testing.T) {
	var mu sync.Mutex
	stores := map[string]*memory.Store{}
	storetest.Run(t, func(t *testing.T, dir string, opts store.Options) store.Store {
		mu.Lock()
		defer mu.Unlock()
		s := memory.New(opts)
		if prev := stores[dir]; prev != nil {
			s = prev.Reopen(opts)
		}
		stores[dir] = s
		return s
	})
}

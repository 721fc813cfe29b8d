package sn

import (
	"maps"
	"sync"
)

// RegistryStore keeps the topic-id registries of persistent sessions
// (CleanSession=0) so they survive a gateway restart. The channel calls it on
// its own goroutine (an event loop): implementations must return quickly.
// Save receives a copy the store may keep.
type RegistryStore interface {
	Load(clientID string) (map[uint16]string, error)
	Save(clientID string, topics map[uint16]string) error
	Delete(clientID string) error
}

// MemoryRegistryStore is a RegistryStore in memory (lost on restart); the
// default when no store is given.
type MemoryRegistryStore struct {
	mu sync.Mutex
	m  map[string]map[uint16]string // guarded by mu
}

// NewMemoryRegistryStore returns an empty store.
func NewMemoryRegistryStore() *MemoryRegistryStore {
	return &MemoryRegistryStore{m: make(map[string]map[uint16]string)}
}

// Load implements RegistryStore; an unknown client has an empty registry.
func (s *MemoryRegistryStore) Load(clientID string) (map[uint16]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.m[clientID]), nil
}

// Save implements RegistryStore.
func (s *MemoryRegistryStore) Save(clientID string, topics map[uint16]string) error {
	s.mu.Lock()
	s.m[clientID] = topics
	s.mu.Unlock()
	return nil
}

// Delete implements RegistryStore.
func (s *MemoryRegistryStore) Delete(clientID string) error {
	s.mu.Lock()
	delete(s.m, clientID)
	s.mu.Unlock()
	return nil
}

// registry is one client's topic ids: those the client registered (or got in
// a SUBACK) and those the gateway registered to it. An id the gateway sent in
// REGISTER is usable only once the client has accepted it (REGACK).
type registry struct {
	byID   map[uint16]string
	byName map[string]uint16
	next   uint16 // next id to try, from FirstDynamicID
}

func (r *registry) reset() { *r = registry{} }

func (r *registry) load(m map[uint16]string) {
	r.reset()
	for id, name := range m {
		r.put(id, name)
	}
}

func (r *registry) put(id uint16, name string) {
	if r.byID == nil {
		r.byID, r.byName = make(map[uint16]string), make(map[string]uint16)
	}
	r.byID[id] = name
	r.byName[name] = id
}

// assign returns name's id, making a new one if needed; ok is false when the
// registry is full.
func (r *registry) assign(name string, limit int) (id uint16, isNew, ok bool) {
	if id, ok := r.byName[name]; ok {
		return id, false, true
	}
	if len(r.byID) >= limit || len(r.byID) >= 65535-FirstDynamicID {
		return 0, false, false
	}
	for {
		if r.next < FirstDynamicID {
			r.next = FirstDynamicID
		}
		id = r.next
		r.next++
		if _, used := r.byID[id]; !used {
			break
		}
	}
	r.put(id, name)
	return id, true, true
}

func (r *registry) remove(id uint16) {
	if name, ok := r.byID[id]; ok {
		delete(r.byID, id)
		delete(r.byName, name)
	}
}

func (r *registry) snapshot() map[uint16]string { return maps.Clone(r.byID) }

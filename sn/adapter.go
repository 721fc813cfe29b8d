package sn

import (
	"github.com/manifold-iot/manifold/adapters"
)

// Adapter is the MQTT-SN protocol for the edge: one Channel per peer address
// (UDP) or DTLS association.
type Adapter struct {
	cfg          Config
	predefByID   map[uint16]string
	predefByName map[string]uint16
	store        RegistryStore
}

// NewAdapter returns the MQTT-SN adapter. cfg should have passed Validate;
// store keeps persistent sessions' topic ids (nil: in memory).
func NewAdapter(cfg Config, store RegistryStore) *Adapter {
	d := DefaultConfig()
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = d.IdleTimeout
	}
	if cfg.KeepaliveMultiplier < 1 {
		cfg.KeepaliveMultiplier = d.KeepaliveMultiplier
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = d.RetryInterval
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = d.MaxRetries
	}
	if cfg.MaxSleepBuffer <= 0 {
		cfg.MaxSleepBuffer = d.MaxSleepBuffer
	}
	if cfg.MaxTopics <= 0 {
		cfg.MaxTopics = d.MaxTopics
	}
	if cfg.MaxClientIDLen <= 0 {
		cfg.MaxClientIDLen = d.MaxClientIDLen
	}
	if cfg.DeliverBatch <= 0 {
		cfg.DeliverBatch = d.DeliverBatch
	}
	if cfg.MaxDatagram <= 0 {
		cfg.MaxDatagram = d.MaxDatagram
	}
	if store == nil {
		store = NewMemoryRegistryStore()
	}
	a := &Adapter{cfg: cfg, store: store, predefByID: map[uint16]string{}, predefByName: map[string]uint16{}}
	for _, p := range cfg.Predefined {
		a.predefByID[p.ID] = p.Topic
		a.predefByName[p.Topic] = p.ID
	}
	return a
}

// Name implements adapters.Adapter: the config key and "proto" label.
func (a *Adapter) Name() string { return "mqttsn" }

// Config returns the adapter's configuration (with defaults filled in).
func (a *Adapter) Config() Config { return a.cfg }

// NewChannel implements adapters.Adapter.
func (a *Adapter) NewChannel(ci adapters.ConnInfo, ctx adapters.Context) (adapters.Channel, error) {
	return newChannel(a, ci, ctx), nil
}

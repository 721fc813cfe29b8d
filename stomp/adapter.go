package stomp

import (
	"time"

	"github.com/manifold-iot/manifold/adapters"
)

// Adapter is the STOMP protocol for the edge: one Channel per TCP, TLS,
// WebSocket or SockJS connection.
type Adapter struct {
	cfg Config
}

// NewAdapter returns the STOMP adapter; zero fields of cfg take their
// defaults.
func NewAdapter(cfg Config) *Adapter {
	d := DefaultConfig()
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = d.IdleTimeout
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = d.Heartbeat
	}
	if cfg.MaxTransactionFrames <= 0 {
		cfg.MaxTransactionFrames = d.MaxTransactionFrames
	}
	if cfg.DeliverBatch <= 0 {
		cfg.DeliverBatch = d.DeliverBatch
	}
	if cfg.ReceiptHold <= 0 {
		cfg.ReceiptHold = d.ReceiptHold
	}
	if cfg.Server == "" {
		cfg.Server = d.Server
	}
	if cfg.SessionExpiry < 0 {
		cfg.SessionExpiry = time.Duration(0)
	}
	return &Adapter{cfg: cfg}
}

// Name implements adapters.Adapter.
func (a *Adapter) Name() string { return "stomp" }

// NewChannel implements adapters.Adapter.
func (a *Adapter) NewChannel(ci adapters.ConnInfo, ctx adapters.Context) (adapters.Channel, error) {
	return newChannel(&a.cfg, ci, ctx), nil
}

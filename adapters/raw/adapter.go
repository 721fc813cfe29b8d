package raw

import (
	"fmt"
	"regexp"

	"github.com/manifold-iot/manifold/adapters"
	rawcodec "github.com/manifold-iot/manifold/codec/raw"
)

// Adapter is the raw protocol of one listener: its framing and its mode. It
// runs on any edge driver (gnet TCP, gnet UDP with one channel per peer
// address, TLS): the channel's Codec is the framer.
type Adapter struct {
	cfg     Config
	framer  *rawcodec.Framer
	idRe    *regexp.Regexp
	factory Factory // nil: config-only mode
}

// NewAdapter validates cfg and returns the adapter. A handler named by cfg
// must be registered by then.
func NewAdapter(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.DeliverBatch <= 0 {
		cfg.DeliverBatch = 256
	}
	a := &Adapter{cfg: cfg, factory: lookup(cfg.Handler)}
	var err error
	if a.framer, err = rawcodec.New(cfg.Framing); err != nil {
		return nil, fmt.Errorf("%s.%w", cfg.key(), err)
	}
	if cfg.ClientIDRegex != "" {
		a.idRe = regexp.MustCompile(cfg.ClientIDRegex) // compiled by Validate already
	}
	return a, nil
}

// Name implements adapters.Adapter.
func (a *Adapter) Name() string { return "raw" }

// NewChannel implements adapters.Adapter.
func (a *Adapter) NewChannel(ci adapters.ConnInfo, ctx adapters.Context) (adapters.Channel, error) {
	return newChannel(a, ci, ctx), nil
}

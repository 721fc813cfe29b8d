package retain

import (
	"errors"
	"fmt"
)

// ErrBadConfig is wrapped by Config.Validate errors.
var ErrBadConfig = errors.New("retain: invalid config")

// Config limits a Store. The keys are those of EMQX's retainer.
type Config struct {
	// MaxRetained is the most retained messages the store holds; a Set of a
	// new topic past it fails with ErrFull (replacing a topic's message is
	// always allowed). 0 means unlimited.
	MaxRetained int `yaml:"max_retained_messages"`
	// MaxPayloadSize is the largest payload, in bytes, the store accepts;
	// a Set of a larger one fails with ErrPayloadTooLarge. 0 means unlimited.
	MaxPayloadSize int `yaml:"max_payload_size"`
}

// DefaultConfig returns the configuration used when none is given: no limit
// on either count or payload size.
func DefaultConfig() Config { return Config{} }

// Validate reports a configuration error, naming the key.
func (c Config) Validate() error {
	if c.MaxRetained < 0 {
		return fmt.Errorf("max_retained_messages: %d is negative: %w", c.MaxRetained, ErrBadConfig)
	}
	if c.MaxPayloadSize < 0 {
		return fmt.Errorf("max_payload_size: %d is negative: %w", c.MaxPayloadSize, ErrBadConfig)
	}
	return nil
}

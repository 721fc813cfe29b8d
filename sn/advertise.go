package sn

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	snc "github.com/manifold-iot/manifold/codec/sn"
)

// Advertisement is the ADVERTISE message of cfg (MQTT-SN 1.2 §5.4.1): the
// gateway id and the seconds until the next one. (EMQX puts milliseconds in
// this 16-bit field; the specification says seconds.)
func Advertisement(cfg Config) []byte {
	secs := min(max(cfg.AdvertiseInterval/time.Second, 1), 65535)
	b, _ := snc.Encode(nil, &snc.Advertise{GwID: cfg.GatewayID, Duration: uint16(secs)})
	return b
}

// RunAdvertiser sends ADVERTISE through send at once and then every
// advertise_interval until ctx ends (§6.1). It does nothing unless
// cfg.Broadcast is set. send should write from the listener's own socket
// (edge.UDPServer.SendTo to broadcast_address): clients take the gateway's
// address from the datagram's source. It runs on the caller's goroutine.
func RunAdvertiser(ctx context.Context, cfg Config, send func([]byte) error, log zerolog.Logger) {
	if !cfg.Broadcast || cfg.AdvertiseInterval <= 0 {
		return
	}
	msg := Advertisement(cfg)
	t := time.NewTicker(cfg.AdvertiseInterval)
	defer t.Stop()
	for {
		if err := send(msg); err != nil {
			log.Warn().Err(err).Str("proto", "mqttsn").Msg("advertise_failed")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

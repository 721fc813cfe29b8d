package stomp

import (
	"time"

	sc "github.com/manifold-iot/manifold/codec/stomp"
)

// Config is what the STOMP channel needs from the gateway.stomp
// configuration; the gateway fills it.
type Config struct {
	// Limits are frame.max_headers, frame.max_headers_length,
	// frame.max_body_length and max_frame_size: a frame over one gets an
	// ERROR frame and the connection closes.
	Limits sc.Limits
	// Mountpoint is gateway.stomp.mountpoint, a template: ${clientid} and
	// ${username} are filled in at CONNECT.
	Mountpoint string
	// IdleTimeout is gateway.stomp.idle_timeout: the time a new connection
	// has to send CONNECT.
	IdleTimeout time.Duration
	// Heartbeat is the shortest heart-beat interval the gateway sends or
	// expects; a client asking for less gets this (0 means 1s).
	Heartbeat time.Duration
	// SessionExpiry is how long a persistent session (CONNECT with
	// client-id and clean-session:false) outlives its connection
	// (mqtt.session_expiry_interval; the broker caps it).
	SessionExpiry time.Duration
	// MaxTransactionFrames bounds the SENDs, ACKs and NACKs one transaction
	// may hold until COMMIT (0 means 1024).
	MaxTransactionFrames int
	// ReceiptHold is the longest a SEND's RECEIPT is held back while a
	// subscriber's queue is past max_mqueue_len (push-back); 0 means 5s.
	ReceiptHold time.Duration
	// DeliverBatch bounds the MESSAGE frames per HandleDeliver (0 means 256).
	DeliverBatch int
	// Server is the CONNECTED frame's server header, "Manifold/1.0".
	Server string
}

// DefaultConfig mirrors the defaults of configs/manifold.yaml.
func DefaultConfig() Config {
	return Config{
		Limits:               sc.Limits{MaxHeaders: 10, MaxHeadersLength: 1024, MaxBodyLength: 65536, MaxFrameSize: 1 << 20},
		IdleTimeout:          30 * time.Second,
		Heartbeat:            time.Second,
		SessionExpiry:        2 * time.Hour,
		MaxTransactionFrames: 1024,
		DeliverBatch:         256,
		ReceiptHold:          5 * time.Second,
		Server:               "Manifold",
	}
}

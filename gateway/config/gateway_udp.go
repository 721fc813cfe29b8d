package config

// KindUDP and KindDTLS are the datagram listener kinds of the MQTT-SN, CoAP
// and raw gateways (GatewayListenerRef.Kind).
const (
	KindUDP  = "udp"
	KindDTLS = "dtls"
)

// GatewayUDPListener is a gateway's UDP listener (gateway/edge's UDP
// server): every peer address is one session.
type GatewayUDPListener struct {
	// Enable turns the listener on.
	Enable bool `yaml:"enable"`
	// Bind is the address to listen on.
	Bind Address `yaml:"bind"`
	// MaxSessions bounds the peers served at once; datagrams from more
	// peers are dropped.
	MaxSessions int `yaml:"max_sessions" range:"1.."`
	// Mountpoint, when set, replaces the gateway's for this listener.
	Mountpoint string `yaml:"mountpoint"`
	// Multicore runs one event loop and socket per CPU.
	Multicore bool `yaml:"multicore"`
	// Loops sets the number of event loops exactly; 0 follows Multicore.
	Loops int `yaml:"loops" range:"0..256"`
	// Recbuf and Sndbuf set the socket buffers; "" keeps the system's.
	Recbuf ByteSize `yaml:"recbuf" range:"0.."`
	Sndbuf ByteSize `yaml:"sndbuf" range:"0.."`
}

// SetDefaults sets every field but Bind.
func (l *GatewayUDPListener) SetDefaults() {
	*l = GatewayUDPListener{Enable: true, Bind: l.Bind, MaxSessions: 100000}
}

// listener returns l's common fields as a Listener, for MountpointFor.
func (l *GatewayUDPListener) listener() *Listener {
	return &Listener{Enable: l.Enable, Bind: l.Bind, Mountpoint: l.Mountpoint}
}

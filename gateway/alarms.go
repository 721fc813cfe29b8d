package gateway

import (
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core/alarm"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/gateway/api"
	"github.com/manifold-iot/manifold/gateway/config"
)

// connCounter is implemented by listeners that count their connections
// (the gnet edge, TLS/WSS, DTLS).
type connCounter interface {
	Connections() int
}

// trafficCounter is implemented by listeners that count the bytes they
// read and write.
type trafficCounter interface {
	Traffic() (received, sent uint64)
}

// newAlarms builds the node's alarm registry and its monitor; the monitor
// starts with Run and stops with the broker.
func (s *Server) newAlarms(log zerolog.Logger) {
	cfg, b := s.cfg, s.broker
	log = log.With().Str("component", "alarm").Logger()
	s.alarms = alarm.New(cfg.Node.Name, b.SysPublisher(), cfg.Alarm.SizeLimit, log)
	rd := alarm.SystemReaders()
	rd.Listeners = s.listenerLoads
	limit := cfg.MQTT.MaxMqueueLen
	rd.SessionQueue = func(id string) (int, int, bool) { return sessionQueue(b, id, limit) }
	s.sysmon = alarm.NewMonitor(monitorConfig(cfg), s.alarms, rd, log)
	b.OnQueueFull(s.sysmon.QueueFull)
	b.OnTraffic(s.traffic)
}

// traffic is the bytes every running listener has received and sent, for
// $SYS metrics/bytes/*.
func (s *Server) traffic() (received, sent uint64) {
	for _, l := range s.Listeners() {
		received += l.BytesReceived
		sent += l.BytesSent
	}
	return received, sent
}

// sessionQueue is a session's queued messages against max_mqueue_len.
func sessionQueue(b *broker.Broker, id string, limit int) (queued, max int, ok bool) {
	sess := b.Session(id)
	if sess == nil {
		return 0, 0, false
	}
	return sess.Stats().Queued, limit, true
}

// monitorConfig maps the sysmon.* keys onto the monitor's configuration.
func monitorConfig(cfg *config.Config) alarm.MonitorConfig {
	o, d, c := cfg.Sysmon.OS, cfg.Sysmon.Disk, cfg.Sysmon.Connections
	return alarm.MonitorConfig{
		MemCheckInterval:     o.MemCheckInterval.Duration(),
		SysMemHighWatermark:  float64(o.SysmemHighWatermark),
		ProcMemHighWatermark: float64(o.ProcmemHighWatermark),
		CPUCheckInterval:     o.CPUCheckInterval.Duration(),
		CPUHighWatermark:     float64(o.CPUHighWatermark),
		CPULowWatermark:      float64(o.CPULowWatermark),
		DiskCheckInterval:    d.DiskCheckInterval.Duration(),
		DiskLowWatermark:     float64(d.LowWatermark),
		DataDir:              cfg.Node.DataDir,
		ConnCheckInterval:    c.CheckInterval.Duration(),
		ConnHighWatermark:    float64(c.HighWatermark),
		ConnLowWatermark:     float64(c.LowWatermark),
	}
}

// listenerLoads is every running listener with a connection limit, with
// its live connections, for the connection alarm.
func (s *Server) listenerLoads() []alarm.ListenerLoad {
	var out []alarm.ListenerLoad
	for _, l := range s.Listeners() {
		if l.MaxConnections <= 0 || !l.Running {
			continue
		}
		out = append(out, alarm.ListenerLoad{ID: l.ID, Current: l.Connections, Max: l.MaxConnections})
	}
	return out
}

// Alarms is the node's alarm registry.
func (s *Server) Alarms() *alarm.Registry { return s.alarms }

// withCounters fills l's connection and byte counts from its running
// server, when it keeps them.
func withCounters(l *api.Listener, srv listenerServer) {
	if c, ok := srv.(connCounter); ok {
		l.Connections = c.Connections()
	}
	if t, ok := srv.(trafficCounter); ok {
		l.BytesReceived, l.BytesSent = t.Traffic()
		l.HasTraffic = true
	}
}

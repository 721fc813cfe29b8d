package config

import "time"

// SlowSubsConfig is slow_subs.*: slow subscriber detection (EMQX 5's
// slow_subs). The API's settings endpoint changes it at run time.
type SlowSubsConfig struct {
	// Enable turns measuring on; off costs one atomic load per acknowledgement.
	Enable bool `yaml:"enable"`
	// Threshold is the delivery latency from which a subscriber is slow.
	Threshold Duration `yaml:"threshold" range:"1ms.."`
	// ExpireInterval drops an entry not measured again for this long.
	ExpireInterval Duration `yaml:"expire_interval" range:"1s.."`
	// TopKNum is how many (client id, topic) entries are kept, slowest first.
	TopKNum int `yaml:"top_k_num" range:"1..1000"`
	// StatsType is what is measured: whole (publish to acknowledgement).
	// EMQX's internal and response are not measured.
	StatsType string `yaml:"stats_type" oneof:"whole"`
}

// TraceConfig is trace.*: the per-client, per-topic and per-address logs
// created through the API (EMQX 5's trace), under node.data_dir/trace.
type TraceConfig struct {
	// MaxFileSize bounds each trace's log file; a trace that reaches it
	// stops writing.
	MaxFileSize ByteSize `yaml:"max_file_size" range:"1024.."`
}

func defaultSlowSubs() SlowSubsConfig {
	return SlowSubsConfig{Threshold: Duration(500 * time.Millisecond), ExpireInterval: Duration(300 * time.Second),
		TopKNum: 10, StatsType: "whole"}
}

func defaultTrace() TraceConfig { return TraceConfig{MaxFileSize: 64 << 20} }

package config

import (
	"testing"
	"time"
)

func TestSlowSubsAndTraceKeys(t *testing.T) {
	path := writeConfig(t, "slow_subs:\n  enable: true\n  threshold: 2s\n  top_k_num: 20\ntrace:\n  max_file_size: 1MB\n")
	cfg, _ := mustLoad(t, path, []string{"MANIFOLD_SLOW_SUBS__EXPIRE_INTERVAL=10m"})
	s := cfg.SlowSubs
	if !s.Enable || s.Threshold.Duration() != 2*time.Second || s.TopKNum != 20 || s.ExpireInterval.Duration() != 10*time.Minute || s.StatsType != "whole" {
		t.Errorf("slow_subs = %+v", s)
	}
	if cfg.Trace.MaxFileSize != 1<<20 {
		t.Errorf("trace.max_file_size = %d, want 1MB", cfg.Trace.MaxFileSize)
	}
}

func TestSlowSubsAndTraceKeysRejected(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, key string
	}{
		{"stats_type internal", "slow_subs:\n  stats_type: internal\n", "slow_subs.stats_type"},
		{"top_k_num zero", "slow_subs:\n  top_k_num: 0\n", "slow_subs.top_k_num"},
		{"top_k_num too big", "slow_subs:\n  top_k_num: 1001\n", "slow_subs.top_k_num"},
		{"threshold zero", "slow_subs:\n  threshold: 0s\n", "slow_subs.threshold"},
		{"expire_interval short", "slow_subs:\n  expire_interval: 10ms\n", "slow_subs.expire_interval"},
		{"max_file_size tiny", "trace:\n  max_file_size: 10\n", "trace.max_file_size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(writeConfig(t, tc.yaml), nil)
			wantErr(t, err, nil, tc.key)
		})
	}
}

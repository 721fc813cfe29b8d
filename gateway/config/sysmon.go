package config

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Percent is a share from 0 to 100, written with a percent sign as in
// EMQX ("70%", "12.5%"). It marshals back the same way.
type Percent float64

// ParsePercent parses "70%" (the sign is required, as in EMQX, so that
// 0.7 and 70 cannot be confused) into 70.
func ParsePercent(s string) (Percent, error) {
	s = strings.TrimSpace(s)
	num, ok := strings.CutSuffix(s, "%")
	if !ok {
		return 0, errForm
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || v < 0 || v > 100 {
		return 0, errForm
	}
	return Percent(v), nil
}

// String writes p as ParsePercent reads it.
func (p Percent) String() string { return strconv.FormatFloat(float64(p), 'f', -1, 64) + "%" }

// MarshalText writes p as String does.
func (p Percent) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText parses a percentage as ParsePercent does.
func (p *Percent) UnmarshalText(b []byte) error {
	v, err := ParsePercent(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

func (Percent) configForm() string { return "a percentage from 0% to 100% such as 70%" }

// SysmonConfig holds the thresholds of the alarms the node raises on its
// own (sysmon.*). The sysmon.os keys are EMQX 5's; sysmon.disk and
// sysmon.connections are Manifold's (core/alarm's doc explains why).
type SysmonConfig struct {
	// OS watches the machine's memory and this process's CPU.
	OS SysmonOS `yaml:"os"`
	// Disk watches the free space of node.data_dir's file system.
	Disk SysmonDisk `yaml:"disk"`
	// Connections watches each listener's connections against its max_connections.
	Connections SysmonConnections `yaml:"connections"`
}

// SysmonOS are the sysmon.os keys.
type SysmonOS struct {
	// CPUCheckInterval is how often CPU usage is sampled; 0 (written disabled) never.
	CPUCheckInterval Duration `yaml:"cpu_check_interval" word:"disabled"`
	// CPUHighWatermark raises high_cpu_usage when this process uses more
	// than this share of all cores.
	CPUHighWatermark Percent `yaml:"cpu_high_watermark"`
	// CPULowWatermark clears high_cpu_usage once usage is below it.
	CPULowWatermark Percent `yaml:"cpu_low_watermark"`
	// MemCheckInterval is how often memory is checked; 0 (written disabled) never.
	MemCheckInterval Duration `yaml:"mem_check_interval" word:"disabled"`
	// SysmemHighWatermark raises high_system_memory_usage above this share
	// of system memory in use.
	SysmemHighWatermark Percent `yaml:"sysmem_high_watermark"`
	// ProcmemHighWatermark raises high_process_memory_usage when this
	// process's resident memory is above this share of system memory.
	ProcmemHighWatermark Percent `yaml:"procmem_high_watermark"`
}

// SysmonDisk are the sysmon.disk keys.
type SysmonDisk struct {
	// DiskCheckInterval is how often free space is checked; 0 (written disabled) never.
	DiskCheckInterval Duration `yaml:"disk_check_interval" word:"disabled"`
	// LowWatermark raises low_disk_space while free space is below this share.
	LowWatermark Percent `yaml:"low_watermark"`
}

// SysmonConnections are the sysmon.connections keys.
type SysmonConnections struct {
	// CheckInterval is how often listeners' connections are checked; 0
	// (written disabled) never.
	CheckInterval Duration `yaml:"check_interval" word:"disabled"`
	// HighWatermark raises high_connection_usage/<listener> when a
	// listener's connections reach this share of its max_connections.
	HighWatermark Percent `yaml:"high_watermark"`
	// LowWatermark clears it once they are below this share.
	LowWatermark Percent `yaml:"low_watermark"`
}

// AlarmConfig are the alarm.* keys.
type AlarmConfig struct {
	// SizeLimit is how many deactivated alarms are kept; the oldest go first.
	SizeLimit int `yaml:"size_limit" range:"1..3000"`
}

// defaultSysmon returns the sysmon.* defaults: EMQX's for sysmon.os.
func defaultSysmon() SysmonConfig {
	return SysmonConfig{
		OS: SysmonOS{
			CPUCheckInterval: Duration(time.Minute), CPUHighWatermark: 80, CPULowWatermark: 60,
			MemCheckInterval: Duration(time.Minute), SysmemHighWatermark: 70, ProcmemHighWatermark: 5,
		},
		Disk:        SysmonDisk{DiskCheckInterval: Duration(time.Minute), LowWatermark: 10},
		Connections: SysmonConnections{CheckInterval: Duration(5 * time.Second), HighWatermark: 90, LowWatermark: 80},
	}
}

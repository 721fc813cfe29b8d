// Package alarm keeps a node's alarms, EMQX 5 style, and watches the
// machine and the broker for the conditions that raise them.
//
// # Registry
//
// A Registry holds the active alarms by name and a bounded history of
// deactivated ones (DefaultHistory, 1000, as EMQX's alarm.size_limit; the
// oldest is dropped). Activate is idempotent while an alarm of that name is
// active; Deactivate moves it to the history; ClearDeactivated empties the
// history (DELETE /api/v5/alarms). Every change is logged (Warn
// "alarm_activated", Info "alarm_deactivated", with name and message) and
// published, QoS 0, not retained, through the broker's system publisher
// (the one core/sys publishes $SYS through; this package knows no wire
// protocol) on
//
//	$SYS/brokers/<node>/alarms/activate
//	$SYS/brokers/<node>/alarms/deactivate
//
// as JSON with EMQX's keys: node, name, message, details, activate_at and
// deactivate_at (microseconds since the Unix epoch, as EMQX publishes them;
// deactivate_at is "infinity" while active) and activated.
//
// # Monitor
//
// A Monitor runs one goroutine (Start, Stop) on a ticker of the shortest
// check interval (between 100ms and 1s); each check runs when its own
// interval has passed. What it reads comes from Readers, so tests inject
// functions that simulate a full machine; SystemReaders reads Linux's
// /proc/meminfo, /proc/self/statm, getrusage and statfs. The checks and the
// configuration keys (gateway/config, configs/manifold.yaml) that drive
// them:
//
//	high_system_memory_usage   used system memory > sysmon.os.sysmem_high_watermark (70%)
//	high_process_memory_usage  process RSS / system memory > sysmon.os.procmem_high_watermark (5%)
//	                           both every sysmon.os.mem_check_interval (60s); cleared once under
//	high_cpu_usage             this process's CPU time / (wall time × cores) since the last check
//	                           > sysmon.os.cpu_high_watermark (80%); cleared < cpu_low_watermark
//	                           (60%): hysteresis; every sysmon.os.cpu_check_interval (60s)
//	low_disk_space             free space of node.data_dir's file system < sysmon.disk.low_watermark
//	                           (10%), every sysmon.disk.disk_check_interval (60s)
//	high_connection_usage/<listener>
//	                           a listener's connections >= sysmon.connections.high_watermark (90%)
//	                           of its max_connections; cleared < low_watermark (80%); every
//	                           sysmon.connections.check_interval (5s)
//	session_queue_full/<clientid>
//	                           the broker dropped a message because the session's queue was
//	                           full; cleared when the queue drained below half of
//	                           max_mqueue_len, or the session ended (checked on every tick)
//
// The sysmon.os names are EMQX 5's. EMQX's CPU figure is the whole
// machine's (cpu_sup:util); ours is this process's share of the cores, which
// is what an operator of a broker process can act on. EMQX has no disk
// alarm of its own: the keys are under sysmon.disk (rather than
// node.persistence) because the alarm is about the machine, and the data
// directory is watched whether persistence is on or not (logs and the API's
// files live there too). The sysmon.vm keys (Erlang processes, ports, long
// GC) have no Go counterpart and are not read.
//
// # Session queue full
//
// The broker calls Monitor.QueueFull on the publisher's goroutine when a
// session's queue refuses a message because it is full. The hook costs one
// lock-free map read for a session already alarmed; otherwise it records the
// client id (at most MaxQueueAlarms sessions alarmed or pending at once,
// which also rate-limits the alarms) and wakes the monitor's goroutine,
// which raises the alarm: the publish path never publishes an alarm itself.
//
// # Concurrency
//
// Registry.mu guards the alarms and is never held while logging or
// publishing. Monitor.checkMu serializes check passes (the goroutine and
// Check); Monitor.qmu guards the pending client ids only.
package alarm

package topicmetrics

import "time"

// SetClock replaces the registry's time source (tests only).
func (r *Registry) SetClock(now func() time.Time) { r.now = now }

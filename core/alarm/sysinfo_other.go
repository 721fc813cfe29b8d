//go:build !linux

package alarm

import (
	"errors"
	"time"
)

// errUnsupported is what the system readers return off Linux.
var errUnsupported = errors.New("alarm: not supported on this system")

func readMeminfo() (uint64, uint64, error)    { return 0, 0, errUnsupported }
func readRSS() (uint64, error)                { return 0, errUnsupported }
func readCPUTime() (time.Duration, error)     { return 0, errUnsupported }
func readDisk(string) (uint64, uint64, error) { return 0, 0, errUnsupported }

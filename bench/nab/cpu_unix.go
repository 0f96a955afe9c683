//go:build unix

package main

import (
	"syscall"
	"time"
)

// cpuTime returns the user+system CPU time used by this process so far, so
// throughput can be reported independently of other load on the machine.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// summary describes a set of durations.
type summary struct {
	n             int
	p50, p99, max time.Duration
}

func summarize(ds []time.Duration) summary {
	if len(ds) == 0 {
		return summary{}
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return summary{n: len(ds), p50: at(0.50), p99: at(0.99), max: ds[len(ds)-1]}
}

func (s summary) String() string {
	return fmt.Sprintf("n=%d p50=%s p99=%s max=%s", s.n, round(s.p50), round(s.p99), round(s.max))
}

func round(d time.Duration) time.Duration {
	if d > time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// rssKiB returns the resident memory of process pid from /proc.
func rssKiB(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS of process %d: %w", pid, err)
			}
			return kib, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS for process %d", pid)
}

// raiseOpenFiles lifts this process's soft limit on open files to at least
// n, as far as the hard limit allows, and returns the limit now in force.
func raiseOpenFiles(n uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("read RLIMIT_NOFILE: %w", err)
	}
	if lim.Cur >= n {
		return lim.Cur, nil
	}
	lim.Cur = min(n, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("raise RLIMIT_NOFILE to %d: %w", lim.Cur, err)
	}
	return lim.Cur, nil
}

// cpuUse is CPU time spent so far: by chatd (zero without its pid), by this
// process, and by the whole machine, busy and in all.
type cpuUse struct {
	chatd, bench, busy, total time.Duration
}

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// readCPU samples cpuUse. The machine's figures show how much of the cores
// other processes took, which the latency figures cannot tell apart.
func readCPU(pid int) (cpuUse, error) {
	var u cpuUse
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return u, fmt.Errorf("getrusage: %w", err)
	}
	u.bench = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if pid > 0 {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return u, fmt.Errorf("read CPU time of process %d: %w", pid, err)
		}
		// Fields after the parenthesised command name; utime and stime are
		// the 14th and 15th of the whole line.
		_, rest, _ := strings.Cut(string(data), ") ")
		f := strings.Fields(rest)
		if len(f) < 13 {
			return u, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		u.chatd = time.Duration(ut+st) * clockTick
	}
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return u, fmt.Errorf("read machine CPU time: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	for i, field := range strings.Fields(line)[1:] {
		ticks, _ := strconv.ParseInt(field, 10, 64)
		u.total += time.Duration(ticks) * clockTick
		if i != 3 && i != 4 { // idle and iowait
			u.busy += time.Duration(ticks) * clockTick
		}
	}
	return u, nil
}

// cpuReport describes the CPU used between a and b over wall time.
func cpuReport(a, b cpuUse, wall time.Duration) string {
	sec := func(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
	others := (b.busy - a.busy) - (b.chatd - a.chatd) - (b.bench - a.bench)
	return fmt.Sprintf("CPU over %s: chatd %s, chatbench %s, other processes %s, idle %s",
		sec(wall), sec(b.chatd-a.chatd), sec(b.bench-a.bench), sec(max(others, 0)),
		sec((b.total-a.total)-(b.busy-a.busy)))
}

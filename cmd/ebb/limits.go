// limits.go: the flags that bound what a run may do (engine.Limits,
// --keep-executed, --parallel's cap) and how large an input file may be.

package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
)

// maxParallel is the most node bodies --parallel may run at once: far
// more than any machine has cores, few enough that a typo is caught.
const maxParallel = 4096

// defaultMaxFileSize caps workflow and profile files (--max-file-size).
const defaultMaxFileSize = 256 << 20

// limitFlags are the --max-* and --timeout flags of run and plan, and
// --max-file-size.
type limitFlags struct {
	fileSize   *string
	executions int64
	depth      int
	nodes      int64
	list       int
	timeout    time.Duration
}

func (l *limitFlags) register(fs *flag.FlagSet) {
	l.fileSize = fileSizeFlag(fs)
	d := engine.DefaultLimits()
	fs.Int64Var(&l.executions, "max-executions", d.MaxExecutions, "most node executions per run, expanded nodes and re-executions included (`N`; negative: no limit)")
	fs.IntVar(&l.depth, "max-expansion-depth", d.MaxExpansionDepth, "most levels of nested expansion; a loop goes one level deeper per iteration (`N`; negative: no limit)")
	fs.Int64Var(&l.nodes, "max-expansion-nodes", d.MaxExpansionNodes, "most nodes all expansions of a run may add (`N`; negative: no limit)")
	fs.IntVar(&l.list, "max-list-length", d.MaxListLength, "longest list one output may hold (`N`; negative: no limit)")
	fs.DurationVar(&l.timeout, "timeout", 0, "most wall time per run, such as 30s or 5m (`D`; 0: none)")
}

// parse checks the flags and returns the engine's limits and the file
// size cap (0: none).
func (l *limitFlags) parse() (engine.Limits, int64, error) {
	lim, err := l.limits()
	if err != nil {
		return lim, 0, err
	}
	size, err := parseFileSize(*l.fileSize)
	return lim, size, err
}

// limits checks the flags and returns the engine's limits. Zero is
// rejected: the engine would read it as "the default", which is not what
// "--max-executions 0" says.
func (l *limitFlags) limits() (engine.Limits, error) {
	for _, c := range []struct {
		name string
		v    int64
	}{
		{"max-executions", l.executions},
		{"max-expansion-depth", int64(l.depth)},
		{"max-expansion-nodes", l.nodes},
		{"max-list-length", int64(l.list)},
	} {
		if c.v == 0 {
			return engine.Limits{}, usagef("--%s 0: want a positive limit, or a negative number for no limit", c.name)
		}
	}
	if l.timeout < 0 {
		return engine.Limits{}, usagef("--timeout %v: want a positive duration such as 30s, or 0 for none", l.timeout)
	}
	return engine.Limits{
		MaxExecutions:     l.executions,
		MaxExpansionDepth: l.depth,
		MaxExpansionNodes: l.nodes,
		MaxListLength:     l.list,
		Timeout:           l.timeout,
	}, nil
}

// checkParallel rejects a negative --parallel or one above maxParallel.
func checkParallel(n int) error {
	if n < 0 || n > maxParallel {
		return usagef("--parallel %d: want 0 (GOMAXPROCS) to %d", n, maxParallel)
	}
	return nil
}

// checkKeepExecuted rejects --keep-executed 0 (the engine would read it
// as its default).
func checkKeepExecuted(n int) error {
	if n == 0 {
		return usagef("--keep-executed 0: want a positive number of ids, or a negative number for all of them")
	}
	return nil
}

// fileSizeFlag registers --max-file-size on fs.
func fileSizeFlag(fs *flag.FlagSet) *string {
	return fs.String("max-file-size", formatBytes(defaultMaxFileSize),
		"largest workflow or profile file read, such as 1GiB (`SIZE`; 0 or negative: no cap)")
}

// parseFileSize parses --max-file-size: 0 or negative is no cap (0).
func parseFileSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	neg := strings.HasPrefix(t, "-")
	n, err := device.ParseBytes(strings.TrimPrefix(t, "-"))
	if err != nil {
		return 0, usagef("--max-file-size: %v", err)
	}
	if neg {
		return 0, nil
	}
	return n, nil
}

// formatBytes writes n in the largest binary unit that divides it.
func formatBytes(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", device.GiB << 10}, {"GiB", device.GiB}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%dB", n)
}

// offload.go: the offload flags (--offload, --evict, --host-memory,
// --disk-dir) of run, serve, worker and plan, and the tiered device they
// make.

package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/ebbgraph/ebb/cuda"
	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// maxHostMemory bounds --host-memory: above 1 PiB a size is a mistake.
const maxHostMemory = 1 << 50

// offloadFlags are the flags that let a run move live values off the
// device (docs/offload.md).
type offloadFlags struct {
	offload    string
	evict      string
	hostMemory string
	diskDir    string
	set        map[string]bool // the flags given explicitly, filled by parse
}

func (f *offloadFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.offload, "offload", "none", "where live values go when a node does not fit: none, host, or disk (host, then disk)")
	fs.StringVar(&f.evict, "evict", "cost", "how --offload makes room: cost (move or recompute, whichever is cheaper), swap (only move) or recompute (only drop and recompute)")
	fs.StringVar(&f.hostMemory, "host-memory", "", "host tier capacity for --offload such as 32GiB (`SIZE`; default: unlimited)")
	fs.StringVar(&f.diskDir, "disk-dir", "", "disk tier directory for --offload disk (`DIR`; default: a fresh temporary directory, removed at exit)")
}

// offloadConfig is what offloadFlags say.
type offloadConfig struct {
	mode     policy.Offload
	evict    policy.Evict
	hostCap  int64  // 0: unlimited
	diskDir  string // the disk tier's directory (--offload disk)
	ownsDisk bool   // diskDir is a temporary directory to remove at exit
}

// on reports whether runs offload at all.
func (c *offloadConfig) on() bool { return c.mode != policy.OffloadNone }

// apply sets the run's offload options.
func (c *offloadConfig) apply(ro *engine.RunOptions) {
	ro.Offload, ro.Evict = c.mode, c.evict
}

// parse checks the flags of fs (the FlagSet they were registered on,
// already parsed) against each other and the device. It makes nothing:
// prepare makes the temporary disk directory.
func (f *offloadFlags) parse(fs *flag.FlagSet, spec deviceSpec) (offloadConfig, error) {
	f.set = map[string]bool{}
	if fs != nil {
		fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	}
	var c offloadConfig
	var err error
	if c.mode, err = policy.ParseOffload(f.offload); err != nil {
		return c, usagef("--offload: %v", err)
	}
	if c.evict, err = policy.ParseEvict(f.evict); err != nil {
		return c, usagef("--evict: %v", err)
	}
	if c.hostCap, err = parseHostMemory(f.hostMemory); err != nil {
		return c, err
	}
	if !c.on() {
		for _, name := range []string{"evict", "host-memory", "disk-dir"} {
			if f.set[name] {
				return c, usagef("--%s needs --offload host or disk", name)
			}
		}
		return c, nil
	}
	if f.set["disk-dir"] && c.mode != policy.OffloadDisk {
		return c, usagef("--disk-dir needs --offload disk (got --offload %s)", c.mode)
	}
	if spec.cuda && c.mode == policy.OffloadDisk {
		// The cuda backend has a host tier (pinned memory), no disk tier:
		// say so rather than fail in the middle of a run.
		return c, usagef("--offload disk with --device %s: the cuda backend has a host tier only; use --offload host", spec)
	}
	if c.mode == policy.OffloadDisk && f.diskDir != "" {
		if err := checkWritableDir(f.diskDir); err != nil {
			return c, err
		}
		c.diskDir = f.diskDir
	}
	return c, nil
}

// parseHostMemory parses --host-memory; "" means unlimited (0).
func parseHostMemory(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := device.ParseBytes(s)
	if err != nil {
		return 0, usagef("--host-memory: %v", err)
	}
	if n <= 0 || n > maxHostMemory {
		return 0, usagef("--host-memory %q: want a positive size such as 64GiB, at most 1024TiB", s)
	}
	return n, nil
}

// checkWritableDir is a usage error unless dir is a directory a file can
// be created in.
func checkWritableDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return usagef("--disk-dir: %v", err)
	}
	if !fi.IsDir() {
		return usagef("--disk-dir %s: not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".ebb-probe-*")
	if err != nil {
		return usagef("--disk-dir %s: not writable: %v", dir, err)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

// prepare makes the temporary disk directory --offload disk uses when no
// --disk-dir was given; the cleanup it returns removes it (call it also
// when the run fails). Without a directory to make, cleanup does nothing.
func (c *offloadConfig) prepare() (cleanup func(), err error) {
	if c.mode != policy.OffloadDisk || c.diskDir != "" {
		return func() {}, nil
	}
	dir, err := os.MkdirTemp("", "ebb-offload-")
	if err != nil {
		return func() {}, usagef("--offload disk: no --disk-dir given, and no temporary directory could be made: %v", err)
	}
	c.diskDir, c.ownsDisk = dir, true
	return func() {
		os.RemoveAll(dir)
		c.diskDir, c.ownsDisk = "", false
	}, nil
}

// tiers is the Sim tiers the config asks for.
func (c *offloadConfig) tiers() device.SimTiers {
	t := device.SimTiers{Host: true, HostCapacity: c.hostCap}
	if c.mode == policy.OffloadDisk {
		t.DiskDir = c.diskDir
	}
	return t
}

// openDeviceFor opens the device of spec; with offload on, a tiered Sim
// (prepare must have run for --offload disk).
func openDeviceFor(spec deviceSpec, capacity int64, c offloadConfig) (device.Device, error) {
	if !c.on() {
		return openDevice(spec, capacity)
	}
	if spec.cuda {
		if c.mode == policy.OffloadDisk { // parse rejected it; keep the guard
			return nil, usagef("--offload disk with --device %s: the cuda backend has a host tier only", spec)
		}
		return spec.openWith(capacity, cuda.WithHostTier(c.hostCap))
	}
	if c.mode == policy.OffloadDisk && c.diskDir == "" {
		return nil, errors.New("--offload disk: no disk directory (prepare was not called)")
	}
	dev, err := device.NewTieredSim(capacity, c.tiers())
	if err != nil {
		return nil, usagef("--offload %s: %v", c.mode, err)
	}
	return dev, nil
}

// describe says what the config does, for a summary line.
func (c *offloadConfig) describe() string {
	s := fmt.Sprintf("offload %s, evict %s", c.mode, c.evict)
	if c.hostCap > 0 {
		s += ", host memory " + gib(c.hostCap)
	}
	return s
}

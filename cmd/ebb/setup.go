package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/ebbgraph/ebb/cuda"
	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/nodes/sim"
	"github.com/ebbgraph/ebb/nodes/testpack"
	"github.com/ebbgraph/ebb/policy"
)

// readWorkflow reads and decodes a ComfyUI API-format workflow of at most
// maxSize bytes (0: no cap). Every problem is a usage error naming the
// file.
func readWorkflow(path string, maxSize int64) (engine.Workflow, error) {
	return readWorkflowFor(nil, path, maxSize)
}

// readWorkflowFor is readWorkflow that converts the literals of the
// classes of reg as it decodes (engine.DecodeWorkflowFor); reg nil
// converts nothing.
func readWorkflowFor(reg *engine.Registry, path string, maxSize int64) (engine.Workflow, error) {
	data, err := readFile(path, maxSize)
	if err != nil {
		return nil, err
	}
	// The decoder keeps nearly everything it allocates: a collection while
	// it runs would find little garbage, and a big workflow would be
	// marked again at every doubling of the heap.
	defer pauseGC()()
	var wf engine.Workflow
	if reg != nil {
		wf, err = engine.DecodeWorkflowFor(reg, data)
	} else {
		wf, err = engine.DecodeWorkflow(data)
	}
	if err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	return wf, nil
}

// gcPause counts the callers of pauseGC that have not resumed.
var gcPause struct {
	sync.Mutex
	depth int
	saved int // the GC percent to restore
}

// pauseGC turns the garbage collector off until the last of its callers
// calls the function it returns.
func pauseGC() (resume func()) {
	gcPause.Lock()
	if gcPause.depth == 0 {
		gcPause.saved = debug.SetGCPercent(-1)
	}
	gcPause.depth++
	gcPause.Unlock()
	return func() {
		gcPause.Lock()
		if gcPause.depth--; gcPause.depth == 0 {
			debug.SetGCPercent(gcPause.saved)
		}
		gcPause.Unlock()
	}
}

// utf8BOM is the byte-order mark some editors write at the start of a
// UTF-8 file; JSON does not allow it, ebb skips it.
const utf8BOM = "\xef\xbb\xbf"

// readFile reads a workflow or profile file of at most maxSize bytes (0:
// no cap), without its byte-order mark. A larger file, or a device such as
// /dev/zero that never ends, is a usage error naming the file and the cap,
// found without reading more than maxSize+1 bytes.
func readFile(path string, maxSize int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("%v", err)
	}
	defer f.Close()
	tooLarge := func() error {
		return &usageError{typ: typeFileTooLarge, err: fmt.Errorf(
			"%s: larger than the --max-file-size cap of %s (raise it with --max-file-size, or remove it with 0)", path, formatBytes(maxSize))}
	}
	var r io.Reader = f
	size := int64(-1) // a regular file's size, read at once
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	if maxSize > 0 {
		if size > maxSize {
			return nil, tooLarge()
		}
		r = io.LimitReader(f, maxSize+1)
	}
	data, err := readAll(r, size)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if maxSize > 0 && int64(len(data)) > maxSize {
		return nil, tooLarge()
	}
	return bytes.TrimPrefix(data, []byte(utf8BOM)), nil
}

// readAll is io.ReadAll into one buffer of size+1 bytes when size is
// known (not negative), so that a big file is not copied as it grows.
func readAll(r io.Reader, size int64) ([]byte, error) {
	if size < 0 || size >= 1<<40 {
		return io.ReadAll(r)
	}
	data := make([]byte, 0, size+1) // +1: the read that finds the end
	for {
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return data, err
		}
		if len(data) == cap(data) { // the file grew
			data = append(data, 0)[:len(data)]
		}
	}
}

func decodeWorkflow(name string, data []byte) (engine.Workflow, error) {
	wf, err := engine.DecodeWorkflow(data)
	if err != nil {
		return nil, usagef("%s: %v", name, err)
	}
	return wf, nil
}

// readProfile loads a nodes/sim profile file of at most maxSize bytes (0:
// no cap); "" means none.
func readProfile(path string, maxSize int64) (*sim.Profile, error) {
	if path == "" {
		return nil, nil
	}
	data, err := readFile(path, maxSize)
	if err != nil {
		return nil, err
	}
	return parseProfile(path, data)
}

func parseProfile(name string, data []byte) (*sim.Profile, error) {
	p, err := sim.ParseProfile(data)
	if err != nil {
		return nil, usagef("profile %s: %v", name, err)
	}
	return p, nil
}

// newRegistry holds the test pack, the sim built-ins (AllocateVRAM) and
// then the profile's classes, which replace built-ins of the same name.
func newRegistry(prof *sim.Profile) (*engine.Registry, error) {
	r := engine.NewRegistry()
	if err := testpack.Register(r); err != nil {
		return nil, fmt.Errorf("registering the test pack: %w", err)
	}
	if err := sim.Register(r); err != nil {
		return nil, fmt.Errorf("registering the sim nodes: %w", err)
	}
	if prof != nil {
		if err := prof.Register(r); err != nil {
			return nil, usagef("profile: %v", err)
		}
	}
	return r, nil
}

// scaleWorkflow multiplies the literal sizes of AllocateVRAM nodes by f, so
// --scale shrinks a whole simulated workflow (profile and test nodes) alike.
func scaleWorkflow(wf engine.Workflow, f float64) {
	if f == 1 {
		return
	}
	for _, n := range wf {
		if n.Class != "AllocateVRAM" {
			continue
		}
		v, ok := n.Inputs["size"]
		if !ok {
			continue
		}
		if x, err := engine.AsFloat(v); err == nil {
			n.Inputs["size"] = x * f
		}
	}
}

// parseCapacity parses --device-memory; "" means unlimited (0).
func parseCapacity(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := device.ParseBytes(s)
	if err != nil {
		return 0, usagef("--device-memory: %v", err)
	}
	if n <= 0 {
		return 0, usagef("--device-memory %q: want a positive size such as 22GiB", s)
	}
	return n, nil
}

// deviceSpec is a parsed --device: "sim" or "cuda:N".
type deviceSpec struct {
	cuda    bool
	ordinal int
}

func parseDeviceSpec(s string) (deviceSpec, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch {
	case t == "sim" || t == "":
		return deviceSpec{}, nil
	case t == "cuda":
		return deviceSpec{cuda: true}, nil
	case strings.HasPrefix(t, "cuda:"):
		n, err := strconv.Atoi(t[len("cuda:"):])
		if err != nil || n < 0 {
			return deviceSpec{}, usagef("--device %q: want cuda:N with N a GPU ordinal (0, 1, ...)", s)
		}
		return deviceSpec{cuda: true, ordinal: n}, nil
	}
	return deviceSpec{}, usagef("--device %q: want sim or cuda:N", s)
}

func (d deviceSpec) String() string {
	if d.cuda {
		return "cuda:" + strconv.Itoa(d.ordinal)
	}
	return "sim"
}

// open makes the device. A Sim without a capacity is unlimited.
func (d deviceSpec) open(capacity int64) (device.Device, error) { return d.openWith(capacity) }

// openWith is open with more cuda options (a host tier).
func (d deviceSpec) openWith(capacity int64, extra ...cuda.Option) (device.Device, error) {
	if !d.cuda {
		return newSim(capacity), nil
	}
	opts := extra
	if capacity > 0 {
		opts = append(opts, cuda.WithCapacity(capacity))
	}
	dev, err := cuda.New(d.ordinal, opts...)
	if errors.Is(err, device.ErrUnavailable) {
		return nil, fmt.Errorf("--device %s: this ebb was built without -tags cuda (rebuild with `go build -tags cuda ./cmd/ebb`): %w", d, err)
	}
	if err != nil {
		return nil, fmt.Errorf("--device %s: %w", d, err)
	}
	return dev, nil
}

// newSim makes a Sim device; capacity 0 is unlimited.
func newSim(capacity int64) device.Device {
	return device.NewSim(capacity)
}

// engineFlags are the flags that make an engine and its runs: cache,
// level, strategy, order, parallel, device, device memory, profile, the
// run limits and --keep-executed. "ebb run", "ebb serve" and "ebb worker"
// register them (run checks them in its own order, in run.go).
type engineFlags struct {
	cache    string
	level    string
	strategy string
	order    string
	parallel int
	memory   string
	profile  string
	device   string
	keep     int
	limits   limitFlags
	offload  offloadFlags
	fs       *flag.FlagSet // where register put the flags
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.cache, "cache", "classic", "cross-run output cache: classic, lru:N or none")
	fs.IntVar(&f.parallel, "parallel", 0, "node bodies run at once (0: GOMAXPROCS); any value gives a repeatable order")
	fs.StringVar(&f.level, "level", "2", "release level: 0 (keep all), 1 (release unreferenced), 2 (release dead)")
	fs.StringVar(&f.strategy, "strategy", "auto", "late-edge strategy: auto, reexecute or restrict")
	fs.StringVar(&f.order, "order", "memory", "which ready node starts next: memory, stack (ebb's old order) or comfy (ComfyUI's)")
	fs.StringVar(&f.memory, "device-memory", "", "device capacity such as 22GiB (default: unlimited Sim, or the whole GPU)")
	fs.StringVar(&f.profile, "profile", "", "nodes/sim profile `FILE.json` simulating classes by output and working sizes")
	fs.StringVar(&f.device, "device", "sim", "device: sim or cuda:N (cuda needs a build with -tags cuda)")
	fs.IntVar(&f.keep, "keep-executed", engine.DefaultKeepExecuted, "how many executed ids (the last ones) a result lists (`N`; negative: all)")
	f.limits.register(fs)
	f.offload.register(fs)
	f.fs = fs
}

// engineSetup is what engineFlags make: an engine on its device, and the
// options of each run.
type engineSetup struct {
	eng     *engine.Engine
	dev     device.Device
	spec    deviceSpec
	pol     policy.Policy
	order   policy.Order
	limits  engine.Limits
	keep    int
	offload offloadConfig
	cleanup func() // removes the temporary disk directory of --offload disk
}

// Close closes the engine, then the device, then removes the temporary
// disk directory, if any.
func (s *engineSetup) Close() error {
	err := errors.Join(s.eng.Close(), s.dev.Close())
	s.cleanup()
	return err
}

// open checks every flag, reads the profile, builds the registry (then
// lets edit change it) and opens the device and the engine.
func (f *engineFlags) open(edit func(*engine.Registry) error) (*engineSetup, error) {
	cache, err := engine.ParseCacheMode(f.cache)
	if err != nil {
		return nil, usagef("--cache: %v", err)
	}
	pol, err := parsePolicy(f.level, f.strategy)
	if err != nil {
		return nil, err
	}
	order, err := parseOrder(f.order)
	if err != nil {
		return nil, err
	}
	if err := checkParallel(f.parallel); err != nil {
		return nil, err
	}
	if err := checkKeepExecuted(f.keep); err != nil {
		return nil, err
	}
	limits, maxSize, err := f.limits.parse()
	if err != nil {
		return nil, err
	}
	capacity, err := parseCapacity(f.memory)
	if err != nil {
		return nil, err
	}
	spec, err := parseDeviceSpec(f.device)
	if err != nil {
		return nil, err
	}
	off, err := f.offload.parse(f.fs, spec)
	if err != nil {
		return nil, err
	}
	prof, err := readProfile(f.profile, maxSize)
	if err != nil {
		return nil, err
	}
	reg, err := newRegistry(nil)
	if err != nil {
		return nil, err
	}
	if edit != nil { // the profile's classes win over the edit's (serve's file-writing SaveImage)
		if err := edit(reg); err != nil {
			return nil, err
		}
	}
	if prof != nil {
		if err := prof.Register(reg); err != nil {
			return nil, usagef("profile: %v", err)
		}
	}
	cleanup, err := off.prepare()
	if err != nil {
		return nil, err
	}
	dev, err := openDeviceFor(spec, capacity, off)
	if err != nil {
		cleanup()
		return nil, err
	}
	eng, err := engine.New(engine.Options{Registry: reg, Device: dev, Cache: cache, Parallelism: f.parallel})
	if err != nil {
		dev.Close()
		cleanup()
		return nil, err
	}
	return &engineSetup{eng: eng, dev: dev, spec: spec, pol: pol, order: order, limits: limits, keep: f.keep, offload: off, cleanup: cleanup}, nil
}

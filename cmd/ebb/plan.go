package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"text/tabwriter"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/nodes/sim"
	"github.com/ebbgraph/ebb/policy"
	"github.com/ebbgraph/ebb/workflows"
)

// The seed workflow of ComfyUI's "node smart offload" PR and the profile
// that gives its custom nodes their sizes.
var (
	seedWorkflow = workflows.SeedWorkflow
	seedProfile  = workflows.SeedProfile
)

// demoCapacity is the seed PR's A10: 22 GiB.
const demoCapacity = 22 * device.GiB

// planRow is one level and strategy of "ebb plan".
type planRow struct {
	Level           int        `json:"level"`
	Strategy        string     `json:"strategy"`
	Status          string     `json:"status"`
	OK              bool       `json:"ok"`
	Error           *errorJSON `json:"error"`
	PeakBytes       int64      `json:"peak_bytes"`
	BoundBytes      int64      `json:"bound_bytes"`
	NeedBytes       int64      `json:"need_bytes"`
	DevicePeakBytes int64      `json:"device_peak_bytes"`
	Parallelism     int        `json:"parallelism"`
	Executions      int        `json:"executions"`
	Reexecutions    int        `json:"reexecutions"`
	result          *engine.RunResult
}

type planFlags struct {
	json     bool
	order    string
	parallel int
	profile  string
	memory   string
	timeline string
	curve    string
	limits   limitFlags
	offload  offloadFlags
}

// planConfig is what plan needs besides the workflow.
type planConfig struct {
	profile  *sim.Profile
	capacity int64
	json     bool
	timeline string
	name     string
	limits   engine.Limits
	parallel int // 0: GOMAXPROCS, as run
	order    policy.Order
	// off, when on, adds the offload plan (budget.go); budgetCurve is
	// --budget-curve's file.
	off         offloadConfig
	budgetCurve string
}

func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plan", "WORKFLOW.json",
		"Simulate the workflow at every release level (0, 1, 2) and late-edge strategy (reexecute, restrict, auto),\n"+
			"each on a fresh Sim device with no cache, and print peak memory, bound and re-executions.", stderr)
	var f planFlags
	fs.BoolVar(&f.json, "json", false, "print the rows as a JSON array")
	fs.IntVar(&f.parallel, "parallel", 0, "the parallelism to plan for, as run's (0: GOMAXPROCS)")
	fs.StringVar(&f.order, "order", "memory", "which ready node starts next: memory, stack or comfy")
	fs.StringVar(&f.profile, "profile", "", "nodes/sim profile `FILE.json` simulating classes by output and working sizes")
	fs.StringVar(&f.memory, "device-memory", "", "Sim device capacity such as 22GiB (default: unlimited)")
	fs.StringVar(&f.timeline, "memory-timeline", "", "draw live memory per executed node, one line per level (strategy auto), to `FILE.png`")
	f.limits.register(fs)
	f.offload.register(fs)
	fs.StringVar(&f.curve, "budget-curve", "", "draw simulated time against device memory at level 2 for each --evict choice to `FILE.png` (implies --offload host unless --offload is given)")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		fs.Usage()
		return usagef("plan: want exactly one workflow, got %d", len(files))
	}
	capacity, err := parseCapacity(f.memory)
	if err != nil {
		return err
	}
	if err := checkParallel(f.parallel); err != nil {
		return err
	}
	order, err := parseOrder(f.order)
	if err != nil {
		return err
	}
	limits, maxSize, err := f.limits.parse()
	if err != nil {
		return err
	}
	if err := checkImageFile(f.timeline); err != nil {
		return err
	}
	if f.curve != "" && !flagGiven(fs, "offload") {
		f.offload.offload = policy.OffloadHost.String()
	}
	off, err := f.offload.parse(fs, deviceSpec{})
	if err != nil {
		return err
	}
	if err := checkImageFlag("--budget-curve", f.curve); err != nil {
		return err
	}
	prof, err := readProfile(f.profile, maxSize)
	if err != nil {
		return err
	}
	wf, err := readWorkflow(files[0], maxSize)
	if err != nil {
		return err
	}
	cleanup, err := off.prepare()
	if err != nil {
		return err
	}
	defer cleanup()
	return plan(ctx, stdout, wf, planConfig{profile: prof, capacity: capacity, json: f.json, timeline: f.timeline, name: files[0], limits: limits, parallel: f.parallel, order: order, off: off, budgetCurve: f.curve})
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "",
		"Plan the bundled seed workflow (ComfyUI's node smart offload example) on a 22 GiB Sim device.", stderr)
	asJSON := fs.Bool("json", false, "print the rows as a JSON array instead of the explanation and table")
	timeline := fs.String("memory-timeline", "", "draw live memory per executed node, one line per level, to `FILE.png`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("demo takes no arguments (got %q)", pos)
	}
	if err := checkImageFile(*timeline); err != nil {
		return err
	}
	prof, err := parseProfile("seed-offload.profile.json", seedProfile)
	if err != nil {
		return err
	}
	wf, err := decodeWorkflow("seed-offload.json", seedWorkflow)
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprint(stdout, demoText)
	}
	return plan(ctx, stdout, wf, planConfig{profile: prof, capacity: demoCapacity, json: *asJSON, timeline: *timeline, name: "seed workflow", parallel: 1})
}

const demoText = `The seed workflow comes from ComfyUI's "node smart offload" pull request: it loads
YOLO-World and EfficientSAM models to find a mask, passes it through three 2 GiB AllocateVRAM
nodes, then loads an SDXL checkpoint whose KSampler (node 24) needs 13.5 GiB of working memory.
ebb simulates it on a 22 GiB device, with sizes from the bundled profile, at every release level
and late-edge strategy. Level 0 keeps every output until the run ends and level 1 frees only
outputs that nothing reads, so the detection models and tensors are still held when KSampler
allocates, and it runs out of memory. Level 2 frees each output as soon as its last reader is
done, so the same workflow fits, and its measured peak equals the bound: the exact peak live set
of the order it ran in.

`

// plan runs wf at every level and strategy and prints the table (or JSON).
// A row that failed is a result, but one that failed with an internal
// error (a bug in ebb) makes plan return errInternalRun after the table.
func plan(ctx context.Context, stdout io.Writer, wf engine.Workflow, cfg planConfig) error {
	capacity, timeline, name := cfg.capacity, cfg.timeline, cfg.name
	reg, err := newRegistry(cfg.profile)
	if err != nil {
		return err
	}
	var rows []planRow
	internal := false
	for _, level := range policy.Levels() {
		for _, strat := range policy.Strategies() {
			row, err := planOne(ctx, reg, wf, capacity, policy.Policy{Level: level, Strategy: strat}, timeline != "", cfg.limits, cfg.parallel, cfg.order)
			if err != nil {
				return err
			}
			if row.result.Status == engine.StatusInvalid {
				// Every row would fail the same way: report it once, as
				// run does (under --json, run's result object).
				if cfg.json {
					if err := writeJSONValue(stdout, toJSON(row.result)); err != nil {
						return err
					}
				} else {
					printSummary(stdout, "plan ("+name+")", row.result)
				}
				return errFailed
			}
			internal = internal || errors.Is(row.result.Err, engine.ErrInternal)
			rows = append(rows, row)
			if errors.Is(ctx.Err(), context.Canceled) {
				return fmt.Errorf("plan: %w", ctx.Err())
			}
		}
	}
	var op *offloadPlan
	if cfg.off.on() {
		if op, err = planOffload(ctx, reg, wf, cfg); err != nil {
			return err
		}
		internal = internal || op.internal
	}
	switch {
	case cfg.json && op != nil:
		err = writeJSONValue(stdout, planOffloadJSON{Rows: rows, Offload: op})
	case cfg.json:
		err = writeJSONValue(stdout, rows)
	default:
		printPlan(stdout, rows, capacity)
		if op != nil {
			printOffloadPlan(stdout, op)
		}
	}
	if err != nil {
		return err
	}
	if timeline != "" {
		var lines []timelineLine
		for _, r := range rows {
			if r.Strategy == policy.Auto.String() {
				lines = append(lines, timelineLine{
					name:   fmt.Sprintf("level %d: %s", r.Level, r.Status),
					points: r.result.Stats.Timeline,
				})
			}
		}
		title := "ebb plan: " + name
		if err := drawTimeline(timeline, title, lines, capacity); err != nil {
			return err
		}
	}
	if op != nil && cfg.budgetCurve != "" {
		if err := drawBudgetCurve(cfg.budgetCurve, "ebb plan: "+name+": simulated time against device memory (level 2)", op); err != nil {
			return err
		}
	}
	if internal {
		return errInternalRun
	}
	return nil
}

// planOffloadJSON is "ebb plan --offload --json": the rows, and the
// offload plan.
type planOffloadJSON struct {
	Rows    []planRow    `json:"rows"`
	Offload *offloadPlan `json:"offload"`
}

// flagGiven reports whether the flag name was set on fs.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(fl *flag.Flag) { given = given || fl.Name == name })
	return given
}

// planOne runs wf once on a fresh engine and Sim device.
func planOne(ctx context.Context, reg *engine.Registry, wf engine.Workflow, capacity int64, pol policy.Policy, timeline bool, limits engine.Limits, parallel int, order policy.Order) (planRow, error) {
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	dev := newSim(capacity)
	defer dev.Close()
	eng, err := engine.New(engine.Options{
		Registry:    reg,
		Device:      dev,
		Cache:       engine.CacheMode{Kind: engine.CacheNone},
		Parallelism: parallel,
	})
	if err != nil {
		return planRow{}, err
	}
	defer eng.Close()
	res := normalize(eng.Run(ctx, wf, engine.RunOptions{Policy: &pol, Order: order, Timeline: timeline, Limits: limits}))
	s := res.Stats
	row := planRow{
		Level:           int(pol.Level),
		Strategy:        pol.Strategy.String(),
		OK:              res.Status == engine.StatusSuccess,
		Error:           errorOf(res.Err),
		PeakBytes:       s.PeakBytes,
		BoundBytes:      s.BoundBytes,
		NeedBytes:       s.NeedBytes,
		DevicePeakBytes: s.DevicePeakBytes,
		Parallelism:     parallel,
		Executions:      s.Executions,
		Reexecutions:    s.Reexecutions,
		result:          res,
	}
	row.Status = planStatus(row)
	return row, nil
}

// planStatus is "ok", "out of memory at node X" or the error's type and node.
func planStatus(r planRow) string {
	switch {
	case r.OK:
		return "ok"
	case r.Error == nil:
		return string(r.result.Status)
	case r.Error.Type == engine.TypeOutOfMemory && r.Error.NodeID != nil:
		return "out of memory at node " + string(*r.Error.NodeID)
	case r.Error.NodeID != nil:
		return fmt.Sprintf("%s at node %s", r.Error.Type, *r.Error.NodeID)
	}
	return r.Error.Type + ": " + r.Error.Message
}

func printPlan(w io.Writer, rows []planRow, capacity int64) {
	par := 1
	if len(rows) > 0 {
		par = rows[0].Parallelism
	}
	if capacity > 0 {
		fmt.Fprintf(w, "device: Sim, %s; parallelism %d\n", gib(capacity), par)
	} else {
		fmt.Fprintf(w, "device: Sim, unlimited; parallelism %d\n", par)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "level\tstrategy\tstatus\tpeak\tbound\tneeds\tre-executions")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\n", r.Level, r.Strategy, r.Status, gib(r.PeakBytes), gib(r.BoundBytes), gib(r.NeedBytes), r.Reexecutions)
	}
	tw.Flush()
	for _, r := range rows {
		if !r.OK {
			fmt.Fprintf(w, "\nThe peak and bound of a failed row cover only the nodes that completed before it failed.\n")
			break
		}
	}
}

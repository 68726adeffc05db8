package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/policy"
)

// openDevice opens run's device; tests replace it.
var openDevice = deviceSpec.open

// runFlags are the flags of "ebb run": the engine's (engineFlags, as
// ebb serve and ebb worker have them) and run's own.
type runFlags struct {
	engineFlags
	json     bool
	targets  string
	events   bool
	scale    float64
	timeline string
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "WORKFLOW.json [more.json ...]",
		"Run the workflows in order on one engine, so the cross-run cache carries over from one to the next.", stderr)
	var f runFlags
	f.engineFlags.register(fs)
	fs.BoolVar(&f.json, "json", false, "print one JSON array with one result object per run")
	fs.StringVar(&f.targets, "targets", "", "comma-separated output node ids to run (default: every output node)")
	fs.BoolVar(&f.events, "events", false, "write every engine event as a JSON line on stderr")
	fs.Float64Var(&f.scale, "scale", 1, "multiply profile and AllocateVRAM sizes by `F` (for small real GPUs)")
	fs.StringVar(&f.timeline, "memory-timeline", "", "draw live memory per executed node to `FILE.png`")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fs.Usage()
		return usagef("run: no workflow given")
	}

	// Check every flag before loading anything.
	cache, err := engine.ParseCacheMode(f.cache)
	if err != nil {
		return usagef("--cache: %v", err)
	}
	order, err := parseOrder(f.order)
	if err != nil {
		return err
	}
	pol, err := parsePolicy(f.level, f.strategy)
	if err != nil {
		return err
	}
	if err := checkParallel(f.parallel); err != nil {
		return err
	}
	if err := checkKeepExecuted(f.keep); err != nil {
		return err
	}
	limits, maxSize, err := f.limits.parse()
	if err != nil {
		return err
	}
	targets := parseTargets(fs, f.targets)
	capacity, err := parseCapacity(f.memory)
	if err != nil {
		return err
	}
	spec, err := parseDeviceSpec(f.device)
	if err != nil {
		return err
	}
	off, err := f.offload.parse(fs, spec)
	if err != nil {
		return err
	}
	if !(f.scale > 0) || math.IsInf(f.scale, 0) {
		return usagef("--scale %v: want a positive factor", f.scale)
	}
	if err := checkImageFile(f.timeline); err != nil {
		return err
	}

	// Then every file, so a typo in the last one fails before anything runs.
	prof, err := readProfile(f.profile, maxSize)
	if err != nil {
		return err
	}
	// The registry comes first, so that each workflow's literals are
	// converted while it is decoded (validation then copies no node); its
	// errors are reported after the workflows'.
	var reg *engine.Registry
	regErr := error(nil)
	if prof != nil {
		if prof, regErr = prof.Scaled(f.scale); regErr != nil {
			regErr = usagef("--scale %v: profile %s: %v", f.scale, f.profile, regErr)
		}
	}
	if regErr == nil {
		reg, regErr = newRegistry(prof)
	}
	workflows := make([]engine.Workflow, len(files))
	for i, path := range files {
		if workflows[i], err = readWorkflowFor(reg, path, maxSize); err != nil {
			return err
		}
		scaleWorkflow(workflows[i], f.scale)
	}
	if regErr != nil {
		return regErr
	}
	cleanup, err := off.prepare()
	if err != nil {
		return err
	}
	defer cleanup() // after dev.Close, which removes the Sim's files
	dev, err := openDeviceFor(spec, capacity, off)
	if err != nil {
		return err
	}
	defer dev.Close()
	if c := dev.Stats().Capacity; capacity == 0 && c > 0 && c < 1<<60 {
		capacity = c // a whole GPU, for the timeline's capacity line
	}

	opts := engine.Options{Registry: reg, Device: dev, Cache: cache, Parallelism: f.parallel}
	eng, err := engine.New(opts)
	if err != nil {
		return err
	}
	defer eng.Close()

	var results []*engine.RunResult
	failed, internal := false, false
	for i, wf := range workflows {
		if i > 0 && ctx.Err() != nil {
			break // interrupted: the remaining workflows do not run
		}
		ro := engine.RunOptions{Targets: targets, Policy: &pol, Order: order, Timeline: f.timeline != "", Limits: limits, KeepExecuted: f.keep}
		off.apply(&ro)
		if f.events {
			ro.Observers = []engine.Observer{newEventWriter(stderr, i, files[i])}
		}
		res := normalize(eng.Run(ctx, wf, ro))
		results = append(results, res)
		if res.Status != engine.StatusSuccess {
			failed = true
		}
		if errors.Is(res.Err, engine.ErrInternal) {
			internal = true
		}
		if !f.json {
			printRunSummary(stdout, fmt.Sprintf("run %d (%s)", i+1, files[i]), res, &off)
		}
	}
	if f.json {
		if err := writeJSON(stdout, results); err != nil {
			return err
		}
	}
	if f.timeline != "" {
		lines := make([]timelineLine, len(results))
		for i, r := range results {
			lines[i] = timelineLine{name: fmt.Sprintf("run %d: %s", i+1, files[i]), points: r.Stats.Timeline}
		}
		if err := drawTimeline(f.timeline, "ebb run: live memory per executed node", lines, capacity); err != nil {
			return err
		}
	}
	switch {
	case internal:
		return errInternalRun
	case failed:
		return errFailed
	}
	return nil
}

func parsePolicy(level, strategy string) (policy.Policy, error) {
	l, err := policy.ParseLevel(level)
	if err != nil {
		return policy.Policy{}, usagef("--level: %v", err)
	}
	s, err := policy.ParseStrategy(strategy)
	if err != nil {
		return policy.Policy{}, usagef("--strategy: %v", err)
	}
	return policy.Policy{Level: l, Strategy: s}, nil
}

func parseOrder(order string) (policy.Order, error) {
	o, err := policy.ParseOrder(order)
	if err != nil {
		return 0, usagef("--order: %v", err)
	}
	return o, nil
}

// parseTargets returns nil when --targets was not given (every output
// node) and the listed ids otherwise; an explicitly empty list is passed on
// for the engine to reject.
func parseTargets(fs *flag.FlagSet, s string) []engine.NodeID {
	given := false
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "targets" {
			given = true
		}
	})
	if !given {
		return nil
	}
	ids := []engine.NodeID{}
	for part := range strings.SplitSeq(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			ids = append(ids, engine.NodeID(p))
		}
	}
	return ids
}

// normalize turns what Run returned into one result: an error without a
// result (a broken engine, a bad option) becomes an error result.
func normalize(res *engine.RunResult, err error) *engine.RunResult {
	if res == nil {
		res = &engine.RunResult{Status: engine.StatusError, Err: err}
		if err == nil {
			res.Err = fmt.Errorf("engine returned no result")
		}
	}
	if res.Status == "" {
		if res.Err == nil && err == nil {
			res.Status = engine.StatusSuccess
		} else {
			res.Status = engine.StatusError
		}
	}
	if res.Err == nil && err != nil && res.Status != engine.StatusSuccess {
		res.Err = err
	}
	return res
}

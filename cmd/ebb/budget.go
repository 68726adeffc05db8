// budget.go: "ebb plan --offload": the smallest device memory each level
// completes on with offload, the simulated time at a few capacities, and
// the budget curve (--budget-curve: time against device memory for each
// eviction choice).

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/policy"
)

// minPrecision is the search's precision: the minimum is found to within
// 1 MiB.
const minPrecision = 1 << 20

// curvePoints is how many capacities the budget curve probes per
// eviction choice.
const curvePoints = 20

// offloadPlan is the offload part of "ebb plan --offload" (--json:
// "offload").
type offloadPlan struct {
	Offload         string            `json:"offload"`
	Evict           string            `json:"evict"`
	Strategy        string            `json:"strategy"`
	Parallelism     int               `json:"parallelism"`
	HostMemoryBytes int64             `json:"host_memory_bytes"` // 0: unlimited
	Levels          []offloadLevel    `json:"levels"`
	Curve           []budgetCurveLine `json:"budget_curve,omitempty"`
	internal        bool              // a probe failed with an internal error
	level2          *offloadLevel     // Levels' level 2, for the times and the curve
	mode            policy.Offload
	evict           policy.Evict
	// probe runs the workflow once at a capacity (0: unlimited).
	probe func(capacity int64, level policy.Level, evict policy.Evict, mode policy.Offload) (*engine.RunResult, error)
}

// offloadLevel is one level of an offload plan.
type offloadLevel struct {
	Level int `json:"level"`
	// PeakBytes is what the level needs without offload on an unlimited
	// device (the most of its need and its device peak).
	PeakBytes int64 `json:"peak_bytes"`
	// LowerBoundBytes is the largest single node's estimate (outputs and
	// working memory): no capacity below it can work.
	LowerBoundBytes int64 `json:"lower_bound_bytes"`
	// WorkingSetBytes is the largest working set of a node (its inputs,
	// outputs and working memory: engine.Stats.WorkingSetBytes) in a run
	// with offload on an unlimited device.
	WorkingSetBytes int64 `json:"working_set_bytes"`
	// MinBytes is the smallest capacity found on which the level
	// completes with offload (0 when even PeakBytes failed); Probes counts
	// the runs the search made.
	MinBytes int64         `json:"min_bytes"`
	Probes   int           `json:"probes"`
	Error    *errorJSON    `json:"error"`
	Times    []offloadTime `json:"times"`
}

// offloadTime is the simulated time of a level at one capacity.
type offloadTime struct {
	At            string  `json:"at"`             // "unlimited", "level-2 peak", "half the level-2 peak", "minimum"
	CapacityBytes int64   `json:"capacity_bytes"` // 0: unlimited
	OK            bool    `json:"ok"`
	Status        string  `json:"status"`
	SimMs         float64 `json:"sim_ms"`
}

// budgetCurveLine is the simulated time of level 2 at capacities from its
// minimum to its peak, for one eviction choice; infeasible capacities are
// left out.
type budgetCurveLine struct {
	Evict  string        `json:"evict"`
	Points []budgetPoint `json:"points"`
}

type budgetPoint struct {
	CapacityBytes int64   `json:"capacity_bytes"`
	SimMs         float64 `json:"sim_ms"`
}

// planOffload searches every level's minimum capacity under cfg.off, then
// times each level at a few capacities and, with cfg.budgetCurve, probes
// the curve. Every probe is a fresh engine on a fresh tiered Sim.
func planOffload(ctx context.Context, reg *engine.Registry, wf engine.Workflow, cfg planConfig) (*offloadPlan, error) {
	parallel := cfg.parallel
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	off := cfg.off
	op := &offloadPlan{
		Offload: off.mode.String(), Evict: off.evict.String(), Strategy: policy.Auto.String(),
		Parallelism: parallel, HostMemoryBytes: off.hostCap, mode: off.mode, evict: off.evict,
	}
	op.probe = func(capacity int64, level policy.Level, evict policy.Evict, mode policy.Offload) (*engine.RunResult, error) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("plan: %w", err)
		}
		c := off
		c.mode, c.evict = mode, evict
		dev, err := openDeviceFor(deviceSpec{}, capacity, c)
		if err != nil {
			return nil, err
		}
		defer dev.Close()
		eng, err := engine.New(engine.Options{Registry: reg, Device: dev, Cache: engine.CacheMode{Kind: engine.CacheNone}, Parallelism: parallel})
		if err != nil {
			return nil, err
		}
		defer eng.Close()
		pol := policy.Policy{Level: level, Strategy: policy.Auto}
		ro := engine.RunOptions{Policy: &pol, Order: cfg.order, Limits: cfg.limits}
		c.apply(&ro)
		res := normalize(eng.Run(ctx, wf, ro))
		if errors.Is(res.Err, engine.ErrInternal) {
			op.internal = true
		}
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, fmt.Errorf("plan: %w", ctx.Err())
		}
		return res, nil
	}
	lower := lowerBound(reg, wf)
	for _, level := range policy.Levels() {
		l, err := op.searchLevel(level, lower)
		if err != nil {
			return nil, err
		}
		op.Levels = append(op.Levels, l)
	}
	for i := range op.Levels {
		if op.Levels[i].Level == int(policy.ReleaseDead) {
			op.level2 = &op.Levels[i]
		}
	}
	for i := range op.Levels {
		if err := op.timeLevel(&op.Levels[i]); err != nil {
			return nil, err
		}
	}
	if cfg.budgetCurve != "" {
		if err := op.budgetCurve(); err != nil {
			return nil, err
		}
	}
	return op, nil
}

// lowerBound is the largest estimate (outputs and working memory) of a
// node of wf: a node allocates both while it runs, so no capacity below
// it can work.
func lowerBound(reg *engine.Registry, wf engine.Workflow) int64 {
	var lb int64
	for _, n := range wf {
		t, ok := reg.Lookup(n.Class)
		if !ok {
			continue
		}
		if est, ok := t.Runner.(engine.Estimator); ok {
			if e, ok := est.Estimate(n); ok && e.Out >= 0 && e.Work >= 0 {
				lb = max(lb, e.Total())
			}
		}
	}
	return lb
}

// searchLevel finds the level's peak without offload, then the smallest
// capacity it completes on with offload, by bisection between the lower
// bound (which cannot work, unless it is the peak) and the peak.
func (op *offloadPlan) searchLevel(level policy.Level, lower int64) (offloadLevel, error) {
	l := offloadLevel{Level: int(level), LowerBoundBytes: lower, Times: []offloadTime{}}
	res, err := op.probe(0, level, policy.EvictCost, policy.OffloadNone)
	if err != nil {
		return l, err
	}
	if res.Status != engine.StatusSuccess {
		l.Error = errorOf(res.Err)
		return l, nil
	}
	l.PeakBytes = max(res.Stats.NeedBytes, res.Stats.DevicePeakBytes, res.Stats.PeakBytes, 1)
	ok := func(capacity int64) (bool, error) {
		l.Probes++
		res, err := op.probe(capacity, level, op.evict, op.mode)
		if err != nil {
			return false, err
		}
		if res.Status != engine.StatusSuccess {
			l.Error = errorOf(res.Err)
			return false, nil
		}
		l.Error = nil
		return true, nil
	}
	ws, err := op.probe(0, level, op.evict, op.mode)
	if err != nil {
		return l, err
	}
	l.WorkingSetBytes = ws.Stats.WorkingSetBytes
	hi := l.PeakBytes
	if fits, err := ok(hi); err != nil || !fits {
		return l, err
	}
	lo := max(lower, l.WorkingSetBytes) - 1 // below a working set nothing works: lo fails (or is 0), hi works
	lo = max(lo, 0)
	for hi-lo > minPrecision {
		mid := lo + (hi-lo)/2
		fits, err := ok(mid)
		if err != nil {
			return l, err
		}
		if fits {
			hi = mid
		} else {
			lo = mid
		}
	}
	l.Error = nil
	l.MinBytes = hi
	return l, nil
}

// timeLevel runs l with offload at unlimited memory, at the level-2
// peak, at half of it and at l's minimum.
func (op *offloadPlan) timeLevel(l *offloadLevel) error {
	type at struct {
		name     string
		capacity int64
	}
	ats := []at{{"unlimited", 0}}
	if p := op.level2; p != nil && p.PeakBytes > 0 {
		ats = append(ats, at{"level-2 peak", p.PeakBytes}, at{"half the level-2 peak", p.PeakBytes / 2})
	}
	if l.MinBytes > 0 {
		ats = append(ats, at{"minimum", l.MinBytes})
	}
	for _, a := range ats {
		res, err := op.probe(a.capacity, policy.Level(l.Level), op.evict, op.mode)
		if err != nil {
			return err
		}
		t := offloadTime{At: a.name, CapacityBytes: a.capacity, OK: res.Status == engine.StatusSuccess, SimMs: finite(res.Stats.SimMs)}
		t.Status = planStatus(planRow{OK: t.OK, Error: errorOf(res.Err), result: res})
		l.Times = append(l.Times, t)
	}
	return nil
}

// budgetCurve probes level 2 at curvePoints capacities from its minimum
// to its peak under each eviction choice.
func (op *offloadPlan) budgetCurve() error {
	l := op.level2
	if l == nil || l.MinBytes <= 0 {
		return nil
	}
	caps := make([]int64, 0, curvePoints)
	for i := range curvePoints {
		c := l.MinBytes + (l.PeakBytes-l.MinBytes)*int64(i)/int64(curvePoints-1)
		if len(caps) == 0 || c != caps[len(caps)-1] {
			caps = append(caps, c)
		}
	}
	for _, evict := range policy.Evicts() {
		line := budgetCurveLine{Evict: evict.String(), Points: []budgetPoint{}}
		for _, c := range caps {
			res, err := op.probe(c, policy.ReleaseDead, evict, op.mode)
			if err != nil {
				return err
			}
			if res.Status == engine.StatusSuccess {
				line.Points = append(line.Points, budgetPoint{CapacityBytes: c, SimMs: finite(res.Stats.SimMs)})
			}
		}
		op.Curve = append(op.Curve, line)
	}
	return nil
}

// printOffloadPlan writes the offload table after plan's.
func printOffloadPlan(w io.Writer, op *offloadPlan) {
	host := "unlimited"
	if op.HostMemoryBytes > 0 {
		host = gib(op.HostMemoryBytes)
	}
	fmt.Fprintf(w, "\noffload %s, evict %s (strategy %s, parallelism %d, host memory %s):\n", op.Offload, op.Evict, op.Strategy, op.Parallelism, host)
	fmt.Fprintf(w, "the smallest device memory each level completes on, and the simulated time at a few capacities\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := "level\tpeak (no offload)\tworking set\tminimum\tminimum/working set\tprobes"
	var cols []string
	if len(op.Levels) > 0 {
		for _, t := range op.Levels[0].Times {
			cols = append(cols, t.At)
		}
	}
	for _, at := range cols {
		header += "\ttime " + timeColumn(op, at)
	}
	fmt.Fprintln(tw, header)
	for _, l := range op.Levels {
		minimum := "-"
		switch {
		case l.MinBytes > 0:
			minimum = gib(l.MinBytes)
		case l.Error != nil:
			minimum = planStatus(planRow{Error: l.Error, result: &engine.RunResult{}})
		}
		ratio := "-"
		if l.MinBytes > 0 && l.WorkingSetBytes > 0 {
			ratio = fmt.Sprintf("%.3f", float64(l.MinBytes)/float64(l.WorkingSetBytes))
		}
		line := fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%d", l.Level, gib(l.PeakBytes), gib(l.WorkingSetBytes), minimum, ratio, l.Probes)
		for _, at := range cols {
			line += "\t" + timeCell(l, at)
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	if len(op.Curve) > 0 {
		fmt.Fprintf(w, "\nbudget curve (level 2): %d capacities from %s to %s per eviction choice\n",
			len(op.Curve[0].Points), gib(op.level2.MinBytes), gib(op.level2.PeakBytes))
		for _, c := range op.Curve {
			fmt.Fprintf(w, "  %-9s %d feasible", c.Evict, len(c.Points))
			if n := len(c.Points); n > 0 {
				fmt.Fprintf(w, ", %s at %s, %s at %s", msText(c.Points[0].SimMs), gib(c.Points[0].CapacityBytes), msText(c.Points[n-1].SimMs), gib(c.Points[n-1].CapacityBytes))
			}
			fmt.Fprintln(w)
		}
	}
}

// timeColumn names a time column: "unlimited", "at 8.962 GiB (level-2
// peak)", "at minimum".
func timeColumn(op *offloadPlan, at string) string {
	switch at {
	case "unlimited", "minimum":
		return at
	}
	for _, t := range op.level2.Times {
		if t.At == at {
			return fmt.Sprintf("%s (%s)", gib(t.CapacityBytes), at)
		}
	}
	return at
}

func timeCell(l offloadLevel, at string) string {
	for _, t := range l.Times {
		if t.At != at {
			continue
		}
		if !t.OK {
			return t.Status
		}
		return msText(t.SimMs)
	}
	return "-"
}

// drawBudgetCurve draws simulated time (s) against device memory (GiB),
// one line per eviction choice, with the unlimited-memory time as a
// dashed line.
func drawBudgetCurve(path, title string, op *offloadPlan) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "device memory (GiB)"
	p.Y.Label.Text = "simulated time (s)"
	p.Y.Min = 0
	p.Legend.Top = true
	top := 0.0
	for i, c := range op.Curve {
		if len(c.Points) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(c.Points))
		for j, pt := range c.Points {
			xys[j].X = toGiB(pt.CapacityBytes)
			xys[j].Y = pt.SimMs / 1000
			top = max(top, xys[j].Y)
		}
		if err := addLine(p, i, "evict "+c.Evict, xys); err != nil {
			return fmt.Errorf("--budget-curve: %w", err)
		}
	}
	if l := op.level2; l != nil && len(l.Times) > 0 && l.Times[0].OK {
		y := l.Times[0].SimMs / 1000
		addLevel(p, y, "unlimited memory: "+msText(l.Times[0].SimMs))
		top = max(top, y)
	}
	if top > 0 {
		p.Y.Max = top * 1.3
		p.Y.Tick.Marker = gibTicks{}
	}
	p.X.Tick.Marker = gibTicks{}
	if p.X.Max <= p.X.Min {
		p.X.Min, p.X.Max = p.X.Min-1, p.X.Max+1
	}
	if err := savePlot(p, path); err != nil {
		return fmt.Errorf("--budget-curve: %w", err)
	}
	return nil
}

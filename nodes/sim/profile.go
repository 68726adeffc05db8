package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"time"

	"github.com/ebbgraph/ebb/engine"
)

// Profile gives node classes a simulated memory behaviour. Sizes are in
// bytes.
type Profile struct {
	Classes map[string]Class
}

// Class is the memory behaviour of one class.
type Class struct {
	// Outputs are the class's outputs, in order.
	Outputs []Output
	// Work is the working memory of one call, freed when the call returns.
	Work int64
	// OutputNode makes the class an output node (where execution starts).
	OutputNode bool
	// Time is how long one call takes ("ms" in the JSON): the simulated
	// clock's compute time and the cost of recomputing the class's
	// outputs under offload. The call itself does not sleep.
	Time time.Duration
}

// Output is one output of a Class: its type and the size of its value.
type Output struct {
	Type  string
	Bytes int64
}

var units = map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}

// ParseProfile parses a profile's JSON:
//
//	{"unit": "GiB", "classes": {"KSampler": {"outputs": [["LATENT", 0.001]], "work": 13.5, "ms": 2400, "output_node": false}}}
//
// The unit is B, KiB, MiB or GiB (default GiB); sizes are non-negative
// numbers of that unit, rounded to whole bytes. "ms" is the class's
// compute time per call in milliseconds (non-negative, at most a year;
// default 0). Unknown keys are errors.
func ParseProfile(data []byte) (*Profile, error) {
	var file struct {
		Unit    *string                    `json:"unit"`
		Classes map[string]json.RawMessage `json:"classes"`
	}
	if err := strict(data, &file); err != nil {
		return nil, fmt.Errorf("sim: profile: %w", err)
	}
	unit := "GiB"
	if file.Unit != nil {
		unit = *file.Unit
	}
	scale, ok := units[unit]
	if !ok {
		return nil, fmt.Errorf("sim: profile: unknown unit %q (want B, KiB, MiB or GiB)", unit)
	}
	if file.Classes == nil {
		return nil, errors.New(`sim: profile: no "classes" object`)
	}
	p := &Profile{Classes: make(map[string]Class, len(file.Classes))}
	for _, name := range slices.Sorted(maps.Keys(file.Classes)) {
		if name == "" {
			return nil, errors.New("sim: profile: empty class name")
		}
		c, err := parseClass(file.Classes[name], scale)
		if err != nil {
			return nil, fmt.Errorf("sim: profile: class %q: %w", name, err)
		}
		p.Classes[name] = c
	}
	return p, nil
}

func parseClass(data json.RawMessage, scale float64) (Class, error) {
	var raw struct {
		Outputs    []json.RawMessage `json:"outputs"`
		Work       *float64          `json:"work"`
		Ms         *float64          `json:"ms"`
		OutputNode bool              `json:"output_node"`
	}
	if err := strict(data, &raw); err != nil {
		return Class{}, err
	}
	c := Class{OutputNode: raw.OutputNode}
	if raw.Ms != nil {
		ms := *raw.Ms
		if !(ms >= 0) || ms > maxMs {
			return Class{}, fmt.Errorf("ms: %v out of range (want 0 to %v)", ms, float64(maxMs))
		}
		c.Time = time.Duration(math.Round(ms * float64(time.Millisecond)))
	}
	if raw.Work != nil {
		b, err := toBytes(*raw.Work, scale)
		if err != nil {
			return Class{}, fmt.Errorf("work: %w", err)
		}
		c.Work = b
	}
	for i, o := range raw.Outputs {
		out, err := parseOutput(o, scale)
		if err != nil {
			return Class{}, fmt.Errorf("outputs[%d]: %w", i, err)
		}
		c.Outputs = append(c.Outputs, out)
	}
	return c, nil
}

func parseOutput(data json.RawMessage, scale float64) (Output, error) {
	var pair []json.RawMessage
	var typ string
	var size float64
	if json.Unmarshal(data, &pair) != nil || len(pair) != 2 ||
		json.Unmarshal(pair[0], &typ) != nil || typ == "" ||
		json.Unmarshal(pair[1], &size) != nil || bytes.Equal(bytes.TrimSpace(pair[1]), []byte("null")) {
		return Output{}, fmt.Errorf("want [TYPE, size] with a non-empty type string and a number, got %s", data)
	}
	b, err := toBytes(size, scale)
	if err != nil {
		return Output{}, fmt.Errorf("%s: %w", typ, err)
	}
	return Output{Type: typ, Bytes: b}, nil
}

// maxMs bounds a class's time: a year, in milliseconds.
const maxMs = 365 * 24 * 3600 * 1000

func toBytes(size, scale float64) (int64, error) {
	b := math.Round(size * scale)
	switch {
	case size < 0:
		return 0, fmt.Errorf("negative size %v", size)
	case b >= math.MaxInt64/2:
		return 0, fmt.Errorf("size %v too large", size)
	}
	return int64(b), nil
}

// strict decodes one JSON value into v, rejecting unknown keys and
// trailing data.
func strict(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

// LoadProfile reads and parses the profile at path.
func LoadProfile(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	p, err := ParseProfile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Scale returns a copy of p with every size multiplied by f (rounded to
// whole bytes), to run a profile on a smaller or larger real card. f must
// be finite and non-negative, and no scaled size may overflow: Scale
// panics otherwise. Scaled checks the same and returns an error.
func (p *Profile) Scale(f float64) *Profile {
	q, err := p.Scaled(f)
	if err != nil {
		panic(err.Error())
	}
	return q
}

// Scaled is Scale with an error instead of a panic: for a factor that is
// NaN, infinite or negative, or that makes any size of the profile too
// large (as ParseProfile has it: 2^62 bytes or more), which would
// otherwise wrap into a negative allocation.
func (p *Profile) Scaled(f float64) (*Profile, error) {
	if !(f >= 0) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("sim: Profile.Scale(%v): factor must be finite and non-negative", f)
	}
	q := &Profile{Classes: make(map[string]Class, len(p.Classes))}
	for _, name := range slices.Sorted(maps.Keys(p.Classes)) {
		c := p.Classes[name]
		mul := func(what string, b int64) (int64, error) {
			x := math.Round(float64(b) * f)
			if x >= math.MaxInt64/2 {
				return 0, fmt.Errorf("sim: Profile.Scale(%v): class %q: %s of %d bytes becomes %g bytes, too large", f, name, what, b, x)
			}
			return int64(x), nil
		}
		var err error
		if c.Work, err = mul("work", c.Work); err != nil {
			return nil, err
		}
		c.Outputs = slices.Clone(c.Outputs)
		for i := range c.Outputs {
			if c.Outputs[i].Bytes, err = mul(fmt.Sprintf("output %d (%s)", i, c.Outputs[i].Type), c.Outputs[i].Bytes); err != nil {
				return nil, err
			}
		}
		q.Classes[name] = c
	}
	return q, nil
}

// Types returns a node type per class, sorted by class. The types declare
// no inputs (they accept any) and one output per Output, named by its
// type.
func (p *Profile) Types() []*engine.NodeType {
	types := make([]*engine.NodeType, 0, len(p.Classes))
	for _, name := range slices.Sorted(maps.Keys(p.Classes)) {
		c := p.Classes[name]
		c.Outputs = slices.Clone(c.Outputs)
		outs := make([]engine.OutputSpec, len(c.Outputs))
		for i, o := range c.Outputs {
			outs[i] = engine.OutputSpec{Name: o.Type, Type: o.Type}
		}
		types = append(types, &engine.NodeType{
			Class:  name,
			Schema: engine.Schema{Outputs: outs, OutputNode: c.OutputNode},
			Runner: &profileNode{class: name, c: c},
		})
	}
	return types
}

// Register adds the profile's classes to r, replacing types of the same
// class already there.
func (p *Profile) Register(r *engine.Registry) error {
	for _, t := range p.Types() {
		if err := r.Replace(t); err != nil {
			return err
		}
	}
	return nil
}

// profileNode runs one class of a profile.
type profileNode struct {
	class string
	c     Class
}

// Estimate is the class's sizes, so a run orders and admits its nodes
// exactly.
func (n *profileNode) Estimate(*engine.Node) (engine.Estimate, bool) {
	e := engine.Estimate{Work: n.c.Work, Time: n.c.Time}
	for _, o := range n.c.Outputs {
		e.Out += o.Bytes
	}
	return e, true
}

func (n *profileNode) Run(ctx context.Context, c *engine.Call) (engine.Result, error) {
	if n.c.Work > 0 {
		if _, err := c.Alloc(ctx, n.c.Work, "work"); err != nil {
			return engine.Result{}, fmt.Errorf("working memory: %w", err)
		}
	}
	outs := make([]any, len(n.c.Outputs))
	for i, o := range n.c.Outputs {
		b, err := c.Alloc(ctx, o.Bytes, o.Type)
		if err != nil {
			return engine.Result{}, fmt.Errorf("output %d (%s): %w", i, o.Type, err)
		}
		outs[i] = b
	}
	res := engine.Result{Outputs: outs}
	if n.c.OutputNode {
		res.UI = map[string][]any{"simulated": {n.class}}
	}
	return res, nil
}

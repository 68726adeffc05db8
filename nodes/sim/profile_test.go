package sim

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebbgraph/ebb/engine"
)

const (
	seedWorkflow = "../../workflows/seed-offload.json"
	seedProfile  = "../../workflows/seed-offload.profile.json"
)

func TestLoadSeedProfile(t *testing.T) {
	p, err := LoadProfile(seedProfile)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Classes) != 10 {
		t.Errorf("%d classes, want 10", len(p.Classes))
	}
	want := map[string]Class{
		"KSampler": {Outputs: []Output{{"LATENT", 1073742}}, Work: 27 << 29, Time: 12 * time.Second},
		"CheckpointLoaderSimple": {Outputs: []Output{
			{"MODEL", 5153960755}, // round(4.8 GiB)
			{"CLIP", 1717986918},
			{"VAE", 171798692},
		}, Time: 3500 * time.Millisecond},
		"LoadImage": {Outputs: []Output{{"IMAGE", 12884902}, {"MASK", 4294967}}, Time: 20 * time.Millisecond},
		"SaveImage": {OutputNode: true, Time: 50 * time.Millisecond},
	}
	for name, w := range want {
		if d := cmp.Diff(w, p.Classes[name]); d != "" {
			t.Errorf("class %s (-want +got):\n%s", name, d)
		}
	}
}

func TestParseProfileUnits(t *testing.T) {
	for unit, size := range map[string]int64{"B": 3, "KiB": 3 << 10, "MiB": 3 << 20, "GiB": 3 << 30, "": 3 << 30} {
		js := `{"classes": {"X": {"outputs": [["T", 3]], "work": 1.5}}}`
		if unit != "" {
			js = `{"unit": "` + unit + `", "classes": {"X": {"outputs": [["T", 3]], "work": 1.5}}}`
		}
		p, err := ParseProfile([]byte(js))
		if err != nil {
			t.Fatalf("unit %q: %v", unit, err)
		}
		work := size / 2
		if unit == "B" {
			work = 2 // 1.5 B rounds to 2
		}
		if got := p.Classes["X"]; got.Outputs[0].Bytes != size || got.Work != work {
			t.Errorf("unit %q: got %+v, want output %d work %d", unit, got, size, work)
		}
	}
}

func TestParseProfileErrors(t *testing.T) {
	for _, tc := range []struct{ js, want string }{
		{`{"classes": {`, "unexpected EOF"},
		{`[]`, "cannot unmarshal array"},
		{`{"classes": {}} {}`, "data after"},
		{`{"unit": "GB", "classes": {}}`, `unknown unit "GB"`},
		{`{"unit": "GiB"}`, `no "classes"`},
		{`{"unit": "GiB", "clases": {}}`, `unknown field "clases"`},
		{`{"classes": {"X": {"ouputs": []}}}`, `class "X": json: unknown field "ouputs"`},
		{`{"classes": {"X": {"work": -1}}}`, `class "X": work: negative size -1`},
		{`{"classes": {"X": {"ms": -1}}}`, `class "X": ms: -1 out of range`},
		{`{"classes": {"X": {"ms": 1e300}}}`, `class "X": ms: 1e+300 out of range`},
		{`{"classes": {"X": {"work": "1"}}}`, `class "X": json: cannot unmarshal string`},
		{`{"classes": {"X": {"outputs": [["T", -0.5]]}}}`, `class "X": outputs[0]: T: negative size -0.5`},
		{`{"classes": {"X": {"outputs": [["T", 1], ["U"]]}}}`, `class "X": outputs[1]: want [TYPE, size]`},
		{`{"classes": {"X": {"outputs": [[1, 1]]}}}`, `outputs[0]: want [TYPE, size]`},
		{`{"classes": {"X": {"outputs": [["T", "1"]]}}}`, `outputs[0]: want [TYPE, size]`},
		{`{"classes": {"X": {"outputs": [["T", null]]}}}`, `outputs[0]: want [TYPE, size]`},
		{`{"classes": {"X": {"outputs": [["", 1]]}}}`, `outputs[0]: want [TYPE, size]`},
		{`{"classes": {"X": {"outputs": [["T", 1, 2]]}}}`, `outputs[0]: want [TYPE, size]`},
		{`{"classes": {"X": {"outputs": ["T"]}}}`, `outputs[0]: want [TYPE, size]`},
		{`{"classes": {"X": {"outputs": [["T", 1e300]]}}}`, `too large`},
		{`{"classes": {"": {}}}`, `empty class name`},
	} {
		_, err := ParseProfile([]byte(tc.js))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "sim: profile: ") {
			t.Errorf("ParseProfile(%s) = %v, want an error containing %q", tc.js, err, tc.want)
		}
	}
}

func TestLoadProfileErrors(t *testing.T) {
	if _, err := LoadProfile(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
	path := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(path, []byte(`{"unit": "TB", "classes": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadProfile(path); err == nil || !strings.HasPrefix(err.Error(), path+": sim: profile: unknown unit") {
		t.Errorf("bad file: %v", err)
	}
}

func TestScale(t *testing.T) {
	p, err := ParseProfile([]byte(`{"unit": "B", "classes": {"X": {"outputs": [["T", 10], ["U", 3]], "work": 7}}}`))
	if err != nil {
		t.Fatal(err)
	}
	q := p.Scale(0.5)
	want := Class{Outputs: []Output{{"T", 5}, {"U", 2}}, Work: 4} // rounded half away from zero
	if d := cmp.Diff(want, q.Classes["X"]); d != "" {
		t.Errorf("Scale(0.5) (-want +got):\n%s", d)
	}
	if p.Classes["X"].Outputs[0].Bytes != 10 || p.Classes["X"].Work != 7 {
		t.Errorf("Scale changed the original: %+v", p.Classes["X"])
	}
	for _, f := range []float64{-1, math.NaN(), math.Inf(1)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Scale(%v) did not panic", f)
				}
			}()
			p.Scale(f)
		}()
	}
}

func TestProfileTypes(t *testing.T) {
	p, err := LoadProfile(seedProfile)
	if err != nil {
		t.Fatal(err)
	}
	types := p.Types()
	var classes []string
	for _, ty := range types {
		classes = append(classes, ty.Class)
		if len(ty.Schema.Inputs) != 0 {
			t.Errorf("%s declares inputs %v", ty.Class, ty.Schema.Inputs)
		}
	}
	if d := cmp.Diff([]string{
		"CLIPTextEncode", "CheckpointLoaderSimple", "ESAM_ModelLoader_Zho", "KSampler", "LoadImage",
		"SaveImage", "VAEDecode", "VAEEncodeForInpaint", "Yoloworld_ESAM_Zho", "Yoloworld_ModelLoader_Zho",
	}, classes); d != "" {
		t.Errorf("classes (-want +got):\n%s", d)
	}
	ckpt := types[1].Schema
	if d := cmp.Diff([]engine.OutputSpec{{Name: "MODEL", Type: "MODEL"}, {Name: "CLIP", Type: "CLIP"}, {Name: "VAE", Type: "VAE"}}, ckpt.Outputs); d != "" || ckpt.OutputNode {
		t.Errorf("CheckpointLoaderSimple schema: %+v", ckpt)
	}
	if s := types[5].Schema; !s.OutputNode || len(s.Outputs) != 0 {
		t.Errorf("SaveImage schema: %+v", s)
	}
}

func TestProfileRegisterReplaces(t *testing.T) {
	r := engine.NewRegistry()
	builtin := &engine.NodeType{Class: "SaveImage", Runner: engine.RunFunc(nil)}
	if err := r.Register(builtin); err != nil {
		t.Fatal(err)
	}
	p, err := LoadProfile(seedProfile)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Register(r); err != nil {
		t.Fatal(err)
	}
	if err := p.Register(r); err != nil {
		t.Errorf("registering twice: %v", err)
	}
	if got, _ := r.Lookup("SaveImage"); got == builtin || !got.Schema.OutputNode {
		t.Errorf("SaveImage was not replaced by the profile's")
	}
	if len(r.Classes()) != 10 {
		t.Errorf("classes %v", r.Classes())
	}
}

func TestAllocateVRAMSchema(t *testing.T) {
	r := engine.NewRegistry()
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	if err := Register(r); err == nil {
		t.Error("registering AllocateVRAM twice succeeded")
	}
	ty, ok := r.Lookup("AllocateVRAM")
	if !ok {
		t.Fatal("AllocateVRAM not registered")
	}
	want := engine.Schema{
		Inputs: []engine.InputSpec{
			{Name: "anything", Type: "*"},
			{Name: "size", Type: "FLOAT", Min: engine.F(0), Max: engine.F(1024), Step: 0.01, Default: 1.0},
		},
		Outputs: []engine.OutputSpec{{Name: "anything", Type: "*"}, {Name: "tensor", Type: "TENSOR"}},
	}
	if d := cmp.Diff(want, ty.Schema); d != "" {
		t.Errorf("schema (-want +got):\n%s", d)
	}
}

func TestParseProfileMs(t *testing.T) {
	p, err := ParseProfile([]byte(`{"classes": {"X": {"outputs": [["T", 1]], "ms": 2.5}, "Y": {}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Classes["X"].Time; got != 2500*time.Microsecond {
		t.Errorf("X: Time = %v, want 2.5ms", got)
	}
	if got := p.Classes["Y"].Time; got != 0 {
		t.Errorf("Y: Time = %v, want 0", got)
	}
	est, ok := p.Types()[0].Runner.(engine.Estimator).Estimate(&engine.Node{Class: "X"})
	if !ok || est.Time != 2500*time.Microsecond {
		t.Errorf("Estimate = %+v, %v; want Time 2.5ms", est, ok)
	}
	if q := p.Scale(2); q.Classes["X"].Time != p.Classes["X"].Time {
		t.Errorf("Scale changed Time: %v", q.Classes["X"].Time)
	}
}

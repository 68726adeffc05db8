package testpack_test

import (
	"context"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/nodes/testpack"
)

// fileEngine is an engine whose SaveImage and PreviewImage write files.
func fileEngine(t *testing.T) (*engine.Engine, testpack.ImageFiles) {
	t.Helper()
	dirs := testpack.ImageFiles{OutputDir: t.TempDir(), TempDir: t.TempDir()}
	reg := testpack.Registry()
	if err := testpack.ReplaceImageOutputs(reg, dirs); err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(engine.Options{Registry: reg, Cache: engine.CacheMode{Kind: engine.CacheNone}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, dirs
}

func saveWorkflow(t *testing.T, prefix string, value float64, batch int) engine.Workflow {
	t.Helper()
	wf, err := engine.DecodeWorkflow([]byte(`{
		"img": {"class_type": "StubConstantImage", "inputs": {"value": 0.5, "height": 3, "width": 5, "batch_size": 1}},
		"save": {"class_type": "SaveImage", "inputs": {"images": ["img", 0]}},
		"preview": {"class_type": "PreviewImage", "inputs": {"images": ["img", 0]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	wf["img"].Inputs["value"] = value
	wf["img"].Inputs["batch_size"] = int64(batch)
	wf["save"].Inputs["filename_prefix"] = prefix
	return wf
}

// SaveImage writes one PNG per image with ComfyUI's names and pixel rule;
// the counter continues from the files already there; PreviewImage writes
// to the temp directory.
func TestImageFilesWritePNGs(t *testing.T) {
	e, dirs := fileEngine(t)
	for run, want := range [][]string{{"sub/x_00001_.png", "sub/x_00002_.png"}, {"sub/x_00003_.png", "sub/x_00004_.png"}} {
		res, err := e.Run(context.Background(), saveWorkflow(t, "sub/x", 0.5, 2), engine.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		imgs := res.Outputs["save"]["images"]
		if len(imgs) != 2 {
			t.Fatalf("run %d: %d images", run, len(imgs))
		}
		for i, e := range imgs {
			m := e.(map[string]any)
			got := filepath.ToSlash(filepath.Join(m["subfolder"].(string), m["filename"].(string)))
			if got != want[i] || m["type"] != "output" || m["min"] != 127 {
				t.Errorf("run %d image %d: %v, want %s", run, i, m, want[i])
			}
			f, err := os.Open(filepath.Join(dirs.OutputDir, filepath.FromSlash(got)))
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != 5 || b.Dy() != 3 {
				t.Errorf("size %v", b)
			}
			r, g, bl, _ := img.At(4, 2).RGBA()
			if r>>8 != 127 || g>>8 != 127 || bl>>8 != 127 {
				t.Errorf("pixel %d %d %d, want 127 (0.5 truncated)", r>>8, g>>8, bl>>8)
			}
		}
		p := res.Outputs["preview"]["images"][0].(map[string]any)
		if p["type"] != "temp" {
			t.Errorf("preview entry %v", p)
		}
		if _, err := os.Stat(filepath.Join(dirs.TempDir, p["filename"].(string))); err != nil {
			t.Error(err)
		}
	}
}

// A prefix that leaves the output directory fails the node; nothing is
// written outside, also through a symlink.
func TestImageFilesStayInside(t *testing.T) {
	e, dirs := fileEngine(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dirs.OutputDir, "link")); err != nil {
		t.Skip("no symlinks:", err)
	}
	for _, prefix := range []string{"../x", "/abs/x", "a/../../x", "link/x"} {
		res, _ := e.Run(context.Background(), saveWorkflow(t, prefix, 1, 1), engine.RunOptions{})
		if res.Status != engine.StatusError {
			t.Errorf("prefix %q: status %s", prefix, res.Status)
		}
		var ne *engine.NodeError
		if !errors.As(res.Err, &ne) || ne.Node != "save" {
			t.Errorf("prefix %q: error %v", prefix, res.Err)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("files written outside: %v", ents)
	}
}

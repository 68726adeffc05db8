package testpack

import (
	"testing"
)

func TestSaveAndPreviewImage(t *testing.T) {
	batch, _ := Concat(NewImage(1, 4, 6), ConstantImage(1, 4, 6, 0.5))
	for _, class := range []string{"SaveImage", "PreviewImage"} {
		nt := nodeType(t, class)
		if !nt.Schema.OutputNode || len(nt.Schema.Outputs) != 0 {
			t.Errorf("%s: output node %v, %d outputs", class, nt.Schema.OutputNode, len(nt.Schema.Outputs))
		}
		r := mustCall(t, class, map[string]any{"images": batch, "filename_prefix": "x"})
		imgs := r.UI["images"]
		if len(imgs) != 2 || len(r.Outputs) != 0 {
			t.Fatalf("%s: UI %v, outputs %v", class, r.UI, r.Outputs)
		}
		e0, e1 := imgs[0].(map[string]any), imgs[1].(map[string]any)
		if e0["width"] != 6 || e0["height"] != 4 || e0["min"] != 0 || e0["max"] != 0 || e0["mean"] != 0.0 {
			t.Errorf("%s: image 0 %v", class, e0)
		}
		if e1["min"] != 127 || e1["max"] != 127 || e1["mean"] != 127.0 {
			t.Errorf("%s: image 1 %v", class, e1)
		}
		if _, err := call(t, class, map[string]any{"images": 1.0}); err == nil {
			t.Errorf("%s accepted a float", class)
		}
	}
	if in, _ := nodeType(t, "SaveImage").Schema.Input("filename_prefix"); in.Default != "ComfyUI" {
		t.Errorf("filename_prefix default %v", in.Default)
	}
}

func TestRebatchImages(t *testing.T) {
	nt := nodeType(t, "RebatchImages")
	if !nt.Schema.InputIsList || !nt.Schema.Outputs[0].IsList {
		t.Fatal("RebatchImages must take and return lists")
	}
	two, _ := Concat(NewImage(1, 2, 2), ConstantImage(1, 2, 2, 0.5))
	list := []any{two, ConstantImage(1, 2, 2, 1)}
	r := mustCall(t, "RebatchImages", map[string]any{"images": list, "batch_size": []any{int64(3)}})
	batches := r.Outputs[0].([]any)
	if len(batches) != 1 {
		t.Fatalf("%d batches, want 1", len(batches))
	}
	got := batches[0].(*Image).Pixels()
	if len(got) != 3 || got[0].Max != 0 || got[1].Max != 127 || got[2].Min != 255 {
		t.Errorf("rebatched %+v", got)
	}
	r = mustCall(t, "RebatchImages", map[string]any{"images": list, "batch_size": []any{int64(2)}})
	if b := r.Outputs[0].([]any); len(b) != 2 || b[0].(*Image).B != 2 || b[1].(*Image).B != 1 {
		t.Errorf("batch_size 2: %v", b)
	}
	if _, err := call(t, "RebatchImages", map[string]any{"images": []any{NewImage(1, 2, 2), NewImage(1, 3, 3)}, "batch_size": []any{int64(2)}}); err == nil {
		t.Error("rebatching different sizes into one batch succeeded")
	}
	if _, err := call(t, "RebatchImages", map[string]any{"images": list, "batch_size": []any{}}); err == nil {
		t.Error("missing batch_size accepted")
	}
}

package testpack

import (
	"context"
	"fmt"

	"github.com/ebbgraph/ebb/engine"
)

// The schemas of SaveImage and PreviewImage, shared with the versions
// that write files (ReplaceImageOutputs).
var (
	saveImageSchema = engine.Schema{
		Inputs: []engine.InputSpec{
			in("images", "IMAGE"),
			{Name: "filename_prefix", Type: "STRING", Optional: true, Default: "ComfyUI"},
		},
		OutputNode: true,
	}
	previewImageSchema = engine.Schema{Inputs: []engine.InputSpec{in("images", "IMAGE")}, OutputNode: true}
)

func imageOutputTypes() []*engine.NodeType {
	return []*engine.NodeType{
		// SaveImage writes no file here (ReplaceImageOutputs gives one that
		// does); filename_prefix is accepted and ignored (it is optional
		// here, required in ComfyUI).
		{Class: "SaveImage", Schema: saveImageSchema, Runner: engine.RunFunc(showImages)},
		{Class: "PreviewImage", Schema: previewImageSchema, Runner: engine.RunFunc(showImages)},
		{
			// RebatchImages is ComfyUI's ImageRebatch: every image of every
			// list item, regrouped into batches of batch_size.
			Class: "RebatchImages",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					in("images", "IMAGE"),
					intIn("batch_size", 1, 1, MaxImageBatch),
				},
				Outputs:     []engine.OutputSpec{{Name: "IMAGE", Type: "IMAGE", IsList: true}},
				InputIsList: true,
			},
			Runner: engine.RunFunc(rebatch),
		},
	}
}

// showImages is SaveImage and PreviewImage: a UI entry per image of the
// batch (see PixelStats.UI).
func showImages(_ context.Context, c *engine.Call) (engine.Result, error) {
	m, err := asImage(c.Inputs["images"], "images")
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Result{UI: ImagesUI(m)}, nil
}

// ImagesUI is the UI result of SaveImage and PreviewImage for m.
func ImagesUI(m *Image) map[string][]any {
	var entries []any
	for _, s := range m.Pixels() {
		entries = append(entries, s.UI())
	}
	return map[string][]any{"images": entries}
}

func rebatch(ctx context.Context, c *engine.Call) (engine.Result, error) {
	items, _ := c.Inputs["images"].([]any)
	sizes, _ := c.Inputs["batch_size"].([]any)
	if len(sizes) == 0 {
		return engine.Result{}, fmt.Errorf("batch_size: no value")
	}
	size, err := engine.AsInt(sizes[0])
	if err != nil || size < 1 {
		return engine.Result{}, fmt.Errorf("batch_size: want a positive integer, got %v", sizes[0])
	}
	if size > MaxImageBatch { // a linked value: validation bounds literals
		return engine.Result{}, fmt.Errorf("batch_size: %w: %d is over the limit of %d", ErrImageTooLarge, size, MaxImageBatch)
	}
	var frames []*Image
	for i, it := range items {
		m, err := asImage(it, fmt.Sprintf("images[%d]", i))
		if err != nil {
			return engine.Result{}, err
		}
		for b := range m.B {
			frames = append(frames, m.Frame(b))
		}
	}
	var batches []any
	alloc := callAlloc(ctx, c)
	step := int(size)
	for i := 0; i < len(frames); i += step {
		batch, err := concat(alloc, frames[i:min(i+step, len(frames))]...)
		if err != nil {
			return engine.Result{}, err
		}
		batches = append(batches, batch)
	}
	if batches == nil {
		batches = []any{}
	}
	return engine.Outputs(batches), nil
}

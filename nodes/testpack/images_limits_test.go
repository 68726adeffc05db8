package testpack

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
)

// runOn runs wf at parallelism 1 on a fresh engine over dev and checks
// that the device holds nothing afterwards. It returns the result and the
// bytes the Go heap allocated during the run.
func runOn(t *testing.T, dev device.Device, wf engine.Workflow) (*engine.RunResult, uint64) {
	t.Helper()
	e, err := engine.New(engine.Options{Registry: Registry(), Device: dev, Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, _ := e.Run(ctx, wf, engine.RunOptions{})
	runtime.ReadMemStats(&after)
	if res == nil {
		t.Fatal("no result")
	}
	if in := dev.Stats().InUse; in != 0 {
		t.Errorf("the device holds %d bytes after the run", in)
	}
	if err := e.Close(); err != nil {
		t.Error(err)
	}
	return res, after.TotalAlloc - before.TotalAlloc
}

func decode(t *testing.T, js string) engine.Workflow {
	t.Helper()
	wf, err := engine.DecodeWorkflow([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

// nodeErr returns res's error as a *engine.NodeError of node id.
func nodeErr(t *testing.T, res *engine.RunResult, id engine.NodeID) *engine.NodeError {
	t.Helper()
	var ne *engine.NodeError
	if res.Status != engine.StatusError || !errors.As(res.Err, &ne) || ne.Node != id {
		t.Fatalf("status %s, error %v: want a failure of node %s", res.Status, res.Err, id)
	}
	return ne
}

// TestHugeStubImageIsInvalid: issue 12's StubImage sizes (2^30 x 2^36 x
// 2^30 crashed the process with SaveImage allocating 40 GiB of statistics;
// 2^30 x 2^33 x 2^30 a recovered panic) are validation errors now.
func TestHugeStubImageIsInvalid(t *testing.T) {
	for _, size := range [][3]int64{{1 << 30, 1 << 36, 1 << 30}, {1 << 30, 1 << 33, 1 << 30}, {MaxImageSide + 1, 8, 1}, {8, MaxImageSide + 1, 1}, {8, 8, MaxImageBatch + 1}} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			wf := decode(t, fmt.Sprintf(`{"i":{"class_type":"StubImage","inputs":{"content":"WHITE","height":%d,"width":%d,"batch_size":%d}},
				"out":{"class_type":"SaveImage","inputs":{"images":["i",0]}}}`, size[0], size[1], size[2]))
			res, _ := runOn(t, device.NewSim(0), wf)
			if res.Status != engine.StatusInvalid {
				t.Fatalf("status %s (%v), want invalid", res.Status, res.Err)
			}
			var bad []string
			for _, ve := range res.NodeErrors["i"].Errors {
				if ve.Type == "value_bigger_than_max" {
					bad = append(bad, ve.Input)
				}
			}
			var want []string
			for i, name := range []string{"height", "width", "batch_size"} {
				if size[i] > []int64{MaxImageSide, MaxImageSide, MaxImageBatch}[i] {
					want = append(want, name)
				}
			}
			slices.Sort(bad)
			slices.Sort(want)
			if !slices.Equal(bad, want) {
				t.Errorf("value_bigger_than_max on %v, want %v (errors %+v)", bad, want, res.NodeErrors["i"])
			}
		})
	}
}

// withSink adds an output node reading node "i" (a StubMask through a
// lazy mix of 8x8 images).
func withSink(wf engine.Workflow, class string) engine.Workflow {
	wf["out"] = &engine.Node{Class: "SaveImage", Inputs: map[string]any{"images": engine.Ref{Node: "i"}}}
	if class == "StubMask" {
		wf["out"].Inputs["images"] = engine.Ref{Node: "mix"}
		wf["image"] = &engine.Node{Class: "StubImage", Inputs: map[string]any{"content": "WHITE", "height": int64(8), "width": int64(8), "batch_size": int64(1)}}
		wf["mix"] = &engine.Node{Class: "TestLazyMixImages", Inputs: map[string]any{"image1": engine.Ref{Node: "image"}, "image2": engine.Ref{Node: "image"}, "mask": engine.Ref{Node: "i"}}}
	}
	return wf
}

// stubInputs are the inputs of a stub of class but its sizes.
func stubInputs(class string) map[string]any {
	if class == "StubImage" {
		return map[string]any{"content": "NOISE"}
	}
	return map[string]any{"value": 0.5}
}

// TestHugeLinkedSizes: sizes from links skip validation; the stubs check
// them when they run.
func TestHugeLinkedSizes(t *testing.T) {
	for _, input := range []string{"height", "width", "batch_size"} {
		for _, class := range []string{"StubImage", "StubConstantImage", "StubMask"} {
			inputs := stubInputs(class)
			inputs["height"], inputs["width"], inputs["batch_size"] = int64(8), int64(8), int64(1)
			inputs[input] = engine.Ref{Node: "n"}
			wf := withSink(engine.Workflow{
				"n": {Class: "StubInt", Inputs: map[string]any{"value": int64(0xffffffff)}},
				"i": {Class: class, Inputs: inputs},
			}, class)
			res, alloc := runOn(t, device.NewSim(0), wf)
			ne := nodeErr(t, res, "i")
			if !errors.Is(res.Err, ErrImageTooLarge) || ne.Type != engine.TypeExecution {
				t.Errorf("%s %s: %v (type %s), want an execution_error wrapping ErrImageTooLarge", class, input, res.Err, ne.Type)
			}
			if alloc > 1<<30 {
				t.Errorf("%s %s: the run allocated %s", class, input, device.FormatBytes(int64(alloc)))
			}
		}
	}
}

// TestImageMemoryGoesThroughTheDevice: issue 12's 16384x16384 batch of 4
// (12 GiB of float32 values) took 12.9 GB of host memory under a 1 GiB
// device. It is over MaxImageBytes now: out_of_memory (the host's) with or
// without a device limit. An image under MaxImageBytes is reserved on the
// device before it is made: under 1 GiB, 3 GiB fails with the device's
// out_of_memory, before any host allocation.
func TestImageMemoryGoesThroughTheDevice(t *testing.T) {
	for _, class := range []string{"StubImage", "StubConstantImage", "StubMask"} {
		for _, c := range []struct {
			batch    int64
			capacity int64
			device   bool // the device's error, else the host limit's
		}{{4, device.GiB, false}, {4, 0, false}, {1, device.GiB, true}} {
			bytes := c.batch * 16384 * 16384 * 4
			if class == "StubMask" {
				c.batch += 1 // 2 GiB and 5 GiB
				bytes = c.batch * 16384 * 16384 * 4
			} else {
				bytes *= 3
			}
			inputs := stubInputs(class)
			inputs["height"], inputs["width"], inputs["batch_size"] = int64(16384), int64(16384), c.batch
			wf := withSink(engine.Workflow{"i": {Class: class, Inputs: inputs}}, class)
			dev := device.NewSim(c.capacity)
			res, alloc := runOn(t, dev, wf)
			ne := nodeErr(t, res, "i")
			what := fmt.Sprintf("%s of %s on a device of %s", class, device.FormatBytes(bytes), device.FormatBytes(c.capacity))
			if ne.Type != engine.TypeOutOfMemory {
				t.Errorf("%s: %v (type %s), want out_of_memory", what, res.Err, ne.Type)
			}
			var oom *device.OutOfMemoryError
			if c.device && (!errors.As(res.Err, &oom) || oom.Requested != bytes) {
				t.Errorf("%s: %v, want the device's error asking for %d bytes", what, res.Err, bytes)
			}
			if !c.device && !errors.Is(res.Err, ErrImageTooLarge) {
				t.Errorf("%s: %v, want ErrImageTooLarge", what, res.Err)
			}
			if alloc > 1<<30 {
				t.Errorf("%s: the run allocated %s on the host", what, device.FormatBytes(int64(alloc)))
			}
			if res.Stats.PeakBytes != 0 { // nothing reserved, not even for the host limit's failure
				t.Errorf("%s: peak %d", what, res.Stats.PeakBytes)
			}
			if err := dev.Close(); err != nil {
				t.Error(err)
			}
		}
	}
}

// TestNodesReserveTheirImages: every node that makes an image reserves its
// bytes on the device, and the image holds the reservation as long as a
// slot holds the image, so the run's peak is the images live at once (at
// level 2: the largest node's input and output images) and the device
// holds nothing afterwards.
func TestNodesReserveTheirImages(t *testing.T) {
	const img, big = 8 * 8 * 3 * 4, 512 * 512 * 3 * 4
	ref := func(id string) engine.Ref { return engine.Ref{Node: engine.NodeID(id)} }
	stub := func(content string, batch int64) *engine.Node {
		return &engine.Node{Class: "StubImage", Inputs: map[string]any{"content": content, "height": int64(8), "width": int64(8), "batch_size": batch}}
	}
	save := func(id string) *engine.Node {
		return &engine.Node{Class: "SaveImage", Inputs: map[string]any{"images": ref(id)}}
	}
	for _, c := range []struct {
		name string
		wf   engine.Workflow
		peak int64
	}{
		{"StubImage", engine.Workflow{"a": stub("NOISE", 2), "out": save("a")}, 2 * img},
		{"StubConstantImage", engine.Workflow{"a": {Class: "StubConstantImage", Inputs: map[string]any{"value": 0.5, "height": int64(8), "width": int64(8), "batch_size": int64(3)}}, "out": save("a")}, 3 * img},
		{"StubMask+TestLazyMixImages", engine.Workflow{
			"a": stub("WHITE", 1), "b": stub("BLACK", 1),
			"m":   {Class: "StubMask", Inputs: map[string]any{"value": 0.5, "height": int64(8), "width": int64(8), "batch_size": int64(4)}},
			"mix": {Class: "TestLazyMixImages", Inputs: map[string]any{"image1": ref("a"), "image2": ref("b"), "mask": ref("m")}},
			"out": save("mix"),
		}, 2*img + 4*8*8*4 + 4*img}, // a, b, the mask and the mix of 4
		{"TestVariadicAverage", engine.Workflow{"a": stub("WHITE", 1), "b": stub("BLACK", 1),
			"avg": {Class: "TestVariadicAverage", Inputs: map[string]any{"input1": ref("a"), "input2": ref("b")}}, "out": save("avg")}, 3 * img},
		{"TestOutputNodeWithSocketOutput", engine.Workflow{"a": stub("WHITE", 1),
			"out": {Class: "TestOutputNodeWithSocketOutput", Inputs: map[string]any{"image": ref("a"), "value": 0.5}}}, 2 * img},
		{"TestIsChangedWithConstants", engine.Workflow{"a": stub("WHITE", 1),
			"s": {Class: "TestIsChangedWithConstants", Inputs: map[string]any{"image": ref("a"), "value": 0.5}}, "out": save("s")}, 2 * img},
		{"TestCustomValidation1 image", engine.Workflow{"a": stub("WHITE", 1),
			"v": {Class: "TestCustomValidation1", Inputs: map[string]any{"input1": ref("a"), "input2": 0.5}}, "out": save("v")}, 2 * img},
		{"TestCustomValidation1 images", engine.Workflow{"a": stub("WHITE", 1), "b": stub("WHITE", 3),
			"v": {Class: "TestCustomValidation1", Inputs: map[string]any{"input1": ref("a"), "input2": ref("b")}}, "out": save("v")}, 7 * img},
		{"TestCustomValidation4", engine.Workflow{
			"v": {Class: "TestCustomValidation4", Inputs: map[string]any{"input1": 0.5, "input2": 0.5}}, "out": save("v")}, big},
		{"TestMixedExpansionReturns", engine.Workflow{
			"v": {Class: "TestMixedExpansionReturns", Inputs: map[string]any{"input1": 0.1}}, "out": save("v")}, 2 * big},
		{"RebatchImages", engine.Workflow{"a": stub("WHITE", 3), "b": stub("BLACK", 2),
			"l":   {Class: "TestMakeListNode", Inputs: map[string]any{"value1": ref("a"), "value2": ref("b")}},
			"r":   {Class: "RebatchImages", Inputs: map[string]any{"images": ref("l"), "batch_size": int64(4)}},
			"out": save("r")}, 10 * img}, // a, b, and batches of 4 and 1
	} {
		t.Run(c.name, func(t *testing.T) {
			res, _ := runOn(t, device.NewSim(0), c.wf)
			if res.Status != engine.StatusSuccess {
				t.Fatalf("status %s: %v", res.Status, res.Err)
			}
			if res.Stats.PeakBytes != c.peak {
				t.Errorf("peak %d bytes, want %d", res.Stats.PeakBytes, c.peak)
			}
			// One byte less and the live images do not fit.
			res, _ = runOn(t, device.NewSim(c.peak-1), c.wf)
			if !errors.Is(res.Err, device.ErrOutOfMemory) {
				t.Errorf("under %d bytes: status %s, %v; want out of memory", c.peak-1, res.Status, res.Err)
			}
		})
	}
}

func TestTensorBytes(t *testing.T) {
	for _, c := range []struct {
		b, h, w, ch int
		want        int64
	}{
		{1, 8, 8, 3, 768}, {2, 8, 8, 0, 512}, {0, 8, 8, 3, 0},
		{MaxImageBatch, MaxImageSide, MaxImageSide, 3, MaxImageBatch * MaxImageSide * MaxImageSide * 12},
	} {
		if got, err := tensorBytes(c.b, c.h, c.w, c.ch); err != nil || got != c.want {
			t.Errorf("tensorBytes(%d,%d,%d,%d) = %d, %v; want %d", c.b, c.h, c.w, c.ch, got, err, c.want)
		}
	}
	for _, s := range [][4]int{{1 << 30, 1 << 30, 1 << 36, 3}, {1 << 30, 1 << 33, 1 << 30, 3}, {1 << 62, 1, 1, 0}} {
		if _, err := tensorBytes(s[0], s[1], s[2], s[3]); !errors.Is(err, ErrImageTooLarge) || !errors.Is(err, ErrIntOverflow) {
			t.Errorf("tensorBytes%v: %v, want ErrImageTooLarge and ErrIntOverflow", s, err)
		}
	}
	if _, err := tensorBytes(1, -1, 1, 3); err == nil {
		t.Error("a negative height has a size")
	}
	// The exported operations check MaxImageBytes before allocating.
	if _, err := hostAlloc(MaxImageBatch, MaxImageSide, MaxImageSide, 3); !errors.Is(err, ErrImageTooLarge) {
		t.Errorf("a 12 TiB tensor: %v", err)
	}
}

// TestMalformedImages: an *Image made outside the pack (a literal of a
// workflow built in Go) whose shape is absurd or does not match its data
// is an error, not a panic or an allocation sized by the shape: SaveImage
// used to allocate 40 GiB of statistics for an empty image of 2^30 frames.
func TestMalformedImages(t *testing.T) {
	good := ConstantImage(1, 2, 2, 0.5)
	for _, m := range []*Image{
		{B: 1 << 30, H: 0, W: 5, C: 3},
		{B: 1, H: MaxImageSide + 1, W: 0, C: 3},
		{B: 1, H: 2, W: 2, C: 3, Data: make([]float32, 5)},
		{B: 2, H: 2, W: 2, C: 3, Data: make([]float32, 12)},
		{B: -1, H: 2, W: 2, C: 3},
	} {
		for _, c := range []struct {
			class  string
			inputs map[string]any
		}{
			{"SaveImage", map[string]any{"images": m}},
			{"PreviewImage", map[string]any{"images": m}},
			{"TestCustomValidation1", map[string]any{"input1": m, "input2": good}},
			{"TestCustomValidation1", map[string]any{"input1": 2.0, "input2": m}},
			{"TestVariadicAverage", map[string]any{"input1": good, "input2": m}},
			{"TestOutputNodeWithSocketOutput", map[string]any{"image": m, "value": 1.0}},
			{"TestLazyMixImages", map[string]any{"image1": good, "image2": m, "mask": ConstantMask(1, 2, 2, 0.5)}},
			{"RebatchImages", map[string]any{"images": []any{m}, "batch_size": []any{int64(1)}}},
		} {
			if _, err := call(t, c.class, c.inputs); err == nil {
				t.Errorf("%s accepted %v with %d values", c.class, m, len(m.Data))
			}
		}
	}
	mask := &Image{B: 1 << 30, H: 0, W: 5}
	if _, err := call(t, "TestLazyMixImages", map[string]any{"mask": mask}); err == nil {
		t.Error("TestLazyMixImages accepted an absurd mask")
	}
	// RebatchImages bounds a linked batch_size as validation bounds a literal.
	if _, err := call(t, "RebatchImages", map[string]any{"images": []any{good}, "batch_size": []any{int64(MaxImageBatch + 1)}}); !errors.Is(err, ErrImageTooLarge) {
		t.Errorf("batch_size %d: %v", MaxImageBatch+1, err)
	}
}

// Images a run keeps stay counted on the device, not only while the node
// that made them runs: four images read by one average (and its output)
// need five at once, so a device one byte short of that fails with out of
// memory, before any of them could pile up in host memory uncounted.
func TestHeldImagesCountOnTheDevice(t *testing.T) {
	const img = 8 * 8 * 3 * 4
	ref := func(id string) engine.Ref { return engine.Ref{Node: engine.NodeID(id)} }
	wf := engine.Workflow{
		"avg": {Class: "TestVariadicAverage", Inputs: map[string]any{"input1": ref("a"), "input2": ref("b"), "input3": ref("c"), "input4": ref("d")}},
		"out": {Class: "SaveImage", Inputs: map[string]any{"images": ref("avg")}},
	}
	for _, id := range []string{"a", "b", "c", "d"} {
		wf[engine.NodeID(id)] = &engine.Node{Class: "StubImage", Inputs: map[string]any{"content": "WHITE", "height": int64(8), "width": int64(8), "batch_size": int64(1)}}
	}
	if res, _ := runOn(t, device.NewSim(5*img), wf); res.Status != engine.StatusSuccess || res.Stats.DevicePeakBytes != 5*img {
		t.Fatalf("on 5 images: status %s (%v), device peak %d", res.Status, res.Err, res.Stats.DevicePeakBytes)
	}
	if res, _ := runOn(t, device.NewSim(5*img-1), wf); !errors.Is(res.Err, device.ErrOutOfMemory) {
		t.Errorf("one byte short: status %s, %v; want out of memory", res.Status, res.Err)
	}
}

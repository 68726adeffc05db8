package expand_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
)

// bufferTypes: Alloc(bytes) -> a new *engine.Buffer; Touch(buf) checks the
// buffer is live and passes it through (the same value).
func bufferTypes() []*engine.NodeType {
	return []*engine.NodeType{
		{
			Class:  "Alloc",
			Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "bytes", Type: "INT"}}, Outputs: []engine.OutputSpec{{Name: "BUF", Type: "BUF"}}},
			Runner: engine.RunFunc(func(ctx context.Context, c *engine.Call) (engine.Result, error) {
				n, err := c.Int("bytes")
				if err != nil {
					return engine.Result{}, err
				}
				b, err := c.Alloc(ctx, n, "loop value")
				return engine.Outputs(b), err
			}),
		},
		{
			Class:  "Touch",
			Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "buf", Type: "*"}}, Outputs: []engine.OutputSpec{{Name: "BUF", Type: "*"}}},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				b, ok := c.Inputs["buf"].(*engine.Buffer)
				if !ok {
					return engine.Result{}, fmt.Errorf("buf: got %T", c.Inputs["buf"])
				}
				return engine.Outputs(b), b.Check()
			}),
		},
	}
}

// TestRunLoopCarriesBuffer carries device memory through a while loop as a
// loop value (the open clone gets it as a literal input, as in ComfyUI):
// every policy reads it live and frees it exactly once.
func TestRunLoopCarriesBuffer(t *testing.T) {
	reg := testRegistry(t, bufferTypes()...)
	wf := countdown(4)
	wf["alloc"] = &engine.Node{Class: "Alloc", Inputs: map[string]any{"bytes": int64(1 << 20)}}
	wf["open"].Inputs["initial_value1"] = ref("alloc", 0)
	wf["touch"] = &engine.Node{Class: "Touch", Inputs: map[string]any{"buf": ref("open", 2)}}
	wf["close"].Inputs["initial_value1"] = ref("touch", 0)
	wf["tag"].Class = "Touch"
	wf["tag"].Inputs = map[string]any{"buf": ref("close", 1)}
	wf["last"] = &engine.Node{Class: "Show", Inputs: map[string]any{"value": ref("tag", 0)}}
	for _, pol := range policies() {
		dev := device.NewSim(4 << 20)
		e, err := engine.New(engine.Options{Registry: reg, Device: dev, Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Run(context.Background(), wf, engine.RunOptions{Policy: &pol}); err != nil {
			t.Errorf("%v: %v", pol, err)
			continue
		}
		if st := dev.Stats(); st.InUse != 0 || st.Peak != 1<<20 {
			t.Errorf("%v: device in use %d peak %d after the run, want 0 and 1 MiB", pol, st.InUse, st.Peak)
		}
	}
}

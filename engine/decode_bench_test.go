package engine_test

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"github.com/ebbgraph/ebb/engine"
)

// chainJSON is an API-format workflow of n nodes in a line, written the way
// ComfyUI exports them ("inputs" first, indented, _meta titles): a few
// classes, 1-3 inputs each, one link and a literal or two per node.
func chainJSON(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 140)
	b.WriteString("{\n")
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		id := strconv.Itoa(i)
		prev := strconv.Itoa(i - 1)
		fmt.Fprintf(&b, "  %q: {\n    \"inputs\": {", id)
		switch {
		case i == 0:
			b.WriteString(`"content": "BLACK", "height": 8, "width": 8`)
		case i%3 == 0:
			fmt.Fprintf(&b, `"image": [%q, 0], "value": %d.5`, prev, i%7)
		case i%3 == 1:
			fmt.Fprintf(&b, `"images": [%q, 0], "batch_size": %d, "mode": "add"`, prev, 1+i%4)
		default:
			fmt.Fprintf(&b, `"images": [%q, 0]`, prev)
		}
		class := [...]string{"TestOutputNodeWithSocketOutput", "RebatchImages", "ImageInvert"}[i%3]
		if i == 0 {
			class = "StubImage"
		}
		fmt.Fprintf(&b, "},\n    \"class_type\": %q", class)
		if i%2 == 0 {
			fmt.Fprintf(&b, ",\n    \"_meta\": {\"title\": %q}", class)
		}
		b.WriteString("\n  }")
	}
	b.WriteString("\n}\n")
	return b.Bytes()
}

// BenchmarkDecodeWorkflow reports the cost of decoding a workflow per node:
// time (ns/node), bytes allocated (alloc-B/node) and bytes the decoded
// Workflow keeps alive once garbage is collected (retained-B/node).
func BenchmarkDecodeWorkflow(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		data := chainJSON(n)
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			var ms runtime.MemStats
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&ms)
			before := ms.HeapAlloc
			wf, err := engine.DecodeWorkflow(data)
			if err != nil || len(wf) != n {
				b.Fatalf("%v (%d nodes)", err, len(wf))
			}
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&ms)
			retained := float64(ms.HeapAlloc) - float64(before)
			runtime.KeepAlive(wf)
			wf = nil

			b.SetBytes(int64(len(data)))
			runtime.ReadMemStats(&ms)
			alloc0 := ms.TotalAlloc
			b.ResetTimer()
			for b.Loop() {
				if _, err := engine.DecodeWorkflow(data); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/node")
			b.ReportMetric(float64(ms.TotalAlloc-alloc0)/float64(b.N)/float64(n), "alloc-B/node")
			b.ReportMetric(retained/float64(n), "retained-B/node")
			b.ReportMetric(float64(len(data))/float64(n), "file-B/node")
		})
	}
}

// TestChainJSONDecodes keeps the benchmark's workflow honest: it decodes to
// the chain it describes.
func TestChainJSONDecodes(t *testing.T) {
	wf, err := engine.DecodeWorkflow(chainJSON(10))
	if err != nil {
		t.Fatal(err)
	}
	if len(wf) != 10 {
		t.Fatalf("%d nodes, want 10", len(wf))
	}
	for i := 1; i < 10; i++ {
		n := wf[engine.NodeID(strconv.Itoa(i))]
		var link engine.Ref
		for _, v := range n.Inputs {
			if r, ok := v.(engine.Ref); ok {
				link = r
			}
		}
		if link != (engine.Ref{Node: engine.NodeID(strconv.Itoa(i - 1))}) {
			t.Errorf("node %d: link %v", i, link)
		}
	}
	if wf["0"].Title != "StubImage" || wf["3"].Inputs["value"] != 3.5 || wf["4"].Inputs["batch_size"] != int64(1) {
		t.Errorf("unexpected nodes: %+v %+v %+v", wf["0"], wf["3"], wf["4"])
	}
}

package main

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/ebbgraph/ebb/engine"
)

// The generated chain is a workflow of n+2 nodes, each linked to the one
// before.
func TestWriteChain(t *testing.T) {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	writeChain(w, 5)
	w.Flush()
	wf, err := engine.DecodeWorkflow(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(wf) != 7 || wf["out"].Inputs["images"] != (engine.Ref{Node: "4"}) || wf["0"].Inputs["anything"] != (engine.Ref{Node: "s"}) {
		t.Fatalf("unexpected chain: %d nodes, out %v, 0 %v", len(wf), wf["out"].Inputs, wf["0"].Inputs)
	}
}

func TestTimev(t *testing.T) {
	report := `	Command being timed: "ebb run --json chain.json"
	User time (seconds): 1.50
	System time (seconds): 0.50
	Elapsed (wall clock) time (h:mm:ss or m:ss): 0:02.00
	Maximum resident set size (kbytes): 2000
	Exit status: 0
`
	var out strings.Builder
	if err := cmdTimev(strings.NewReader(report), &out, []string{"BenchmarkEbbRun/nodes=8", "1000"}); err != nil {
		t.Fatal(err)
	}
	want := "BenchmarkEbbRun/nodes=8 1 2000000000 ns/op 2000000.0 ns/node 2000000.0 cpu-ns/node 2048.0 rss-B/node 2.0 rss-MB\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	if err := cmdTimev(strings.NewReader(strings.Replace(report, "Exit status: 0", "Exit status: 1", 1)), &out, []string{"B", "1"}); err == nil {
		t.Error("a failed command gave no error")
	}
}

func TestMedianAndTable(t *testing.T) {
	r := &results{metrics: map[string][]string{}, samples: map[string]map[string][]float64{}}
	in := `BenchmarkX/nodes=10-2   5   100 ns/op   10 ns/node
BenchmarkX/nodes=10-2   5   300 ns/op   30 ns/node
BenchmarkX/nodes=10-2   5   200 ns/op   20 ns/node
BenchmarkX/nodes=1000-2   1   40000 ns/op   40 ns/node
not a benchmark line
`
	if err := r.parse(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if m, n := r.median("BenchmarkX/nodes=10", "ns/node"); m != 20 || n != 3 {
		t.Errorf("median %v of %d samples, want 20 of 3", m, n)
	}
	var out strings.Builder
	r.printScaling(&out)
	if !strings.Contains(out.String(), "| BenchmarkX/nodes=N | ns/node | 1000 / 10 | 40.0 | 20.0 | 2.00 |") {
		t.Errorf("scaling table:\n%s", out.String())
	}
}

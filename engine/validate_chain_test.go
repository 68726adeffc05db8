// validate_chain_test.go: long chains and rings: validation's reports and cost at scale.

package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// vtChain is img -> Pass x n -> Save, ids "p0".."p<n-1>".
func vtChain(n int) Workflow {
	wf := make(Workflow, n+2)
	wf["img"] = vtImage("WHITE")
	prev := NodeID("img")
	for i := range n {
		id := NodeID("p" + strconv.Itoa(i))
		wf[id] = vn("Pass", "image", vl(prev, 0))
		prev = id
	}
	wf["save"] = vn("Save", "images", vl(prev, 0))
	return wf
}

func TestValidateLongChain(t *testing.T) {
	const n = 100_000
	reg := vtRegistry()
	wf := vtChain(n)
	start := time.Now()
	v, err := validate(reg, wf, nil)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]NodeID{"save"}, v.outputs); d != "" || len(v.errs) != 0 || v.size() != n+2 {
		t.Fatalf("outputs diff %s, %d errors, %d nodes", d, len(v.errs), v.size())
	}
	if elapsed > 10*time.Second {
		t.Errorf("validating a %d-node chain took %v", n, elapsed)
	}
	t.Logf("validated a %d-node chain in %v", n, elapsed)

	// A failure at the far end invalidates the output and is reported once.
	wf["p0"] = vn("Pass", "image", vl("gone", 0))
	_, err = validate(reg, wf, nil)
	var pe *PromptError
	if !errors.As(err, &pe) || pe.Type != TypeOutputsFailed {
		t.Fatalf("got %v; want %s", err, TypeOutputsFailed)
	}
	if d := cmp.Diff(map[NodeID][]string{"p0": {TypeBadLinkedInput}}, errTypes(pe.Nodes)); d != "" {
		t.Fatalf("errors (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]NodeID{"save"}, pe.Nodes["p0"].DependentOutputs); d != "" {
		t.Fatalf("dependent outputs (-want +got):\n%s", d)
	}

	// A ring of n nodes is one cycle, reported on every member with the
	// cycle's names abbreviated; "a -> b" reads "a takes an input from b".
	wf["p0"] = vn("Pass", "image", vl(NodeID("p"+strconv.Itoa(n-1)), 0))
	_, err = validate(reg, wf, nil)
	if !errors.As(err, &pe) || pe.Type != TypeOutputsFailed {
		t.Fatalf("got %v; want %s", err, TypeOutputsFailed)
	}
	if len(pe.Nodes) != n {
		t.Fatalf("%d nodes with errors, want %d", len(pe.Nodes), n)
	}
	if lines := strings.Count(pe.Details, "\n") + 1; lines != maxDetailLines+1 || !strings.HasSuffix(pe.Details, fmt.Sprintf("... and %d more errors", n-maxDetailLines)) {
		t.Errorf("prompt details have %d lines, ending %q", lines, pe.Details[max(0, len(pe.Details)-60):])
	}
	details := pe.Nodes["p5"].Errors[0].Details
	if pe.Nodes["p5"].Errors[0].Type != TypeCycle || !strings.HasPrefix(details, "p0 (Pass) -> p99999 (Pass) -> p99998 (Pass) -> ") ||
		!strings.HasSuffix(details, " -> p1 (Pass) -> p0 (Pass)") || !strings.Contains(details, "more)") || len(details) > 400 {
		t.Fatalf("cycle details %q", details)
	}
}

// BenchmarkValidateChain reports validation's share of BenchmarkChain:
// ns per node of validating a chain.
func BenchmarkValidateChain(b *testing.B) {
	reg := vtRegistry()
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		wf := vtChain(n)
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := validate(reg, wf, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/node")
		})
	}
}

// BenchmarkWalkChain is the baseline for BenchmarkValidateChain: the least
// any validator does, visit every node of the workflow map once and look up
// each linked id in it. Its ns/node grows with the map, as validation's does.
func BenchmarkWalkChain(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		wf := vtChain(n)
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			for b.Loop() {
				found := 0
				for _, nd := range wf {
					for _, val := range nd.Inputs {
						if r, ok := val.(Ref); ok {
							if _, ok := wf[r.Node]; ok {
								found++
							}
						}
					}
				}
				if found != n+1 {
					b.Fatalf("%d links found, want %d", found, n+1)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/node")
		})
	}
}

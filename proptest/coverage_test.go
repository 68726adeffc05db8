package proptest

import (
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/ebbgraph/ebb/policy"
)

// TestGeneratorCoverage guards the generator against degenerating: over
// the checks, workflows must expand, loop, take lazy branches, map lists,
// fail, re-execute under reexecute, fail under restrict and hit the cache.
// It logs what it saw (go test -v) and fails only when a feature never
// shows up in at least 50 checks.
func TestGeneratorCoverage(t *testing.T) {
	var n, nodes int
	seen := map[string]int{}
	rapid.Check(t, func(t *rapid.T) {
		spec := Workflows(defaultGen()).Draw(t, "workflow")
		t.Logf("workflow: %v", spec)
		orc := oracleFor(t, spec)
		n++
		nodes += len(spec.WF)
		for what, ok := range map[string]bool{
			"expansion":           len(orc.Expansions) > 0,
			"loop":                len(spec.Loops) > 0 && orc.Runs[spec.Loops[0]] > 0,
			"lazy":                spec.Lazy,
			"list":                spec.Lists,
			"injected failure":    len(orc.Failed) > 0,
			"cancellation":        len(orc.Cancelled)+len(orc.SoftCancelled) > 0,
			"restrict violation":  len(orc.Violations) > 0,
			"NotReexecutable":     spec.NoRe,
			"several outputs":     len(spec.Outputs) > 1,
			"nested expansion":    nestedExpansion(orc),
			"late edge in reach":  lateEdgeInReach(spec),
			"late edge out of it": len(spec.Outside) > 0,
		} {
			if ok {
				seen[what]++
			}
		}
		h := newHarness(t, config{cache: cacheClassic, par: 1})
		out := h.run(t, spec.WF, policy.Policy{Level: policy.ReleaseDead, Strategy: policy.Reexecute})
		if knownBug(out) != "" {
			return
		}
		if out.res.Stats.Reexecutions > 0 {
			seen["re-execution"]++
		}
		if out.res.Stats.Releases > 0 {
			seen["release"]++
		}
		out = h.run(t, spec.WF, policy.Policy{Level: policy.ReleaseDead, Strategy: policy.Restrict})
		if knownBug(out) == "" && out.res.Stats.CacheHits > 0 {
			seen["cache hit"]++
		}
	})
	t.Logf("%d workflows, %.1f nodes on average; checks showing each feature: %v; runs excused as known engine bugs so far: %d",
		n, float64(nodes)/float64(max(n, 1)), seen, knownBugRuns.Load())
	if n < 50 {
		return
	}
	for _, what := range []string{"expansion", "loop", "lazy", "list", "injected failure", "cancellation", "restrict violation",
		"NotReexecutable", "several outputs", "nested expansion", "late edge in reach", "late edge out of it",
		"re-execution", "release", "cache hit"} {
		if seen[what] == 0 {
			t.Errorf("no workflow in %d showed %s", n, what)
		}
	}
}

// nestedExpansion: an expanded node expanded in turn.
func nestedExpansion(orc *OracleResult) bool {
	for id := range orc.Expansions {
		if strings.Contains(string(id), ".") {
			return true
		}
	}
	return false
}

// lateEdgeInReach: a PExpand links to a node it depends on.
func lateEdgeInReach(spec *Spec) bool {
	for _, id := range spec.Expanders {
		s, _ := spec.WF[id].Inputs["links"].(string)
		links, _ := ParseLinks(s)
		if len(links) > len(spec.Outside[id]) {
			return true
		}
	}
	return false
}

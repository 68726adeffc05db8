package workflows_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/workflows"
)

// The bundled files are copies of the project's shared reference files.
func TestMatchesShared(t *testing.T) {
	for name, data := range map[string][]byte{"seed-offload.json": workflows.SeedWorkflow, "seed-offload.profile.json": workflows.SeedProfile} {
		shared, err := os.ReadFile(filepath.Join("..", "..", "shared", "workflows", name))
		if err != nil {
			t.Skipf("no ../shared to compare with: %v", err)
		}
		if !bytes.Equal(shared, data) {
			t.Errorf("workflows/%s differs from ../shared/workflows/%s", name, name)
		}
	}
}

func TestSeedDecodes(t *testing.T) {
	wf, err := engine.DecodeWorkflow(workflows.SeedWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	if len(wf) != 14 || wf["24"].Class != "KSampler" {
		t.Errorf("seed workflow: %d nodes, node 24 is %v", len(wf), wf["24"])
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestSeedCopies checks that the embedded copies of the seed workflow and
// its profile are the repository's workflows/seed-offload*.json.
func TestSeedCopies(t *testing.T) {
	for _, name := range []string{"seed-offload.json", "seed-offload.profile.json"} {
		orig, err := os.ReadFile(filepath.Join("..", "..", "workflows", name))
		if err != nil {
			t.Fatal(err)
		}
		cp, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(orig, cp) {
			t.Errorf("testdata/%s differs from workflows/%s: copy it again", name, name)
		}
	}
}

// TestRunFiles plans the repository's files through the command line path.
func TestRunFiles(t *testing.T) {
	var fromFiles, embedded bytes.Buffer
	dir := filepath.Join("..", "..", "workflows")
	if err := runFiles(&fromFiles, []string{filepath.Join(dir, "seed-offload.json"), filepath.Join(dir, "seed-offload.profile.json"), "22GiB"}); err != nil {
		t.Fatal(err)
	}
	if err := run(&embedded); err != nil {
		t.Fatal(err)
	}
	if fromFiles.String() != embedded.String() {
		t.Errorf("files:\n%s\nembedded:\n%s", fromFiles.String(), embedded.String())
	}
}

package main

import (
	"bytes"
	"path/filepath"
	"testing"
)

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

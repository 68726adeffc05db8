package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildEbb builds the command into a temporary directory.
func buildEbb(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build ebb with")
	}
	bin := filepath.Join(t.TempDir(), "ebb")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// SIGTERM ends a run as SIGINT does: the run is cancelled, the result
// says interrupted, and ebb exits with status 1 (not killed by the signal).
func TestSignalsInterrupt(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM to send on Windows")
	}
	bin := buildEbb(t)
	for _, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "run", "--json", "--events", "--parallel", "1", "testdata/slow.json")
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until the 60 s TestSleep node runs, keeping stderr drained.
			sleeping := make(chan struct{})
			var events bytes.Buffer
			done := make(chan struct{})
			go func() {
				defer close(done)
				sc := bufio.NewScanner(stderr)
				once := false
				for sc.Scan() {
					line := sc.Text()
					events.WriteString(line + "\n")
					if !once && strings.Contains(line, `"type":"executing"`) && strings.Contains(line, `"node":"2"`) {
						once = true
						close(sleeping)
					}
				}
			}()
			select {
			case <-sleeping:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("the slow node never started")
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			waited := make(chan error, 1)
			go func() { <-done; waited <- cmd.Wait() }()
			var werr error
			select {
			case werr = <-waited:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("ebb did not end after the signal")
			}
			var ee *exec.ExitError
			if !errors.As(werr, &ee) || ee.ExitCode() != exitFailed {
				t.Errorf("exit %v, want status 1\nstderr:\n%s", werr, events.String())
			}
			var runs []map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &runs); err != nil || len(runs) != 1 {
				t.Fatalf("stdout is not one run's JSON (%v):\n%s", err, stdout.String())
			}
			e, _ := runs[0]["error"].(map[string]any)
			if runs[0]["status"] != "interrupted" || e == nil || e["type"] != "interrupted" {
				t.Errorf("status %v error %v, want interrupted", runs[0]["status"], runs[0]["error"])
			}
		})
	}
}

// fail.go: how commands fail: usage and internal errors, exit statuses,
// recovered panics, and the JSON error document of --json.

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ebbgraph/ebb/engine"
)

// Error types of the CLI's own errors, next to the engine's.
const (
	typeUsage        = "usage"
	typeFileTooLarge = "file_too_large"
)

// usageError is a problem with the command line or its input files: exit
// status 2.
type usageError struct {
	err   error
	quiet bool   // already reported (by the flag package)
	typ   string // error type under --json; "" is typeUsage
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error {
	return &usageError{err: fmt.Errorf(format, a...)}
}

// errFailed says a run failed; what went wrong was already printed.
var errFailed = errors.New("a run failed")

// errInternalRun says a run failed with an internal error (a bug in ebb);
// what went wrong was already printed.
var errInternalRun = errors.New("a run failed with an internal error")

// errHelp says -h was asked for and usage was printed.
var errHelp = errors.New("help shown")

// panicError is a panic of the command itself, recovered: a bug in ebb.
type panicError struct{ value any }

func (e *panicError) Error() string {
	return fmt.Sprintf("internal error (a bug in ebb: please report it with the command line and this message): panic: %v", e.value)
}

// safeRun runs c, turning a panic into a *panicError. The stack is not
// printed: the message names the panic, which is what a report needs
// along with the command line.
func safeRun(ctx context.Context, c command, args []string, stdout, stderr io.Writer) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v}
		}
	}()
	return c.run(ctx, args, stdout, stderr)
}

func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	var pe *panicError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, errInternalRun):
		return exitInternal
	case errors.Is(err, errFailed):
		return exitFailed
	case errors.As(err, &ue):
		if !ue.quiet {
			fmt.Fprintf(stderr, "ebb: %v\n", err)
		}
		return exitUsage
	case errors.As(err, &pe), errors.Is(err, engine.ErrInternal):
		fmt.Fprintf(stderr, "ebb: %v\n", err)
		return exitInternal
	}
	fmt.Fprintf(stderr, "ebb: %v\n", err)
	return exitFailed
}

// errorDoc is what --json prints for a command that failed before it
// could print its own result: a usage error, an internal error, or a
// failure outside any run (a device that does not open).
type errorDoc struct {
	Status engine.Status `json:"status"`
	Error  *errorJSON    `json:"error"`
}

// errorDocOf classifies err for the error document.
func errorDocOf(err error) errorDoc {
	var ue *usageError
	var pe *panicError
	switch {
	case errors.As(err, &ue):
		typ := ue.typ
		if typ == "" {
			typ = typeUsage
		}
		return errorDoc{Status: engine.StatusInvalid, Error: &errorJSON{Type: typ, Message: err.Error()}}
	case errors.As(err, &pe):
		return errorDoc{Status: engine.StatusError, Error: &errorJSON{Type: engine.TypeInternal, Message: err.Error()}}
	}
	e := errorOf(err)
	status := engine.StatusError
	if e.Type == engine.TypeInterrupted {
		status = engine.StatusInterrupted
	}
	return errorDoc{Status: status, Error: e}
}

func writeErrorJSON(w io.Writer, err error) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(errorDocOf(err)) // nothing else to report it to
}

// wantsJSON says whether args ask for --json (before any "--"), whether or
// not they parse: usage errors are reported in JSON too.
func wantsJSON(args []string) bool {
	want := false // the last --json wins, as for the flag package
	for _, a := range args {
		if a == "--" {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "json" {
			continue
		}
		b, err := strconv.ParseBool(val)
		want = !hasVal || err == nil && b
	}
	return want
}

// countingWriter counts what was written, so that dispatch knows whether
// a command printed its result before it failed.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

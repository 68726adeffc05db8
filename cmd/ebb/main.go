// Command ebb runs ComfyUI API-format workflows on the ebb engine, predicts
// their memory at every release level, and draws them.
//
//	ebb run WORKFLOW.json [more.json ...]   run workflows on one engine
//	ebb plan WORKFLOW.json                  simulate every level and strategy
//	ebb demo                                plan the bundled seed workflow
//	ebb dot WORKFLOW.json                   print the graph in Graphviz DOT
//	ebb version                             print the version
//
// Exit status: 0 when everything succeeded, 1 when a run failed, 2 for
// usage errors (bad flags, unreadable or malformed files).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	programName = "ebb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := runCtx(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command with a background context: tests call it
// in-process.
func run(args []string, stdout, stderr io.Writer) int {
	return runCtx(context.Background(), args, stdout, stderr)
}

// command is one subcommand.
type command struct {
	name    string
	args    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "WORKFLOW.json [more.json ...]", "run workflows in order on one engine (the cache carries over)", cmdRun},
		{"plan", "WORKFLOW.json", "simulate a workflow at every release level and strategy", cmdPlan},
		{"demo", "", "plan the bundled seed workflow on a 22 GiB device", cmdDemo},
		{"dot", "WORKFLOW.json", "print the workflow graph in Graphviz DOT", cmdDot},
		{"version", "", "print ebb's version", cmdVersion},
		{"help", "[COMMAND]", "show help for ebb or a command", nil},
	}
}

func runCtx(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			// "ebb help run" is "ebb run -h".
			return runCtx(ctx, []string{rest[0], "-h"}, stdout, stderr)
		}
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name != name || c.run == nil {
			continue
		}
		err := c.run(ctx, rest, stdout, stderr)
		return exitCode(err, stderr)
	}
	fmt.Fprintf(stderr, "ebb: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "ebb runs node workflows forward and releases what nothing will read again.\n\n")
	fmt.Fprintf(w, "Usage:\n  ebb COMMAND [flags] [arguments]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %-30s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'ebb COMMAND -h' for a command's flags. Exit status: 0 success, 1 a run failed, 2 usage error.\n")
}

// usageError is a problem with the command line or its input files: exit
// status 2.
type usageError struct {
	err   error
	quiet bool // already reported (by the flag package)
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error {
	return &usageError{err: fmt.Errorf(format, a...)}
}

// errFailed says a run failed; what went wrong was already printed.
var errFailed = errors.New("a run failed")

// errHelp says -h was asked for and usage was printed.
var errHelp = errors.New("help shown")

func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, errFailed):
		return exitFailed
	case errors.As(err, &ue):
		if !ue.quiet {
			fmt.Fprintf(stderr, "ebb: %v\n", err)
		}
		return exitUsage
	}
	fmt.Fprintf(stderr, "ebb: %v\n", err)
	return exitFailed
}

// newFlagSet returns a FlagSet that reports to stderr and does not exit.
func newFlagSet(name, args, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(programName+" "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ebb %s [flags] %s\n\n%s\n", name, args, summary)
		var n int
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintf(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args allowing flags after positional arguments
// ("ebb plan wf.json --profile p.json"); everything after "--" is
// positional. It returns the positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			// The flag package already printed the problem and the usage.
			return nil, &usageError{err: err, quiet: true}
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func cmdVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "", "Print ebb's module version (\"devel\" for a build from a checkout).", stderr)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("version takes no arguments (got %s)", strings.Join(pos, " "))
	}
	fmt.Fprintf(stdout, "ebb %s\n", version())
	return nil
}

func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return "devel"
	}
	return bi.Main.Version
}

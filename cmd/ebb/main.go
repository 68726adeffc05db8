// Command ebb runs ComfyUI API-format workflows on the ebb engine, predicts
// their memory at every release level, and draws them.
//
//	ebb run WORKFLOW.json [more.json ...]   run workflows on one engine
//	ebb plan WORKFLOW.json                  simulate every level and strategy
//	ebb demo                                plan the bundled seed workflow
//	ebb dot WORKFLOW.json                   print the graph in Graphviz DOT
//	ebb serve [--listen 127.0.0.1:8188]     serve ComfyUI's HTTP/WebSocket API and a page
//	ebb submit WORKFLOW.json --server URL   run workflows on a server
//	ebb worker --nats URL                   run a server's prompts from NATS JetStream
//	ebb version                             print the version
//
// Exit status: 0 when everything succeeded, 1 when a run failed, 2 for
// usage errors (bad flags, unreadable, oversized or malformed files), 3 for
// an internal failure (a bug in ebb: a crash of the command, or a run that
// failed with engine.ErrInternal). Under --json, stdout is always one JSON
// document, errors included.
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
	"syscall"
)

// Exit statuses.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitInternal = 3
	programName  = "ebb"
)

// stopSignals end a run cleanly: the run is cancelled, reports
// "interrupted" and ebb exits with status 1.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
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
		{"serve", "[--listen ADDR]", "serve ComfyUI's HTTP and WebSocket API, and a page, on one engine", cmdServe},
		{"submit", "WORKFLOW.json [more.json ...]", "run workflows on a server (--server URL), print results as run does", cmdSubmit},
		{"worker", "--nats URL", "run prompts from a NATS JetStream queue that ebb serve feeds, on one engine", cmdWorker},
		{"version", "", "print ebb's version", cmdVersion},
		{"help", "[COMMAND]", "show help for ebb or a command", nil},
	}
}

func runCtx(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return dispatch(ctx, commands(), args, stdout, stderr)
}

// dispatch runs the command args[0] of cmds. A panic in the command is
// recovered and reported as an internal error (exit status 3); under
// --json, a command that failed without writing stdout gets an error
// document there, so that stdout is always one JSON document.
func dispatch(ctx context.Context, cmds []command, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			// "ebb help run" is "ebb run -h".
			return dispatch(ctx, cmds, []string{rest[0], "-h"}, stdout, stderr)
		}
		usage(stdout)
		return exitOK
	}
	for _, c := range cmds {
		if c.name != name || c.run == nil {
			continue
		}
		out := &countingWriter{w: stdout}
		err := safeRun(ctx, c, rest, out, stderr)
		code := exitCode(err, stderr)
		if code != exitOK && out.n == 0 && wantsJSON(rest) {
			writeErrorJSON(stdout, err)
		}
		return code
	}
	fmt.Fprintf(stderr, "ebb: unknown command %q\n\n", name)
	usage(stderr)
	if wantsJSON(rest) {
		writeErrorJSON(stdout, usagef("unknown command %q", name))
	}
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "ebb runs node workflows forward and releases what nothing will read again.\n\n")
	fmt.Fprintf(w, "Usage:\n  ebb COMMAND [flags] [arguments]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %-30s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'ebb COMMAND -h' for a command's flags. Exit status: 0 success, 1 a run failed, 2 usage error, 3 internal error (a bug in ebb).\n")
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

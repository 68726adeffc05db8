// Command benchtab is the helper of scripts/bench.sh: it generates the
// workflows the CLI benchmarks run, turns /usr/bin/time -v reports into
// benchmark lines, and prints the medians of `go test -bench` output as
// markdown tables.
//
//	benchtab gen chain N            a chain of N AllocateVRAM nodes, as JSON, on stdout
//	benchtab timev NAME NODES       read `/usr/bin/time -v` output on stdin, print a benchmark line
//	benchtab table [-ratio SPEC]... FILE...
//	                                medians of every benchmark and metric in the files
//	benchtab compare BASE NEW       medians of two files side by side, and their ratio
//
// A ratio SPEC is "METRIC:A / B" with A and B benchmark names without
// their -GOMAXPROCS suffix, e.g.
// "ns/node:BenchmarkChain/nodes=1000000/level=2 / BenchmarkChain/nodes=1000000/level=0".
// Benchmarks run at several sizes (a nodes=N or iterations=N part) also
// get the per-node metric at the largest size over the smallest.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = cmdGen(os.Stdout, os.Args[2:])
	case "timev":
		err = cmdTimev(os.Stdin, os.Stdout, os.Args[2:])
	case "table":
		err = cmdTable(os.Stdout, os.Args[2:])
	case "compare":
		err = cmdCompare(os.Stdout, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtab:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchtab gen chain N | timev NAME NODES | table [-ratio 'METRIC:A / B']... FILE... | compare BASE NEW")
	os.Exit(2)
}

// cmdGen writes a generated workflow.
func cmdGen(w io.Writer, args []string) error {
	if len(args) != 2 || args[0] != "chain" {
		return fmt.Errorf("gen: want: gen chain N")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 1 {
		return fmt.Errorf("gen chain %q: want a positive node count", args[1])
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	writeChain(bw, n)
	return bw.Flush()
}

// writeChain writes a chain of n AllocateVRAM nodes (size 0) from a
// StubImage to a SaveImage: n+2 nodes, the shape of docs/cli.md's memory
// figures. Sizes are written 0 (an INT literal for a FLOAT input), as
// ComfyUI's exports often have them.
func writeChain(w *bufio.Writer, n int) {
	w.WriteString("{\n")
	w.WriteString(`"s": {"class_type": "StubImage", "inputs": {"content": "BLACK", "height": 8, "width": 8, "batch_size": 1}},` + "\n")
	prev := "s"
	var b []byte
	for i := range n {
		b = b[:0]
		b = append(b, '"')
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `": {"class_type": "AllocateVRAM", "inputs": {"anything": ["`...)
		b = append(b, prev...)
		b = append(b, `", 0], "size": 0}},`+"\n"...)
		w.Write(b)
		prev = strconv.Itoa(i)
	}
	fmt.Fprintf(w, `"out": {"class_type": "SaveImage", "inputs": {"images": [%q, 0]}}`+"\n}\n", prev)
}

// cmdTimev turns a /usr/bin/time -v report into a benchmark line: the
// wall time, and per node the time and the maximum resident set.
func cmdTimev(r io.Reader, w io.Writer, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("timev: want: timev NAME NODES")
	}
	nodes, err := strconv.ParseFloat(args[1], 64)
	if err != nil || nodes <= 0 {
		return fmt.Errorf("timev: bad node count %q", args[1])
	}
	var wall, user, sys, rssKB float64
	var status = -1
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ": ")
		if !ok {
			continue
		}
		switch k {
		case "Elapsed (wall clock) time (h:mm:ss or m:ss)":
			wall, err = clock(v)
		case "User time (seconds)":
			user, err = strconv.ParseFloat(v, 64)
		case "System time (seconds)":
			sys, err = strconv.ParseFloat(v, 64)
		case "Maximum resident set size (kbytes)":
			rssKB, err = strconv.ParseFloat(v, 64)
		case "Exit status":
			status, err = strconv.Atoi(v)
		}
		if err != nil {
			return fmt.Errorf("timev: %s: %v", k, err)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if status != 0 || wall == 0 {
		return fmt.Errorf("timev: %s: the command failed (exit status %d) or no report was read", args[0], status)
	}
	fmt.Fprintf(w, "%s 1 %.0f ns/op %.1f ns/node %.1f cpu-ns/node %.1f rss-B/node %.1f rss-MB\n",
		args[0], wall*1e9, wall*1e9/nodes, (user+sys)*1e9/nodes, rssKB*1024/nodes, rssKB/1024)
	return nil
}

// clock parses h:mm:ss or m:ss.ss into seconds.
func clock(s string) (float64, error) {
	var t float64
	for part := range strings.SplitSeq(s, ":") {
		f, err := strconv.ParseFloat(part, 64)
		if err != nil {
			return 0, err
		}
		t = 60*t + f
	}
	return t, nil
}

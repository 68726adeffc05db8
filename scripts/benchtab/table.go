package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// results holds every sample of every benchmark and metric, in the order
// first seen.
type results struct {
	names   []string
	metrics map[string][]string             // per benchmark, its metrics in order
	samples map[string]map[string][]float64 // benchmark -> metric -> samples
}

// procSuffix is the -GOMAXPROCS suffix of a benchmark name.
var procSuffix = regexp.MustCompile(`-\d+$`)

// parse reads `go test -bench` lines (and benchtab timev lines): a name
// starting with "Benchmark", an iteration count, then value-unit pairs.
func (r *results) parse(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(f[0], "")
		if r.samples[name] == nil {
			r.names = append(r.names, name)
			r.samples[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			unit := f[i+1]
			if r.samples[name][unit] == nil {
				r.metrics[name] = append(r.metrics[name], unit)
			}
			r.samples[name][unit] = append(r.samples[name][unit], v)
		}
	}
	return sc.Err()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func (r *results) median(name, metric string) (float64, int) {
	xs := r.samples[name][metric]
	return median(xs), len(xs)
}

// family is a benchmark's top-level name.
func family(name string) string {
	f, _, _ := strings.Cut(name, "/")
	return f
}

// load reads the benchmark lines of files.
func load(files ...string) (*results, error) {
	r := &results{metrics: map[string][]string{}, samples: map[string]map[string][]float64{}}
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		err = r.parse(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
	}
	return r, nil
}

// cmdCompare prints, for every benchmark and metric measured in both
// files, the base median, the new median and new/base.
func cmdCompare(w io.Writer, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("compare: want: compare BASE NEW")
	}
	base, err := load(args[0])
	if err != nil {
		return err
	}
	cur, err := load(args[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n### Before and after (medians; runs alternated, so both saw the same load)\n\n")
	fmt.Fprintf(w, "| benchmark | metric | before | after | after/before |\n|---|---|---:|---:|---:|\n")
	for _, n := range cur.names {
		for _, m := range cur.metrics[n] {
			if m == "MB/s" || m == "file-B/node" || m == "rss-MB" || m == "ns/op" && len(cur.metrics[n]) > 1 && hasPerNode(cur.metrics[n]) {
				continue
			}
			a, k := base.median(n, m)
			b, _ := cur.median(n, m)
			if k == 0 {
				continue
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %.2f |\n", n, m, format(a), format(b), b/a)
		}
	}
	return nil
}

func hasPerNode(ms []string) bool {
	for _, m := range ms {
		if strings.HasSuffix(m, "/node") || strings.HasSuffix(m, "/iteration") {
			return true
		}
	}
	return false
}

func cmdTable(w io.Writer, args []string) error {
	var ratios []string
	var files []string
	for i := 0; i < len(args); i++ {
		if args[i] == "-ratio" && i+1 < len(args) {
			ratios = append(ratios, args[i+1])
			i++
			continue
		}
		files = append(files, args[i])
	}
	r, err := load(files...)
	if err != nil {
		return err
	}
	r.printTables(w)
	r.printScaling(w)
	return r.printRatios(w, ratios)
}

// printTables prints one table per benchmark family: a row per
// benchmark, the median of each metric (n = samples).
func (r *results) printTables(w io.Writer) {
	var fams []string
	for _, n := range r.names {
		if f := family(n); !slices.Contains(fams, f) {
			fams = append(fams, f)
		}
	}
	for _, fam := range fams {
		var rows, cols []string
		for _, n := range r.names {
			if family(n) != fam {
				continue
			}
			rows = append(rows, n)
			for _, m := range r.metrics[n] {
				if !slices.Contains(cols, m) {
					cols = append(cols, m)
				}
			}
		}
		fmt.Fprintf(w, "\n### %s\n\n| benchmark | n |", fam)
		for _, c := range cols {
			fmt.Fprintf(w, " %s |", c)
		}
		fmt.Fprintf(w, "\n|---|---|%s\n", strings.Repeat("---:|", len(cols)))
		for _, n := range rows {
			sub := strings.TrimPrefix(strings.TrimPrefix(n, fam), "/")
			if sub == "" {
				sub = fam
			}
			_, cnt := r.median(n, r.metrics[n][0])
			fmt.Fprintf(w, "| %s | %d |", sub, cnt)
			for _, c := range cols {
				if m, k := r.median(n, c); k > 0 {
					fmt.Fprintf(w, " %s |", format(m))
				} else {
					fmt.Fprint(w, " |")
				}
			}
			fmt.Fprintln(w)
		}
	}
}

// sizeParam matches the size parameter of a benchmark name.
var sizeParam = regexp.MustCompile(`(nodes|iterations)=(\d+)`)

// printScaling prints, for benchmarks run at several sizes, the per-node
// (or per-iteration) metric at the largest size over the smallest: 1.0 is
// flat.
func (r *results) printScaling(w io.Writer) {
	type group struct {
		pattern string
		metric  string
		sizes   []int
		names   []string
	}
	var groups []*group
	find := func(p, m string) *group {
		for _, g := range groups {
			if g.pattern == p && g.metric == m {
				return g
			}
		}
		g := &group{pattern: p, metric: m}
		groups = append(groups, g)
		return g
	}
	for _, n := range r.names {
		loc := sizeParam.FindStringSubmatchIndex(n)
		if loc == nil {
			continue
		}
		size, _ := strconv.Atoi(n[loc[4]:loc[5]])
		pattern := n[:loc[4]] + "N" + n[loc[5]:]
		for _, m := range r.metrics[n] {
			if strings.HasSuffix(m, "/node") || strings.HasSuffix(m, "/iteration") {
				g := find(pattern, m)
				g.sizes = append(g.sizes, size)
				g.names = append(g.names, n)
			}
		}
	}
	first := true
	for _, g := range groups {
		if len(g.sizes) < 2 {
			continue
		}
		lo, hi := 0, 0
		for i, s := range g.sizes {
			if s < g.sizes[lo] {
				lo = i
			}
			if s > g.sizes[hi] {
				hi = i
			}
		}
		a, _ := r.median(g.names[hi], g.metric)
		b, _ := r.median(g.names[lo], g.metric)
		if first {
			fmt.Fprintf(w, "\n### Scaling (largest size / smallest, same run; 1.00 is flat)\n\n")
			fmt.Fprintf(w, "| benchmark | metric | sizes | largest | smallest | ratio |\n|---|---|---|---:|---:|---:|\n")
			first = false
		}
		fmt.Fprintf(w, "| %s | %s | %d / %d | %s | %s | %.2f |\n", g.pattern, g.metric, g.sizes[hi], g.sizes[lo], format(a), format(b), a/b)
	}
}

// printRatios prints the ratios asked for: "METRIC:A / B".
func (r *results) printRatios(w io.Writer, specs []string) error {
	if len(specs) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\n### Ratios (same run)\n\n| ratio | metric | value |\n|---|---|---:|\n")
	for _, s := range specs {
		metric, pair, ok := strings.Cut(s, ":")
		a, b, ok2 := strings.Cut(pair, " / ")
		if !ok || !ok2 {
			return fmt.Errorf("bad -ratio %q: want 'METRIC:A / B'", s)
		}
		x, n := r.median(a, metric)
		y, m := r.median(b, metric)
		if n == 0 || m == 0 {
			fmt.Fprintf(w, "| %s / %s | %s | (not measured) |\n", a, b, metric)
			continue
		}
		fmt.Fprintf(w, "| %s / %s | %s | %.2f |\n", a, b, metric, x/y)
	}
	return nil
}

// format writes a median with three significant digits or more.
func format(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "-"
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

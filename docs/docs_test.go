// Package docs_test checks the Markdown in docs/ and the README against the
// code: every Go block in them is a snippet cut from a compiled source file,
// blocks that show a file or a program's output match it, and relative
// links lead somewhere.
//
// In a Go source file (an example program or an Example test), a snippet is
// the lines between
//
//	// snippet:NAME
//	...
//	// end-snippet
//
// with their common indentation removed. In Markdown, a comment line names
// what the fenced block after it must be:
//
//	<!-- snippet: NAME -->      the snippet NAME (the block must be ```go)
//	<!-- file: PATH -->         the whole file PATH (from the repository root)
//	<!-- output: examples/X --> consecutive lines of examples/X/testdata/golden.txt
//
// A ```go block without a snippet comment is an error: Go in the docs must
// compile. When a snippet's source changes, copy it into the doc again.
package docs_test

import (
	"bufio"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const root = ".."

// snippet is one marked region of a source file.
type snippet struct {
	text string
	pos  string // file:line of the marker
}

// sourceSnippets collects the snippets of every Go file in the repository.
func sourceSnippets(t *testing.T) map[string]snippet {
	t.Helper()
	snips := map[string]snippet{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, e := range parseSnippets(path, string(data), snips) {
			t.Error(e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snips
}

// parseSnippets adds the snippets of one file to snips and returns the
// problems found.
func parseSnippets(path, src string, snips map[string]snippet) []string {
	var errs []string
	var name, start string
	var body []string
	for i, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		pos := fmt.Sprintf("%s:%d", rel(path), i+1)
		switch {
		case strings.HasPrefix(trimmed, "// snippet:"):
			if name != "" {
				errs = append(errs, fmt.Sprintf("%s: snippet inside snippet %q (from %s)", pos, name, start))
			}
			name, start, body = strings.TrimSpace(strings.TrimPrefix(trimmed, "// snippet:")), pos, nil
			if name == "" {
				errs = append(errs, pos+": snippet without a name")
			}
		case trimmed == "// end-snippet":
			if name == "" {
				errs = append(errs, pos+": end-snippet without a snippet")
				continue
			}
			if prev, ok := snips[name]; ok {
				errs = append(errs, fmt.Sprintf("%s: snippet %q already defined at %s", start, name, prev.pos))
			} else {
				snips[name] = snippet{text: dedent(body), pos: start}
			}
			name = ""
		case name != "":
			body = append(body, line)
		}
	}
	if name != "" {
		errs = append(errs, fmt.Sprintf("%s: snippet %q has no end-snippet", start, name))
	}
	return errs
}

// dedent removes the indentation common to the non-blank lines and the
// blank lines at both ends.
func dedent(lines []string) string {
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	prefix := ""
	first := true
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		ind := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if first {
			prefix, first = ind, false
			continue
		}
		for !strings.HasPrefix(ind, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimPrefix(l, prefix)
		if strings.TrimSpace(out[i]) == "" {
			out[i] = ""
		}
	}
	return strings.Join(out, "\n")
}

// block is one fenced code block of a Markdown file.
type block struct {
	lang   string
	text   string
	marker string // the comment before it, "" if none
	line   int    // line of the opening fence
}

var markerRE = regexp.MustCompile(`^<!--\s*(snippet|file|output):\s*(\S+)\s*-->$`)

// blocks returns the fenced blocks of a Markdown file, each with the marker
// comment on the last non-blank line before it.
func blocks(src string) ([]block, []string) {
	var out []block
	var errs []string
	lines := strings.Split(src, "\n")
	marker := ""
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if m := markerRE.FindStringSubmatch(line); m != nil {
			marker = m[1] + ":" + m[2]
			continue
		}
		if strings.HasPrefix(line, "<!--") && strings.Contains(line, "snippet") {
			errs = append(errs, fmt.Sprintf("line %d: malformed marker %q", i+1, line))
		}
		if !strings.HasPrefix(line, "```") {
			if line != "" {
				marker = ""
			}
			continue
		}
		fence := line[:len(line)-len(strings.TrimLeft(line, "`"))]
		indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " "))] // a block in a list item
		b := block{lang: strings.TrimSpace(strings.TrimPrefix(line, fence)), marker: marker, line: i + 1}
		marker = ""
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != fence; i++ {
			body = append(body, strings.TrimPrefix(lines[i], indent))
		}
		if i == len(lines) {
			errs = append(errs, fmt.Sprintf("line %d: code block never closed", b.line))
		}
		b.text = strings.Join(body, "\n")
		out = append(out, b)
	}
	return out, errs
}

// markdownFiles returns docs/*.md and the README.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append(files, filepath.Join(root, "README.md"))
}

func TestSnippets(t *testing.T) {
	snips := sourceSnippets(t)
	used := map[string]bool{}
	for _, md := range markdownFiles(t) {
		data, err := os.ReadFile(md)
		if err != nil {
			t.Fatal(err)
		}
		bs, errs := blocks(string(data))
		for _, e := range errs {
			t.Errorf("%s: %s", rel(md), e)
		}
		for _, b := range bs {
			where := fmt.Sprintf("%s:%d", rel(md), b.line)
			kind, arg, _ := strings.Cut(b.marker, ":")
			switch kind {
			case "":
				if b.lang == "go" {
					t.Errorf("%s: a go block without a <!-- snippet: NAME --> line before it; Go in the docs must come from a compiled source", where)
				}
			case "snippet":
				used[arg] = true
				s, ok := snips[arg]
				switch {
				case !ok:
					t.Errorf("%s: snippet %q is not defined in any Go file (// snippet:%s ... // end-snippet)", where, arg, arg)
				case b.lang != "go":
					t.Errorf("%s: snippet %q in a %q block, want go", where, arg, b.lang)
				case s.text != b.text:
					t.Errorf("%s: snippet %q differs from its source %s; copy it again:\n%s", where, arg, s.pos, lineDiff(s.text, b.text))
				}
			case "file":
				want, err := os.ReadFile(filepath.Join(root, arg))
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				if got := strings.TrimRight(string(want), "\n"); got != b.text {
					t.Errorf("%s: block differs from %s:\n%s", where, arg, lineDiff(got, b.text))
				}
			case "output":
				golden := filepath.Join(root, arg, "testdata", "golden.txt")
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				if !containsLines(string(want), b.text) {
					t.Errorf("%s: block is not part of the output of %s (%s):\n%s", where, arg, rel(golden), b.text)
				}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(snips)) {
		if s := snips[name]; !used[name] {
			t.Errorf("%s: snippet %q is not used by any doc; use it or remove its markers", s.pos, name)
		}
	}
}

// containsLines reports whether the lines of part are consecutive lines of
// whole.
func containsLines(whole, part string) bool {
	w := strings.Split(strings.TrimRight(whole, "\n"), "\n")
	p := strings.Split(part, "\n")
	for i := 0; i+len(p) <= len(w); i++ {
		if slices.Equal(w[i:i+len(p)], p) {
			return true
		}
	}
	return false
}

var linkRE = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestLinks checks that relative links in the docs name existing files.
func TestLinks(t *testing.T) {
	for _, md := range markdownFiles(t) {
		f, err := os.Open(md)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		inCode := false
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				inCode = !inCode
			}
			if inCode {
				continue
			}
			for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				target, _, _ = strings.Cut(target, "#")
				if _, err := os.Stat(filepath.Join(filepath.Dir(md), target)); err != nil {
					t.Errorf("%s:%d: link to %s: %v", rel(md), n, m[1], err)
				}
			}
		}
		f.Close()
	}
}

func TestDedent(t *testing.T) {
	got := dedent([]string{"", "\t\tfunc f() {", "\t\t\treturn", "", "\t\t}", ""})
	if want := "func f() {\n\treturn\n\n}"; got != want {
		t.Errorf("dedent = %q, want %q", got, want)
	}
}

func TestParseSnippetsErrors(t *testing.T) {
	snips := map[string]snippet{}
	errs := parseSnippets("x.go", "// snippet:a\nx\n// end-snippet\n// snippet:a\n// end-snippet\n// end-snippet\n// snippet:b\n", snips)
	if len(errs) != 3 {
		t.Errorf("got %d errors, want 3 (duplicate, stray end, unterminated): %q", len(errs), errs)
	}
	if snips["a"].text != "x" {
		t.Errorf("snippet a = %q", snips["a"].text)
	}
}

// lineDiff shows the first line where the source and the doc differ.
func lineDiff(source, doc string) string {
	s, d := strings.Split(source, "\n"), strings.Split(doc, "\n")
	for i := range max(len(s), len(d)) {
		var sl, dl string = "(end)", "(end)"
		if i < len(s) {
			sl = s[i]
		}
		if i < len(d) {
			dl = d[i]
		}
		if sl != dl {
			return fmt.Sprintf("  line %d of the block:\n  source: %q\n  doc:    %q", i+1, sl, dl)
		}
	}
	return "(no difference)"
}

func rel(path string) string {
	if r, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return path
}

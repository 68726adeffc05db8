package proptest

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rapidFailFileVersion is the version rapid v1.3.0 writes into its fail
// files (its internal constant rapidVersion). rapid ignores, with only a
// log line, a fail file of another version; when rapid is upgraded, this
// test flags the committed files so they are regenerated.
const rapidFailFileVersion = "v0.4.8"

// TestFailFiles checks the shrunk failures committed under testdata/rapid.
// rapid.Check replays every file matching
// testdata/rapid/<Test>/<Test>-*.fail before it generates new cases (see
// docs/testing.md), but it silently skips a file in another directory,
// with another name or of another version, so such a file would be
// committed for nothing. Every file must be where rapid looks, for a test
// of this package that calls rapid.Check, with the current version.
func TestFailFiles(t *testing.T) {
	tests := rapidTests(t)
	root := filepath.Join("testdata", "rapid")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path == root {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() {
			if path != root && filepath.Dir(path) != root {
				t.Errorf("%s: rapid looks only in testdata/rapid/<Test>/", path)
			}
			return nil
		}
		test := filepath.Base(filepath.Dir(path))
		name := filepath.Base(path)
		switch {
		case filepath.Dir(filepath.Dir(path)) != root:
			t.Errorf("%s: rapid looks only in testdata/rapid/<Test>/", path)
		case !tests[test]:
			t.Errorf("%s: no test %s in this package calls rapid.Check", path, test)
		case !strings.HasPrefix(name, test+"-") || !strings.HasSuffix(name, ".fail"):
			t.Errorf("%s: rapid replays only files named %s-*.fail", path, test)
		default:
			if v := failFileVersion(t, path); v != rapidFailFileVersion {
				t.Errorf("%s: version %q, rapid replays only %q", path, v, rapidFailFileVersion)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rapidTests returns the names of this package's tests that call
// rapid.Check.
func rapidTests(t *testing.T) map[string]bool {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	tests := map[string]bool{}
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") {
				continue
			}
			ast.Inspect(fn, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "Check" {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == "rapid" {
						tests[fn.Name.Name] = true
					}
				}
				return true
			})
		}
	}
	return tests
}

// failFileVersion returns the version of a rapid fail file: the part
// before '#' of its first line that is not a comment.
func failFileVersion(t *testing.T, path string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		v, _, _ := strings.Cut(line, "#")
		return v
	}
	return ""
}

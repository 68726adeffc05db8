package ebb_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/ebbgraph/ebb/"

// forbidden lists, per package, module packages it must never import
// (design.md section 2): imports point one way.
var forbidden = map[string][]string{
	"policy":        {"lifetime", "engine", "expand", "nodes", "cuda", "proptest", "cmd", "examples", "server"},
	"lifetime":      {"engine", "expand", "nodes", "cuda", "proptest", "cmd", "examples", "server"},
	"engine/device": {"policy", "lifetime", "engine", "expand", "nodes", "cuda", "proptest", "cmd", "examples", "server"},
	"engine":        {"expand", "nodes", "cuda", "proptest", "cmd", "examples", "server"},
	"expand":        {"nodes", "cuda", "proptest", "cmd", "examples", "server"},
	"nodes/sim":     {"expand", "cuda", "proptest", "cmd", "examples", "server"},
	"server":        {"cuda", "proptest", "cmd", "examples"},
	"cuda":          {"policy", "lifetime", "expand", "nodes", "proptest", "cmd", "examples", "server"},
}

func TestImportDirections(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		rules, ok := forbidden[pkg]
		if !ok {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if pkg != "cuda" && strings.HasPrefix(p, "gorgonia.org/cu") {
				t.Errorf("%s imports %s: only the cuda package may", path, p)
			}
			if !strings.HasPrefix(p, module) {
				continue
			}
			dep := strings.TrimPrefix(p, module)
			for _, bad := range rules {
				if dep == bad || strings.HasPrefix(dep, bad+"/") {
					if pkg == "engine" && dep == "engine/device" {
						continue
					}
					t.Errorf("%s imports %s (package %s must not import %s)", path, p, pkg, bad)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Package quantumagent_test holds repository-wide checks; the module root has
// no code of its own.
package quantumagent_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/quantum-agent/quantum-agent/"

// importsByDir maps each package directory to the imports of its non-test
// files (test files may use anything: they build test beds).
func importsByDir(t *testing.T) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if out[dir] == nil {
			out[dir] = map[string]bool{}
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[dir][p] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func under(dir, root string) bool { return dir == root || strings.HasPrefix(dir, root+"/") }

// TestLayering enforces DESIGN.md §4 / STYLE.md point 4: agent knows no HTTP
// and no datapath; api knows no datapath and no OVSDB; nothing but the test
// bed shells out.
func TestLayering(t *testing.T) {
	rules := []struct {
		root      string
		forbidden []string // import path prefixes
	}{
		{"agent", []string{module + "api", module + "ovs", module + "linuxbridge", module + "cmd", "net/http", "github.com/vishvananda/netlink"}},
		{"api", []string{module + "ovs", module + "linuxbridge", module + "cmd", "github.com/ovn-kubernetes/libovsdb", "github.com/vishvananda/netlink"}},
		{"ovs", []string{module + "api", module + "linuxbridge", module + "cmd", "net/http"}},
		{"linuxbridge", []string{module + "api", module + "ovs", module + "cmd", "net/http", "github.com/ovn-kubernetes/libovsdb"}},
	}
	imports := importsByDir(t)
	if len(imports) == 0 {
		t.Fatal("found no Go files: run from the module root")
	}
	for dir, imps := range imports {
		for _, r := range rules {
			if !under(dir, r.root) {
				continue
			}
			for imp := range imps {
				for _, bad := range r.forbidden {
					if imp == bad || strings.HasPrefix(imp, bad+"/") {
						t.Errorf("%s imports %s: %s must not depend on it", dir, imp, r.root)
					}
				}
			}
		}
		// Production code never shells out (no ovs-vsctl, no ip): only the
		// test bed, which tests import, may run commands.
		if imps["os/exec"] && !under(dir, "internal/testbed") {
			t.Errorf("%s imports os/exec: production code talks OVSDB and netlink, it never shells out", dir)
		}
	}
}

// handWritten lists the files of the generated-model packages that are not
// generated; everything else there must carry Go's generated-code header so
// linters, duplicates and readers skip it (issue 9 point 8).
var handWritten = map[string][]string{
	"agent/qdb":   {"gen.go"},
	"ovs/vswitch": {"gen.go"},
}

// TestGeneratedModelsLookGenerated checks that every model file modelgen
// wrote is recognised by go/ast.IsGenerated (genheader's rewrite ran), and
// that the hand-written files are not marked generated.
func TestGeneratedModelsLookGenerated(t *testing.T) {
	for dir, hand := range handWritten {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) <= len(hand) {
			t.Fatalf("%s: no generated files found", dir)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments|parser.PackageClauseOnly)
			if err != nil {
				t.Fatal(err)
			}
			want := !slices.Contains(hand, filepath.Base(path))
			if got := ast.IsGenerated(f); got != want {
				t.Errorf("%s: ast.IsGenerated = %v, want %v (run `go generate ./...`; list hand-written files in handWritten)", path, got, want)
			}
		}
	}
}

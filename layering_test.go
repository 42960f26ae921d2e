// Package quantumagent_test holds repository-wide checks; the module root has
// no code of its own.
package quantumagent_test

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os/exec"
	"path/filepath"
	"regexp"
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

// goPackage is the part of `go list -json` the house rules read.
type goPackage struct {
	ImportPath   string
	Dir          string
	Doc          string
	GoFiles      []string
	TestGoFiles  []string
	XTestGoFiles []string
	Imports      []string
	Standard     bool
}

// goList runs `go list -json args...` (go test puts its own go first in PATH).
func goList(t *testing.T, args ...string) []goPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("go list %v: %v\n%s", args, err, exit.Stderr)
		}
		t.Fatalf("go list %v: %v", args, err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rel is a package's directory relative to the module root ("." for it).
func rel(importPath string) string {
	if r, ok := strings.CutPrefix(importPath, module); ok {
		return r
	}
	return "."
}

// knownTestHelpers are the packages that exist only to build tests; each
// must be found by isTestHelper, so the detection cannot silently go blind.
var knownTestHelpers = []string{"agent/agenttest", "internal/testbed"}

// testDoc matches a package doc that says the package is for tests.
var testDoc = regexp.MustCompile(`\b(tests?|benchmarks?)\b`)

// isTestHelper: a package named *test (agenttest), or one under internal/
// whose doc says it serves tests (testbed: "for privileged tests").
func isTestHelper(p goPackage) bool {
	dir := rel(p.ImportPath)
	return strings.HasSuffix(filepath.Base(dir), "test") ||
		under(dir, "internal") && testDoc.MatchString(p.Doc)
}

// notProduction are packages with non-test files that no binary links and
// that are not test helpers either.
var notProduction = map[string]string{
	"bench":              "benchmarks: doc.go only, the rest is _test.go",
	"internal/genheader": "a go:generate tool run on the models, not linked into anything",
}

// TestPackageDocs: every package says what it is in a package doc comment
// (for packages of tests only, in one of their test files).
func TestPackageDocs(t *testing.T) {
	for _, p := range goList(t, "./...") {
		if len(p.GoFiles) > 0 {
			if strings.TrimSpace(p.Doc) == "" {
				t.Errorf("%s has no package doc comment: add a doc.go", rel(p.ImportPath))
			}
			continue
		}
		if !hasPackageDoc(t, p.Dir, append(p.TestGoFiles, p.XTestGoFiles...)) {
			t.Errorf("%s (tests only) has no package doc comment in any of its files", rel(p.ImportPath))
		}
	}
}

func hasPackageDoc(t *testing.T, dir string, files []string) bool {
	t.Helper()
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, name), nil, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil {
			t.Fatal(err)
		}
		if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
			return true
		}
	}
	return false
}

// TestNoTestHelpersInProduction: production code never imports a package
// that exists to build tests (agenttest, testbed, ...): they start servers,
// shell out and assume root.
func TestNoTestHelpersInProduction(t *testing.T) {
	pkgs := goList(t, "./...")
	helpers := map[string]bool{}
	for _, p := range pkgs {
		if isTestHelper(p) {
			helpers[p.ImportPath] = true
		}
	}
	for _, known := range knownTestHelpers {
		if !helpers[module+known] {
			t.Errorf("%s is not recognised as a test helper: its name must end in test or, under internal/, its doc must say it is for tests", known)
		}
	}
	for _, p := range pkgs {
		dir := rel(p.ImportPath)
		if len(p.GoFiles) == 0 || helpers[p.ImportPath] || notProduction[dir] != "" {
			continue
		}
		for _, imp := range p.Imports {
			if helpers[imp] {
				t.Errorf("%s imports the test helper %s: production code must not", dir, rel(imp))
			}
		}
	}
}

// netlinkDump matches the netlink calls that dump a kernel table (LinkList,
// AddrList, RouteListFiltered, NeighList, ...), as functions or Handle methods.
var netlinkDump = regexp.MustCompile(`^[A-Z][A-Za-z]*List(Filtered|Execute)?(Iter)?$`)

// dumpWrappers are the only files allowed to dump: they retry a dump the
// kernel reports interrupted (NLM_F_DUMP_INTR), so no caller ever diffs
// against a half-read table.
var dumpWrappers = []string{"linuxbridge/netlink.go"}

// TestNetlinkDumpsOnlyInWrapper: no production file calls a netlink dump
// directly; linuxbridge's listLinks, listFDB, ... do it with the retry.
func TestNetlinkDumpsOnlyInWrapper(t *testing.T) {
	for _, p := range goList(t, "./...") {
		for _, name := range p.GoFiles {
			path := filepath.ToSlash(filepath.Join(rel(p.ImportPath), name))
			if slices.Contains(dumpWrappers, path) {
				continue
			}
			for _, pos := range netlinkDumps(t, filepath.Join(p.Dir, name)) {
				t.Errorf("%s: %s dumps directly: use linuxbridge's wrappers in %v (they retry interrupted dumps)", path, pos, dumpWrappers)
			}
		}
	}
}

// netlinkDumps returns "line:col Name" for each dump selector in a file that
// imports netlink.
func netlinkDumps(t *testing.T, path string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(f.Imports, func(s *ast.ImportSpec) bool {
		p, _ := strconv.Unquote(s.Path.Value)
		return p == "github.com/vishvananda/netlink"
	}) {
		return nil
	}
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok && netlinkDump.MatchString(sel.Sel.Name) {
			p := fset.Position(sel.Sel.Pos())
			found = append(found, strconv.Itoa(p.Line)+":"+strconv.Itoa(p.Column)+" "+sel.Sel.Name)
		}
		return true
	})
	return found
}

// allowedTesting lists the files linked into the production binaries that
// import "testing", each with the reason it is tolerated. Any other path
// that drags the test framework into a binary fails.
var allowedTesting = map[string]string{
	"github.com/ovn-kubernetes/libovsdb/client/api_test_model.go": "libovsdb ships its test model (and testify) in a non-test file of " +
		"its client package; we cannot link the client without it (libovsdb v0.8)",
}

// TestBinariesDoNotLinkTesting: the production binaries link the testing
// package only through the known libovsdb file.
func TestBinariesDoNotLinkTesting(t *testing.T) {
	deps := goList(t, "-deps", "./cmd/quantum-agent", "./cmd/quantumctl")
	seen := map[string]bool{}
	for _, p := range deps {
		if p.Standard || !slices.Contains(p.Imports, "testing") {
			continue
		}
		for _, name := range p.GoFiles {
			if fileImports(t, filepath.Join(p.Dir, name), "testing") {
				file := p.ImportPath + "/" + name
				seen[file] = true
				if allowedTesting[file] == "" {
					t.Errorf("the binaries link \"testing\" through %s: production code must not import it", file)
				}
			}
		}
	}
	for file := range allowedTesting {
		if !seen[file] {
			t.Errorf("%s no longer links \"testing\" into the binaries: remove it from allowedTesting", file)
		}
	}
}

func fileImports(t *testing.T, path, want string) bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(f.Imports, func(s *ast.ImportSpec) bool {
		p, _ := strconv.Unquote(s.Path.Value)
		return p == want
	})
}

// sizeLimited are the package trees whose hand-written production files
// keep to maxFileLines and whose functions keep to maxFuncLines (issue 9
// point 2): all of them.
var sizeLimited = []string{"agent", "api", "cmd", "internal", "ovs", "linuxbridge"}

const (
	maxFileLines = 400
	maxFuncLines = 80
)

// TestFileAndFunctionSize: no hand-written production file in sizeLimited
// over maxFileLines, no function there over maxFuncLines.
func TestFileAndFunctionSize(t *testing.T) {
	for _, root := range sizeLimited {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
			if err != nil || ast.IsGenerated(f) {
				return err
			}
			if n := fset.Position(f.FileEnd).Line; n > maxFileLines {
				t.Errorf("%s: %d lines, more than %d: split it by concept", path, n, maxFileLines)
			}
			for _, decl := range f.Decls {
				if fn, ok := decl.(*ast.FuncDecl); ok && fn.Body != nil {
					n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
					if n > maxFuncLines {
						t.Errorf("%s: func %s is %d lines, more than %d", path, fn.Name.Name, n, maxFuncLines)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

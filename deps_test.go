package hutong_test

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/hutong/hutong"

// The layout's rules (ARCHITECTURE.md). The root package is the
// vocabulary: the standard library only. Libraries of the domain import
// the root, other libraries and the outside modules listed for them.
// Adapters import the root and the libraries, their own outside modules,
// and no other adapter but those listed for them. A package that is in
// none of these lists is an adapter with no outside module and no other
// adapter: the default for a new package (supervision, services, streams).
// Test support and cmd/hutong may import what they wire.
var (
	libraries = map[string][]string{
		"standard": nil,
		"search":   nil,
		"pki":      nil,
		"httperr":  nil,
		"sqlplan":  nil,
		"hj212":    nil,
		"sheet":    {"github.com/xuri/excelize/v2", "golang.org/x/text"},
	}
	adapters = map[string]struct{ pkgs, mods []string }{
		"sqlstore":  {mods: []string{"github.com/pressly/goose/v3"}},
		"sqlite":    {pkgs: []string{"sqlstore"}, mods: []string{"github.com/pressly/goose/v3", "modernc.org/sqlite"}},
		"postgres":  {pkgs: []string{"sqlstore"}, mods: []string{"github.com/pressly/goose/v3", "github.com/jackc/pgx/v5"}},
		"http":      {mods: []string{"github.com/prometheus/client_golang"}},
		"policy":    {mods: []string{"github.com/cedar-policy/cedar-go"}},
		"ledger":    {mods: []string{"github.com/transparency-dev/tessera", "github.com/transparency-dev/formats", "github.com/transparency-dev/merkle", "github.com/transparency-dev/witness", "golang.org/x/mod"}},
		"node":      {pkgs: []string{"ledger"}, mods: []string{"github.com/jackc/pgx/v5", "github.com/go-sql-driver/mysql", "modernc.org/sqlite", "github.com/transparency-dev/tessera", "github.com/transparency-dev/formats", "golang.org/x/mod"}},
		"storetest": {pkgs: []string{"sqlstore"}},
		"events":    {mods: []string{"github.com/nats-io/nats-server/v2", "github.com/nats-io/nats.go"}},
		"sensors":   {mods: []string{"github.com/mochi-mqtt/server/v2", "github.com/eclipse/paho.golang"}},
	}
	// wiring may import any package of the module and any outside module.
	wiring = []string{"cmd/hutong", "internal/hubtest"}
	// stdlibOnly packages import the standard library alone.
	stdlibOnly = []string{".", "internal/testenv", "internal/formclient"}
)

// packages returns the module's packages (directories with non-test Go
// files) and their direct imports.
func packages(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			return err
		}
		out[filepath.ToSlash(path)] = pkg.Imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rel returns the package directory of an import path of the module, or
// "" for the standard library or an outside module.
func rel(imp string) (string, bool) {
	switch {
	case imp == module:
		return ".", true
	case strings.HasPrefix(imp, module+"/"):
		return strings.TrimPrefix(imp, module+"/"), true
	}
	return "", false
}

func stdlib(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".")
}

func underModule(imp string, mods []string) bool {
	return slices.ContainsFunc(mods, func(m string) bool { return imp == m || strings.HasPrefix(imp, m+"/") })
}

// mayImport says whether package dir may import imp directly.
func mayImport(dir, imp string) bool {
	if stdlib(imp) {
		return true
	}
	if slices.Contains(wiring, dir) {
		return true
	}
	if slices.Contains(stdlibOnly, dir) {
		return false
	}
	target, internal := rel(imp)
	_, targetIsLibrary := libraries[target]
	if mods, ok := libraries[dir]; ok {
		return internal && (target == "." || targetIsLibrary) || !internal && underModule(imp, mods)
	}
	a := adapters[dir] // the default: no outside module, no other adapter
	if internal {
		return target == "." || targetIsLibrary || slices.Contains(a.pkgs, target)
	}
	return underModule(imp, a.mods)
}

// TestDeps fails when a package imports what the layout says it must not,
// directly or through the packages it imports (the message shows the
// chain), as tailscale's deptest does. Every package of the module is
// checked, a new one by the default rule.
func TestDeps(t *testing.T) {
	pkgs := packages(t)
	if len(pkgs) < 20 {
		t.Fatalf("found only %d packages", len(pkgs))
	}
	dirs := make([]string, 0, len(pkgs))
	for d := range pkgs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		// Walk the closure breadth-first, remembering how each import was
		// reached, and check each edge by the rules of its importer.
		via := map[string]string{dir: ""}
		queue := []string{dir}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			for _, imp := range pkgs[p] {
				if !mayImport(p, imp) {
					chain := []string{imp, p}
					for q := via[p]; q != ""; q = via[q] {
						chain = append(chain, q)
					}
					slices.Reverse(chain)
					if p == dir {
						t.Errorf("package %s imports %s, which the layout does not allow", dir, imp)
					} else {
						t.Errorf("package %s depends on %s through %s", dir, imp, strings.Join(chain, " → "))
					}
					continue
				}
				if target, ok := rel(imp); ok {
					if _, seen := via[target]; !seen {
						via[target] = p
						queue = append(queue, target)
					}
				}
			}
		}
	}
}

// TestDepsRules checks the rules themselves against a made-up house.
func TestDepsRules(t *testing.T) {
	tests := []struct {
		dir, imp string
		ok       bool
	}{
		{".", "strings", true},
		{".", module + "/standard", false},
		{"standard", module, true},
		{"standard", module + "/sqlstore", false},
		{"sheet", "github.com/xuri/excelize/v2/sub", true},
		{"exchange", module + "/standard", true},
		{"exchange", module + "/sqlstore", false},
		{"supervision", module + "/standard", true}, // a new package: the default
		{"supervision", module + "/exchange", false},
		{"supervision", "github.com/nats-io/nats.go", false},
		{"sqlite", module + "/sqlstore", true},
		{"node", module + "/ledger", true},
		{"web", module + "/http", false},
		{"cmd/hutong", module + "/web", true},
		{"internal/testenv", module, false},
	}
	for _, tt := range tests {
		if got := mayImport(tt.dir, tt.imp); got != tt.ok {
			t.Errorf("mayImport(%s, %s) = %v, want %v", tt.dir, tt.imp, got, tt.ok)
		}
	}
	if _, err := os.Stat("go.mod"); err != nil {
		t.Fatal("run from the module's root")
	}
}

package hutong_test

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/hutong/hutong"

// allowed lists, per package directory, the packages of this module and the
// outside modules it may import (beside the standard library). Adapters
// never import each other; only cmd/hutong wires them.
var allowed = map[string][]string{
	".":         {},
	"standard":  {module},
	"search":    {module},
	"sqlstore":  {module, module + "/standard", module + "/search", module + "/pki", "github.com/pressly/goose/v3"},
	"sqlite":    {module, module + "/sqlstore", "github.com/pressly/goose/v3", "modernc.org/sqlite"},
	"postgres":  {module, module + "/sqlstore", "github.com/pressly/goose/v3", "github.com/jackc/pgx/v5"},
	"storetest": {module, module + "/standard", module + "/sqlstore", module + "/pki"},
	"sheet":     {module, "github.com/xuri/excelize/v2", "golang.org/x/text"},
	"http":      {module, module + "/sheet", module + "/pki", "github.com/prometheus/client_golang"},
	"demo":      {module, module + "/standard"},
	"policy":    {module, "github.com/cedar-policy/cedar-go"},
	"exchange":  {module, module + "/standard"},
	"pki":       {},
	"analytics": {module, module + "/standard"},
	"node": {module, module + "/standard", module + "/ledger", module + "/pki", module + "/sheet", "github.com/jackc/pgx/v5", "github.com/go-sql-driver/mysql",
		"modernc.org/sqlite", "golang.org/x/text", "github.com/transparency-dev/tessera", "github.com/transparency-dev/formats", "golang.org/x/mod"},
	"ledger": {module, "github.com/transparency-dev/tessera", "github.com/transparency-dev/formats", "github.com/transparency-dev/merkle",
		"github.com/transparency-dev/witness", "golang.org/x/mod"},
}

// TestDeps fails when a package imports what the layout says it must not.
func TestDeps(t *testing.T) {
	for dir, allow := range allowed {
		pkg, err := build.ImportDir(filepath.FromSlash(dir), 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, imp := range pkg.Imports {
			first, _, _ := strings.Cut(imp, "/")
			if !strings.Contains(first, ".") {
				continue // standard library
			}
			ok := slices.ContainsFunc(allow, func(a string) bool {
				return imp == a || !strings.HasPrefix(a, module) && strings.HasPrefix(imp, a+"/")
			})
			if !ok {
				t.Errorf("package %s imports %s; allowed: the standard library and %v", dir, imp, allow)
			}
		}
	}
}

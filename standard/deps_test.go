package standard

import (
	"go/build"
	"strings"
	"testing"
)

// TestDeps keeps the package on the standard library and the root package:
// every adapter imports it, so it must bring nothing else along.
func TestDeps(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range append(pkg.Imports, pkg.TestImports...) {
		first, _, _ := strings.Cut(imp, "/")
		if imp != "github.com/hutong/hutong" && strings.Contains(first, ".") {
			t.Errorf("package standard imports %s; want only the standard library and github.com/hutong/hutong", imp)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"testing"
)

// TestBenchExchangeRuns runs `hutong bench exchange --json` at its
// smallest: it must answer the outside contract's fields with real
// figures (a renamed resource code once broke it without a test noticing).
// It checks that the benchmark works, not how fast anything is.
func TestBenchExchangeRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("a benchmark run; the full suite runs it")
	}
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"bench", "exchange", "--rows", "1000", "--duration", "1s", "--clients", "2", "--json"}, &out, io.Discard); err != nil {
		t.Fatalf("bench exchange: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("bench exchange printed %q: %v", out.String(), err)
	}
	for _, k := range []string{"governed_rps", "baseline_rps", "ratio", "p50_ms", "p99_ms", "export_rows_per_s"} {
		if v, ok := got[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive figure", k, got[k])
		}
	}
	if got["errors"] != float64(0) {
		t.Errorf("errors = %v", got["errors"])
	}
}

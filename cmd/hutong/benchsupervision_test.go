package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
)

// TestBenchSupervisionRuns runs `hutong bench supervision --json` small:
// it must print the contract's fields with real figures. It checks that
// the benchmark works, not how good the detectors are on a tiny workload.
func TestBenchSupervisionRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("a benchmark run; the full suite runs it")
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"bench", "supervision", "--agreements", "20", "--per-kind", "1", "--live", "2", "--json"}, &out, io.Discard); err != nil {
		t.Fatalf("bench supervision: %v", err)
	}
	var got struct {
		Events, Incidents int
		Precision, Recall float64
		DetectionP50S     float64                                      `json:"detection_p50_s"`
		DetectionP99S     float64                                      `json:"detection_p99_s"`
		EventsPerS        float64                                      `json:"events_per_s"`
		LiveLagP99S       *float64                                     `json:"live_lag_p99_s"`
		ByKind            map[string]struct{ Incidents, Detected int } `json:"by_kind"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("printed %q: %v", out.String(), err)
	}
	if got.Events < 10_000 || got.Incidents != 6 || got.EventsPerS <= 0 || got.LiveLagP99S == nil || *got.LiveLagP99S < 0 ||
		got.Precision < 0 || got.Precision > 1 || got.Recall < 0 || got.Recall > 1 || len(got.ByKind) != 6 {
		t.Errorf("bench supervision printed %s", out.String())
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/hutong/hutong/search"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("bench: want exchange, search, cluster or supervision")
	}
	switch args[0] {
	case "exchange":
		return runBenchExchange(ctx, args[1:], stdout, stderr)
	case "cluster":
		return runBenchCluster(ctx, args[1:], stdout, stderr)
	case "subscriptions":
		return runBenchSubscriptions(ctx, args[1:], stdout, stderr)
	case "services":
		return runBenchServices(ctx, args[1:], stdout, stderr)
	case "supervision":
		return runBenchSupervision(ctx, args[1:], stdout, stderr)
	case "sensors":
		return runBenchSensors(ctx, args[1:], stdout, stderr)
	case "search":
		fs := flag.NewFlagSet("bench search", flag.ContinueOnError)
		fs.SetOutput(stderr)
		docs := fs.Int("docs", 100_000, "generated resources to index")
		queries := fs.Int("queries", 2000, "searches to time")
		seed := fs.Uint64("seed", 1, "generator seed")
		jsonOut := fs.Bool("json", false, "print one JSON object")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *docs < 1 || *queries < 1 {
			return errors.New("bench search: --docs and --queries must be positive")
		}
		r := search.Bench(*docs, *queries, *seed)
		if *jsonOut {
			return printJSON(stdout, r)
		}
		fmt.Fprintf(stdout, "indexed %d resources in %.2f s (%.0f resources/s), heap %.0f MB\n", r.Docs, r.IndexSeconds, float64(r.Docs)/r.IndexSeconds, r.HeapMB)
		fmt.Fprintf(stdout, "%d searches: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", r.Queries, r.P50Ms, r.P99Ms, r.MaxMs)
		return nil
	}
	return fmt.Errorf("bench: unknown benchmark %q", args[0])
}

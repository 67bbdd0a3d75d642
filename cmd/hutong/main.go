// Command hutong is the hub, its demo, its region node and its CLI in one
// binary.
//
//	hutong demo [--addr :8080] [--data ./hutong-data]   hub with the 京津冀 demo
//	hutong serve [--config FILE]                          hub from a configuration
//	hutong resources list|show|publish|import|rows …      catalog, through the API
//	hutong elements list                                  the standard data elements
//	hutong request|requests|agreements|keys …             the sharing flow
//	hutong records|export RESOURCE --purpose P …          the governed exchange
//	hutong env [--data DIR]                               shell exports for the demo's tokens
//	hutong nodes token|list|revoke …                      the hub's register of region nodes
//	hutong node [audit] …                                 a region node (区域节点)
//	hutong bench search                                   search index benchmark
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hutong/hutong"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) && askedForHelp(os.Args[1:]) {
			return // the help asked for was printed
		}
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "hutong:", describe(err))
		}
		os.Exit(exitCode(err))
	}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// askedForHelp reports whether args ask for help anywhere: a command's
// --help prints its usage and exits 0.
func askedForHelp(args []string) bool {
	for _, a := range args {
		if isHelp(a) {
			return true
		}
	}
	return false
}

// groupHelp prints the usage lines of command group cmd to w, for
// "hutong nodes --help" and the like.
func groupHelp(w io.Writer, cmd string) {
	fmt.Fprintln(w, "Usage:")
	for _, line := range strings.Split(usage, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "hutong "+cmd+" ") || strings.TrimSpace(line) == "hutong "+cmd {
			fmt.Fprintln(w, line)
		}
	}
}

const usage = `hutong (互通): cross-region government data sharing

Usage:
  hutong demo [--addr :8080] [--data ./hutong-data]   start a hub with the 京津冀 demo data
  hutong serve [--config hutong.json] [flags]          start a hub from a configuration
  hutong resources list [--q 医保] [--tag T] [--region 120000] [--share-type conditional] [--level 3]
  hutong resources show CODE
  hutong resources publish FILE.json                   publish one resource (JSON)
  hutong resources import FILE.csv|FILE.xlsx           publish a catalog sheet, all or nothing
  hutong resources rows CODE FILE.csv|FILE.ndjson [--replace]
  hutong elements list                                 the standard data elements (数据元)
  hutong request RESOURCE --fields a,b --purpose P --legal-basis L --valid-until YYYY-MM-DD [--row-scope F:OP:V]
  hutong requests list [--box inbox|outbox|region] [--status pending] [--overdue]
  hutong requests approve ID [--fields a,b] [--valid-until D] [--rows-per-day N] [--mask FIELD=RULE]
  hutong requests reject ID --reason R
  hutong agreements list|show ID|revoke ID [--reason R]
  hutong keys create NAME                              an application key of your department (shown once)
  hutong subscriptions create --resource C --purpose P [--fields a,b] (--webhook URL | --nats)   push changes to your system
  hutong subscriptions list | show ID | pause ID | resume ID | delete ID
  hutong subscriptions listen --nats URL --user U --password P --subject S   print a NATS subscription's batches
  hutong records RESOURCE --purpose P [--fields a,b] [--filter F:OP:V] [--limit N] [--cursor C]
  hutong export RESOURCE --purpose P [--format ndjson|csv] [-o FILE]
  hutong env [--data ./hutong-data]                    print shell exports of the demo's hub and tokens
  hutong verify receipt INDEX|HEADER|FILE [--hub URL] [--keys FILE]   check a receipt (its index, the Hutong-Receipt value, a file) against the ledger
  hutong verify log [--hub URL] [--keys FILE] [--state FILE] [--token T]   walk the whole ledger as a monitor (and open your own entries)
  hutong verify bundle FILE [--keys FILE]              check a proof bundle (/api/v1/receipts/N/bundle) offline
  hutong nodes token --region 120000 [--ttl 1h]        a one-time enrolment token for a region node
  hutong nodes list | revoke REGION                    the enrolled region nodes
  hutong node --hub URL --token T --data DIR --config node.json   enrol (first time) and run a region node
  hutong node audit --data DIR [--grace 30s] [--json]  check every query the node answered against the ledger
  hutong bench exchange [--rows 200000] [--clients 16] [--duration 8s] [--via-node] [--json]
  hutong bench search [--docs 100000] [--queries 2000] [--json]
  hutong bench cluster [--hubs 3] [--postgres URL] [--json]   hub processes on one PostgreSQL behind HAProxy, killed under load
  hutong bench subscriptions [--resources 10] [--subscriptions 100] [--rows 5000] [--json]   change feeds over JetStream
  hutong version

Client commands talk to --hub (or $HUTONG_HUB, default http://localhost:8080) with
--token (or $HUTONG_TOKEN; without either, the admin token of
./hutong-data/demo-credentials.json when it exists).
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "resources", "requests", "agreements", "keys", "verify", "nodes", "bench", "elements":
		// A group asked for help before naming its subcommand.
		if len(rest) > 0 && isHelp(rest[0]) {
			groupHelp(stdout, cmd)
			return flag.ErrHelp
		}
	}
	switch cmd {
	case "demo":
		return runHub(ctx, rest, true, stdout, stderr)
	case "serve":
		return runHub(ctx, rest, false, stdout, stderr)
	case "resources":
		return runResources(ctx, rest, stdout, stderr)
	case "elements":
		return runElements(ctx, rest, stdout, stderr)
	case "request":
		return runRequest(ctx, rest, stdout, stderr)
	case "requests":
		return runRequests(ctx, rest, stdout, stderr)
	case "agreements":
		return runAgreements(ctx, rest, stdout, stderr)
	case "keys":
		return runKeys(ctx, rest, stdout, stderr)
	case "records":
		return runRecords(ctx, rest, false, stdout, stderr)
	case "export":
		return runRecords(ctx, rest, true, stdout, stderr)
	case "env":
		return runEnv(ctx, rest, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "verify":
		return runVerify(ctx, rest, stdout, stderr)
	case "nodes":
		return runNodes(ctx, rest, stdout, stderr)
	case "subscriptions":
		return runSubscriptions(ctx, rest, stdout, stderr)
	case "node":
		return runNode(ctx, rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "hutong", Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// describe renders an error for a person at a terminal, with the
// violations of a rejected import one per line.
func describe(err error) string {
	msg := err.Error()
	var e *hutong.Error
	if errors.As(err, &e) {
		msg = e.Message
		if e.Code == hutong.EINTERNAL && e.Err != nil {
			msg = e.Err.Error()
		}
		for _, v := range e.Details {
			msg += "\n  " + v.String() + " [" + v.Rule + "]"
		}
	}
	return msg
}

func exitCode(err error) int {
	switch hutong.ErrorCode(err) {
	case hutong.EINVALID, hutong.ENOTFOUND, hutong.ECONFLICT:
		return 1
	case hutong.EUNAUTHORIZED, hutong.EFORBIDDEN:
		return 3
	case hutong.EUNAVAILABLE:
		return 4
	}
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

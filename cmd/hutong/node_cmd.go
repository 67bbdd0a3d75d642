package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"text/tabwriter"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/node"
)

// runNodes runs `hutong nodes token|list|revoke`.
func runNodes(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: hutong nodes token --region CODE [--ttl 1h] | list | revoke REGION")
	}
	var cf clientFlags
	fs := flag.NewFlagSet("nodes "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf.register(fs)
	switch args[0] {
	case "token":
		region := fs.String("region", "", "GB/T 2260 code of the node's region (e.g. 120000)")
		ttl := fs.Duration("ttl", time.Hour, "how long the token may be used")
		if _, err := parseInterspersed(fs, args[1:]); err != nil {
			return err
		}
		if *region == "" {
			return hutong.Errorf(hutong.EINVALID, "--region is required")
		}
		c := cf.client()
		t, err := c.CreateNodeToken(ctx, *region, *ttl)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", t.Token)
		fmt.Fprintf(stderr, "enrolment token for region %s, single use, expires %s\n", t.Region, t.ExpiresAt.In(hutong.ChinaTime).Format(time.RFC3339))
		fmt.Fprintf(stderr, "on the region's machine:\n  hutong node --hub %s --token %s --data ./node-data --config node.json\n", c.URL, t.Token)
		return nil
	case "list":
		if _, err := parseInterspersed(fs, args[1:]); err != nil {
			return err
		}
		list, err := cf.client().Nodes(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "REGION\tURL\tCERTIFICATE\tENROLLED\tEXPIRES\tSTATUS")
		for _, n := range list {
			status := "active"
			if n.RevokedAt != nil {
				status = "revoked " + n.RevokedAt.In(hutong.ChinaTime).Format(time.DateOnly)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n.Region, n.URL, n.Serial, n.EnrolledAt.In(hutong.ChinaTime).Format(time.DateTime),
				n.NotAfter.In(hutong.ChinaTime).Format(time.DateOnly), status)
		}
		return tw.Flush()
	case "revoke":
		pos, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return hutong.Errorf(hutong.EINVALID, "usage: hutong nodes revoke REGION")
		}
		if err := cf.client().RevokeNode(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "the node of region %s is revoked; it must enrol again with a new token\n", pos[0])
		return nil
	}
	return fmt.Errorf("unknown nodes command %q", args[0])
}

// runNode runs `hutong node`: enrol (the first time) and serve, or audit.
func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "audit" {
		return runNodeAudit(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hub := fs.String("hub", "", "the hub's URL (to enrol)")
	token := fs.String("token", "", "the one-time enrolment token from `hutong nodes token` (to enrol)")
	data := fs.String("data", "node-data", "the node's directory: its key, certificate, log and witness")
	configPath := fs.String("config", "", "the node's configuration file (JSON): where it listens and the tables it publishes")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *configPath == "" {
		return hutong.Errorf(hutong.EINVALID, "--config is required: the node's listen address and the tables it publishes")
	}
	cfg, err := node.LoadConfig(*configPath)
	if err != nil {
		return hutong.Errorf(hutong.EINVALID, "%v", err)
	}
	logger := newLogger(*logLevel)
	n, err := startNode(ctx, *data, *hub, *token, cfg, logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "hutong node of region %s serving the hub at %s (data in %s)\n", n.Region(), cfg.URL, *data)
	<-ctx.Done()
	fmt.Fprintln(stdout, "shutting down")
	return n.Close()
}

// startNode enrols the node in dir (the first time, or again when given a
// token), opens it and starts serving on ln (or its configured address
// when ln is nil).
func startNode(ctx context.Context, dir, hub, token string, cfg *node.Config, logger *slog.Logger, ln ...net.Listener) (*node.Node, error) {
	enrolled, url := node.Enrolled(dir)
	switch {
	case token != "":
		if hub == "" {
			return nil, hutong.Errorf(hutong.EINVALID, "--hub is required with --token")
		}
		if _, err := node.Enrol(ctx, dir, hub, token, cfg.URL, logger); err != nil {
			return nil, err
		}
	case !enrolled:
		return nil, hutong.Errorf(hutong.EINVALID, "the node in %s is not enrolled: give --hub and --token (from `hutong nodes token` on the hub)", dir)
	case url != cfg.URL:
		return nil, hutong.Errorf(hutong.EINVALID, "the node enrolled to be reached at %s, but its config now says %s: enrol it again with a new token", url, cfg.URL)
	}
	n, err := node.Open(ctx, dir, cfg, logger)
	if err != nil {
		return nil, err
	}
	if len(ln) > 0 {
		err = n.Serve(ctx, ln[0])
	} else {
		err = n.Start(ctx)
	}
	if err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// runNodeAudit runs `hutong node audit`.
func runNodeAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("node audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "node-data", "the node's directory")
	grace := fs.Duration("grace", 30*time.Second, "queries answered more recently than this are checked next time")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	n, err := node.OpenAuditor(ctx, *data, newLogger("warn"))
	if err != nil {
		return err
	}
	defer n.Close()
	rep, err := n.Audit(ctx, *grace)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printAudit(stdout, rep)
	}
	if !rep.Clean() {
		return hutong.Errorf(hutong.ECONFLICT, "%d queries this node answered have no ledger entry", rep.Served-rep.Matched)
	}
	return nil
}

func printAudit(w io.Writer, rep *node.AuditReport) {
	fmt.Fprintf(w, "node of region %s, checked %s against the hub's ledger of %d entries\n", rep.Region, rep.CheckedAt.In(hutong.ChinaTime).Format(time.DateTime), rep.LedgerSize)
	fmt.Fprintf(w, "  its checkpoint is cosigned by %d witnesses\n", len(rep.Witnesses))
	if rep.OwnWitness {
		fmt.Fprintf(w, "  this node's own witness cosigned the ledger at %d entries, and the checkpoint is consistent with it\n", rep.OwnWitnessSize)
	} else {
		fmt.Fprintln(w, "  this node's own witness has not cosigned the ledger yet")
	}
	fmt.Fprintf(w, "  queries answered: %d, in the ledger: %d, refused by the node: %d, too recent to check: %d\n", rep.Served, rep.Matched, rep.Refused, rep.Pending)
	for _, s := range rep.Missing {
		fmt.Fprintf(w, "  MISSING  %s %s %s of %s for %s (%d rows) at %s\n", s.Query, s.Kind, s.Resource, s.Department, s.Agreement, s.Rows, s.Time.In(hutong.ChinaTime).Format(time.DateTime))
	}
	for _, s := range rep.Mismatched {
		fmt.Fprintf(w, "  MISMATCH %s: the ledger names another resource or agreement than %s/%s\n", s.Query, s.Resource, s.Agreement)
	}
	if rep.Clean() {
		fmt.Fprintln(w, "  clean: every query this node answered is in the ledger")
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/exchange"
	hhttp "github.com/hutong/hutong/http"
)

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func splitFields(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func conditions(texts []string) ([]hutong.Condition, error) {
	var out []hutong.Condition
	for _, t := range texts {
		c, err := exchange.ParseFilter(t)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// runRequest files a request: hutong request RESOURCE --fields … --purpose …
func runRequest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("request", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	var in hutong.RequestInput
	var fields string
	var scope listFlag
	fs.StringVar(&fields, "fields", "", "comma-separated items to request")
	fs.StringVar(&in.Purpose, "purpose", "", "purpose (用途)")
	fs.StringVar(&in.LegalBasis, "legal-basis", "", "legal basis (依据)")
	fs.StringVar(&in.ValidFrom, "valid-from", "", "first day, YYYY-MM-DD (default today)")
	fs.StringVar(&in.ValidUntil, "valid-until", "", "last day, YYYY-MM-DD")
	fs.Var(&scope, "row-scope", "FIELD:OP:VALUE limiting the rows (repeatable)")
	fs.Int64Var(&in.RowsPerDay, "rows-per-day", 0, "expected rows per day")
	fs.IntVar(&in.RequestsPerMinute, "requests-per-minute", 0, "expected calls per minute")
	jsonOut := fs.Bool("json", false, "print JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("request RESOURCE --fields a,b --purpose P --legal-basis L --valid-until YYYY-MM-DD")
	}
	in.Resource, in.Fields = pos[0], splitFields(fields)
	if in.RowScope, err = conditions(scope); err != nil {
		return err
	}
	req, err := cf.client().CreateRequest(ctx, &in)
	if err != nil {
		return err
	}
	if *jsonOut {
		return printJSON(stdout, req)
	}
	fmt.Fprintf(stdout, "request %s: %s", req.ID, req.Status)
	switch req.Status {
	case hutong.RequestApproved:
		fmt.Fprintf(stdout, ", agreement %s", req.AgreementID)
	case hutong.RequestPending:
		fmt.Fprintf(stdout, ", the provider replies by the end of %s", req.ReplyBy)
	case hutong.RequestRefused:
		fmt.Fprintf(stdout, ": %s", req.Reason)
	}
	fmt.Fprintln(stdout)
	return nil
}

// runRequests lists and decides requests.
func runRequests(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("requests: want list, approve or reject")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("requests "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	var f hutong.RequestFilter
	var status, fields, reason string
	var masks listFlag
	var n hutong.Narrowing
	jsonOut := fs.Bool("json", false, "print JSON")
	switch sub {
	case "list":
		fs.StringVar(&f.Box, "box", "", "inbox, outbox or region")
		fs.StringVar(&status, "status", "", "pending, approved, rejected or refused")
		fs.BoolVar(&f.Overdue, "overdue", false, "only requests past their reply limit")
	case "approve":
		fs.StringVar(&fields, "fields", "", "grant only these fields")
		fs.StringVar(&n.ValidUntil, "valid-until", "", "end earlier, YYYY-MM-DD")
		fs.Int64Var(&n.RowsPerDay, "rows-per-day", 0, "lower the daily rows")
		fs.IntVar(&n.ProbesPerDay, "probes-per-day", 0, "daily budget of equality filters on masked fields (default 100)")
		fs.Var(&masks, "mask", "FIELD=RULE, a stricter masking (repeatable)")
	case "reject":
		fs.StringVar(&reason, "reason", "", "why (required)")
	default:
		return fmt.Errorf("requests: unknown subcommand %q", sub)
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	c := cf.client()
	if sub == "list" {
		f.Status = hutong.RequestStatus(status)
		reqs, err := c.Requests(ctx, f)
		if err != nil {
			return err
		}
		if *jsonOut {
			return printJSON(stdout, reqs)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATUS\tCONSUMER\tRESOURCE\tPURPOSE\tDUE\tDAYS LEFT")
		for _, r := range reqs {
			due := r.ReplyBy
			if r.Overdue {
				due += " 已超期"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.ID, r.Status, r.ConsumerName, r.Resource, r.Purpose, due, r.WorkingDaysLeft)
		}
		return tw.Flush()
	}
	if len(pos) != 1 {
		return fmt.Errorf("requests %s ID", sub)
	}
	var req *hutong.Request
	if sub == "approve" {
		n.Fields = splitFields(fields)
		for _, m := range masks {
			k, v, ok := strings.Cut(m, "=")
			if !ok {
				return fmt.Errorf("--mask %q: want FIELD=RULE", m)
			}
			if n.Masking == nil {
				n.Masking = map[string]hutong.MaskRule{}
			}
			n.Masking[k] = hutong.MaskRule(v)
		}
		req, err = c.Approve(ctx, pos[0], n)
	} else {
		req, err = c.Reject(ctx, pos[0], reason)
	}
	if err != nil {
		return err
	}
	if *jsonOut {
		return printJSON(stdout, req)
	}
	fmt.Fprintf(stdout, "request %s: %s", req.ID, req.Status)
	if req.AgreementID != "" {
		fmt.Fprintf(stdout, ", agreement %s", req.AgreementID)
	}
	fmt.Fprintln(stdout)
	return nil
}

// runAgreements lists, shows and revokes agreements.
func runAgreements(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("agreements: want list, show or revoke")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("agreements "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	var f hutong.AgreementFilter
	var reason string
	switch sub {
	case "list":
		fs.StringVar(&f.Role, "role", "", "consumer or provider")
		fs.StringVar(&f.Resource, "resource", "", "only of this resource")
		fs.BoolVar(&f.Active, "active", false, "only active ones")
	case "revoke":
		fs.StringVar(&reason, "reason", "", "why")
	case "show":
	default:
		return fmt.Errorf("agreements: unknown subcommand %q", sub)
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	c := cf.client()
	switch sub {
	case "list":
		ags, err := c.Agreements(ctx, f)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATUS\tCONSUMER\tRESOURCE\tPURPOSE\tUNTIL")
		for _, a := range ags {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Status, a.Consumer, a.Resource, a.Purpose, a.ValidUntil.In(hutong.ChinaTime).Format("2006-01-02"))
		}
		return tw.Flush()
	case "show":
		if len(pos) != 1 {
			return errors.New("agreements show ID")
		}
		a, err := c.Agreement(ctx, pos[0])
		if err != nil {
			return err
		}
		return printJSON(stdout, a)
	}
	if len(pos) != 1 {
		return errors.New("agreements revoke ID [--reason R]")
	}
	a, err := c.RevokeAgreement(ctx, pos[0], reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "agreement %s revoked\n", a.ID)
	return nil
}

// runKeys creates application keys.
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("keys create NAME")
	}
	fs := flag.NewFlagSet("keys create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("keys create NAME")
	}
	cred, key, err := cf.client().CreateCredential(ctx, "", pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "key %s of department %s (shown once; keep it safe):\n", cred.ID, cred.Department)
	fmt.Fprintln(stdout, key)
	return nil
}

// runRecords reads through the exchange: hutong records RESOURCE --purpose P.
func runRecords(ctx context.Context, args []string, export bool, stdout, stderr io.Writer) error {
	name := "records"
	if export {
		name = "export"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	var q hutong.RecordQuery
	var fields string
	var filters listFlag
	fs.StringVar(&q.Purpose, "purpose", "", "the purpose your agreement names (required)")
	fs.StringVar(&fields, "fields", "", "comma-separated items (default: the agreement's)")
	fs.Var(&filters, "filter", "FIELD:OP:VALUE (repeatable)")
	format, out := "", ""
	if export {
		fs.StringVar(&format, "format", "ndjson", "ndjson or csv")
		fs.StringVar(&out, "o", "", "write to this file instead of standard output")
	} else {
		fs.IntVar(&q.Limit, "limit", 0, "rows per page")
		fs.StringVar(&q.Cursor, "cursor", "", "cursor of the page to read")
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%s RESOURCE --purpose P", name)
	}
	q.Resource, q.Fields, q.FilterText = pos[0], splitFields(fields), filters
	c := cf.client()
	if !export {
		page, err := c.Records(ctx, q)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "receipt: %s\n", hhttp.FormatReceipt(page.Receipt))
		_, err = stdout.Write(page.Body)
		return err
	}
	w := stdout
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	rec, err := c.Export(ctx, q, format, w)
	if rec != nil {
		fmt.Fprintf(stderr, "receipt: %s\n", hhttp.FormatReceipt(rec))
	}
	return err
}

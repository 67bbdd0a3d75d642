package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/demo"
	hhttp "github.com/hutong/hutong/http"
)

// clientFlags are the flags every client command takes.
type clientFlags struct {
	hub, token string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.hub, "hub", "", "hub URL (default $HUTONG_HUB or http://localhost:8080)")
	fs.StringVar(&c.token, "token", "", "bearer token (default $HUTONG_TOKEN)")
}

// client returns an API client from the flags, the environment or, last,
// the demo's credentials file in ./hutong-data.
func (c *clientFlags) client() *hhttp.Client {
	hub, token := c.hub, c.token
	if hub == "" {
		hub = os.Getenv("HUTONG_HUB")
	}
	if token == "" {
		token = os.Getenv("HUTONG_TOKEN")
	}
	if token == "" || hub == "" {
		if creds, err := readCredentials("hutong-data"); err == nil {
			if token == "" {
				token = creds.AdminToken
			}
			if hub == "" {
				hub = creds.Hub
			}
		}
	}
	if hub == "" {
		hub = "http://localhost:8080"
	}
	return hhttp.NewClient(hub, token)
}

func readCredentials(dir string) (*demo.Credentials, error) {
	b, err := os.ReadFile(filepath.Join(dir, "demo-credentials.json"))
	if err != nil {
		return nil, err
	}
	var c demo.Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return &c, nil
}

// parseInterspersed parses flags that may stand before, between or after
// positional arguments, as people type them.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func runResources(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("resources: want list, show, publish, import or rows")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("resources "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	jsonOut := fs.Bool("json", false, "print JSON")
	var f hutong.ResourceFilter
	var shareType string
	replace := false
	if sub == "list" {
		fs.StringVar(&f.Query, "q", "", "search terms (Chinese or English substrings)")
		fs.StringVar(&f.Tag, "tag", "", "tag")
		fs.StringVar(&f.Region, "region", "", "GB/T 2260 code")
		fs.StringVar(&f.Provider, "provider", "", "provider department id")
		fs.StringVar(&shareType, "share-type", "", "unconditional, conditional or none")
		fs.IntVar(&f.Level, "level", 0, "classification level 1-4")
		fs.IntVar(&f.Limit, "limit", 50, "page size")
		fs.StringVar(&f.Cursor, "cursor", "", "cursor of the page to show")
	}
	if sub == "rows" {
		fs.BoolVar(&replace, "replace", false, "replace the rows the hub holds instead of appending")
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	c := cf.client()
	switch sub {
	case "list":
		f.ShareType = hutong.ShareType(shareType)
		page, err := c.Resources(ctx, f)
		if err != nil {
			return err
		}
		if *jsonOut {
			return printJSON(stdout, page)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CODE\tNAME\tPROVIDER\tSHARE\tLEVEL\tROWS")
		for _, r := range page.Items {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", r.Code, r.Name, r.ProviderName, r.ShareType.Label(), r.Level, r.Rows)
		}
		tw.Flush()
		fmt.Fprintf(stdout, "%d of %d", len(page.Items), page.Total)
		if page.NextCursor != "" {
			fmt.Fprintf(stdout, "; next page: --cursor %s", page.NextCursor)
		}
		fmt.Fprintln(stdout)
		return nil
	case "show":
		if len(pos) != 1 {
			return errors.New("resources show CODE")
		}
		r, err := c.Resource(ctx, pos[0])
		if err != nil {
			return err
		}
		return printJSON(stdout, r)
	case "publish":
		if len(pos) != 1 {
			return errors.New("resources publish FILE.json")
		}
		b, err := os.ReadFile(pos[0])
		if err != nil {
			return err
		}
		var r hutong.Resource
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		out, err := c.PublishResource(ctx, &r)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "published %s %s (level %d, %s)\n", out.Code, out.Name, out.Level, out.ShareType.Label())
		return nil
	case "import":
		if len(pos) != 1 {
			return errors.New("resources import FILE.csv|FILE.xlsx")
		}
		file, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer file.Close()
		ct := "text/csv"
		if strings.EqualFold(filepath.Ext(pos[0]), ".xlsx") {
			ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		}
		codes, err := c.ImportCatalog(ctx, ct, file)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "published %d resources: %s\n", len(codes), strings.Join(codes, ", "))
		return nil
	case "rows":
		if len(pos) != 2 {
			return errors.New("resources rows CODE FILE.csv|FILE.ndjson [--replace]")
		}
		file, err := os.Open(pos[1])
		if err != nil {
			return err
		}
		defer file.Close()
		ct := "text/csv"
		switch strings.ToLower(filepath.Ext(pos[1])) {
		case ".ndjson", ".jsonl":
			ct = "application/x-ndjson"
		}
		mode := hutong.ImportAppend
		if replace {
			mode = hutong.ImportReplace
		}
		res, err := c.ImportRows(ctx, pos[0], ct, file, mode)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "imported %d rows into %s (%d rows in all)\n", res.Imported, pos[0], res.TotalRows)
		return nil
	}
	return fmt.Errorf("resources: unknown subcommand %q", sub)
}

func runElements(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		return errors.New("elements list")
	}
	fs := flag.NewFlagSet("elements list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	jsonOut := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	els, err := cf.client().Elements(ctx)
	if err != nil {
		return err
	}
	if *jsonOut {
		return printJSON(stdout, els)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTYPE\tPERSONAL\tMASKING\tFORMAT")
	for _, e := range els {
		personal := ""
		if e.Personal {
			personal = "个人信息"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Name, e.Type, personal, e.Masking, e.Format)
	}
	return tw.Flush()
}

// runEnv prints shell exports for the demo: the hub, the admin token as
// HUTONG_TOKEN, a token per demo user, and a key and the id of each
// department, named after their logins (TOKEN_TJYB_STEWARD, KEY_BJSJ,
// DEPT_TJYB …).
func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "hutong-data", "the demo's data directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := readCredentials(*data)
	if err != nil {
		return fmt.Errorf("no demo credentials in %s (start `hutong demo --data %s` first): %w", *data, *data, err)
	}
	name := func(login string) string { return strings.ToUpper(strings.ReplaceAll(login, "-", "_")) }
	fmt.Fprintf(stdout, "export HUTONG_HUB=%q\nexport HUTONG_TOKEN=%q\nexport ADMIN_TOKEN=%q\n", c.Hub, c.AdminToken, c.AdminToken)
	for _, x := range c.Consumers {
		fmt.Fprintf(stdout, "export TOKEN_%s=%q\n", name(x.Login), x.Token)
		short := strings.TrimSuffix(name(x.Login), "_CONSUMER")
		fmt.Fprintf(stdout, "export KEY_%s=%q\nexport DEPT_%s=%q\n", short, x.APIKey, short, x.Department)
	}
	for _, x := range c.Stewards {
		fmt.Fprintf(stdout, "export TOKEN_%s=%q\n", name(x.Login), x.Token)
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"database/sql"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/demo"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/node"
	"github.com/hutong/hutong/pki"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/standard"
)

// regionNodes is the hub's side of the region nodes: the CA that certifies
// them, their register, the mutual-TLS API they call and the client that
// forwards queries to them.
type regionNodes struct {
	CA       *pki.CA
	Register *sqlstore.NodeRegister
	API      *node.HubAPI
	Client   *node.Remote
	// URL is where nodes reach the node API.
	URL string
	// witnessTransport reaches the nodes' ledger witnesses over mutual TLS.
	witnessTransport http.RoundTripper

	mu sync.Mutex // serialises witness changes
}

// nodeAddr returns where the node API listens: the configured address,
// or an ephemeral loopback port when the hub's own port is ephemeral (as
// in tests).
func (c Config) nodeAddr() string {
	if c.NodeAddr != "" {
		return c.NodeAddr
	}
	if _, port, err := net.SplitHostPort(c.Addr); err == nil && port == "0" {
		return "127.0.0.1:0"
	}
	return ":8443"
}

// openNodes opens the CA (DATA/ca), binds the node API and opens the node
// register. The node API serves once the exchange exists (serveNodes).
func (m *Main) openNodes(ctx context.Context) error {
	ca, err := pki.LoadOrCreateCA(filepath.Join(m.Config.Data, "ca"), m.Config.Origin)
	if err != nil {
		return fmt.Errorf("node CA: %w", err)
	}
	m.Nodes = &regionNodes{CA: ca}
	m.Nodes.API = &node.HubAPI{Addr: m.Config.nodeAddr(), CA: ca.Pool(), Logger: m.Logger}
	if err := m.Nodes.API.Listen(); err != nil {
		return fmt.Errorf("%w (set node_addr or --node-addr)", err)
	}
	apiURL := m.Config.NodeURL
	if apiURL == "" {
		apiURL = "https://127.0.0.1:" + m.Nodes.API.Port()
	}
	u, err := url.Parse(apiURL)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return fmt.Errorf("config: node_url %q must be https://host:port", apiURL)
	}
	cert, err := ca.HubCertificate(slices.Compact([]string{u.Hostname(), "127.0.0.1", "localhost"}))
	if err != nil {
		return fmt.Errorf("hub certificate: %w", err)
	}
	m.Nodes.API.Cert, m.Nodes.URL = cert, strings.TrimRight(apiURL, "/")
	qk, err := ca.QueryKey()
	if err != nil {
		return err
	}
	m.Nodes.Register, err = sqlstore.NewNodeRegister(ctx, m.DB, sqlstore.NodeOptions{
		CA:       ca,
		NodeAPI:  strings.TrimRight(apiURL, "/"),
		QueryKey: base64.StdEncoding.EncodeToString(qk.Public().(ed25519.PublicKey)),
		Ledger: func() hutong.LedgerKeys {
			if m.Ledger == nil {
				return hutong.LedgerKeys{}
			}
			return m.Ledger.Keys()
		},
		OnChange: m.nodesChanged,
	})
	if err != nil {
		return err
	}
	timeout := node.DefaultTimeout
	if m.Config.NodeTimeout != "" {
		timeout, _ = time.ParseDuration(m.Config.NodeTimeout)
	}
	m.Nodes.Client = &node.Remote{Nodes: m.Nodes.Register, CA: ca.Pool(), Cert: cert, Key: qk, Timeout: timeout}
	m.Nodes.witnessTransport = &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS13},
		TLSHandshakeTimeout: 5 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return nil
}

// serveNodes gives the node API the services it answers from and starts
// serving it.
func (m *Main) serveNodes(catalog hutong.CatalogService, maskingKey []byte) error {
	api := m.Nodes.API
	api.Nodes, api.Catalog, api.Auditor, api.Refusals = m.Nodes.Register, catalog, m.Ledger, m.Refusals
	api.Agreements = m.Requests.NodeAgreements
	api.Config = func(region string) hutong.NodeConfig {
		return hutong.NodeConfig{Region: region, Ledger: m.Ledger.Keys()}
	}
	api.MaskKey = func(agreement string) []byte { return standard.AgreementKey(maskingKey, agreement) }
	return api.Serve()
}

// witnessEndpoints returns the ledger's witnesses: for each witness
// region, its node's witness when the node has enrolled one, or the hub's
// in-process stand-in.
func (m *Main) witnessEndpoints(inProcess map[string]*ledger.Witness) []ledger.WitnessEndpoint {
	eps := slices.Clone(m.Config.Witnesses)
	active := map[string]hutong.RegisteredNode{}
	if m.Nodes != nil {
		for _, n := range m.Nodes.Register.Active() {
			if n.WitnessKey != "" {
				active[n.Region] = n
			}
		}
	}
	for _, region := range m.Config.witnessRegions() {
		if n, ok := active[region]; ok {
			eps = append(eps, ledger.WitnessEndpoint{Name: region, Key: n.WitnessKey, URL: n.URL + "/witness"})
			continue
		}
		if w := inProcess[region]; w != nil {
			eps = append(eps, ledger.WitnessEndpoint{Name: region, Key: w.Key, URL: ledger.InProcessURL(region)})
		}
	}
	return eps
}

// nodesChanged moves witnesses between the hub and the nodes after a node
// enrols or is revoked. It runs in the background: restarting the log's
// checkpointing takes a moment and the enrolment need not wait for it.
func (m *Main) nodesChanged() {
	if m.Ledger == nil {
		return
	}
	go func() {
		m.Nodes.mu.Lock()
		defer m.Nodes.mu.Unlock()
		eps := m.witnessEndpoints(m.witnessByRegion())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := m.Ledger.SetWitnesses(ctx, eps, m.Config.quorumOf(len(eps))); err != nil {
			m.Logger.Error("moving ledger witnesses to the nodes", "err", err)
		}
	}()
}

func (m *Main) witnessByRegion() map[string]*ledger.Witness {
	out := map[string]*ledger.Witness{}
	for _, w := range m.Witnesses {
		out[w.Name] = w
	}
	return out
}

// hostedSource returns where a resource's rows live: the hub's tables, or
// the node of its region.
func (m *Main) hostedSource(rows hutong.Source) func(*hutong.Resource) (hutong.Source, error) {
	return func(r *hutong.Resource) (hutong.Source, error) {
		if r.Hosted == hutong.HostedHub {
			return rows, nil
		}
		return m.Nodes.Client, nil
	}
}

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

// startLocalNode runs a region node in the hub's process, as the demo and
// the benchmark do: enrolled through the hub's own API with a token the
// hub issues, exactly as a remote node would be, and served on ln.
func (m *Main) startLocalNode(ctx context.Context, region string, cfg *node.Config, ln net.Listener) (*node.Node, error) {
	cfg.Listen, cfg.URL = ln.Addr().String(), "https://"+ln.Addr().String()
	if err := cfg.Check(); err != nil {
		ln.Close()
		return nil, err
	}
	dir := filepath.Join(m.Config.Data, "nodes", region)
	token := ""
	if enrolled, url := node.Enrolled(dir); !enrolled || url != cfg.URL {
		admin := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "hub", Roles: []hutong.Role{hutong.RoleAdmin}}})
		t, err := m.Nodes.Register.CreateEnrolmentToken(admin, region, 10*time.Minute)
		if err != nil {
			ln.Close()
			return nil, err
		}
		token = t.Token
	}
	n, err := startNode(ctx, dir, m.HTTP.URL(), token, cfg, m.Logger.With("node", region), ln)
	if err != nil {
		ln.Close()
		return nil, err
	}
	m.localNodes = append(m.localNodes, n)
	return n, nil
}

// demoNodePort is where the demo's node of a province listens, so that a
// second run finds it where it enrolled.
var demoNodePort = map[string]string{"110000": "9411", "120000": "9412", "130000": "9413"}

// startDemoNodes runs the demo's three provinces as region nodes in this
// process, each keeping its dataset at its source: Beijing and Hebei in
// CSV files, Tianjin in an SQLite database.
func (m *Main) startDemoNodes(ctx context.Context) error {
	depts := demo.Departments(m.Config.Seed)
	sets := demo.NodeDatasets(depts, demo.Options{Seed: m.Config.Seed, Scale: m.Config.Scale})
	for _, region := range slices.Sorted(maps.Keys(sets)) {
		ds := sets[region]
		dir := filepath.Join(m.Config.Data, "nodes", region)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		src := node.SourceConfig{}
		for i, it := range ds.Resource.Items {
			src.Items = append(src.Items, node.ItemColumn{Name: it.Name, Column: ds.Columns[i], Element: it.Element, Required: it.Required})
		}
		var err error
		if region == "120000" {
			src.Driver, src.DSN, src.Table, src.Key = node.DriverSQLite, filepath.Join(dir, "source.db"), "annual_reports", "id"
			err = writeDemoSQLite(src.DSN, src.Table, ds)
		} else {
			src.Driver, src.File = node.DriverCSV, filepath.Join(dir, "source.csv")
			err = writeDemoCSV(src.File, ds)
		}
		if err != nil {
			return fmt.Errorf("demo node %s: %w", region, err)
		}
		res := *ds.Resource
		res.Items = nil
		cfg := &node.Config{SyncInterval: "2s", Resources: []node.ResourceConfig{{Resource: res, Source: src}}}
		addr := "127.0.0.1:" + demoNodePort[region]
		if _, port, _ := net.SplitHostPort(m.Config.Addr); port == "0" {
			addr = "127.0.0.1:0"
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("demo node %s: %w", region, err)
		}
		if _, err := m.startLocalNode(ctx, region, cfg, ln); err != nil {
			return fmt.Errorf("demo node %s: %w", region, err)
		}
	}
	return nil
}

// hasDemoNodes reports whether any of the demo's regions is enrolled as a
// node in this data directory.
func (m *Main) hasDemoNodes() bool {
	for region := range demoNodePort {
		if ok, _ := node.Enrolled(filepath.Join(m.Config.Data, "nodes", region)); ok {
			return true
		}
	}
	return false
}

func writeDemoCSV(path string, ds *demo.NodeDataset) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(ds.Columns)
	w.WriteAll(ds.Rows)
	if err := w.Error(); err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(b.String()))
}

func writeDemoSQLite(path, table string, ds *demo.NodeDataset) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	tmp := path + ".tmp"
	os.Remove(tmp)
	db, err := sql.Open("sqlite", tmp)
	if err != nil {
		return err
	}
	defer db.Close()
	cols := make([]string, len(ds.Columns))
	for i, c := range ds.Columns {
		typ := "TEXT"
		switch ds.Resource.Items[i].Element {
		case "year", "count":
			typ = "INTEGER"
		case "amount":
			typ = "REAL"
		}
		cols[i] = c + " " + typ
	}
	if _, err := db.Exec(`CREATE TABLE ` + table + ` (id INTEGER PRIMARY KEY, ` + strings.Join(cols, ", ") + `)`); err != nil {
		return err
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	st, err := tx.Prepare(`INSERT INTO ` + table + ` (` + strings.Join(ds.Columns, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(ds.Columns)-1) + `)`)
	if err != nil {
		tx.Rollback()
		return err
	}
	for _, row := range ds.Rows {
		args := make([]any, len(row))
		for i, v := range row {
			args[i] = v
		}
		if _, err := st.Exec(args...); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/demo"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/internal/testenv"
	"github.com/hutong/hutong/node"
	"github.com/hutong/hutong/pki"
)

// nodeSource puts a demo node dataset where a region keeps it: a table in
// PostgreSQL or MariaDB (the CI's servers, named by HUTONG_TEST_POSTGRES
// and HUTONG_TEST_MYSQL), or a CSV file. Without the server's variable
// the table goes into SQLite, and the test says so.
func nodeSource(t *testing.T, driver string, ds *demo.NodeDataset, dir string) node.SourceConfig {
	t.Helper()
	src := node.SourceConfig{Driver: driver}
	for i, it := range ds.Resource.Items {
		src.Items = append(src.Items, node.ItemColumn{Name: it.Name, Column: ds.Columns[i], Element: it.Element, Required: it.Required})
	}
	table := fmt.Sprintf("hutong_node_%d", time.Now().UnixNano()%1e9)
	var db *sql.DB
	var err error
	switch driver {
	case node.DriverCSV:
		src.File = filepath.Join(dir, "source.csv")
		if err := writeDemoCSV(src.File, ds); err != nil {
			t.Fatal(err)
		}
		return src
	case node.DriverPostgres:
		var ok bool
		if src.DSN, ok = testenv.Postgres.Lookup(t, "the PostgreSQL node reads SQLite instead"); !ok {
			return nodeSource(t, node.DriverSQLite, ds, dir)
		}
		db, err = sql.Open("pgx", src.DSN)
	case node.DriverMySQL:
		var ok bool
		if src.DSN, ok = testenv.MySQL.Lookup(t, "the MariaDB node reads SQLite instead"); !ok {
			return nodeSource(t, node.DriverSQLite, ds, dir)
		}
		cfg, perr := mysql.ParseDSN(src.DSN)
		if perr != nil {
			t.Fatal(perr)
		}
		db, err = sql.Open("mysql", cfg.FormatDSN())
	case node.DriverSQLite:
		src.DSN, src.Table, src.Key = filepath.Join(dir, "source.db"), "rows_of_node", "id"
		if err := writeDemoSQLite(src.DSN, src.Table, ds); err != nil {
			t.Fatal(err)
		}
		return src
	}
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	src.Table, src.Key = table, "id"
	cols := make([]string, len(ds.Columns))
	for i, c := range ds.Columns {
		typ := "VARCHAR(200)"
		switch ds.Resource.Items[i].Element {
		case "year", "count":
			typ = "INTEGER"
		case "amount":
			typ = "DECIMAL(14,2)"
		case "date":
			typ = "DATE"
		}
		cols[i] = c + " " + typ
	}
	if _, err := db.Exec(`CREATE TABLE ` + table + ` (id INTEGER PRIMARY KEY, ` + strings.Join(cols, ", ") + `)`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open(map[string]string{node.DriverPostgres: "pgx", node.DriverMySQL: "mysql"}[driver], src.DSN); err == nil {
			db.Exec(`DROP TABLE ` + table)
			db.Close()
		}
	})
	ph := func(i int) string {
		if driver == node.DriverPostgres {
			return fmt.Sprintf("$%d", i)
		}
		return "?"
	}
	var b strings.Builder
	var args []any
	flush := func() {
		if len(args) == 0 {
			return
		}
		if _, err := db.Exec(`INSERT INTO `+table+` (id, `+strings.Join(ds.Columns, ", ")+`) VALUES `+strings.TrimSuffix(b.String(), ","), args...); err != nil {
			t.Fatal(err)
		}
		b.Reset()
		args = args[:0]
	}
	for i, row := range ds.Rows {
		b.WriteString("(")
		for j := range len(row) + 1 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(ph(len(args) + j + 1))
		}
		b.WriteString("),")
		args = append(args, i+1)
		for _, v := range row {
			args = append(args, v)
		}
		if len(args) > 5000 {
			flush()
		}
	}
	flush()
	return src
}

// TestRegionNodes is the federation end to end: a hub and three region
// nodes on loopback (北京 on PostgreSQL, 天津 on MariaDB, 河北 on a CSV
// file), each enrolled with a one-time token from `hutong nodes token`.
// Consumers request, stewards approve and consumers read node-hosted
// resources through the hub as they read hub-hosted ones; a node that
// dies makes its resources answer 503 naming its region while the rest
// works, and serves again when it returns; the nodes' audits find every
// query they answered in the ledger, cosigned by their own witnesses.
func TestRegionNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("federates three region nodes and waits out their timeouts (8 s); runs without -short")
	}
	dir := t.TempDir()
	m := NewMain()
	m.demo = true
	m.Logger = slog.New(slog.DiscardHandler)
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--data", dir, "--scale", "0.02"}, os.Stderr); err != nil {
		t.Fatal(err)
	}
	m.Config.NodeTimeout = "1s"
	if err := m.Open(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer m.Close()
	creds := readCreds(t, dir)
	ctx := context.Background()
	hub := creds.Hub
	sets := demo.NodeDatasets(demo.Departments(m.Config.Seed), demo.Options{Seed: m.Config.Seed, Scale: 0.02})
	drivers := map[string]string{"110000": node.DriverPostgres, "120000": node.DriverMySQL, "130000": node.DriverCSV}

	// Each region: a token from the CLI, then `hutong node`'s start.
	nodes := map[string]*node.Node{}
	cfgs := map[string]*node.Config{}
	for _, region := range []string{"110000", "120000", "130000"} {
		var out, errOut bytes.Buffer
		if err := run(ctx, []string{"nodes", "token", "--region", region, "--hub", hub, "--token", creds.AdminToken}, &out, &errOut); err != nil {
			t.Fatalf("hutong nodes token: %v %s", err, errOut.String())
		}
		token := strings.TrimSpace(out.String())
		ndir := filepath.Join(t.TempDir(), region)
		res := *sets[region].Resource
		res.Items = nil
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg := &node.Config{Listen: ln.Addr().String(), SyncInterval: "500ms",
			Resources: []node.ResourceConfig{{Resource: res, Source: nodeSource(t, drivers[region], sets[region], t.TempDir())}}}
		if err := cfg.Check(); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		n, err := startNode(ctx, ndir, hub, token, cfg, m.Logger, ln)
		if err != nil {
			t.Fatalf("node %s: %v", region, err)
		}
		t.Cleanup(func() { nodes[region].Close() })
		nodes[region], cfgs[region] = n, cfg
		// The token is spent.
		if _, err := node.Enrol(ctx, t.TempDir(), hub, token, cfg.URL, m.Logger); hutong.ErrorCode(err) != hutong.EUNAUTHORIZED {
			t.Errorf("a spent token enrolled again: %v", err)
		}
		waitFor(t, 10*time.Second, "node "+region+" published", func() bool {
			r, err := m.HTTP.Catalog.Resource(ctx, res.Code)
			return err == nil && r.Hosted == hutong.HostedNode && len(r.Items) == len(sets[region].Columns)
		})
		t.Logf("node %s (%s) enrolled and published in %s", region, drivers[region], time.Since(start).Round(time.Millisecond))
	}

	// Beijing's data bureau asks for each region's node-hosted resource;
	// the providing stewards approve the conditional ones.
	bj, _ := credentialsOf(creds, "bjsj")
	consumer := hhttp.NewClient(hub, bj.Token)
	const purpose = "跨省协同监管"
	stewards := map[string]string{"110000": "bjga", "120000": "tjsc", "130000": "hbjt"}
	for region, ds := range sets {
		var fields []string
		for _, it := range ds.Resource.Items {
			fields = append(fields, it.Name)
		}
		req, err := consumer.CreateRequest(ctx, &hutong.RequestInput{Resource: ds.Resource.Code, Fields: fields, Purpose: purpose,
			LegalBasis: "京津冀协同发展数据共享协议", ValidUntil: time.Now().AddDate(0, 6, 0).Format(time.DateOnly)})
		if err != nil {
			t.Fatalf("request %s: %v", ds.Resource.Code, err)
		}
		if req.Status == hutong.RequestPending {
			_, st := credentialsOf(creds, stewards[region])
			if _, err := hhttp.NewClient(hub, st.Token).Approve(ctx, req.ID, hutong.Narrowing{}); err != nil {
				t.Fatalf("approve %s: %v", ds.Resource.Code, err)
			}
		}
	}

	read := func(code string, extra string) (int, http.Header, []byte) {
		return get(t, hub+"/api/v1/resources/"+code+"/records?limit=5"+extra, bj.APIKey, purpose)
	}
	for region, ds := range sets {
		code := ds.Resource.Code
		status, h, body := read(code, "")
		if status != 200 || h.Get("Hutong-Receipt") == "" {
			t.Fatalf("%s from node %s: %d %s", code, region, status, body)
		}
		var page struct {
			Items []map[string]any `json:"items"`
		}
		json.Unmarshal(body, &page)
		if len(page.Items) != 5 {
			t.Fatalf("%s: %d records: %s", code, len(page.Items), body)
		}
		// Personal information is masked by the node, as the elements say.
		switch region {
		case "110000":
			if id := page.Items[0]["公民身份号码"].(string); !strings.Contains(id, "*") || id == ds.Rows[0][1] {
				t.Errorf("citizen id %q left the node unmasked", id)
			}
		case "130000":
			if m := page.Items[0]["联系电话"].(string); !strings.Contains(m, "****") {
				t.Errorf("mobile %q left the node unmasked", m)
			}
		case "120000":
			if y, ok := page.Items[0]["报告年度"].(float64); !ok || y < 2021 {
				t.Errorf("year %#v", page.Items[0]["报告年度"])
			}
		}
	}
	// Filters and exports go through the node too.
	tj := sets["120000"].Resource.Code
	if status, _, body := read(tj, "&filter="+urlq("报告年度:eq:2023")); status != 200 || strings.Contains(string(body), `"报告年度":2022`) {
		t.Fatalf("filtered: %d %s", status, body)
	}
	status, _, body := get(t, hub+"/api/v1/resources/"+sets["130000"].Resource.Code+"/export?format=csv", bj.APIKey, purpose)
	if lines := strings.Count(string(body), "\n"); status != 200 || lines != len(sets["130000"].Rows)+1 {
		t.Fatalf("export from the CSV node: %d, %d lines, want %d", status, lines, len(sets["130000"].Rows)+1)
	}

	// 天津's node dies: its resource answers 503 naming the region within
	// the timeout; the other regions and the catalog keep working.
	nodes["120000"].Close()
	start := time.Now()
	status, _, body = read(tj, "")
	if status != 503 || !strings.Contains(string(body), "region 120000") {
		t.Fatalf("node down: %d %s", status, body)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the 503 took %s", took)
	}
	if status, _, _ := read(sets["110000"].Resource.Code, ""); status != 200 {
		t.Errorf("Beijing's node while Tianjin's is down: %d", status)
	}
	if status, _, _ := get(t, hub+"/api/v1/resources?q=企业", bj.Token, ""); status != 200 {
		t.Errorf("catalog while a node is down: %d", status)
	}
	// It comes back on its address and serves again, no manual step.
	ln, err := net.Listen("tcp", cfgs["120000"].Listen)
	if err != nil {
		t.Fatal(err)
	}
	nodes["120000"], err = startNode(ctx, filepath.Join(filepath.Dir(nodes["120000"].Dir), "120000"), hub, "", cfgs["120000"], m.Logger, ln)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, body := read(tj, ""); status != 200 {
		t.Fatalf("node back: %d %s", status, body)
	}

	// The nodes' audits: every query each answered is in the ledger, whose
	// checkpoint the nodes' own witnesses cosign.
	flush, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// A checkpoint needs 2 of the 3 witnesses, so one may lag behind the
	// others: wait until each node's own witness has cosigned.
	waitFor(t, 60*time.Second, "the nodes' witnesses to cosign", func() bool {
		m.Ledger.Flush(flush)
		for _, n := range nodes {
			if rep, err := n.Audit(ctx, 0); err != nil || !rep.OwnWitness {
				t.Logf("audit %s: %+v, %v", n.Dir, rep, err)
				return false
			}
		}
		return true
	})
	for region, n := range nodes {
		rep, err := n.Audit(ctx, 0)
		if err != nil {
			t.Fatalf("audit %s: %v", region, err)
		}
		if !rep.Clean() || rep.Served == 0 || rep.Matched != rep.Served || !rep.OwnWitness {
			t.Fatalf("audit %s: %+v", region, rep)
		}
		t.Logf("audit %s: %d answered, %d in the ledger of %d entries, witnesses %v", region, rep.Served, rep.Matched, rep.LedgerSize, rep.Witnesses)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"node", "audit", "--data", nodes["130000"].Dir, "--grace", "0s"}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "clean") {
		t.Fatalf("hutong node audit: %v\n%s", err, out.String())
	}

	// Refusals on the hub's node API are audited: a node publishing for
	// another region, an expired certificate, a revoked one.
	apiURL := m.Nodes.URL
	callAPI := func(cert tls.Certificate, method, path string, body string) int {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: m.Nodes.CA.Pool(), Certificates: []tls.Certificate{cert}}}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequest(method, apiURL+path, strings.NewReader(body))
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	bjCert, err := tls.LoadX509KeyPair(filepath.Join(nodes["110000"].Dir, "node.crt"), filepath.Join(nodes["110000"].Dir, "node.key"))
	if err != nil {
		t.Fatal(err)
	}
	if code := callAPI(bjCert, http.MethodPut, "/node/v1/resources/"+tj, `{"region":"120000"}`); code != 403 {
		t.Errorf("Beijing's node publishing Tianjin's resource: %d", code)
	}
	key, csr, _ := pki.NewNodeKey("110000")
	expiredPEM, _, err := m.Nodes.CA.SignNode(csr, "110000", "https://127.0.0.1:1", -time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "k")
	pki.WriteKey(keyPath, key)
	keyPEM, _ := os.ReadFile(keyPath)
	expired, err := tls.X509KeyPair(expiredPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if code := callAPI(expired, http.MethodGet, "/node/v1/agreements", ""); code != 401 {
		t.Errorf("an expired certificate: %d", code)
	}
	var revoke bytes.Buffer
	if err := run(ctx, []string{"nodes", "revoke", "130000", "--hub", hub, "--token", creds.AdminToken}, &revoke, io.Discard); err != nil {
		t.Fatal(err)
	}
	hbCert, _ := tls.LoadX509KeyPair(filepath.Join(nodes["130000"].Dir, "node.crt"), filepath.Join(nodes["130000"].Dir, "node.key"))
	if code := callAPI(hbCert, http.MethodGet, "/node/v1/config", ""); code != 401 {
		t.Errorf("a revoked certificate: %d", code)
	}
	if status, _, body := read(sets["130000"].Resource.Code, ""); status != 503 || !strings.Contains(string(body), "130000") {
		t.Errorf("a revoked region's resource: %d %s", status, body)
	}
	// Refusals of callers whose certificate proves nothing are tallied
	// per source and minute; record this minute's now.
	if err := m.Refusals.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	refusals := 0
	entries, err := m.Audit.Entries(ctx, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		var ev hutong.AuditEvent
		json.Unmarshal(e.Data, &ev)
		if ev.Kind == hutong.AuditNodeRefuse {
			refusals += int(max(1, ev.Count)) // a tally stands for Count refusals
		}
	}
	if refusals < 3 {
		t.Errorf("%d node refusals audited, want at least 3", refusals)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func urlq(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, ":", "%3A"), " ", "%20") }

package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/demo"
	"github.com/hutong/hutong/exchange"
	"github.com/hutong/hutong/node"
	"github.com/hutong/hutong/standard"
)

// ExchangeBench is what `hutong bench exchange` measures, in one process
// and one run: the governed single-record lookup over HTTP against an
// ungoverned lookup of the same rows from the same store over HTTP, and a
// governed bulk export against an ungoverned one.
type ExchangeBench struct {
	Rows           int     `json:"rows"`
	Clients        int     `json:"clients"`
	Seconds        float64 `json:"seconds"`
	GovernedRPS    float64 `json:"governed_rps"`
	BaselineRPS    float64 `json:"baseline_rps"`
	Ratio          float64 `json:"ratio"`
	P50Ms          float64 `json:"p50_ms"`
	P99Ms          float64 `json:"p99_ms"`
	BaselineP50Ms  float64 `json:"baseline_p50_ms"`
	BaselineP99Ms  float64 `json:"baseline_p99_ms"`
	AddedP99Ms     float64 `json:"added_p99_ms"`
	Errors         int64   `json:"errors"`
	ExportRowsPerS float64 `json:"export_rows_per_s"`
	BaselineExport float64 `json:"baseline_export_rows_per_s"`
	ExportRatio    float64 `json:"export_ratio"`
	ExportHeapMB   float64 `json:"export_peak_heap_mb"`
	// ScanRowsPerS is a plain read of the same rows from the same store,
	// in process, and ExportScanRatio the governed export against it.
	ScanRowsPerS    float64 `json:"scan_rows_per_s"`
	ExportScanRatio float64 `json:"export_scan_ratio"`
	IdleHeapMB      float64 `json:"idle_heap_mb"`
	AuditEntries    uint64  `json:"audit_entries"`
	AuditBatchSize  float64 `json:"audit_mean_batch"`

	// With --via-node: the same rows kept at a region node (SQLite at
	// its source), read through the hub over mutual TLS, in the same run.
	Node *NodeBench `json:"node,omitempty"`
	// ByClients has a row per number of clients measured.
	ByClients []ClientsRow `json:"by_clients"`
}

// ClientsRow is the lookups measured with one number of clients.
type ClientsRow struct {
	Clients     int     `json:"clients"`
	GovernedRPS float64 `json:"governed_rps"`
	BaselineRPS float64 `json:"baseline_rps"`
	Ratio       float64 `json:"ratio"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	AddedP99Ms  float64 `json:"added_p99_ms"`
}

// scanRate reads the benchmark resource's rows straight from its store,
// without governance, masking or HTTP, and returns rows/s (best of 3).
func scanRate(ctx context.Context, m *Main, want int) (float64, error) {
	res, err := m.HTTP.Catalog.Resource(ctx, benchCode)
	if err != nil {
		return 0, err
	}
	src, err := m.Exchange.Source(res)
	if err != nil {
		return 0, err
	}
	fields := make([]string, len(res.Items))
	for i, it := range res.Items {
		fields[i] = it.Name
	}
	best := 0.0
	for range 3 {
		n := 0
		start := time.Now()
		if err := src.Read(ctx, res, hutong.SourceQuery{Fields: fields}, func(hutong.SourceRow) error { n++; return nil }); err != nil {
			return 0, err
		}
		if n != want {
			return 0, fmt.Errorf("bench exchange: the scan read %d rows, want %d", n, want)
		}
		best = max(best, float64(n)/time.Since(start).Seconds())
	}
	return best, nil
}

// NodeBench is the node-hosted path next to the hub-hosted one.
type NodeBench struct {
	GovernedRPS    float64 `json:"governed_rps"`
	Ratio          float64 `json:"ratio_to_hub_hosted"`
	P50Ms          float64 `json:"p50_ms"`
	P99Ms          float64 `json:"p99_ms"`
	Errors         int64   `json:"errors"`
	ExportRowsPerS float64 `json:"export_rows_per_s"`
	ExportRatio    float64 `json:"export_ratio_to_hub_hosted"`
}

const benchCode, benchPurpose = "120000-TJSC-01", "基准测试"

func runBenchExchange(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench exchange", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rows := fs.Int("rows", 200_000, "rows of the benchmark resource")
	clientList := fs.String("clients", "16", "concurrent HTTP clients: a number, or a comma-separated list (e.g. 4,16,64,256) run in turn; the top-level figures are 16's, else the first's")
	dur := fs.Duration("duration", 8*time.Second, "how long each lookup phase runs")
	jsonOut := fs.Bool("json", false, "print one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the governed phase to this file")
	viaNode := fs.Bool("via-node", false, "also read the same rows kept at a region node, through the hub")
	pg := fs.String("postgres", "", "run the hub on a fresh database made on this PostgreSQL server instead of SQLite (as a cluster's hubs run)")
	fs.StringVar(pg, "store", "", "the same as --postgres (a postgres:// URL)")
	subjects := fs.Bool("subjects", true, "note whose rows each release returns (数据使用记录); false measures the exchange without")
	supervised := fs.Bool("supervision", true, "run the hub with supervision (detectors over the journal, suspension checks); false to measure its cost")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var counts []int
	for _, f := range strings.Split(*clientList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return fmt.Errorf("bench exchange: --clients %q: each must be a number from 1 to 4096", *clientList)
		}
		counts = append(counts, n)
	}
	top := counts[0]
	if slices.Contains(counts, 16) {
		top = 16
	}
	clients := &top
	if *rows < 1000 || *dur < time.Second {
		return errors.New("bench exchange: --rows ≥ 1000, --duration ≥ 1s")
	}
	dir, err := os.MkdirTemp("", "hutong-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	m := NewMain()
	m.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	m.Config.Addr, m.Config.Data = "127.0.0.1:0", dir
	m.Config.NoSupervision = !*supervised
	if *pg != "" {
		dsn, drop, err := freshDatabase(ctx, *pg, "hutong_bench")
		if err != nil {
			return err
		}
		defer drop()
		m.Config.Postgres = dsn
	}
	if err := m.Open(ctx); err != nil {
		m.Close()
		return err
	}
	defer m.Close()
	if !*subjects {
		m.Exchange.Subjects = nil
	}
	fmt.Fprintf(stderr, "loading %d rows…\n", *rows)
	key, codes, err := benchSetup(ctx, m, *rows)
	if err != nil {
		return err
	}

	base, err := startBaseline(m)
	if err != nil {
		return err
	}
	defer base.Close()

	r := ExchangeBench{Rows: *rows, Clients: *clients, Seconds: dur.Seconds()}
	maxClients := slices.Max(counts)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: maxClients, MaxConnsPerHost: maxClients}}
	governed := func(code string) string {
		return m.HTTP.URL() + "/api/v1/resources/" + benchCode + "/records?limit=1&filter=" + url.QueryEscape("统一社会信用代码:eq:"+code)
	}
	ungoverned := func(code string) string { return base.url + "/lookup?code=" + code }

	for _, n := range counts {
		// Warm both paths, then measure the baseline and the governed
		// path in turn, with the same clients.
		lookups(ctx, client, governed, key, codes, n, time.Second)
		lookups(ctx, client, ungoverned, "", codes, n, time.Second)
		fmt.Fprintf(stderr, "baseline lookups, %d clients…\n", n)
		b := lookups(ctx, client, ungoverned, "", codes, n, *dur)
		fmt.Fprintf(stderr, "governed lookups, %d clients…\n", n)
		if *cpuProfile != "" && n == *clients {
			f, err := os.Create(*cpuProfile)
			if err != nil {
				return err
			}
			pprof.StartCPUProfile(f)
		}
		g := lookups(ctx, client, governed, key, codes, n, *dur)
		if *cpuProfile != "" && n == *clients {
			pprof.StopCPUProfile()
		}
		row := ClientsRow{Clients: n, GovernedRPS: g.rps, BaselineRPS: b.rps, Ratio: g.rps / b.rps, P50Ms: g.p50, P99Ms: g.p99, AddedP99Ms: g.p99 - b.p99}
		r.ByClients = append(r.ByClients, row)
		if n == *clients {
			r.GovernedRPS, r.BaselineRPS = g.rps, b.rps
			r.Ratio = g.rps / b.rps
			r.P50Ms, r.P99Ms = g.p50, g.p99
			r.BaselineP50Ms, r.BaselineP99Ms = b.p50, b.p99
			r.AddedP99Ms = g.p99 - b.p99
		}
		r.Errors += g.errors + b.errors
	}

	// A plain scan of the same rows from the same store, in process: what
	// an export cannot beat.
	scan, err := scanRate(ctx, m, *rows)
	if err != nil {
		return err
	}
	r.ScanRowsPerS = scan

	fmt.Fprintln(stderr, "exports…")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.IdleHeapMB = float64(ms.HeapInuse) / (1 << 20)
	exp, peak, err := exportRate(ctx, client, m.HTTP.URL()+"/api/v1/resources/"+benchCode+"/export?format=ndjson", key, *rows)
	if err != nil {
		return err
	}
	bexp, _, err := exportRate(ctx, client, base.url+"/export", "", *rows)
	if err != nil {
		return err
	}
	r.ExportRowsPerS, r.BaselineExport, r.ExportRatio, r.ExportHeapMB = exp, bexp, exp/bexp, peak
	r.ExportScanRatio = exp / scan
	n, err := countAudit(ctx, m)
	if err != nil {
		return err
	}
	r.AuditEntries = uint64(n)
	if events, batches := m.Audit.Stats(); batches > 0 {
		r.AuditBatchSize = float64(events) / float64(batches)
	}
	if *viaNode {
		fmt.Fprintln(stderr, "the same rows at a region node…")
		nb, err := benchNode(ctx, m, client, key, codes, *clients, *dur, *rows)
		if err != nil {
			return err
		}
		nb.Ratio, nb.ExportRatio = nb.GovernedRPS/r.GovernedRPS, nb.ExportRowsPerS/r.ExportRowsPerS
		r.Node = nb
	}

	if *jsonOut {
		return printJSON(stdout, r)
	}
	if len(r.ByClients) > 1 {
		fmt.Fprintf(stdout, "%8s %12s %12s %6s %8s %8s %10s\n", "clients", "governed/s", "baseline/s", "ratio", "p50 ms", "p99 ms", "added p99")
		for _, c := range r.ByClients {
			fmt.Fprintf(stdout, "%8d %12.0f %12.0f %6.2f %8.2f %8.2f %10.2f\n", c.Clients, c.GovernedRPS, c.BaselineRPS, c.Ratio, c.P50Ms, c.P99Ms, c.AddedP99Ms)
		}
	}
	fmt.Fprintf(stdout, "single-record lookups, %d clients, %d rows, %.0f s each, over HTTP on this machine:\n", r.Clients, r.Rows, r.Seconds)
	fmt.Fprintf(stdout, "  governed  %8.0f req/s  p50 %.2f ms  p99 %.2f ms  (key, agreement, policy, query, masking, audit)\n", r.GovernedRPS, r.P50Ms, r.P99Ms)
	fmt.Fprintf(stdout, "  baseline  %8.0f req/s  p50 %.2f ms  p99 %.2f ms  (same rows, same store, nothing else)\n", r.BaselineRPS, r.BaselineP50Ms, r.BaselineP99Ms)
	fmt.Fprintf(stdout, "  ratio %.2f, added p99 %.2f ms, errors %d\n", r.Ratio, r.AddedP99Ms, r.Errors)
	fmt.Fprintf(stdout, "bulk export of %d masked rows: governed %.0f rows/s, baseline %.0f rows/s (ratio %.2f), plain scan in process %.0f rows/s (ratio %.2f); heap %.0f MB idle, %.0f MB peak\n",
		r.Rows, r.ExportRowsPerS, r.BaselineExport, r.ExportRatio, r.ScanRowsPerS, r.ExportScanRatio, r.IdleHeapMB, r.ExportHeapMB)
	fmt.Fprintf(stdout, "audit entries written: %d, %.1f per batch on average\n", r.AuditEntries, r.AuditBatchSize)
	if nb := r.Node; nb != nil {
		fmt.Fprintf(stdout, "through a region node (SQLite at its source, mutual TLS, signed queries, masking at the node):\n")
		fmt.Fprintf(stdout, "  lookups  %8.0f req/s  p50 %.2f ms  p99 %.2f ms  errors %d  (%.2f of the hub-hosted governed path)\n", nb.GovernedRPS, nb.P50Ms, nb.P99Ms, nb.Errors, nb.Ratio)
		fmt.Fprintf(stdout, "  export   %8.0f rows/s  (%.2f of the hub-hosted governed export)\n", nb.ExportRowsPerS, nb.ExportRatio)
	}
	return nil
}

const benchNodeCode = "120000-TJSC-02"

// benchNode copies the benchmark rows into an SQLite file, serves them
// from a region node enrolled with the hub, lets the consumer's agreement
// cover them and measures lookups and an export through the hub.
func benchNode(ctx context.Context, m *Main, client *http.Client, key string, codes []string, clients int, d time.Duration, rows int) (*NodeBench, error) {
	res, err := m.HTTP.Catalog.Resource(ctx, benchCode)
	if err != nil {
		return nil, err
	}
	hubRows, err := m.Exchange.Source(res)
	if err != nil {
		return nil, err
	}
	fields := make([]string, len(res.Items))
	ds := &demo.NodeDataset{Resource: res}
	src := node.SourceConfig{Driver: node.DriverSQLite, DSN: filepath.Join(m.Config.Data, "bench-node.db"), Table: "enterprises", Key: "id"}
	for i, it := range res.Items {
		fields[i] = it.Name
		col := fmt.Sprintf("c%d", i)
		ds.Columns = append(ds.Columns, col)
		src.Items = append(src.Items, node.ItemColumn{Name: it.Name, Column: col, Element: it.Element, Required: it.Required})
	}
	err = hubRows.Read(ctx, res, hutong.SourceQuery{Fields: fields}, func(row hutong.SourceRow) error {
		vals := make([]string, len(row.Values))
		for i, v := range row.Values {
			vals[i] = fmt.Sprint(v)
		}
		ds.Rows = append(ds.Rows, vals)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := writeDemoSQLite(src.DSN, src.Table, ds); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", src.DSN)
	if err != nil {
		return nil, err
	}
	_, err = db.Exec(`CREATE INDEX enterprises_c0 ON enterprises (c0)`)
	db.Close()
	if err != nil {
		return nil, err
	}
	meta := *res
	meta.Code, meta.Name, meta.Items, meta.Region, meta.Rows = benchNodeCode, "基准企业登记信息（区域节点）", nil, "120000", 0
	cfg := &node.Config{Resources: []node.ResourceConfig{{Resource: meta, Source: src}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if _, err := m.startLocalNode(ctx, "120000", cfg, ln); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := m.HTTP.Catalog.Resource(ctx, benchNodeCode); err == nil {
			break
		} else if time.Now().After(deadline) {
			return nil, fmt.Errorf("the bench node did not publish %s: %w", benchNodeCode, err)
		}
	}
	consumer, err := benchConsumer(ctx, m)
	if err != nil {
		return nil, err
	}
	if _, err := m.Requests.CreateRequest(consumer, &hutong.RequestInput{Resource: benchNodeCode, Fields: fields,
		Purpose: benchPurpose, ValidUntil: time.Now().AddDate(1, 0, 0).Format(time.DateOnly), RowsPerDay: maxRows, RequestsPerMinute: 1_000_000}); err != nil {
		return nil, err
	}
	target := func(code string) string {
		return m.HTTP.URL() + "/api/v1/resources/" + benchNodeCode + "/records?limit=1&filter=" + url.QueryEscape("统一社会信用代码:eq:"+code)
	}
	lookups(ctx, client, target, key, codes, clients, time.Second)
	g := lookups(ctx, client, target, key, codes, clients, d)
	exp, _, err := exportRate(ctx, client, m.HTTP.URL()+"/api/v1/resources/"+benchNodeCode+"/export?format=ndjson", key, rows)
	if err != nil {
		return nil, err
	}
	return &NodeBench{GovernedRPS: g.rps, P50Ms: g.p50, P99Ms: g.p99, Errors: g.errors, ExportRowsPerS: exp}, nil
}

// benchConsumer returns a context acting as the benchmark's consumer.
func benchConsumer(ctx context.Context, m *Main) (context.Context, error) {
	u, err := m.HTTP.Auth.UserByLogin(ctx, "bench-consumer")
	if err != nil {
		return nil, err
	}
	return hutong.NewContextWithActor(ctx, &hutong.Actor{User: u}), nil
}

func countAudit(ctx context.Context, m *Main) (int64, error) {
	var lo, hi uint64 = 0, 1 << 40
	for lo < hi { // the first index with no entry
		mid := (lo + hi) / 2
		es, err := m.Audit.Entries(ctx, mid, 1)
		if err != nil {
			return 0, err
		}
		if len(es) > 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return int64(lo), nil
}

// benchSetup registers two departments, publishes the benchmark resource
// with n rows, grants the consumer an agreement and returns its key and
// the resource's credit codes.
func benchSetup(ctx context.Context, m *Main, n int) (key string, codes []string, err error) {
	admin := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "bench", Roles: []hutong.Role{hutong.RoleAdmin}}})
	dept := func(region, name, short string, seq int) (string, error) {
		first17 := fmt.Sprintf("11%s%08dX", region, seq)
		c, err := standard.USCCCheck(first17)
		if err != nil {
			return "", err
		}
		d := &hutong.Department{ID: first17 + string(c), Name: name, Region: region, Short: short}
		return d.ID, m.HTTP.Directory.CreateDepartment(admin, d)
	}
	// Resource codes are their provider's: 120000-TJSC-NN.
	provider, err := dept("120000", "天津市市场监督管理委员会", "TJSC", 1)
	if err != nil {
		return "", nil, err
	}
	consumer, err := dept("110000", "北京市政务服务和数据管理局", "BJSJ", 2)
	if err != nil {
		return "", nil, err
	}
	res := &hutong.Resource{Code: benchCode, Name: "基准企业登记信息", Provider: provider, Summary: "benchmark", ShareType: hutong.ShareUnconditional,
		UpdateCycle: "daily", Items: []hutong.Item{
			{Name: "统一社会信用代码", Element: "uscc", Required: true}, {Name: "企业名称", Element: "org_name"},
			{Name: "法定代表人", Element: "person_name"}, {Name: "联系电话", Element: "mobile"},
			{Name: "注册资本", Element: "amount"}, {Name: "成立日期", Element: "date"}}}
	if err := m.HTTP.Catalog.PublishResource(admin, res); err != nil {
		return "", nil, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	codes = make([]string, n)
	src := &benchRows{n: n, row: func(i int) map[string]string {
		first17 := fmt.Sprintf("91120101%09d", i)
		c, _ := standard.USCCCheck(first17)
		codes[i] = first17 + string(c)
		return map[string]string{
			"统一社会信用代码": codes[i], "企业名称": "天津" + strconv.Itoa(i) + "号科技有限公司", "法定代表人": "张" + string(rune('一'+i%20)) + "明",
			"联系电话": "139" + fmt.Sprintf("%08d", rng.IntN(100_000_000)), "注册资本": strconv.Itoa(10+rng.IntN(100000)) + ".50",
			"成立日期": time.Date(1995+i%30, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
		}
	}}
	if _, err := m.HTTP.Rows.ImportRows(admin, benchCode, src, hutong.ImportReplace); err != nil {
		return "", nil, err
	}
	user := &hutong.User{Login: "bench-consumer", Name: "bench", Department: consumer, Roles: []hutong.Role{hutong.RoleConsumer}}
	if err := m.HTTP.Auth.CreateUser(admin, user, ""); err != nil {
		return "", nil, err
	}
	as := hutong.NewContextWithActor(ctx, &hutong.Actor{User: user})
	if _, err := m.Requests.CreateRequest(as, &hutong.RequestInput{Resource: benchCode, Fields: []string{"统一社会信用代码", "企业名称", "法定代表人", "联系电话", "注册资本", "成立日期"},
		Purpose: benchPurpose, ValidUntil: time.Now().AddDate(1, 0, 0).Format(time.DateOnly), RowsPerDay: maxRows, RequestsPerMinute: 1_000_000}); err != nil {
		return "", nil, err
	}
	_, key, err = m.HTTP.Auth.CreateCredential(as, consumer, "bench")
	return key, codes, err
}

const maxRows = 1_000_000_000

type benchRows struct {
	n, i int
	row  func(int) map[string]string
}

func (b *benchRows) Next() (int, map[string]string, error) {
	if b.i >= b.n {
		return b.i + 1, nil, io.EOF
	}
	b.i++
	return b.i + 1, b.row(b.i - 1), nil
}

// baseline is an ungoverned server over the same store: it reads the same
// rows the same way and renders them the same way, with no key, agreement,
// policy, masking or audit.
type baseline struct {
	srv *http.Server
	url string
}

func (b *baseline) Close() { b.srv.Close() }

func startBaseline(m *Main) (*baseline, error) {
	res, err := m.HTTP.Catalog.Resource(context.Background(), benchCode)
	if err != nil {
		return nil, err
	}
	src, err := m.Exchange.Source(res)
	if err != nil {
		return nil, err
	}
	fields := make([]string, len(res.Items))
	for i, it := range res.Items {
		fields[i] = it.Name
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /lookup", func(w http.ResponseWriter, r *http.Request) {
		q := hutong.SourceQuery{Fields: fields, Limit: 2, Where: []hutong.Condition{{Field: "统一社会信用代码", Op: hutong.OpEq, Values: []string{r.URL.Query().Get("code")}}}}
		body := append(make([]byte, 0, 512), `{"items":[`...)
		n := 0
		err := src.Read(r.Context(), res, q, func(row hutong.SourceRow) error {
			if n > 0 {
				body = append(body, ',')
			}
			body = exchange.AppendRecord(body, fields, row.Values)
			n++
			return nil
		})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		body = append(body, `],"next_cursor":""}`+"\n"...)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(body)
	})
	mux.HandleFunc("GET /export", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		bw := bufio.NewWriterSize(w, 64<<10)
		buf := make([]byte, 0, 1024)
		src.Read(r.Context(), res, hutong.SourceQuery{Fields: fields}, func(row hutong.SourceRow) error {
			buf = append(exchange.AppendRecord(buf[:0], fields, row.Values), '\n')
			_, err := bw.Write(buf)
			return err
		})
		bw.Flush()
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &baseline{srv: &http.Server{Handler: mux}, url: "http://" + ln.Addr().String()}
	go b.srv.Serve(ln)
	return b, nil
}

type lookupResult struct {
	rps, p50, p99 float64
	errors        int64
}

// lookups runs clients that look up random codes for d and reports the
// throughput and latency percentiles of the successful calls.
func lookups(ctx context.Context, client *http.Client, target func(string) string, key string, codes []string, clients int, d time.Duration) lookupResult {
	var wg sync.WaitGroup
	var errs atomic.Int64
	lat := make([][]time.Duration, clients)
	deadline := time.Now().Add(d)
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, target(codes[rng.IntN(len(codes))]), nil)
				if key != "" {
					req.Header.Set("Authorization", "Bearer "+key)
					req.Header.Set("Hutong-Purpose", benchPurpose)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"items":[{`)) {
					errs.Add(1)
					continue
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	return lookupResult{rps: float64(len(all)) / elapsed.Seconds(), p50: pct(0.50), p99: pct(0.99), errors: errs.Load()}
}

// exportRate streams an export three times and returns the best rows per
// second and the peak heap in use meanwhile, in MB.
func exportRate(ctx context.Context, client *http.Client, target, key string, want int) (float64, float64, error) {
	best, peak := 0.0, 0.0
	for range 3 {
		stop := make(chan struct{})
		var peakBytes atomic.Uint64
		go func() {
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			var ms runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peakBytes.Load() {
						peakBytes.Store(ms.HeapInuse)
					}
				}
			}
		}()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Hutong-Purpose", url.PathEscape(benchPurpose))
		}
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			close(stop)
			return 0, 0, err
		}
		lines := 0
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines++
		}
		resp.Body.Close()
		elapsed := time.Since(t0)
		close(stop)
		if resp.StatusCode != 200 || lines != want {
			return 0, 0, fmt.Errorf("export of %s: status %d, %d rows, want %d", target, resp.StatusCode, lines, want)
		}
		best = max(best, float64(lines)/elapsed.Seconds())
		peak = max(peak, float64(peakBytes.Load())/(1<<20))
	}
	return best, peak, nil
}

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to make the bench's database
	"github.com/transparency-dev/tessera/client"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/demo"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/ledger"
)

// ClusterBench is what hutong bench cluster measured: governed lookups
// through HAProxy with 1, 2 and 3 hub processes on one PostgreSQL, the
// longest a client waited for its next 200 after a hub or the ledger's
// leader was killed, and what was acknowledged and then missing.
type ClusterBench struct {
	Hubs         int           `json:"hubs"`
	ByHubs       []HubsRPS     `json:"by_hubs"`
	GovernedRPS  float64       `json:"governed_rps"`
	SingleHubRPS float64       `json:"single_hub_rps"`
	FailoverS    float64       `json:"failover_s"`
	Lost         int64         `json:"lost"`
	Checks       ClusterChecks `json:"checks"`
}

// HubsRPS is the throughput through the balancer with Hubs processes.
type HubsRPS struct {
	Hubs        int     `json:"hubs"`
	GovernedRPS float64 `json:"governed_rps"`
}

// ClusterChecks are the harness's findings beyond the figures.
type ClusterChecks struct {
	Receipts          int64   `json:"receipts"`            // 200s whose receipt was checked against the final log
	ReceiptsMissing   int64   `json:"receipts_missing"`    // of them, not in the log as the receipt says
	Requests          int64   `json:"requests"`            // requests acknowledged (201) during the kills
	RequestsMissing   int64   `json:"requests_missing"`    // of them, not found afterwards
	LogEntries        uint64  `json:"log_entries"`         // the final log, verified whole
	JournalEntries    uint64  `json:"journal_entries"`     // what the journal holds
	KilledHubS        float64 `json:"killed_hub_s"`        // longest wait for a 200 after killing a follower
	KilledLeaderS     float64 `json:"killed_leader_s"`     // … after killing the ledger's leader
	LimitAdmitted     int     `json:"limit_admitted"`      // calls admitted of 60 under a limit of 20 a minute, across hubs
	LimitHeld         bool    `json:"limit_held"`          // LimitAdmitted ≤ 20
	SearchDelayMs     float64 `json:"search_delay_ms"`     // published on one hub, found on the others
	RevocationDelayMs float64 `json:"revocation_delay_ms"` // a key revoked on one hub, refused by the others
	RevokedKeyServed  int     `json:"revoked_key_served"`  // calls with the revoked key answered 200 by other hubs after its revocation was acknowledged
}

const clusterPurpose = "集群故障切换演练"

type clusterHub struct {
	n          int
	addr, node string
	cmd        *exec.Cmd
	done       chan struct{}
}

type cluster struct {
	exe, dsn, data, dir string
	hubs                []*clusterHub
	lb                  *exec.Cmd
	lbPorts             []string // frontend i balances over hubs 1…i+1
	stderr              io.Writer
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (c *cluster) start(h *clusterHub, cmd string) error {
	args := []string{cmd, "--postgres", c.dsn, "--data", c.data, "--addr", h.addr, "--node-addr", h.node, "--log-level", "warn"}
	if cmd == "demo" {
		args = append(args, "--scale", "0.05")
	}
	logf, err := os.OpenFile(filepath.Join(c.dir, fmt.Sprintf("hub-%d.log", h.n)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	h.cmd = exec.Command(c.exe, args...)
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	h.cmd.Env = append(os.Environ(), "HUTONG_HUB=", "HUTONG_TOKEN=")
	if err := h.cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	h.done = make(chan struct{})
	go func() { h.cmd.Wait(); logf.Close(); close(h.done) }()
	return c.waitHealthy(h, 90*time.Second)
}

func (c *cluster) waitHealthy(h *clusterHub, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-h.done:
			return fmt.Errorf("hub %d exited (see %s)", h.n, filepath.Join(c.dir, fmt.Sprintf("hub-%d.log", h.n)))
		default:
		}
		if resp, err := http.Get("http://" + h.addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("hub %d not healthy within %s", h.n, d)
}

func (c *cluster) kill(h *clusterHub) {
	h.cmd.Process.Signal(syscall.SIGKILL)
	<-h.done
}

func (c *cluster) stop() {
	for _, h := range c.hubs {
		if h.cmd != nil && h.done != nil {
			select {
			case <-h.done:
			default:
				h.cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-h.done:
				case <-time.After(15 * time.Second):
					c.kill(h)
				}
			}
		}
	}
	if c.lb != nil {
		c.lb.Process.Kill()
		c.lb.Wait()
	}
}

// startBalancer runs HAProxy with one frontend per number of hubs, each
// health-checking /healthz and retrying a call that failed to connect or
// got no answer on another hub.
func (c *cluster) startBalancer(haproxy string) error {
	var b strings.Builder
	b.WriteString(`global
    maxconn 4096
defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
    default-server inter 300ms fall 2 rise 2 check
`)
	for i := range c.hubs {
		port, err := freePort()
		if err != nil {
			return err
		}
		c.lbPorts = append(c.lbPorts, port)
		fmt.Fprintf(&b, "frontend fe%d\n    bind %s\n    default_backend be%d\nbackend be%d\n    balance roundrobin\n    option httpchk GET /healthz\n    http-check expect status 200\n", i+1, port, i+1, i+1)
		for _, h := range c.hubs[:i+1] {
			fmt.Fprintf(&b, "    server hub%d %s\n", h.n, h.addr)
		}
	}
	cfg := filepath.Join(c.dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		return err
	}
	c.lb = exec.Command(haproxy, "-f", cfg, "-db")
	logf, err := os.Create(filepath.Join(c.dir, "haproxy.log"))
	if err != nil {
		return err
	}
	c.lb.Stdout, c.lb.Stderr = logf, logf
	if err := c.lb.Start(); err != nil {
		return fmt.Errorf("starting %s (Debian: apt-get install haproxy): %w", haproxy, err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		ok := true
		for _, p := range c.lbPorts {
			resp, err := http.Get("http://" + p + "/healthz")
			if err != nil || resp.StatusCode != 200 {
				ok = false
			}
			if resp != nil {
				resp.Body.Close()
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("haproxy's frontends did not answer /healthz within 20 s")
		}
	}
}

// leader returns the hub that appends to the ledger.
func (c *cluster) leader() *clusterHub {
	for _, h := range c.hubs {
		resp, err := http.Get("http://" + h.addr + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "\nhutong_ledger_leading 1") {
			return h
		}
	}
	return nil
}

// loadResult is what a load run saw: each client's successes (when) and
// the receipts of its 200s.
type loadResult struct {
	ok       atomic.Int64
	errors   atomic.Int64
	statuses sync.Map // status (0: no answer) → *atomic.Int64
	mu       sync.Mutex
	times    [][]time.Time
	receipts []hutong.Receipt
}

// load runs clients that look up air-quality rows through base until stop
// closes, or for d when stop is nil.
func load(base string, keys []string, clients int, d time.Duration, stop <-chan struct{}) *loadResult {
	r := &loadResult{times: make([][]time.Time, clients)}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := keys[c%len(keys)]
			rng := rand.New(rand.NewPCG(uint64(c), 11))
			for {
				if stop == nil && time.Now().After(deadline) {
					return
				}
				if stop != nil {
					select {
					case <-stop:
						return
					default:
					}
				}
				u := base + "/api/v1/resources/130000-HBHJ-05/records?limit=" + strconv.Itoa(1+rng.IntN(3))
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set(hhttp.PurposeHeader, url.PathEscape(clusterPurpose))
				resp, err := hc.Do(req)
				if err != nil {
					r.fail(0)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					r.fail(resp.StatusCode)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				rec, err := hhttp.ParseReceipt(resp.Header.Get(hhttp.ReceiptHeader))
				r.mu.Lock()
				r.times[c] = append(r.times[c], time.Now())
				if err == nil {
					r.receipts = append(r.receipts, *rec)
				}
				r.mu.Unlock()
				r.ok.Add(1)
			}
		}()
	}
	wg.Wait()
	return r
}

func (r *loadResult) fail(status int) {
	r.errors.Add(1)
	n, _ := r.statuses.LoadOrStore(status, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
}

// failures describes the failed calls by status.
func (r *loadResult) failures() string {
	var parts []string
	r.statuses.Range(func(k, v any) bool {
		parts = append(parts, fmt.Sprintf("%d×%d", v.(*atomic.Int64).Load(), k.(int)))
		return true
	})
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// gapAfter is the longest any client waited after t for its next 200.
func (r *loadResult) gapAfter(t time.Time) float64 {
	longest := 0.0
	for _, ts := range r.times {
		i, _ := slices.BinarySearchFunc(ts, t, func(a, b time.Time) int { return a.Compare(b) })
		if i < len(ts) {
			longest = max(longest, ts[i].Sub(t).Seconds())
		}
	}
	return longest
}

func runBenchCluster(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pg := fs.String("postgres", "", "PostgreSQL server to make the bench's database on (default $HUTONG_TEST_POSTGRES or postgres://postgres@127.0.0.1:5432/postgres)")
	hubs := fs.Int("hubs", 3, "hub processes")
	clients := fs.Int("clients", 16, "concurrent clients")
	dur := fs.Duration("duration", 5*time.Second, "each throughput run")
	haproxy := fs.String("haproxy", "haproxy", "the HAProxy binary")
	keep := fs.Bool("keep", false, "keep the data directory and the database")
	jsonOut := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *hubs < 2 {
		return errors.New("bench cluster: --hubs must be at least 2")
	}
	admin := *pg
	if admin == "" {
		admin = os.Getenv("HUTONG_TEST_POSTGRES")
	}
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "hutong-cluster-")
	if err != nil {
		return err
	}
	dsn, drop, err := freshDatabase(ctx, admin, "hutong_cluster")
	if err != nil {
		return err
	}
	c := &cluster{exe: exe, dsn: dsn, data: filepath.Join(dir, "data"), dir: dir, stderr: stderr}
	defer func() {
		c.stop()
		if !*keep {
			drop()
			os.RemoveAll(dir)
		} else {
			fmt.Fprintf(stderr, "kept %s and database %s\n", dir, dsn)
		}
	}()
	say := func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }

	for i := range *hubs {
		addr, err := freePort()
		if err != nil {
			return err
		}
		node, err := freePort()
		if err != nil {
			return err
		}
		c.hubs = append(c.hubs, &clusterHub{n: i + 1, addr: addr, node: node})
	}
	say("starting hub 1 with the demo data on %s, data in %s", dsn, c.data)
	if err := c.start(c.hubs[0], "demo"); err != nil {
		return err
	}
	for _, h := range c.hubs[1:] {
		say("starting hub %d", h.n)
		if err := c.start(h, "serve"); err != nil {
			return err
		}
	}
	if err := c.startBalancer(*haproxy); err != nil {
		return err
	}

	raw, err := os.ReadFile(filepath.Join(c.data, "demo-credentials.json"))
	if err != nil {
		return err
	}
	var creds demo.Credentials
	if err := json.Unmarshal(raw, &creds); err != nil {
		return err
	}
	hub1 := "http://" + c.hubs[0].addr
	var keys []string
	for _, cons := range creds.Consumers {
		if _, err := hhttp.NewClient(hub1, cons.Token).CreateRequest(ctx, &hutong.RequestInput{Resource: "130000-HBHJ-05",
			Fields: []string{"监测站点编码", "AQI"}, Purpose: clusterPurpose, ValidUntil: time.Now().AddDate(1, 0, 0).Format(time.DateOnly),
			RowsPerDay: maxRows, RequestsPerMinute: 1_000_000}); err != nil {
			return fmt.Errorf("bench cluster: a consumer's agreement: %w", err)
		}
		keys = append(keys, cons.APIKey)
	}
	out := &ClusterBench{Hubs: *hubs}

	// Throughput: one hub directly, then through the balancer with 1 … n.
	load(hub1, keys, *clients, time.Second, nil) // warm up
	single := load(hub1, keys, *clients, *dur, nil)
	out.SingleHubRPS = float64(single.ok.Load()) / dur.Seconds()
	say("1 hub directly: %.0f governed lookups/s", out.SingleHubRPS)
	var receipts []hutong.Receipt
	receipts = append(receipts, single.receipts...)
	for i, p := range c.lbPorts {
		r := load("http://"+p, keys, *clients, *dur, nil)
		rps := float64(r.ok.Load()) / dur.Seconds()
		out.ByHubs = append(out.ByHubs, HubsRPS{Hubs: i + 1, GovernedRPS: rps})
		receipts = append(receipts, r.receipts...)
		say("%d hubs through HAProxy: %.0f governed lookups/s (%d failed: %s)", i+1, rps, r.errors.Load(), r.failures())
	}
	out.GovernedRPS = out.ByHubs[len(out.ByHubs)-1].GovernedRPS
	all := "http://" + c.lbPorts[len(c.lbPorts)-1]

	// Consistency across hubs: search, revocation and limits.
	if err := clusterConsistency(ctx, c, creds, &out.Checks, say); err != nil {
		return err
	}

	// Failover under load: kill a follower, then the leader; requests are
	// filed throughout.
	stop := make(chan struct{})
	resc := make(chan *loadResult, 1)
	go func() { resc <- load(all, keys, *clients, 0, stop) }()
	var acked []string
	var ackMu sync.Mutex
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		cons := creds.Consumers[0]
		cl := hhttp.NewClient(all, cons.Token)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			req, err := cl.CreateRequest(ctx, &hutong.RequestInput{Resource: "130000-HBHJ-05", Fields: []string{"AQI"},
				Purpose: fmt.Sprintf("%s %d", clusterPurpose, i), ValidUntil: time.Now().AddDate(1, 0, 0).Format(time.DateOnly)})
			if err == nil {
				ackMu.Lock()
				acked = append(acked, req.ID)
				ackMu.Unlock()
			}
		}
	}()
	time.Sleep(2 * time.Second)
	leader := c.leader()
	if leader == nil {
		close(stop)
		return errors.New("bench cluster: no hub leads the ledger")
	}
	var follower *clusterHub
	for _, h := range c.hubs {
		if h != leader {
			follower = h
		}
	}
	say("killing hub %d (a follower) with SIGKILL", follower.n)
	t1 := time.Now()
	c.kill(follower)
	time.Sleep(4 * time.Second)
	say("killing hub %d (the ledger's leader) with SIGKILL", leader.n)
	t2 := time.Now()
	c.kill(leader)
	time.Sleep(8 * time.Second)
	say("restarting hubs %d and %d", follower.n, leader.n)
	for _, h := range []*clusterHub{follower, leader} {
		if err := c.start(h, "serve"); err != nil {
			close(stop)
			return err
		}
	}
	time.Sleep(2 * time.Second)
	close(stop)
	<-writerDone
	failover := <-resc
	receipts = append(receipts, failover.receipts...)
	out.Checks.KilledHubS = failover.gapAfter(t1)
	out.Checks.KilledLeaderS = failover.gapAfter(t2)
	out.FailoverS = max(out.Checks.KilledHubS, out.Checks.KilledLeaderS)
	say("longest wait for a 200: %.2f s after killing a follower, %.2f s after killing the leader", out.Checks.KilledHubS, out.Checks.KilledLeaderS)

	// Nothing acknowledged is missing.
	if err := clusterLost(ctx, c, creds, receipts, acked, &out.Checks); err != nil {
		return err
	}
	out.Lost = out.Checks.ReceiptsMissing + out.Checks.RequestsMissing
	if *jsonOut {
		return printJSON(stdout, out)
	}
	fmt.Fprintf(stdout, "governed lookups/s: 1 hub directly %.0f; through HAProxy", out.SingleHubRPS)
	for _, b := range out.ByHubs {
		fmt.Fprintf(stdout, " %d: %.0f", b.Hubs, b.GovernedRPS)
	}
	fmt.Fprintf(stdout, "\nfailover: %.2f s; lost: %d of %d receipts and %d requests\n", out.FailoverS, out.Lost, out.Checks.Receipts, out.Checks.Requests)
	return nil
}

// freshDatabase makes a new database on the PostgreSQL server at admin
// (a URL) and returns its URL and a function that drops it.
func freshDatabase(ctx context.Context, admin, prefix string) (string, func(), error) {
	u, err := url.Parse(admin)
	if err != nil || u.Scheme == "" {
		return "", nil, fmt.Errorf("--postgres must be a postgres:// URL: %q", admin)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("making database %s on %s: %w", name, u.Redacted(), err)
	}
	u.Path = "/" + name
	return u.String(), func() {
		db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		db.Close()
	}, nil
}

// clusterConsistency checks that what one hub does, the others enforce.
func clusterConsistency(ctx context.Context, c *cluster, creds demo.Credentials, chk *ClusterChecks, say func(string, ...any)) error {
	hub := func(i int) string { return "http://" + c.hubs[i].addr }
	// A resource published on hub 1 is found on the others.
	var steward demo.Steward
	for _, s := range creds.Stewards {
		if strings.HasPrefix(s.Login, "tjhj-") {
			steward = s
		}
	}
	dept, err := hhttp.NewClient(hub(0), creds.AdminToken).Departments(ctx, hutong.DepartmentFilter{})
	if err != nil {
		return err
	}
	short := ""
	for _, d := range dept {
		if d.ID == steward.Department {
			short = d.Short
		}
	}
	code := "120000-" + short + "-97"
	r := &hutong.Resource{Code: code, Name: "集群一致性检查资源", Provider: steward.Department, Summary: "集群演练", ShareType: hutong.ShareUnconditional,
		UpdateCycle: "每日", Level: 1, Items: []hutong.Item{{Name: "监测站点编码", Element: "station_code", Required: true}}}
	start := time.Now()
	if _, err := hhttp.NewClient(hub(0), steward.Token).PublishResource(ctx, r); err != nil {
		return fmt.Errorf("bench cluster: publishing: %w", err)
	}
	for i := 1; i < len(c.hubs); i++ {
		for {
			page, err := hhttp.NewClient(hub(i), steward.Token).Resources(ctx, hutong.ResourceFilter{Query: "集群一致性检查"})
			if err == nil && len(page.Items) == 1 {
				break
			}
			if time.Since(start) > 10*time.Second {
				return fmt.Errorf("bench cluster: hub %d never found what hub 1 published", i+1)
			}
			time.Sleep(time.Millisecond)
		}
	}
	chk.SearchDelayMs = float64(time.Since(start).Microseconds()) / 1000
	say("published on hub 1, found on every hub after %.1f ms", chk.SearchDelayMs)

	// A key revoked on hub 1 is refused by the others on their next call.
	cons := creds.Consumers[1]
	cred, key, err := hhttp.NewClient(hub(0), cons.Token).CreateCredential(ctx, cons.Department, "集群演练")
	if err != nil {
		return err
	}
	call := func(i int) int {
		req, _ := http.NewRequest(http.MethodGet, hub(i)+"/api/v1/resources/130000-HBHJ-05/records?limit=1", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set(hhttp.PurposeHeader, url.PathEscape(clusterPurpose))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range c.hubs {
		call(i) // every hub now holds the key in its cache
	}
	revoke, _ := http.NewRequest(http.MethodPost, hub(0)+"/api/v1/credentials/"+cred.ID+"/revoke", nil)
	revoke.Header.Set("Authorization", "Bearer "+cons.Token)
	resp, err := http.DefaultClient.Do(revoke)
	if err != nil {
		return err
	}
	resp.Body.Close()
	revoked := time.Now()
	var longest time.Duration
	for i := 1; i < len(c.hubs); i++ {
		for {
			s := call(i)
			if s == 401 {
				longest = max(longest, time.Since(revoked))
				break
			}
			if s == 200 {
				chk.RevokedKeyServed++
			}
			if time.Since(revoked) > 10*time.Second {
				return fmt.Errorf("bench cluster: hub %d still takes a key revoked on hub 1", i+1)
			}
		}
	}
	chk.RevocationDelayMs = float64(longest.Microseconds()) / 1000
	say("key revoked on hub 1, refused by every hub after %.1f ms (%d calls served meanwhile)", chk.RevocationDelayMs, chk.RevokedKeyServed)

	// A limit of 20 calls a minute holds across hubs.
	limited := creds.Consumers[2]
	if _, err := hhttp.NewClient(hub(0), limited.Token).CreateRequest(ctx, &hutong.RequestInput{Resource: code, Fields: []string{"监测站点编码"},
		Purpose: clusterPurpose, ValidUntil: time.Now().AddDate(1, 0, 0).Format(time.DateOnly), RequestsPerMinute: 20}); err != nil {
		return err
	}
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, hub(i%len(c.hubs))+"/api/v1/resources/"+code+"/records", nil)
			req.Header.Set("Authorization", "Bearer "+limited.APIKey)
			req.Header.Set(hhttp.PurposeHeader, url.PathEscape(clusterPurpose))
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				if resp.StatusCode == 200 {
					admitted.Add(1)
				}
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	chk.LimitAdmitted = int(admitted.Load())
	chk.LimitHeld = chk.LimitAdmitted <= 20
	say("60 calls across the hubs under a limit of 20 a minute: %d admitted", chk.LimitAdmitted)
	return nil
}

// clusterLost checks every receipt against the final log, verified whole,
// and that every acknowledged request exists.
func clusterLost(ctx context.Context, c *cluster, creds demo.Credentials, receipts []hutong.Receipt, acked []string, chk *ClusterChecks) error {
	hub := "http://" + c.hubs[0].addr
	keys, err := hhttp.NewClient(hub, "").LedgerKeys(ctx)
	if err != nil {
		return err
	}
	want := uint64(0)
	for _, r := range receipts {
		want = max(want, r.Index+1)
	}
	v := &ledger.Verifier{Keys: keys, Source: client.FileFetcher{Root: filepath.Join(c.data, "ledger", "log")}}
	var cp *ledger.Checkpoint
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		cp, err = v.Checkpoint(ctx)
		if err == nil && cp.Size >= want {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench cluster: the log did not reach the receipts' %d entries: %v", want, err)
		}
	}
	rep, err := v.VerifyLog(ctx, nil)
	if err != nil {
		return fmt.Errorf("bench cluster: the final log: %w", err)
	}
	chk.LogEntries = rep.Entries
	hashes, err := client.FetchLeafHashes(ctx, v.Source.ReadTile, 0, rep.Checkpoint.Size, rep.Checkpoint.Size)
	if err != nil {
		return err
	}
	for _, r := range receipts {
		chk.Receipts++
		if r.Index >= uint64(len(hashes)) || string(hashes[r.Index]) != string(r.Hash) || r.Origin != keys.Origin {
			chk.ReceiptsMissing++
		}
	}
	cl := hhttp.NewClient(hub, creds.Consumers[0].Token)
	for _, id := range acked {
		chk.Requests++
		if _, err := cl.Request(ctx, id); hutong.ErrorCode(err) == hutong.ENOTFOUND {
			chk.RequestsMissing++
		} else if err != nil {
			return err
		}
	}
	var metrics []byte
	if resp, err := http.Get(hub + "/metrics"); err == nil {
		metrics, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	for _, line := range strings.Split(string(metrics), "\n") {
		if v, ok := strings.CutPrefix(line, "hutong_ledger_journal_entries "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			chk.JournalEntries = uint64(f)
		}
	}
	return nil
}

package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/pki"
	"github.com/hutong/hutong/standard"
)

// nodeFixture is a CA, a hub's certificate and query key, and a node of
// region 120000 enrolled by hand with a CSV source, serving on loopback.
// The hub's node API is a stand-in that serves the agreements in ags.
type nodeFixture struct {
	t      *testing.T
	dir    string
	ca     *pki.CA
	hub    *tls.Certificate
	key    ed25519.PrivateKey
	node   *Node
	client *Remote
	ags    atomic.Pointer[[]*hutong.Agreement]
	syncs  atomic.Int64
	addr   string
}

const testRegion = "120000"

var testAgreement = &hutong.Agreement{
	ID: "agr_1", Consumer: "11110000MA0000001X", Resource: "120000-TJYB-21", Provider: "11120000MA0000002X",
	Fields:  []hutong.AgreementField{{Name: "姓名", Masking: hutong.MaskRule("name")}, {Name: "手机号码", Masking: hutong.MaskRule("mobile")}, {Name: "年份", Masking: hutong.MaskNone}},
	Purpose: "异地就医直接结算", ValidFrom: time.Now().Add(-time.Hour), ValidUntil: time.Now().Add(24 * time.Hour),
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newNodeFixture(t *testing.T) *nodeFixture {
	t.Helper()
	f := &nodeFixture{t: t, dir: t.TempDir()}
	var err error
	if f.ca, err = pki.LoadOrCreateCA(filepath.Join(f.dir, "ca"), "hutong.test/hub"); err != nil {
		t.Fatal(err)
	}
	if f.hub, err = f.ca.HubCertificate([]string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if f.key, err = f.ca.QueryKey(); err != nil {
		t.Fatal(err)
	}
	f.ags.Store(&[]*hutong.Agreement{testAgreement})
	hubURL := f.startHub()

	// The rows, in a CSV file.
	csvPath := filepath.Join(f.dir, "people.csv")
	var b strings.Builder
	b.WriteString("xm,sjhm,nf\n")
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&b, "张%s,1380013%04d,%d\n", strings.Repeat("三", 1+i%2), i, 2020+i%5)
	}
	os.WriteFile(csvPath, []byte(b.String()), 0o600)

	// Enrol by hand: what Enrol writes.
	nodeDir := filepath.Join(f.dir, "node")
	os.MkdirAll(nodeDir, 0o700)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	nodeKey, csr, _ := pki.NewNodeKey(testRegion)
	certPEM, cert, err := f.ca.SignNode(csr, testRegion, "https://"+f.addr, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pki.WriteKey(filepath.Join(nodeDir, keyFile), nodeKey)
	os.WriteFile(filepath.Join(nodeDir, certFile), certPEM, 0o644)
	os.WriteFile(filepath.Join(nodeDir, caFile), f.ca.PEM, 0o644)
	logKey, _ := ledger.LogKey(filepath.Join(f.dir, "ledger"), "hutong.test/hub")
	st := State{Region: testRegion, Hub: hubURL, NodeAPI: hubURL, QueryKey: b64(f.key.Public().(ed25519.PublicKey)),
		Origin: "hutong.test/hub", LogKey: logKey}
	sb, _ := json.Marshal(st)
	os.WriteFile(filepath.Join(nodeDir, stateFile), sb, 0o600)

	cfg := &Config{Listen: f.addr, SyncInterval: "1h", Resources: []ResourceConfig{{
		Resource: hutong.Resource{Code: "120000-TJYB-21", Name: "测试", Provider: "11120000MA0000002X"},
		Source: SourceConfig{Driver: DriverCSV, File: csvPath, Items: []ItemColumn{
			{Name: "姓名", Column: "xm", Element: "person_name"}, {Name: "手机号码", Column: "sjhm", Element: "mobile"}, {Name: "年份", Column: "nf", Element: "year"}}},
	}}}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	if f.node, err = Open(context.Background(), nodeDir, cfg, quiet()); err != nil {
		t.Fatal(err)
	}
	if err := f.node.Serve(context.Background(), ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.node.Close() })
	f.waitReady()

	reg := registerFunc(func(ctx context.Context, region string) (*hutong.RegisteredNode, error) {
		return &hutong.RegisteredNode{Region: testRegion, URL: "https://" + f.addr, Serial: pki.Serial(cert)}, nil
	})
	f.client = &Remote{Nodes: reg, CA: f.ca.Pool(), Cert: f.hub, Key: f.key, Timeout: 2 * time.Second}
	t.Cleanup(f.client.CloseIdleConnections)
	return f
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

type registerFunc func(ctx context.Context, region string) (*hutong.RegisteredNode, error)

func (f registerFunc) NodeOf(ctx context.Context, region string) (*hutong.RegisteredNode, error) {
	return f(ctx, region)
}

// startHub serves a stand-in of the hub's node API over mutual TLS.
func (f *nodeFixture) startHub() string {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /node/v1/config", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(hutong.NodeConfig{Region: testRegion})
	})
	mux.HandleFunc("GET /node/v1/agreements", func(w http.ResponseWriter, r *http.Request) {
		f.syncs.Add(1)
		var out []hutong.NodeAgreement
		for _, ag := range *f.ags.Load() {
			out = append(out, hutong.NodeAgreement{Agreement: *ag, MaskKey: standard.AgreementKey([]byte("test masking key"), ag.ID)})
		}
		json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("PUT /node/v1/resources/{code}", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("{}"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{*f.hub}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: f.ca.Pool()}}
	go srv.ServeTLS(ln, "", "")
	f.t.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String()
}

func (f *nodeFixture) waitReady() {
	for range 200 {
		if f.node.ledger.Load() != nil && len(f.node.synced.Load().byID) > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.t.Fatal("the node did not fetch its configuration and agreements")
}

func (f *nodeFixture) query() hutong.SourceQuery {
	return hutong.SourceQuery{Fields: []string{"姓名", "手机号码", "年份"}, ID: fmt.Sprintf("q_%d", rand.Int64()), Agreement: testAgreement,
		Department: testAgreement.Consumer, Purpose: testAgreement.Purpose, Masks: []hutong.MaskRule{"name", "mobile", hutong.MaskNone}, Limit: 10}
}

var testResource = &hutong.Resource{Code: "120000-TJYB-21", Region: testRegion, Hosted: hutong.HostedNode}

func (f *nodeFixture) read(q hutong.SourceQuery) ([][]any, error) {
	var rows [][]any
	err := f.client.Read(context.Background(), testResource, q, func(r hutong.SourceRow) error {
		rows = append(rows, append([]any(nil), r.Values...))
		return nil
	})
	return rows, err
}

func TestNodeAnswersCoveredQueriesMasked(t *testing.T) {
	f := newNodeFixture(t)
	rows, err := f.read(f.query())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 10 {
		t.Fatalf("%d rows, want 10", len(rows))
	}
	// Masked at the node: the name keeps its first character, the mobile
	// 3+4; the year is not masked and keeps its type.
	if name := rows[0][0].(string); !strings.HasPrefix(name, "张") || strings.Contains(name, "三") {
		t.Errorf("name %q is not masked", name)
	}
	if m := rows[0][1].(string); m != "138****0001" {
		t.Errorf("mobile %q", m)
	}
	if y, ok := rows[0][2].(int64); !ok || y != 2021 {
		t.Errorf("year %#v", rows[0][2])
	}

	q := f.query()
	q.Where = []hutong.Condition{{Field: "年份", Op: hutong.OpEq, Values: []string{"2022"}}}
	n, err := f.client.Count(context.Background(), testResource, q)
	if err != nil || n != 10 {
		t.Fatalf("count: %d, %v", n, err)
	}
	// Paging by key.
	q = f.query()
	q.After, q.Limit = 45, 0
	rows, err = f.read(q)
	if err != nil || len(rows) != 5 {
		t.Fatalf("after 45: %d rows, %v", len(rows), err)
	}

	f.node.log.sync()
	log, _ := f.node.log.entries(context.Background(), 0, 100)
	if len(log) != 3 || log[0].Decision != "allow" || log[0].Rows != 10 || log[1].Kind != "count" || log[1].Rows != 10 {
		t.Fatalf("node log: %+v", log)
	}
	// The log keeps the hub's signed query: evidence the hub asked.
	if q, err := VerifyQuery(f.key.Public().(ed25519.PublicKey), []byte(log[0].Signed), log[0].Signature); err != nil || q.ID != log[0].Query {
		t.Fatalf("the logged query does not verify: %v", err)
	}
}

func TestNodeRefusesWhatNoAgreementCovers(t *testing.T) {
	f := newNodeFixture(t)
	for _, tc := range []struct {
		name string
		edit func(*hutong.SourceQuery)
		want string
	}{
		{"field outside", func(q *hutong.SourceQuery) { q.Fields = append(q.Fields, "身份证"); q.Masks = append(q.Masks, "") }, "outside it"},
		{"weaker mask", func(q *hutong.SourceQuery) { q.Masks[1] = hutong.MaskNone }, "must be masked"},
		{"other mask of equal strength", func(q *hutong.SourceQuery) { q.Masks[1] = "name" }, "must be masked"},
		{"range on a masked field", func(q *hutong.SourceQuery) {
			q.Where = []hutong.Condition{{Field: "手机号码", Op: hutong.OpPrefix, Values: []string{"138"}}}
		}, "masked field"},
		{"other purpose", func(q *hutong.SourceQuery) { q.Purpose = "别的用途" }, "purpose"},
		{"other department", func(q *hutong.SourceQuery) { q.Department = "11110000MA0000009X" }, "department"},
		{"unknown agreement", func(q *hutong.SourceQuery) { a := *testAgreement; a.ID = "agr_none"; q.Agreement = &a }, "not an active agreement"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := f.query()
			tc.edit(&q)
			_, err := f.read(q)
			if hutong.ErrorCode(err) != hutong.EFORBIDDEN || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want forbidden with %q", err, tc.want)
			}
		})
	}

	// The row scope of an agreement must be in the query.
	scoped := *testAgreement
	scoped.ID = "agr_scoped"
	scoped.RowScope = []hutong.Condition{{Field: "年份", Op: hutong.OpEq, Values: []string{"2023"}}}
	f.ags.Store(&[]*hutong.Agreement{testAgreement, &scoped})
	q := f.query()
	q.Agreement = &scoped
	if _, err := f.read(q); !strings.Contains(fmt.Sprint(err), "row scope") {
		t.Fatalf("without the row scope: %v", err)
	}
	q = f.query()
	q.Agreement, q.Where, q.Limit = &scoped, scoped.RowScope, 0
	rows, err := f.read(q)
	if err != nil || len(rows) != 10 {
		t.Fatalf("with the row scope: %d rows, %v", len(rows), err)
	}
	for _, r := range rows {
		if r[2] != int64(2023) {
			t.Fatalf("row outside the scope: %v", r)
		}
	}
}

// post sends a raw query to the node.
func (f *nodeFixture) post(body []byte, sig string, cert *tls.Certificate) (int, string) {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.ca.Pool()}}
	if cert != nil {
		tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
	}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, "https://"+f.addr+"/v1/query", bytes.NewReader(body))
	if sig != "" {
		req.Header.Set(SignatureHeader, sig)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestNodeRefusesForgedStaleReplayedAndStrangers(t *testing.T) {
	f := newNodeFixture(t)
	nq := func() *hutong.NodeQuery {
		q := f.query()
		return &hutong.NodeQuery{ID: q.ID, IssuedAt: time.Now(), Region: testRegion, Resource: testResource.Code, Agreement: testAgreement.ID,
			Department: q.Department, Purpose: q.Purpose, Fields: q.Fields, Masks: q.Masks, Limit: 5}
	}
	good, sig, _ := SignQuery(f.key, nq())
	if code, body := f.post(good, sig, f.hub); code != 200 {
		t.Fatalf("a good query: %d %s", code, body)
	}
	if code, body := f.post(good, sig, f.hub); code != 401 || !strings.Contains(body, "replay") {
		t.Errorf("the same query again: %d %s", code, body)
	}
	fresh, sig2, _ := SignQuery(f.key, nq())
	tampered := bytes.Replace(fresh, []byte(`"limit":5`), []byte(`"limit":0`), 1)
	if code, body := f.post(tampered, sig2, f.hub); code != 401 || !strings.Contains(body, "signature") {
		t.Errorf("tampered: %d %s", code, body)
	}
	if code, body := f.post(fresh, "", f.hub); code != 401 || !strings.Contains(body, "not signed") {
		t.Errorf("unsigned: %d %s", code, body)
	}
	_, other, _ := ed25519.GenerateKey(nil)
	forged, fsig, _ := SignQuery(other, nq())
	if code, _ := f.post(forged, fsig, f.hub); code != 401 {
		t.Errorf("signed by another key: %d", code)
	}
	old := nq()
	old.IssuedAt = time.Now().Add(-5 * time.Minute)
	stale, ssig, _ := SignQuery(f.key, old)
	if code, body := f.post(stale, ssig, f.hub); code != 401 || !strings.Contains(body, "stale") {
		t.Errorf("stale: %d %s", code, body)
	}
	elsewhere := nq()
	elsewhere.Region = "110000"
	eb, esig, _ := SignQuery(f.key, elsewhere)
	if code, body := f.post(eb, esig, f.hub); code != 403 || !strings.Contains(body, "region") {
		t.Errorf("another region's query: %d %s", code, body)
	}
	// Without the hub's certificate, or with a node's, nothing is answered.
	gb, gsig, _ := SignQuery(f.key, nq())
	if code, _ := f.post(gb, gsig, nil); code != 401 {
		t.Errorf("no client certificate: %d", code)
	}
	nodeCert := f.node.cert
	if code, body := f.post(gb, gsig, &nodeCert); code != 401 || !strings.Contains(body, "not the hub's") {
		t.Errorf("a node's certificate: %d %s", code, body)
	}

	f.node.log.sync()
	log, _ := f.node.log.entries(context.Background(), 0, 100)
	denied := 0
	for _, s := range log {
		if s.Decision == "deny" {
			denied++
		}
	}
	if len(log) != 9 || denied != 8 {
		t.Fatalf("the node's log has %d entries, %d refusals; want 9 and 8: %+v", len(log), denied, log)
	}
}

// slowSource blocks every read until its context ends.
type slowSource struct {
	LocalSource
	cancelled atomic.Int64
}

func (s *slowSource) Read(ctx context.Context, q hutong.SourceQuery, yield func(hutong.SourceRow) error) error {
	if err := yield(hutong.SourceRow{Key: 1, Values: make([]any, len(q.Fields))}); err != nil {
		return err
	}
	<-ctx.Done()
	s.cancelled.Add(1)
	return ctx.Err()
}

func TestSlowNodeTimesOutWithoutLeaks(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out 23 node timeouts (7 s); runs without -short")
	}
	f := newNodeFixture(t)
	slow := &slowSource{LocalSource: f.node.sources[testResource.Code].src}
	f.node.sources[testResource.Code].src = slow
	f.client.Timeout = 300 * time.Millisecond
	calls := func(n int) {
		for range n {
			start := time.Now()
			_, err := f.read(f.query())
			if hutong.ErrorCode(err) != hutong.EUNAVAILABLE || !strings.Contains(err.Error(), "region 120000") || !strings.Contains(err.Error(), "300ms") {
				t.Fatalf("slow node: %v", err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Fatalf("the call took %s", took)
			}
		}
	}
	// settle waits until every read the node started has seen its
	// cancellation, and returns the goroutines left.
	settle := func(reads int64) int {
		deadline := time.Now().Add(5 * time.Second)
		for slow.cancelled.Load() < reads {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d reads at the node saw the cancellation", slow.cancelled.Load(), reads)
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	calls(3) // connections and their goroutines exist from here on
	warm := settle(3)
	calls(20)
	// A caller that goes away cancels the node's read too.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	err := f.client.Read(ctx, testResource, f.query(), func(hutong.SourceRow) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	if after := settle(24); after > warm+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines grew from %d to %d over 21 timed-out or cancelled calls:\n%s", warm, after, buf[:runtime.Stack(buf, true)])
	}
}

func TestNodeDownThenBack(t *testing.T) {
	f := newNodeFixture(t)
	f.client.Timeout = 500 * time.Millisecond
	dir, cfg := f.node.Dir, f.node.Config
	f.node.Close()
	_, err := f.read(f.query())
	if hutong.ErrorCode(err) != hutong.EUNAVAILABLE || !strings.Contains(err.Error(), "region 120000") {
		t.Fatalf("node down: %v", err)
	}
	var n *Node
	if n, err = Open(context.Background(), dir, cfg, quiet()); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.node = n
	f.waitReady()
	if rows, err := f.read(f.query()); err != nil || len(rows) != 10 {
		t.Fatalf("node back: %d rows, %v", len(rows), err)
	}
}

func TestRowStreamRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var want [][]any
	var buf bytes.Buffer
	w := NewRowWriter(&buf)
	for i := range 2000 {
		row := []any{nil, fmt.Sprintf("值%d", r.IntN(1e6)), r.Int64() - r.Int64(), r.NormFloat64() * 1e6, r.IntN(2) == 0, strings.Repeat("x", r.IntN(300))}
		if err := w.Write(int64(i+1), row); err != nil {
			t.Fatal(err)
		}
		want = append(want, row)
	}
	w.End(nil)
	full := buf.Bytes()
	var got [][]any
	n, err := ReadRows(bytes.NewReader(full), 6, func(row hutong.SourceRow) error {
		got = append(got, append([]any(nil), row.Values...))
		return nil
	})
	if err != nil || n != 2000 || !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip: %d rows, %v", n, err)
	}
	// A stream cut anywhere is an error, never a short success.
	for _, cut := range []int{0, 1, 17, len(full) / 2, len(full) - 1} {
		if _, err := ReadRows(bytes.NewReader(full[:cut]), 6, func(hutong.SourceRow) error { return nil }); err == nil {
			t.Errorf("stream cut at %d of %d read without error", cut, len(full))
		}
	}
	// An error at the node arrives as that error.
	buf.Reset()
	w = NewRowWriter(&buf)
	w.Write(1, []any{"a"})
	w.End(hutong.Errorf(hutong.EUNAVAILABLE, "database down"))
	if _, err := ReadRows(&buf, 1, func(hutong.SourceRow) error { return nil }); hutong.ErrorCode(err) != hutong.EUNAVAILABLE || !strings.Contains(err.Error(), "database down") {
		t.Fatalf("node error: %v", err)
	}
}

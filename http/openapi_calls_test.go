package http_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/exchange"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/internal/hubtest"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/pki"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/storetest"
)

const witnessToken = "test-witness-token"

// downNode is the source of node-hosted resources in TestOpenAPIAnswers:
// a region node that does not answer.
type downNode struct{}

func (downNode) Read(context.Context, *hutong.Resource, hutong.SourceQuery, func(hutong.SourceRow) error) error {
	return hutong.Errorf(hutong.EUNAVAILABLE, "the node of region 120000 does not answer")
}

func (downNode) Count(context.Context, *hutong.Resource, hutong.SourceQuery) (int64, error) {
	return 0, hutong.Errorf(hutong.EUNAVAILABLE, "the node of region 120000 does not answer")
}

// ledgerFor opens a ledger over the hub's journal with three in-process
// witnesses, as cmd/hutong wires it, and returns it with the witnesses and
// the log's signing key.
func ledgerFor(t *testing.T, h *hubtest.Hub) (*ledger.Log, map[string]http.Handler, note.Signer) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	const origin = "test/hub" // the journal's, see hubtest
	logKey, err := ledger.LogKey(filepath.Join(dir, "ledger"), origin)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	local := map[string]http.Handler{}
	var endpoints []ledger.WitnessEndpoint
	var witnesses []*ledger.Witness
	for _, region := range []string{"110000", "120000", "130000"} {
		w, err := ledger.OpenWitness(ctx, filepath.Join(dir, "witness", region), region, origin, logKey, quiet, nil)
		if err != nil {
			t.Fatal(err)
		}
		witnesses = append(witnesses, w)
		local[region] = w
		endpoints = append(endpoints, ledger.WitnessEndpoint{Name: region, Key: w.Key, URL: ledger.InProcessURL(region)})
	}
	lg, err := ledger.Open(ctx, ledger.Config{Dir: filepath.Join(dir, "ledger"), Origin: origin, Journal: h.Journal,
		Witnesses: endpoints, Quorum: 2, CheckpointInterval: 300 * time.Millisecond, Logger: quiet,
		HTTPClient: &http.Client{Transport: ledger.InProcess(local, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		lg.Close(ctx)
		for _, w := range witnesses {
			w.Close()
		}
	})
	skey, err := os.ReadFile(filepath.Join(dir, "ledger", "keys", "log.key"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		t.Fatal(err)
	}
	return lg, local, signer
}

// TestOpenAPIAnswers drives every documented operation of the hub's API
// through its success and each documented error, validating every request
// and answer against openapi.json; a documented status that no call
// reaches fails the test, and so does an answer the document does not
// describe (a new status, header or field).
func TestOpenAPIAnswers(t *testing.T) {
	t.Parallel() // its own hub; mostly waits (ledger checkpoints, timeouts)
	h := hubtest.New(t, func(s *hhttp.Server) {
		s.MaxCatalogBytes = 1 << 20
		s.WitnessToken = witnessToken
	})
	doc := document(t, served(t, h.URL), true)
	dc := newDocCheck(t, doc, h.URL)
	do := func(c apiCall) answer { t.Helper(); return dc.do(t, c) }
	admin, steward, consumer := h.Admin, h.Steward, h.Consumer
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	const appJSON = "application/json"

	// A hub still starting, without ledger, feedback or node register.
	a := do(apiCall{method: "GET", path: "/healthz", status: 503})
	if a.header.Get("Retry-After") == "" {
		t.Errorf("healthz while starting: no Retry-After")
	}
	h.Server.SetReady()
	do(apiCall{method: "GET", path: "/healthz", status: 200})
	do(apiCall{method: "GET", path: "/metrics", status: 200})
	do(apiCall{method: "GET", path: "/api/v1/openapi.json", status: 200})
	do(apiCall{method: "GET", path: "/ledger/keys", status: 404})
	do(apiCall{method: "GET", path: "/ledger/checkpoint", status: 404})
	do(apiCall{method: "GET", path: "/api/v1/receipts/0", token: admin, status: 404})
	do(apiCall{method: "GET", path: "/api/v1/receipts/0/bundle", token: admin, status: 404})
	do(apiCall{method: "GET", path: "/api/v1/ledger/entries", token: admin, status: 404})
	do(apiCall{method: "GET", path: "/api/v1/ledger/entries/0", token: admin, status: 404})
	do(apiCall{method: "GET", path: "/api/v1/feedback", token: steward, status: 404})
	do(apiCall{method: "POST", path: "/api/v1/nodes/tokens", token: admin, contentType: appJSON, body: `{"region":"120000"}`, status: 503})
	do(apiCall{method: "POST", path: "/api/v1/nodes/enroll", contentType: appJSON, body: `{"token":"x","csr":"x","url":"https://n:1"}`, status: 503})
	do(apiCall{method: "GET", path: "/api/v1/nodes", token: admin, status: 503})
	do(apiCall{method: "POST", path: "/api/v1/nodes/120000/revoke", token: admin, status: 503})

	// Now the rest of the hub, as cmd/hutong wires it.
	lg, witnesses, logKey := ledgerFor(t, h)
	h.Journal.SetGate(lg.Health)
	ca, err := pki.LoadOrCreateCA(filepath.Join(t.TempDir(), "ca"), "test/hub")
	if err != nil {
		t.Fatal(err)
	}
	qk, err := ca.QueryKey()
	if err != nil {
		t.Fatal(err)
	}
	register, err := sqlstore.NewNodeRegister(context.Background(), h.DB, sqlstore.NodeOptions{CA: ca, NodeAPI: "https://127.0.0.1:8443",
		QueryKey: base64.StdEncoding.EncodeToString(qk.Public().(ed25519.PublicKey)), Ledger: lg.Keys})
	if err != nil {
		t.Fatal(err)
	}
	x := h.Server.Exchange.(*exchange.Service)
	hubRows := x.Source
	x.Source = func(r *hutong.Resource) (hutong.Source, error) {
		if r.Hosted == hutong.HostedNode {
			return downNode{}, nil
		}
		return hubRows(r)
	}
	// The server reads these per request; no request is in flight.
	h.Server.Ledger, h.Server.LedgerDir, h.Server.Witnesses = lg, lg.Dir(), witnesses
	h.Server.Feedback, h.Server.Nodes = sqlstore.NewFeedback(h.DB), register
	h.Server.Contributions = sqlstore.NewContributions(h.DB)
	h.Server.Entries = sqlstore.NewLedgerEntries(h.DB)

	// Sessions.
	a = do(apiCall{method: "POST", path: "/api/v1/sessions", contentType: appJSON, body: `{"login":"tjyb-steward","password":"password-1"}`, status: 201})
	var session struct {
		Token string `json:"token"`
	}
	json.Unmarshal(a.body, &session)
	do(apiCall{method: "DELETE", path: "/api/v1/sessions/current", token: session.Token, status: 204})
	do(apiCall{method: "POST", path: "/api/v1/sessions", contentType: appJSON, body: `{"login":"tjyb-steward"}`, status: 401, breaks: true})
	do(apiCall{method: "POST", path: "/api/v1/sessions", contentType: appJSON, body: `{"login":1,"password":"x"}`, status: 400, breaks: true})
	for range 5 {
		do(apiCall{method: "POST", path: "/api/v1/sessions", contentType: appJSON, body: `{"login":"nobody","password":"guess"}`, status: 401})
	}
	a = do(apiCall{method: "POST", path: "/api/v1/sessions", contentType: appJSON, body: `{"login":"nobody","password":"guess"}`, status: 429})
	if a.header.Get("Retry-After") == "" {
		t.Errorf("throttled sign-in: no Retry-After")
	}
	signInFlood(t, dc)
	do(apiCall{method: "GET", path: "/api/v1/me", token: steward, status: 200})

	// The directory.
	do(apiCall{method: "GET", path: "/api/v1/regions", token: consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/regions?parent=99", token: consumer, status: 400, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/regions?level=town", token: consumer, status: 400, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/regions/120000", token: consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/regions/990000", token: consumer, status: 404})
	do(apiCall{method: "GET", path: "/api/v1/departments?region=120000", token: consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/departments?region=12", token: consumer, status: 400, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/departments/" + h.TJ.ID, token: consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/departments/91120000MA0000000X", token: consumer, status: 404})
	dept := hutong.Department{ID: storetest.USCC(t, "130000", 9), Name: "河北省统计局", Region: "130000", Short: "HBTJ"}
	do(apiCall{method: "POST", path: "/api/v1/departments", token: admin, contentType: appJSON, body: js(dept), status: 201})
	do(apiCall{method: "POST", path: "/api/v1/departments", token: admin, contentType: appJSON, body: js(dept), status: 409})
	do(apiCall{method: "POST", path: "/api/v1/departments", token: admin, contentType: appJSON, body: `{"id":"x","name":"n","region":"130000","colour":"red"}`, status: 400, breaks: true})
	do(apiCall{method: "POST", path: "/api/v1/departments", token: steward, contentType: appJSON, body: js(hutong.Department{ID: storetest.USCC(t, "130000", 8), Name: "某局", Region: "130000"}), status: 403})
	do(apiCall{method: "GET", path: "/api/v1/elements", token: consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/elements/citizen_id", token: consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/elements/nope", token: consumer, status: 404})

	// The catalog.
	insured := insuredJSON(h.TJ.ID)
	a = do(apiCall{method: "POST", path: "/api/v1/resources", token: steward, contentType: appJSON, body: js(insured), status: 201})
	if a.header.Get("Location") != "/api/v1/resources/120000-TJYB-03" {
		t.Errorf("publish: Location %q", a.header.Get("Location"))
	}
	do(apiCall{method: "POST", path: "/api/v1/resources", token: steward, contentType: appJSON, body: js(insured), status: 409})
	bad := insuredJSON(h.TJ.ID)
	bad["code"], bad["share_type"] = "120000-TJYB-04", "maybe"
	do(apiCall{method: "POST", path: "/api/v1/resources", token: steward, contentType: appJSON, body: js(bad), status: 400, breaks: true})
	bad["share_type"], bad["share_conditions"] = "conditional", ""
	do(apiCall{method: "POST", path: "/api/v1/resources", token: steward, contentType: appJSON, body: js(bad), status: 400})
	other := insuredJSON(h.BJ.ID)
	other["code"] = "110000-BJSJ-01"
	do(apiCall{method: "POST", path: "/api/v1/resources", token: steward, contentType: appJSON, body: js(other), status: 403})
	air := map[string]any{"code": "130000-HBHJ-05", "name": "河北省空气质量小时监测数据", "provider": h.HB.ID, "summary": "国控站点逐小时监测数据",
		"share_type": "无条件共享", "update_cycle": "每小时", "tags": []string{"空气质量"},
		"items": []map[string]any{{"name": "监测站点编码", "element": "station_code", "required": true}, {"name": "AQI", "element": "aqi"}}}
	do(apiCall{method: "POST", path: "/api/v1/resources", token: admin, contentType: appJSON, body: js(air), status: 201})
	nodeRes := map[string]any{"code": "120000-TJYB-21", "name": "天津市企业年度报告信息", "provider": h.TJ.ID, "summary": "区域节点", "share_type": "unconditional",
		"update_cycle": "yearly", "hosted": "node", "items": []map[string]any{{"name": "企业名称", "element": "org_name"}}}
	do(apiCall{method: "POST", path: "/api/v1/resources", token: steward, contentType: appJSON, body: js(nodeRes), status: 201})
	spare := insuredJSON(h.TJ.ID)
	spare["code"] = "120000-TJYB-09"
	do(apiCall{method: "POST", path: "/api/v1/resources", token: steward, contentType: appJSON, body: js(spare), status: 201})

	a = do(apiCall{method: "GET", path: "/api/v1/resources?limit=2", token: consumer, status: 200})
	var page struct {
		Items      []json.RawMessage `json:"items"`
		Total      int               `json:"total"`
		NextCursor *string           `json:"next_cursor"`
	}
	a.json(t, &page)
	if page.NextCursor == nil || *page.NextCursor == "" {
		t.Fatalf("first of two pages: next_cursor missing in %s", a.body)
	}
	a = do(apiCall{method: "GET", path: "/api/v1/resources?limit=2&cursor=" + url.QueryEscape(*page.NextCursor), token: consumer, status: 200})
	page.NextCursor = nil
	a.json(t, &page)
	if page.NextCursor != nil || len(page.Items) != 2 {
		t.Errorf("last page: %s, want 2 items and no next_cursor", a.body)
	}
	do(apiCall{method: "GET", path: "/api/v1/resources?share_type=有条件共享&q=医保", token: consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/resources?limit=501", token: consumer, status: 400, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/resources?level=5", token: consumer, status: 400, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/resources?cursor=%27%3B", token: consumer, status: 400})
	do(apiCall{method: "GET", path: "/api/v1/resources/120000-TJYB-03", token: consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/resources/120000-TJYB-99", token: consumer, status: 404})
	do(apiCall{method: "GET", path: "/api/v1/tags", token: consumer, status: 200})

	id1, id2 := storetest.CitizenID(t, "12010119900307123"), storetest.CitizenID(t, "12010219851231002")
	rows := "姓名,公民身份号码,参保日期\n张三," + id1 + ",2020-01-05\n李四," + id2 + ",2020-02-03\n王五," + id1 + ",2021-03-04\n"
	do(apiCall{method: "POST", path: "/api/v1/resources/120000-TJYB-03/rows", token: steward, contentType: "text/csv", body: rows, status: 200})
	do(apiCall{method: "POST", path: "/api/v1/resources/120000-TJYB-03/rows?mode=append", token: steward, contentType: "application/x-ndjson",
		body: `{"姓名":"赵六","公民身份号码":"` + id2 + `"}` + "\n", status: 200})
	do(apiCall{method: "POST", path: "/api/v1/resources/120000-TJYB-03/rows", token: steward, contentType: "text/csv", body: "姓名,公民身份号码\n张三,123\n", status: 400})
	do(apiCall{method: "POST", path: "/api/v1/resources/120000-TJYB-03/rows?mode=merge", token: steward, contentType: "text/csv", body: rows, status: 400, breaks: true})
	do(apiCall{method: "POST", path: "/api/v1/resources/120000-TJYB-03/rows", token: steward, contentType: "application/xml", body: "<a/>", status: 400, breaks: true})
	do(apiCall{method: "POST", path: "/api/v1/resources/120000-TJYB-99/rows", token: steward, contentType: "text/csv", body: rows, status: 404})
	do(apiCall{method: "POST", path: "/api/v1/resources/120000-TJYB-21/rows", token: steward, contentType: "text/csv", body: "企业名称\n某公司\n", status: 409})
	do(apiCall{method: "POST", path: "/api/v1/resources/120000-TJYB-03/rows", token: consumer, contentType: "text/csv", body: rows, status: 403})

	upd := insuredJSON(h.TJ.ID)
	upd["name"] = "天津市医保参保登记"
	do(apiCall{method: "PUT", path: "/api/v1/resources/120000-TJYB-03", token: steward, contentType: appJSON, body: js(upd), status: 200})
	upd["code"] = "120000-TJYB-04"
	do(apiCall{method: "PUT", path: "/api/v1/resources/120000-TJYB-03", token: steward, contentType: appJSON, body: js(upd), status: 400})
	upd["code"] = "120000-TJYB-99"
	do(apiCall{method: "PUT", path: "/api/v1/resources/120000-TJYB-99", token: steward, contentType: appJSON, body: js(upd), status: 404})
	fewer := insuredJSON(h.TJ.ID)
	fewer["items"] = fewer["items"].([]map[string]any)[:2]
	do(apiCall{method: "PUT", path: "/api/v1/resources/120000-TJYB-03", token: steward, contentType: appJSON, body: js(fewer), status: 409})
	do(apiCall{method: "PUT", path: "/api/v1/resources/120000-TJYB-03", token: consumer, contentType: appJSON, body: js(insuredJSON(h.TJ.ID)), status: 403})
	do(apiCall{method: "DELETE", path: "/api/v1/resources/120000-TJYB-99", token: steward, status: 404})
	do(apiCall{method: "DELETE", path: "/api/v1/resources/120000-TJYB-09", token: consumer, status: 403})

	sheet := "资源代码,资源名称,资源提供方,资源摘要,信息项,共享类型,更新周期\n" +
		"130000-HBHJ-11,河北省交通流量," + h.HB.ID + ",路段小时流量,\"道路编码(road_code);车流量(vehicle_count)\",无条件共享,每小时\n"
	do(apiCall{method: "POST", path: "/api/v1/catalog/import", token: admin, contentType: "text/csv", body: sheet, status: 201})
	do(apiCall{method: "POST", path: "/api/v1/catalog/import", token: admin, contentType: "text/csv", body: sheet, status: 400})
	do(apiCall{method: "POST", path: "/api/v1/catalog/import", token: admin, contentType: "text/csv", body: strings.ReplaceAll(sheet, "road_code", "nope"), status: 400})
	do(apiCall{method: "POST", path: "/api/v1/catalog/import", token: admin, contentType: appJSON, body: "{}", status: 400, breaks: true})
	do(apiCall{method: "POST", path: "/api/v1/catalog/import", token: consumer, contentType: "text/csv", body: sheet, status: 403})

	// Requests and agreements.
	reqIn := map[string]any{"resource": "120000-TJYB-03", "fields": []string{"姓名", "公民身份号码", "参保日期"}, "purpose": "异地就医直接结算",
		"legal_basis": "《关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知》", "valid_until": "2099-06-30"}
	var pending requestAnswer
	a = do(apiCall{method: "POST", path: "/api/v1/requests", token: consumer, contentType: appJSON, body: js(reqIn), status: 201})
	a.json(t, &pending)
	if a.header.Get("Location") != "/api/v1/requests/"+pending.ID || pending.Status != "pending" {
		t.Fatalf("request: Location %q, %s", a.header.Get("Location"), a.body)
	}
	noBasis := maps(reqIn, "legal_basis", "")
	do(apiCall{method: "POST", path: "/api/v1/requests", token: consumer, contentType: appJSON, body: js(noBasis), status: 400})
	do(apiCall{method: "POST", path: "/api/v1/requests", token: consumer, contentType: appJSON, body: js(maps(reqIn, "purpose", strings.Repeat("用", 201))), status: 400, breaks: true})
	do(apiCall{method: "POST", path: "/api/v1/requests", token: consumer, contentType: appJSON, body: js(maps(reqIn, "resource", "120000-TJYB-99")), status: 404})
	do(apiCall{method: "POST", path: "/api/v1/requests", token: consumer, contentType: appJSON, body: js(maps(reqIn, "consumer", h.HB.ID)), status: 403})
	var toReject struct{ ID string }
	do(apiCall{method: "POST", path: "/api/v1/requests", token: consumer, contentType: appJSON, body: js(maps(reqIn, "purpose", "医保待遇核查")), status: 201}).json(t, &toReject)
	var granted requestAnswer
	airReq := map[string]any{"resource": "130000-HBHJ-05", "fields": []string{"监测站点编码", "AQI"}, "purpose": "京津冀大气污染联防联控", "valid_until": "2099-12-31", "requests_per_minute": 2}
	do(apiCall{method: "POST", path: "/api/v1/requests", token: consumer, contentType: appJSON, body: js(airReq), status: 201}).json(t, &granted)
	if granted.Status != "approved" || granted.AgreementID == "" {
		t.Fatalf("unconditional request: %+v", granted)
	}
	var nodeGrant requestAnswer
	do(apiCall{method: "POST", path: "/api/v1/requests", token: consumer, contentType: appJSON,
		body: js(map[string]any{"resource": "120000-TJYB-21", "fields": []string{"企业名称"}, "purpose": "招商引资企业核验", "valid_until": "2099-12-31"}), status: 201}).json(t, &nodeGrant)

	do(apiCall{method: "GET", path: "/api/v1/requests?box=inbox&status=pending", token: steward, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/requests?box=outbox&limit=1000", token: consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/requests?limit=1001", token: consumer, status: 400, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/requests?box=nope", token: consumer, status: 400, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/requests/" + pending.ID, token: steward, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/requests/req_nope", token: steward, status: 404})

	do(apiCall{method: "POST", path: "/api/v1/requests/" + pending.ID + "/approve", token: steward, contentType: appJSON, body: `{"fields":["身高"]}`, status: 400})
	do(apiCall{method: "POST", path: "/api/v1/requests/" + pending.ID + "/approve", token: consumer, status: 403})
	do(apiCall{method: "POST", path: "/api/v1/requests/req_nope/approve", token: steward, status: 404})
	var approved requestAnswer
	do(apiCall{method: "POST", path: "/api/v1/requests/" + pending.ID + "/approve", token: steward, contentType: appJSON,
		body: `{"fields":["姓名","公民身份号码"],"masking":{"姓名":"hash"},"probes_per_day":50}`, status: 200}).json(t, &approved)
	do(apiCall{method: "POST", path: "/api/v1/requests/" + pending.ID + "/approve", token: steward, status: 409})
	do(apiCall{method: "POST", path: "/api/v1/requests/" + toReject.ID + "/remind", token: steward, status: 403})
	do(apiCall{method: "POST", path: "/api/v1/requests/" + toReject.ID + "/remind", status: 401, breaks: true})
	do(apiCall{method: "POST", path: "/api/v1/requests/req_nope/remind", token: consumer, status: 404})
	do(apiCall{method: "POST", path: "/api/v1/requests/" + toReject.ID + "/remind", token: consumer, status: 200})
	do(apiCall{method: "POST", path: "/api/v1/requests/" + toReject.ID + "/remind", token: consumer, status: 409})
	do(apiCall{method: "POST", path: "/api/v1/requests/" + toReject.ID + "/reject", token: steward, contentType: appJSON, body: `{"reason":"` + strings.Repeat("不", 1001) + `"}`, status: 400, breaks: true})
	do(apiCall{method: "POST", path: "/api/v1/requests/" + toReject.ID + "/reject", token: steward, contentType: appJSON, body: `{}`, status: 400, breaks: true})
	do(apiCall{method: "POST", path: "/api/v1/requests/" + toReject.ID + "/reject", token: consumer, contentType: appJSON, body: `{"reason":"用途不符"}`, status: 403})
	do(apiCall{method: "POST", path: "/api/v1/requests/req_nope/reject", token: steward, contentType: appJSON, body: `{"reason":"用途不符"}`, status: 404})
	do(apiCall{method: "POST", path: "/api/v1/requests/" + toReject.ID + "/reject", token: steward, contentType: appJSON, body: `{"reason":"用途不符"}`, status: 200})
	do(apiCall{method: "POST", path: "/api/v1/requests/" + toReject.ID + "/reject", token: steward, contentType: appJSON, body: `{"reason":"用途不符"}`, status: 409})
	do(apiCall{method: "GET", path: "/api/v1/notifications", token: steward, status: 200})

	do(apiCall{method: "GET", path: "/api/v1/agreements?role=consumer&active=true", token: consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/agreements?role=nope", token: consumer, status: 400, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/agreements?active=maybe", token: consumer, status: 400, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/agreements/" + approved.AgreementID, token: steward, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/agreements/agr_nope", token: steward, status: 404})
	do(apiCall{method: "DELETE", path: "/api/v1/resources/120000-TJYB-03", token: steward, status: 409})

	// Application keys.
	var key struct{ ID, Key string }
	do(apiCall{method: "POST", path: "/api/v1/credentials", token: consumer, contentType: appJSON, body: `{"name":"跨省通办系统"}`, status: 201}).json(t, &key)
	do(apiCall{method: "POST", path: "/api/v1/credentials", token: consumer, contentType: appJSON, body: `{"name":""}`, status: 400, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/credentials", token: consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/me", token: key.Key, status: 200})
	var spent struct{ ID string }
	do(apiCall{method: "POST", path: "/api/v1/credentials", token: consumer, contentType: appJSON, body: `{"name":"旧系统"}`, status: 201}).json(t, &spent)
	do(apiCall{method: "POST", path: "/api/v1/credentials/" + spent.ID + "/revoke", token: consumer, status: 204})
	do(apiCall{method: "POST", path: "/api/v1/credentials/" + spent.ID + "/revoke", token: consumer, status: 409})
	do(apiCall{method: "POST", path: "/api/v1/credentials/000000000000/revoke", token: consumer, status: 404})

	// The exchange.
	purpose := map[string]string{"Hutong-Purpose": url.PathEscape("异地就医直接结算")}
	records := "/api/v1/resources/120000-TJYB-03/records"
	a = do(apiCall{method: "GET", path: records + "?limit=3", token: key.Key, header: purpose, status: 200})
	var recs struct {
		Items      []map[string]any `json:"items"`
		NextCursor *string          `json:"next_cursor"`
	}
	a.json(t, &recs)
	if recs.NextCursor == nil || *recs.NextCursor == "" {
		t.Fatalf("records, first of two pages: no next_cursor in %s", a.body)
	}
	receipt, err := hhttp.ParseReceipt(a.header.Get(hhttp.ReceiptHeader))
	if err != nil {
		t.Fatal(err)
	}
	a = do(apiCall{method: "GET", path: records + "?limit=3&cursor=" + url.QueryEscape(*recs.NextCursor), token: key.Key, header: purpose, status: 200})
	recs.NextCursor = nil
	a.json(t, &recs)
	if recs.NextCursor != nil || len(recs.Items) != 1 {
		t.Errorf("records, last page: %s, want one item and no next_cursor", a.body)
	}
	do(apiCall{method: "GET", path: records + "?fields=姓名&filter=公民身份号码:eq:" + id1, token: consumer, header: purpose, status: 200})
	do(apiCall{method: "GET", path: records + "?limit=1001", token: key.Key, header: purpose, status: 400, breaks: true})
	do(apiCall{method: "GET", path: records + "?cursor=forged", token: key.Key, header: purpose, status: 400})
	do(apiCall{method: "GET", path: records + "?fields=参保日期", token: key.Key, header: purpose, status: 403})
	do(apiCall{method: "GET", path: records, token: key.Key, header: map[string]string{"Hutong-Purpose": url.PathEscape("别的用途")}, status: 403})
	do(apiCall{method: "GET", path: "/api/v1/resources/120000-TJYB-99/records", token: key.Key, header: purpose, status: 404})
	export := "/api/v1/resources/120000-TJYB-03/export"
	a = do(apiCall{method: "GET", path: export, token: key.Key, header: purpose, status: 200})
	if n := strings.Count(string(a.body), "\n"); n != 4 {
		t.Errorf("export: %d lines, want 4", n)
	}
	do(apiCall{method: "GET", path: export + "?format=csv&fields=姓名", token: key.Key, header: purpose, status: 200})
	do(apiCall{method: "GET", path: export + "?format=xml", token: key.Key, header: purpose, status: 400, breaks: true})
	do(apiCall{method: "GET", path: export + "?fields=参保日期", token: key.Key, header: purpose, status: 403})
	do(apiCall{method: "GET", path: "/api/v1/resources/120000-TJYB-99/export", token: key.Key, header: purpose, status: 404})
	airPurpose := map[string]string{"Hutong-Purpose": url.PathEscape("京津冀大气污染联防联控")}
	do(apiCall{method: "GET", path: "/api/v1/resources/130000-HBHJ-05/records", token: consumer, header: airPurpose, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/resources/130000-HBHJ-05/export", token: consumer, header: airPurpose, status: 200})
	a = do(apiCall{method: "GET", path: "/api/v1/resources/130000-HBHJ-05/records", token: consumer, header: airPurpose, status: 429})
	if a.header.Get("Retry-After") == "" {
		t.Errorf("records past the agreement's rate: no Retry-After")
	}
	do(apiCall{method: "GET", path: "/api/v1/resources/130000-HBHJ-05/export", token: consumer, header: airPurpose, status: 429})
	nodePurpose := map[string]string{"Hutong-Purpose": url.PathEscape("招商引资企业核验")}
	do(apiCall{method: "GET", path: "/api/v1/resources/120000-TJYB-21/records", token: consumer, header: nodePurpose, status: 503})
	do(apiCall{method: "GET", path: "/api/v1/resources/120000-TJYB-21/export", token: consumer, header: nodePurpose, status: 503})

	receipts(t, dc, lg, key.Key, purpose, receipt.Index)
	bundleUnavailable(t, dc, key.Key, purpose)

	// Supervision's alerts; a suspension stops the next call.
	alertCalls(t, dc, h, approved.AgreementID, key.Key, purpose)

	// Revocation stops the next call.
	subscriptionCalls(t, dc, h, approved.AgreementID)
	do(apiCall{method: "POST", path: "/api/v1/agreements/" + approved.AgreementID + "/revoke", token: consumer, contentType: appJSON, body: `{"reason":"x"}`, status: 403})
	do(apiCall{method: "POST", path: "/api/v1/agreements/agr_nope/revoke", token: steward, status: 404})
	do(apiCall{method: "POST", path: "/api/v1/agreements/" + approved.AgreementID + "/revoke", token: steward, contentType: appJSON, body: `{"reason":"` + strings.Repeat("停", 1001) + `"}`, status: 400, breaks: true})
	do(apiCall{method: "POST", path: "/api/v1/agreements/" + approved.AgreementID + "/revoke", token: steward, contentType: appJSON, body: `{"reason":"合作结束"}`, status: 200})
	do(apiCall{method: "POST", path: "/api/v1/agreements/" + approved.AgreementID + "/revoke", token: steward, status: 409})
	do(apiCall{method: "DELETE", path: "/api/v1/resources/120000-TJYB-09", token: steward, status: 204})

	// The ledger: receipts, feedback and its public files.
	do(apiCall{method: "GET", path: "/api/v1/receipts/x", token: consumer, status: 400, breaks: true})
	do(apiCall{method: "GET", path: fmt.Sprintf("/api/v1/receipts/%d", 1<<40), token: consumer, status: 404})
	do(apiCall{method: "GET", path: fmt.Sprintf("/api/v1/receipts/%d/bundle", receipt.Index), token: consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/receipts/x/bundle", token: consumer, status: 400, breaks: true})
	do(apiCall{method: "GET", path: fmt.Sprintf("/api/v1/receipts/%d/bundle", 1<<40), token: consumer, status: 404})
	// An entry Beijing is no party to: Hebei's resource published.
	a = do(apiCall{method: "GET", path: "/api/v1/ledger/entries?kind=resource.publish&resource=130000-HBHJ-05", token: admin, status: 200})
	var hebei struct {
		Items []struct {
			Index uint64 `json:"index"`
		} `json:"items"`
	}
	json.Unmarshal(a.body, &hebei)
	if len(hebei.Items) != 1 {
		t.Fatalf("Hebei's publication in the ledger: %s", a.body)
	}
	do(apiCall{method: "GET", path: fmt.Sprintf("/api/v1/receipts/%d/bundle", hebei.Items[0].Index), token: consumer, status: 403})
	do(apiCall{method: "GET", path: "/api/v1/ledger/entries?limit=5", token: consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/ledger/entries?limit=0", token: consumer, status: 400, breaks: true})
	do(apiCall{method: "GET", path: fmt.Sprintf("/api/v1/ledger/entries/%d", receipt.Index), token: consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/ledger/entries/x", token: consumer, status: 400, breaks: true})
	do(apiCall{method: "GET", path: fmt.Sprintf("/api/v1/ledger/entries/%d", 1<<40), token: consumer, status: 404})
	do(apiCall{method: "GET", path: "/api/v1/feedback?from=2026-01-01", token: steward, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/feedback?from=yesterday", token: steward, status: 400, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/contributions", token: steward, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/contributions?month=2026-13", token: steward, status: 400, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/contributions?month=2026-11", status: 401, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/contributions/" + h.TJ.ID + "/statement", token: steward, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/contributions/" + h.TJ.ID + "/statement?format=csv", token: steward, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/contributions/" + h.TJ.ID + "/statement?format=xlsx", token: steward, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/contributions/" + h.TJ.ID + "/statement?format=pdf", token: steward, status: 400, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/contributions/" + h.HB.ID + "/statement", token: steward, status: 403})
	do(apiCall{method: "GET", path: "/api/v1/contributions/nobody/statement", token: admin, status: 404})
	do(apiCall{method: "GET", path: "/api/v1/contributions?department=nobody", token: admin, status: 404})
	do(apiCall{method: "GET", path: "/ledger/keys", status: 200})
	do(apiCall{method: "GET", path: "/ledger/checkpoint", status: 200})
	tiles(t, dc, h, lg)
	witness(t, dc, lg, logKey)

	// Region nodes.
	var tok struct{ Token string }
	do(apiCall{method: "POST", path: "/api/v1/nodes/tokens", token: admin, contentType: appJSON, body: `{"region":"120000","ttl":"30m"}`, status: 201}).json(t, &tok)
	do(apiCall{method: "POST", path: "/api/v1/nodes/tokens", token: admin, contentType: appJSON, body: `{"region":"120000","ttl":"soon"}`, status: 400})
	do(apiCall{method: "POST", path: "/api/v1/nodes/tokens", token: admin, contentType: appJSON, body: `{"region":"12"}`, status: 400, breaks: true})
	do(apiCall{method: "POST", path: "/api/v1/nodes/tokens", token: steward, contentType: appJSON, body: `{"region":"120000"}`, status: 403})
	_, csr, err := pki.NewNodeKey("120000")
	if err != nil {
		t.Fatal(err)
	}
	enrol := hutong.EnrolmentRequest{Token: tok.Token, CSR: string(csr), URL: "https://127.0.0.1:9412"}
	do(apiCall{method: "POST", path: "/api/v1/nodes/enroll", contentType: appJSON, body: js(enrol), status: 201})
	do(apiCall{method: "POST", path: "/api/v1/nodes/enroll", contentType: appJSON, body: js(enrol), status: 401})
	do(apiCall{method: "POST", path: "/api/v1/nodes/enroll", contentType: appJSON, body: `{"token":5}`, status: 400, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/nodes", token: admin, status: 200})
	do(apiCall{method: "POST", path: "/api/v1/nodes/130000/revoke", token: admin, status: 404})
	do(apiCall{method: "POST", path: "/api/v1/nodes/120000/revoke", token: admin, status: 200})

	serviceCalls(t, dc, h, lg.Health) // services_test.go
	stationCalls(t, do, h)
	liveAirCalls(t, do, h)

	// What every operation answers alike, from the document itself.
	sweeps(t, dc, h, key.Key)

	// While the ledger cannot record changes, changes answer 503.
	h.Journal.SetGate(func() error { return errors.New("test: the ledger is down") })
	for _, c := range []apiCall{
		{method: "POST", path: "/api/v1/resources", token: steward, contentType: appJSON, body: js(maps(insured, "code", "120000-TJYB-30"))},
		{method: "PUT", path: "/api/v1/resources/120000-TJYB-03", token: steward, contentType: appJSON, body: js(insuredJSON(h.TJ.ID))},
		{method: "DELETE", path: "/api/v1/resources/120000-TJYB-21", token: steward},
		{method: "POST", path: "/api/v1/catalog/import", token: admin, contentType: "text/csv", body: strings.ReplaceAll(sheet, "HBHJ-11", "HBHJ-12")},
		{method: "POST", path: "/api/v1/requests", token: consumer, contentType: appJSON, body: js(maps(reqIn, "purpose", "另一用途"))},
		{method: "POST", path: "/api/v1/credentials", token: consumer, contentType: appJSON, body: `{"name":"新系统"}`},
		{method: "POST", path: "/api/v1/nodes/tokens", token: admin, contentType: appJSON, body: `{"region":"130000"}`},
		{method: "POST", path: "/api/v1/subscriptions", token: consumer, contentType: appJSON, body: `{"resource":"130000-HBHJ-05","purpose":"京津冀大气污染联防联控","deliver":{"nats":{}}}`},
	} {
		c.status = 503
		do(c)
	}
	var late struct{ ID string }
	h.Journal.SetGate(lg.Health)
	do(apiCall{method: "POST", path: "/api/v1/requests", token: consumer, contentType: appJSON, body: js(maps(reqIn, "purpose", "第三用途")), status: 201}).json(t, &late)
	h.Journal.SetGate(func() error { return errors.New("test: the ledger is down") })
	do(apiCall{method: "POST", path: "/api/v1/requests/" + late.ID + "/approve", token: steward, status: 503})
	do(apiCall{method: "POST", path: "/api/v1/requests/" + late.ID + "/reject", token: steward, contentType: appJSON, body: `{"reason":"x"}`, status: 503})
	do(apiCall{method: "POST", path: "/api/v1/requests/" + late.ID + "/remind", token: consumer, status: 503})
	h.Journal.SetGate(lg.Health)

	dc.unreached(t)
	ops, statuses := dc.count()
	t.Logf("validated answers of %d operations, %d (operation, status) pairs", ops, statuses)
}

// requestAnswer is what the tests read of a request.
type requestAnswer struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	AgreementID string `json:"agreement_id"`
}

// maps returns a copy of m with k set to v.
func maps(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m))
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

// signInFlood tries many logins at once until the password pool is full
// and answers 503 (bounded: a few rounds). Each login is tried once, so
// the throttle, which serves one attempt of a login and address at a
// time, lets each through to the pool.
func signInFlood(t *testing.T, dc *docCheck) {
	t.Helper()
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var answers []answer
		var bodies []string
		c := apiCall{method: "POST", path: "/api/v1/sessions", contentType: "application/json"}
		for i := range 24 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := c
				c.body = fmt.Sprintf(`{"login":"flood-%d-%d","password":"guess"}`, round, i)
				req, _ := c.request(dc.base)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				mu.Lock()
				answers = append(answers, answer{status: resp.StatusCode, header: resp.Header, body: body})
				bodies = append(bodies, c.body)
				mu.Unlock()
			}()
		}
		wg.Wait()
		full := false
		for i, a := range answers {
			c.status, c.body = a.status, bodies[i]
			if a.status != 401 && a.status != 503 {
				t.Fatalf("sign-in flood: %d %s", a.status, a.body)
			}
			dc.validate(t, c, a)
			full = full || a.status == 503
		}
		if full {
			return
		}
	}
	t.Errorf("sign-in flood: the password pool never answered 503")
}

// receipts reaches a receipt before and after the checkpoint that covers
// its entry: 503 until the ledger has published it, then 200.
func receipts(t *testing.T, dc *docCheck, lg *ledger.Log, key string, purpose map[string]string, index uint64) {
	t.Helper()
	path := "/api/v1/resources/120000-TJYB-03/records?fields=姓名"
	got503 := false
	for try := 0; try < 20 && !got503; try++ {
		a := dc.do(t, apiCall{method: "GET", path: path, token: key, header: purpose, status: 200})
		rec, err := hhttp.ParseReceipt(a.header.Get(hhttp.ReceiptHeader))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := apiCall{method: "GET", path: fmt.Sprintf("/api/v1/receipts/%d", rec.Index), token: key}.request(dc.base)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c := apiCall{method: "GET", path: fmt.Sprintf("/api/v1/receipts/%d", rec.Index), token: key, status: resp.StatusCode}
		dc.validate(t, c, answer{status: resp.StatusCode, header: resp.Header, body: body})
		got503 = resp.StatusCode == 503
	}
	if !got503 {
		t.Errorf("receipts: never answered 503 for an entry not yet in a checkpoint")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := lg.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	dc.do(t, apiCall{method: "GET", path: fmt.Sprintf("/api/v1/receipts/%d", index), token: key, status: 200})
}

// bundleUnavailable asks for the bundle of an entry just recorded: 503
// until the ledger has published a checkpoint with it.
func bundleUnavailable(t *testing.T, dc *docCheck, key string, purpose map[string]string) {
	t.Helper()
	for try := 0; try < 20; try++ {
		a := dc.do(t, apiCall{method: "GET", path: "/api/v1/resources/120000-TJYB-03/records?fields=姓名", token: key, header: purpose, status: 200})
		rec, err := hhttp.ParseReceipt(a.header.Get(hhttp.ReceiptHeader))
		if err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/api/v1/receipts/%d/bundle", rec.Index)
		req, _ := apiCall{method: "GET", path: path, token: key}.request(dc.base)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		dc.validate(t, apiCall{method: "GET", path: path, token: key, status: resp.StatusCode}, answer{status: resp.StatusCode, header: resp.Header, body: body})
		if resp.StatusCode == 503 {
			return
		}
	}
	t.Errorf("bundles: never answered 503 for an entry not yet in a checkpoint")
}

// tiles fetches the log's tiles and entry bundles by their C2SP paths. A
// test log of a few hundred entries has tile indexes below 1,000 only;
// the paths of larger indexes are reached in a copy of the log's files
// where its tiles are laid at those indexes, served from another
// LedgerDir.
func tiles(t *testing.T, dc *docCheck, h *hubtest.Hub, lg *ledger.Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// 300 entries: a full tile and bundle (index 000) and partial ones.
	for i := 0; int(h.Journal.Next()) < 300; i++ {
		if _, err := lg.Record(ctx, &hutong.AuditEvent{Kind: hutong.AuditRead, Actor: "key:test", Decision: "allow", Purpose: fmt.Sprint("fill ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := lg.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var found []string
	filepath.WalkDir(lg.Dir(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(p, "/tile/") {
			rel, _ := filepath.Rel(lg.Dir(), p)
			found = append(found, filepath.ToSlash(rel))
		}
		return nil
	})
	want := map[string]string{ // a file of each kind the log must have
		"full tile": `^tile/0/000$`, "partial tile": `^tile/0/001\.p/\d+$`, "partial tile of level 1": `^tile/1/000\.p/\d+$`,
		"full bundle": `^tile/entries/000$`, "partial bundle": `^tile/entries/001\.p/\d+$`,
	}
	files := map[string]string{}
	for what, re := range want {
		for _, f := range found {
			if regexp.MustCompile(re).MatchString(f) {
				files[what] = f
			}
		}
		if files[what] == "" {
			t.Fatalf("the log has no %s (%s) among %v", what, re, found)
		}
	}
	for _, f := range files {
		dc.do(t, apiCall{method: "GET", path: "/ledger/" + f, status: 200})
	}
	dc.do(t, apiCall{method: "GET", path: "/ledger/tile/0/999", status: 404})
	dc.do(t, apiCall{method: "GET", path: "/ledger/tile/entries/999", status: 404})

	// Larger indexes, in a copy.
	deep := t.TempDir()
	full, _ := os.ReadFile(filepath.Join(lg.Dir(), files["full tile"]))
	partial, _ := os.ReadFile(filepath.Join(lg.Dir(), files["partial tile"]))
	bundle, _ := os.ReadFile(filepath.Join(lg.Dir(), files["full bundle"]))
	pbundle, _ := os.ReadFile(filepath.Join(lg.Dir(), files["partial bundle"]))
	for name, b := range map[string][]byte{
		"tile/0/x001/067": full, "tile/0/x001/068.p/44": partial, "tile/0/x002/x001/067": full, "tile/0/x002/x001/068.p/44": partial,
		"tile/entries/x001/067": bundle, "tile/entries/x001/068.p/44": pbundle, "tile/entries/x002/x001/067": bundle, "tile/entries/x002/x001/068.p/44": pbundle,
	} {
		p := filepath.Join(deep, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		defer func(name string) { dc.do(t, apiCall{method: "GET", path: "/ledger/" + name, status: 404}) }(name)
	}
	h.Server.LedgerDir = deep
	for _, name := range []string{"tile/0/x001/067", "tile/0/x001/068.p/44", "tile/0/x002/x001/067", "tile/0/x002/x001/068.p/44",
		"tile/entries/x001/067", "tile/entries/x001/068.p/44", "tile/entries/x002/x001/067", "tile/entries/x002/x001/068.p/44"} {
		dc.do(t, apiCall{method: "GET", path: "/ledger/" + name, status: 200})
	}
	h.Server.LedgerDir = lg.Dir() // the deferred calls find none of them there
	// Well-formed partial names past the end of the log: a partial of a
	// tile that exists may be left from any earlier size, so not those.
	for _, name := range []string{"tile/0/009.p/3", "tile/entries/009.p/3"} {
		dc.do(t, apiCall{method: "GET", path: "/ledger/" + name, status: 404})
	}
}

// witness submits checkpoints to an in-process witness as a ledger
// outside the hub would.
func witness(t *testing.T, dc *docCheck, lg *ledger.Log, logKey note.Signer) {
	t.Helper()
	ctx := context.Background()
	cp, err := lg.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	size := strings.Split(string(cp), "\n")[1]
	path := "/witness/110000/add-checkpoint"
	do := func(c apiCall) answer {
		t.Helper()
		c.method, c.path, c.contentType = "POST", path, "text/plain"
		return dc.do(t, c)
	}
	do(apiCall{body: "old " + size + "\n\n" + string(cp), status: 401, breaks: true})
	do(apiCall{token: witnessToken, body: "old " + size + "\n\n" + string(cp), status: 200})
	do(apiCall{token: witnessToken, body: "old 1\n\n" + string(cp), status: 409})
	do(apiCall{token: witnessToken, body: "not a request", status: 400})
	forged := strings.Replace(string(cp), "\n\n", "\nforged\n\n", 1)
	do(apiCall{token: witnessToken, body: "old " + size + "\n\n" + forged, status: 403})
	// A checkpoint the log's key signed, one entry past what the witness
	// cosigned, with a consistency proof that does not prove it.
	n, _ := strconv.Atoi(size)
	grown, err := note.Sign(&note.Note{Text: fmt.Sprintf("test/hub\n%d\n%s\n", n+1, base64.StdEncoding.EncodeToString(make([]byte, 32)))}, logKey)
	if err != nil {
		t.Fatal(err)
	}
	proof := base64.StdEncoding.EncodeToString(make([]byte, 32))
	do(apiCall{token: witnessToken, body: "old " + size + "\n" + proof + "\n\n" + string(grown), status: 422})
	dc.do(t, apiCall{method: "POST", path: "/witness/990000/add-checkpoint", token: witnessToken, contentType: "text/plain", body: "old 0\n\n" + string(cp), status: 404})
}

// sweeps calls every operation as the document says it fails alike:
// without a token (401), with an application key where only users are
// served (403), with a body past its limit (413) and with a body that
// stops coming (408, on a hub with a short read timeout).
func sweeps(t *testing.T, dc *docCheck, h *hubtest.Hub, key string) {
	t.Helper()
	slow := hubtest.New(t, func(s *hhttp.Server) {
		s.ReadTimeout = 300 * time.Millisecond
		s.MaxBodyBytes, s.MaxCatalogBytes = 16<<10, 16<<10
		s.WitnessToken = witnessToken
		s.Witnesses = map[string]http.Handler{"110000": http.NotFoundHandler()}
	})
	// What the calls name exists there too, so that only the body is late.
	if err := slow.Server.Catalog.PublishResource(storetest.Admin(context.Background()), storetest.InsuredResource("120000-TJYB-03", slow.TJ.ID)); err != nil {
		t.Fatal(err)
	}
	ca, err := pki.LoadOrCreateCA(filepath.Join(t.TempDir(), "ca"), "test/slow")
	if err != nil {
		t.Fatal(err)
	}
	if slow.Server.Nodes, err = sqlstore.NewNodeRegister(context.Background(), slow.DB, sqlstore.NodeOptions{CA: ca}); err != nil {
		t.Fatal(err)
	}
	slowCheck := &docCheck{t: t, doc: dc.doc, router: dc.router, base: slow.URL, reached: map[string]map[int]bool{}}
	defer func() {
		for id, st := range slowCheck.reached {
			for status := range st {
				if dc.reached[id] == nil {
					dc.reached[id] = map[int]bool{}
				}
				dc.reached[id][status] = true
			}
		}
	}()
	var wg sync.WaitGroup
	for _, o := range operations(dc.doc) {
		path := dc.example(t, o)
		method := strings.ToUpper(o.method)
		sec := security(dc.doc, o.op)
		if slices.Contains(sec, "session") || slices.Contains(sec, "applicationKey") {
			dc.do(t, apiCall{method: method, path: path, status: 401, breaks: true})
			if !slices.Contains(sec, "applicationKey") {
				dc.do(t, apiCall{method: method, path: path, token: key, status: 403, breaks: true})
			}
		}
		if o.op.RequestBody == nil {
			continue
		}
		var ct string
		for mt := range o.op.RequestBody.Value.Content {
			ct = mt
			break
		}
		token := ""
		switch {
		case slices.Contains(sec, "session"):
			token = h.Admin
		case slices.Contains(sec, "witnessToken"):
			token = witnessToken
		}
		req, _ := http.NewRequest(method, h.URL+path, nil)
		rt, ok := hhttp.RouteOf(h.Server, req)
		if !ok {
			t.Fatalf("%s: no route serves %s %s", o.op.OperationID, method, path)
		}
		big := " " + strings.Repeat(" ", int(rt.BodyLimit))
		dc.do(t, apiCall{method: method, path: path, token: token, contentType: ct, body: big, status: 413, anyRequest: true})
		if token == h.Admin {
			token = slow.Admin
		}
		c := apiCall{method: method, path: path, token: token, contentType: ct, body: strings.Repeat(" ", 1024), status: 408, anyRequest: true}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := stalled(t, slow.URL, c)
			if a.status != 408 {
				t.Errorf("%s %s with a stalled body: %d %s, want 408", c.method, c.path, a.status, a.body)
				return
			}
			slowCheck.validate(t, c, a)
		}()
	}
	wg.Wait()
}

// subscriptionCalls drives the subscription endpoints (issue 20) through
// their answers; agreement is Beijing's for 120000-TJYB-03.
func subscriptionCalls(t *testing.T, dc *docCheck, h *hubtest.Hub, agreement string) {
	t.Helper()
	do := func(c apiCall) answer { t.Helper(); return dc.do(t, c) }
	const appJSON = "application/json"
	in := `{"resource":"120000-TJYB-03","purpose":"异地就医直接结算","fields":["姓名"],"deliver":{"nats":{}}}`
	var sub struct {
		ID        string                   `json:"id"`
		Agreement string                   `json:"agreement"`
		NATS      struct{ Subject string } `json:"nats"`
	}
	a := do(apiCall{method: "POST", path: "/api/v1/subscriptions", token: h.Consumer, contentType: appJSON, body: in, status: 201})
	a.json(t, &sub)
	if sub.Agreement != agreement || sub.NATS.Subject != "hutong.deliver."+sub.ID || a.header.Get("Location") != "/api/v1/subscriptions/"+sub.ID {
		t.Errorf("subscribe: %s; want bound to %s with its subject", a.body, agreement)
	}
	var hook struct {
		Secret string `json:"webhook_secret"`
	}
	do(apiCall{method: "POST", path: "/api/v1/subscriptions", token: h.Consumer, contentType: appJSON,
		body: `{"resource":"120000-TJYB-03","purpose":"异地就医直接结算","deliver":{"webhook":"https://hooks.example.test/in"}}`, status: 201}).json(t, &hook)
	if len(hook.Secret) != 64 {
		t.Errorf("webhook subscription without its secret")
	}
	do(apiCall{method: "POST", path: "/api/v1/subscriptions", token: h.Consumer, contentType: appJSON,
		body: `{"resource":"120000-TJYB-03","purpose":"异地就医直接结算","deliver":{"webhook":"http://10.0.0.1/in"}}`, status: 400})
	do(apiCall{method: "POST", path: "/api/v1/subscriptions", token: h.Consumer, contentType: appJSON,
		body: `{"resource":"120000-TJYB-03","purpose":"异地就医直接结算","deliver":{"nats":{},"kafka":{}}}`, status: 400, breaks: true})
	do(apiCall{method: "POST", path: "/api/v1/subscriptions", token: h.Consumer, contentType: appJSON,
		body: `{"resource":"120000-TJYB-03","purpose":"异地就医直接结算","fields":["参保日期"],"deliver":{"nats":{}}}`, status: 403})
	do(apiCall{method: "POST", path: "/api/v1/subscriptions", token: h.Consumer, contentType: appJSON,
		body: `{"resource":"120000-TJYB-99","purpose":"异地就医直接结算","deliver":{"nats":{}}}`, status: 404})
	do(apiCall{method: "POST", path: "/api/v1/subscriptions", token: h.Consumer, contentType: appJSON,
		body: `{"resource":"120000-TJYB-21","purpose":"招商引资企业核验","deliver":{"nats":{}}}`, status: 409})

	do(apiCall{method: "GET", path: "/api/v1/subscriptions", token: h.Consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/subscriptions?status=gone", token: h.Consumer, status: 400, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/subscriptions/" + sub.ID, token: h.Consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/subscriptions/" + sub.ID, token: h.Steward, status: 404})
	do(apiCall{method: "POST", path: "/api/v1/subscriptions/" + sub.ID + "/pause", token: h.Consumer, status: 200})
	do(apiCall{method: "POST", path: "/api/v1/subscriptions/" + sub.ID + "/resume", token: h.Consumer, status: 200})
	do(apiCall{method: "POST", path: "/api/v1/subscriptions/sub_nope/pause", token: h.Consumer, status: 404})
	do(apiCall{method: "POST", path: "/api/v1/subscriptions/sub_nope/resume", token: h.Consumer, status: 404})
	do(apiCall{method: "DELETE", path: "/api/v1/subscriptions/sub_nope", token: h.Consumer, status: 404})
	do(apiCall{method: "DELETE", path: "/api/v1/subscriptions/" + sub.ID, token: h.Consumer, status: 200})
	do(apiCall{method: "DELETE", path: "/api/v1/subscriptions/" + sub.ID, token: h.Consumer, status: 409})
	do(apiCall{method: "POST", path: "/api/v1/subscriptions/" + sub.ID + "/pause", token: h.Consumer, status: 409})
	do(apiCall{method: "POST", path: "/api/v1/subscriptions/" + sub.ID + "/resume", token: h.Consumer, status: 409})
}

package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/hutong/hutong"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/internal/hubtest"
	"github.com/hutong/hutong/storetest"
)

// hub is a server on a real SQLite store, with an admin, a Tianjin steward
// and a Beijing consumer.
type hub struct {
	srv                     *hhttp.Server
	url                     string
	admin, steward, consume string // tokens
	tj, bj, hb              hutong.Department
}

func newHub(t *testing.T) *hub {
	t.Helper()
	return newHubWith(t, nil)
}

// newHubWith is newHub with configure applied to the server before it opens.
func newHubWith(t *testing.T, configure func(*hhttp.Server)) *hub {
	t.Helper()
	h := hubtest.New(t, configure)
	return &hub{srv: h.Server, url: h.URL, admin: h.Admin, steward: h.Steward, consume: h.Consumer, tj: h.TJ, bj: h.BJ, hb: h.HB}
}

// call sends a request and returns the status and the body.
func (h *hub) call(t *testing.T, method, path, token, contentType string, body io.Reader) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, h.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func (h *hub) json(t *testing.T, method, path, token string, v any) (int, []byte) {
	t.Helper()
	var body io.Reader
	if s, ok := v.(string); ok {
		body = strings.NewReader(s)
	} else if v != nil {
		b, _ := json.Marshal(v)
		body = bytes.NewReader(b)
	}
	status, b, _ := h.call(t, method, path, token, "application/json", body)
	return status, b
}

// errorOf decodes the documented error shape, failing when the body has
// another shape.
func errorOf(t *testing.T, body []byte) (code, message string, details []hutong.Violation) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string             `json:"code"`
			Message string             `json:"message"`
			Details []hutong.Violation `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("body %s is not the documented error shape (%v)", body, err)
	}
	return e.Error.Code, e.Error.Message, e.Error.Details
}

func wantError(t *testing.T, status int, body []byte, wantStatus int, wantCode string) []hutong.Violation {
	t.Helper()
	code, msg, details := errorOf(t, body)
	if status != wantStatus || code != wantCode {
		t.Fatalf("got %d %s (%s), want %d %s", status, code, msg, wantStatus, wantCode)
	}
	return details
}

func insuredJSON(provider string) map[string]any {
	return map[string]any{
		"code": "120000-TJYB-03", "name": "天津市基本医疗保险参保人员信息", "name_en": "Tianjin Medical Insurance Enrollees",
		"provider": provider, "summary": "参保人员登记信息（医保）", "share_type": "有条件共享", "share_conditions": "限异地就医结算",
		"update_cycle": "daily", "tags": []string{"医保"},
		"items": []map[string]any{{"name": "姓名", "element": "person_name", "required": true}, {"name": "公民身份号码", "element": "citizen_id", "required": true},
			{"name": "参保日期", "element": "date"}},
	}
}

// TestOpenAPIMatchesRoutes checks openapi.json against the route table:
// every documented operation is served and every route documented, each
// with the security its access allows (public: none; any actor: a session
// or an application key; users only: a session), 401 wherever a token is
// needed, 403 where a key is refused, 413 and 408 wherever a body is read,
// and an operationId, tags and a summary. What the operations answer is
// TestOpenAPIAnswers's.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	h := newHub(t)
	raw := served(t, h.url)
	doc := document(t, raw, false)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1", doc.OpenAPI)
	}
	dc := newDocCheck(t, doc, h.url)
	served := map[string]bool{}
	ids := map[string]bool{}
	for _, o := range operations(doc) {
		op, method := o.op, strings.ToUpper(o.method)
		name := method + " " + o.path
		if op.OperationID == "" || ids[op.OperationID] || len(op.Tags) == 0 || op.Summary == "" {
			t.Errorf("%s: want a unique operationId, tags and a summary (%q, %v, %q)", name, op.OperationID, op.Tags, op.Summary)
		}
		ids[op.OperationID] = true
		req, _ := http.NewRequest(method, h.url+dc.example(t, o), nil)
		rt, ok := hhttp.RouteOf(h.srv, req)
		if !ok || !strings.HasPrefix(rt.Pattern, method+" ") {
			t.Errorf("openapi.json documents %s, which the server does not serve", name)
			continue
		}
		served[rt.Pattern] = true
		sec := security(doc, op)
		has := func(status int) bool { return op.Responses.Status(status) != nil }
		var want []string
		switch rt.Access {
		case "anyActor":
			want = []string{"applicationKey", "session"}
		case "usersOnly":
			want = []string{"session"}
		case "public":
			if rt.Pattern == "POST /witness/{region}/add-checkpoint" {
				want = []string{"witnessToken"} // checked by the handler
			}
		}
		if !slices.Equal(sec, want) {
			t.Errorf("%s (%s): security %v, want %v", name, rt.Access, sec, want)
		}
		if len(want) > 0 && !has(401) {
			t.Errorf("%s needs a token but does not document 401", name)
		}
		if rt.Access == "usersOnly" && !has(403) {
			t.Errorf("%s refuses application keys but does not document 403", name)
		}
		if op.RequestBody != nil && (!has(413) || !has(408)) {
			t.Errorf("%s reads a body of at most %d bytes but does not document 413 and 408", name, rt.BodyLimit)
		}
		if (method == "POST" || method == "PUT") && op.RequestBody == nil && !slices.Contains([]string{"POST /api/v1/credentials/{id}/revoke", "POST /api/v1/nodes/{region}/revoke", "POST /api/v1/requests/{id}/remind",
			"POST /api/v1/subscriptions/{id}/pause", "POST /api/v1/subscriptions/{id}/resume"}, rt.Pattern) {
			t.Errorf("%s documents no request body", name)
		}
	}
	for _, r := range hhttp.Routes(h.srv) {
		if !served[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	// Every enum says its type, so that generated clients get one.
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if _, ok := v["enum"]; ok && v["type"] == nil {
				t.Errorf("%s: an enum without a type", path)
			}
			for k, x := range v {
				walk(path+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s/%d", path, i), x)
			}
		}
	}
	var tree map[string]any
	json.Unmarshal(raw, &tree)
	walk("#", tree)
}

func TestHealthAndMetrics(t *testing.T) {
	h := newHub(t)
	// Serving is not ready: until the hub says it has started, the
	// health check answers 503 in the error shape.
	if status, body, hdr := h.call(t, "GET", "/healthz", "", "", nil); status != 503 || !bytes.Contains(body, []byte(`"code":"unavailable"`)) || hdr.Get("Retry-After") != "1" {
		t.Errorf("healthz while starting: %d %s", status, body)
	}
	h.srv.SetReady()
	if status, body, _ := h.call(t, "GET", "/healthz", "", "", nil); status != 200 || string(body) != "ok\n" {
		t.Errorf("healthz: %d %q", status, body)
	}
	h.call(t, "GET", "/api/v1/resources", h.admin, "", nil)
	status, body, _ := h.call(t, "GET", "/metrics", "", "", nil)
	if status != 200 || !bytes.Contains(body, []byte(`hutong_http_requests_total{code="200",method="GET",route="GET /api/v1/resources"} 1`)) {
		t.Errorf("metrics: %d, want the counted catalog request in:\n%.2000s", status, body)
	}
}

func TestErrors(t *testing.T) {
	h := newHub(t)
	tests := []struct {
		name        string
		method      string
		path, token string
		ct          string
		body        string
		status      int
		code        string
	}{
		{"no token", "GET", "/api/v1/resources", "", "", "", 401, "unauthorized"},
		{"bad token", "GET", "/api/v1/resources", "hts_nope", "", "", 401, "unauthorized"},
		{"unknown path", "GET", "/api/v1/nothing", h.admin, "", "", 404, "not_found"},
		{"unknown resource", "GET", "/api/v1/resources/NO-SUCH", h.admin, "", "", 404, "not_found"},
		{"traversal in code", "GET", "/api/v1/resources/..%2f..%2fetc%2fpasswd", h.admin, "", "", 404, "not_found"},
		{"unknown field", "POST", "/api/v1/resources", h.admin, "application/json", `{"code":"X-1","colour":"red"}`, 400, "invalid"},
		{"not json", "POST", "/api/v1/resources", h.admin, "application/json", `{"code":`, 400, "invalid"},
		{"wrong json type", "POST", "/api/v1/resources", h.admin, "application/json", `{"code":12}`, 400, "invalid"},
		{"trailing data", "POST", "/api/v1/resources", h.admin, "application/json", `{"code":"x"} {}`, 400, "invalid"},
		{"wrong content type", "POST", "/api/v1/resources", h.admin, "text/plain", `{}`, 400, "invalid"},
		{"too large", "POST", "/api/v1/resources", h.admin, "application/json", `{"summary":"` + strings.Repeat("长", 1<<19) + `"}`, 413, "invalid"},
		{"key may not publish", "POST", "/api/v1/resources", "", "application/json", `{}`, 401, "unauthorized"},
		{"bad limit", "GET", "/api/v1/resources?limit=abc", h.admin, "", "", 400, "invalid"},
		{"zero limit", "GET", "/api/v1/resources?limit=0", h.admin, "", "", 400, "invalid"},
		{"bad cursor", "GET", "/api/v1/resources?cursor=%27%3B%20DROP%20TABLE", h.admin, "", "", 400, "invalid"},
		{"bad region", "GET", "/api/v1/regions?parent=99", h.admin, "", "", 400, "invalid"},
		{"wrong method", "DELETE", "/api/v1/regions", h.admin, "", "", 405, "invalid"},
		{"rows as xml", "POST", "/api/v1/resources/X-1/rows", h.admin, "application/xml", "<a/>", 400, "invalid"},
		{"catalog as json", "POST", "/api/v1/catalog/import", h.admin, "application/json", "{}", 400, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			status, b, _ := h.call(t, tt.method, tt.path, tt.token, tt.ct, body)
			if tt.code == "" {
				if status != tt.status {
					t.Fatalf("got %d, want %d", status, tt.status)
				}
				return
			}
			wantError(t, status, b, tt.status, tt.code)
		})
	}
}

func TestCatalogFlow(t *testing.T) {
	h := newHub(t)

	// A steward publishes for its own department, not for another's.
	status, body := h.json(t, "POST", "/api/v1/resources", h.steward, insuredJSON(h.tj.ID))
	if status != 201 {
		t.Fatalf("publish: %d %s", status, body)
	}
	var r hutong.Resource
	json.Unmarshal(body, &r)
	if r.Level != 3 || r.ShareType != hutong.ShareConditional || r.Items[1].Masking != hutong.MaskIDNumber {
		t.Errorf("published %+v: want level 3, conditional, id masking", r)
	}
	status, body = h.json(t, "POST", "/api/v1/resources", h.steward, insuredJSON(h.tj.ID))
	wantError(t, status, body, 409, "conflict")
	other := insuredJSON(h.bj.ID)
	other["code"] = "110000-BJSJ-01"
	status, body = h.json(t, "POST", "/api/v1/resources", h.steward, other)
	wantError(t, status, body, 403, "forbidden")
	status, body = h.json(t, "POST", "/api/v1/resources", h.consume, other)
	wantError(t, status, body, 403, "forbidden")
	bad := insuredJSON(h.tj.ID)
	bad["code"], bad["share_type"] = "120000-TJYB-04", "maybe"
	status, body = h.json(t, "POST", "/api/v1/resources", h.admin, bad)
	if vs := wantError(t, status, body, 400, "invalid"); len(vs) != 1 || vs[0].Field != "share_type" {
		t.Errorf("details %v, want one share_type violation", vs)
	}

	// Rows: a CSV with errors is rejected whole, by row and column.
	id1, id2 := storetest.CitizenID(t, "12010119900307123"), storetest.CitizenID(t, "12010219851231002")
	badCSV := "姓名,公民身份号码,参保日期\n张三," + id1 + ",2020-01-05\n李四," + id2[:17] + "0,2020-02-30\n,123,\n"
	status, body, _ = h.call(t, "POST", "/api/v1/resources/120000-TJYB-03/rows", h.steward, "text/csv", strings.NewReader(badCSV))
	vs := wantError(t, status, body, 400, "invalid")
	want := map[string]bool{"3/公民身份号码": false, "3/参保日期": false, "4/姓名": false, "4/公民身份号码": false}
	for _, v := range vs {
		want[fmt.Sprintf("%d/%s", v.Row, v.Field)] = true
	}
	for k, found := range want {
		if !found {
			t.Errorf("no violation at row/field %s in %v", k, vs)
		}
	}
	goodCSV := "\ufeff姓名,公民身份号码,参保日期\n张三," + id1 + ",2020-01-05\n李四," + id2 + ",2020/2/3\n"
	status, body, _ = h.call(t, "POST", "/api/v1/resources/120000-TJYB-03/rows", h.steward, "text/csv; charset=utf-8", strings.NewReader(goodCSV))
	if status != 200 || !strings.Contains(string(body), `"total_rows":2`) {
		t.Fatalf("import csv: %d %s", status, body)
	}
	ndjson := `{"姓名":"王五","公民身份号码":"` + id1 + `","参保日期":null}` + "\n\n" + `{"姓名":"赵六","公民身份号码":"` + id2 + `"}` + "\n"
	status, body, _ = h.call(t, "POST", "/api/v1/resources/120000-TJYB-03/rows?mode=append", h.steward, "application/x-ndjson", strings.NewReader(ndjson))
	if status != 200 || !strings.Contains(string(body), `"total_rows":4`) {
		t.Fatalf("import ndjson: %d %s", status, body)
	}
	status, body, _ = h.call(t, "POST", "/api/v1/resources/120000-TJYB-03/rows", h.steward, "application/x-ndjson", strings.NewReader("{\"姓名\": [1]}\nnot json\n"))
	if vs := wantError(t, status, body, 400, "invalid"); len(vs) != 2 || vs[0].Row != 1 || vs[1].Row != 2 {
		t.Errorf("ndjson syntax violations %v, want lines 1 and 2", vs)
	}
	status, body, _ = h.call(t, "POST", "/api/v1/resources/120000-TJYB-03/rows", h.consume, "text/csv", strings.NewReader(goodCSV))
	wantError(t, status, body, 403, "forbidden")

	// Search and read back.
	c := hhttp.NewClient(h.url, h.consume)
	page, err := c.Resources(context.Background(), hutong.ResourceFilter{Query: "医保"})
	if err != nil || page.Total != 1 || page.Items[0].Rows != 4 {
		t.Fatalf("q=医保: %+v, %v", page, err)
	}
	if _, err := c.Resource(context.Background(), "NO-SUCH"); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("client error code %v, want not_found", err)
	}

	// Update and delete.
	upd := insuredJSON(h.tj.ID)
	upd["name"] = "天津市医保参保登记"
	status, body = h.json(t, "PUT", "/api/v1/resources/120000-TJYB-03", h.steward, upd)
	if status != 200 {
		t.Fatalf("update: %d %s", status, body)
	}
	upd["code"] = "OTHER"
	status, body = h.json(t, "PUT", "/api/v1/resources/120000-TJYB-03", h.steward, upd)
	wantError(t, status, body, 400, "invalid")
	if status, _, _ := h.call(t, "DELETE", "/api/v1/resources/120000-TJYB-03", h.steward, "", nil); status != 204 {
		t.Errorf("delete: %d", status)
	}
	if page, _ := c.Resources(context.Background(), hutong.ResourceFilter{Query: "医保"}); page.Total != 0 {
		t.Errorf("deleted resource still found")
	}
}

func TestCatalogImport(t *testing.T) {
	h := newHub(t)
	header := "资源代码,资源名称,英文名称,资源提供方,资源摘要,信息项,共享类型,共享条件,不予共享依据,更新周期,发布日期,分级,分类,标签\n"
	row := func(code, items, share, basis string) string {
		return fmt.Sprintf("%s,河北省空气质量%s,Hebei Air,%s,站点小时数据,\"%s\",%s,,%s,每小时,2026/10/1,一级,一般,空气质量；物联网\n", code, code, h.hb.ID, items, share, basis)
	}
	items := "*监测站点编码(station_code);*监测时间(datetime);AQI(aqi)"
	badSheet := header + row("130000-HBHJ-01", items, "无条件共享", "") + row("130000-HBHJ-02", "监测站点编码(nope)", "无条件共享", "") + row("130000-HBHJ-03", items, "非共享", "")
	status, body, _ := h.call(t, "POST", "/api/v1/catalog/import", h.admin, "text/csv", strings.NewReader(badSheet))
	vs := wantError(t, status, body, 400, "invalid")
	rows := map[int]string{}
	for _, v := range vs {
		rows[v.Row] = v.Field
	}
	if rows[3] != "items[0].element" || rows[4] != "legal_basis" || len(rows) != 2 {
		t.Errorf("violations %v: want sheet row 3 items[0].element and row 4 legal_basis", vs)
	}
	if page, _ := hhttp.NewClient(h.url, h.admin).Resources(context.Background(), hutong.ResourceFilter{}); page.Total != 0 {
		t.Fatalf("a rejected sheet stored %d resources", page.Total)
	}

	good := header + row("130000-HBHJ-01", items, "无条件共享", "") + row("130000-HBHJ-03", items, "非共享", "《个人信息保护法》")
	codes, err := hhttp.NewClient(h.url, h.admin).ImportCatalog(context.Background(), "text/csv", strings.NewReader(good))
	if err != nil || len(codes) != 2 {
		t.Fatalf("import csv sheet: %v, %v", codes, err)
	}
	r, _ := hhttp.NewClient(h.url, h.admin).Resource(context.Background(), "130000-HBHJ-03")
	if r.ShareType != hutong.ShareNone || r.PublishDate != "2026-10-01" || fmt.Sprint(r.Tags) != "[空气质量 物联网]" || !r.Items[0].Required {
		t.Errorf("imported %+v", r)
	}

	// The same catalog as a workbook with an items sheet.
	f := excelize.NewFile()
	f.SetSheetName("Sheet1", "资源目录")
	f.SetSheetRow("资源目录", "A1", &[]any{"资源代码", "资源名称", "资源提供方", "资源摘要", "共享类型", "更新周期", "分级"})
	f.SetSheetRow("资源目录", "A2", &[]any{"130000-HBHJ-11", "河北省交通流量", h.hb.ID, "路段小时流量", "无条件共享", "每小时", 1})
	f.SetSheetRow("资源目录", "A3", &[]any{"130000-HBHJ-12", "河北省车主信息", h.hb.ID, "车主", "有条件共享", "每日", 2})
	f.NewSheet("信息项")
	f.SetSheetRow("信息项", "A1", &[]any{"资源代码", "信息项名称", "数据元", "必填"})
	f.SetSheetRow("信息项", "A2", &[]any{"130000-HBHJ-11", "道路编码", "road_code", "是"})
	f.SetSheetRow("信息项", "A3", &[]any{"130000-HBHJ-11", "车流量", "vehicle_count", "否"})
	f.SetSheetRow("信息项", "A4", &[]any{"130000-HBHJ-12", "车主", "person_name", "是"})
	var buf bytes.Buffer
	f.Write(&buf)
	status, body, _ = h.call(t, "POST", "/api/v1/catalog/import", h.admin, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", bytes.NewReader(buf.Bytes()))
	// 130000-HBHJ-12 is conditional without conditions: sheet row 3.
	vs = wantError(t, status, body, 400, "invalid")
	if len(vs) != 1 || vs[0].Row != 3 || vs[0].Field != "share_conditions" {
		t.Errorf("xlsx violations %v, want row 3 share_conditions", vs)
	}
	f.SetSheetRow("资源目录", "H1", &[]any{"共享条件"})
	f.SetSheetRow("资源目录", "H3", &[]any{"仅限交通执法"})
	buf.Reset()
	f.Write(&buf)
	status, body, _ = h.call(t, "POST", "/api/v1/catalog/import", h.admin, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", bytes.NewReader(buf.Bytes()))
	if status != 201 {
		t.Fatalf("import xlsx: %d %s", status, body)
	}
	r, _ = hhttp.NewClient(h.url, h.admin).Resource(context.Background(), "130000-HBHJ-11")
	if len(r.Items) != 2 || r.Items[1].Element != "vehicle_count" || !r.Items[0].Required || r.Items[1].Required {
		t.Errorf("xlsx items %+v", r.Items)
	}
	status, body, _ = h.call(t, "POST", "/api/v1/catalog/import", h.admin, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", strings.NewReader("PK\x03\x04 broken"))
	wantError(t, status, body, 400, "invalid")
}

func TestCredentialsAPI(t *testing.T) {
	h := newHub(t)
	status, body := h.json(t, "POST", "/api/v1/credentials", h.consume, map[string]string{"name": "跨省通办系统"})
	if status != 201 {
		t.Fatalf("create key: %d %s", status, body)
	}
	var created struct {
		ID, Key, Department string
	}
	json.Unmarshal(body, &created)
	if created.Department != h.bj.ID || !strings.HasPrefix(created.Key, "htk_") {
		t.Fatalf("created %+v", created)
	}
	// The key reads the catalog but cannot act as a user.
	if status, _, _ := h.call(t, "GET", "/api/v1/resources", created.Key, "", nil); status != 200 {
		t.Errorf("catalog with key: %d", status)
	}
	status, body = h.json(t, "POST", "/api/v1/credentials", created.Key, map[string]string{"name": "x"})
	wantError(t, status, body, 403, "forbidden")
	status, body, _ = h.call(t, "GET", "/api/v1/credentials", h.consume, "", nil)
	if status != 200 || strings.Contains(string(body), created.Key) || !strings.Contains(string(body), created.ID) {
		t.Errorf("list keys: %d %s (must list the id, never the key)", status, body)
	}
	if status, _, _ := h.call(t, "POST", "/api/v1/credentials/"+created.ID+"/revoke", h.consume, "", nil); status != 204 {
		t.Fatalf("revoke: %d", status)
	}
	status, body, _ = h.call(t, "GET", "/api/v1/resources", created.Key, "", nil)
	wantError(t, status, body, 401, "unauthorized")
}

func TestSignIn(t *testing.T) {
	h := newHub(t)
	c := hhttp.NewClient(h.url, "")
	u, err := c.SignIn(context.Background(), "tjyb-steward", "password-1")
	if err != nil || u.Login != "tjyb-steward" {
		t.Fatalf("SignIn: %v, %v", u, err)
	}
	if _, err := c.Elements(context.Background()); err != nil {
		t.Errorf("elements with the session: %v", err)
	}
	_, err = hhttp.NewClient(h.url, "").SignIn(context.Background(), "tjyb-steward", "wrong")
	if hutong.ErrorCode(err) != hutong.EUNAUTHORIZED {
		t.Errorf("wrong password: %v", err)
	}
}

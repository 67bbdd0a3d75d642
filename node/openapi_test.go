package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/internal/hubtest"
	"github.com/hutong/hutong/pki"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/storetest"
)

// nodeDocument loads node/openapi.json with kin-openapi (a test-only
// dependency that validates OpenAPI 3.1 documents, requests and answers).
// Answers' objects are closed, so a field the hub sends and the document
// does not name fails their validation.
func nodeDocument(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPI)
	if err != nil {
		t.Fatalf("load node/openapi.json: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("node/openapi.json is not a valid OpenAPI document: %v", err)
	}
	seen := map[*openapi3.Schema]bool{}
	var closeSchema func(*openapi3.SchemaRef)
	closeSchema = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			no := false
			s.AdditionalProperties.Has = &no
		}
		for _, p := range s.Properties {
			closeSchema(p)
		}
		closeSchema(s.Items)
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		for _, op := range doc.Paths.Value(path).Operations() {
			for _, resp := range op.Responses.Map() {
				for _, mt := range resp.Value.Content {
					closeSchema(mt.Schema)
				}
			}
		}
	}
	return doc
}

// TestOpenAPIMatchesHubAPI checks that node/openapi.json documents exactly
// the routes of the hub API for nodes, each behind the node certificate
// (401 documented) but the document itself.
func TestOpenAPIMatchesHubAPI(t *testing.T) {
	doc := nodeDocument(t)
	var documented []string
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			name := method + " " + path
			documented = append(documented, name)
			if op.OperationID == "" || len(op.Tags) == 0 || op.Summary == "" {
				t.Errorf("%s: want an operationId, tags and a summary", name)
			}
			sec := doc.Security
			if op.Security != nil {
				sec = *op.Security
			}
			public := path == "/node/v1/openapi.json"
			if public != (len(sec) == 0) {
				t.Errorf("%s: security %v", name, sec)
			}
			if !public && op.Responses.Status(401) == nil {
				t.Errorf("%s needs a node's certificate but does not document 401", name)
			}
		}
	}
	var served []string
	for _, rt := range (&HubAPI{}).routes() {
		served = append(served, rt.pattern)
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("node/openapi.json documents\n%v\nthe hub API for nodes serves\n%v", documented, served)
	}
	if s := doc.Components.SecuritySchemes["nodeCertificate"]; s == nil || s.Value.Type != "mutualTLS" {
		t.Errorf("no mutualTLS scheme nodeCertificate")
	}
}

// TestOpenAPIHubAPIAnswers calls every operation of the hub API for nodes
// over mutual TLS, with its success and each documented error, and
// validates each request and answer against node/openapi.json.
func TestOpenAPIHubAPIAnswers(t *testing.T) {
	h := hubtest.New(t, nil)
	ctx := storetest.Admin(context.Background())
	ca, err := pki.LoadOrCreateCA(filepath.Join(t.TempDir(), "ca"), "test/hub")
	if err != nil {
		t.Fatal(err)
	}
	register, err := sqlstore.NewNodeRegister(ctx, h.DB, sqlstore.NodeOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.HubCertificate([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	requests := h.Server.Requests.(*sqlstore.Requests)
	keys := hutong.LedgerKeys{Origin: "test/hub", LogKey: "test/hub+1a2b3c4d+AQID", WitnessKeys: []string{"110000+5e6f7a8b+BAUG"}, Quorum: 1}
	api := &HubAPI{Addr: "127.0.0.1:0", Cert: cert, CA: ca.Pool(), Nodes: register, Catalog: h.Server.Catalog, Auditor: h.Journal,
		Agreements: requests.NodeAgreements, Entries: sqlstore.NewLedgerEntries(h.DB),
		Config:  func(region string) hutong.NodeConfig { return hutong.NodeConfig{Region: region, Ledger: keys} },
		Logger:  slog.New(slog.DiscardHandler),
		MaskKey: func(string) []byte { return []byte("0123456789abcdef") }}
	if err := api.Listen(); err != nil {
		t.Fatal(err)
	}
	if err := api.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close(context.Background()) })
	base := "https://127.0.0.1:" + api.Port()

	// A node of Tianjin, enrolled as hutong node does.
	enrol := func(region string) tls.Certificate {
		tok, err := register.CreateEnrolmentToken(ctx, region, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		key, csr, err := pki.NewNodeKey(region)
		if err != nil {
			t.Fatal(err)
		}
		e, err := register.Enroll(ctx, &hutong.EnrolmentRequest{Token: tok.Token, CSR: string(csr), URL: "https://127.0.0.1:9412"})
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode([]byte(e.Certificate))
		return tls.Certificate{Certificate: [][]byte{block.Bytes}, PrivateKey: key}
	}
	tj := enrol("120000")
	client := func(c *tls.Certificate) *http.Client {
		cfg := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS13}
		if c != nil {
			cfg.Certificates = []tls.Certificate{*c}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	}

	doc := nodeDocument(t)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	reached := map[string]map[int]bool{}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
		if r := in.RequestValidationInput.Request; r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return errors.New("no client certificate")
		}
		return nil
	}}
	type call struct {
		method, path, body string
		cert               *tls.Certificate
		status             int
		breaks             bool // the request breaks the document
	}
	do := func(c call) []byte {
		t.Helper()
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client(c.cert).Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Fatalf("%s %s: got %d %s, want %d", c.method, c.path, resp.StatusCode, body, c.status)
		}
		vreq, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		vreq.Header = req.Header.Clone()
		if c.cert != nil {
			leaf, _ := x509.ParseCertificate(c.cert.Certificate[0])
			vreq.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}
		}
		route, params, err := router.FindRoute(vreq)
		if err != nil {
			t.Fatalf("%s %s: no documented operation: %v", c.method, c.path, err)
		}
		in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
		switch err := openapi3filter.ValidateRequest(context.Background(), in); {
		case c.breaks && err == nil:
			t.Errorf("%s %s: the document accepts this request, which the hub refuses with %d", c.method, c.path, c.status)
		case !c.breaks && err != nil:
			t.Errorf("%s %s: the request breaks the document: %v", c.method, c.path, err)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
		out.SetBodyBytes(body)
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s %s: the answer %d %.300s does not match the document: %v", c.method, c.path, resp.StatusCode, body, err)
			return body
		}
		id := route.Operation.OperationID
		if reached[id] == nil {
			reached[id] = map[int]bool{}
		}
		reached[id][resp.StatusCode] = true
		return body
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }

	do(call{method: "GET", path: "/node/v1/openapi.json", status: 200})
	do(call{method: "GET", path: "/node/v1/config", cert: &tj, status: 200})
	do(call{method: "GET", path: "/node/v1/config", status: 401, breaks: true})
	do(call{method: "GET", path: "/node/v1/agreements", status: 401, breaks: true})
	do(call{method: "PUT", path: "/node/v1/resources/120000-TJYB-21", body: "{}", status: 401, breaks: true})

	res := map[string]any{"name": "天津市企业年度报告信息", "provider": h.TJ.ID, "summary": "企业年度报告", "share_type": "无条件共享", "update_cycle": "yearly",
		"items": []map[string]any{{"name": "统一社会信用代码", "element": "uscc", "required": true}, {"name": "企业名称", "element": "org_name"}}}
	do(call{method: "PUT", path: "/node/v1/resources/120000-TJYB-21", body: js(res), cert: &tj, status: 201})
	res["summary"] = "企业年度报告（区域节点）"
	do(call{method: "PUT", path: "/node/v1/resources/120000-TJYB-21", body: js(res), cert: &tj, status: 200})
	do(call{method: "PUT", path: "/node/v1/resources/120000-TJYB-22", body: `{"name": `, cert: &tj, status: 400, breaks: true})
	bad := map[string]any{}
	for k, v := range res {
		bad[k] = v
	}
	bad["update_cycle"] = "每世纪"
	do(call{method: "PUT", path: "/node/v1/resources/120000-TJYB-22", body: js(bad), cert: &tj, status: 400, breaks: true})
	bad["update_cycle"], bad["share_type"], bad["share_conditions"] = "yearly", "conditional", ""
	do(call{method: "PUT", path: "/node/v1/resources/120000-TJYB-22", body: js(bad), cert: &tj, status: 400})
	other := map[string]any{}
	for k, v := range res {
		other[k] = v
	}
	other["provider"], other["region"] = h.HB.ID, "130000"
	do(call{method: "PUT", path: "/node/v1/resources/130000-HBHJ-21", body: js(other), cert: &tj, status: 403})
	if err := h.Server.Catalog.PublishResource(ctx, storetest.InsuredResource("120000-TJYB-03", h.TJ.ID)); err != nil {
		t.Fatal(err)
	}
	do(call{method: "PUT", path: "/node/v1/resources/120000-TJYB-03", body: js(res), cert: &tj, status: 403})

	// An agreement over the node's resource reaches the node with its key.
	consumer := hutong.NewContextWithActor(context.Background(), &hutong.Actor{User: &hutong.User{ID: 99, Login: "bjsj-consumer", Department: h.BJ.ID, Roles: []hutong.Role{hutong.RoleConsumer}}})
	if _, err := requests.CreateRequest(consumer, &hutong.RequestInput{Resource: "120000-TJYB-21", Fields: []string{"企业名称"}, Purpose: "招商引资企业核验", ValidUntil: "2099-12-31"}); err != nil {
		t.Fatal(err)
	}
	var ags []map[string]any
	if err := json.Unmarshal(do(call{method: "GET", path: "/node/v1/agreements", cert: &tj, status: 200}), &ags); err != nil || len(ags) != 1 || ags[0]["mask_key"] == "" {
		t.Errorf("agreements: %v, %v: want one with its mask_key", ags, err)
	}

	// The region's ledger entries, in full, for its audit.
	h.Journal.FlushOutbox(context.Background())
	var page hutong.EntryPage
	if err := json.Unmarshal(do(call{method: "GET", path: "/node/v1/ledger/entries?limit=1000", cert: &tj, status: 200}), &page); err != nil || len(page.Items) == 0 {
		t.Errorf("the region's entries: %+v, %v", page, err)
	}
	for _, e := range page.Items {
		if e.Entry == nil || !strings.Contains(string(e.Entry), h.TJ.ID) {
			t.Errorf("entry %d is not the region's: %s", e.Index, e.Entry)
		}
	}
	do(call{method: "GET", path: "/node/v1/ledger/entries?limit=0", cert: &tj, status: 400, breaks: true})
	do(call{method: "GET", path: "/node/v1/ledger/entries", status: 401, breaks: true})

	// While the ledger cannot record changes, publishing waits.
	h.Journal.SetGate(func() error { return errors.New("test: the ledger is down") })
	do(call{method: "PUT", path: "/node/v1/resources/120000-TJYB-21", body: js(res), cert: &tj, status: 503})
	h.Journal.SetGate(nil)

	// A replaced certificate is refused at once.
	enrol("120000")
	do(call{method: "GET", path: "/node/v1/agreements", cert: &tj, status: 401})

	var missing []string
	for _, path := range doc.Paths.InMatchingOrder() {
		for _, op := range doc.Paths.Value(path).Operations() {
			for code := range op.Responses.Map() {
				status, _ := strconv.Atoi(code)
				if !reached[op.OperationID][status] {
					missing = append(missing, fmt.Sprintf("%s %s", op.OperationID, code))
				}
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("documented, never answered in this test: %s", strings.Join(missing, ", "))
	}
}

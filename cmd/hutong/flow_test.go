package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/client"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/demo"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/ledger"
)

// get calls the hub as curl would and returns status, headers and body.
func get(t *testing.T, rawURL, token, purpose string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if purpose != "" {
		req.Header.Set("Hutong-Purpose", purpose)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func credentialsOf(creds demo.Credentials, short string) (consumer demo.Consumer, steward demo.Steward) {
	for _, c := range creds.Consumers {
		if strings.HasPrefix(c.Login, short+"-") {
			consumer = c
		}
	}
	for _, s := range creds.Stewards {
		if strings.HasPrefix(s.Login, short+"-") {
			steward = s
		}
	}
	return consumer, steward
}

// TestExchangeFlow walks the README's tour: Beijing requests Tianjin's
// conditional resource, Tianjin's steward approves it, Beijing creates a
// key and reads masked records with a receipt; the unconditional path needs
// no steward; a revoked agreement and a revoked key stop the next call.
func TestExchangeFlow(t *testing.T) {
	t.Parallel() // boots its own hub on :0 in its own directory
	dir := t.TempDir()
	m := startDemo(t, dir)
	defer m.Close()
	creds := readCreds(t, dir)
	ctx := context.Background()
	bj, _ := credentialsOf(creds, "bjsj")
	_, tjSteward := credentialsOf(creds, "tjyb")
	hub := creds.Hub
	const code, purpose = "120000-TJYB-03", "异地就医直接结算"

	// Beijing's consumer files the request with the CLI.
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"request", code, "--hub", hub, "--token", bj.Token, "--fields", "姓名,公民身份号码,险种,参保地,社会保障卡银行账号",
		"--purpose", purpose, "--legal-basis", "跨省异地就医直接结算工作通知", "--valid-until", "2027-06-30", "--json"}, &out, &errOut)
	if err != nil {
		t.Fatalf("hutong request: %v %s", describe(err), errOut.String())
	}
	var req hutong.Request
	json.Unmarshal(out.Bytes(), &req)
	if req.Status != hutong.RequestPending || req.WorkingDaysLeft < 10 {
		t.Fatalf("request %+v: want pending with 10 working days to reply", req)
	}
	// Before approval nothing is released.
	if status, _, body := get(t, hub+"/api/v1/resources/"+code+"/records", bj.APIKey, purpose); status != 403 {
		t.Fatalf("before approval: %d %s", status, body)
	}
	// Beijing cannot approve its own request; Tianjin's steward can.
	if _, err := hhttp.NewClient(hub, bj.Token).Approve(ctx, req.ID, hutong.Narrowing{}); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
		t.Fatalf("consumer approving: %v", err)
	}
	out.Reset()
	if err := run(ctx, []string{"requests", "list", "--box", "inbox", "--hub", hub, "--token", tjSteward.Token}, &out, &errOut); err != nil || !strings.Contains(out.String(), req.ID) {
		t.Fatalf("steward inbox: %v %s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"requests", "approve", req.ID, "--hub", hub, "--token", tjSteward.Token, "--fields", "姓名,公民身份号码,险种,参保地"}, &out, &errOut); err != nil {
		t.Fatalf("approve: %v", describe(err))
	}

	// Beijing creates a key and reads masked records, curl-style, with the
	// purpose as raw UTF-8 and percent-encoded.
	keyClient := hhttp.NewClient(hub, bj.Token)
	_, key, err := keyClient.CreateCredential(ctx, "", "跨省通办系统")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{purpose, url.PathEscape(purpose)} {
		status, h, body := get(t, hub+"/api/v1/resources/"+code+"/records?limit=3&fields=姓名,公民身份号码", key, p)
		if status != 200 {
			t.Fatalf("records with purpose %q: %d %s", p, status, body)
		}
		rec, err := hhttp.ParseReceipt(h.Get("Hutong-Receipt"))
		if err != nil || rec.Origin == "" {
			t.Fatalf("receipt %q: %v", h.Get("Hutong-Receipt"), err)
		}
		var page struct {
			Items []map[string]string `json:"items"`
		}
		json.Unmarshal(body, &page)
		if len(page.Items) != 3 {
			t.Fatalf("page %s", body)
		}
		for _, it := range page.Items {
			if !strings.Contains(it["姓名"], "*") || !strings.Contains(it["公民身份号码"], "********") || len(it) != 2 {
				t.Errorf("unmasked or extra values: %v", it)
			}
		}
	}
	// Fields outside the agreement are named in the refusal.
	status, _, body := get(t, hub+"/api/v1/resources/"+code+"/records?fields=姓名,社会保障卡银行账号", key, purpose)
	if status != 403 || !strings.Contains(string(body), "社会保障卡银行账号") || !strings.Contains(string(body), `"code":"forbidden"`) {
		t.Errorf("field outside: %d %s", status, body)
	}
	// The CLI reads and exports through the same path.
	out.Reset()
	errOut.Reset()
	if err := run(ctx, []string{"records", code, "--hub", hub, "--token", key, "--purpose", purpose, "--limit", "2"}, &out, &errOut); err != nil ||
		!strings.Contains(errOut.String(), "receipt: origin=") || !strings.Contains(out.String(), `"items"`) {
		t.Errorf("hutong records: %v %s %s", err, out.String(), errOut.String())
	}
	out.Reset()
	if err := run(ctx, []string{"export", code, "--hub", hub, "--token", key, "--purpose", purpose, "--format", "csv"}, &out, &errOut); err != nil ||
		!strings.HasPrefix(out.String(), "姓名,公民身份号码,险种,参保地\n") {
		t.Errorf("hutong export: %v %.200s", err, out.String())
	}

	// A receipt is checked from its header's value as the answer carried
	// it, with or without the header's name.
	_, h, _ := get(t, hub+"/api/v1/resources/"+code+"/records?limit=1", key, purpose)
	flush, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := m.Ledger.Flush(flush); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{h.Get("Hutong-Receipt"), "Hutong-Receipt: " + h.Get("Hutong-Receipt")} {
		out.Reset()
		if err := run(ctx, []string{"verify", "receipt", arg, "--hub", hub}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "receipt verified") {
			t.Errorf("hutong verify receipt %q: %v %s", arg, err, out.String())
		}
	}

	// The unconditional path needs no steward.
	air, err := keyClient.CreateRequest(ctx, &hutong.RequestInput{Resource: "130000-HBHJ-05", Fields: []string{"监测站点编码", "所在城市", "AQI"},
		Purpose: "京津冀大气污染联防联控", ValidUntil: "2027-12-31"})
	if err != nil || air.Status != hutong.RequestApproved {
		t.Fatalf("unconditional request: %+v, %v", air, err)
	}
	if status, _, body := get(t, hub+"/api/v1/resources/130000-HBHJ-05/records?filter=AQI:gte:100&limit=5", key, "京津冀大气污染联防联控"); status != 200 {
		t.Errorf("unconditional read: %d %s", status, body)
	}
	// Not shared: refused at request time with the legal basis.
	none, err := keyClient.CreateRequest(ctx, &hutong.RequestInput{Resource: "120000-TJGA-08", Fields: []string{"姓名"}, Purpose: "x", ValidUntil: "2027-12-31"})
	if err != nil || none.Status != hutong.RequestRefused || !strings.Contains(none.Reason, "个人信息保护法") {
		t.Errorf("not-shared request: %+v, %v", none, err)
	}

	// Revoking the agreement stops the very next call.
	if _, err := hhttp.NewClient(hub, tjSteward.Token).RevokeAgreement(ctx, func() string {
		r, _ := keyClient.Requests(ctx, hutong.RequestFilter{Box: "outbox", Status: hutong.RequestApproved})
		for _, x := range r {
			if x.Resource == code {
				return x.AgreementID
			}
		}
		return ""
	}(), "数据用途已完成"); err != nil {
		t.Fatal(err)
	}
	if status, _, body := get(t, hub+"/api/v1/resources/"+code+"/records", key, purpose); status != 403 {
		t.Errorf("after revocation: %d %s", status, body)
	}
	// A revoked key stops the very next call; a forged one never works.
	if status, _, _ := get(t, hub+"/api/v1/resources/130000-HBHJ-05/records", key, "京津冀大气污染联防联控"); status != 200 {
		t.Fatalf("key before revocation: %d", status)
	}
	id := strings.Split(strings.TrimPrefix(key, "htk_"), "_")[0]
	revokeReq, _ := http.NewRequest(http.MethodPost, hub+"/api/v1/credentials/"+id+"/revoke", nil)
	revokeReq.Header.Set("Authorization", "Bearer "+bj.Token)
	if resp, err := http.DefaultClient.Do(revokeReq); err != nil || resp.StatusCode != 204 {
		t.Fatalf("revoke key: %v %v", resp, err)
	}
	if status, _, _ := get(t, hub+"/api/v1/resources/130000-HBHJ-05/records", key, "京津冀大气污染联防联控"); status != 401 {
		t.Errorf("revoked key: %d, want 401", status)
	}
	if status, _, _ := get(t, hub+"/api/v1/resources/130000-HBHJ-05/records", key[:len(key)-2]+"xx", "京津冀大气污染联防联控"); status != 401 {
		t.Errorf("forged key: %d, want 401", status)
	}
}

// TestRateLimitOverHTTP checks the 429 answer and its Retry-After header.
func TestRateLimitOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("a demo hub for one 429, which exchange and http tests check; runs without -short")
	}
	t.Parallel() // boots its own hub on :0 in its own directory
	dir := t.TempDir()
	m := startDemo(t, dir)
	defer m.Close()
	creds := readCreds(t, dir)
	bj, _ := credentialsOf(creds, "bjsj")
	c := hhttp.NewClient(creds.Hub, bj.Token)
	if _, err := c.CreateRequest(context.Background(), &hutong.RequestInput{Resource: "110000-BJTJ-11", Fields: []string{"年份"},
		Purpose: "测算", ValidUntil: "2027-01-01", RequestsPerMinute: 1}); err != nil {
		t.Fatal(err)
	}
	if status, _, body := get(t, creds.Hub+"/api/v1/resources/110000-BJTJ-11/records", bj.APIKey, "测算"); status != 200 {
		t.Fatalf("first call: %d %s", status, body)
	}
	status, h, body := get(t, creds.Hub+"/api/v1/resources/110000-BJTJ-11/records", bj.APIKey, "测算")
	if status != 429 || h.Get("Retry-After") == "" || !strings.Contains(string(body), `"code":"rate_limited"`) {
		t.Errorf("second call: %d Retry-After %q %s", status, h.Get("Retry-After"), body)
	}
}

// TestFeedbackMatchesLedger checks that a provider's feedback counts what a
// full walk of the ledger counts.
func TestFeedbackMatchesLedger(t *testing.T) {
	if testing.Short() {
		t.Skip("a demo hub and a walk of its ledger; http tests check feedback; runs without -short")
	}
	t.Parallel() // boots its own hub on :0 in its own directory
	dir := t.TempDir()
	m := startDemo(t, dir)
	defer m.Close()
	creds := readCreds(t, dir)
	ctx := context.Background()
	bj, _ := credentialsOf(creds, "bjsj")
	tj, _ := credentialsOf(creds, "tjhj")
	_, hbSteward := credentialsOf(creds, "hbhj")
	for _, c := range []demo.Consumer{bj, tj} {
		if _, err := hhttp.NewClient(creds.Hub, c.Token).CreateRequest(ctx, &hutong.RequestInput{Resource: "130000-HBHJ-05",
			Fields: []string{"监测站点编码", "AQI"}, Purpose: "联防联控", ValidUntil: "2027-12-31"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 12 {
		c := []demo.Consumer{bj, tj}[i%2]
		q := "/api/v1/resources/130000-HBHJ-05/records?limit=" + fmt.Sprint(1+i)
		if i%5 == 4 {
			q += "&fields=PM2.5" // outside the agreement: refused
		}
		get(t, creds.Hub+q, c.APIKey, "联防联控")
	}
	var out bytes.Buffer
	hhttp.NewClient(creds.Hub, bj.APIKey).Export(ctx, hutong.RecordQuery{Resource: "130000-HBHJ-05", Purpose: "联防联控"}, "csv", &out)
	if err := m.Ledger.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	status, _, body := get(t, creds.Hub+"/api/v1/feedback?department="+hbSteward.Department, hbSteward.Token, "")
	if status != 200 {
		t.Fatalf("feedback: %d %s", status, body)
	}
	var fb hutong.Feedback
	json.Unmarshal(body, &fb)
	type count struct{ calls, refused, rows int64 }
	got := map[string]count{}
	for _, l := range fb.Lines {
		c := got[l.Resource+"/"+l.Consumer]
		got[l.Resource+"/"+l.Consumer] = count{c.calls + l.Calls, c.refused + l.Refused, c.rows + l.Rows}
		for _, idx := range l.Entries {
			if idx >= 100000 {
				t.Fatalf("entry %d out of range", idx)
			}
		}
	}
	// The ledger: the provider's own entries, from the entries API, opened
	// against the public log's commitments, walked with the
	// transparency-dev client.
	opened := map[uint64]hutong.LogEntry{}
	for cursor := ""; ; {
		status, _, body := get(t, creds.Hub+"/api/v1/ledger/entries?limit=1000&department="+hbSteward.Department+"&cursor="+cursor, hbSteward.Token, "")
		var page hutong.EntryPage
		if err := json.Unmarshal(body, &page); status != 200 || err != nil {
			t.Fatalf("entries: %d %s", status, body)
		}
		for _, e := range page.Items {
			if e.Entry == nil {
				t.Fatalf("entry %d of the provider came sealed", e.Index)
			}
			opened[e.Index] = hutong.LogEntry{Index: e.Index, Data: e.Entry, Salt: e.Salt}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	// The demo's hub goes on recording (its stations' episodes, supervision)
	// for this provider: let the log take in what the entries API listed.
	if err := m.Ledger.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	v := &ledger.Verifier{Keys: m.Ledger.Keys(), Source: client.FileFetcher{Root: m.Ledger.Dir()}, Opened: opened}
	rep, err := v.VerifyLog(ctx, nil)
	if err != nil || rep.Opened != uint64(len(opened)) {
		t.Fatalf("VerifyLog with the provider's entries: %+v, %v", rep, err)
	}
	want := map[string]count{}
	for _, o := range opened {
		var e hutong.AuditEvent
		json.Unmarshal(o.Data, &e)
		if e.Provider != hbSteward.Department {
			continue
		}
		k := e.Resource + "/" + e.Department
		c := want[k]
		switch {
		case e.Kind != hutong.AuditRead && e.Kind != hutong.AuditExport && e.Kind != hutong.AuditExportDone:
			continue
		case e.Decision != "allow":
			c.refused++
		case e.Kind == hutong.AuditExportDone:
			c.rows += e.Rows
		default:
			c.calls++
			c.rows += e.Rows
		}
		want[k] = c
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(want) < 2 {
		t.Errorf("feedback %v, the ledger says %v", got, want)
	}
	// Other departments may not read it.
	if status, _, _ := get(t, creds.Hub+"/api/v1/feedback?department="+hbSteward.Department, bj.Token, ""); status != 403 {
		t.Errorf("a consumer read the provider's feedback: %d", status)
	}
}

package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/internal/hubtest"
	"github.com/hutong/hutong/storetest"
	"github.com/hutong/hutong/supervision"
)

// userToken creates a user and returns a session token of it.
func userToken(t *testing.T, h *hubtest.Hub, u *hutong.User) string {
	t.Helper()
	ctx := context.Background()
	if err := h.Server.Auth.CreateUser(storetest.Admin(ctx), u, "password-1"); err != nil {
		t.Fatal(err)
	}
	tok, err := h.Server.Auth.IssueToken(ctx, u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// alertCalls drives the alert operations of TestOpenAPIAnswers through
// each documented answer: an alert on agreement (Tianjin provides,
// Beijing consumes), suspended and resumed, which the consumer's key
// feels on its next read.
func alertCalls(t *testing.T, dc *docCheck, h *hubtest.Hub, agreement, key string, purpose map[string]string) {
	t.Helper()
	do := func(c apiCall) answer { t.Helper(); return dc.do(t, c) }
	ctx := context.Background()
	const appJSON = "application/json"
	now := time.Now()
	onAgreement := &hutong.Alert{Kind: hutong.AlertProbing, Severity: hutong.SeverityHigh, Score: 2.5, Agreement: agreement,
		Consumer: h.BJ.ID, Provider: h.TJ.ID, Resource: "120000-TJYB-03", Actor: "key:x", Evidence: []uint64{1, 2},
		Explanation: "50 equality filters on masked fields in 10 minutes", Params: map[string]string{"probes": "50"}, FirstAt: now, DetectedAt: now}
	refusals := &hutong.Alert{Kind: hutong.AlertRefusals, Severity: hutong.SeverityMedium, Score: 1, Consumer: h.BJ.ID,
		Explanation: "30 refused calls in 1 minute", FirstAt: now, DetectedAt: now}
	cursor, err := h.Alerts.Cursor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Alerts.Raise(ctx, []*hutong.Alert{onAgreement, refusals}, cursor); err != nil {
		t.Fatal(err)
	}
	bjSteward := userToken(t, h, &hutong.User{Login: "bjsj-steward", Name: "北京数据管理员", Department: h.BJ.ID, Roles: []hutong.Role{hutong.RoleSteward}})
	path := "/api/v1/alerts/" + onAgreement.ID

	do(apiCall{method: "GET", path: "/api/v1/alerts?status=open&severity=high", token: h.Steward, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/alerts?status=closed", token: h.Steward, status: 400, breaks: true})
	do(apiCall{method: "GET", path: path, token: bjSteward, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/alerts/alr_nope", token: h.Steward, status: 404})

	do(apiCall{method: "POST", path: path + "/ack", token: bjSteward, status: 403})
	do(apiCall{method: "POST", path: path + "/ack", token: h.Steward, contentType: appJSON, body: `{"colour":"red"}`, status: 400, breaks: true})
	do(apiCall{method: "POST", path: "/api/v1/alerts/alr_nope/ack", token: h.Steward, status: 404})
	do(apiCall{method: "POST", path: path + "/ack", token: h.Steward, status: 200})
	do(apiCall{method: "POST", path: path + "/ack", token: h.Steward, status: 409})

	do(apiCall{method: "POST", path: "/api/v1/alerts/" + refusals.ID + "/suspend", token: h.Admin, status: 400})
	do(apiCall{method: "POST", path: path + "/suspend", token: bjSteward, status: 403})
	do(apiCall{method: "POST", path: "/api/v1/alerts/alr_nope/suspend", token: h.Steward, status: 404})
	do(apiCall{method: "POST", path: path + "/suspend", token: h.Steward, contentType: appJSON, body: `{"reason":"暂停待查：批量核验身份号码"}`, status: 200})
	do(apiCall{method: "POST", path: path + "/suspend", token: h.Steward, status: 409})
	a := do(apiCall{method: "GET", path: "/api/v1/resources/120000-TJYB-03/records?limit=1", token: key, header: purpose, status: 403})
	if !strings.Contains(string(a.body), "暂停待查") {
		t.Errorf("a read under a suspended agreement: %s, want the suspension's reason", a.body)
	}

	do(apiCall{method: "POST", path: path + "/resume", token: bjSteward, status: 403})
	do(apiCall{method: "POST", path: path + "/resume", token: h.Steward, contentType: appJSON, body: `{"note":1}`, status: 400, breaks: true})
	do(apiCall{method: "POST", path: "/api/v1/alerts/alr_nope/resume", token: h.Steward, status: 404})
	do(apiCall{method: "POST", path: path + "/resume", token: h.Steward, contentType: appJSON, body: `{"note":"已核实"}`, status: 200})
	do(apiCall{method: "POST", path: path + "/resume", token: h.Steward, status: 409})
	do(apiCall{method: "GET", path: "/api/v1/resources/120000-TJYB-03/records?limit=1", token: key, header: purpose, status: 200})

	do(apiCall{method: "POST", path: path + "/resolve", token: h.Steward, contentType: appJSON, body: `{}`, status: 400})
	do(apiCall{method: "POST", path: path + "/resolve", token: bjSteward, contentType: appJSON, body: `{"note":"x"}`, status: 403})
	do(apiCall{method: "POST", path: "/api/v1/alerts/alr_nope/resolve", token: h.Steward, contentType: appJSON, body: `{"note":"x"}`, status: 404})
	do(apiCall{method: "POST", path: path + "/resolve", token: h.Steward, contentType: appJSON, body: `{"note":"已核实，系统迁移"}`, status: 200})
	do(apiCall{method: "POST", path: path + "/resolve", token: h.Steward, contentType: appJSON, body: `{"note":"again"}`, status: 409})

	// Webhooks: the steward's scope is its department.
	var hook struct{ ID, Secret string }
	a = do(apiCall{method: "POST", path: "/api/v1/webhooks", token: h.Steward, contentType: appJSON, body: `{"url":"https://hooks.example.gov.cn/tj"}`, status: 201})
	a.json(t, &hook)
	if hook.ID == "" || len(hook.Secret) != 64 || a.header.Get("Location") != "/api/v1/webhooks/"+hook.ID {
		t.Errorf("created webhook: %s, Location %q", a.body, a.header.Get("Location"))
	}
	do(apiCall{method: "POST", path: "/api/v1/webhooks", token: h.Steward, contentType: appJSON, body: `{"url":"https://10.0.0.8/tj"}`, status: 400})
	do(apiCall{method: "POST", path: "/api/v1/webhooks", token: h.Steward, contentType: appJSON, body: `{"link":"x"}`, status: 400, breaks: true})
	do(apiCall{method: "POST", path: "/api/v1/webhooks", token: h.Consumer, contentType: appJSON, body: `{"url":"https://hooks.example.gov.cn/bj"}`, status: 403})
	a = do(apiCall{method: "GET", path: "/api/v1/webhooks", token: h.Steward, status: 200})
	if strings.Contains(string(a.body), hook.Secret) {
		t.Errorf("the webhook list shows the secret")
	}
	do(apiCall{method: "GET", path: "/api/v1/webhooks", token: h.Consumer, status: 403})
	do(apiCall{method: "DELETE", path: "/api/v1/webhooks/" + hook.ID, token: bjSteward, status: 404})
	do(apiCall{method: "DELETE", path: "/api/v1/webhooks/" + hook.ID, token: h.Consumer, status: 403})
	do(apiCall{method: "DELETE", path: "/api/v1/webhooks/" + hook.ID, token: h.Steward, status: 204})
}

// TestSupervisionEndToEnd: a consumer's key probes masked identity
// numbers through real governed reads; the running supervisor raises an
// alert with the reads as evidence; the provider's steward sees it and
// suspends the agreement; the consumer's very next read is refused with
// the reason; resuming serves it again. Every step is in the journal.
func TestSupervisionEndToEnd(t *testing.T) {
	h := hubtest.New(t, nil)
	raw := &hub{srv: h.Server, url: h.URL, admin: h.Admin, steward: h.Steward, consume: h.Consumer, tj: h.TJ, bj: h.BJ, hb: h.HB}
	ctx, cancel := context.WithCancel(context.Background())
	sup := &supervision.Supervisor{Journal: h.Journal, Recorder: h.Alerts, Detector: supervision.NewDetector(supervision.DefaultRules(), nil), Poll: 50 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("supervisor: %v", err)
		}
	})

	if st, b := raw.json(t, "POST", "/api/v1/resources", h.Steward, insuredJSON(h.TJ.ID)); st != 201 {
		t.Fatalf("publish: %d %s", st, b)
	}
	ids := make([]string, 50)
	var csv strings.Builder
	csv.WriteString("姓名,公民身份号码\n")
	for i := range ids {
		ids[i] = storetest.CitizenID(t, fmt.Sprintf("1201011990%02d%02d%03d", 1+i/28, 1+i%28, i))
		csv.WriteString("张三," + ids[i] + "\n")
	}
	if st, b, _ := raw.call(t, "POST", "/api/v1/resources/120000-TJYB-03/rows", h.Steward, "text/csv", strings.NewReader(csv.String())); st != 200 {
		t.Fatalf("rows: %d %s", st, b)
	}
	var req struct{ ID string }
	st, b := raw.json(t, "POST", "/api/v1/requests", h.Consumer, map[string]any{"resource": "120000-TJYB-03", "fields": []string{"姓名", "公民身份号码"},
		"purpose": "异地就医直接结算", "legal_basis": "《关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知》", "valid_until": "2099-06-30"})
	if st != 201 {
		t.Fatalf("request: %d %s", st, b)
	}
	json.Unmarshal(b, &req)
	if st, b := raw.json(t, "POST", "/api/v1/requests/"+req.ID+"/approve", h.Steward, nil); st != 200 {
		t.Fatalf("approve: %d %s", st, b)
	}
	var key struct{ Key string }
	st, b = raw.json(t, "POST", "/api/v1/credentials", h.Consumer, map[string]string{"name": "核验系统"})
	if st != 201 {
		t.Fatalf("key: %d %s", st, b)
	}
	json.Unmarshal(b, &key)

	read := func(id string) (int, []byte) {
		t.Helper()
		r, _ := http.NewRequest("GET", h.URL+"/api/v1/resources/120000-TJYB-03/records?fields="+url.QueryEscape("姓名")+"&filter="+url.QueryEscape("公民身份号码:eq:"+id), nil)
		r.Header.Set("Authorization", "Bearer "+key.Key)
		r.Header.Set("Hutong-Purpose", url.PathEscape("异地就医直接结算"))
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	for _, id := range ids[:45] { // 45 masked probes: past the 40 in ten minutes
		if st, b := read(id); st != 200 {
			t.Fatalf("probe: %d %s", st, b)
		}
	}

	// The provider's steward sees the alert.
	var list struct {
		Items []hutong.Alert `json:"items"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(list.Items) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no alert within 10 s of the probes")
		}
		time.Sleep(50 * time.Millisecond)
		st, b := raw.json(t, "GET", "/api/v1/alerts?status=open", h.Steward, nil)
		if st != 200 {
			t.Fatalf("alerts: %d %s", st, b)
		}
		json.Unmarshal(b, &list)
	}
	al := list.Items[0]
	if al.Kind != hutong.AlertProbing || al.Provider != h.TJ.ID || al.Consumer != h.BJ.ID || al.Resource != "120000-TJYB-03" || len(al.Evidence) < 15 {
		t.Fatalf("alert %+v", al)
	}
	entries, err := h.Journal.Entries(context.Background(), al.Evidence[0], 1)
	if err != nil || len(entries) != 1 || !strings.Contains(string(entries[0].Data), `"kind":"exchange.read"`) || !strings.Contains(string(entries[0].Data), `"probes":1`) {
		t.Fatalf("evidence %d is %v (%v), want a read with a masked probe", al.Evidence[0], entries, err)
	}
	// The consumer's user sees no alerts (not a steward), the consumer's
	// key cannot call the API for people.
	if st, b := raw.json(t, "GET", "/api/v1/alerts", h.Consumer, nil); st != 200 || strings.Contains(string(b), al.ID) {
		t.Fatalf("consumer's list: %d %s", st, b)
	}

	// Suspend: the very next read is refused with the reason.
	if st, b := raw.json(t, "POST", "/api/v1/alerts/"+al.ID+"/suspend", h.Steward, map[string]string{"reason": "暂停待查"}); st != 200 {
		t.Fatalf("suspend: %d %s", st, b)
	}
	st, b = read(ids[0])
	wantError(t, st, b, 403, hutong.EFORBIDDEN)
	if !strings.Contains(string(b), "suspended") || !strings.Contains(string(b), "暂停待查") {
		t.Errorf("refusal %s does not name the suspension", b)
	}
	if st, b := raw.json(t, "POST", "/api/v1/alerts/"+al.ID+"/resume", h.Steward, map[string]string{"note": "已核实"}); st != 200 {
		t.Fatalf("resume: %d %s", st, b)
	}
	if st, b := read(ids[0]); st != 200 {
		t.Fatalf("after resume: %d %s", st, b)
	}

	// Every alert and action is an audited act.
	fctx, fcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer fcancel()
	if err := h.Journal.FlushOutbox(fctx); err != nil {
		t.Fatal(err)
	}
	all, err := h.Journal.Entries(context.Background(), 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, e := range all {
		text.Write(e.Data)
	}
	for _, kind := range []string{hutong.AuditAlertOpen, hutong.AuditSuspend, hutong.AuditResume} {
		if !strings.Contains(text.String(), `"kind":"`+kind+`"`) {
			t.Errorf("the journal holds no %s entry", kind)
		}
	}
}

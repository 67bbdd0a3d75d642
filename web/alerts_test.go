package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/internal/formclient"
	"github.com/hutong/hutong/internal/hubtest"
	"github.com/hutong/hutong/storetest"
)

// TestAlertsPage: the provider's steward sees an alert with its evidence
// and the count in the header, acknowledges it, suspends the agreement
// from the page (the consumer's next read is refused), resumes it and
// resolves the alert; a resolution without a note shows the page again
// with the message; a consumer sees no alerts page.
func TestAlertsPage(t *testing.T) {
	h := hubtest.New(t, nil)
	ctx := context.Background()
	res := storetest.InsuredResource("120000-TJYB-03", h.TJ.ID)
	if err := h.Server.Catalog.PublishResource(storetest.Admin(ctx), res); err != nil {
		t.Fatal(err)
	}
	consumer := storetest.As(ctx, h.BJ.ID, hutong.RoleConsumer)
	req, err := h.Server.Requests.CreateRequest(consumer, &hutong.RequestInput{Resource: res.Code, Fields: []string{"姓名"},
		Purpose: "异地就医直接结算", LegalBasis: "《社会保险法》", ValidUntil: "2099-12-31"})
	if err != nil {
		t.Fatal(err)
	}
	if req, err = h.Server.Requests.Approve(storetest.As(ctx, h.TJ.ID, hutong.RoleSteward), req.ID, hutong.Narrowing{}); err != nil {
		t.Fatal(err)
	}
	key := hutong.NewContextWithActor(ctx, &hutong.Actor{Credential: &hutong.Credential{ID: "k1", Department: h.BJ.ID}})
	read := func() error {
		_, err := h.Server.Exchange.Records(key, hutong.RecordQuery{Resource: res.Code, Purpose: "异地就医直接结算", Fields: []string{"姓名"}, Limit: 1})
		return err
	}
	if err := read(); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	al := &hutong.Alert{Kind: hutong.AlertOffHours, Severity: hutong.SeverityHigh, Score: 1, Agreement: req.AgreementID, Consumer: h.BJ.ID,
		Provider: h.TJ.ID, Resource: res.Code, Evidence: []uint64{3, 4, 5, 6}, Explanation: "an export at 02:13 on a working day",
		Params: map[string]string{"what": "export", "hour": "2"}, FirstAt: now, DetectedAt: now}
	if err := h.Alerts.Raise(ctx, []*hutong.Alert{al}, 0); err != nil {
		t.Fatal(err)
	}

	b := formclient.New(t, h.URL)
	signIn(b, "tjyb-steward", "password-1")
	resp, page := b.Do("GET", "/alerts", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `id="alert-`+al.ID+`"`) || !strings.Contains(page, "非工作时段批量获取") ||
		!strings.Contains(page, `href="/proof?index=3"`) || !strings.Contains(page, "在使用方不常调用的时段（2 时）导出整个资源") || !strings.Contains(page, `id="alert-count"`) || !strings.Contains(page, "1 条待处理告警") {
		t.Fatalf("alerts page: %d %s", resp.StatusCode, page)
	}
	csrf := formclient.CSRF(t, page)
	post := func(action, note string) (*http.Response, string) {
		t.Helper()
		return b.Do("POST", "/alerts/"+al.ID+"/"+action, url.Values{"csrf": {csrf}, "note": {note}}, nil)
	}
	if resp, _ := post("ack", ""); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ack: %d", resp.StatusCode)
	}
	if resp, body := post("resolve", " "); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "note is required") {
		t.Fatalf("resolve without a note: %d", resp.StatusCode)
	}
	if resp, _ := post("suspend", "暂停待查"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/alerts?done=suspend&id="+al.ID {
		t.Fatalf("suspend: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if err := read(); hutong.ErrorCode(err) != hutong.EFORBIDDEN || !strings.Contains(err.Error(), "暂停待查") {
		t.Fatalf("the consumer's next read: %v, want forbidden with the reason", err)
	}
	_, page = b.Do("GET", "/alerts?done=suspend&id="+al.ID, nil, nil)
	if !strings.Contains(page, "已暂停") || !strings.Contains(page, `class="resume"`) {
		t.Errorf("after suspending, the page shows no suspension or no resume button")
	}
	if resp, body := post("suspend", ""); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "already suspended") {
		t.Errorf("second suspension: %d", resp.StatusCode)
	}
	if resp, _ := post("resume", "已核实"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("resume: %d", resp.StatusCode)
	}
	if err := read(); err != nil {
		t.Fatalf("after resume: %v", err)
	}
	if resp, _ := post("resolve", "已核实，系统迁移"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve: %d", resp.StatusCode)
	}
	_, page = b.Do("GET", "/alerts?status=resolved&lang=en", nil, nil)
	if !strings.Contains(page, "Off-hours pull") || !strings.Contains(page, "Resolved") || !strings.Contains(page, "an export at 02:13") || strings.Contains(page, `id="alert-count"`) {
		t.Errorf("English, resolved: %s", page)
	}

	c := formclient.New(t, h.URL)
	signIn(c, "bjsj-consumer", "password-1")
	_, page = c.Do("GET", "/catalog", nil, nil)
	if strings.Contains(page, `href="/alerts"`) {
		t.Errorf("a consumer's navigation links the alerts page")
	}
	if _, page = c.Do("GET", "/alerts", nil, nil); strings.Contains(page, al.ID) {
		t.Errorf("a consumer sees alert %s", al.ID)
	}
}

package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/internal/hubtest"
	"github.com/hutong/hutong/storetest"
)

func init() {
	// Uploads are files: the schemas say binary, the hub sniffs them.
	for _, ct := range []string{"application/pdf", "image/png", "image/jpeg"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

// serviceCalls drives the API of cross-province services for
// TestOpenAPIAnswers: a service needing two pieces of Tianjin evidence,
// decided in Beijing, filed by an applicant who confirms one piece and
// withdraws the other, and decided by the handling officer; with each
// documented refusal. gate is the journal's gate to restore after the
// ledger-down call.
func serviceCalls(t *testing.T, dc *docCheck, h *hubtest.Hub, gate func() error) {
	t.Helper()
	do := func(c apiCall) answer { t.Helper(); return dc.do(t, c) }
	const appJSON = "application/json"
	ctx := context.Background()
	admin := storetest.Admin(ctx)
	people := []string{storetest.CitizenID(t, "12010119800101001"), storetest.CitizenID(t, "12010119800101002")}
	var evidence []hutong.EvidenceType
	for i, code := range []string{"120000-TJYB-41", "120000-TJYB-42"} {
		if err := h.Server.Catalog.PublishResource(admin, storetest.InsuredResource(code, h.TJ.ID)); err != nil {
			t.Fatal(err)
		}
		var rows []map[string]string
		for _, id := range people {
			rows = append(rows, map[string]string{"姓名": "王五", "公民身份号码": id, "参保日期": "2020-01-01"})
		}
		if _, err := h.Server.Rows.ImportRows(admin, code, storetest.Rows(rows...), hutong.ImportReplace); err != nil {
			t.Fatal(err)
		}
		evidence = append(evidence, hutong.EvidenceType{Type: fmt.Sprintf("insured_%d", i+1), Providers: []hutong.EvidenceProvider{
			{Region: "120000", Resource: code, Fields: []string{"姓名", "公民身份号码", "参保日期"}, Subject: "公民身份号码"}}})
	}
	svc := &hutong.Service{Code: "T-001", Name: "异地就医备案", NameEn: "Medical treatment elsewhere", Regions: []string{"120000", "110000"},
		Receiving: h.BJ.ID, Handling: h.BJ.ID, ApplicantKind: hutong.IDPerson, Evidence: evidence, TimeLimitDays: 5,
		LegalBasis: "医保发〔2022〕22号", PreviewRequired: true}
	if err := h.Services.PutService(admin, svc); err != nil {
		t.Fatal(err)
	}
	user := func(login, dept string, role hutong.Role) (context.Context, string) {
		t.Helper()
		u := &hutong.User{Login: login, Name: login, Department: dept, Roles: []hutong.Role{role}}
		if err := h.Server.Auth.CreateUser(admin, u, ""); err != nil {
			t.Fatal(err)
		}
		tok, err := h.Server.Auth.IssueToken(ctx, u.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return hutong.NewContextWithActor(ctx, &hutong.Actor{User: u}), tok
	}
	bjConsumer, _ := user("svc-bj-consumer", h.BJ.ID, hutong.RoleConsumer)
	tjSteward, _ := user("svc-tj-steward", h.TJ.ID, hutong.RoleSteward)
	for _, in := range svc.StandingRequests("2027-12-31") {
		req, err := h.Server.Requests.CreateRequest(bjConsumer, &in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Server.Requests.Approve(tjSteward, req.ID, hutong.StandingNarrowing); err != nil {
			t.Fatal(err)
		}
	}
	_, applicant := user("svc-applicant", "", hutong.RoleApplicant)
	_, other := user("svc-other", "", hutong.RoleApplicant)
	_, window := user("svc-window", h.BJ.ID, hutong.RoleWindowOfficer)
	_, officer := user("svc-officer", h.BJ.ID, hutong.RoleHandlingOfficer)
	for i, login := range []string{"svc-applicant", "svc-other"} {
		if err := h.Services.PutApplicant(admin, login, hutong.Applicant{Kind: hutong.IDPerson, Number: people[i], Region: "120000"}); err != nil {
			t.Fatal(err)
		}
	}

	do(apiCall{method: "GET", path: "/api/v1/services", token: h.Consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/services/T-001", token: h.Consumer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/services/NOPE", token: h.Consumer, status: 404})

	var app hutong.Application
	do(apiCall{method: "POST", path: "/api/v1/applications", token: applicant, contentType: appJSON, body: `{"service":"T-001"}`, status: 201}).json(t, &app)
	if app.Status != hutong.AppAwaitingConfirmation || len(app.Evidence) != 2 || app.Evidence[0].Rows != 1 || app.Evidence[0].Receipt == nil {
		t.Fatalf("the application: %+v", app)
	}
	if app.Evidence[0].Records[0]["公民身份号码"] != people[0][:6]+"********"+people[0][14:] {
		t.Errorf("the applicant's evidence holds %v", app.Evidence[0].Records)
	}
	do(apiCall{method: "POST", path: "/api/v1/applications", token: applicant, contentType: appJSON, body: `{"service":"NOPE"}`, status: 400})
	do(apiCall{method: "POST", path: "/api/v1/applications", token: applicant, contentType: appJSON, body: `{"service":5}`, status: 400, breaks: true})
	do(apiCall{method: "POST", path: "/api/v1/applications", token: h.Consumer, contentType: appJSON, body: `{"service":"T-001"}`, status: 403})
	do(apiCall{method: "POST", path: "/api/v1/applications", token: window, contentType: appJSON,
		body: `{"service":"T-001","applicant":{"id_kind":"citizen_id","id_number":"120101198001010010"}}`, status: 400})
	h.Journal.SetGate(func() error { return errors.New("test: the ledger is down") })
	do(apiCall{method: "POST", path: "/api/v1/applications", token: applicant, contentType: appJSON, body: `{"service":"T-001"}`, status: 503})
	h.Journal.SetGate(gate)

	id := "/api/v1/applications/" + app.ID
	// A file in place of evidence: a PDF, kept with the application.
	pdf := "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
	var withFile hutong.Application
	do(apiCall{method: "POST", path: id + "/uploads?name=" + url.QueryEscape("诊断证明.pdf"), token: applicant, contentType: "application/pdf", body: pdf, status: 201}).json(t, &withFile)
	if len(withFile.Uploads) != 1 || withFile.Uploads[0].ContentType != "application/pdf" || withFile.Uploads[0].Name != "诊断证明.pdf" {
		t.Errorf("uploads: %+v", withFile.Uploads)
	}
	do(apiCall{method: "POST", path: id + "/uploads", token: applicant, contentType: "image/png", body: "not an image", status: 400})
	do(apiCall{method: "POST", path: id + "/uploads", token: officer, contentType: "application/pdf", body: pdf, status: 403})
	do(apiCall{method: "POST", path: id + "/uploads", token: other, contentType: "application/pdf", body: pdf, status: 404})
	if a := do(apiCall{method: "GET", path: id + "/uploads/1", token: applicant, status: 200}); string(a.body) != pdf {
		t.Errorf("the upload's bytes: %q", a.body)
	}
	do(apiCall{method: "GET", path: id + "/uploads/1", token: officer, status: 404}) // not before submission
	do(apiCall{method: "GET", path: id + "/uploads/x", token: applicant, status: 400})
	do(apiCall{method: "GET", path: "/api/v1/applications", token: applicant, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/applications?status=lost", token: applicant, status: 400, breaks: true})
	do(apiCall{method: "GET", path: "/api/v1/applications?overdue=true", token: officer, status: 200})
	do(apiCall{method: "GET", path: "/api/v1/applications", token: h.Consumer, status: 403})
	do(apiCall{method: "GET", path: id, token: applicant, status: 200})
	do(apiCall{method: "GET", path: id, token: other, status: 404})
	var seen hutong.Application
	do(apiCall{method: "GET", path: id, token: officer, status: 200}).json(t, &seen)
	if seen.Evidence[0].Records != nil || seen.Evidence[1].Records != nil {
		t.Error("the officer sees evidence before confirmation")
	}
	do(apiCall{method: "POST", path: id + "/decision", token: officer, contentType: appJSON, body: `{"decision":"approve"}`, status: 409})

	for _, verb := range []string{"confirm", "withdraw"} {
		do(apiCall{method: "POST", path: id + "/evidence/x/" + verb, token: applicant, status: 400})
		do(apiCall{method: "POST", path: id + "/evidence/1/" + verb, token: officer, status: 403})
		do(apiCall{method: "POST", path: id + "/evidence/1/" + verb, token: other, status: 404})
	}
	do(apiCall{method: "POST", path: id + "/evidence/1/confirm", token: applicant, status: 200})
	do(apiCall{method: "POST", path: id + "/evidence/1/confirm", token: applicant, status: 409})
	do(apiCall{method: "POST", path: id + "/evidence/2/withdraw", token: applicant, status: 200}).json(t, &app)
	do(apiCall{method: "POST", path: id + "/evidence/2/withdraw", token: applicant, status: 409})
	if app.Status != hutong.AppSubmitted || app.ReplyBy == "" {
		t.Fatalf("after the applicant's choices: %s, due %q; want submitted with a due date", app.Status, app.ReplyBy)
	}
	do(apiCall{method: "GET", path: id, token: officer, status: 200}).json(t, &seen)
	if len(seen.Evidence[0].Records) != 1 || seen.Evidence[1].Records != nil {
		t.Errorf("the officer sees %v and %v; want the confirmed piece only", seen.Evidence[0].Records, seen.Evidence[1].Records)
	}

	do(apiCall{method: "GET", path: id + "/uploads/1", token: officer, status: 200})
	do(apiCall{method: "POST", path: id + "/uploads", token: applicant, contentType: "application/pdf", body: pdf, status: 409})
	do(apiCall{method: "POST", path: id + "/decision", token: window, contentType: appJSON, body: `{"decision":"approve"}`, status: 403})
	do(apiCall{method: "POST", path: id + "/decision", token: other, contentType: appJSON, body: `{"decision":"approve"}`, status: 404})
	do(apiCall{method: "POST", path: id + "/decision", token: officer, contentType: appJSON, body: `{"decision":"maybe"}`, status: 400, breaks: true})
	do(apiCall{method: "POST", path: id + "/decision", token: officer, contentType: appJSON, body: `{"decision":"refuse"}`, status: 400})
	var done hutong.Application
	do(apiCall{method: "POST", path: id + "/decision", token: officer, contentType: appJSON, body: `{"decision":"approve","reason":"材料齐全"}`, status: 200}).json(t, &done)
	do(apiCall{method: "POST", path: id + "/decision", token: officer, contentType: appJSON, body: `{"decision":"approve"}`, status: 409})
	var uses struct{ Items []hutong.DataUse }
	do(apiCall{method: "GET", path: "/api/v1/me/data-uses", token: applicant, status: 200}).json(t, &uses)
	if len(uses.Items) != 2 || uses.Items[0].Department != h.BJ.ID || uses.Items[0].Purpose != svc.Purpose() {
		t.Errorf("the applicant's data uses: %+v; want the two fetches", uses.Items)
	}
	do(apiCall{method: "GET", path: "/api/v1/me/data-uses", token: officer, status: 403})
	var mine hutong.Application
	b, _ := json.Marshal(done)
	do(apiCall{method: "GET", path: id, token: applicant, status: 200}).json(t, &mine)
	if done.Status != hutong.AppApproved || mine.Status != hutong.AppApproved || mine.Reason != "材料齐全" {
		t.Errorf("decided: %s; the applicant sees %s", b, mine.Status)
	}
}

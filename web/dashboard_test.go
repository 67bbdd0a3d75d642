package web_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
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

// signIn signs in b through the form and returns a CSRF token of the session.
func signIn(b *formclient.Client, login, password string) string {
	b.T.Helper()
	_, page := b.Do("GET", "/login", nil, nil)
	resp, _ := b.Do("POST", "/login", url.Values{"csrf": {formclient.CSRF(b.T, page)}, "login": {login}, "password": {password}, "next": {"/catalog"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/catalog" {
		b.T.Fatalf("sign in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "hutong_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/" {
		b.T.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", session)
	}
	_, page = b.Do("GET", "/catalog", nil, nil)
	return formclient.CSRF(b.T, page)
}

func TestDashboardPages(t *testing.T) {
	h := newHub(t)
	b := formclient.New(t, h.url)

	// Signed out: pages go to the sign-in page; the API keeps its JSON.
	resp, _ := b.Do("GET", "/catalog?q=x", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fcatalog%3Fq%3Dx" {
		t.Errorf("signed out /catalog: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := b.Do("GET", "/api/v1/nothing", nil, nil)
	if resp.StatusCode != 404 || !strings.Contains(body, `"code":"not_found"`) {
		t.Errorf("API 404: %d %s", resp.StatusCode, body)
	}
	resp, body = b.Do("GET", "/login", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "登录") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("sign-in page: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}

	// A forged sign-in form and a wrong password show the form again.
	resp, body = b.Do("POST", "/login", url.Values{"csrf": {"forged"}, "login": {"tjyb-steward"}, "password": {"password-1"}}, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `id="login-form"`) {
		t.Errorf("forged sign-in: %d", resp.StatusCode)
	}
	_, page := b.Do("GET", "/login", nil, nil)
	resp, body = b.Do("POST", "/login", url.Values{"csrf": {formclient.CSRF(t, page)}, "login": {"tjyb-steward"}, "password": {"wrong"}}, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "用户名或密码错误") || !strings.Contains(body, `value="tjyb-steward"`) {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}

	csrf := signIn(b, "bjsj-consumer", "password-1")

	// Pages render; a hub without statistics, air quality or ledger says so.
	for _, p := range []string{"/", "/catalog", "/requests", "/agreements", "/feedback", "/proof", "/environment"} {
		resp, body := b.Do("GET", p, nil, nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %s", p, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if p == "/environment" || p == "/proof" {
			if !strings.Contains(body, "此功能在本平台未启用") {
				t.Errorf("%s without its service does not say it is unavailable", p)
			}
		}
	}

	// A POST without the CSRF token is refused; with it, it works.
	resp, body = b.Do("POST", "/keys", url.Values{"name": {"系统"}}, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "表单已过期") {
		t.Errorf("key without CSRF: %d", resp.StatusCode)
	}
	resp, _ = b.Do("POST", "/keys", url.Values{"name": {"系统"}, "csrf": {csrf}}, map[string]string{"Origin": "http://evil.example"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("key from another origin: %d", resp.StatusCode)
	}
	resp, body = b.Do("POST", "/keys", url.Values{"name": {"系统"}}, map[string]string{"X-CSRF-Token": csrf, "HX-Request": "true"})
	if resp.StatusCode != 200 || !strings.Contains(body, `id="new-key">htk_`) || strings.Contains(body, "<html") {
		t.Errorf("key with CSRF (htmx): %d %.300s", resp.StatusCode, body)
	}
	// Invalid input: the form again with the message, not a 500.
	resp, body = b.Do("POST", "/keys", url.Values{"name": {" "}, "csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "请填写密钥名称") {
		t.Errorf("empty key name: %d", resp.StatusCode)
	}
	resp, body = b.Do("GET", "/environment?from=yesterday", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "此功能在本平台未启用") {
		t.Errorf("environment without the service: %d", resp.StatusCode)
	}
	resp, body = b.Do("GET", "/catalog?level=9", nil, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "level") || !strings.Contains(body, "<html") {
		t.Errorf("bad level: %d", resp.StatusCode)
	}

	// Not found and wrong methods are pages too.
	resp, body = b.Do("GET", "/nowhere", nil, nil)
	if resp.StatusCode != 404 || !strings.Contains(body, "没有这个页面") {
		t.Errorf("404 page: %d", resp.StatusCode)
	}
	resp, _ = b.Do("GET", "/catalog/NO-SUCH-CODE", nil, nil)
	if resp.StatusCode != 404 {
		t.Errorf("unknown resource: %d", resp.StatusCode)
	}
	resp, _ = b.Do("DELETE", "/catalog", nil, nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
		t.Errorf("DELETE /catalog: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}

	// English on request, remembered.
	_, body = b.Do("GET", "/catalog?lang=en", nil, nil)
	if !strings.Contains(body, "Government information resource catalog") {
		t.Errorf("?lang=en did not switch the page")
	}
	_, body = b.Do("GET", "/agreements", nil, nil)
	if !strings.Contains(body, "<h1>Agreements</h1>") {
		t.Errorf("the language is not remembered")
	}

	// Signing out revokes the session, not only this browser's cookie: the
	// token no longer works anywhere.
	u, _ := url.Parse(h.url)
	var token string
	for _, c := range b.C.Jar.Cookies(u) {
		if c.Name == "hutong_session" {
			token = c.Value
		}
	}
	if status := apiStatus(t, h.url+"/api/v1/me", token); status != http.StatusOK {
		t.Fatalf("the session's token before signing out: %d", status)
	}
	resp, _ = b.Do("POST", "/logout", url.Values{"csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign out: %d", resp.StatusCode)
	}
	resp, _ = b.Do("GET", "/", nil, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after signing out: %d", resp.StatusCode)
	}
	if status := apiStatus(t, h.url+"/api/v1/me", token); status != http.StatusUnauthorized {
		t.Errorf("the session's token after signing out: %d, want 401", status)
	}
}

// apiStatus calls the API with a bearer token and returns the status.
func apiStatus(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSignInStaysOnSite: a sign-in's next never sends the browser to
// another site (Chromium followed /%09/evil.example off-site).
func TestSignInStaysOnSite(t *testing.T) {
	h := newHub(t)
	for _, next := range []string{"/%09/evil.example", "/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example"} {
		b := formclient.New(t, h.url)
		_, page := b.Do("GET", "/login?next="+url.QueryEscape(next), nil, nil)
		resp, _ := b.Do("POST", "/login", url.Values{"csrf": {formclient.CSRF(t, page)}, "login": {"bjsj-consumer"}, "password": {"password-1"}, "next": {next}}, nil)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/" {
			t.Errorf("next %q: %d to %q, want 303 to /", next, resp.StatusCode, loc)
		}
		// Signed in, the sign-in page sends on to next the same way.
		resp, _ = b.Do("GET", "/login?next="+url.QueryEscape(next), nil, nil)
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("signed in, next %q: to %q, want /", next, loc)
		}
	}
}

// TestDashboardRoles checks that a page shows only what a role may do.
func TestDashboardRoles(t *testing.T) {
	h := newHub(t)
	consumer := formclient.New(t, h.url)
	signIn(consumer, "bjsj-consumer", "password-1")
	_, body := consumer.Do("GET", "/requests", nil, nil)
	if strings.Contains(body, `id="box-inbox"`) || !strings.Contains(body, `id="box-outbox"`) {
		t.Errorf("a consumer sees the inbox tab, or not the outbox")
	}
	steward := formclient.New(t, h.url)
	signIn(steward, "tjyb-steward", "password-1")
	_, body = steward.Do("GET", "/requests", nil, nil)
	if !strings.Contains(body, `id="box-inbox"`) {
		t.Errorf("a steward does not see the inbox tab")
	}
	admin := formclient.New(t, h.url)
	signIn(admin, "admin", "password-1")
	_, body = admin.Do("GET", "/agreements", nil, nil)
	if strings.Contains(body, `id="keys"`) {
		t.Errorf("a platform admin, who has no department, is offered keys")
	}
}

func TestContributionsPage(t *testing.T) {
	h := hubtest.New(t, nil)
	if err := h.Server.Catalog.PublishResource(storetest.Admin(context.Background()), storetest.InsuredResource("120000-TJYB-03", h.TJ.ID)); err != nil {
		t.Fatal(err)
	}
	b := formclient.New(t, h.URL)
	signIn(b, "tjyb-steward", "password-1")
	resp, body := b.Do("GET", "/contributions", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `data-department="`+h.TJ.ID+`"`) || !strings.Contains(body, "score = 30") {
		t.Fatalf("contributions page: %d %.500s", resp.StatusCode, body)
	}
	month := time.Now().In(hutong.ChinaTime).Format("2006-01")
	resp, body = b.Do("GET", "/contributions/"+h.TJ.ID+"/statement?format=csv&month="+month, nil, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "\uFEFFfigure,指标,label,value,ledger_entries") ||
		!strings.Contains(body, "resources,已发布资源数,Resources published,1,/api/v1/ledger/entries?department="+h.TJ.ID) {
		t.Errorf("CSV statement: %d %q", resp.StatusCode, body)
	}
	resp, body = b.Do("GET", "/contributions/"+h.TJ.ID+"/statement?format=xlsx", nil, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "PK") || !strings.Contains(resp.Header.Get("Content-Disposition"), ".xlsx") {
		t.Errorf("XLSX statement: %d %s", resp.StatusCode, resp.Header)
	}
	for path, want := range map[string]int{
		"/contributions?month=2026-13":                                http.StatusUnprocessableEntity,
		"/contributions/" + h.TJ.ID + "/statement?format=pdf":         http.StatusBadRequest,
		"/contributions/" + h.HB.ID + "/statement?format=csv":         http.StatusForbidden,
		"/contributions/" + h.TJ.ID + "/statement?format=csv&month=x": http.StatusBadRequest,
	} {
		if resp, body := b.Do("GET", path, nil, nil); resp.StatusCode != want || !strings.Contains(body, "<html") {
			t.Errorf("GET %s: %d, want %d as a page", path, resp.StatusCode, want)
		}
	}
}

func TestRemind(t *testing.T) {
	h := hubtest.New(t, nil)
	ctx := context.Background()
	if err := h.Server.Catalog.PublishResource(storetest.Admin(ctx), storetest.InsuredResource("120000-TJYB-03", h.TJ.ID)); err != nil {
		t.Fatal(err)
	}
	consumer := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "bjsj-consumer", Department: h.BJ.ID, Roles: []hutong.Role{hutong.RoleConsumer}}})
	req, err := h.Server.Requests.CreateRequest(consumer, &hutong.RequestInput{Resource: "120000-TJYB-03", Fields: []string{"姓名"},
		Purpose: "异地就医直接结算", LegalBasis: "国家医保局通知", ValidUntil: "2027-06-30"})
	if err != nil || req.Status != hutong.RequestPending {
		t.Fatalf("CreateRequest = %+v, %v", req, err)
	}
	b := formclient.New(t, h.URL)
	csrf := signIn(b, "bjsj-consumer", "password-1")
	if _, body := b.Do("GET", "/requests?box=outbox", nil, nil); !strings.Contains(body, `id="remind-`+req.ID+`"`) {
		t.Fatalf("the outbox offers no reminder for the pending request")
	}
	htmx := map[string]string{"X-CSRF-Token": csrf, "HX-Request": "true"}
	resp, body := b.Do("POST", "/requests/"+req.ID+"/remind", url.Values{}, htmx)
	if resp.StatusCode != 200 || !strings.Contains(body, "已催办申请") {
		t.Errorf("remind: %d %.300s", resp.StatusCode, body)
	}
	resp, body = b.Do("POST", "/requests/"+req.ID+"/remind", url.Values{}, htmx)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "once a working day") {
		t.Errorf("second reminder the same day: %d %.300s", resp.StatusCode, body)
	}
	s := formclient.New(t, h.URL)
	signIn(s, "tjyb-steward", "password-1")
	if _, body := s.Do("GET", "/requests?box=inbox", nil, nil); !strings.Contains(body, "催办共享申请 "+req.ID) || strings.Contains(body, `id="remind-`) {
		t.Errorf("the provider's steward sees no reminder, or is offered one: %.2000s", body)
	}
}

func TestAgreementPage(t *testing.T) {
	h := hubtest.New(t, nil)
	ctx := context.Background()
	air := storetest.AirResource("130000-HBHJ-05", h.HB.ID)
	if err := h.Server.Catalog.PublishResource(storetest.Admin(ctx), air); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Server.Rows.ImportRows(storetest.Admin(ctx), air.Code, storetest.Rows(
		map[string]string{"监测站点编码": "1001A", "监测时间": "2026-11-02T08:00:00+08:00", "AQI": "75"},
		map[string]string{"监测站点编码": "1002A", "监测时间": "2026-11-02T08:00:00+08:00", "AQI": "120"},
	), hutong.ImportAppend); err != nil {
		t.Fatal(err)
	}
	consumer := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "bjsj-consumer", Department: h.BJ.ID, Roles: []hutong.Role{hutong.RoleConsumer}}})
	req, err := h.Server.Requests.CreateRequest(consumer, &hutong.RequestInput{Resource: air.Code, Fields: []string{"监测站点编码", "AQI"},
		Purpose: "京津冀大气污染联防联控", LegalBasis: "大气污染防治法", ValidUntil: "2027-06-30"})
	if err != nil || req.AgreementID == "" {
		t.Fatalf("CreateRequest = %+v, %v", req, err)
	}
	b := formclient.New(t, h.URL)
	signIn(b, "bjsj-consumer", "password-1")
	page := "/agreements/" + req.AgreementID
	if resp, body := b.Do("GET", page, nil, nil); resp.StatusCode != 200 || !strings.Contains(body, `id="curl-line"`) || !strings.Contains(body, "permit") {
		t.Fatalf("agreement page: %d %.500s", resp.StatusCode, body)
	}
	resp, body := b.Do("GET", page+"/preview", nil, map[string]string{"HX-Request": "true"})
	if resp.StatusCode != 200 || !strings.Contains(body, "<td>1002A</td>") || !strings.Contains(body, "/proof?index=") || strings.Contains(body, "<html") {
		t.Errorf("preview: %d %.500s", resp.StatusCode, body)
	}
	resp, body = b.Do("GET", page+"/export?format=csv", nil, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Hutong-Receipt"), "origin=") || !strings.Contains(body, "监测站点编码,AQI") || !strings.Contains(body, "1002A,120") {
		t.Errorf("export: %d %s %q", resp.StatusCode, resp.Header.Get("Hutong-Receipt"), body)
	}
	if resp, _ := b.Do("GET", page+"/export?format=pdf", nil, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("export as pdf: %d", resp.StatusCode)
	}
	// Not a party: the agreement is not theirs to see, preview or export.
	s := formclient.New(t, h.URL)
	signIn(s, "tjyb-steward", "password-1")
	for _, p := range []string{page, page + "/preview", page + "/export?format=csv"} {
		if resp, body := s.Do("GET", p, nil, nil); resp.StatusCode < 400 || strings.Contains(body, "1002A") {
			t.Errorf("GET %s by another department: %d", p, resp.StatusCode)
		}
	}
}

func TestApproveWithMaskingAndLimits(t *testing.T) {
	h := hubtest.New(t, nil)
	ctx := context.Background()
	res := storetest.InsuredResource("120000-TJYB-03", h.TJ.ID)
	res.ShareConditions = "限异地就医结算"
	if err := h.Server.Catalog.PublishResource(storetest.Admin(ctx), res); err != nil {
		t.Fatal(err)
	}
	consumer := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "bjsj-consumer", Department: h.BJ.ID, Roles: []hutong.Role{hutong.RoleConsumer}}})
	req, err := h.Server.Requests.CreateRequest(consumer, &hutong.RequestInput{Resource: res.Code, Fields: []string{"姓名", "公民身份号码"},
		Purpose: "异地就医直接结算", LegalBasis: "国家医保局通知", ValidUntil: "2027-06-30"})
	if err != nil {
		t.Fatal(err)
	}
	b := formclient.New(t, h.URL)
	csrf := signIn(b, "tjyb-steward", "password-1")
	_, body := b.Do("GET", "/requests?box=inbox", nil, nil)
	if !strings.Contains(body, `name="mask:姓名"`) || !strings.Contains(body, "限异地就医结算") {
		t.Fatalf("the inbox card offers no masking or shows no share conditions: %.3000s", body)
	}
	form := url.Values{"csrf": {csrf}, "fields": {"姓名", "公民身份号码"}, "mask:姓名": {"hash"}, "rows_per_day": {"abc"}}
	resp, body := b.Do("POST", "/requests/"+req.ID+"/approve", form, map[string]string{"HX-Request": "true"})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "不是正整数") {
		t.Errorf("rows_per_day=abc: %d %.300s", resp.StatusCode, body)
	}
	form.Set("rows_per_day", "500")
	if resp, _ := b.Do("POST", "/requests/"+req.ID+"/approve", form, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", resp.StatusCode)
	}
	got, err := h.Server.Requests.Request(consumer, req.ID)
	if err != nil || got.AgreementID == "" {
		t.Fatalf("request after approval: %+v, %v", got, err)
	}
	ag, err := h.Server.Requests.Agreement(consumer, got.AgreementID)
	if err != nil || ag.RowsPerDay != 500 || ag.Field("姓名").Masking != hutong.MaskHash || ag.Field("公民身份号码").Masking == hutong.MaskHash {
		t.Errorf("agreement %+v, %v; want 500 rows a day and 姓名 hashed", ag, err)
	}
}

func TestCockpit(t *testing.T) {
	h := hubtest.New(t, nil)
	ctx := context.Background()
	if err := h.Server.Catalog.PublishResource(storetest.Admin(ctx), storetest.InsuredResource("120000-TJYB-03", h.TJ.ID)); err != nil {
		t.Fatal(err)
	}
	consumer := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "bjsj-consumer", Department: h.BJ.ID, Roles: []hutong.Role{hutong.RoleConsumer}}})
	if _, err := h.Server.Requests.CreateRequest(consumer, &hutong.RequestInput{Resource: "120000-TJYB-03", Fields: []string{"姓名"},
		Purpose: "异地就医直接结算", LegalBasis: "国家医保局通知", ValidUntil: "2027-06-30"}); err != nil {
		t.Fatal(err)
	}
	s := formclient.New(t, h.URL)
	signIn(s, "tjyb-steward", "password-1")
	resp, body := s.Do("GET", "/cockpit", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `id="kpi-pending">1<`) || !strings.Contains(body, `data-department="`+h.TJ.ID+`"`) {
		t.Errorf("the steward's cockpit: %d %.2000s", resp.StatusCode, body)
	}
	// The platform admin also sees supervision's open alerts and the
	// cross-province applications.
	a := formclient.New(t, h.URL)
	signIn(a, "admin", "password-1")
	if _, body := a.Do("GET", "/cockpit", nil, nil); !strings.Contains(body, `id="kpi-alerts"`) || !strings.Contains(body, `id="kpi-apps"`) {
		t.Errorf("the admin's cockpit has no alerts or applications card")
	}
	if _, body := s.Do("GET", "/cockpit", nil, nil); strings.Contains(body, `id="kpi-apps"`) {
		t.Errorf("a steward, who handles no applications, is shown an applications count")
	}
	// The consumer's department provides nothing: its steward would see
	// no approvals; a consumer has no cockpit in its navigation.
	c := formclient.New(t, h.URL)
	signIn(c, "bjsj-consumer", "password-1")
	if _, body := c.Do("GET", "/", nil, nil); strings.Contains(body, `href="/cockpit"`) {
		t.Errorf("a consumer's navigation offers the cockpit")
	}
}

// upload posts a multipart form whose parts come in the order given, as
// a browser sends a form's fields in document order.
func upload(b *formclient.Client, path string, parts [][3]string) (*http.Response, string) {
	b.T.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, p := range parts { // name, file name ("" for a field), content
		var w io.Writer
		if p[1] == "" {
			w, _ = mw.CreateFormField(p[0])
		} else {
			w, _ = mw.CreateFormFile(p[0], p[1])
		}
		io.WriteString(w, p[2])
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := b.C.Do(req)
	if err != nil {
		b.T.Fatal(err)
	}
	defer resp.Body.Close()
	bs, _ := io.ReadAll(resp.Body)
	return resp, string(bs)
}

func TestImportRowsPage(t *testing.T) {
	h := hubtest.New(t, nil)
	ctx := context.Background()
	air := storetest.AirResource("130000-HBHJ-05", h.HB.ID)
	if err := h.Server.Catalog.PublishResource(storetest.Admin(ctx), air); err != nil {
		t.Fatal(err)
	}
	b := formclient.New(t, h.URL)
	signIn(b, "admin", "password-1")
	_, page := b.Do("GET", "/catalog/"+air.Code, nil, nil)
	if !strings.Contains(page, `id="import-form"`) {
		t.Fatalf("the provider's admin is offered no import")
	}
	csrf := formclient.CSRF(t, page)
	path := "/catalog/" + air.Code + "/rows"
	// Two bad rows: nothing is imported, each is named with its field.
	bad := "监测站点编码,监测时间,AQI\n1001A,2026-11-02T08:00:00+08:00,75\n1002A,yesterday,80\n,2026-11-02T08:00:00+08:00,x\n"
	resp, body := upload(b, path, [][3]string{{"csrf", "", csrf}, {"mode", "", "append"}, {"file", "rows.csv", bad}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="import-violations"`) ||
		!strings.Contains(body, "<td>监测时间</td>") || !strings.Contains(body, "<td>监测站点编码</td>") {
		t.Errorf("bad rows: %d %.3000s", resp.StatusCode, body)
	}
	if r, _ := h.Server.Catalog.Resource(ctx, air.Code); r.Rows != 0 {
		t.Errorf("%d rows stored after a rejected import", r.Rows)
	}
	good := "监测站点编码,监测时间,AQI\n1001A,2026-11-02T08:00:00+08:00,75\n1002A,2026-11-02T09:00:00+08:00,80\n"
	resp, body = upload(b, path, [][3]string{{"csrf", "", csrf}, {"mode", "", "append"}, {"file", "rows.csv", good}})
	if resp.StatusCode != 200 || !strings.Contains(body, `id="import-ok"`) {
		t.Errorf("good rows: %d %.500s", resp.StatusCode, body)
	}
	// The provider's contribution reports its data quality: 6 of 8 cells
	// (PM2.5 empty in both rows).
	if _, body := b.Do("GET", "/contributions", nil, nil); !strings.Contains(body, `<td class="num fill">75%</td>`) {
		t.Errorf("contributions do not show a 75%% fill rate for Hebei")
	}
	// The token must come first; a wrong kind of file is named.
	if resp, _ := upload(b, path, [][3]string{{"file", "rows.csv", good}, {"csrf", "", csrf}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("file before the token: %d, want 403", resp.StatusCode)
	}
	if resp, body := upload(b, path, [][3]string{{"csrf", "", csrf}, {"file", "rows.pdf", "%PDF"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "rows.pdf") {
		t.Errorf("a PDF: %d", resp.StatusCode)
	}
	if resp, _ := upload(b, path, [][3]string{{"csrf", "", "forged"}, {"file", "rows.csv", good}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged token: %d", resp.StatusCode)
	}
	// A consumer is offered nothing and refused.
	c := formclient.New(t, h.URL)
	signIn(c, "bjsj-consumer", "password-1")
	_, page = c.Do("GET", "/catalog/"+air.Code, nil, nil)
	if strings.Contains(page, `id="import-form"`) {
		t.Errorf("a consumer is offered the import")
	}
	if resp, _ := upload(c, path, [][3]string{{"csrf", "", formclient.CSRF(t, page)}, {"file", "rows.csv", good}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a consumer's import: %d, want 403", resp.StatusCode)
	}
}

func TestCatalogImportPage(t *testing.T) {
	h := hubtest.New(t, nil)
	b := formclient.New(t, h.URL)
	signIn(b, "admin", "password-1")
	_, page := b.Do("GET", "/catalog/import", nil, nil)
	csrf := formclient.CSRF(t, page)
	head := "资源代码,资源名称,资源提供方,资源摘要,信息项,共享类型,更新周期\n"
	good := head + "130000-HBHJ-11,河北省交通流量," + h.HB.ID + ",路段小时流量,\"道路编码(road_code);车流量(vehicle_count)\",无条件共享,每小时\n"
	bad := good + "130000-HBHJ-12,河北省车流,nobody,路段,\"道路编码(no_such_element)\",无条件共享,每小时\n"
	resp, body := upload(b, "/catalog/import", [][3]string{{"csrf", "", csrf}, {"file", "sheet.csv", bad}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="import-violations"`) || !strings.Contains(body, `<td class="num">3</td>`) {
		t.Errorf("bad sheet: %d %.3000s", resp.StatusCode, body)
	}
	if _, err := h.Server.Catalog.Resource(context.Background(), "130000-HBHJ-11"); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("a rejected sheet published its good row: %v", err)
	}
	resp, body = upload(b, "/catalog/import", [][3]string{{"csrf", "", csrf}, {"file", "sheet.csv", good}})
	if resp.StatusCode != 200 || !strings.Contains(body, `href="/catalog/130000-HBHJ-11"`) {
		t.Errorf("good sheet: %d %.500s", resp.StatusCode, body)
	}
	if resp, _ := upload(b, "/catalog/import", [][3]string{{"csrf", "", csrf}, {"file", "sheet.pdf", "%PDF"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a PDF catalog: %d", resp.StatusCode)
	}
	c := formclient.New(t, h.URL)
	signIn(c, "bjsj-consumer", "password-1")
	if resp, _ := c.Do("GET", "/catalog/import", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a consumer opens the catalog import: %d", resp.StatusCode)
	}
}

func TestPublishPage(t *testing.T) {
	h := hubtest.New(t, nil)
	b := formclient.New(t, h.URL)
	csrf := signIn(b, "tjyb-steward", "password-1")
	resp, page := b.Do("GET", "/catalog/new", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `id="publish-form"`) {
		t.Fatalf("publish form: %d", resp.StatusCode)
	}
	form := url.Values{"csrf": {csrf}, "code": {"120000-TJYB-31"}, "name": {"天津市异地就医备案信息"}, "provider": {h.TJ.ID},
		"summary": {"异地就医备案人员登记"}, "share_type": {"conditional"}, "share_conditions": {"限异地就医结算"}, "update_cycle": {"daily"},
		"level": {"2"}, "tags": {"医保、异地就医"},
		"items": {"姓名 | person_name | name | 必填\n公民身份号码 | citizen_id | | 必填\n手机号码 | no_such_element\n乱写的一行"}}
	resp, body := b.Do("POST", "/catalog/new", form, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="publish-problems"`) ||
		!strings.Contains(body, "乱写的一行") || !strings.Contains(body, "天津市异地就医备案信息") {
		t.Errorf("bad items: %d %.3000s", resp.StatusCode, body)
	}
	form.Set("items", "姓名 | person_name | name | 必填\n公民身份号码 | no_such_element")
	resp, body = b.Do("POST", "/catalog/new", form, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "no_such_element") {
		t.Errorf("unknown element: %d %.3000s", resp.StatusCode, body)
	}
	form.Set("items", "姓名 | person_name | name | 必填\n公民身份号码 | citizen_id | | 必填\n手机号码 | mobile")
	if resp, _ := b.Do("POST", "/catalog/new", form, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/catalog/120000-TJYB-31" {
		t.Fatalf("publish: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	r, err := h.Server.Catalog.Resource(context.Background(), "120000-TJYB-31")
	if err != nil || len(r.Items) != 3 || r.Items[0].Masking != hutong.MaskName || !r.Items[1].Required || r.Level < 2 || len(r.Tags) != 2 { // personal items may raise the level (就高从严)
		t.Fatalf("published %+v, %v", r, err)
	}
	// Edit: the form comes filled in; a change is saved.
	_, page = b.Do("GET", "/catalog/120000-TJYB-31/edit", nil, nil)
	if !strings.Contains(page, "公民身份号码 | citizen_id") {
		t.Errorf("the edit form does not hold the items: %.2000s", page)
	}
	form.Set("summary", "异地就医备案人员登记（2026 版）")
	if resp, _ := b.Do("POST", "/catalog/120000-TJYB-31/edit", form, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("edit: %d", resp.StatusCode)
	}
	if r, _ := h.Server.Catalog.Resource(context.Background(), "120000-TJYB-31"); r.Summary != "异地就医备案人员登记（2026 版）" {
		t.Errorf("summary after edit %q", r.Summary)
	}
	// Another department's steward may not edit it; a consumer may not publish.
	c := formclient.New(t, h.URL)
	signIn(c, "bjsj-consumer", "password-1")
	for _, p := range []string{"/catalog/new", "/catalog/120000-TJYB-31/edit"} {
		if resp, _ := c.Do("GET", p, nil, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a consumer opens %s: %d", p, resp.StatusCode)
		}
	}
}

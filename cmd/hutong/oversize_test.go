package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/client"

	"github.com/hutong/hutong"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/ledger"
)

// TestOversizedValuesAreRefusedAndNeverStopTheExchange sends a megabyte
// (and 70 KB, which passes Go's header limit) in every value a client
// controls at every entry point that audits client input — the JSON API,
// the dashboard, the node API and the CLI — and checks that each is a
// 4xx and that the exchange goes on serving: before, one such value in an
// audit entry stopped the ledger, and every governed read after it, for
// good.
func TestOversizedValuesAreRefusedAndNeverStopTheExchange(t *testing.T) {
	if testing.Short() {
		t.Skip("megabyte values at every entry point of a demo hub; http and ledger tests check the limits; runs without -short")
	}
	t.Parallel() // boots its own hub on :0 in its own directory
	dir := t.TempDir()
	m := startDemo(t, dir)
	defer m.Close()
	creds := readCreds(t, dir)
	ctx := context.Background()
	hub := creds.Hub
	bj, _ := credentialsOf(creds, "bjsj")
	hbConsumer, _ := credentialsOf(creds, "hbyb")
	_, tj := credentialsOf(creds, "tjyb")
	const code, purpose = "120000-TJYB-03", "异地就医直接结算"

	// An agreement to read with, a pending request to decide.
	bjAPI := hhttp.NewClient(hub, bj.Token)
	req, err := bjAPI.CreateRequest(ctx, &hutong.RequestInput{Resource: code, Fields: []string{"姓名", "参保地"}, Purpose: purpose, LegalBasis: "通知", ValidUntil: "2027-06-30"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hhttp.NewClient(hub, tj.Token).Approve(ctx, req.ID, hutong.Narrowing{}); err != nil {
		t.Fatal(err)
	}
	pending, err := hhttp.NewClient(hub, hbConsumer.Token).CreateRequest(ctx, &hutong.RequestInput{Resource: code, Fields: []string{"姓名"}, Purpose: "核验", LegalBasis: "通知", ValidUntil: "2027-06-30"})
	if err != nil {
		t.Fatal(err)
	}
	approved, _ := bjAPI.Requests(ctx, hutong.RequestFilter{Box: "outbox", Status: hutong.RequestApproved})
	agreement := approved[0].AgreementID

	servesOthers := func(after string) {
		t.Helper()
		status, h, body := get(t, hub+"/api/v1/resources/"+code+"/records?limit=2", bj.APIKey, purpose)
		if status != 200 || h.Get("Hutong-Receipt") == "" {
			t.Fatalf("after %s, a governed read: %d %s", after, status, body)
		}
	}
	servesOthers("setup")

	const mega = 1 << 20
	values := map[string]string{
		"1 MB":  strings.Repeat("用<\"", mega/5),
		"70 KB": strings.Repeat("用<\"", 70_000/5),
	}
	ascii := map[string]string{"1 MB": strings.Repeat("A", mega), "70 KB": strings.Repeat("A", 70_000)}

	type call struct {
		name                 string
		method, path, ctype  string
		token, purpose, body string
	}
	for size, v := range values {
		a := ascii[size]
		jsonOf := func(x any) string { b, _ := json.Marshal(x); return string(b) }
		calls := []call{
			{"records purpose", "GET", "/api/v1/resources/" + code + "/records", "", bj.APIKey, v, ""},
			{"records code", "GET", "/api/v1/resources/" + a + "/records", "", bj.APIKey, purpose, ""},
			{"records fields", "GET", "/api/v1/resources/" + code + "/records?fields=" + url.QueryEscape(v), "", bj.APIKey, purpose, ""},
			{"records filter", "GET", "/api/v1/resources/" + code + "/records?filter=" + url.QueryEscape("姓名:eq:"+v), "", bj.APIKey, purpose, ""},
			{"records cursor", "GET", "/api/v1/resources/" + code + "/records?cursor=" + a, "", bj.APIKey, purpose, ""},
			{"records limit", "GET", "/api/v1/resources/" + code + "/records?limit=" + strings.Repeat("9", len(a)), "", bj.APIKey, purpose, ""},
			{"export format", "GET", "/api/v1/resources/" + code + "/export?format=" + url.QueryEscape(v), "", bj.APIKey, purpose, ""},
			{"request purpose", "POST", "/api/v1/requests", "application/json", bj.Token, "", jsonOf(map[string]any{"resource": code, "fields": []string{"姓名"}, "purpose": v, "legal_basis": "x", "valid_until": "2027-06-30"})},
			{"request legal basis", "POST", "/api/v1/requests", "application/json", bj.Token, "", jsonOf(map[string]any{"resource": code, "fields": []string{"姓名"}, "purpose": "p", "legal_basis": v, "valid_until": "2027-06-30"})},
			{"request fields", "POST", "/api/v1/requests", "application/json", bj.Token, "", jsonOf(map[string]any{"resource": code, "fields": []string{v}, "purpose": "p", "legal_basis": "x", "valid_until": "2027-06-30"})},
			{"request resource", "POST", "/api/v1/requests", "application/json", bj.Token, "", jsonOf(map[string]any{"resource": v, "fields": []string{"姓名"}, "purpose": "p", "legal_basis": "x", "valid_until": "2027-06-30"})},
			{"request valid_until", "POST", "/api/v1/requests", "application/json", bj.Token, "", jsonOf(map[string]any{"resource": code, "fields": []string{"姓名"}, "purpose": "p", "legal_basis": "x", "valid_until": v})},
			{"approve fields", "POST", "/api/v1/requests/" + pending.ID + "/approve", "application/json", tj.Token, "", jsonOf(map[string]any{"fields": []string{v}})},
			{"approve masking", "POST", "/api/v1/requests/" + pending.ID + "/approve", "application/json", tj.Token, "", jsonOf(map[string]any{"masking": map[string]string{v: "hash"}})},
			{"reject reason", "POST", "/api/v1/requests/" + pending.ID + "/reject", "application/json", tj.Token, "", jsonOf(map[string]string{"reason": v})},
			{"revoke reason", "POST", "/api/v1/agreements/" + agreement + "/revoke", "application/json", tj.Token, "", jsonOf(map[string]string{"reason": v})},
			{"key name", "POST", "/api/v1/credentials", "application/json", bj.Token, "", jsonOf(map[string]string{"name": v})},
			{"publish code", "POST", "/api/v1/resources", "application/json", tj.Token, "", jsonOf(map[string]any{"code": v, "name": "n", "provider": tj.Department, "summary": "s", "share_type": "conditional", "share_conditions": "c", "update_cycle": "daily", "items": []map[string]string{{"name": "姓名", "element": "person_name"}}})},
			{"publish item name", "POST", "/api/v1/resources", "application/json", tj.Token, "", jsonOf(map[string]any{"code": "120000-TJYB-90", "name": "n", "provider": tj.Department, "summary": "s", "share_type": "conditional", "share_conditions": "c", "update_cycle": "daily", "items": []map[string]string{{"name": v, "element": "person_name"}}})},
			{"publish summary", "POST", "/api/v1/resources", "application/json", tj.Token, "", jsonOf(map[string]any{"code": "120000-TJYB-91", "name": "n", "provider": tj.Department, "summary": v, "share_type": "conditional", "share_conditions": "c", "update_cycle": "daily", "items": []map[string]string{{"name": "姓名", "element": "person_name"}}})},
			{"update name", "PUT", "/api/v1/resources/" + code, "application/json", tj.Token, "", jsonOf(map[string]any{"name": v})},
			{"delete code", "DELETE", "/api/v1/resources/" + a, "", tj.Token, "", ""},
			{"node token region", "POST", "/api/v1/nodes/tokens", "application/json", creds.AdminToken, "", jsonOf(map[string]string{"region": v})},
			{"node token ttl", "POST", "/api/v1/nodes/tokens", "application/json", creds.AdminToken, "", jsonOf(map[string]string{"region": "120000", "ttl": v})},
			{"enrol token", "POST", "/api/v1/nodes/enroll", "application/json", "", "", jsonOf(map[string]string{"token": v, "csr": "x", "url": "https://x"})},
			{"enrol url", "POST", "/api/v1/nodes/enroll", "application/json", "", "", jsonOf(map[string]string{"token": "120000.x.y", "csr": "x", "url": v})},
			{"sign-in login", "POST", "/api/v1/sessions", "application/json", "", "", jsonOf(map[string]string{"login": v, "password": "x"})},
		}
		for _, c := range calls {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			r, _ := http.NewRequest(c.method, hub+c.path, body)
			if c.token != "" {
				r.Header.Set("Authorization", "Bearer "+c.token)
			}
			if c.purpose != "" {
				r.Header.Set("Hutong-Purpose", c.purpose)
			}
			if c.ctype != "" {
				r.Header.Set("Content-Type", c.ctype)
			}
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatalf("%s (%s): %v", c.name, size, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("%s (%s): %d %.200s, want a 4xx", c.name, size, resp.StatusCode, b)
			}
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge && !bytes.Contains(b, []byte(`"error":{"code":`)) {
				t.Errorf("%s (%s): %d %.200s, not the documented error shape", c.name, size, resp.StatusCode, b)
			}
			servesOthers(c.name + " (" + size + ")")
		}

		// The node API, without a client certificate: refused, tallied.
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: m.Nodes.CA.Pool()}}
		resp, err := (&http.Client{Transport: tr}).Get(m.Nodes.URL + "/node/v1/resources/" + a)
		if err != nil {
			t.Fatalf("node API (%s): %v", size, err)
		}
		resp.Body.Close()
		tr.CloseIdleConnections()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("node API long path (%s): %d, want a 4xx", size, resp.StatusCode)
		}
		servesOthers("node API (" + size + ")")
	}

	// The dashboard: the same services behind forms.
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(hub)
	jar.SetCookies(u, []*http.Cookie{{Name: "hutong_session", Value: bj.Token}})
	browser := &http.Client{Jar: jar}
	page, err := browser.Get(hub + "/catalog/" + code)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	match := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(html)
	if match == nil {
		t.Fatalf("no CSRF token on the resource page: %d %.300s", page.StatusCode, html)
	}
	for size, v := range values {
		for name, form := range map[string]url.Values{
			"request purpose": {"csrf": {string(match[1])}, "fields": {"姓名"}, "purpose": {v}, "legal_basis": {"x"}, "valid_until": {"2027-06-30"}},
			"request fields":  {"csrf": {string(match[1])}, "fields": {v}, "purpose": {"p"}, "legal_basis": {"x"}, "valid_until": {"2027-06-30"}},
		} {
			resp, err := browser.PostForm(hub+"/catalog/"+code+"/request", form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("dashboard %s (%s): %d, want a 4xx", name, size, resp.StatusCode)
			}
		}
		resp, err := browser.PostForm(hub+"/keys", url.Values{"csrf": {string(match[1])}, "name": {v}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("dashboard key name (%s): %d, want a 4xx", size, resp.StatusCode)
		}
		servesOthers("dashboard (" + size + ")")
	}

	// The CLI, in process (argv cannot carry a megabyte).
	v := values["70 KB"]
	for name, args := range map[string][]string{
		"request":  {"request", code, "--fields", "姓名", "--purpose", v, "--legal-basis", "x", "--valid-until", "2027-06-30"},
		"records":  {"records", code, "--purpose", v},
		"export":   {"export", code, "--purpose", purpose, "--format", v, "-o", dir + "/x"},
		"fields":   {"records", code, "--purpose", purpose, "--fields", v},
		"reject":   {"requests", "reject", pending.ID, "--reason", v},
		"key name": {"keys", "create", v},
	} {
		token := bj.Token
		if name == "records" || name == "export" || name == "fields" {
			token = bj.APIKey
		}
		if name == "reject" {
			token = tj.Token
		}
		err := run(ctx, append(args, "--hub", hub, "--token", token), io.Discard, io.Discard)
		if code := hutong.ErrorCode(err); code != hutong.EINVALID && code != hutong.EFORBIDDEN && code != hutong.ENOTFOUND {
			t.Errorf("CLI %s: %v, want a client error", name, err)
		}
	}
	servesOthers("the CLI")

	// Strangers' posts to the in-process witnesses are refused before a
	// witness sees them: no false fork alarms.
	for _, body := range []string{"garbage", "old 5\n\nhutong.local/jjj-hub\nzz\nroot\n", values["70 KB"]} {
		r, _ := http.NewRequest("POST", hub+"/witness/110000/add-checkpoint", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("an anonymous add-checkpoint: %d, want 401", resp.StatusCode)
		}
	}
	for _, w := range m.Witnesses {
		if n := w.Refusals(); n != 0 {
			t.Errorf("witness %s counted %d refusals", w.Name, n)
		}
	}

	// The ledger holds every entry, each within the log's limit, and
	// verifies with the transparency-dev clients.
	if err := m.Refusals.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	flush, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := m.Ledger.Flush(flush); err != nil {
		t.Fatalf("ledger Flush: %v", err)
	}
	if err := m.Ledger.Health(); err != nil {
		t.Fatalf("ledger Health: %v", err)
	}
	status, _, body := get(t, hub+"/healthz", "", "")
	if status != 200 {
		t.Errorf("/healthz: %d %s", status, body)
	}
	v2 := &ledger.Verifier{Keys: m.Ledger.Keys(), Source: client.FileFetcher{Root: m.Ledger.Dir()}}
	rep, err := v2.VerifyLog(ctx, nil)
	if err != nil {
		t.Fatalf("VerifyLog: %+v, %v", rep, err)
	}
	entries, _ := m.Audit.Entries(ctx, 0, 1_000_000)
	for _, e := range entries {
		if len(e.Data) > hutong.MaxAuditEntryBytes {
			t.Errorf("entry %d is %d bytes", e.Index, len(e.Data))
		}
	}
	t.Logf("%d ledger entries verified; largest %d bytes", rep.Entries, largest(entries))
}

func largest(es []hutong.LogEntry) int {
	n := 0
	for _, e := range es {
		n = max(n, len(e.Data))
	}
	return n
}

var _ = fmt.Sprint

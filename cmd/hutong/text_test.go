package main

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hutong/hutong"
	hhttp "github.com/hutong/hutong/http"
)

// TestTextIsTakenAsSent: a purpose header is percent-decoded only when it
// is entirely well-formed percent-encoded ASCII (so 提升%20效率, sent raw,
// is that purpose, not 提升 效率), and text that is not UTF-8 — in a
// header, a query, a JSON body or a form — is refused with 400, never
// replaced.
func TestTextIsTakenAsSent(t *testing.T) {
	t.Parallel() // boots its own hub on :0 in its own directory
	dir := t.TempDir()
	m := startDemo(t, dir)
	defer m.Close()
	creds := readCreds(t, dir)
	ctx := context.Background()
	hub := creds.Hub
	bj, _ := credentialsOf(creds, "bjsj")
	const code = "130000-HBHJ-05" // unconditionally shared: granted at once
	c := hhttp.NewClient(hub, bj.Token)
	for _, p := range []string{"提升%20效率", "提升%效率", "100% 覆盖"} {
		req, err := c.CreateRequest(ctx, &hutong.RequestInput{Resource: code, Fields: []string{"监测站点编码", "AQI"}, Purpose: p, ValidUntil: "2027-06-30"})
		if err != nil || req.Status != hutong.RequestApproved {
			t.Fatalf("request for %q: %+v, %v", p, req, err)
		}
	}
	read := func(purpose string) (int, string) {
		req, _ := http.NewRequest("GET", hub+"/api/v1/resources/"+code+"/records?limit=1", nil)
		req.Header.Set("Authorization", "Bearer "+bj.APIKey)
		req.Header.Set("Hutong-Purpose", purpose)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	for purpose, want := range map[string]int{
		"提升%20效率":                     200, // raw UTF-8: taken as sent
		"提升%效率":                       200,
		"100% 覆盖":                     200,
		url.PathEscape("提升%20效率"):     200, // percent-encoded ASCII: decoded
		url.PathEscape("提升%效率"):       200,
		"%E6%8F%90%E5%8D%87%20%E6%95": 403, // ASCII but not UTF-8 once decoded: taken as sent, an unknown purpose
		"提升 效率":                       403,
		"提升\xff效率":                    400,
	} {
		if status, body := read(purpose); status != want || want == 400 && !strings.Contains(body, "UTF-8") {
			t.Errorf("purpose %q: %d %s, want %d", purpose, status, body, want)
		}
	}

	call := func(method, path, ctype, body string) (int, string) {
		req, _ := http.NewRequest(method, hub+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+bj.Token)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	for name, c := range map[string][3]string{
		"JSON body": {"POST", "/api/v1/requests", `{"resource":"` + code + `","fields":["AQI"],"purpose":"提升` + "\xff" + `效率","valid_until":"2027-06-30"}`},
		"query":     {"GET", "/api/v1/resources?q=%FF%FE", ""},
		"key name":  {"POST", "/api/v1/credentials", `{"name":"系统` + "\xc3" + `"}`},
	} {
		ctype := ""
		if c[0] == "POST" {
			ctype = "application/json"
		}
		if status, body := call(c[0], c[1], ctype, c[2]); status != 400 || !strings.Contains(body, "UTF-8") {
			t.Errorf("%s not UTF-8: %d %s, want 400 naming UTF-8", name, status, body)
		}
	}
	reqs, _ := c.Requests(ctx, hutong.RequestFilter{Box: "outbox"})
	for _, r := range reqs {
		if strings.ContainsRune(r.Purpose, '\uFFFD') {
			t.Errorf("a request was stored with a replaced purpose %q", r.Purpose)
		}
	}
}

package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hutong/hutong"
)

// TestDemoSupervision boots the demo as `hutong demo` does: its injected
// misuses raise alerts with evidence on the first run; Tianjin's medical
// insurance steward sees the probing alert, suspends the agreement over
// the API, and Beijing's consumer is refused on its very next read.
func TestDemoSupervision(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a demo hub; the full suite runs it")
	}
	t.Parallel() // boots its own hub on :0 in its own directory
	dir := t.TempDir()
	m := startDemo(t, dir)
	t.Cleanup(func() { m.Close() })
	creds := readCreds(t, dir)
	token := func(login string) string {
		for _, s := range creds.Stewards {
			if s.Login == login {
				return s.Token
			}
		}
		for _, c := range creds.Consumers {
			if c.Login == login {
				return c.Token
			}
		}
		t.Fatalf("no demo user %s", login)
		return ""
	}
	call := func(method, path, tok string, header map[string]string, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, creds.Hub+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	steward := token("tjyb-steward")
	var probing *hutong.Alert
	deadline := time.Now().Add(20 * time.Second)
	for probing == nil {
		if time.Now().After(deadline) {
			t.Fatal("no probing alert on the demo within 20 s")
		}
		time.Sleep(100 * time.Millisecond)
		st, b := call("GET", "/api/v1/alerts?status=open", steward, nil, "")
		if st != 200 {
			t.Fatalf("alerts: %d %s", st, b)
		}
		var list struct{ Items []*hutong.Alert }
		json.Unmarshal(b, &list)
		for _, a := range list.Items {
			if a.Kind == hutong.AlertProbing && a.Resource == "120000-TJYB-03" {
				probing = a
			}
		}
	}
	if len(probing.Evidence) < 8 || probing.Agreement == "" || probing.Explanation == "" {
		t.Fatalf("probing alert %+v", probing)
	}
	// The refusal burst is there too, for the administrators.
	all, err := m.Alerts.Alerts(hutong.NewContextWithActor(context.Background(), &hutong.Actor{User: &hutong.User{Login: "t", Roles: []hutong.Role{hutong.RoleAuditor}}}), hutong.AlertFilter{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[hutong.AlertKind]bool{}
	for _, a := range all {
		kinds[a.Kind] = true
	}
	if !kinds[hutong.AlertRefusals] {
		t.Errorf("the demo's alerts are of kinds %v, want a refusal burst among them", kinds)
	}

	read := func() (int, []byte) {
		return call("GET", "/api/v1/resources/120000-TJYB-03/records?limit=1", token("bjyb-consumer"),
			map[string]string{"Hutong-Purpose": url.PathEscape("异地就医直接结算")}, "")
	}
	if st, b := read(); st != 200 {
		t.Fatalf("read before suspension: %d %s", st, b)
	}
	// The steward's webhook (loopback http: the demo allows it) will get
	// the next alert in its scope, signed.
	got := make(chan hutong.Alert, 10)
	var secret atomic.Value
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(hutong.WebhookTimestampHeader), 10, 64)
		key, _ := secret.Load().(string)
		if r.Header.Get(hutong.WebhookSignatureHeader) != hutong.SignWebhook([]byte(key), ts, body) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var a hutong.Alert
		json.Unmarshal(body, &a)
		got <- a
	}))
	defer receiver.Close()
	st, b := call("POST", "/api/v1/webhooks", steward, nil, `{"url":"`+receiver.URL+`/alerts"}`)
	if st != 201 {
		t.Fatalf("webhook: %d %s", st, b)
	}
	var hook hutong.Webhook
	json.Unmarshal(b, &hook)
	secret.Store(hook.Secret)

	if st, b := call("POST", "/api/v1/alerts/"+probing.ID+"/suspend", steward, nil, `{"reason":"暂停待查"}`); st != 200 {
		t.Fatalf("suspend: %d %s", st, b)
	}
	if st, b := read(); st != 403 || !strings.Contains(string(b), "暂停待查") {
		t.Fatalf("read after suspension: %d %s, want 403 with the reason", st, b)
	}
	// The consumer insists: a refusal burst, delivered to the webhook.
	for range 15 {
		read()
	}
	select {
	case a := <-got:
		if a.Kind != hutong.AlertRefusals || a.Provider == "" {
			t.Errorf("the webhook got %+v, want the refusal burst", a)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the webhook got nothing within 20 s")
	}

	// Someone guesses a password: the security stream's burst is an alert
	// for the administrators (not a ledger entry).
	for range 10 {
		call("POST", "/api/v1/sessions", "", nil, `{"login":"tjyb-steward","password":"guess"}`)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, b := call("GET", "/api/v1/alerts?status=open", creds.AdminToken, nil, "")
		if strings.Contains(string(b), `"actor":"login:tjyb-steward"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sign-in alert within 20 s: %s", b)
		}
	}
}

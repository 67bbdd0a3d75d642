package http_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hutong/hutong"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/storetest"
)

// TestSignOutRevokesTheSession: DELETE /api/v1/sessions/current revokes
// the token it is called with; before, signing out left it valid for 12 h.
func TestSignOutRevokesTheSession(t *testing.T) {
	h := newHub(t)
	status, body, _ := signInAs(t, h, "", "bjsj-consumer", "password-1", nil)
	if status != http.StatusCreated {
		t.Fatalf("sign in: %d %s", status, body)
	}
	var session struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &session); err != nil || session.Token == "" {
		t.Fatalf("session %s: %v", body, err)
	}
	token := session.Token
	if status, _, _ := h.call(t, "GET", "/api/v1/me", token, "", nil); status != http.StatusOK {
		t.Fatalf("me before signing out: %d", status)
	}
	if status, body, _ := h.call(t, "DELETE", "/api/v1/sessions/current", token, "", nil); status != http.StatusNoContent {
		t.Fatalf("sign out: %d %s", status, body)
	}
	status, body, _ = h.call(t, "GET", "/api/v1/me", token, "", nil)
	wantError(t, status, body, 401, "unauthorized")
	status, body, _ = h.call(t, "DELETE", "/api/v1/sessions/current", token, "", nil)
	wantError(t, status, body, 401, "unauthorized")
	status, body, _ = h.call(t, "DELETE", "/api/v1/sessions/current", "", "", nil)
	wantError(t, status, body, 401, "unauthorized")

	// The SDK signs out the same way.
	c := hhttp.NewClient(h.url, "")
	if _, err := c.SignIn(context.Background(), "tjyb-steward", "password-1"); err != nil {
		t.Fatal(err)
	}
	token = c.Token
	if err := c.SignOut(context.Background()); err != nil || c.Token != "" {
		t.Fatalf("SignOut: %v, token %q", err, c.Token)
	}
	if status, _, _ := h.call(t, "GET", "/api/v1/me", token, "", nil); status != http.StatusUnauthorized {
		t.Errorf("the SDK's token after SignOut: %d", status)
	}
}

// TestOversizedRowImportIs413: a row import sent without a length (so no
// Content-Length check can refuse it) and cut at the limit answers 413;
// before, the cut body was parsed and the answer listed phantom rows.
func TestOversizedRowImportIs413(t *testing.T) {
	h := newHub(t)
	for _, r := range []*hutong.Resource{storetest.InsuredResource("120000-TJYB-03", h.tj.ID)} {
		if err := h.srv.Catalog.PublishResource(storetest.Admin(context.Background()), r); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	b.WriteString("姓名,公民身份号码,参保日期\n")
	for b.Len() <= 1<<20 { // the test hub's row limit is 1 MiB
		b.WriteString("张三,11010519491231002X,2026-11-01\n")
	}
	// A reader that is not a *strings.Reader: sent chunked, no length.
	body := struct{ io.Reader }{strings.NewReader(b.String())}
	status, resp, _ := h.call(t, "POST", "/api/v1/resources/120000-TJYB-03/rows", h.steward, "text/csv", body)
	if wantError(t, status, resp, 413, "invalid"); strings.Contains(string(resp), "row ") {
		t.Errorf("the answer lists rows of a cut body: %s", resp)
	}
}

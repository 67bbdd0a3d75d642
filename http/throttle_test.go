package http_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/internal/formclient"
)

// clock is a settable time for the server's Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// signInAs posts a sign-in with extra headers, from the local address from
// ("" for any), and returns the status, the body and the headers.
func signInAs(t *testing.T, h *hub, from, login, password string, header map[string]string) (int, []byte, http.Header) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"login": login, "password": password})
	req, _ := http.NewRequest("POST", h.url+"/api/v1/sessions", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := http.DefaultClient
	if from != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c = &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body, resp.Header
}

// TestSignInThrottle checks the back-off per login and client address: after
// five wrong passwords one pair is refused with 429 and Retry-After (even
// with the right password), doubling per further failure; the same login
// from another address, and another login from the same address, are not;
// the dashboard's form shares the throttle.
func TestSignInThrottle(t *testing.T) {
	t.Parallel() // its own hub; mostly waits (ledger checkpoints, timeouts)
	clk := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, hutong.ChinaTime)}
	h := newHubWith(t, func(s *hhttp.Server) {
		s.Now = clk.Now
		s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	attacker := map[string]string{"X-Forwarded-For": "203.0.113.9"}
	user := map[string]string{"X-Forwarded-For": "198.51.100.4"}
	for range 5 {
		status, body, _ := signInAs(t, h, "", "tjyb-steward", "guess", attacker)
		wantError(t, status, body, 401, "unauthorized")
	}
	for _, password := range []string{"guess", "password-1"} {
		status, body, hdr := signInAs(t, h, "", "tjyb-steward", password, attacker)
		wantError(t, status, body, 429, "rate_limited")
		if hdr.Get("Retry-After") != "1" {
			t.Errorf("Retry-After %q after 5 failures, want 1", hdr.Get("Retry-After"))
		}
	}
	// The user elsewhere is not locked out; another login is not throttled.
	if status, body, _ := signInAs(t, h, "", "tjyb-steward", "password-1", user); status != 201 {
		t.Errorf("the user at another address: %d %s, want 201", status, body)
	}
	if status, body, _ := signInAs(t, h, "", "bjsj-consumer", "password-1", attacker); status != 201 {
		t.Errorf("another login from the throttled address: %d %s, want 201", status, body)
	}
	// After the wait, one more try; a wrong one doubles the wait.
	clk.Add(time.Second)
	status, body, _ := signInAs(t, h, "", "tjyb-steward", "guess", attacker)
	wantError(t, status, body, 401, "unauthorized")
	status, body, hdr := signInAs(t, h, "", "tjyb-steward", "password-1", attacker)
	wantError(t, status, body, 429, "rate_limited")
	if hdr.Get("Retry-After") != "2" {
		t.Errorf("Retry-After %q after 6 failures, want 2", hdr.Get("Retry-After"))
	}

	// The dashboard's sign-in form counts the same pairs.
	b := formclient.New(t, h.url)
	_, page := b.Do("GET", "/login", nil, nil)
	resp, html := b.Do("POST", "/login", url.Values{"csrf": {formclient.CSRF(t, page)}, "login": {"tjyb-steward"}, "password": {"password-1"}}, attacker)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" || !strings.Contains(html, "登录失败次数过多") || !strings.Contains(html, `id="login-form"`) {
		t.Errorf("dashboard sign-in of a throttled pair: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	clk.Add(2 * time.Second)
	_, page = b.Do("GET", "/login", nil, nil)
	resp, _ = b.Do("POST", "/login", url.Values{"csrf": {formclient.CSRF(t, page)}, "login": {"tjyb-steward"}, "password": {"password-1"}, "next": {"/catalog"}}, attacker)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("dashboard sign-in after the wait: %d, want 303", resp.StatusCode)
	}
	// A success forgets the pair's failures.
	for range 5 {
		status, body, _ := signInAs(t, h, "", "tjyb-steward", "guess", attacker)
		wantError(t, status, body, 401, "unauthorized")
	}
}

// TestForwardedForFromTrustedProxiesOnly checks how the throttle finds the
// client's address: X-Forwarded-For is ignored from a peer that is not a
// trusted proxy, and from a trusted one only its right-most untrusted entry
// counts, so a client cannot pose as the user by writing the header.
func TestForwardedForFromTrustedProxiesOnly(t *testing.T) {
	h := newHubWith(t, func(s *hhttp.Server) {
		s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	// 127.0.0.2 is no proxy: its forwarded-for headers change nothing.
	for i := range 5 {
		status, body, _ := signInAs(t, h, "127.0.0.2", "tjyb-steward", "guess", map[string]string{"X-Forwarded-For": fmt.Sprintf("192.0.2.%d", i+1)})
		wantError(t, status, body, 401, "unauthorized")
	}
	status, body, _ := signInAs(t, h, "127.0.0.2", "tjyb-steward", "password-1", map[string]string{"X-Forwarded-For": "192.0.2.77"})
	wantError(t, status, body, 429, "rate_limited")

	// Through the proxy, a client writing the user's address left of its
	// own is still itself; the user behind the proxy is not locked out.
	for range 5 {
		status, body, _ := signInAs(t, h, "127.0.0.1", "bjsj-consumer", "guess", map[string]string{"X-Forwarded-For": "198.51.100.4, 203.0.113.50"})
		wantError(t, status, body, 401, "unauthorized")
	}
	status, body, _ = signInAs(t, h, "127.0.0.1", "bjsj-consumer", "password-1", map[string]string{"X-Forwarded-For": "198.51.100.4, 203.0.113.50"})
	wantError(t, status, body, 429, "rate_limited")
	if status, body, _ := signInAs(t, h, "127.0.0.1", "bjsj-consumer", "password-1", map[string]string{"X-Forwarded-For": "198.51.100.4"}); status != 201 {
		t.Errorf("the user behind the proxy: %d %s, want 201", status, body)
	}
}

// Package formclient is a browser without JavaScript for tests: an HTTP
// client with a cookie jar that posts forms and does not follow
// redirects, so a test sees each answer of the dashboard as it is sent.
package formclient

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Client posts forms to one site, keeping its cookies.
type Client struct {
	T   testing.TB
	URL string // the site's base URL
	C   *http.Client
}

// New returns a client of the site at url.
func New(t testing.TB, url string) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{T: t, URL: url, C: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// Do sends method to path, with form as an urlencoded body when not nil
// and the extra header, and returns the answer and its body. A failure to
// connect fails the test.
func (c *Client) Do(method, path string, form url.Values, header map[string]string) (*http.Response, string) {
	c.T.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.C.Do(req)
	if err != nil {
		c.T.Fatal(err)
	}
	defer resp.Body.Close()
	bs, _ := io.ReadAll(resp.Body)
	return resp, string(bs)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// CSRF returns the CSRF token of a form on page, or fails the test.
func CSRF(t testing.TB, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page")
	}
	return m[1]
}

package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/httperr"
)

// Client calls a hutong hub's API. It is the Go SDK and what the CLI uses.
// A Client is safe for concurrent use.
type Client struct {
	// URL is the hub's base URL, e.g. "http://localhost:8080".
	URL string
	// Token is sent as Authorization: Bearer; a user's or an application's.
	Token      string
	HTTPClient *http.Client
}

// NewClient returns a client of the hub at baseURL.
func NewClient(baseURL, token string) *Client {
	return &Client{
		URL:        strings.TrimSuffix(baseURL, "/"),
		Token:      token,
		HTTPClient: &http.Client{Timeout: 5 * time.Minute},
	}
}

// do sends a request and decodes a JSON answer into out (when not nil).
// Error answers come back as *hutong.Error with the hub's code, message and
// details.
func (c *Client) do(ctx context.Context, method, path string, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if f, ok := body.(*os.File); ok {
		// An import from a file: declare its length, and send it only when
		// the hub asks for it (100 Continue). A file past the limit, or a
		// caller who may not import, is then refused before it is sent,
		// with the hub's message rather than a reset connection.
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			if off, err := f.Seek(0, io.SeekCurrent); err == nil && off <= fi.Size() {
				req.ContentLength = fi.Size() - off
				req.Body = io.NopCloser(io.LimitReader(f, req.ContentLength))
			}
		}
		req.Header.Set("Expect", "100-continue")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		return &hutong.Error{Code: hutong.EUNAVAILABLE, Message: fmt.Sprintf("cannot reach the hub at %s", c.URL), Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return httperr.Read(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	return nil
}

func (c *Client) getJSON(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, "", nil, out)
}

func (c *Client) sendJSON(ctx context.Context, method, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.do(ctx, method, path, "application/json", bytes.NewReader(b), out)
}

// Regions lists divisions.
func (c *Client) Regions(ctx context.Context, f hutong.RegionFilter) ([]hutong.Region, error) {
	q := url.Values{}
	setNonEmpty(q, "parent", f.Parent)
	setNonEmpty(q, "level", f.Level)
	if f.All {
		q.Set("all", "true")
	}
	var out list[hutong.Region]
	err := c.getJSON(ctx, "/api/v1/regions?"+q.Encode(), &out)
	return out.Items, err
}

// Departments lists departments.
func (c *Client) Departments(ctx context.Context, f hutong.DepartmentFilter) ([]hutong.Department, error) {
	q := url.Values{}
	setNonEmpty(q, "region", f.Region)
	var out list[hutong.Department]
	err := c.getJSON(ctx, "/api/v1/departments?"+q.Encode(), &out)
	return out.Items, err
}

// Elements lists the standard data elements.
func (c *Client) Elements(ctx context.Context) ([]hutong.Element, error) {
	var out list[hutong.Element]
	err := c.getJSON(ctx, "/api/v1/elements", &out)
	return out.Items, err
}

// Resources returns one page of the catalog.
func (c *Client) Resources(ctx context.Context, f hutong.ResourceFilter) (*hutong.ResourcePage, error) {
	q := url.Values{}
	setNonEmpty(q, "q", f.Query)
	setNonEmpty(q, "tag", f.Tag)
	setNonEmpty(q, "region", f.Region)
	setNonEmpty(q, "provider", f.Provider)
	setNonEmpty(q, "share_type", string(f.ShareType))
	setNonEmpty(q, "cursor", f.Cursor)
	if f.Level != 0 {
		q.Set("level", strconv.Itoa(f.Level))
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var page hutong.ResourcePage
	if err := c.getJSON(ctx, "/api/v1/resources?"+q.Encode(), &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// Resource returns one resource.
func (c *Client) Resource(ctx context.Context, code string) (*hutong.Resource, error) {
	var r hutong.Resource
	if err := c.getJSON(ctx, "/api/v1/resources/"+url.PathEscape(code), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// PublishResource publishes r and returns it as the hub stored it.
func (c *Client) PublishResource(ctx context.Context, r *hutong.Resource) (*hutong.Resource, error) {
	in := resourceInput{
		Code: r.Code, Name: r.Name, NameEn: r.NameEn, Provider: r.Provider, Region: r.Region,
		Summary: r.Summary, Format: r.Format, Items: r.Items, ShareType: string(r.ShareType),
		ShareConditions: r.ShareConditions, LegalBasis: r.LegalBasis, OpenType: string(r.OpenType),
		UpdateCycle: r.UpdateCycle, PublishDate: r.PublishDate, Related: r.Related, Level: r.Level,
		Grade: string(r.Grade), Tags: r.Tags, Hosted: string(r.Hosted),
	}
	var out hutong.Resource
	if err := c.sendJSON(ctx, http.MethodPost, "/api/v1/resources", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ImportCatalog sends a catalog sheet (CSV or XLSX) and returns the codes
// of the resources it published.
func (c *Client) ImportCatalog(ctx context.Context, contentType string, body io.Reader) ([]string, error) {
	var out catalogImport
	if err := c.do(ctx, http.MethodPost, "/api/v1/catalog/import", contentType, body, &out); err != nil {
		return nil, err
	}
	return out.Codes, nil
}

// ImportRows sends rows (CSV or NDJSON) into a hub-hosted resource.
func (c *Client) ImportRows(ctx context.Context, code, contentType string, body io.Reader, mode hutong.ImportMode) (*hutong.ImportResult, error) {
	path := "/api/v1/resources/" + url.PathEscape(code) + "/rows"
	if mode != "" {
		path += "?mode=" + url.QueryEscape(string(mode))
	}
	var out hutong.ImportResult
	if err := c.do(ctx, http.MethodPost, path, contentType, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SignIn exchanges a login and password for a session token, which the
// client then uses.
func (c *Client) SignIn(ctx context.Context, login, password string) (*hutong.User, error) {
	var out session
	if err := c.sendJSON(ctx, http.MethodPost, "/api/v1/sessions", signIn{Login: login, Password: password}, &out); err != nil {
		return nil, err
	}
	c.Token = out.Token
	return out.User, nil
}

// SignOut revokes the client's session token (DELETE
// /api/v1/sessions/current) and forgets it.
func (c *Client) SignOut(ctx context.Context) error {
	if err := c.do(ctx, http.MethodDelete, "/api/v1/sessions/current", "", nil, nil); err != nil {
		return err
	}
	c.Token = ""
	return nil
}

// CreateCredential creates an application key and returns it with the key,
// which the hub shows only this once.
func (c *Client) CreateCredential(ctx context.Context, dept, name string) (*hutong.Credential, string, error) {
	var out createdCredential
	if err := c.sendJSON(ctx, http.MethodPost, "/api/v1/credentials", newCredential{Name: name, Department: dept}, &out); err != nil {
		return nil, "", err
	}
	return &out.Credential, out.Key, nil
}

// Healthy reports whether the hub answers its health check.
func (c *Client) Healthy(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

func setNonEmpty(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

// CreateRequest files a request for the client's department.
func (c *Client) CreateRequest(ctx context.Context, in *hutong.RequestInput) (*hutong.Request, error) {
	var out hutong.Request
	if err := c.sendJSON(ctx, http.MethodPost, "/api/v1/requests", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Requests lists requests.
func (c *Client) Requests(ctx context.Context, f hutong.RequestFilter) ([]*hutong.Request, error) {
	q := url.Values{}
	setNonEmpty(q, "box", f.Box)
	setNonEmpty(q, "status", string(f.Status))
	if f.Overdue {
		q.Set("overdue", "true")
	}
	var out list[*hutong.Request]
	err := c.getJSON(ctx, "/api/v1/requests?"+q.Encode(), &out)
	return out.Items, err
}

// Request returns one request.
func (c *Client) Request(ctx context.Context, id string) (*hutong.Request, error) {
	var out hutong.Request
	if err := c.getJSON(ctx, "/api/v1/requests/"+url.PathEscape(id), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Approve approves a request, narrowed by n.
func (c *Client) Approve(ctx context.Context, id string, n hutong.Narrowing) (*hutong.Request, error) {
	var out hutong.Request
	if err := c.sendJSON(ctx, http.MethodPost, "/api/v1/requests/"+url.PathEscape(id)+"/approve", n, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Reject rejects a request with a reason.
func (c *Client) Reject(ctx context.Context, id, why string) (*hutong.Request, error) {
	var out hutong.Request
	if err := c.sendJSON(ctx, http.MethodPost, "/api/v1/requests/"+url.PathEscape(id)+"/reject", reason{Reason: why}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Agreement returns one agreement with its compiled policy.
func (c *Client) Agreement(ctx context.Context, id string) (*hutong.Agreement, error) {
	var out hutong.Agreement
	if err := c.getJSON(ctx, "/api/v1/agreements/"+url.PathEscape(id), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Agreements lists agreements.
func (c *Client) Agreements(ctx context.Context, f hutong.AgreementFilter) ([]*hutong.Agreement, error) {
	q := url.Values{}
	setNonEmpty(q, "role", f.Role)
	setNonEmpty(q, "resource", f.Resource)
	if f.Active {
		q.Set("active", "true")
	}
	var out list[*hutong.Agreement]
	err := c.getJSON(ctx, "/api/v1/agreements?"+q.Encode(), &out)
	return out.Items, err
}

// RevokeAgreement revokes an agreement.
func (c *Client) RevokeAgreement(ctx context.Context, id, why string) (*hutong.Agreement, error) {
	var out hutong.Agreement
	if err := c.sendJSON(ctx, http.MethodPost, "/api/v1/agreements/"+url.PathEscape(id)+"/revoke", reason{Reason: why}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// recordsURL is the path and query of an exchange call.
func recordsURL(endpoint string, q hutong.RecordQuery, extra url.Values) string {
	v := url.Values{}
	if len(q.Fields) > 0 {
		v.Set("fields", strings.Join(q.Fields, ","))
	}
	for _, f := range q.Filters {
		v.Add("filter", f.Field+":"+string(f.Op)+":"+strings.Join(f.Values, "|"))
	}
	for _, f := range q.FilterText {
		v.Add("filter", f)
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	setNonEmpty(v, "cursor", q.Cursor)
	for k, vs := range extra {
		v[k] = vs
	}
	return "/api/v1/resources/" + url.PathEscape(q.Resource) + "/" + endpoint + "?" + v.Encode()
}

// exchange sends an exchange call and returns the open response.
func (c *Client) exchange(ctx context.Context, path, purpose string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set(PurposeHeader, url.PathEscape(purpose))
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		return nil, &hutong.Error{Code: hutong.EUNAVAILABLE, Message: fmt.Sprintf("cannot reach the hub at %s", c.URL), Err: err}
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, httperr.Read(resp)
	}
	return resp, nil
}

// Records reads one page through the exchange. The purpose travels
// percent-encoded, so any client library can send it.
func (c *Client) Records(ctx context.Context, q hutong.RecordQuery) (*hutong.RecordPage, error) {
	resp, err := c.exchange(ctx, recordsURL("records", q, nil), q.Purpose)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	rec, err := ParseReceipt(resp.Header.Get(ReceiptHeader))
	if err != nil {
		return nil, err
	}
	return &hutong.RecordPage{Body: body, Receipt: rec}, nil
}

// Export streams an export to w and returns its receipt.
func (c *Client) Export(ctx context.Context, q hutong.RecordQuery, format string, w io.Writer) (*hutong.Receipt, error) {
	resp, err := c.exchange(ctx, recordsURL("export", q, url.Values{"format": {format}}), q.Purpose)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	rec, err := ParseReceipt(resp.Header.Get(ReceiptHeader))
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return rec, fmt.Errorf("export cut off: %w", err)
	}
	return rec, nil
}

// CreateNodeToken creates a one-time enrolment token for a node of region,
// valid for ttl (the hub's default when 0).
func (c *Client) CreateNodeToken(ctx context.Context, region string, ttl time.Duration) (*hutong.EnrolmentToken, error) {
	in := tokenInput{Region: region}
	if ttl > 0 {
		in.TTL = ttl.String()
	}
	var out hutong.EnrolmentToken
	if err := c.sendJSON(ctx, http.MethodPost, "/api/v1/nodes/tokens", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Nodes lists the region nodes enrolled, revoked ones included.
func (c *Client) Nodes(ctx context.Context) ([]hutong.RegisteredNode, error) {
	var out list[hutong.RegisteredNode]
	if err := c.getJSON(ctx, "/api/v1/nodes", &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// RevokeNode revokes the certificate of region's node.
func (c *Client) RevokeNode(ctx context.Context, region string) error {
	return c.sendJSON(ctx, http.MethodPost, "/api/v1/nodes/"+url.PathEscape(region)+"/revoke", struct{}{}, nil)
}

// Receipt returns the proof of ledger entry index: with the entry and its
// salt when the caller is one of its parties, sealed otherwise.
func (c *Client) Receipt(ctx context.Context, index uint64) (*hutong.ReceiptProof, error) {
	var out hutong.ReceiptProof
	if err := c.getJSON(ctx, "/api/v1/receipts/"+strconv.FormatUint(index, 10), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReceiptBundle returns the proof bundle of ledger entry index, which
// hutong verify bundle checks offline; for the entry's parties only.
func (c *Client) ReceiptBundle(ctx context.Context, index uint64) (*hutong.ProofBundle, error) {
	var out hutong.ProofBundle
	if err := c.getJSON(ctx, "/api/v1/receipts/"+strconv.FormatUint(index, 10)+"/bundle", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LedgerEntries returns a page of the journal's entries, in full where
// the caller is a party, sealed otherwise.
func (c *Client) LedgerEntries(ctx context.Context, f hutong.EntryFilter) (*hutong.EntryPage, error) {
	q := url.Values{}
	if !f.From.IsZero() {
		q.Set("from", f.From.Format(time.RFC3339))
	}
	if !f.To.IsZero() {
		q.Set("to", f.To.Format(time.RFC3339))
	}
	setNonEmpty(q, "resource", f.Resource)
	setNonEmpty(q, "department", f.Department)
	setNonEmpty(q, "kind", f.Kind)
	setNonEmpty(q, "cursor", f.Cursor)
	if f.Mine {
		q.Set("mine", "true")
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out hutong.EntryPage
	if err := c.getJSON(ctx, "/api/v1/ledger/entries?"+q.Encode(), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LedgerKeys returns the ledger's public keys as the hub serves them.
func (c *Client) LedgerKeys(ctx context.Context) (hutong.LedgerKeys, error) {
	var out hutong.LedgerKeys
	err := c.getJSON(ctx, "/ledger/keys", &out)
	return out, err
}

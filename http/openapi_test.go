package http_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The tests in this file keep openapi.json true. kin-openapi
// (github.com/getkin/kin-openapi, for tests only) validates OpenAPI 3.1
// documents, requests and answers; docCheck drives real calls through it
// and records which operation answered which status, so that a status the
// document promises and no call reached, or an answer it does not
// describe, fails the test.

func init() {
	// Bodies the hub takes or gives as opaque text or bytes: the schemas
	// say string, and the hub, not the validator, parses them.
	for _, ct := range []string{"text/csv", "application/x-ndjson", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "text/x.tlog.size"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

// document loads and validates an OpenAPI document. With strict, every
// object schema of an answer that lists its properties admits no others,
// so a field the hub sends and the document does not name fails the
// validation of the answer (the document itself leaves them open, so
// clients accept fields added later).
func document(t *testing.T, raw []byte, strict bool) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	if strict {
		seen := map[*openapi3.Schema]bool{}
		for _, path := range doc.Paths.InMatchingOrder() {
			for _, op := range doc.Paths.Value(path).Operations() {
				for _, resp := range op.Responses.Map() {
					for _, mt := range resp.Value.Content {
						closeSchema(mt.Schema, seen)
					}
				}
			}
		}
	}
	return doc
}

func closeSchema(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	s := ref.Value
	seen[s] = true
	if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
		no := false
		s.AdditionalProperties.Has = &no
	}
	for _, p := range s.Properties {
		closeSchema(p, seen)
	}
	closeSchema(s.Items, seen)
	closeSchema(s.AdditionalProperties.Schema, seen)
	for _, x := range slices.Concat(s.AllOf, s.AnyOf, s.OneOf) {
		closeSchema(x, seen)
	}
}

// docCheck sends calls to a server and validates each request and answer
// against doc.
type docCheck struct {
	t      *testing.T
	doc    *openapi3.T
	router routers.Router
	base   string

	mu      sync.Mutex
	reached map[string]map[int]bool // operationId → statuses answered
}

func newDocCheck(t *testing.T, doc *openapi3.T, base string) *docCheck {
	t.Helper()
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &docCheck{t: t, doc: doc, router: router, base: base, reached: map[string]map[int]bool{}}
}

// apiCall is one call and what it must answer.
type apiCall struct {
	method, path string // path with its query
	token        string
	header       map[string]string
	contentType  string
	body         string
	status       int // what the hub must answer
	// breaks says that the request breaks a rule of the document, whose
	// validation must then fail: the document and the hub agree that it
	// is wrong. Without it the request must be valid.
	breaks bool
	// anyRequest leaves the request's validity unjudged: calls that test
	// how the hub reads a body (too large, too slow), not what it says.
	anyRequest bool
}

// answer is what a call got.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d %s: %v", a.status, a.body, err)
	}
}

// authenticate checks a request's bearer token against the scheme the
// document names: session tokens are hts_…, application keys htk_….
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	token, ok := strings.CutPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return errors.New("no bearer token")
	}
	switch in.SecuritySchemeName {
	case "session":
		if !strings.HasPrefix(token, "hts_") {
			return errors.New("not a session token")
		}
	case "applicationKey":
		if !strings.HasPrefix(token, "htk_") {
			return errors.New("not an application key")
		}
	}
	return nil
}

var validation = &openapi3filter.Options{AuthenticationFunc: authenticate, IncludeResponseStatus: true}

func (c apiCall) request(base string) (*http.Request, error) {
	req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
	if err != nil {
		return nil, err
	}
	if c.body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	return req, nil
}

// do sends c, checks its status and validates the request and the answer.
func (dc *docCheck) do(t *testing.T, c apiCall) answer {
	t.Helper()
	req, err := c.request(dc.base)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", c.method, c.path, err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: body}
	if a.status != c.status {
		t.Fatalf("%s %s: got %d %s, want %d", c.method, c.path, a.status, body, c.status)
	}
	dc.validate(t, c, a)
	return a
}

// validate validates c's request and its answer a, and records the status.
func (dc *docCheck) validate(t *testing.T, c apiCall, a answer) {
	t.Helper()
	req, err := c.request(dc.base)
	if err != nil {
		t.Fatal(err)
	}
	route, params, err := dc.router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s: no documented operation: %v", c.method, c.path, err)
		return
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: validation}
	err = openapi3filter.ValidateRequest(ctx, in)
	switch {
	case c.anyRequest:
	case c.breaks && err == nil:
		t.Errorf("%s %s (%s): the document accepts this request, which the hub refuses with %d", c.method, c.path, route.Operation.OperationID, a.status)
	case !c.breaks && err != nil:
		t.Errorf("%s %s (%s): the request breaks the document: %v", c.method, c.path, route.Operation.OperationID, err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: a.status, Header: a.header, Options: validation}
	out.SetBodyBytes(a.body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s %s (%s): the answer %d %.300s does not match the document: %v", c.method, c.path, route.Operation.OperationID, a.status, a.body, err)
		return
	}
	dc.mu.Lock()
	defer dc.mu.Unlock()
	id := route.Operation.OperationID
	if dc.reached[id] == nil {
		dc.reached[id] = map[int]bool{}
	}
	dc.reached[id][a.status] = true
}

// operation is a documented operation.
type operation struct {
	method, path string
	op           *openapi3.Operation
}

func operations(doc *openapi3.T) []operation {
	var out []operation
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			out = append(out, operation{method, path, op})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].op.OperationID < out[j].op.OperationID })
	return out
}

// params returns o's parameters, the path item's and the operation's.
func (dc *docCheck) params(o operation) openapi3.Parameters {
	return slices.Concat(dc.doc.Paths.Value(o.path).Parameters, o.op.Parameters)
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// example returns o's path with each parameter replaced by its example.
func (dc *docCheck) example(t *testing.T, o operation) string {
	t.Helper()
	values := map[string]string{}
	for _, p := range dc.params(o) {
		if p.Value.In == "path" {
			if p.Value.Example == nil {
				t.Fatalf("%s: path parameter %s has no example", o.op.OperationID, p.Value.Name)
			}
			values[p.Value.Name] = url.PathEscape(fmt.Sprint(p.Value.Example))
		}
	}
	return pathParam.ReplaceAllStringFunc(o.path, func(m string) string { return values[m[1:len(m)-1]] })
}

// security returns the schemes o accepts.
func security(doc *openapi3.T, op *openapi3.Operation) []string {
	reqs := doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	var out []string
	for _, r := range reqs {
		for name := range r {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// unreached fails the test for every documented status no call reached.
func (dc *docCheck) unreached(t *testing.T) {
	t.Helper()
	var missing []string
	for _, o := range operations(dc.doc) {
		for code := range o.op.Responses.Map() {
			status, err := strconv.Atoi(code)
			if err != nil {
				t.Errorf("%s: response %q is not a status", o.op.OperationID, code)
				continue
			}
			if !dc.reached[o.op.OperationID][status] {
				missing = append(missing, fmt.Sprintf("%s %d", o.op.OperationID, status))
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("documented, never answered in this test (%d): %s", len(missing), strings.Join(missing, ", "))
	}
}

// count returns the operations and statuses reached.
func (dc *docCheck) count() (ops, statuses int) {
	for _, st := range dc.reached {
		ops++
		statuses += len(st)
	}
	return ops, statuses
}

// stalled sends c's head and half of its body, then stops, and returns the
// answer: what a client that stops sending gets.
func stalled(t *testing.T, base string, c apiCall) answer {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var head bytes.Buffer
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n", c.method, c.path, u.Host, c.contentType, len(c.body))
	if c.token != "" {
		fmt.Fprintf(&head, "Authorization: Bearer %s\r\n", c.token)
	}
	head.WriteString("\r\n")
	head.WriteString(c.body[:len(c.body)/2])
	if _, err := conn.Write(head.Bytes()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s stalled: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

// served returns the document the hub serves.
func served(t *testing.T, base string) []byte {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("openapi.json: %d %v", resp.StatusCode, err)
	}
	return b
}

// Package httperr is hutong's error shape on the wire and its one table
// from error code to HTTP status:
//
//	HTTP status  {"error": {"code": "invalid", "message": "…", "details": [{"row", "field", "rule", "message"}]}}
//
// Every server writes errors with it — the JSON API, the dashboard (its
// statuses), the hub's API for region nodes and the region node — and
// every client reads them back with it — the Go SDK, the node's client of
// the hub and the hub's client of the nodes — so a hutong.Error crosses
// each wire as itself. It imports only the standard library and the root
// package.
package httperr

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/hutong/hutong"
)

// statuses maps each error code to its HTTP status.
var statuses = map[string]int{
	hutong.EINVALID:      http.StatusBadRequest,
	hutong.ENOTFOUND:     http.StatusNotFound,
	hutong.ECONFLICT:     http.StatusConflict,
	hutong.EUNAUTHORIZED: http.StatusUnauthorized,
	hutong.EFORBIDDEN:    http.StatusForbidden,
	hutong.ERATELIMITED:  http.StatusTooManyRequests,
	hutong.EUNAVAILABLE:  http.StatusServiceUnavailable,
	hutong.EINTERNAL:     http.StatusInternalServerError,
}

// Status returns the HTTP status of an error code; 500 for a code it does
// not know.
func Status(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Code returns the error code of an HTTP status, for an answer that did
// not carry one: the code whose status it is, invalid for another 4xx,
// internal for a 5xx.
func Code(status int) string {
	for code, s := range statuses {
		if s == status {
			return code
		}
	}
	if status >= 500 {
		return hutong.EINTERNAL
	}
	return hutong.EINVALID
}

// Body is the documented error shape.
type Body struct {
	Error Detail `json:"error"`
}

// Detail is the inside of Body.
type Detail struct {
	Code    string             `json:"code"`
	Message string             `json:"message"`
	Details []hutong.Violation `json:"details,omitempty"`
}

// Write writes err in the documented shape with its code's status, and a
// Retry-After for rate_limited and unavailable. It writes only what is
// safe to show (hutong.ErrorMessage); logging an internal error is the
// caller's.
func Write(w http.ResponseWriter, err error) {
	code := hutong.ErrorCode(err)
	WriteStatus(w, Status(code), code, hutong.ErrorMessage(err), hutong.ErrorDetails(err), hutong.ErrorRetryAfter(err))
}

// WriteStatus writes an error with an explicit status: a protocol-level
// refusal such as 405, 413 or 431. retryAfter, when above 0, is sent as
// Retry-After; rate_limited always gets one.
func WriteStatus(w http.ResponseWriter, status int, code, message string, details []hutong.Violation, retryAfter int) {
	h := w.Header()
	if code == hutong.ERATELIMITED || code == hutong.EUNAVAILABLE {
		if retryAfter > 0 {
			h.Set("Retry-After", strconv.Itoa(retryAfter))
		} else if code == hutong.ERATELIMITED {
			h.Set("Retry-After", "1")
		}
	}
	b, _ := json.Marshal(Body{Error: Detail{Code: code, Message: message, Details: details}})
	b = append(b, '\n')
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// maxErrorBytes bounds the error body a client reads.
const maxErrorBytes = 1 << 20

// Read returns the error a non-2xx answer carries, as a *hutong.Error: its
// code, message and details when it is in the documented shape, else the
// code of its status (Code) and the start of its text.
func Read(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	var b Body
	if err := json.Unmarshal(raw, &b); err != nil || b.Error.Code == "" {
		text := strings.TrimSpace(string(raw))
		if len(text) > 200 {
			text = text[:200] + "…"
		}
		return &hutong.Error{Code: Code(resp.StatusCode), Message: fmt.Sprintf("%s: %s", resp.Status, text)}
	}
	e := &hutong.Error{Code: b.Error.Code, Message: b.Error.Message, Details: b.Error.Details}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = s
	}
	return e
}

// BodyError is a failure to read a request's body: past its limit (an
// *http.MaxBytesError), too slow (a deadline), or cut off. A server wraps
// every failed read of a body in it, so that what a client failed to send
// is told apart from what it sent wrong.
type BodyError struct{ Err error }

func (e *BodyError) Error() string { return "reading the request body: " + e.Err.Error() }
func (e *BodyError) Unwrap() error { return e.Err }

// TooLarge returns the status and message of err when it is a body past
// its limit (413), and ok.
func TooLarge(err error) (status int, message string, ok bool) {
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) {
		return 0, "", false
	}
	return http.StatusRequestEntityTooLarge, "the request body is larger than the limit of " + FormatBytes(mbe.Limit) + " for this endpoint", true
}

// FormatBytes writes a byte count as people read it: 64 KiB, 16 MiB.
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

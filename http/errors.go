package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/httperr"
)

// writeError writes err in the documented shape (package httperr). Only
// internal errors are logged in full; their text never reaches the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := hutong.ErrorCode(err)
	status := httperr.Status(code)
	msg := hutong.ErrorMessage(err)
	var he *httpError
	var be *httperr.BodyError
	switch {
	case errors.As(err, &he):
		code, status, msg = he.code, he.status, he.msg
	case errors.As(err, &be):
		code = hutong.EINVALID
		status, msg = s.bodyErrorStatus(be)
	case errors.As(err, new(*http.MaxBytesError)):
		code = hutong.EINVALID
		status, msg, _ = httperr.TooLarge(err)
	case errors.Is(err, r.Context().Err()) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		code, status, msg = hutong.EUNAVAILABLE, 499, "request cancelled"
	case code == hutong.EINTERNAL:
		s.Logger.ErrorContext(r.Context(), "internal error", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	if unreadBody(r) {
		// Refused before the body was read (too large, not allowed, a
		// wrong type): close rather than read it to reuse the connection.
		w.Header().Set("Connection", "close")
	}
	httperr.WriteStatus(w, status, code, msg, hutong.ErrorDetails(err), hutong.ErrorRetryAfter(err))
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// decodeJSON reads one JSON object from the body into v. Unknown fields,
// trailing data and a wrong content type are EINVALID; a body that could
// not be read (too large, too slow, cut off) is the *bodyError that
// writeError answers with 413, 408 or 400.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return hutong.Errorf(hutong.EINVALID, "Content-Type %q: this endpoint takes application/json", ct)
	}
	// The body is read whole (it is bounded by its route's limit) so that
	// text that is not UTF-8 is refused rather than replaced by U+FFFD, as
	// encoding/json would.
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return jsonError(err)
	}
	if !utf8.Valid(b) {
		at := 0
		for at < len(b) {
			r, size := utf8.DecodeRune(b[at:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			at += size
		}
		return &hutong.Error{Code: hutong.EINVALID, Message: fmt.Sprintf("the body is not valid UTF-8 at byte %d", at),
			Details: []hutong.Violation{{Rule: "utf8", Message: fmt.Sprintf("not valid UTF-8 at byte %d", at)}}}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return jsonError(err)
		}
		return hutong.Errorf(hutong.EINVALID, "the body has data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var be *httperr.BodyError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &be), errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return hutong.Errorf(hutong.EINVALID, "the body is empty: a JSON object is needed")
	case errors.As(err, &se):
		return hutong.Errorf(hutong.EINVALID, "the body is not valid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		return &hutong.Error{Code: hutong.EINVALID, Message: "field " + te.Field + " must be " + jsonType(te.Type.Kind().String()) + ", not " + te.Value,
			Details: []hutong.Violation{{Field: te.Field, Rule: "type", Message: "must be " + jsonType(te.Type.Kind().String())}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &hutong.Error{Code: hutong.EINVALID, Message: "unknown field " + field,
			Details: []hutong.Violation{{Field: field, Rule: "unknown_field", Message: "not a field of this object"}}}
	}
	return hutong.Errorf(hutong.EINVALID, "the body is not valid JSON: %v", err)
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "float64", "uint":
		return "a number"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return kind
}

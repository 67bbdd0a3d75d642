// Package hutong is the vocabulary of the hutong data-sharing hub: the domain
// types, the service interfaces and the error codes that every other package
// speaks. It imports only the standard library; the subpackages implement the
// interfaces (sqlite, postgres), serve them (http) or wire them (cmd/hutong).
package hutong

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. They are part of the outside contract: the HTTP layer maps
// each to one status and writes it as {"error": {"code": …, "message": …}}.
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ERATELIMITED  = "rate_limited"
	EUNAVAILABLE  = "unavailable"
	EINTERNAL     = "internal"
)

// Error is hutong's one error type. Code says what kind of failure it is;
// Message is written for the person who made the call and says what to change.
// Details list every problem of a bulk operation (one import row, one field).
type Error struct {
	Code    string
	Message string
	Details []Violation

	// RetryAfter is, for ERATELIMITED and EUNAVAILABLE, the seconds after
	// which the call may succeed; 0 when unknown.
	RetryAfter int

	// Err is the underlying cause, kept for logs; it is never shown to clients.
	Err error
}

// Violation is one broken rule in a request or an imported file: where it is
// (row, field) and which rule it broke, so a person can find and fix it.
type Violation struct {
	Row     int    `json:"row,omitempty"`   // 1-based data row; 0 when not row-bound
	Field   string `json:"field,omitempty"` // item, column or JSON field name
	Rule    string `json:"rule"`            // machine-readable rule id, e.g. "check_digit"
	Message string `json:"message"`
}

func (v Violation) String() string {
	var b strings.Builder
	if v.Row > 0 {
		fmt.Fprintf(&b, "row %d: ", v.Row)
	}
	if v.Field != "" {
		fmt.Fprintf(&b, "%s: ", v.Field)
	}
	b.WriteString(v.Message)
	return b.String()
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil && e.Code == EINTERNAL {
		return fmt.Sprintf("hutong %s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("hutong %s: %s", e.Code, e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error that lists violations. The message
// summarises them; callers read Details for the full list.
func Invalid(summary string, vs []Violation) *Error {
	msg := summary
	if len(vs) > 0 {
		msg = fmt.Sprintf("%s: %s", summary, vs[0])
		if len(vs) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(vs)-1)
		}
	}
	return &Error{Code: EINVALID, Message: msg, Details: vs}
}

// Internal wraps err as an EINTERNAL error. Its message never reaches clients.
func Internal(err error) *Error {
	return &Error{Code: EINTERNAL, Message: "internal error", Err: err}
}

// ErrorCode returns the code of err: the Code of an *Error found in its chain,
// "" for nil, and EINTERNAL for any other error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of err that is safe to show to a client:
// the Message of an *Error in its chain, or a generic text for anything else.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "internal error"
}

// ErrorDetails returns the violations carried by err, if any.
func ErrorDetails(err error) []Violation {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}

// ErrorRetryAfter returns the RetryAfter seconds of err, or 0.
func ErrorRetryAfter(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

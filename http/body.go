package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/httperr"
)

// Body limits. Each route of the API names the limit of its body in the
// route table; the dashboard's forms take SmallBodyBytes. A body whose
// declared Content-Length is past its route's limit is answered 413 without
// a byte of it read; a chunked body is cut at the limit (413 too).
const (
	// SmallBodyBytes bounds the JSON of sign-in, requests, approvals, keys
	// and every other small call, and the dashboard's forms.
	SmallBodyBytes = 64 << 10
	// ResourceBodyBytes bounds a resource's JSON (publish, update): room for
	// 200 items with long names.
	ResourceBodyBytes = 256 << 10
	// DefaultMaxBodyBytes bounds row imports when Server.MaxBodyBytes is 0.
	DefaultMaxBodyBytes = 64 << 20
	// DefaultMaxCatalogBytes bounds catalog imports when
	// Server.MaxCatalogBytes is 0.
	DefaultMaxCatalogBytes = 16 << 20
	// DefaultReadTimeout bounds the reading of a request, headers and
	// body, when Server.ReadTimeout is 0. Import bodies get longer (see
	// MinUploadRate).
	DefaultReadTimeout = 30 * time.Second
	// MinUploadRate is the slowest mean rate at which an import's body is
	// awaited: a route whose limit takes longer than the read timeout to
	// arrive at this rate gets that long (64 MiB of rows: 17 minutes).
	MinUploadRate = 64 << 10
)

// bodyLimit names the body limit of a route.
type bodyLimit int

const (
	smallBody    bodyLimit = iota // SmallBodyBytes
	resourceBody                  // ResourceBodyBytes
	catalogBody                   // Server.MaxCatalogBytes
	rowsBody                      // Server.MaxBodyBytes
	uploadBody                    // hutong.MaxUploadBytes
)

// limit returns the bytes a body of class c may have.
func (s *Server) limit(c bodyLimit) int64 {
	switch c {
	case resourceBody:
		return ResourceBodyBytes
	case catalogBody:
		return s.MaxCatalogBytes
	case rowsBody:
		return s.MaxBodyBytes
	case uploadBody:
		if s.MaxUploadBytes > 0 {
			return s.MaxUploadBytes
		}
		return hutong.MaxUploadBytes
	}
	return SmallBodyBytes
}

// admitBody bounds r's body to limit bytes before anything reads it: the
// body is wrapped so that every failed read is a *httperr.BodyError, reading past
// the limit fails with a *http.MaxBytesError (which writeError answers
// 413), and a body whose declared length is past the limit fails so on its
// first read, before a byte of it is taken from the connection. The handler
// decides first whether it reads at all: a caller it refuses (no right, no
// token) gets that answer, without the body read either. A limit that cannot
// arrive within the server's read timeout at MinUploadRate extends the
// connection's read deadline to the time it can.
func (s *Server) admitBody(w http.ResponseWriter, r *http.Request, limit int64) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	b := &requestBody{raw: r.Body, rc: http.MaxBytesReader(w, r.Body, limit)}
	if r.ContentLength > limit {
		b.refuse = &http.MaxBytesError{Limit: limit}
	}
	r.Body = b
	// Kept in the context too: a handler may wrap r.Body (to peek at it).
	*r = *r.WithContext(context.WithValue(r.Context(), bodyKey{}, b))
	if d := time.Duration(limit/MinUploadRate) * time.Second; d > s.ReadTimeout && b.refuse == nil {
		// The deadline of the body's reads; the server clears it once
		// the body is read, so a long answer is not cut.
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
	}
}

// bodyKey is the context key of a request's *requestBody.
type bodyKey struct{}

// admittedBody returns the body admitBody wrapped for r, or nil.
func admittedBody(r *http.Request) *requestBody {
	b, _ := r.Context().Value(bodyKey{}).(*requestBody)
	return b
}

// requestBody is a request's body as the handlers read it: bounded, and
// with every failed read a *httperr.BodyError, so that what the client failed to
// send is told apart from what it sent wrong.
type requestBody struct {
	raw    io.ReadCloser // the body as the server gave it
	rc     io.ReadCloser // raw, bounded
	refuse error         // the declared length is past the limit: fail before reading
	n      int64         // bytes read
	done   bool          // read to its end
	failed bool          // a read failed (too slow, cut off)
}

func (b *requestBody) Read(p []byte) (int, error) {
	if b.refuse != nil {
		return 0, &httperr.BodyError{Err: b.refuse}
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	switch {
	case err == io.EOF:
		b.done = true
	case err != nil:
		b.failed = true
		err = &httperr.BodyError{Err: err}
	}
	return n, err
}

func (b *requestBody) Close() error { return b.rc.Close() }

// bodyErrorStatus returns the status and message of a failed body read.
func (s *Server) bodyErrorStatus(e *httperr.BodyError) (int, string) {
	if status, msg, ok := httperr.TooLarge(e); ok {
		return status, msg
	}
	if errors.Is(e, os.ErrDeadlineExceeded) {
		return http.StatusRequestTimeout, fmt.Sprintf("the request body did not arrive in time (a body is awaited for %s, an import's at %s/s at least)", s.ReadTimeout, httperr.FormatBytes(MinUploadRate))
	}
	return http.StatusBadRequest, "the request body could not be read to its end (the connection was cut, or its encoding is broken)"
}

// unreadBody reports whether r's body may still hold bytes that no handler
// read: the connection must then close after the answer, or the server
// would read (up to 256 KiB of) the body before answering.
func unreadBody(r *http.Request) bool {
	if b := admittedBody(r); b != nil {
		return !b.done
	}
	return r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
}

// Lingering: when the hub refuses a request without reading its body, it
// sends the answer and then reads and discards the rest of a body of at
// most lingerBytes for at most lingerTime before it closes the connection.
// A client still sending then finishes and reads the answer; closing a
// connection with unread data would reset it, and the client would see a
// reset instead of the refusal. A larger body is not drained: its
// connection is closed at once.
const (
	lingerBytes = 4 << 20
	lingerTime  = 5 * time.Second
)

// linger drains what is left of r's body, if it was refused unread (not
// given up on: a stalled or cut body is not waited for again) and is small
// enough, after flushing the answer, which carries its Content-Length so
// the client need not wait for the end of the connection to read it.
func linger(w http.ResponseWriter, r *http.Request) {
	b := admittedBody(r)
	if b == nil || b.done || b.failed || r.ContentLength < 0 || r.ContentLength-b.n > lingerBytes || w.Header().Get("Content-Length") == "" {
		return
	}
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}
	rc.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, b.raw, r.ContentLength-b.n)
}

// spoolBody copies body into a temporary file, so that a large upload is
// parsed from disk rather than from memory, and returns the file and its
// size. The caller closes it with the returned function, which removes it.
func spoolBody(body io.Reader) (*os.File, int64, func(), error) {
	f, err := os.CreateTemp("", "hutong-upload-*")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("spool the body: %w", err)
	}
	done := func() {
		f.Close()
		os.Remove(f.Name())
	}
	n, err := io.Copy(f, body)
	if err != nil {
		done()
		var be *httperr.BodyError
		if errors.As(err, &be) {
			return nil, 0, nil, be
		}
		return nil, 0, nil, fmt.Errorf("spool the body: %w", err)
	}
	return f, n, done, nil
}

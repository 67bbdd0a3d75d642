package ledger

import (
	"bytes"
	"io"
	"net/http"
	"strings"
)

// InProcessHost is the host name of witnesses that run in this process:
// the log reaches them through InProcess, not the network, so publishing a
// checkpoint needs no listening server (at start and at shutdown).
const InProcessHost = "witness.in-process"

// InProcessURL returns the URL of the in-process witness of region.
func InProcessURL(region string) string { return "http://" + InProcessHost + "/" + region }

// InProcess returns a RoundTripper that hands requests for InProcessHost to
// the witness of their first path segment, and any other request to
// fallback (http.DefaultTransport when nil).
func InProcess(witnesses map[string]http.Handler, fallback http.RoundTripper) http.RoundTripper {
	if fallback == nil {
		fallback = http.DefaultTransport
	}
	return roundTripper{witnesses: witnesses, fallback: fallback}
}

type roundTripper struct {
	witnesses map[string]http.Handler
	fallback  http.RoundTripper
}

func (t roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != InProcessHost {
		return t.fallback.RoundTrip(r)
	}
	region, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	w := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
	h, ok := t.witnesses[region]
	if !ok {
		w.status = http.StatusNotFound
	} else {
		h.ServeHTTP(w, r)
	}
	return &http.Response{
		Status:        http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.header,
		Body:          io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: int64(w.body.Len()),
		Request:       r,
	}, nil
}

// bufferedResponse collects what a handler writes.
type bufferedResponse struct {
	header      http.Header
	body        bytes.Buffer
	status      int
	wroteHeader bool
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if !b.wroteHeader {
		b.status, b.wroteHeader = code, true
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.wroteHeader = true
	return b.body.Write(p)
}

package http

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hutong/hutong"
)

// PurposeHeader carries the purpose (用途) of an exchange call, as UTF-8
// text or percent-encoded.
const PurposeHeader = "Hutong-Purpose"

// ReceiptHeader carries the receipt of a released answer's audit entry.
const ReceiptHeader = "Hutong-Receipt"

// FormatReceipt writes a receipt as the Hutong-Receipt header value.
func FormatReceipt(r *hutong.Receipt) string {
	return fmt.Sprintf("origin=%s; index=%d; hash=%s", r.Origin, r.Index, base64.StdEncoding.EncodeToString(r.Hash))
}

// ParseReceipt reads a Hutong-Receipt header value.
func ParseReceipt(s string) (*hutong.Receipt, error) {
	var r hutong.Receipt
	seen := 0
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("receipt %q: %q is not key=value", s, part)
		}
		switch k {
		case "origin":
			r.Origin = v
		case "index":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("receipt %q: index: %w", s, err)
			}
			r.Index = n
		case "hash":
			h, err := base64.StdEncoding.DecodeString(v)
			if err != nil || len(h) != 32 {
				return nil, fmt.Errorf("receipt %q: hash is not a base64 SHA-256", s)
			}
			r.Hash = h
		default:
			continue
		}
		seen++
	}
	if seen != 3 {
		return nil, fmt.Errorf("receipt %q: want origin, index and hash", s)
	}
	return &r, nil
}

// purpose reads the purpose header: UTF-8 text, or percent-encoded UTF-8
// for clients that keep headers ASCII. It decodes percent-encoding only
// when the whole value is ASCII and well-formed percent-encoding of UTF-8;
// anything else is the text as sent (so 提升%效率 and 100% stay as they
// are), and text that is not UTF-8 is passed on for the exchange to refuse
// (and audit), never replaced.
func purpose(r *http.Request) string {
	p := strings.TrimSpace(r.Header.Get(PurposeHeader))
	if strings.Contains(p, "%") && isASCII(p) {
		if u, err := url.PathUnescape(p); err == nil && utf8.ValidString(u) {
			return strings.TrimSpace(u)
		}
	}
	return p
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// recordQuery reads an exchange call from the URL. Malformed parameters are
// passed on for the exchange to refuse, so that every call is audited.
func recordQuery(r *http.Request) hutong.RecordQuery {
	q := r.URL.Query()
	rq := hutong.RecordQuery{
		Resource:   r.PathValue("code"),
		Purpose:    purpose(r),
		Cursor:     q.Get("cursor"),
		FilterText: q["filter"],
	}
	for _, fs := range q["fields"] {
		for _, f := range strings.Split(fs, ",") {
			if f = strings.TrimSpace(f); f != "" {
				rq.Fields = append(rq.Fields, f)
			}
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			n = -1 // refused by the exchange
		}
		rq.Limit = n
	}
	return rq
}

func (s *Server) handleRecords(w http.ResponseWriter, r *http.Request) error {
	page, err := s.Exchange.Records(r.Context(), recordQuery(r))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set(ReceiptHeader, FormatReceipt(page.Receipt))
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, err = w.Write(page.Body)
	return err
}

func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "ndjson"
	}
	q := recordQuery(r)
	started := false
	_, err := s.Exchange.Export(r.Context(), q, format, w, func(rec *hutong.Receipt) {
		started = true
		h := w.Header()
		h.Set(ReceiptHeader, FormatReceipt(rec))
		h.Set("Cache-Control", "no-store")
		if format == "csv" {
			h.Set("Content-Type", "text/csv; charset=utf-8")
		} else {
			h.Set("Content-Type", "application/x-ndjson")
		}
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, q.Resource, format))
		w.WriteHeader(http.StatusOK)
	})
	if err != nil && started {
		// Headers are out: cut the connection so the client sees a broken
		// stream rather than a short one that looks whole.
		s.Logger.WarnContext(r.Context(), "export aborted", "resource", q.Resource, "err", err)
		panic(http.ErrAbortHandler)
	}
	return err
}

// decodeOptionalJSON is decodeJSON for bodies that may be empty.
func decodeOptionalJSON(r *http.Request, v any) error {
	br := bufio.NewReader(r.Body)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		return nil
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{br, r.Body}
	return decodeJSON(r, v)
}

func (s *Server) handleCreateRequest(w http.ResponseWriter, r *http.Request) error {
	var in hutong.RequestInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	req, err := s.Requests.CreateRequest(r.Context(), &in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/requests/"+req.ID)
	return writeJSON(w, http.StatusCreated, req)
}

// maxRequestsPage is the most requests one listing returns (the store's
// limit; 200 when the caller names none).
const maxRequestsPage = 1000

func (s *Server) handleRequests(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := hutong.RequestFilter{Box: q.Get("box"), Status: hutong.RequestStatus(q.Get("status"))}
	var err error
	if f.Overdue, err = queryBool(r, "overdue"); err != nil {
		return err
	}
	if f.Limit, err = queryLimit(r, maxRequestsPage); err != nil {
		return err
	}
	reqs, err := s.Requests.Requests(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(reqs))
}

func (s *Server) handleRequest(w http.ResponseWriter, r *http.Request) error {
	req, err := s.Requests.Request(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, req)
}

func (s *Server) handleApprove(w http.ResponseWriter, r *http.Request) error {
	var n hutong.Narrowing
	if err := decodeOptionalJSON(r, &n); err != nil {
		return err
	}
	req, err := s.Requests.Approve(r.Context(), r.PathValue("id"), n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, req)
}

// reason is the body of a rejection or a revocation.
type reason struct {
	Reason string `json:"reason"`
}

func (s *Server) handleReject(w http.ResponseWriter, r *http.Request) error {
	var in reason
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	req, err := s.Requests.Reject(r.Context(), r.PathValue("id"), in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, req)
}

func (s *Server) handleRemind(w http.ResponseWriter, r *http.Request) error {
	req, err := s.Requests.Remind(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, req)
}

func (s *Server) handleAgreements(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := hutong.AgreementFilter{Role: q.Get("role"), Resource: q.Get("resource")}
	var err error
	if f.Active, err = queryBool(r, "active"); err != nil {
		return err
	}
	ags, err := s.Requests.Agreements(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(ags))
}

func (s *Server) handleAgreement(w http.ResponseWriter, r *http.Request) error {
	ag, err := s.Requests.Agreement(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if s.PolicyText != nil {
		c := *ag
		if c.Policy, err = s.PolicyText(ag); err != nil {
			return err
		}
		ag = &c
	}
	return writeJSON(w, http.StatusOK, ag)
}

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) error {
	var in reason
	if err := decodeOptionalJSON(r, &in); err != nil {
		return err
	}
	ag, err := s.Requests.RevokeAgreement(r.Context(), r.PathValue("id"), in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ag)
}

func (s *Server) handleNotifications(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.Requests.Notifications(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(ns))
}

package http

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hutong/hutong"
)

func (s *Server) ledger() (hutong.Ledger, error) {
	if s.Ledger == nil {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "this hub runs no ledger")
	}
	return s.Ledger, nil
}

func (s *Server) handleLedgerKeys(w http.ResponseWriter, r *http.Request) error {
	l, err := s.ledger()
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-cache")
	return writeJSON(w, http.StatusOK, l.Keys())
}

// handleLedgerFile serves the log's public files as C2SP tlog-tiles lays
// them out: the checkpoint, and tiles and entry bundles under tile/.
func (s *Server) handleLedgerFile(w http.ResponseWriter, r *http.Request) error {
	if s.LedgerDir == "" {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub runs no ledger")
	}
	name := strings.TrimPrefix(r.URL.Path, "/ledger/")
	if name != "checkpoint" && !strings.HasPrefix(name, "tile/") || !fs.ValidPath(name) || strings.Contains(name, "/.") {
		return hutong.Errorf(hutong.ENOTFOUND, "no ledger file %q", name)
	}
	b, err := fs.ReadFile(os.DirFS(s.LedgerDir), name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
		return hutong.Errorf(hutong.ENOTFOUND, "no ledger file %q", name)
	}
	if err != nil {
		return err
	}
	h := w.Header()
	switch {
	case name == "checkpoint":
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
	case strings.Contains(path.Dir(name), ".p") || strings.Contains(name, ".p/"):
		// Partial tiles and bundles are replaced as the log grows.
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Cache-Control", "no-cache")
	default:
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	_, err = w.Write(b)
	return err
}

// handleWitness hands an add-checkpoint request to a region's in-process
// witness. The hub's own log reaches them without this route (in
// process); a log elsewhere must present WitnessToken, so that strangers
// cannot post to the witnesses.
func (s *Server) handleWitness(w http.ResponseWriter, r *http.Request) error {
	token, _ := bearer(r)
	if s.WitnessToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.WitnessToken)) != 1 {
		return hutong.Errorf(hutong.EUNAUTHORIZED, "only the log these witnesses follow may submit checkpoints to them")
	}
	h, ok := s.Witnesses[r.PathValue("region")]
	if !ok {
		return hutong.Errorf(hutong.ENOTFOUND, "no witness for region %q here", r.PathValue("region"))
	}
	// Read the body here, so that one too large or too slow is refused
	// (413, 408) as on every other route, not as the witness's 400.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h.ServeHTTP(w, r)
	return nil
}

func (s *Server) handleReceipt(w http.ResponseWriter, r *http.Request) error {
	l, err := s.ledger()
	if err != nil {
		return err
	}
	index, err := strconv.ParseUint(r.PathValue("index"), 10, 63)
	if err != nil {
		return hutong.Errorf(hutong.EINVALID, "index %q must be a non-negative integer", r.PathValue("index"))
	}
	p, err := l.Receipt(r.Context(), index)
	if err != nil {
		return err
	}
	if may, err := s.mayOpen(r, index); err != nil {
		return err
	} else if !may {
		p = p.Sealed() // the commitment's proof, not the entry
	}
	return writeJSON(w, http.StatusOK, p)
}

// mayOpen reports whether the caller may see entry index in full.
func (s *Server) mayOpen(r *http.Request, index uint64) (bool, error) {
	if s.Entries == nil {
		return false, nil
	}
	return s.Entries.MayOpen(r.Context(), index)
}

func (s *Server) handleReceiptBundle(w http.ResponseWriter, r *http.Request) error {
	l, err := s.ledger()
	if err != nil {
		return err
	}
	index, err := strconv.ParseUint(r.PathValue("index"), 10, 63)
	if err != nil {
		return hutong.Errorf(hutong.EINVALID, "index %q must be a non-negative integer", r.PathValue("index"))
	}
	if s.Entries == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub serves no ledger entries")
	}
	b, err := hutong.Bundle(r.Context(), l, s.Entries, s.Directory, index, hutong.BundleWait)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="hutong-receipt-%d.json"`, index))
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, b)
}

func (s *Server) handleEntries(w http.ResponseWriter, r *http.Request) error {
	if s.Entries == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub serves no ledger entries")
	}
	q := r.URL.Query()
	f := hutong.EntryFilter{Resource: q.Get("resource"), Department: q.Get("department"), Kind: q.Get("kind"), Cursor: q.Get("cursor")}
	for name, v := range map[string]string{"resource": f.Resource, "department": f.Department, "kind": f.Kind, "cursor": f.Cursor} {
		if len(v) > 64 {
			return hutong.Errorf(hutong.EINVALID, "%s must be at most 64 bytes, not %d", name, len(v))
		}
	}
	var err error
	if m := q.Get("mine"); m != "" {
		if f.Mine, err = strconv.ParseBool(m); err != nil {
			return hutong.Errorf(hutong.EINVALID, "mine %q must be true or false", hutong.ClipText(m, 20))
		}
	}
	if f.From, err = parseDay(r, "from"); err != nil {
		return err
	}
	if f.To, err = parseDay(r, "to"); err != nil {
		return err
	}
	if t := q.Get("to"); len(t) == len(time.DateOnly) {
		f.To = f.To.AddDate(0, 0, 1) // a date "to" includes that day
	}
	if f.Limit, err = queryInt(r, "limit"); err != nil {
		return err
	}
	if q.Has("limit") && (f.Limit < 1 || f.Limit > hutong.MaxEntriesPage) {
		return hutong.Errorf(hutong.EINVALID, "limit must be between 1 and %d", hutong.MaxEntriesPage)
	}
	page, err := s.Entries.Entries(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

func (s *Server) handleEntry(w http.ResponseWriter, r *http.Request) error {
	if s.Entries == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub serves no ledger entries")
	}
	index, err := strconv.ParseUint(r.PathValue("index"), 10, 63)
	if err != nil {
		return hutong.Errorf(hutong.EINVALID, "index %q must be a non-negative integer", r.PathValue("index"))
	}
	e, err := s.Entries.Entry(r.Context(), index)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

// parseDay reads a query time: YYYY-MM-DD (the start of that day in China
// Standard Time) or RFC 3339.
func parseDay(r *http.Request, name string) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, hutong.ChinaTime)
	if err != nil {
		return time.Time{}, hutong.Errorf(hutong.EINVALID, "%s %q must be YYYY-MM-DD or RFC 3339", name, s)
	}
	return t, nil
}

func (s *Server) handleFeedback(w http.ResponseWriter, r *http.Request) error {
	if s.Feedback == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub keeps no feedback")
	}
	f := hutong.FeedbackFilter{Provider: r.URL.Query().Get("department")}
	if f.Provider == "" {
		f.Provider = hutong.ActorFromContext(r.Context()).Department()
	}
	var err error
	if f.From, err = parseDay(r, "from"); err != nil {
		return err
	}
	if f.To, err = parseDay(r, "to"); err != nil {
		return err
	}
	if q := r.URL.Query().Get("to"); len(q) == len(time.DateOnly) {
		f.To = f.To.AddDate(0, 0, 1) // a date "to" includes that day
	}
	fb, err := s.Feedback.Feedback(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, fb)
}

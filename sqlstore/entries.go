package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/hutong/hutong"
)

// LedgerEntries serves the journal's entries to their parties
// (hutong.LedgerEntries): in full to whoever may open them
// (hutong.Actor.MayOpen), sealed to anyone else signed in.
type LedgerEntries struct{ db *DB }

var _ hutong.LedgerEntries = (*LedgerEntries)(nil)

// NewLedgerEntries returns the entries service of db's journal.
func NewLedgerEntries(db *DB) *LedgerEntries { return &LedgerEntries{db: db} }

func (s *LedgerEntries) regionOf(dept string) string {
	if d := s.db.department(dept); d != nil {
		return d.Region
	}
	return ""
}

// Entries returns a page of entries. With a filter on what entries say
// (time, resource, department, kind) it lists only the matching entries
// the actor may open: a filter must not tell a stranger which sealed
// entries match it. Without one it lists every entry of the index range,
// each in full or sealed.
func (s *LedgerEntries) Entries(ctx context.Context, f hutong.EntryFilter) (*hutong.EntryPage, error) {
	a := hutong.ActorFromContext(ctx)
	if a == nil {
		return nil, hutong.Errorf(hutong.EUNAUTHORIZED, "the ledger's entries are for signed-in users and application keys")
	}
	switch {
	case f.Limit == 0:
		f.Limit = hutong.DefaultEntriesPage
	case f.Limit < 0 || f.Limit > hutong.MaxEntriesPage:
		return nil, hutong.Errorf(hutong.EINVALID, "limit %d must be between 1 and %d", f.Limit, hutong.MaxEntriesPage)
	}
	after := int64(-1)
	if f.Cursor != "" {
		n, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil || n < 0 {
			return nil, hutong.Errorf(hutong.EINVALID, "cursor %q was not issued by this endpoint", hutong.ClipText(f.Cursor, 40))
		}
		after = n
	}
	q := `SELECT idx, salt, entry FROM audit_log WHERE idx > ?`
	args := []any{after}
	filtered := f.Mine
	if !f.From.IsZero() {
		q, args, filtered = q+` AND time >= ?`, append(args, utc(f.From)), true
	}
	if !f.To.IsZero() {
		q, args, filtered = q+` AND time < ?`, append(args, utc(f.To)), true
	}
	if f.Resource != "" {
		q, args, filtered = q+` AND resource = ?`, append(args, f.Resource), true
	}
	if f.Department != "" {
		q, args, filtered = q+` AND (department = ? OR provider = ?)`, append(args, f.Department, f.Department), true
	}
	if f.Kind != "" {
		q, args, filtered = q+` AND kind = ?`, append(args, f.Kind), true
	}
	if dept := a.Department(); filtered && dept != "" && !a.Has(hutong.RoleAdmin) && !a.Has(hutong.RoleAuditor) && !a.Has(hutong.RoleRegionAdmin) {
		// A department opens its own entries only: let the database
		// find them rather than reading the whole journal past them.
		q, args = q+` AND (department = ? OR provider = ?)`, append(args, dept, dept)
	}
	page := &hutong.EntryPage{Items: []hutong.LedgerEntry{}}
	// Reading stops once a page is full; filtered reads skip what the
	// actor may not open, so they read on in chunks, up to maxEntriesScan
	// entries a call: past that the page ends early with a cursor, so that
	// no call reads the whole journal for one who opens little of it.
	scanned, chunk := 0, f.Limit+1
	if filtered {
		chunk = max(chunk, 256)
	}
	for {
		rows, err := s.db.auditRO.QueryContext(ctx, s.db.q(q+` ORDER BY idx LIMIT ?`), append(args, chunk)...)
		if err != nil {
			return nil, internal(err)
		}
		n, last := 0, after
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			n++
			last = int64(e.Index)
			le := s.view(a, e)
			if filtered && le.Entry == nil {
				continue
			}
			if len(page.Items) == f.Limit {
				page.NextCursor = strconv.FormatUint(page.Items[len(page.Items)-1].Index, 10)
				break
			}
			page.Items = append(page.Items, le)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, internal(err)
		}
		if page.NextCursor != "" || n < chunk {
			break // the page is full, or the journal has no more
		}
		if scanned += n; scanned >= maxEntriesScan {
			page.NextCursor = strconv.FormatInt(last, 10)
			break
		}
		after, args[0] = last, last
	}
	return page, nil
}

// maxEntriesScan bounds the journal entries one filtered call reads.
const maxEntriesScan = 20 * hutong.MaxEntriesPage

// Entry returns entry index as the actor may see it.
func (s *LedgerEntries) Entry(ctx context.Context, index uint64) (*hutong.LedgerEntry, error) {
	a := hutong.ActorFromContext(ctx)
	if a == nil {
		return nil, hutong.Errorf(hutong.EUNAUTHORIZED, "the ledger's entries are for signed-in users and application keys")
	}
	e, err := s.entry(ctx, index)
	if err != nil {
		return nil, err
	}
	le := s.view(a, e)
	return &le, nil
}

// MayOpen reports whether the actor may see entry index in full.
func (s *LedgerEntries) MayOpen(ctx context.Context, index uint64) (bool, error) {
	e, err := s.entry(ctx, index)
	if err != nil {
		return false, err
	}
	var ev hutong.AuditEvent
	json.Unmarshal(e.Data, &ev)
	return hutong.ActorFromContext(ctx).MayOpen(&ev, s.regionOf), nil
}

func (s *LedgerEntries) entry(ctx context.Context, index uint64) (hutong.LogEntry, error) {
	e, err := scanEntry(s.db.auditRO.QueryRowContext(ctx, s.db.q(`SELECT idx, salt, entry FROM audit_log WHERE idx = ?`), int64(index)))
	if errors.Is(err, sql.ErrNoRows) {
		return e, hutong.Errorf(hutong.ENOTFOUND, "the ledger has no entry %d", index)
	}
	return e, err
}

// view returns e as a may see it: in full, or sealed.
func (s *LedgerEntries) view(a *hutong.Actor, e hutong.LogEntry) hutong.LedgerEntry {
	le := hutong.LedgerEntry{Index: e.Index, Commitment: hutong.Commitment(e.Salt, e.Data)}
	var ev hutong.AuditEvent
	if json.Unmarshal(e.Data, &ev) == nil && a.MayOpen(&ev, s.regionOf) {
		le.Entry, le.Salt = json.RawMessage(e.Data), e.Salt
	}
	return le
}

func scanEntry(sc interface{ Scan(...any) error }) (hutong.LogEntry, error) {
	var e hutong.LogEntry
	var idx int64
	var entry string
	if err := sc.Scan(&idx, &e.Salt, &entry); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return e, err
		}
		return e, internal(err)
	}
	e.Index, e.Data = uint64(idx), []byte(entry)
	e.LeafHash = hutong.LeafHash(hutong.Commitment(e.Salt, e.Data))
	return e, nil
}

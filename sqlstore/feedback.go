package sqlstore

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/hutong/hutong"
)

// Feedback implements hutong.FeedbackService from the audit journal, the
// same entries, in the same order and with the same indexes, as the
// ledger holds.
type Feedback struct{ db *DB }

var _ hutong.FeedbackService = (*Feedback)(nil)

// NewFeedback returns the feedback service of db.
func NewFeedback(db *DB) *Feedback { return &Feedback{db: db} }

// maxFeedbackPeriod bounds one feedback query.
const maxFeedbackPeriod = 366 * 24 * time.Hour

// Feedback reports the use of a provider's resources.
func (s *Feedback) Feedback(ctx context.Context, f hutong.FeedbackFilter) (*hutong.Feedback, error) {
	a := hutong.ActorFromContext(ctx)
	dept := s.db.department(f.Provider)
	switch {
	case f.Provider == "":
		return nil, hutong.Errorf(hutong.EINVALID, "name the providing department")
	case dept == nil:
		return nil, hutong.Errorf(hutong.ENOTFOUND, "department %q not found", f.Provider)
	case a == nil:
		return nil, hutong.Errorf(hutong.EUNAUTHORIZED, "sign in to read feedback")
	case a.IsAdmin() || a.Has(hutong.RoleAuditor) || a.Department() == f.Provider || a.AdministersRegion(dept.Region):
	default:
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "feedback on %s is for its own users, its region admin and auditors", dept.Name)
	}
	switch {
	case f.To.IsZero() && f.From.IsZero():
		f.To = s.db.now()
		f.From = f.To.Add(-30 * 24 * time.Hour)
	case f.To.IsZero():
		f.To = f.From.Add(30 * 24 * time.Hour)
	case f.From.IsZero():
		f.From = f.To.Add(-30 * 24 * time.Hour)
	}
	if !f.From.Before(f.To) || f.To.Sub(f.From) > maxFeedbackPeriod {
		return nil, hutong.Errorf(hutong.EINVALID, "the period must start before it ends and last at most 366 days")
	}

	rows, err := s.db.auditRO.QueryContext(ctx, s.db.q(`SELECT idx, entry FROM audit_log
		WHERE provider = ? AND time >= ? AND time < ? AND kind IN (?, ?, ?) ORDER BY idx`),
		f.Provider, utc(f.From), utc(f.To), hutong.AuditRead, hutong.AuditExport, hutong.AuditExportDone)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	type key struct{ day, resource, consumer string }
	lines := map[key]*hutong.FeedbackLine{}
	for rows.Next() {
		var idx int64
		var entry string
		if err := rows.Scan(&idx, &entry); err != nil {
			return nil, internal(err)
		}
		var e hutong.AuditEvent
		if err := json.Unmarshal([]byte(entry), &e); err != nil {
			return nil, internal(err)
		}
		k := key{e.Time.In(hutong.ChinaTime).Format(time.DateOnly), e.Resource, e.Department}
		l, ok := lines[k]
		if !ok {
			l = &hutong.FeedbackLine{Day: k.day, Resource: k.resource, Consumer: k.consumer, Fields: []string{}, Purposes: []string{}, Entries: []uint64{}}
			lines[k] = l
		}
		addFeedback(l, &e, uint64(idx))
	}
	if err := rows.Err(); err != nil {
		return nil, internal(err)
	}
	out := &hutong.Feedback{Provider: f.Provider, From: f.From.UTC(), To: f.To.UTC(), Lines: []hutong.FeedbackLine{}}
	for _, l := range lines {
		if d := s.db.department(l.Consumer); d != nil {
			l.ConsumerName = d.Name
		}
		if r := s.db.resources.get(l.Resource); r != nil {
			l.ResourceName = r.Name
		}
		slices.Sort(l.Fields)
		slices.Sort(l.Purposes)
		out.Lines = append(out.Lines, *l)
	}
	slices.SortFunc(out.Lines, func(a, b hutong.FeedbackLine) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Resource, b.Resource), cmp.Compare(a.Consumer, b.Consumer))
	})
	return out, nil
}

// addFeedback counts one audit event of a call into its line. A read is a
// call with its rows; an export is a call at its start and its rows at its
// end; refusals count as refused calls.
func addFeedback(l *hutong.FeedbackLine, e *hutong.AuditEvent, idx uint64) {
	if len(l.Entries) < hutong.MaxFeedbackEntries {
		l.Entries = append(l.Entries, idx)
	}
	switch {
	case e.Decision != "allow":
		l.Refused++
		return
	case e.Kind == hutong.AuditExportDone:
		l.Rows += e.Rows
		return
	case e.Kind == hutong.AuditRead:
		l.Rows += e.Rows
	}
	l.Calls++
	for _, f := range e.Fields {
		if !slices.Contains(l.Fields, f) {
			l.Fields = append(l.Fields, f)
		}
	}
	if e.Purpose != "" && !slices.Contains(l.Purposes, e.Purpose) {
		l.Purposes = append(l.Purposes, e.Purpose)
	}
}

package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hutong/hutong"
)

// noticeSuspension announces a suspension or a resumption to the other
// hub processes; key: the agreement's id.
const noticeSuspension = "suspension"

// supervisorCursor names the detectors' row in supervision_cursor.
const supervisorCursor = "detectors"

// Alerts implements hutong.AlertService, hutong.AlertRecorder and
// hutong.Suspensions on the database. It keeps the suspended agreements in
// memory, loaded when it opens and changed with every suspension and
// resumption (by this process or, through change notices, another), so
// the exchange checks them without a query. Every change goes through the
// audit outbox.
type Alerts struct {
	db *DB
	// WebhookInsecure lets webhooks use http and private addresses (the
	// demo); WebhookHosts are hosts allowed beyond the public https ones.
	// Set them before use.
	WebhookInsecure bool
	WebhookHosts    []string

	mu        sync.RWMutex
	suspended map[string]*hutong.Suspension // by agreement
}

var (
	_ hutong.AlertService  = (*Alerts)(nil)
	_ hutong.AlertRecorder = (*Alerts)(nil)
	_ hutong.Suspensions   = (*Alerts)(nil)
)

// NewAlerts returns the alerts of db with its suspensions loaded.
func NewAlerts(ctx context.Context, db *DB) (*Alerts, error) {
	s := &Alerts{db: db}
	if err := s.loadSuspensions(ctx); err != nil {
		return nil, err
	}
	db.Subscribe(s.heard)
	return s, nil
}

func (s *Alerts) heard(kind, key string) {
	if kind != "*" && kind != noticeSuspension {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.loadSuspensions(ctx); err != nil {
		s.db.log.Error("sqlstore: reloading suspensions another process changed", "err", err)
	}
}

func (s *Alerts) loadSuspensions(ctx context.Context) error {
	rows, err := s.db.ro.QueryContext(ctx, `SELECT agreement, alert, suspended_by, suspended_at, reason FROM agreement_suspensions`)
	if err != nil {
		return fmt.Errorf("load suspensions: %w", err)
	}
	defer rows.Close()
	m := map[string]*hutong.Suspension{}
	for rows.Next() {
		var sp hutong.Suspension
		if err := rows.Scan(&sp.Agreement, &sp.Alert, &sp.By, &sp.At, &sp.Reason); err != nil {
			return fmt.Errorf("load suspensions: %w", err)
		}
		sp.At = sp.At.UTC()
		m[sp.Agreement] = &sp
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load suspensions: %w", err)
	}
	s.mu.Lock()
	s.suspended = m
	s.mu.Unlock()
	return nil
}

// Suspended returns the agreement's suspension, or nil, from memory.
func (s *Alerts) Suspended(agreement string) *hutong.Suspension {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.suspended[agreement]
}

// Cursor returns the index of the next journal entry the detectors read.
func (s *Alerts) Cursor(ctx context.Context) (uint64, error) {
	var next int64
	err := s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT next_idx FROM supervision_cursor WHERE name = ?`), supervisorCursor).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, internal(err)
	}
	return uint64(next), nil
}

// Raise stores alerts and moves the cursor to next in one transaction;
// each alert is recorded as an alert.open event through the outbox.
func (s *Alerts) Raise(ctx context.Context, alerts []*hutong.Alert, next uint64) error {
	now := utc(s.db.now())
	for _, al := range alerts {
		al.ID, al.Status, al.OpenedAt = newID("alr_"), hutong.AlertOpen, now
		if len(al.Evidence) > hutong.MaxAlertEvidence {
			al.Evidence = append(al.Evidence[:hutong.MaxAlertEvidence-1], al.Evidence[len(al.Evidence)-1])
		}
		if al.Evidence == nil {
			al.Evidence = []uint64{}
		}
	}
	do := s.db.change
	if len(alerts) == 0 {
		do = s.db.revoke // moving the cursor alone records nothing: never refused
	}
	var held []*hutong.Suspension
	err := do(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		held = held[:0]
		var events []*hutong.AuditEvent
		for _, al := range alerts {
			evidence, _ := json.Marshal(al.Evidence)
			params, _ := json.Marshal(orEmptyParams(al.Params))
			_, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO alerts (id, kind, severity, score, status, agreement, consumer, provider,
				resource, actor, evidence, explanation, params, first_at, detected_at, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				al.ID, string(al.Kind), string(al.Severity), al.Score, string(al.Status), al.Agreement, al.Consumer, al.Provider,
				al.Resource, al.Actor, string(evidence), al.Explanation, string(params), utc(al.FirstAt), utc(al.DetectedAt), now)
			if err != nil {
				return nil, internal(err)
			}
			events = append(events, &hutong.AuditEvent{Time: now, Kind: hutong.AuditAlertOpen, Actor: "supervision",
				Department: al.Consumer, Resource: al.Resource, Provider: al.Provider, Agreement: al.Agreement, Decision: "allow",
				Reason: fmt.Sprintf("alert %s (%s, %s, score %.1f): %s", al.ID, al.Kind, al.Severity, al.Score, al.Explanation)})
		}
		if len(alerts) > 0 {
			if err := s.queueDeliveries(ctx, tx, alerts, now); err != nil {
				return nil, err
			}
		}
		for _, al := range alerts {
			if !al.AutoSuspend || al.Agreement == "" {
				continue
			}
			sp := &hutong.Suspension{Agreement: al.Agreement, Alert: al.ID, By: "supervision", At: now,
				Reason: fmt.Sprintf("suspended automatically by supervision, pending the provider's review: alert %s (%s, %s): %s", al.ID, al.Kind, al.Severity, al.Explanation)}
			res, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO agreement_suspensions (agreement, alert, suspended_by, suspended_at, reason)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (agreement) DO NOTHING`), sp.Agreement, sp.Alert, sp.By, sp.At, sp.Reason)
			if err != nil {
				return nil, internal(err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue // already suspended
			}
			if err := s.db.announce(ctx, tx, noticeSuspension, sp.Agreement); err != nil {
				return nil, err
			}
			ev := alertEvent(ctx, hutong.AuditSuspend, al, "suspended pending review: "+sp.Reason)
			ev.Actor, ev.Decision = "supervision", "deny"
			events = append(events, ev)
			held = append(held, sp)
		}
		_, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO supervision_cursor (name, next_idx) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET next_idx = excluded.next_idx`), supervisorCursor, int64(next))
		if err != nil {
			return nil, internal(err)
		}
		return events, nil
	})
	if err != nil {
		return err
	}
	if len(held) > 0 {
		s.mu.Lock()
		for _, sp := range held {
			s.suspended[sp.Agreement] = sp
		}
		s.mu.Unlock()
	}
	return nil
}

func orEmptyParams(p map[string]string) map[string]string {
	if p == nil {
		return map[string]string{}
	}
	return p
}

const alertColumns = `id, kind, severity, score, status, agreement, consumer, provider, resource, actor, evidence, explanation,
	params, first_at, detected_at, opened_at, acked_by, acked_at, resolved_by, resolved_at, note`

func scanAlert(sc interface{ Scan(...any) error }) (*hutong.Alert, error) {
	var al hutong.Alert
	var kind, severity, status, evidence, params string
	var acked, resolved sql.NullTime
	err := sc.Scan(&al.ID, &kind, &severity, &al.Score, &status, &al.Agreement, &al.Consumer, &al.Provider, &al.Resource,
		&al.Actor, &evidence, &al.Explanation, &params, &al.FirstAt, &al.DetectedAt, &al.OpenedAt, &al.AckedBy, &acked,
		&al.ResolvedBy, &resolved, &al.Note)
	if err != nil {
		return nil, err
	}
	al.Kind, al.Severity, al.Status = hutong.AlertKind(kind), hutong.Severity(severity), hutong.AlertStatus(status)
	if err := json.Unmarshal([]byte(evidence), &al.Evidence); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(params), &al.Params); err != nil {
		return nil, err
	}
	if len(al.Params) == 0 {
		al.Params = nil
	}
	al.FirstAt, al.DetectedAt, al.OpenedAt = al.FirstAt.UTC(), al.DetectedAt.UTC(), al.OpenedAt.UTC()
	if acked.Valid {
		t := acked.Time.UTC()
		al.AckedAt = &t
	}
	if resolved.Valid {
		t := resolved.Time.UTC()
		al.ResolvedAt = &t
	}
	return &al, nil
}

// parties returns the regions of al's departments.
func (s *Alerts) parties(al *hutong.Alert) hutong.AlertParties {
	var p hutong.AlertParties
	if d := s.db.department(al.Consumer); d != nil {
		p.ConsumerRegion = d.Region
	}
	if d := s.db.department(al.Provider); d != nil {
		p.ProviderRegion = d.Region
	}
	return p
}

// withSuspension sets al's suspension from memory.
func (s *Alerts) withSuspension(al *hutong.Alert) *hutong.Alert {
	if al.Agreement != "" {
		if sp := s.Suspended(al.Agreement); sp != nil {
			c := *sp
			al.Suspension = &c
		}
	}
	return al
}

// Alerts lists the alerts the actor may see.
func (s *Alerts) Alerts(ctx context.Context, f hutong.AlertFilter) ([]*hutong.Alert, error) {
	a := hutong.ActorFromContext(ctx)
	if a == nil || a.User == nil {
		return nil, hutong.Errorf(hutong.EUNAUTHORIZED, "sign in to read alerts")
	}
	var where []string
	var args []any
	if f.Status != "" {
		if !hutong.ValidAlertStatus(f.Status) {
			return nil, hutong.Errorf(hutong.EINVALID, "status %q must be open, acked or resolved", f.Status)
		}
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	if f.Severity != "" {
		if !hutong.ValidSeverity(f.Severity) {
			return nil, hutong.Errorf(hutong.EINVALID, "severity %q must be low, medium, high or critical", f.Severity)
		}
		where, args = append(where, "severity = ?"), append(args, string(f.Severity))
	}
	if f.Department != "" {
		where, args = append(where, "(consumer = ? OR provider = ?)"), append(args, f.Department, f.Department)
	}
	if !a.IsAdmin() && !a.Has(hutong.RoleAuditor) {
		// Narrow in SQL to the departments the actor may see alerts of:
		// its own and, for a region admin, its province's. Alerts of no
		// department (sign-ins) are for auditors and administrators.
		dept := a.Department()
		depts := s.db.departmentsWhere(func(d *hutong.Department) bool {
			return d.ID == dept || a.Has(hutong.RoleRegionAdmin) && a.AdministersRegion(d.Region)
		})
		if len(depts) == 0 {
			return []*hutong.Alert{}, nil
		}
		in := "IN (" + placeholders(len(depts)) + ")"
		where = append(where, "(consumer "+in+" OR provider "+in+")")
		args = appendStrings(appendStrings(args, depts), depts)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	q := `SELECT ` + alertColumns + ` FROM alerts`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY opened_at DESC, id DESC LIMIT %d", limit)
	rows, err := s.db.ro.QueryContext(ctx, s.db.q(q), args...)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	out := []*hutong.Alert{}
	for rows.Next() {
		al, err := scanAlert(rows)
		if err != nil {
			return nil, internal(err)
		}
		if a.MaySeeAlert(al, s.parties(al)) {
			out = append(out, s.withSuspension(al))
		}
	}
	return out, internal(rows.Err())
}

// load returns alert id if the actor may see it.
func (s *Alerts) load(ctx context.Context, id string) (*hutong.Alert, error) {
	a := hutong.ActorFromContext(ctx)
	if a == nil || a.User == nil {
		return nil, hutong.Errorf(hutong.EUNAUTHORIZED, "sign in to read alerts")
	}
	al, err := scanAlert(s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT `+alertColumns+` FROM alerts WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) || err == nil && !a.MaySeeAlert(al, s.parties(al)) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "alert %q not found", id)
	}
	if err != nil {
		return nil, internal(err)
	}
	return s.withSuspension(al), nil
}

// Alert returns one alert the actor may see.
func (s *Alerts) Alert(ctx context.Context, id string) (*hutong.Alert, error) {
	return s.load(ctx, id)
}

// alertEvent is the audit event of an action on al.
func alertEvent(ctx context.Context, kind string, al *hutong.Alert, reason string) *hutong.AuditEvent {
	return &hutong.AuditEvent{Kind: kind, Actor: hutong.ActorFromContext(ctx).String(), Department: al.Consumer,
		Resource: al.Resource, Provider: al.Provider, Agreement: al.Agreement, Decision: "allow",
		Reason: "alert " + al.ID + ": " + reason}
}

// checkNote trims a note and checks its length.
func checkNote(note string, required bool) (string, error) {
	note = strings.TrimSpace(note)
	switch {
	case required && note == "":
		return "", hutong.Errorf(hutong.EINVALID, "note is required: say what was found and done")
	case utf8.RuneCountInString(note) > hutong.MaxReasonRunes:
		return "", hutong.Errorf(hutong.EINVALID, "note has more than %d characters", hutong.MaxReasonRunes)
	}
	return note, nil
}

// Ack acknowledges an open alert.
func (s *Alerts) Ack(ctx context.Context, id string) (*hutong.Alert, error) {
	al, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	a := hutong.ActorFromContext(ctx)
	if !a.MayHandleAlert(al, s.parties(al)) {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "only the providing department's stewards or its province's administrators acknowledge alert %s", id)
	}
	if al.Status != hutong.AlertOpen {
		return nil, hutong.Errorf(hutong.ECONFLICT, "alert %s is %s, not open", id, al.Status)
	}
	now := utc(s.db.now())
	err = s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		res, err := tx.ExecContext(ctx, s.db.q(`UPDATE alerts SET status = ?, acked_by = ?, acked_at = ? WHERE id = ? AND status = ?`),
			string(hutong.AlertAcked), a.User.Login, now, id, string(hutong.AlertOpen))
		if err != nil {
			return nil, internal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, hutong.Errorf(hutong.ECONFLICT, "alert %s was handled meanwhile", id)
		}
		return []*hutong.AuditEvent{alertEvent(ctx, hutong.AuditAlertAck, al, "acknowledged")}, nil
	})
	if err != nil {
		return nil, err
	}
	al.Status, al.AckedBy, al.AckedAt = hutong.AlertAcked, a.User.Login, &now
	return al, nil
}

// Resolve closes an alert with a note.
func (s *Alerts) Resolve(ctx context.Context, id, note string) (*hutong.Alert, error) {
	al, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	a := hutong.ActorFromContext(ctx)
	if !a.MayHandleAlert(al, s.parties(al)) {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "only the providing department's stewards or its province's administrators resolve alert %s", id)
	}
	if note, err = checkNote(note, true); err != nil {
		return nil, err
	}
	if al.Status == hutong.AlertResolved {
		return nil, hutong.Errorf(hutong.ECONFLICT, "alert %s is already resolved", id)
	}
	now := utc(s.db.now())
	err = s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		res, err := tx.ExecContext(ctx, s.db.q(`UPDATE alerts SET status = ?, resolved_by = ?, resolved_at = ?, note = ? WHERE id = ? AND status <> ?`),
			string(hutong.AlertResolved), a.User.Login, now, note, id, string(hutong.AlertResolved))
		if err != nil {
			return nil, internal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, hutong.Errorf(hutong.ECONFLICT, "alert %s was resolved meanwhile", id)
		}
		return []*hutong.AuditEvent{alertEvent(ctx, hutong.AuditAlertResolve, al, "resolved: "+note)}, nil
	})
	if err != nil {
		return nil, err
	}
	al.Status, al.ResolvedBy, al.ResolvedAt, al.Note = hutong.AlertResolved, a.User.Login, &now, note
	return al, nil
}

// Suspend suspends the alert's agreement. The exchange refuses calls under
// it from the moment the suspension is in memory, before it commits.
func (s *Alerts) Suspend(ctx context.Context, id, reason string) (*hutong.Alert, error) {
	al, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	a := hutong.ActorFromContext(ctx)
	if al.Agreement == "" {
		return nil, hutong.Errorf(hutong.EINVALID, "alert %s names no agreement to suspend", id)
	}
	if !a.MaySuspend(al) {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "only a steward of the providing department %s suspends agreement %s", al.Provider, al.Agreement)
	}
	if reason, err = checkNote(reason, false); err != nil {
		return nil, err
	}
	if reason == "" {
		reason = fmt.Sprintf("alert %s (%s): %s", al.ID, al.Kind, al.Explanation)
	}
	sp := &hutong.Suspension{Agreement: al.Agreement, Alert: al.ID, By: a.User.Login, At: utc(s.db.now()), Reason: reason}
	s.mu.Lock()
	if old := s.suspended[al.Agreement]; old != nil {
		s.mu.Unlock()
		return nil, hutong.Errorf(hutong.ECONFLICT, "agreement %s is already suspended (since %s)", al.Agreement, old.At.Format(time.RFC3339))
	}
	s.suspended[al.Agreement] = sp
	s.mu.Unlock()
	err = s.db.revoke(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		_, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO agreement_suspensions (agreement, alert, suspended_by, suspended_at, reason) VALUES (?, ?, ?, ?, ?)`),
			sp.Agreement, sp.Alert, sp.By, sp.At, sp.Reason)
		if err != nil {
			if s.db.d.IsUniqueViolation(err) {
				return nil, hutong.Errorf(hutong.ECONFLICT, "agreement %s was suspended meanwhile", al.Agreement)
			}
			return nil, internal(err)
		}
		if err := s.db.announce(ctx, tx, noticeSuspension, sp.Agreement); err != nil {
			return nil, err
		}
		ev := alertEvent(ctx, hutong.AuditSuspend, al, "suspended pending review: "+reason)
		ev.Decision = "deny"
		return []*hutong.AuditEvent{ev}, nil
	})
	if err != nil {
		if hutong.ErrorCode(err) != hutong.ECONFLICT {
			s.mu.Lock()
			delete(s.suspended, al.Agreement)
			s.mu.Unlock()
		} else if err := s.loadSuspensions(ctx); err != nil {
			s.db.log.Error("sqlstore: reloading suspensions", "err", err)
		}
		return nil, err
	}
	c := *sp
	al.Suspension = &c
	return al, nil
}

// Resume lifts the suspension of the alert's agreement.
func (s *Alerts) Resume(ctx context.Context, id, note string) (*hutong.Alert, error) {
	al, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	a := hutong.ActorFromContext(ctx)
	if al.Agreement == "" {
		return nil, hutong.Errorf(hutong.EINVALID, "alert %s names no agreement", id)
	}
	if !a.MaySuspend(al) {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "only a steward of the providing department %s resumes agreement %s", al.Provider, al.Agreement)
	}
	if note, err = checkNote(note, false); err != nil {
		return nil, err
	}
	if s.Suspended(al.Agreement) == nil {
		return nil, hutong.Errorf(hutong.ECONFLICT, "agreement %s is not suspended", al.Agreement)
	}
	err = s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		res, err := tx.ExecContext(ctx, s.db.q(`DELETE FROM agreement_suspensions WHERE agreement = ?`), al.Agreement)
		if err != nil {
			return nil, internal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, hutong.Errorf(hutong.ECONFLICT, "agreement %s was resumed meanwhile", al.Agreement)
		}
		if err := s.db.announce(ctx, tx, noticeSuspension, al.Agreement); err != nil {
			return nil, err
		}
		return []*hutong.AuditEvent{alertEvent(ctx, hutong.AuditResume, al, "resumed: "+note)}, nil
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	delete(s.suspended, al.Agreement)
	s.mu.Unlock()
	al.Suspension = nil
	return al, nil
}

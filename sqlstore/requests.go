package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
)

// RequestOptions configure the request flow.
type RequestOptions struct {
	// Calendar decides working days; weekends only when nil.
	Calendar *hutong.Calendar
	// ReplyDays is the reply limit in working days; 10 by the 2016 rules.
	ReplyDays int
	// DefaultRowsPerDay and DefaultRequestsPerMinute apply when a request
	// names no volume.
	DefaultRowsPerDay        int64
	DefaultRequestsPerMinute int
	// MaxValidity bounds how long an agreement may run; longer requested
	// periods are shortened to it.
	MaxValidity time.Duration
}

// rules returns the flow's rules as the options set them.
func (s *Requests) rules() hutong.RequestRules {
	return hutong.RequestRules{MaxValidity: s.opt.MaxValidity, DefaultRowsPerDay: s.opt.DefaultRowsPerDay,
		DefaultRequestsPerMinute: s.opt.DefaultRequestsPerMinute, CheckCondition: standard.CheckCondition}
}

func (o RequestOptions) withDefaults() RequestOptions {
	if o.Calendar == nil {
		o.Calendar = hutong.NewCalendar(nil, nil)
	}
	if o.ReplyDays == 0 {
		o.ReplyDays = 10
	}
	if o.DefaultRowsPerDay == 0 {
		o.DefaultRowsPerDay = 100_000
	}
	if o.DefaultRequestsPerMinute == 0 {
		o.DefaultRequestsPerMinute = 600
	}
	if o.MaxValidity == 0 {
		o.MaxValidity = 3 * 366 * 24 * time.Hour
	}
	return o
}

// Requests implements hutong.RequestService. It keeps the active agreements
// in memory, loaded when it starts and changed with every agreement made or
// revoked through it, so the exchange finds them without a query; one hub
// process runs the flow of a database.
type Requests struct {
	db     *DB
	opt    RequestOptions
	mu     sync.RWMutex
	active map[string][]*hutong.Agreement // consumer + "\x00" + resource
}

var _ hutong.RequestService = (*Requests)(nil)

// NewRequests returns the request flow of db. Its steps are recorded
// through the audit outbox of db's journal (OpenJournal).
func NewRequests(ctx context.Context, db *DB, opt RequestOptions) (*Requests, error) {
	s := &Requests{db: db, opt: opt.withDefaults()}
	if err := s.loadActive(ctx); err != nil {
		return nil, err
	}
	db.Subscribe(s.heard)
	return s, nil
}

// heard reloads the active agreements another process granted or revoked.
func (s *Requests) heard(kind, key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	switch {
	case kind == "*":
		err = s.loadActive(ctx)
	case kind == noticeAgreement:
		consumer, resource, _ := strings.Cut(key, "|")
		err = s.reloadActive(ctx, consumer, resource)
	}
	if err != nil {
		s.db.log.Error("sqlstore: reloading agreements another process changed", "err", err)
	}
}

// reloadActive reloads the active agreements of consumer on resource.
func (s *Requests) reloadActive(ctx context.Context, consumer, resource string) error {
	rows, err := s.db.ro.QueryContext(ctx, s.db.q(`SELECT `+agreementColumns+` FROM agreements WHERE consumer = ? AND resource = ? AND revoked_at IS NULL AND valid_until > ?`),
		consumer, resource, utc(s.db.now()))
	if err != nil {
		return err
	}
	defer rows.Close()
	var list []*hutong.Agreement
	for rows.Next() {
		a, err := scanAgreement(rows)
		if err != nil {
			return err
		}
		list = append(list, a)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.active[activeKey(consumer, resource)] = list
	s.mu.Unlock()
	return nil
}

func newID(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func activeKey(consumer, resource string) string { return consumer + "\x00" + resource }

// ActiveAgreements returns the agreements that may cover a call.
func (s *Requests) ActiveAgreements(ctx context.Context, consumer, resource string) ([]*hutong.Agreement, error) {
	now := s.db.now()
	s.mu.RLock()
	list := s.active[activeKey(consumer, resource)]
	s.mu.RUnlock()
	if !slices.ContainsFunc(list, func(a *hutong.Agreement) bool { return !now.Before(a.ValidUntil) }) {
		return list, nil // the common case: nothing has ended, nothing to copy
	}
	return slices.DeleteFunc(slices.Clone(list), func(a *hutong.Agreement) bool { return !now.Before(a.ValidUntil) }), nil
}

func (s *Requests) loadActive(ctx context.Context) error {
	rows, err := s.db.ro.QueryContext(ctx, s.db.q(`SELECT `+agreementColumns+` FROM agreements WHERE revoked_at IS NULL AND valid_until > ?`), utc(s.db.now()))
	if err != nil {
		return fmt.Errorf("load agreements: %w", err)
	}
	defer rows.Close()
	active := map[string][]*hutong.Agreement{}
	for rows.Next() {
		a, err := scanAgreement(rows)
		if err != nil {
			return fmt.Errorf("load agreements: %w", err)
		}
		k := activeKey(a.Consumer, a.Resource)
		active[k] = append(active[k], a)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load agreements: %w", err)
	}
	s.mu.Lock()
	s.active = active
	s.mu.Unlock()
	return nil
}

// CreateRequest files a request and, by share type, grants, queues or
// refuses it.
func (s *Requests) CreateRequest(ctx context.Context, in *hutong.RequestInput) (*hutong.Request, error) {
	a := hutong.ActorFromContext(ctx)
	if a == nil || a.User == nil {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "requests are filed by signed-in users of the consuming department")
	}
	consumer := strings.ToUpper(strings.TrimSpace(in.Consumer))
	switch {
	case consumer == "":
		consumer = a.User.Department
	case consumer != a.User.Department && !a.IsAdmin():
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "%s files requests for its own department only", a)
	}
	if consumer == "" {
		return nil, hutong.Errorf(hutong.EINVALID, "a request needs a consumer department; platform staff name it in consumer")
	}
	if !a.IsAdmin() && !a.Has(hutong.RoleConsumer) && !a.Has(hutong.RoleSteward) {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "only a department's consumers and stewards file requests")
	}
	dept := s.db.department(consumer)
	if dept == nil {
		return nil, hutong.Errorf(hutong.EINVALID, "consumer department %q is not registered", consumer)
	}
	res, err := s.db.cachedResource(ctx, strings.TrimSpace(in.Resource))
	if err != nil {
		return nil, err
	}
	now := utc(s.db.now())
	req, vs := hutong.CheckRequest(in, &res.Resource, now, s.rules())
	if len(vs) > 0 {
		return nil, hutong.Invalid("invalid request", vs)
	}
	req.ID, req.Consumer, req.ConsumerName, req.RequestedBy = newID("req_"), consumer, dept.Name, a.User.Login
	req.DueAt = utc(s.opt.Calendar.Deadline(now, s.opt.ReplyDays))
	req.ReplyBy = replyBy(req.DueAt)
	events := []*hutong.AuditEvent{s.event(ctx, hutong.AuditRequest, req, "")}
	var ag *hutong.Agreement
	switch res.ShareType {
	case hutong.ShareNone:
		req.Status = hutong.RequestRefused
		req.Reason = "不予共享 (not shared): " + res.LegalBasis
		req.DecidedAt, req.DecidedBy = &now, "hub: share type none"
		events = append(events, s.event(ctx, hutong.AuditRefuse, req, req.Reason))
	case hutong.ShareUnconditional:
		ag = hutong.NewAgreement(newID("agr_"), req, &res.Resource, hutong.Narrowing{}, now)
		req.Status, req.AgreementID = hutong.RequestApproved, ag.ID
		req.DecidedAt, req.DecidedBy = &now, "hub: unconditional share"
		events = append(events, s.event(ctx, hutong.AuditApprove, req, "无条件共享: granted on request"), s.agreementEvent(ctx, hutong.AuditAgreement, ag, ""))
	}
	if err := s.store(ctx, req, ag, true, events); err != nil {
		return nil, err
	}
	s.fill(req, now)
	return req, nil
}

// Approve approves a pending request and makes its agreement.
func (s *Requests) Approve(ctx context.Context, id string, n hutong.Narrowing) (*hutong.Request, error) {
	req, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	a := hutong.ActorFromContext(ctx)
	if err := a.MayDecide(req); err != nil {
		return nil, err
	}
	if req.Status != hutong.RequestPending {
		return nil, hutong.Errorf(hutong.ECONFLICT, "request %s is already %s", id, req.Status)
	}
	res, err := s.db.cachedResource(ctx, req.Resource)
	if err != nil {
		return nil, err
	}
	if vs := hutong.CheckNarrowing(&n, req, &res.Resource, standard.CheckCondition); len(vs) > 0 {
		return nil, hutong.Invalid("invalid approval", vs)
	}
	now := utc(s.db.now())
	if !req.ValidUntil.After(now) {
		return nil, hutong.Errorf(hutong.ECONFLICT, "request %s asked for a period that has ended; the consumer must file a new one", id)
	}
	ag := hutong.NewAgreement(newID("agr_"), req, &res.Resource, n, now)
	req.Status, req.AgreementID, req.DecidedAt, req.DecidedBy = hutong.RequestApproved, ag.ID, &now, a.User.Login
	events := []*hutong.AuditEvent{s.event(ctx, hutong.AuditApprove, req, ""), s.agreementEvent(ctx, hutong.AuditAgreement, ag, "")}
	if err := s.store(ctx, req, ag, false, events); err != nil {
		return nil, err
	}
	s.fill(req, now)
	return req, nil
}

// Reject rejects a pending request.
func (s *Requests) Reject(ctx context.Context, id, reason string) (*hutong.Request, error) {
	req, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	a := hutong.ActorFromContext(ctx)
	if err := a.MayDecide(req); err != nil {
		return nil, err
	}
	if req.Status != hutong.RequestPending {
		return nil, hutong.Errorf(hutong.ECONFLICT, "request %s is already %s", id, req.Status)
	}
	reason = strings.TrimSpace(reason)
	if n := utf8.RuneCountInString(reason); n == 0 || n > hutong.MaxReasonRunes {
		return nil, hutong.Invalid("invalid rejection", []hutong.Violation{{Field: "reason", Rule: "length", Message: fmt.Sprintf("a rejection needs a reason of 1 to %d characters", hutong.MaxReasonRunes)}})
	}
	now := utc(s.db.now())
	req.Status, req.Reason, req.DecidedAt, req.DecidedBy = hutong.RequestRejected, reason, &now, a.User.Login
	if err := s.store(ctx, req, nil, false, []*hutong.AuditEvent{s.event(ctx, hutong.AuditReject, req, reason)}); err != nil {
		return nil, err
	}
	s.fill(req, now)
	return req, nil
}

// Remind chases a pending request: a notification to the provider's
// stewards and an audit event, in one transaction that first locks the
// request's row, so of two racing reminders the second sees the first.
func (s *Requests) Remind(ctx context.Context, id string) (*hutong.Request, error) {
	req, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	a := hutong.ActorFromContext(ctx)
	if err := a.MayRemind(req); err != nil {
		return nil, err
	}
	now := utc(s.db.now())
	s.fill(req, now)
	since := utc(s.opt.Calendar.WorkingDayFrom(now))
	region := ""
	if d := s.db.department(req.Provider); d != nil {
		region = hutong.ProvinceOf(d.Region)
	}
	params, _ := json.Marshal(map[string]string{"consumer": req.ConsumerName, "resource": req.Resource, "resource_name": req.ResourceName,
		"due": req.ReplyBy, "by": a.User.Login})
	err = s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		res, err := tx.ExecContext(ctx, s.db.q(`UPDATE requests SET status = status WHERE id = ? AND status = 'pending'`), id)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, hutong.Errorf(hutong.ECONFLICT, "request %s was decided meanwhile", id)
		}
		var last time.Time
		err = tx.QueryRowContext(ctx, s.db.q(`SELECT created_at FROM notifications WHERE kind = ? AND request_id = ? AND created_at >= ?
			ORDER BY created_at DESC LIMIT 1`), hutong.NotifyRemind, id, since).Scan(&last)
		switch {
		case err == nil:
			return nil, hutong.Errorf(hutong.ECONFLICT, "request %s was already chased at %s; once a working day",
				id, last.In(hutong.ChinaTime).Format("2006-01-02 15:04"))
		case !errors.Is(err, sql.ErrNoRows):
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO notifications (region, department, kind, request_id, params, message, created_at) VALUES (?, ?, ?, ?, ?, '', ?)`),
			region, req.Provider, hutong.NotifyRemind, id, string(params), now); err != nil {
			return nil, err
		}
		return []*hutong.AuditEvent{s.event(ctx, hutong.AuditRemind, req, "")}, nil
	})
	if err != nil {
		return nil, internal(err)
	}
	return req, nil
}

// event describes a step of the flow for the audit log.
func (s *Requests) event(ctx context.Context, kind string, req *hutong.Request, reason string) *hutong.AuditEvent {
	return &hutong.AuditEvent{
		Time: s.db.now(), Kind: kind, Actor: hutong.ActorFromContext(ctx).String(), Department: req.Consumer,
		Resource: req.Resource, Provider: req.Provider, Request: req.ID, Agreement: req.AgreementID,
		Purpose: req.Purpose, Fields: req.Fields, Decision: decisionOf(req.Status), Reason: reason,
	}
}

func (s *Requests) agreementEvent(ctx context.Context, kind string, ag *hutong.Agreement, reason string) *hutong.AuditEvent {
	fields := make([]string, len(ag.Fields))
	for i, f := range ag.Fields {
		fields[i] = f.Name + ":" + string(f.Masking)
	}
	decision := "allow"
	if kind == hutong.AuditRevoke {
		decision = "deny"
	}
	if kind == hutong.AuditAgreement && reason == "" {
		reason = fmt.Sprintf("limits: %d rows a day, %d calls a minute, %d equality filters on masked fields a day",
			ag.RowsPerDay, ag.RequestsPerMinute, ag.Probes())
	}
	return &hutong.AuditEvent{
		Time: s.db.now(), Kind: kind, Actor: hutong.ActorFromContext(ctx).String(), Department: ag.Consumer,
		Resource: ag.Resource, Provider: ag.Provider, Request: ag.RequestID, Agreement: ag.ID,
		Purpose: ag.Purpose, Fields: fields, Decision: decision, Reason: reason,
	}
}

func decisionOf(st hutong.RequestStatus) string {
	switch st {
	case hutong.RequestApproved:
		return "allow"
	case hutong.RequestRejected, hutong.RequestRefused:
		return "deny"
	}
	return "pending"
}

// store writes req (inserting it when insert) and ag in one transaction
// that records events through the audit outbox: the audit log holds every
// step the database does, and nothing else.
func (s *Requests) store(ctx context.Context, req *hutong.Request, ag *hutong.Agreement, insert bool, events []*hutong.AuditEvent) error {
	fields, _ := json.Marshal(req.Fields)
	scope, _ := json.Marshal(orEmptyConds(req.RowScope))
	err := s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		if err := s.storeTx(ctx, tx, req, ag, insert, fields, scope); err != nil {
			return nil, err
		}
		if ag != nil {
			return events, s.db.announce(ctx, tx, noticeAgreement, ag.Consumer+"|"+ag.Resource)
		}
		return events, nil
	})
	if err != nil {
		return err
	}
	if ag != nil {
		s.mu.Lock()
		k := activeKey(ag.Consumer, ag.Resource)
		s.active[k] = append(slices.Clone(s.active[k]), ag)
		s.mu.Unlock()
	}
	return nil
}

// storeTx writes req (inserting it when insert) and ag in tx. A decision
// updates only a request still pending: of two racing, the second finds it
// decided (ECONFLICT) and its transaction, events included, rolls back.
func (s *Requests) storeTx(ctx context.Context, tx *sql.Tx, req *hutong.Request, ag *hutong.Agreement, insert bool, fields, scope []byte) error {
	var err error
	if insert {
		_, err = tx.ExecContext(ctx, s.db.q(`INSERT INTO requests (id, consumer, resource, provider, fields, purpose, legal_basis,
			valid_from, valid_until, row_scope, rows_per_day, requests_per_minute, status, reason, agreement_id, requested_by,
			created_at, due_at, decided_at, decided_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			req.ID, req.Consumer, req.Resource, req.Provider, string(fields), req.Purpose, req.LegalBasis,
			req.ValidFrom, req.ValidUntil, string(scope), req.RowsPerDay, req.RequestsPerMinute, req.Status, req.Reason,
			req.AgreementID, req.RequestedBy, req.CreatedAt, req.DueAt, req.DecidedAt, req.DecidedBy)
	} else {
		var res sql.Result
		res, err = tx.ExecContext(ctx, s.db.q(`UPDATE requests SET status = ?, reason = ?, agreement_id = ?, decided_at = ?, decided_by = ?
			WHERE id = ? AND status = 'pending'`), req.Status, req.Reason, req.AgreementID, req.DecidedAt, req.DecidedBy, req.ID)
		if err == nil {
			if n, _ := res.RowsAffected(); n != 1 {
				return hutong.Errorf(hutong.ECONFLICT, "request %s was decided meanwhile", req.ID)
			}
		}
	}
	if err != nil {
		return internal(err)
	}
	if ag != nil {
		return s.insertAgreement(ctx, tx, ag)
	}
	return nil
}

func orEmptyConds(c []hutong.Condition) []hutong.Condition {
	if c == nil {
		return []hutong.Condition{}
	}
	return c
}

func (s *Requests) insertAgreement(ctx context.Context, tx *sql.Tx, ag *hutong.Agreement) error {
	fields, _ := json.Marshal(ag.Fields)
	scope, _ := json.Marshal(orEmptyConds(ag.RowScope))
	_, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO agreements (id, request_id, consumer, resource, provider, fields, row_scope, purpose,
		legal_basis, valid_from, valid_until, requests_per_minute, rows_per_day, probes_per_day, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		ag.ID, ag.RequestID, ag.Consumer, ag.Resource, ag.Provider, string(fields), string(scope), ag.Purpose, ag.LegalBasis,
		ag.ValidFrom, ag.ValidUntil, ag.RequestsPerMinute, ag.RowsPerDay, ag.ProbesPerDay, ag.CreatedAt)
	return internal(err)
}

const requestColumns = `id, consumer, resource, provider, fields, purpose, legal_basis, valid_from, valid_until, row_scope,
	rows_per_day, requests_per_minute, status, reason, agreement_id, requested_by, created_at, due_at, decided_at, decided_by`

func scanRequest(sc interface{ Scan(...any) error }) (*hutong.Request, error) {
	var r hutong.Request
	var fields, scope string
	var decided sql.NullTime
	err := sc.Scan(&r.ID, &r.Consumer, &r.Resource, &r.Provider, &fields, &r.Purpose, &r.LegalBasis, &r.ValidFrom, &r.ValidUntil,
		&scope, &r.RowsPerDay, &r.RequestsPerMinute, &r.Status, &r.Reason, &r.AgreementID, &r.RequestedBy, &r.CreatedAt, &r.DueAt,
		&decided, &r.DecidedBy)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(fields), &r.Fields); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scope), &r.RowScope); err != nil {
		return nil, err
	}
	if len(r.RowScope) == 0 {
		r.RowScope = nil
	}
	r.ValidFrom, r.ValidUntil, r.CreatedAt, r.DueAt = r.ValidFrom.UTC(), r.ValidUntil.UTC(), r.CreatedAt.UTC(), r.DueAt.UTC()
	r.ReplyBy = replyBy(r.DueAt)
	if decided.Valid {
		t := decided.Time.UTC()
		r.DecidedAt = &t
	}
	return &r, nil
}

// replyBy returns the last day of a reply limit that ends at due.
func replyBy(due time.Time) string {
	return due.Add(-time.Nanosecond).In(hutong.ChinaTime).Format(time.DateOnly)
}

// fill adds the derived fields of a request: names, overdue, days left.
func (s *Requests) fill(r *hutong.Request, now time.Time) {
	if d := s.db.department(r.Consumer); d != nil {
		r.ConsumerName = d.Name
	}
	if res := s.db.resources.get(r.Resource); res != nil {
		r.ResourceName = res.Name
	}
	if r.Status == hutong.RequestPending {
		r.Overdue = !now.Before(r.DueAt)
		r.WorkingDaysLeft = s.opt.Calendar.WorkingDaysLeft(now, r.DueAt)
	}
}

// load reads a request without checking who may see it.
func (s *Requests) load(ctx context.Context, id string) (*hutong.Request, error) {
	r, err := scanRequest(s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT `+requestColumns+` FROM requests WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "request %q not found", id)
	}
	if err != nil {
		return nil, internal(err)
	}
	return r, nil
}

// maysee reports whether the actor may see what consumer and provider
// share: their own departments, their region admins, platform staff.
func (s *Requests) maysee(a *hutong.Actor, consumer, provider string) bool {
	if a == nil {
		return false
	}
	if a.IsAdmin() || a.Has(hutong.RoleAuditor) {
		return true
	}
	if d := a.Department(); d != "" && (d == consumer || d == provider) {
		return true
	}
	for _, dept := range []string{consumer, provider} {
		if d := s.db.department(dept); d != nil && a.User != nil && a.Has(hutong.RoleRegionAdmin) && a.AdministersRegion(d.Region) {
			return true
		}
	}
	return false
}

// Request returns one request the actor may see.
func (s *Requests) Request(ctx context.Context, id string) (*hutong.Request, error) {
	r, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.maysee(hutong.ActorFromContext(ctx), r.Consumer, r.Provider) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "request %q not found", id)
	}
	s.fill(r, s.db.now())
	return r, nil
}

// Requests lists requests.
func (s *Requests) Requests(ctx context.Context, f hutong.RequestFilter) ([]*hutong.Request, error) {
	a := hutong.ActorFromContext(ctx)
	if a == nil {
		return nil, hutong.Errorf(hutong.EUNAUTHORIZED, "sign in to list requests")
	}
	var where []string
	var args []any
	dept := a.Department()
	switch f.Box {
	case "inbox":
		if dept == "" {
			return nil, hutong.Errorf(hutong.EINVALID, "the inbox belongs to a department; %s has none", a)
		}
		where, args = append(where, "provider = ?"), append(args, dept)
	case "outbox":
		if dept == "" {
			return nil, hutong.Errorf(hutong.EINVALID, "the outbox belongs to a department; %s has none", a)
		}
		where, args = append(where, "consumer = ?"), append(args, dept)
	case "region", "":
		if !a.IsAdmin() && !a.Has(hutong.RoleAuditor) {
			// Requests of the actor's department, and for a region admin
			// those of its province's departments.
			depts := s.db.departmentsWhere(func(d *hutong.Department) bool {
				return d.ID == dept || a.Has(hutong.RoleRegionAdmin) && a.AdministersRegion(d.Region)
			})
			if len(depts) == 0 {
				return []*hutong.Request{}, nil
			}
			in := "IN (" + placeholders(len(depts)) + ")"
			if f.Box == "region" {
				where = append(where, "provider "+in)
				args = appendStrings(args, depts)
			} else {
				where = append(where, "(provider "+in+" OR consumer "+in+")")
				args = appendStrings(appendStrings(args, depts), depts)
			}
		}
	default:
		return nil, hutong.Errorf(hutong.EINVALID, "box %q must be inbox, outbox or region", f.Box)
	}
	switch f.Status {
	case "":
	case hutong.RequestPending, hutong.RequestApproved, hutong.RequestRejected, hutong.RequestRefused:
		where, args = append(where, "status = ?"), append(args, f.Status)
	default:
		return nil, hutong.Errorf(hutong.EINVALID, "status %q must be pending, approved, rejected or refused", f.Status)
	}
	now := utc(s.db.now())
	if f.Overdue {
		where, args = append(where, "status = 'pending' AND due_at <= ?"), append(args, now)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	q := `SELECT ` + requestColumns + ` FROM requests`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.ro.QueryContext(ctx, s.db.q(q), args...)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	out := []*hutong.Request{}
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, internal(err)
		}
		s.fill(r, now)
		out = append(out, r)
	}
	return out, internal(rows.Err())
}

func appendStrings(args []any, ss []string) []any {
	for _, s := range ss {
		args = append(args, s)
	}
	return args
}

// departmentsWhere returns the ids of the departments that match keep.
func (db *DB) departmentsWhere(keep func(*hutong.Department) bool) []string {
	db.deptMu.RLock()
	defer db.deptMu.RUnlock()
	var out []string
	for _, d := range db.depts {
		if keep(d) {
			out = append(out, d.ID)
		}
	}
	slices.Sort(out)
	return out
}

const agreementColumns = `id, request_id, consumer, resource, provider, fields, row_scope, purpose, legal_basis, valid_from,
	valid_until, requests_per_minute, rows_per_day, probes_per_day, created_at, revoked_at, revoked_by, revoke_reason`

func scanAgreement(sc interface{ Scan(...any) error }) (*hutong.Agreement, error) {
	var a hutong.Agreement
	var fields, scope string
	var revoked sql.NullTime
	err := sc.Scan(&a.ID, &a.RequestID, &a.Consumer, &a.Resource, &a.Provider, &fields, &scope, &a.Purpose, &a.LegalBasis,
		&a.ValidFrom, &a.ValidUntil, &a.RequestsPerMinute, &a.RowsPerDay, &a.ProbesPerDay, &a.CreatedAt, &revoked, &a.RevokedBy, &a.RevokeReason)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(fields), &a.Fields); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scope), &a.RowScope); err != nil {
		return nil, err
	}
	if len(a.RowScope) == 0 {
		a.RowScope = nil
	}
	a.ValidFrom, a.ValidUntil, a.CreatedAt = a.ValidFrom.UTC(), a.ValidUntil.UTC(), a.CreatedAt.UTC()
	if revoked.Valid {
		t := revoked.Time.UTC()
		a.RevokedAt = &t
	}
	return &a, nil
}

func (s *Requests) loadAgreement(ctx context.Context, id string) (*hutong.Agreement, error) {
	a, err := scanAgreement(s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT `+agreementColumns+` FROM agreements WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "agreement %q not found", id)
	}
	if err != nil {
		return nil, internal(err)
	}
	return a, nil
}

// Agreement returns one agreement the actor may see.
func (s *Requests) Agreement(ctx context.Context, id string) (*hutong.Agreement, error) {
	a, err := s.loadAgreement(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.maysee(hutong.ActorFromContext(ctx), a.Consumer, a.Provider) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "agreement %q not found", id)
	}
	a.Status = a.StatusAt(s.db.now())
	return a, nil
}

// Agreements lists agreements.
func (s *Requests) Agreements(ctx context.Context, f hutong.AgreementFilter) ([]*hutong.Agreement, error) {
	a := hutong.ActorFromContext(ctx)
	if a == nil {
		return nil, hutong.Errorf(hutong.EUNAUTHORIZED, "sign in to list agreements")
	}
	var where []string
	var args []any
	dept := a.Department()
	switch f.Role {
	case "consumer":
		where, args = append(where, "consumer = ?"), append(args, dept)
	case "provider":
		where, args = append(where, "provider = ?"), append(args, dept)
	case "":
		if !a.IsAdmin() && !a.Has(hutong.RoleAuditor) {
			where, args = append(where, "(consumer = ? OR provider = ?)"), append(args, dept, dept)
		}
	default:
		return nil, hutong.Errorf(hutong.EINVALID, "role %q must be consumer or provider", f.Role)
	}
	if f.Resource != "" {
		where, args = append(where, "resource = ?"), append(args, f.Resource)
	}
	now := utc(s.db.now())
	if f.Active {
		where, args = append(where, "revoked_at IS NULL AND valid_until > ?"), append(args, now)
	}
	q := `SELECT ` + agreementColumns + ` FROM agreements`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id LIMIT 1000"
	return s.queryAgreements(ctx, now, nil, q, args...)
}

// queryAgreements runs q, which selects agreementColumns, and returns the
// agreements keep accepts (all when nil), with their status at now.
func (s *Requests) queryAgreements(ctx context.Context, now time.Time, keep func(*hutong.Agreement) bool, q string, args ...any) ([]*hutong.Agreement, error) {
	rows, err := s.db.ro.QueryContext(ctx, s.db.q(q), args...)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	out := []*hutong.Agreement{}
	for rows.Next() {
		ag, err := scanAgreement(rows)
		if err != nil {
			return nil, internal(err)
		}
		if keep != nil && !keep(ag) {
			continue
		}
		ag.Status = ag.StatusAt(now)
		out = append(out, ag)
	}
	return out, internal(rows.Err())
}

// NodeAgreements returns the active agreements over the node-hosted
// resources of region: what the region's node needs to check the queries
// the hub sends it. Only that node (or a platform admin) may read them.
func (s *Requests) NodeAgreements(ctx context.Context, region string) ([]*hutong.Agreement, error) {
	a := hutong.ActorFromContext(ctx)
	if !a.IsAdmin() && (a == nil || a.Node != region) {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "only the node of region %s reads its agreements", region)
	}
	now := utc(s.db.now())
	inRegion := func(ag *hutong.Agreement) bool {
		r, err := s.db.cachedResource(ctx, ag.Resource)
		return err == nil && hutong.RegionContains(region, r.Region)
	}
	return s.queryAgreements(ctx, now, inRegion, `SELECT `+agreementColumns+` FROM agreements
		WHERE revoked_at IS NULL AND valid_until > ? AND resource IN (SELECT code FROM resources WHERE hosted = 'node')
		ORDER BY created_at, id`, now)
}

// RevokeAgreement revokes an agreement; it stops covering calls at once.
func (s *Requests) RevokeAgreement(ctx context.Context, id, reason string) (*hutong.Agreement, error) {
	ag, err := s.loadAgreement(ctx, id)
	if err != nil {
		return nil, err
	}
	a := hutong.ActorFromContext(ctx)
	if !a.IsAdmin() && !(a.Has(hutong.RoleSteward) && a.Department() == ag.Provider) {
		if s.maysee(a, ag.Consumer, ag.Provider) {
			return nil, hutong.Errorf(hutong.EFORBIDDEN, "only a steward of the providing department %s revokes this agreement", ag.Provider)
		}
		return nil, hutong.Errorf(hutong.ENOTFOUND, "agreement %q not found", id)
	}
	if ag.RevokedAt != nil {
		return nil, hutong.Errorf(hutong.ECONFLICT, "agreement %s was revoked at %s", id, ag.RevokedAt.Format(time.RFC3339))
	}
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > hutong.MaxReasonRunes {
		return nil, hutong.Errorf(hutong.EINVALID, "reason has more than %d characters", hutong.MaxReasonRunes)
	}
	// Stop the exchange first, so that no call slips in while the
	// revocation commits.
	s.mu.Lock()
	k := activeKey(ag.Consumer, ag.Resource)
	kept := s.active[k]
	s.active[k] = slices.DeleteFunc(slices.Clone(kept), func(x *hutong.Agreement) bool { return x.ID == id })
	s.mu.Unlock()

	now := utc(s.db.now())
	ag.RevokedAt, ag.RevokedBy, ag.RevokeReason = &now, a.User.Login, reason
	err = s.db.revoke(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		res, err := tx.ExecContext(ctx, s.db.q(`UPDATE agreements SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL`),
			now, ag.RevokedBy, reason, id)
		if err != nil {
			return nil, internal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, hutong.Errorf(hutong.ECONFLICT, "agreement %s was revoked meanwhile", id)
		}
		if err := s.db.announce(ctx, tx, noticeAgreement, ag.Consumer+"|"+ag.Resource); err != nil {
			return nil, err
		}
		return []*hutong.AuditEvent{s.agreementEvent(ctx, hutong.AuditRevoke, ag, reason)}, nil
	})
	if err != nil {
		if hutong.ErrorCode(err) != hutong.ECONFLICT {
			s.mu.Lock()
			s.active[k] = kept // still active in the database
			s.mu.Unlock()
		}
		return nil, err
	}
	ag.Status = ag.StatusAt(now)
	return ag, nil
}

// Notifications lists the actor's notifications.
func (s *Requests) Notifications(ctx context.Context) ([]hutong.Notification, error) {
	a := hutong.ActorFromContext(ctx)
	if a == nil || a.User == nil {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "notifications are for signed-in users")
	}
	q := `SELECT id, region, kind, request_id, params, message, created_at FROM notifications`
	var args []any
	switch {
	case a.IsAdmin():
	case a.Has(hutong.RoleRegionAdmin):
		q, args = q+` WHERE region = ?`, append(args, a.User.Region)
	case a.User.Department != "":
		q, args = q+` WHERE department = ?`, append(args, a.User.Department)
	default:
		return []hutong.Notification{}, nil
	}
	rows, err := s.db.ro.QueryContext(ctx, s.db.q(q+` ORDER BY id DESC LIMIT 200`), args...)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	out := []hutong.Notification{}
	for rows.Next() {
		var n hutong.Notification
		var params string
		if err := rows.Scan(&n.ID, &n.Region, &n.Kind, &n.RequestID, &params, &n.Message, &n.CreatedAt); err != nil {
			return nil, internal(err)
		}
		if err := json.Unmarshal([]byte(params), &n.Params); err != nil || len(n.Params) == 0 {
			n.Params = nil // written before notifications kept their facts: its message stands
		} else {
			n.Message = n.Describe()
		}
		n.CreatedAt = n.CreatedAt.UTC()
		out = append(out, n)
	}
	return out, internal(rows.Err())
}

// EscalateOverdue notifies region admins and the provider's stewards of
// pending requests past their reply limit, once each.
func (s *Requests) EscalateOverdue(ctx context.Context) (int, error) {
	now := utc(s.db.now())
	rows, err := s.db.ro.QueryContext(ctx, s.db.q(`SELECT `+requestColumns+` FROM requests WHERE status = 'pending' AND due_at <= ? AND escalated_at IS NULL`), now)
	if err != nil {
		return 0, internal(err)
	}
	var due []*hutong.Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			rows.Close()
			return 0, internal(err)
		}
		due = append(due, r)
	}
	rows.Close()
	n := 0
	for _, r := range due {
		s.fill(r, now)
		region := ""
		if d := s.db.department(r.Provider); d != nil {
			region = hutong.ProvinceOf(d.Region)
		}
		params, _ := json.Marshal(map[string]string{"consumer": r.ConsumerName, "resource": r.Resource, "resource_name": r.ResourceName,
			"due": r.ReplyBy})
		err := s.db.tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, s.db.q(`UPDATE requests SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL`), now, r.ID)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k != 1 {
				return nil // another sweep took it
			}
			_, err = tx.ExecContext(ctx, s.db.q(`INSERT INTO notifications (region, department, kind, request_id, params, message, created_at) VALUES (?, ?, ?, ?, ?, '', ?)`),
				region, r.Provider, hutong.NotifyOverdue, r.ID, string(params), now)
			return err
		})
		if err != nil {
			return n, internal(err)
		}
		n++
	}
	return n, nil
}

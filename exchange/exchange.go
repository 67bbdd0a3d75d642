// Package exchange is the governed read path: it finds the agreement that
// covers a call, checks fields and filters against it, asks the policy,
// plans the query with the agreement's row scope, reads the source, masks
// every value as the agreement says, records the audit event and only then
// releases the answer with its receipt.
package exchange

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
)

// Service implements hutong.ExchangeService. Fill in every field but Now
// and Logger; it is safe for concurrent use.
type Service struct {
	Catalog    hutong.CatalogService
	Agreements hutong.AgreementFinder
	Policy     hutong.Authorizer
	// Source returns where a resource's rows live: the hub's tables or a
	// region node.
	Source  func(r *hutong.Resource) (hutong.Source, error)
	Auditor hutong.Auditor
	Usage   hutong.Usage
	// Quota keeps the agreements' rate, volume and probe limits; in this
	// process's memory when nil (counted from Usage each day), in the
	// database when hub processes share one (sqlstore.Quota).
	Quota  Quota
	Masker *standard.Masker
	// CursorKey keys the MACs of the cursors the exchange issues; a random
	// key per process when empty (cursors then end with the process).
	CursorKey []byte
	// Suspensions, when set, names the agreements supervision suspended
	// pending review: a call under one is refused (403) with the reason.
	Suspensions hutong.Suspensions
	Now         func() time.Time
	Logger      *slog.Logger

	// Subjects, when set, notes a keyed hash (under SubjectKey) of each
	// subject identifier among the rows of every release read from a
	// source that does not mask them itself (subjects.go).
	Subjects   hutong.SubjectLog
	SubjectKey []byte

	limits    limiter
	keyOnce   sync.Once
	cursorKey []byte
}

var _ hutong.ExchangeService = (*Service)(nil)

func (x *Service) now() time.Time {
	if x.Now != nil {
		return x.Now()
	}
	return time.Now()
}

// call is an authorised, planned call.
type call struct {
	res      *hutong.Resource
	ag       *hutong.Agreement
	fields   []string
	masks    []hutong.MaskRule
	masker   *standard.Masker // the agreement's
	query    hutong.SourceQuery
	policies []string
	cap      int64  // the most rows an export may release; -1 for no cap
	probes   int    // equality filters on masked fields
	binding  []byte // what the call's cursors are bound to (cursorBinding)
	// sourceMasks says the source masks rows itself (a region node);
	// subs gathers the subjects of the rows released (subjects.go).
	sourceMasks bool
	subs        *subjectSet
}

// authorize checks q for the calling department and plans it. It returns
// the audit event to record whatever happens next: a refusal when err is
// not nil.
func (x *Service) authorize(ctx context.Context, q hutong.RecordQuery, action string) (*call, *hutong.AuditEvent, error) {
	now := x.now()
	a := hutong.ActorFromContext(ctx)
	ev := &hutong.AuditEvent{Time: now, Kind: auditKind(action), Actor: a.String(), Department: a.Department(),
		Resource: q.Resource, Purpose: q.Purpose, Fields: q.Fields, Decision: "deny", Paged: q.Cursor != ""}
	c, err := x.plan(ctx, q, action, now, ev)
	if err != nil {
		ev.Reason = hutong.ErrorMessage(err)
		return nil, ev, err
	}
	ev.Decision, ev.Agreement, ev.Policies, ev.Fields = "allow", c.ag.ID, c.policies, c.fields
	return c, ev, nil
}

func auditKind(action string) string {
	if action == hutong.ActionExport {
		return hutong.AuditExport
	}
	return hutong.AuditRead
}

func (x *Service) plan(ctx context.Context, q hutong.RecordQuery, action string, now time.Time, ev *hutong.AuditEvent) (*call, error) {
	dept := hutong.ActorFromContext(ctx).Department()
	if dept == "" {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "data is read by departments; call with a department's application key or a department user's token")
	}
	if strings.TrimSpace(q.Purpose) == "" {
		return nil, hutong.Errorf(hutong.EINVALID, "the Hutong-Purpose header is required: state the purpose (用途) your agreement names")
	}
	if err := checkQuery(q); err != nil {
		return nil, err
	}
	res, err := x.Catalog.Resource(ctx, q.Resource)
	if err != nil {
		return nil, err
	}
	ev.Provider = res.Provider

	var unknown []string
	for _, f := range q.Fields {
		if res.Item(f) == nil {
			unknown = append(unknown, f)
		}
	}
	if len(unknown) > 0 {
		return nil, hutong.Errorf(hutong.EINVALID, "%s not items of %s", quoteList(unknown), res.Code)
	}
	if len(q.Filters)+len(q.FilterText) > MaxFilters {
		return nil, hutong.Errorf(hutong.EINVALID, "at most %d filters", MaxFilters)
	}
	filters := slices.Clip(q.Filters) // appending below copies, never writes to the caller's array
	for _, s := range q.FilterText {
		f, err := ParseFilter(s)
		if err != nil {
			return nil, err
		}
		filters = append(filters, f)
	}

	candidates, err := x.Agreements.ActiveAgreements(ctx, dept, res.Code)
	if err != nil {
		return nil, err
	}
	covers, err := covering(candidates, dept, res.Code, q.Purpose, now)
	if err != nil {
		return nil, err
	}
	if covers, err = x.unsuspended(covers); err != nil {
		return nil, err
	}
	// Several agreements may cover one purpose; the newest names the
	// default fields, and any of them may allow the fields asked for.
	ag := covers[len(covers)-1]
	fields := q.Fields
	if len(fields) == 0 {
		for _, f := range ag.Fields {
			fields = append(fields, f.Name)
		}
	}
	if i := slices.IndexFunc(covers, func(a *hutong.Agreement) bool { return allows(a, fields) }); i >= 0 {
		ag = covers[i]
	} else {
		var outside []string
		for _, f := range fields {
			if ag.Field(f) == nil {
				outside = append(outside, f)
			}
		}
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "%s outside agreement %s, which allows %s", quoteList(outside), ag.ID, agreementFields(ag))
	}

	// Filters name allowed fields only: a filter on a field one may not see
	// would tell its values row by row. On masked fields only equality is
	// allowed, to check a value one already knows, not to recover one.
	where := make([]hutong.Condition, 0, len(filters)+len(ag.RowScope))
	seen := slices.Clone(fields)
	probes := 0
	for _, f := range filters {
		it := res.Item(f.Field)
		if it == nil {
			return nil, hutong.Errorf(hutong.EINVALID, "filter on %q: not an item of %s", f.Field, res.Code)
		}
		af := ag.Field(f.Field)
		if af == nil {
			return nil, hutong.Errorf(hutong.EFORBIDDEN, "filter on %q: the field is outside agreement %s", f.Field, ag.ID)
		}
		if af.Masking.Strength() > 0 {
			// A consumer may check a value it already holds, one at a
			// time, against its daily budget, but never search for one:
			// no in-lists, ranges or prefixes on a masked field.
			if f.Op != hutong.OpEq || len(f.Values) != 1 {
				return nil, hutong.Errorf(hutong.EFORBIDDEN, "filter on %q: the field is masked (%s), so it takes eq with one value only, and each such filter spends one of the agreement's %d daily probes", f.Field, af.Masking, ag.Probes())
			}
			probes++
		}
		cc, err := standard.CheckCondition(*it, f)
		if err != nil {
			return nil, hutong.Errorf(hutong.EINVALID, "filter on %q: %v", f.Field, err)
		}
		where = append(where, cc)
		if !slices.Contains(seen, f.Field) {
			seen = append(seen, f.Field)
		}
	}

	// The policy checks the chosen agreement on its own terms, whatever
	// the checks above concluded.
	d, err := x.Policy.Authorize(ctx, hutong.Access{Department: dept, Resource: res, Action: action, Purpose: q.Purpose, Fields: seen, Time: now}, []*hutong.Agreement{ag})
	if err != nil {
		return nil, err
	}
	if !d.Allowed {
		ev.Policies = d.Policies
		if len(d.Policies) > 0 {
			return nil, hutong.Errorf(hutong.EFORBIDDEN, "refused by policy %s", strings.Join(d.Policies, ", "))
		}
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "no policy permits %s of %s for %s", action, res.Code, q.Purpose)
	}
	if d.Agreement == nil || d.Agreement.ID != ag.ID {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "the policy did not confirm agreement %s", ag.ID)
	}
	scope, err := subjectScope(ctx, res, ag)
	if err != nil {
		return nil, err
	}
	where = append(where, scope...)
	masks := make([]hutong.MaskRule, len(fields))
	for i, f := range fields {
		af := ag.Field(f)
		if af == nil {
			return nil, hutong.Errorf(hutong.EFORBIDDEN, "%q is outside agreement %s", f, ag.ID)
		}
		masks[i] = af.Masking
	}
	ev.Agreement = ag.ID
	c := &call{res: res, ag: ag, fields: fields, masks: masks, masker: x.Masker.For(ag.ID), policies: d.Policies, probes: probes, cap: -1,
		binding: cursorBinding(action, ag.ID, res.Code, fields, where)}
	after, err := x.decodeCursor(c, q.Cursor)
	if err != nil {
		return nil, err
	}
	if err := x.quota().Take(ctx, ag, now, probes); err != nil {
		return nil, err
	}
	ev.Probes = probes // spent: counted again from the journal after a restart
	c.query = hutong.SourceQuery{Fields: fields, Where: where, After: after,
		ID: queryID(), Agreement: ag, Department: dept, Purpose: q.Purpose, Masks: masks}
	return c, nil
}

// unsuspended returns the agreements of covers that are not suspended, or
// the refusal that names the suspension when all are.
func (x *Service) unsuspended(covers []*hutong.Agreement) ([]*hutong.Agreement, error) {
	if x.Suspensions == nil {
		return covers, nil
	}
	var held *hutong.Suspension
	var out []*hutong.Agreement // a new slice: covers may be the store's
	for _, a := range covers {
		if sp := x.Suspensions.Suspended(a.ID); sp != nil {
			held = sp
			continue
		}
		out = append(out, a)
	}
	switch {
	case held == nil:
		return covers, nil
	case len(out) == 0:
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "agreement %s is suspended pending review since %s: %s",
			held.Agreement, held.At.In(hutong.ChinaTime).Format(time.RFC3339), held.Reason)
	}
	return out, nil
}

// queryID returns a fresh id for a planned query.
func queryID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "q_" + hex.EncodeToString(b)
}

// source returns where the call's rows live, refusing the call (and
// recording it) when that cannot be read. A source that masks rows itself
// (a region node) is given the masks and not masked again, and the audit
// entry names its query, which the source's own log keeps too.
func (x *Service) source(ctx context.Context, c *call, ev *hutong.AuditEvent) (hutong.Source, error) {
	src, err := x.Source(c.res)
	if err != nil {
		return nil, x.refuse(ctx, denied(ev, err), err)
	}
	if m, ok := src.(hutong.MaskingSource); ok && m.MasksRows() {
		c.masks, ev.Query, c.sourceMasks = nil, c.query.ID, true
	}
	c.subs = x.newSubjectSet(c)
	return src, nil
}

// covering returns the agreements that cover a purpose now, oldest first,
// or says why none does.
func covering(candidates []*hutong.Agreement, dept, resource, purpose string, now time.Time) ([]*hutong.Agreement, error) {
	if len(candidates) == 0 {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "department %s has no active agreement for %s; request access first (POST /api/v1/requests)", dept, resource)
	}
	var purposes []string
	var pending *hutong.Agreement
	var out []*hutong.Agreement
	for _, a := range candidates {
		if a.Purpose != purpose {
			if !slices.Contains(purposes, a.Purpose) {
				purposes = append(purposes, a.Purpose)
			}
			continue
		}
		switch a.StatusAt(now) {
		case "active":
			out = append(out, a)
		case "pending":
			pending = a
		}
	}
	switch {
	case len(out) > 0:
		slices.SortStableFunc(out, func(a, b *hutong.Agreement) int { return a.CreatedAt.Compare(b.CreatedAt) })
		return out, nil
	case pending != nil:
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "agreement %s starts at %s", pending.ID, pending.ValidFrom.In(hutong.ChinaTime).Format(time.RFC3339))
	}
	return nil, hutong.Errorf(hutong.EFORBIDDEN, "no active agreement of department %s for %s covers the purpose %q; agreed purposes: %s", dept, resource, purpose, quoteList(purposes))
}

// allows reports whether ag releases every one of fields.
func allows(ag *hutong.Agreement, fields []string) bool {
	for _, f := range fields {
		if ag.Field(f) == nil {
			return false
		}
	}
	return true
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", clip(s))
	}
	return strings.Join(q, ", ")
}

func agreementFields(ag *hutong.Agreement) string {
	names := make([]string, len(ag.Fields))
	for i, f := range ag.Fields {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// record writes an audit event; when the log cannot take it, the call
// fails with EUNAVAILABLE and nothing is released.
func (x *Service) record(ctx context.Context, ev *hutong.AuditEvent) (*hutong.Receipt, error) {
	rec, err := x.Auditor.Record(context.WithoutCancel(ctx), ev)
	if err != nil {
		if x.Logger != nil {
			x.Logger.Error("exchange: audit event not recorded; answering unavailable", "kind", ev.Kind, "resource", ev.Resource, "err", err)
		}
		return nil, &hutong.Error{Code: hutong.EUNAVAILABLE, Message: "the audit log cannot record this call, so nothing is released; try again shortly", RetryAfter: 5, Err: err}
	}
	return rec, nil
}

// refuse records a refusal and returns the error the caller sees.
func (x *Service) refuse(ctx context.Context, ev *hutong.AuditEvent, err error) error {
	if _, aerr := x.record(ctx, ev); aerr != nil {
		return aerr
	}
	return err
}

// Records answers one page of a governed read.
func (x *Service) Records(ctx context.Context, q hutong.RecordQuery) (*hutong.RecordPage, error) {
	c, ev, err := x.authorize(ctx, q, hutong.ActionRead)
	if err != nil {
		return nil, x.refuse(ctx, ev, err)
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		ev.Decision, ev.Reason = "deny", fmt.Sprintf("limit %d out of range", limit)
		return nil, x.refuse(ctx, ev, hutong.Errorf(hutong.EINVALID, "limit must be between 1 and %d", MaxLimit))
	}
	granted, day, err := x.quota().Reserve(ctx, c.ag, ev.Time, int64(limit), false)
	if err != nil {
		return nil, x.refuse(ctx, denied(ev, err), err)
	}
	released := int64(0)
	defer func() { x.quota().GiveBack(context.WithoutCancel(ctx), c.ag, day, granted-released) }()
	limit = int(granted)
	c.query.Limit = limit + 1 // one more tells whether a next page exists
	src, err := x.source(ctx, c, ev)
	if err != nil {
		return nil, err
	}

	keys := jsonKeys(c.fields)
	body := make([]byte, 0, 256+limit*64)
	body = append(body, `{"items":[`...)
	n := 0
	var last int64
	more := false
	err = src.Read(ctx, c.res, c.query, func(row hutong.SourceRow) error {
		if n == limit {
			more = true
			return errStop
		}
		c.subs.add(row.Values) // no flush: a page's subjects are noted with its entry
		c.mask(row.Values)
		if n > 0 {
			body = append(body, ',')
		}
		body = appendRecord(body, keys, row.Values)
		last = row.Key
		n++
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, x.refuse(ctx, denied(ev, err), err)
	}
	body = append(body, ']')
	if more { // the last page has no next_cursor
		body = append(body, `,"next_cursor":`...)
		body = appendString(body, x.encodeCursor(c, last))
	}
	body = append(body, "}\n"...)

	sum := sha256.Sum256(body)
	ev.Rows, ev.Digest = int64(n), hex.EncodeToString(sum[:])
	rec, err := x.record(ctx, ev)
	if err != nil {
		return nil, err
	}
	if err := x.noteSubjects(ctx, c.subs, rec.Index); err != nil {
		return nil, err
	}
	released = int64(n)
	return &hutong.RecordPage{Body: body, Receipt: rec, Rows: n}, nil
}

// errStop ends a read early.
var errStop = errors.New("stop")

// denied turns an event into a refusal because of err.
func denied(ev *hutong.AuditEvent, err error) *hutong.AuditEvent {
	ev.Decision, ev.Reason = "deny", hutong.ErrorMessage(err)
	return ev
}

// mask masks vals in place with the agreement's masker; c.masks is nil
// when the source masked them.
func (c *call) mask(vals []any) { c.masker.MaskRow(c.masks, vals) }

// Export streams every row the agreement allows.
func (x *Service) Export(ctx context.Context, q hutong.RecordQuery, format string, w io.Writer, start func(*hutong.Receipt)) (int64, error) {
	c, ev, err := x.authorize(ctx, q, hutong.ActionExport)
	if err == nil && format != "ndjson" && format != "csv" {
		err = hutong.Errorf(hutong.EINVALID, "format %q must be ndjson or csv", clip(format))
		denied(ev, err)
	}
	if err != nil {
		return 0, x.refuse(ctx, ev, err)
	}
	src, err := x.source(ctx, c, ev)
	if err != nil {
		return 0, err
	}
	if c.ag.RowsPerDay > 0 {
		// Reserve the whole export before its first row, and release no
		// more than was reserved (rows added meanwhile wait for the next).
		total, err := src.Count(ctx, c.res, c.query)
		if err != nil {
			return 0, x.refuse(ctx, denied(ev, err), err)
		}
		granted, day, err := x.quota().Reserve(ctx, c.ag, ev.Time, total, true)
		if err != nil {
			return 0, x.refuse(ctx, denied(ev, err), err)
		}
		c.query.Limit, c.cap = int(max(granted, 1)), granted
		var released int64
		defer func() { x.quota().GiveBack(context.WithoutCancel(ctx), c.ag, day, granted-released) }()
		n, err := x.export(ctx, src, c, ev, format, w, start)
		released = n
		return n, err
	}
	return x.export(ctx, src, c, ev, format, w, start)
}

// export writes the rows of an authorised export to w.
func (x *Service) export(ctx context.Context, src hutong.Source, c *call, ev *hutong.AuditEvent, format string, w io.Writer, start func(*hutong.Receipt)) (int64, error) {
	// The export's audit entry is written before the first byte; a second
	// entry records what was released once it is done.
	rec, err := x.record(ctx, ev)
	if err != nil {
		return 0, err
	}
	if start != nil {
		start(rec)
	}
	x.streaming(ctx, c.subs, rec.Index)

	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 64<<10)
	var n int64
	var werr error
	if format == "csv" {
		n, werr = x.exportCSV(ctx, src, c, bw)
	} else {
		n, werr = x.exportNDJSON(ctx, src, c, bw)
	}
	if werr == nil {
		werr = bw.Flush()
	}
	if err := x.noteSubjects(ctx, c.subs, rec.Index); err != nil && werr == nil {
		werr = err
	}
	done := &hutong.AuditEvent{Time: x.now(), Kind: hutong.AuditExportDone, Actor: ev.Actor, Department: ev.Department,
		Resource: ev.Resource, Provider: ev.Provider, Agreement: ev.Agreement, Purpose: ev.Purpose, Fields: ev.Fields,
		Rows: n, Decision: "allow", Policies: ev.Policies, Digest: digest(h), Query: ev.Query}
	if werr != nil {
		done.Reason = "incomplete: " + hutong.ErrorMessage(werr)
	}
	if _, err := x.record(ctx, done); err != nil && x.Logger != nil {
		x.Logger.Error("exchange: export finished but its completion was not recorded", "resource", ev.Resource, "rows", n, "err", err)
	}
	return n, werr
}

func digest(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// csvCell is the CSV text of v, with text that a spreadsheet would run as
// a formula (starting with =, +, -, @, a tab or a carriage return, and not
// a plain number) prefixed by a single quote, as OWASP's guidance on CSV
// injection says. JSON and NDJSON exports stay exact.
func csvCell(v any) string {
	s := standard.Text(v)
	if _, text := v.(string); !text || s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return "'" + s
		}
	}
	return s
}

func (x *Service) exportNDJSON(ctx context.Context, src hutong.Source, c *call, w *bufio.Writer) (int64, error) {
	keys := jsonKeys(c.fields)
	var n int64
	buf := make([]byte, 0, 1024)
	err := src.Read(ctx, c.res, c.query, func(row hutong.SourceRow) error {
		if n == c.cap {
			return errStop
		}
		if err := c.subs.add(row.Values); err != nil {
			return err
		}
		c.mask(row.Values)
		buf = appendRecord(buf[:0], keys, row.Values)
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
		n++
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return n, err
}

func (x *Service) exportCSV(ctx context.Context, src hutong.Source, c *call, w *bufio.Writer) (int64, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(c.fields); err != nil {
		return 0, err
	}
	rec := make([]string, len(c.fields))
	var n int64
	err := src.Read(ctx, c.res, c.query, func(row hutong.SourceRow) error {
		if n == c.cap {
			return errStop
		}
		if err := c.subs.add(row.Values); err != nil {
			return err
		}
		c.mask(row.Values)
		for i, v := range row.Values {
			rec[i] = csvCell(v)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
		n++
		return nil
	})
	cw.Flush()
	if errors.Is(err, errStop) {
		err = nil
	}
	if err == nil {
		err = cw.Error()
	}
	return n, err
}

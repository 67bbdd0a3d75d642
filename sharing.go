package hutong

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The rules of the sharing flow (共享申请 → 审批 → 共享协议), as the 2016
// rules and the hub's configuration set them: what a valid request is, who
// decides it, what an approval may change, and the agreement it yields.
// Storage applies them; it adds only ids, times and persistence.

// Limits of a request.
const (
	MaxBasisRunes        = 1000
	MaxReasonRunes       = 1000
	MaxRowsPerDay        = 1_000_000_000
	MaxRequestsPerMinute = 1_000_000
	MaxScopeConditions   = 10
)

// RequestRules are the hub's settings of the flow and the checker of
// conditions, which the flow's rules apply.
type RequestRules struct {
	// MaxValidity bounds how long an agreement may run; longer requested
	// periods are shortened to it, not refused.
	MaxValidity time.Duration
	// DefaultRowsPerDay and DefaultRequestsPerMinute apply when a request
	// names no volume.
	DefaultRowsPerDay        int64
	DefaultRequestsPerMinute int
	// CheckCondition checks a row-scope condition against its item's data
	// element and returns it canonical (standard.CheckCondition). An error
	// that has a Violation(row, field) method names its rule.
	CheckCondition func(Item, Condition) (Condition, error)
}

// CheckRequest checks in, a request for res at now, and returns the
// request it files (pending; the caller gives it its id, consumer and
// deadline), or every violation it finds.
func CheckRequest(in *RequestInput, res *Resource, now time.Time, rules RequestRules) (*Request, []Violation) {
	var vs []Violation
	bad := func(field, rule, format string, args ...any) {
		vs = append(vs, Violation{Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	if len(in.Fields) == 0 {
		bad("fields", "required", "name the fields you need; the resource has %s", itemNames(res))
	}
	var unknown []string
	fields := make([]string, 0, len(in.Fields))
	for _, f := range in.Fields {
		f = strings.TrimSpace(f)
		switch {
		case res.Item(f) == nil:
			unknown = append(unknown, ClipText(f, 80))
		case slices.Contains(fields, f):
			bad("fields", "duplicate", "field %s is named twice", f)
		default:
			fields = append(fields, f)
		}
	}
	if len(unknown) > 0 {
		if len(unknown) > 10 {
			unknown = append(unknown[:10], fmt.Sprintf("and %d more", len(unknown)-10))
		}
		bad("fields", "unknown_item", "%s not items of %s (it has %s)", strings.Join(unknown, ", "), res.Code, itemNames(res))
	}
	purpose := strings.TrimSpace(in.Purpose)
	if n := utf8.RuneCountInString(purpose); n == 0 || n > MaxPurposeRunes {
		bad("purpose", "length", "purpose (用途) must have 1 to %d characters", MaxPurposeRunes)
	}
	basis := strings.TrimSpace(in.LegalBasis)
	switch n := utf8.RuneCountInString(basis); {
	case n > MaxBasisRunes:
		bad("legal_basis", "length", "legal_basis has more than %d characters", MaxBasisRunes)
	case n == 0 && res.ShareType == ShareConditional:
		bad("legal_basis", "required", "a conditionally shared resource needs the legal basis (依据) of the request")
	}
	// Periods are whole seconds: the policy compares Unix seconds.
	from := now.Truncate(time.Second)
	if in.ValidFrom != "" {
		t, ok := ParseDay(in.ValidFrom, false)
		if !ok {
			bad("valid_from", "format", "valid_from %q must be YYYY-MM-DD or RFC 3339", ClipText(in.ValidFrom, 40))
		} else if t.After(now) {
			from = t.Truncate(time.Second)
		}
	}
	until, ok := ParseDay(in.ValidUntil, true)
	until = until.Truncate(time.Second)
	switch {
	case in.ValidUntil == "":
		bad("valid_until", "required", "valid_until is required: the day the agreement ends")
	case !ok:
		bad("valid_until", "format", "valid_until %q must be YYYY-MM-DD or RFC 3339", ClipText(in.ValidUntil, 40))
	case !until.After(from):
		bad("valid_until", "range", "valid_until must be after the start of the period")
	case until.Sub(now) > rules.MaxValidity:
		// Longer periods are shortened, not refused: the answer shows the
		// period granted, and the consumer files again when it ends.
		until = now.Add(rules.MaxValidity).Truncate(time.Second)
	}
	if in.RowsPerDay < 0 || in.RowsPerDay > MaxRowsPerDay {
		bad("rows_per_day", "range", "rows_per_day must be between 0 and %d", MaxRowsPerDay)
	}
	if in.RequestsPerMinute < 0 || in.RequestsPerMinute > MaxRequestsPerMinute {
		bad("requests_per_minute", "range", "requests_per_minute must be between 0 and %d", MaxRequestsPerMinute)
	}
	scope, svs := CheckScope(res, in.RowScope, "row_scope", rules.CheckCondition)
	vs = append(vs, svs...)
	if len(vs) > 0 {
		return nil, vs
	}
	rows, perMinute := in.RowsPerDay, in.RequestsPerMinute
	if rows == 0 {
		rows = rules.DefaultRowsPerDay
	}
	if perMinute == 0 {
		perMinute = rules.DefaultRequestsPerMinute
	}
	return &Request{Resource: res.Code, ResourceName: res.Name, Provider: res.Provider, Fields: fields, Purpose: purpose,
		LegalBasis: basis, ValidFrom: from, ValidUntil: until, RowScope: scope, RowsPerDay: rows, RequestsPerMinute: perMinute,
		Status: RequestPending, CreatedAt: now}, nil
}

// CheckScope checks row-scope conditions against res's items with check
// and returns them canonical; field names them in violations.
func CheckScope(res *Resource, scope []Condition, field string, check func(Item, Condition) (Condition, error)) ([]Condition, []Violation) {
	if len(scope) > MaxScopeConditions {
		return nil, []Violation{{Field: field, Rule: "length", Message: fmt.Sprintf("at most %d row-scope conditions", MaxScopeConditions)}}
	}
	var vs []Violation
	out := make([]Condition, 0, len(scope))
	for i, c := range scope {
		f := fmt.Sprintf("%s[%d]", field, i)
		it := res.Item(c.Field)
		if it == nil {
			vs = append(vs, Violation{Field: f, Rule: "unknown_item", Message: fmt.Sprintf("%q is not an item of %s", ClipText(c.Field, 80), res.Code)})
			continue
		}
		cc, err := check(*it, c)
		if err != nil {
			vs = append(vs, violationOf(err, f))
			continue
		}
		out = append(out, cc)
	}
	return out, vs
}

// violationOf turns a checker's error into a violation of field.
func violationOf(err error, field string) Violation {
	var named interface {
		Violation(row int, field string) Violation
	}
	if errors.As(err, &named) {
		return named.Violation(0, field)
	}
	return Violation{Field: field, Rule: "invalid", Message: err.Error()}
}

// CheckNarrowing checks that an approval's n only narrows req over res
// (fewer fields, an earlier end, lower limits, stricter masking, more row
// scope) and returns its row scope canonical in n, or every violation.
func CheckNarrowing(n *Narrowing, req *Request, res *Resource, check func(Item, Condition) (Condition, error)) []Violation {
	var vs []Violation
	bad := func(field, rule, format string, args ...any) {
		vs = append(vs, Violation{Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	for i, f := range n.Fields {
		n.Fields[i] = strings.TrimSpace(f)
		switch {
		case !slices.Contains(req.Fields, n.Fields[i]):
			bad("fields", "not_requested", "%s was not requested; approval may only drop fields", ClipText(f, 80))
		case slices.Contains(n.Fields[:i], n.Fields[i]):
			bad("fields", "duplicate", "field %s is named twice", f)
		}
	}
	if n.ValidUntil != "" {
		t, ok := ParseDay(n.ValidUntil, true)
		switch {
		case !ok:
			bad("valid_until", "format", "valid_until %q must be YYYY-MM-DD or RFC 3339", ClipText(n.ValidUntil, 40))
		case t.After(req.ValidUntil):
			bad("valid_until", "wider", "valid_until may only be earlier than the requested %s", req.ValidUntil.In(ChinaTime).Format(time.DateOnly))
		case !t.After(req.ValidFrom):
			bad("valid_until", "range", "valid_until must be after the start of the period")
		}
	}
	if n.RowsPerDay < 0 || n.RowsPerDay > req.RowsPerDay {
		bad("rows_per_day", "wider", "rows_per_day may only be lowered (requested %d)", req.RowsPerDay)
	}
	if n.RequestsPerMinute < 0 || n.RequestsPerMinute > req.RequestsPerMinute {
		bad("requests_per_minute", "wider", "requests_per_minute may only be lowered (requested %d)", req.RequestsPerMinute)
	}
	if n.ProbesPerDay < 0 || n.ProbesPerDay > MaxProbesPerDay {
		bad("probes_per_day", "range", "probes_per_day (equality filters on masked fields a day) must be between 1 and %d; 0 or absent takes %d", MaxProbesPerDay, DefaultProbesPerDay)
	}
	for f, m := range n.Masking {
		it := res.Item(f)
		switch {
		case it == nil || !slices.Contains(req.Fields, f):
			bad("masking", "not_requested", "masking names %s, which was not requested", ClipText(f, 80))
		case !m.Valid():
			bad("masking", "enum", "unknown masking %q for %s", ClipText(string(m), 40), f)
		case m.Strength() < it.Masking.Strength():
			bad("masking", "weaker", "masking %s of %s is weaker than its default %s", m, f, it.Masking)
		}
	}
	scope, svs := CheckScope(res, n.RowScope, "row_scope", check)
	n.RowScope = scope
	return append(vs, svs...)
}

// MayDecide says whether a may decide req: only a steward of the providing
// department — not a platform admin, whose role is to run the hub, not to
// share another department's data (an overdue request is escalated, not
// decided for the provider) — and never for its own department's request
// to another's resource. It returns EFORBIDDEN saying why not.
func (a *Actor) MayDecide(req *Request) error {
	switch {
	case a == nil || a.User == nil:
		return Errorf(EFORBIDDEN, "requests are decided by signed-in stewards")
	case a.User.Department == req.Consumer && req.Consumer != req.Provider:
		return Errorf(EFORBIDDEN, "%s may not decide its own department's request for another department's resource", a)
	case a.Has(RoleSteward) && a.User.Department == req.Provider:
		return nil
	}
	return Errorf(EFORBIDDEN, "only a steward of the providing department %s decides this request", req.Provider)
}

// MayRemind reports whether the actor may chase (催办) req: a signed-in
// user of the consumer department, while the request is pending.
func (a *Actor) MayRemind(req *Request) error {
	switch {
	case a == nil || a.User == nil:
		return Errorf(EFORBIDDEN, "reminders are sent by signed-in users")
	case a.User.Department != req.Consumer:
		return Errorf(EFORBIDDEN, "only the requesting department %s may chase its request", req.Consumer)
	case req.Status != RequestPending:
		return Errorf(ECONFLICT, "request %s is already %s", req.ID, req.Status)
	}
	return nil
}

// NewAgreement returns the agreement (id) that approving req over res
// with the narrowing n yields at now: the request's terms, narrowed; each
// field masked by its item's rule or the stricter one n names.
func NewAgreement(id string, req *Request, res *Resource, n Narrowing, now time.Time) *Agreement {
	fields := req.Fields
	if len(n.Fields) > 0 {
		fields = n.Fields
	}
	ag := &Agreement{
		ID: id, RequestID: req.ID, Consumer: req.Consumer, Resource: req.Resource, Provider: req.Provider,
		RowScope: append(slices.Clone(req.RowScope), n.RowScope...), Purpose: req.Purpose, LegalBasis: req.LegalBasis,
		ValidFrom: req.ValidFrom, ValidUntil: req.ValidUntil,
		RequestsPerMinute: req.RequestsPerMinute, RowsPerDay: req.RowsPerDay, ProbesPerDay: n.ProbesPerDay, CreatedAt: now,
	}
	if ag.ProbesPerDay == 0 {
		ag.ProbesPerDay = DefaultProbesPerDay
	}
	if t, ok := ParseDay(n.ValidUntil, true); ok && n.ValidUntil != "" {
		ag.ValidUntil = t
	}
	if n.RowsPerDay > 0 {
		ag.RowsPerDay = n.RowsPerDay
	}
	if n.RequestsPerMinute > 0 {
		ag.RequestsPerMinute = n.RequestsPerMinute
	}
	for _, f := range fields {
		m := res.Item(f).Masking
		if nm, ok := n.Masking[f]; ok {
			m = nm
		}
		ag.Fields = append(ag.Fields, AgreementField{Name: f, Masking: m})
	}
	return ag
}

// ParseDay reads a date (a whole day in China Standard Time: its start,
// or with end its end) or an RFC 3339 time, in UTC.
func ParseDay(s string, end bool) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	d, err := time.ParseInLocation(time.DateOnly, s, ChinaTime)
	if err != nil {
		return time.Time{}, false
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d.UTC(), true
}

func itemNames(r *Resource) string {
	names := make([]string, len(r.Items))
	for i, it := range r.Items {
		names[i] = it.Name
	}
	return strings.Join(names, ", ")
}

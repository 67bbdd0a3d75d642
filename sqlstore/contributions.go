package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/hutong/hutong"
)

// Contributions implements hutong.ContributionService from the catalog,
// the requests and the audit journal: the same entries the ledger holds,
// so each figure can be checked against it.
type Contributions struct{ db *DB }

var _ hutong.ContributionService = (*Contributions)(nil)

// NewContributions returns the contribution accounts of db.
func NewContributions(db *DB) *Contributions { return &Contributions{db: db} }

// Contributions accounts every provider of f.Month, scores each against
// the month's largest figures, ranks them, and returns those the caller
// may see (f.Department: only that one), best first.
func (s *Contributions) Contributions(ctx context.Context, f hutong.ContributionFilter) ([]hutong.Contribution, error) {
	a := hutong.ActorFromContext(ctx)
	if a == nil || a.User == nil {
		return nil, hutong.Errorf(hutong.EUNAUTHORIZED, "sign in to read contributions")
	}
	if f.Month == "" {
		f.Month = s.db.now().In(hutong.ChinaTime).Format("2006-01")
	}
	from, to, err := hutong.ParseMonth(f.Month)
	if err != nil {
		return nil, err
	}
	if f.Department != "" && s.db.department(f.Department) == nil {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "department %q not found", hutong.ClipText(f.Department, 64))
	}
	sees := func(dept string) bool {
		d := s.db.department(dept)
		return d != nil && (a.IsAdmin() || a.Has(hutong.RoleAuditor) || a.Department() == dept || a.AdministersRegion(d.Region))
	}
	if f.Department != "" && !sees(f.Department) {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "the contribution of %s is for its own users, its region admin and auditors", f.Department)
	}

	byDept := map[string]*hutong.Contribution{}
	get := func(dept string) *hutong.Contribution {
		c, ok := byDept[dept]
		if !ok {
			c = &hutong.Contribution{Department: dept, Month: f.Month}
			if d := s.db.department(dept); d != nil {
				c.Region = d.Region
			}
			byDept[dept] = c
		}
		return c
	}
	// The month's end, or now for the current month: a resource is
	// judged current at the moment the month was (or is) last seen.
	at := to
	if now := s.db.now(); now.Before(at) {
		at = now
	}
	if err := s.resources(ctx, to, at, get); err != nil {
		return nil, err
	}
	if err := s.reads(ctx, from, to, get); err != nil {
		return nil, err
	}
	if err := s.requests(ctx, from, to, s.db.now(), get); err != nil {
		return nil, err
	}

	var maxConsumers int
	var maxRows int64
	for _, c := range byDept {
		maxConsumers, maxRows = max(maxConsumers, c.Consumers), max(maxRows, c.RowsServed)
	}
	all := make([]hutong.Contribution, 0, len(byDept))
	for _, c := range byDept {
		c.ScoreAgainst(maxConsumers, maxRows)
		c.Evidence = hutong.ContributionEvidence(c.Department, from, to)
		all = append(all, *c)
	}
	slices.SortFunc(all, func(x, y hutong.Contribution) int {
		return cmp.Or(cmp.Compare(y.Score, x.Score), cmp.Compare(x.Department, y.Department))
	})
	out := []hutong.Contribution{}
	for i := range all {
		all[i].Rank = i + 1
		if i > 0 && all[i].Score == all[i-1].Score {
			all[i].Rank = all[i-1].Rank // ties share a place
		}
		if (f.Department == "" || all[i].Department == f.Department) && sees(all[i].Department) {
			out = append(out, all[i])
		}
	}
	return out, nil
}

// resources counts what each provider had published before to and how
// much of it was current at at.
func (s *Contributions) resources(ctx context.Context, to, at time.Time, get func(string) *hutong.Contribution) error {
	rows, err := s.db.ro.QueryContext(ctx, s.db.q(`SELECT code, provider, hosted, update_cycle, updated_at, row_count FROM resources WHERE created_at < ?`), utc(to))
	if err != nil {
		return internal(err)
	}
	held := map[string][]string{} // provider → hub-held resources with rows
	for rows.Next() {
		var code, provider, hosted, cycle string
		var updated time.Time
		var n int64
		if err := rows.Scan(&code, &provider, &hosted, &cycle, &updated, &n); err != nil {
			rows.Close()
			return internal(err)
		}
		c := get(provider)
		c.Resources++
		if hosted == string(hutong.HostedNode) || hutong.CycleCurrent(cycle, updated, at) {
			c.Current++
		}
		if hosted == string(hutong.HostedHub) && n > 0 {
			held[provider] = append(held[provider], code)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return internal(err)
	}
	// Data quality: filled cells over cells, across the provider's rows.
	stats := NewStats(s.db)
	for provider, codes := range held {
		var filled, cells int64
		for _, code := range codes {
			q, err := stats.Quality(ctx, code)
			if err != nil {
				return err
			}
			for _, it := range q {
				filled, cells = filled+it.Filled, cells+it.Total
			}
		}
		if cells > 0 {
			r := float64(filled) / float64(cells)
			get(provider).FillRate = &r
		}
	}
	return nil
}

// reads counts the allowed reads and exports of each provider's
// resources in [from, to), the rows they released and their consumers.
func (s *Contributions) reads(ctx context.Context, from, to time.Time, get func(string) *hutong.Contribution) error {
	rows, err := s.db.auditRO.QueryContext(ctx, s.db.q(`SELECT provider, department, kind, rows FROM audit_log
		WHERE time >= ? AND time < ? AND kind IN (?, ?, ?) AND decision = 'allow'`),
		utc(from), utc(to), hutong.AuditRead, hutong.AuditExport, hutong.AuditExportDone)
	if err != nil {
		return internal(err)
	}
	defer rows.Close()
	consumers := map[string]map[string]bool{}
	for rows.Next() {
		var provider, consumer, kind string
		var n int64
		if err := rows.Scan(&provider, &consumer, &kind, &n); err != nil {
			return internal(err)
		}
		if provider == "" {
			continue
		}
		c := get(provider)
		switch kind {
		case hutong.AuditExportDone:
			c.RowsServed += n // an export's rows come with its completion
		case hutong.AuditExport:
			c.Calls++
		default:
			c.Calls++
			c.RowsServed += n
		}
		if consumers[provider] == nil {
			consumers[provider] = map[string]bool{}
		}
		if consumer != "" && !consumers[provider][consumer] {
			consumers[provider][consumer] = true
			c.Consumers++
		}
	}
	return internal(rows.Err())
}

// requests counts the requests whose reply limit fell in [from, to) and
// has passed by now, and those decided by it.
func (s *Contributions) requests(ctx context.Context, from, to, now time.Time, get func(string) *hutong.Contribution) error {
	rows, err := s.db.ro.QueryContext(ctx, s.db.q(`SELECT provider, due_at, decided_at FROM requests WHERE due_at >= ? AND due_at < ?`),
		utc(from), utc(to))
	if err != nil {
		return internal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var provider string
		var due time.Time
		var decided sql.NullTime
		if err := rows.Scan(&provider, &due, &decided); err != nil {
			return internal(err)
		}
		onTime := decided.Valid && !decided.Time.After(due)
		if !onTime && due.After(now) {
			continue // not yet due, not yet late
		}
		c := get(provider)
		c.Requests++
		if onTime {
			c.OnTime++
		}
	}
	return internal(rows.Err())
}

package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hutong/hutong"
)

// Stats implements hutong.StatsService.
type Stats struct{ db *DB }

var _ hutong.StatsService = (*Stats)(nil)

// NewStats returns the stats service of db.
func NewStats(db *DB) *Stats { return &Stats{db: db} }

// Activity aggregates the exchange entries of the audit journal.
func (s *Stats) Activity(ctx context.Context, f hutong.ActivityFilter) (*hutong.Activity, error) {
	if f.To.IsZero() {
		f.To = s.db.now()
	}
	if f.From.IsZero() {
		f.From = f.To.AddDate(0, 0, -30)
	}
	if !f.From.Before(f.To) || f.To.Sub(f.From) > maxFeedbackPeriod {
		return nil, hutong.Errorf(hutong.EINVALID, "the period must start before it ends and last at most 366 days")
	}
	a := &hutong.Activity{Resources: map[string]int64{}}
	day0 := startOfDay(f.From)
	days := map[string]*hutong.DayCount{}
	for d := day0; d.Before(f.To); d = d.AddDate(0, 0, 1) {
		a.Days = append(a.Days, hutong.DayCount{Day: d.Format(time.DateOnly)})
	}
	for i := range a.Days {
		days[a.Days[i].Day] = &a.Days[i]
	}
	hour0 := f.To.Add(-48 * time.Hour).Truncate(time.Hour)
	for h := hour0; h.Before(f.To); h = h.Add(time.Hour) {
		a.Hours = append(a.Hours, hutong.HourCount{Hour: h.UTC()})
	}
	flows := map[[2]string]*hutong.Flow{}

	rows, err := s.db.auditRO.QueryContext(ctx, s.db.q(`SELECT time, kind, department, provider, resource, decision, rows FROM audit_log
		WHERE time >= ? AND time < ? AND kind IN (?, ?, ?)`), utc(f.From), utc(f.To), hutong.AuditRead, hutong.AuditExport, hutong.AuditExportDone)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var t time.Time
		var kind, dept, provider, resource, decision string
		var n int64
		if err := rows.Scan(&t, &kind, &dept, &provider, &resource, &decision, &n); err != nil {
			return nil, internal(err)
		}
		d := days[t.In(hutong.ChinaTime).Format(time.DateOnly)]
		if decision != "allow" {
			a.Refused++
			if d != nil {
				d.Refused++
			}
			continue
		}
		var calls int64
		if kind != hutong.AuditExportDone {
			calls = 1
		}
		if kind == hutong.AuditExport {
			n = 0 // an export's rows come with its completion
		}
		a.Calls += calls
		a.Rows += n
		a.Resources[resource] += calls
		if d != nil {
			d.Calls += calls
			d.Rows += n
		}
		if i := int(t.Sub(hour0) / time.Hour); t.After(hour0) && i >= 0 && i < len(a.Hours) {
			a.Hours[i].Calls += calls
		}
		from, to := s.db.regionOf(provider), s.db.regionOf(dept)
		if from == "" || to == "" {
			continue
		}
		fl, ok := flows[[2]string{from, to}]
		if !ok {
			fl = &hutong.Flow{From: from, To: to}
			flows[[2]string{from, to}] = fl
		}
		fl.Calls += calls
		fl.Rows += n
	}
	if err := rows.Err(); err != nil {
		return nil, internal(err)
	}
	for _, fl := range flows {
		a.Flows = append(a.Flows, *fl)
	}
	sortFlows(a.Flows)
	return a, nil
}

func sortFlows(fs []hutong.Flow) {
	slices.SortFunc(fs, func(a, b hutong.Flow) int {
		return cmp.Or(cmp.Compare(b.Calls, a.Calls), cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
}

func startOfDay(t time.Time) time.Time {
	d := t.In(hutong.ChinaTime)
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, hutong.ChinaTime)
}

// regionOf returns the division of a department, or "".
func (db *DB) regionOf(dept string) string {
	if d := db.department(dept); d != nil {
		return d.Region
	}
	return ""
}

// Quality counts, per item, the rows that have a value.
func (s *Stats) Quality(ctx context.Context, code string) ([]hutong.ItemQuality, error) {
	r, err := s.db.cachedResource(ctx, code)
	if err != nil {
		return nil, err
	}
	if r.Hosted != hutong.HostedHub {
		return nil, hutong.Errorf(hutong.ECONFLICT, "resource %s is held at its region's node", code)
	}
	var b strings.Builder
	b.WriteString("SELECT COUNT(*)")
	for i := range r.Items {
		fmt.Fprintf(&b, ", COUNT(%s)", column(i))
	}
	b.WriteString(" FROM " + rowTable(r.id))
	vals := make([]int64, len(r.Items)+1)
	dest := make([]any, len(vals))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := s.db.ro.QueryRowContext(ctx, b.String()).Scan(dest...); err != nil {
		return nil, internal(err)
	}
	out := make([]hutong.ItemQuality, len(r.Items))
	for i, it := range r.Items {
		out[i] = hutong.ItemQuality{Item: it.Name, Filled: vals[i+1], Total: vals[0]}
	}
	return out, nil
}

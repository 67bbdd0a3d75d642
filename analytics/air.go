package analytics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
)

// Air-quality defaults and limits.
const (
	// KindAirQuality is the audit kind of one air-quality computation.
	KindAirQuality = "analytics.air_quality"
	// DefaultThreshold is the AQI above which an hour counts towards a hot
	// spot: above 100 is light pollution or worse under HJ 633-2012.
	DefaultThreshold = 100
	// DefaultMinHours is the hours above the threshold that make a hot spot.
	DefaultMinHours = 24
	// DefaultPeriod is the period compared when the query names none: the
	// days up to the latest reading.
	DefaultPeriod = 30 * 24 * time.Hour
	// MaxPeriod bounds one comparison.
	MaxPeriod = 366 * 24 * time.Hour
	// lookBack bounds the search for the latest reading.
	lookBack = 10 * 366 * 24 * time.Hour
)

// The data elements an air-quality resource maps its items to.
const (
	elementAQI      = "aqi"
	elementDivision = "division_code"
	elementDateTime = "datetime"
)

// AirQuality implements hutong.AirQualityService over the catalog: it finds
// the unconditionally shared (无条件共享) resources whose items map to the
// elements aqi, division_code and datetime (the demo's 110000-BJHJ-05,
// 120000-TJHJ-05, 130000-HBHJ-05), reads those three items of the period's
// rows through Source, and aggregates them per city. Conditionally shared
// resources are left out: any signed-in user may see the aggregate, and a
// mean over a conditional resource would release it without an approval.
//
// Each computation records one audit event (KindAirQuality) through
// Auditor before it returns; when the audit fails, so does the computation,
// and nothing is returned. Only aggregates leave the service.
//
// Fill in the fields before use; AirQuality is safe for concurrent use.
type AirQuality struct {
	Catalog hutong.CatalogService
	// Source returns where a resource's rows live, as for the exchange.
	Source  func(*hutong.Resource) (hutong.Source, error)
	Auditor hutong.Auditor
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

var _ hutong.AirQualityService = (*AirQuality)(nil)

// airResource is an air-quality resource with the items of the three
// elements the comparison reads.
type airResource struct {
	r                   *hutong.Resource
	aqi, city, datetime hutong.Item
}

// cityHours is one city's readings over the period, by hour.
type cityHours struct {
	sum      float64
	readings int64
	max      int64
	hours    map[int64]*hourSum // Unix hour → the stations' readings
}

type hourSum struct {
	sum float64
	n   int64
}

// AirQuality compares the mean AQI of the region's cities over [q.From,
// q.To) and finds the hot spots: cities whose hourly AQI (the mean of their
// stations) was above q.Threshold for at least q.MinHours hours. With
// neither From nor To it compares the DefaultPeriod up to the latest
// reading; the answer's Query says which period it took. It returns
// EUNAUTHORIZED without an actor, EINVALID for a bad query, ENOTFOUND when
// the catalog has no air-quality resource, and EUNAVAILABLE when the audit
// log refuses the event (and then no data).
func (s *AirQuality) AirQuality(ctx context.Context, q hutong.AirQualityQuery) (*hutong.AirQuality, error) {
	a := hutong.ActorFromContext(ctx)
	if a == nil {
		return nil, hutong.Errorf(hutong.EUNAUTHORIZED, "sign in to compare air quality")
	}
	if q.Threshold == 0 {
		q.Threshold = DefaultThreshold
	}
	if q.MinHours == 0 {
		q.MinHours = DefaultMinHours
	}
	switch {
	case q.Threshold < 0 || q.Threshold > 500:
		return nil, hutong.Errorf(hutong.EINVALID, "threshold %d: an AQI is between 0 and 500", q.Threshold)
	case q.MinHours < 0 || q.MinHours > int(MaxPeriod/time.Hour):
		return nil, hutong.Errorf(hutong.EINVALID, "min hours %d must be between 1 and %d", q.MinHours, int(MaxPeriod/time.Hour))
	}
	byDefault := q.From.IsZero() && q.To.IsZero()
	switch {
	case byDefault:
	case q.From.IsZero():
		q.From = q.To.Add(-DefaultPeriod)
	case q.To.IsZero():
		q.To = q.From.Add(DefaultPeriod)
	}
	if !byDefault && (!q.From.Before(q.To) || q.To.Sub(q.From) > MaxPeriod) {
		return nil, hutong.Errorf(hutong.EINVALID, "the period must start before it ends and last at most 366 days")
	}

	rs, err := s.resources(ctx)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "the catalog has no unconditionally shared air-quality resource (items mapped to the elements aqi, division_code and datetime)")
	}
	var unavailable []string
	if byDefault {
		latest, ok, missing, err := s.latest(ctx, rs)
		if err != nil {
			return nil, err
		}
		unavailable = missing
		q.To = s.now().Truncate(time.Hour).Add(time.Hour)
		if ok {
			q.To = latest.Truncate(time.Hour).Add(time.Hour)
		}
		q.From = q.To.Add(-DefaultPeriod)
	}
	q.From, q.To = q.From.UTC(), q.To.UTC()

	cities := map[string]*cityHours{}
	var read int64
	var used []string
	for _, ar := range rs {
		if slices.Contains(unavailable, ar.r.Code) {
			continue
		}
		n, err := s.read(ctx, ar, q, cities)
		read += n
		if hutong.ErrorCode(err) == hutong.EUNAVAILABLE {
			unavailable = append(unavailable, ar.r.Code)
			continue
		}
		if err != nil {
			return nil, err
		}
		used = append(used, ar.r.Code)
	}
	if len(used) == 0 {
		return nil, hutong.Errorf(hutong.EUNAVAILABLE, "no air-quality source can be read now (%s)", strings.Join(unavailable, ", "))
	}

	out := &hutong.AirQuality{Query: q, Resources: used, Cities: aggregate(cities, q)}
	reason := fmt.Sprintf("mean AQI per city over [%s, %s), hot spots above AQI %d for at least %d hours; %d cities",
		q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), q.Threshold, q.MinHours, len(out.Cities))
	if len(unavailable) > 0 {
		reason += "; unavailable: " + strings.Join(unavailable, ", ")
	}
	fields := []string{}
	for _, ar := range rs {
		for _, f := range []string{ar.city.Name, ar.datetime.Name, ar.aqi.Name} {
			if !slices.Contains(fields, f) {
				fields = append(fields, f)
			}
		}
	}
	rec, err := s.Auditor.Record(ctx, &hutong.AuditEvent{
		Time:       s.now().UTC(),
		Kind:       KindAirQuality,
		Actor:      a.String(),
		Department: a.Department(),
		Resource:   strings.Join(used, ","),
		Fields:     fields,
		Rows:       read,
		Decision:   "allow",
		Reason:     reason,
	})
	if err != nil {
		if hutong.ErrorCode(err) != hutong.EUNAVAILABLE {
			err = &hutong.Error{Code: hutong.EUNAVAILABLE, Message: "the audit log cannot record the computation; nothing is released", Err: err}
		}
		return nil, err
	}
	out.Receipt = rec
	return out, nil
}

func (s *AirQuality) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// resources returns the catalog's air-quality resources, by code.
func (s *AirQuality) resources(ctx context.Context) ([]airResource, error) {
	var out []airResource
	f := hutong.ResourceFilter{ShareType: hutong.ShareUnconditional, Limit: hutong.MaxPageSize}
	for range 1000 {
		page, err := s.Catalog.Resources(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Items {
			if ar, ok := airItems(r); ok {
				out = append(out, ar)
			}
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	slices.SortFunc(out, func(a, b airResource) int { return cmp.Compare(a.r.Code, b.r.Code) })
	return out, nil
}

// airItems finds the first item of r mapped to each element the
// comparison needs; ok is false when one is missing.
func airItems(r *hutong.Resource) (ar airResource, ok bool) {
	if r.ShareType != hutong.ShareUnconditional {
		return ar, false
	}
	var found [3]bool
	for _, it := range r.Items {
		switch {
		case it.Element == elementAQI && !found[0]:
			ar.aqi, found[0] = it, true
		case it.Element == elementDivision && !found[1]:
			ar.city, found[1] = it, true
		case it.Element == elementDateTime && !found[2]:
			ar.datetime, found[2] = it, true
		}
	}
	ar.r = r
	return ar, found[0] && found[1] && found[2]
}

// condition returns the canonical condition item op t.
func condition(it hutong.Item, op hutong.Op, t time.Time) (hutong.Condition, error) {
	c, err := standard.CheckCondition(it, hutong.Condition{Field: it.Name, Op: op, Values: []string{t.UTC().Format(time.RFC3339)}})
	if err != nil {
		return c, hutong.Internal(fmt.Errorf("analytics: condition on %s: %w", it.Name, err))
	}
	return c, nil
}

// latest finds the hour of the latest reading of any resource, by binary
// search over counts (the datetime items are indexed where rows are held),
// so no row is read. It returns the resources whose source is unavailable.
func (s *AirQuality) latest(ctx context.Context, rs []airResource) (t time.Time, ok bool, unavailable []string, err error) {
	hi := s.now().Truncate(time.Hour).Add(48 * time.Hour)
	lo := hi.Add(-lookBack)
	for _, ar := range rs {
		src, err := s.Source(ar.r)
		if err == nil {
			var found bool
			var at time.Time
			at, found, err = latestOf(ctx, src, ar, lo, hi)
			if err == nil && found && (!ok || at.After(t)) {
				t, ok = at, true
			}
		}
		if hutong.ErrorCode(err) == hutong.EUNAVAILABLE {
			unavailable = append(unavailable, ar.r.Code)
			continue
		}
		if err != nil {
			return t, false, nil, err
		}
	}
	return t, ok, unavailable, nil
}

// latestOf returns the latest hour in [lo, hi] at or after which src holds
// a reading of ar.
func latestOf(ctx context.Context, src hutong.Source, ar airResource, lo, hi time.Time) (time.Time, bool, error) {
	has := func(t time.Time) (bool, error) {
		c, err := condition(ar.datetime, hutong.OpGte, t)
		if err != nil {
			return false, err
		}
		n, err := src.Count(ctx, ar.r, hutong.SourceQuery{Where: []hutong.Condition{c}})
		return n > 0, err
	}
	if ok, err := has(lo); err != nil || !ok {
		return time.Time{}, false, err
	}
	if ok, err := has(hi); err != nil || ok {
		return hi, ok, err
	}
	// Invariant: has(lo) && !has(hi).
	for hi.Sub(lo) > time.Hour {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Hour)
		if !mid.After(lo) {
			mid = lo.Add(time.Hour)
		}
		ok, err := has(mid)
		if err != nil {
			return time.Time{}, false, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, true, nil
}

// read adds the readings of ar in q's period to cities and returns how
// many rows it read.
func (s *AirQuality) read(ctx context.Context, ar airResource, q hutong.AirQualityQuery, cities map[string]*cityHours) (int64, error) {
	src, err := s.Source(ar.r)
	if err != nil {
		return 0, err
	}
	from, err := condition(ar.datetime, hutong.OpGte, q.From)
	if err != nil {
		return 0, err
	}
	to, err := condition(ar.datetime, hutong.OpLt, q.To)
	if err != nil {
		return 0, err
	}
	var n int64
	sq := hutong.SourceQuery{Fields: []string{ar.city.Name, ar.datetime.Name, ar.aqi.Name}, Where: []hutong.Condition{from, to}}
	err = src.Read(ctx, ar.r, sq, func(row hutong.SourceRow) error {
		n++
		if len(row.Values) != 3 {
			return hutong.Internal(fmt.Errorf("analytics: %s returned %d values, want 3", ar.r.Code, len(row.Values)))
		}
		code, _ := row.Values[0].(string)
		at, ok := datetime(row.Values[1])
		aqi, okAQI := number(row.Values[2])
		if code == "" || !ok || !okAQI {
			return nil // a reading without place, time or value says nothing
		}
		city := cityOf(code)
		c := cities[city]
		if c == nil {
			c = &cityHours{hours: map[int64]*hourSum{}}
			cities[city] = c
		}
		c.sum += aqi
		c.readings++
		c.max = max(c.max, int64(math.Round(aqi)))
		h := at.Unix() / 3600
		hs := c.hours[h]
		if hs == nil {
			hs = &hourSum{}
			c.hours[h] = hs
		}
		hs.sum += aqi
		hs.n++
		return nil
	})
	if err != nil {
		var e *hutong.Error
		if !errors.As(err, &e) {
			err = hutong.Internal(fmt.Errorf("analytics: read %s: %w", ar.r.Code, err))
		}
		return n, err
	}
	return n, nil
}

// aggregate turns the readings into one CityAir per city, by code.
func aggregate(cities map[string]*cityHours, q hutong.AirQualityQuery) []hutong.CityAir {
	out := make([]hutong.CityAir, 0, len(cities))
	for code, c := range cities {
		ca := hutong.CityAir{Region: code, Readings: c.readings, MaxAQI: c.max}
		if c.readings > 0 {
			ca.MeanAQI = math.Round(c.sum/float64(c.readings)*10) / 10
		}
		for _, h := range c.hours {
			if h.sum/float64(h.n) > float64(q.Threshold) {
				ca.HoursAbove++
			}
		}
		ca.HotSpot = ca.HoursAbove >= int64(q.MinHours)
		out = append(out, ca)
	}
	slices.SortFunc(out, func(a, b hutong.CityAir) int { return cmp.Compare(a.Region, b.Region) })
	return out
}

// cityOf returns the city (or municipality) of a division code: a county's
// parent, or the code itself.
func cityOf(code string) string {
	if d, ok := standard.LookupDivision(code); ok && d.Level == hutong.LevelCounty && d.Parent != "" {
		return d.Parent
	}
	return code
}

func datetime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case string:
		t, err := time.Parse(time.RFC3339, x)
		return t, err == nil
	case time.Time:
		return x, true
	}
	return time.Time{}, false
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, !math.IsNaN(x)
	case int:
		return float64(x), true
	}
	return 0, false
}

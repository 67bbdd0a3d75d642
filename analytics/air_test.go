package analytics_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/analytics"
)

// fakeCatalog serves a fixed list of resources; other methods are not used.
type fakeCatalog struct {
	hutong.CatalogService
	resources func(f hutong.ResourceFilter) (*hutong.ResourcePage, error)
}

var _ hutong.CatalogService = fakeCatalog{}

func (c fakeCatalog) Resources(_ context.Context, f hutong.ResourceFilter) (*hutong.ResourcePage, error) {
	return c.resources(f)
}

// fakeSource reads and counts through function fields.
type fakeSource struct {
	read  func(r *hutong.Resource, q hutong.SourceQuery, yield func(hutong.SourceRow) error) error
	count func(r *hutong.Resource, q hutong.SourceQuery) (int64, error)
}

var _ hutong.Source = fakeSource{}

func (s fakeSource) Read(_ context.Context, r *hutong.Resource, q hutong.SourceQuery, yield func(hutong.SourceRow) error) error {
	return s.read(r, q, yield)
}

func (s fakeSource) Count(_ context.Context, r *hutong.Resource, q hutong.SourceQuery) (int64, error) {
	return s.count(r, q)
}

// fakeAuditor records events through a function field.
type fakeAuditor struct {
	record func(e *hutong.AuditEvent) (*hutong.Receipt, error)
}

var _ hutong.Auditor = fakeAuditor{}

func (a fakeAuditor) Record(_ context.Context, e *hutong.AuditEvent) (*hutong.Receipt, error) {
	return a.record(e)
}

// reading is one row of an air-quality table.
type reading struct {
	city string
	at   time.Time
	aqi  int64
}

func airResource(code string, share hutong.ShareType) *hutong.Resource {
	return &hutong.Resource{Code: code, ShareType: share, Hosted: hutong.HostedHub, Items: []hutong.Item{
		{Name: "监测站点编码", Element: "station_code", Type: hutong.TypeString},
		{Name: "所在城市", Element: "division_code", Type: hutong.TypeString},
		{Name: "监测时间", Element: "datetime", Type: hutong.TypeDateTime},
		{Name: "AQI", Element: "aqi", Type: hutong.TypeInteger},
		{Name: "PM2.5", Element: "pm25", Type: hutong.TypeDecimal},
	}}
}

// matches applies the datetime conditions of q to a reading, as a source would.
func matches(t *testing.T, q hutong.SourceQuery, at time.Time) bool {
	t.Helper()
	for _, c := range q.Where {
		if c.Field != "监测时间" {
			t.Fatalf("condition on %s, want only 监测时间", c.Field)
		}
		v, err := time.Parse(time.RFC3339, c.Values[0])
		if err != nil || !strings.HasSuffix(c.Values[0], "Z") {
			t.Fatalf("condition value %q is not canonical RFC 3339 UTC", c.Values[0])
		}
		switch c.Op {
		case hutong.OpGte:
			if at.Before(v) {
				return false
			}
		case hutong.OpLt:
			if !at.Before(v) {
				return false
			}
		default:
			t.Fatalf("operator %s", c.Op)
		}
	}
	return true
}

func source(t *testing.T, rows map[string][]reading) fakeSource {
	return fakeSource{
		read: func(r *hutong.Resource, q hutong.SourceQuery, yield func(hutong.SourceRow) error) error {
			if !slices.Equal(q.Fields, []string{"所在城市", "监测时间", "AQI"}) {
				t.Errorf("read fields %v, want only the city, time and AQI", q.Fields)
			}
			for i, rd := range rows[r.Code] {
				if matches(t, q, rd.at) {
					if err := yield(hutong.SourceRow{Key: int64(i + 1), Values: []any{rd.city, rd.at.UTC().Format(time.RFC3339), rd.aqi}}); err != nil {
						return err
					}
				}
			}
			return nil
		},
		count: func(r *hutong.Resource, q hutong.SourceQuery) (int64, error) {
			var n int64
			for _, rd := range rows[r.Code] {
				if matches(t, q, rd.at) {
					n++
				}
			}
			return n, nil
		},
	}
}

func TestAirQuality(t *testing.T) {
	cst := hutong.ChinaTime
	oct := func(day, hour int) time.Time { return time.Date(2026, 10, day, hour, 0, 0, 0, cst) }
	// Beijing: two stations, 30 hours at 150 and 50 (hourly mean 100: not
	// above 100), then 30 hours both at 180. Tianjin: 10 hours at 120.
	// Shijiazhuang (a county code, 130102): 40 hours at 200 on 2026-10-20.
	rows := map[string][]reading{}
	for h := range 30 {
		rows["110000-BJHJ-05"] = append(rows["110000-BJHJ-05"], reading{"110000", oct(1, 0).Add(time.Duration(h) * time.Hour), 150},
			reading{"110000", oct(1, 0).Add(time.Duration(h) * time.Hour), 50})
		rows["110000-BJHJ-05"] = append(rows["110000-BJHJ-05"], reading{"110000", oct(3, 0).Add(time.Duration(h) * time.Hour), 180},
			reading{"110000", oct(3, 0).Add(time.Duration(h) * time.Hour), 180})
	}
	for h := range 10 {
		rows["120000-TJHJ-05"] = append(rows["120000-TJHJ-05"], reading{"120000", oct(2, 0).Add(time.Duration(h) * time.Hour), 120})
	}
	for h := range 40 {
		rows["130000-HBHJ-05"] = append(rows["130000-HBHJ-05"], reading{"130102", oct(20, 0).Add(time.Duration(h) * time.Hour), 200})
	}
	catalog := fakeCatalog{resources: func(f hutong.ResourceFilter) (*hutong.ResourcePage, error) {
		all := []*hutong.Resource{
			airResource("110000-BJHJ-05", hutong.ShareUnconditional), airResource("120000-TJHJ-05", hutong.ShareUnconditional),
			airResource("130000-HBHJ-05", hutong.ShareUnconditional), airResource("130000-HBHJ-99", hutong.ShareConditional),
			{Code: "110000-BJSC-01", ShareType: hutong.ShareUnconditional, Items: []hutong.Item{{Name: "名称", Element: "text"}}},
		}
		var out []*hutong.Resource
		for _, r := range all {
			if f.ShareType == "" || r.ShareType == f.ShareType {
				out = append(out, r)
			}
		}
		// Two pages, to exercise the cursor.
		if f.Cursor == "" {
			return &hutong.ResourcePage{Items: out[:2], Total: len(out), NextCursor: "2"}, nil
		}
		return &hutong.ResourcePage{Items: out[2:], Total: len(out)}, nil
	}}
	admin := hutong.NewContextWithActor(context.Background(), &hutong.Actor{User: &hutong.User{Login: "bj-admin", Department: "DEPT", Roles: []hutong.Role{hutong.RoleRegionAdmin}}})
	now := func() time.Time { return time.Date(2026, 11, 26, 9, 0, 0, 0, cst) }

	tests := []struct {
		name      string
		ctx       context.Context
		q         hutong.AirQualityQuery
		auditErr  error
		code      string // error code wanted, "" for success
		from, to  time.Time
		cities    map[string]hutong.CityAir
		rows      int64
		resources string
	}{
		{name: "default: the 30 days up to the latest reading", ctx: admin,
			from: oct(21, 16).Add(-analytics.DefaultPeriod), to: oct(21, 16),
			cities: map[string]hutong.CityAir{
				"110000": {Region: "110000", MeanAQI: 140, MaxAQI: 180, Readings: 120, HoursAbove: 30, HotSpot: true},
				"120000": {Region: "120000", MeanAQI: 120, MaxAQI: 120, Readings: 10, HoursAbove: 10, HotSpot: false},
				"130100": {Region: "130100", MeanAQI: 200, MaxAQI: 200, Readings: 40, HoursAbove: 40, HotSpot: true},
			}, rows: 170, resources: "110000-BJHJ-05,120000-TJHJ-05,130000-HBHJ-05"},
		{name: "an explicit period, threshold and hours", ctx: admin,
			q:    hutong.AirQualityQuery{From: oct(1, 0), To: oct(3, 0), Threshold: 110, MinHours: 10},
			from: oct(1, 0), to: oct(3, 0),
			cities: map[string]hutong.CityAir{
				"110000": {Region: "110000", MeanAQI: 100, MaxAQI: 150, Readings: 60, HoursAbove: 0},
				"120000": {Region: "120000", MeanAQI: 120, MaxAQI: 120, Readings: 10, HoursAbove: 10, HotSpot: true},
			}, rows: 70, resources: "110000-BJHJ-05,120000-TJHJ-05,130000-HBHJ-05"},
		{name: "only From: 30 days from it", ctx: admin, q: hutong.AirQualityQuery{From: oct(20, 0)},
			from: oct(20, 0), to: oct(20, 0).Add(analytics.DefaultPeriod),
			cities: map[string]hutong.CityAir{"130100": {Region: "130100", MeanAQI: 200, MaxAQI: 200, Readings: 40, HoursAbove: 40, HotSpot: true}},
			rows:   40, resources: "110000-BJHJ-05,120000-TJHJ-05,130000-HBHJ-05"},
		{name: "the audit log is down: no data", ctx: admin, auditErr: hutong.Errorf(hutong.EUNAVAILABLE, "down"), code: hutong.EUNAVAILABLE},
		{name: "the audit log fails otherwise: no data", ctx: admin, auditErr: errors.New("disk full"), code: hutong.EUNAVAILABLE},
		{name: "no actor", ctx: context.Background(), code: hutong.EUNAUTHORIZED},
		{name: "period ends before it starts", ctx: admin, q: hutong.AirQualityQuery{From: oct(3, 0), To: oct(1, 0)}, code: hutong.EINVALID},
		{name: "period too long", ctx: admin, q: hutong.AirQualityQuery{From: oct(1, 0), To: oct(1, 0).AddDate(2, 0, 0)}, code: hutong.EINVALID},
		{name: "threshold above the AQI scale", ctx: admin, q: hutong.AirQualityQuery{Threshold: 600}, code: hutong.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var events []*hutong.AuditEvent
			svc := &analytics.AirQuality{
				Catalog: catalog,
				Source:  func(*hutong.Resource) (hutong.Source, error) { return source(t, rows), nil },
				Auditor: fakeAuditor{record: func(e *hutong.AuditEvent) (*hutong.Receipt, error) {
					events = append(events, e)
					if tt.auditErr != nil {
						return nil, tt.auditErr
					}
					return &hutong.Receipt{Origin: "test", Index: 7}, nil
				}},
				Now: now,
			}
			got, err := svc.AirQuality(tt.ctx, tt.q)
			if tt.code != "" {
				if hutong.ErrorCode(err) != tt.code || got != nil {
					t.Fatalf("got %+v, %v; want no data and %s", got, err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Query.From.Equal(tt.from) || !got.Query.To.Equal(tt.to) {
				t.Errorf("period [%v, %v), want [%v, %v)", got.Query.From, got.Query.To, tt.from, tt.to)
			}
			if len(got.Cities) != len(tt.cities) {
				t.Errorf("got %d cities %+v, want %d", len(got.Cities), got.Cities, len(tt.cities))
			}
			for _, c := range got.Cities {
				if want := tt.cities[c.Region]; c != want {
					t.Errorf("city %s: got %+v, want %+v", c.Region, c, want)
				}
			}
			if len(events) != 1 {
				t.Fatalf("%d audit events, want 1", len(events))
			}
			e := events[0]
			if e.Kind != analytics.KindAirQuality || e.Actor != "user:bj-admin" || e.Department != "DEPT" || e.Decision != "allow" ||
				e.Rows != tt.rows || e.Resource != tt.resources || e.Reason == "" {
				t.Errorf("audit event %+v; want kind %s, rows %d, resources %s", e, analytics.KindAirQuality, tt.rows, tt.resources)
			}
			if got.Receipt == nil || got.Receipt.Index != 7 || strings.Join(got.Resources, ",") != tt.resources {
				t.Errorf("receipt %+v, resources %v", got.Receipt, got.Resources)
			}
		})
	}
}

func TestAirQualityNoResources(t *testing.T) {
	svc := &analytics.AirQuality{
		Catalog: fakeCatalog{resources: func(hutong.ResourceFilter) (*hutong.ResourcePage, error) { return &hutong.ResourcePage{}, nil }},
		Auditor: fakeAuditor{record: func(*hutong.AuditEvent) (*hutong.Receipt, error) {
			t.Fatal("audited a computation that read nothing")
			return nil, nil
		}},
	}
	ctx := hutong.NewContextWithActor(context.Background(), &hutong.Actor{User: &hutong.User{Login: "x"}})
	if _, err := svc.AirQuality(ctx, hutong.AirQualityQuery{}); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("got %v, want not_found", err)
	}
}

func TestAirQualityUnavailableSource(t *testing.T) {
	catalog := fakeCatalog{resources: func(hutong.ResourceFilter) (*hutong.ResourcePage, error) {
		return &hutong.ResourcePage{Items: []*hutong.Resource{airResource("110000-BJHJ-05", hutong.ShareUnconditional), airResource("120000-TJHJ-05", hutong.ShareUnconditional)}}, nil
	}}
	at := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	var events []*hutong.AuditEvent
	svc := &analytics.AirQuality{
		Catalog: catalog,
		Source: func(r *hutong.Resource) (hutong.Source, error) {
			if r.Code == "120000-TJHJ-05" {
				return nil, hutong.Errorf(hutong.EUNAVAILABLE, "node of 120000 is not connected")
			}
			return source(t, map[string][]reading{"110000-BJHJ-05": {{"110000", at, 80}}}), nil
		},
		Auditor: fakeAuditor{record: func(e *hutong.AuditEvent) (*hutong.Receipt, error) {
			events = append(events, e)
			return &hutong.Receipt{}, nil
		}},
		Now: func() time.Time { return at.AddDate(0, 1, 0) },
	}
	ctx := hutong.NewContextWithActor(context.Background(), &hutong.Actor{User: &hutong.User{Login: "x"}})
	got, err := svc.AirQuality(ctx, hutong.AirQualityQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Cities) != 1 || got.Cities[0].MeanAQI != 80 || !slices.Equal(got.Resources, []string{"110000-BJHJ-05"}) {
		t.Errorf("got %+v", got)
	}
	if len(events) != 1 || !strings.Contains(events[0].Reason, "unavailable: 120000-TJHJ-05") {
		t.Errorf("audit %+v: want the unavailable resource named", events)
	}
}

package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlstore"
)

// testContributions accounts November 2026 for two providers, checks every
// figure and the score against the formula, and who sees what.
func testContributions(t *testing.T, open Opener) {
	f := newRequestsFixture(t, open)
	ctx := context.Background()
	c := sqlstore.NewContributions(f.s.DB)
	at := func(day, hour int) { f.clock.Set(time.Date(2026, 11, day, hour, 0, 0, 0, hutong.ChinaTime)) }

	// Tianjin: two requests filed on 2 Nov (reply limit in November), one
	// decided in time, one left to pass its limit.
	onTime := f.pending(t)
	f.pending(t)
	at(5, 10)
	if _, err := f.s.Requests.Approve(f.steward, onTime.ID, hutong.Narrowing{}); err != nil {
		t.Fatal(err)
	}
	// Reads: three of Tianjin's resource by Beijing (one refused), an
	// export, and one of Hebei's by Tianjin.
	record := func(e hutong.AuditEvent) {
		t.Helper()
		if _, err := f.s.Audit.Record(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}
	at(10, 9)
	for _, n := range []int64{10, 20, 30} {
		record(hutong.AuditEvent{Kind: hutong.AuditRead, Department: f.bj.ID, Provider: f.tj.ID, Resource: f.insured.Code, Rows: n, Decision: "allow"})
	}
	record(hutong.AuditEvent{Kind: hutong.AuditRead, Department: f.bj.ID, Provider: f.tj.ID, Resource: f.insured.Code, Rows: 99, Decision: "deny"})
	record(hutong.AuditEvent{Kind: hutong.AuditExport, Department: f.bj.ID, Provider: f.tj.ID, Resource: f.insured.Code, Decision: "allow"})
	record(hutong.AuditEvent{Kind: hutong.AuditExportDone, Department: f.bj.ID, Provider: f.tj.ID, Resource: f.insured.Code, Rows: 100, Decision: "allow"})
	record(hutong.AuditEvent{Kind: hutong.AuditRead, Department: f.tj.ID, Provider: f.hb.ID, Resource: f.air.Code, Rows: 5, Decision: "allow"})
	// December's read is not November's.
	f.clock.Set(time.Date(2026, 12, 1, 0, 30, 0, 0, hutong.ChinaTime))
	record(hutong.AuditEvent{Kind: hutong.AuditRead, Department: f.bj.ID, Provider: f.tj.ID, Resource: f.insured.Code, Rows: 1000, Decision: "allow"})
	// Tianjin keeps its daily resource current on 30 Nov; the rest were
	// last updated on 2 Nov.
	at(30, 18)
	if err := f.s.Catalog.UpdateResource(f.admin, f.insured); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(time.Date(2026, 12, 2, 9, 0, 0, 0, hutong.ChinaTime))

	got, err := c.Contributions(f.admin, hutong.ContributionFilter{Month: "2026-11"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Department != f.tj.ID || got[1].Department != f.hb.ID {
		t.Fatalf("contributions %+v, want Tianjin then Hebei", got)
	}
	tj, hb := got[0], got[1]
	type figures struct {
		resources, current, consumers, requests, onTime, rank int
		calls, rows                                           int64
		score                                                 float64
	}
	for _, tt := range []struct {
		c    hutong.Contribution
		want figures
	}{
		// 30×1/2 + 30×1/2 + 20×1/1 + 20×160/160
		{tj, figures{resources: 2, current: 1, consumers: 1, requests: 2, onTime: 1, rank: 1, calls: 4, rows: 160, score: 70}},
		// 30×0/1 + 30 (no request was due) + 20×1/1 + 20×5/160
		{hb, figures{resources: 1, current: 0, consumers: 1, requests: 0, onTime: 0, rank: 2, calls: 1, rows: 5, score: 50.63}},
	} {
		g := figures{tt.c.Resources, tt.c.Current, tt.c.Consumers, tt.c.Requests, tt.c.OnTime, tt.c.Rank, tt.c.Calls, tt.c.RowsServed, tt.c.Score}
		if g != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.c.Department, g, tt.want)
		}
		if tt.c.Month != "2026-11" || tt.c.Evidence["calls"] == "" || len(tt.c.Components) != 4 {
			t.Errorf("%s: month %q, evidence %v, components %v", tt.c.Department, tt.c.Month, tt.c.Evidence, tt.c.Components)
		}
	}

	// Who sees what: a steward its own department (with its place among
	// all), a consumer that provides nothing none, an auditor all.
	seen := func(ctx context.Context, f hutong.ContributionFilter) []string {
		t.Helper()
		cs, err := c.Contributions(ctx, f)
		if err != nil {
			t.Fatalf("Contributions(%+v): %v", f, err)
		}
		var ids []string
		for _, c := range cs {
			ids = append(ids, c.Department)
			if c.Department == hb.Department && c.Rank != 2 {
				t.Errorf("Hebei's rank as seen alone: %d, want 2", c.Rank)
			}
		}
		return ids
	}
	nov := hutong.ContributionFilter{Month: "2026-11"}
	if ids := seen(As(ctx, f.hb.ID, hutong.RoleSteward), nov); len(ids) != 1 || ids[0] != f.hb.ID {
		t.Errorf("Hebei's steward sees %v", ids)
	}
	if ids := seen(f.consumer, nov); len(ids) != 0 {
		t.Errorf("Beijing's consumer sees %v", ids)
	}
	if ids := seen(As(ctx, "", hutong.RoleAuditor), nov); len(ids) != 2 {
		t.Errorf("an auditor sees %v", ids)
	}
	if ids := seen(f.admin, hutong.ContributionFilter{Month: "2026-10"}); len(ids) != 0 {
		t.Errorf("October, before anything was published: %v", ids)
	}
	for _, tt := range []struct {
		ctx  context.Context
		f    hutong.ContributionFilter
		code string
	}{
		{As(ctx, f.hb.ID, hutong.RoleSteward), hutong.ContributionFilter{Month: "2026-11", Department: f.tj.ID}, hutong.EFORBIDDEN},
		{f.admin, hutong.ContributionFilter{Month: "2026-13"}, hutong.EINVALID},
		{f.admin, hutong.ContributionFilter{Month: "November"}, hutong.EINVALID},
		{f.admin, hutong.ContributionFilter{Month: "2026-11", Department: "nobody"}, hutong.ENOTFOUND},
		{ctx, nov, hutong.EUNAUTHORIZED},
	} {
		_, err := c.Contributions(tt.ctx, tt.f)
		var e *hutong.Error
		if !errors.As(err, &e) || e.Code != tt.code {
			t.Errorf("Contributions(%+v) = %v, want %s", tt.f, err, tt.code)
		}
	}
}

package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlstore"
)

// testLedgerEntries checks who sees which journal entries in full: the
// parties open theirs, everyone else signed in gets commitments, and a
// filter never lists an entry its caller cannot open.
func testLedgerEntries(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	tj, bj, hb := Seed(t, s)
	ctx := context.Background()
	const res = "120000-TJYB-01"
	start := clock.Now()
	// 30 reads of Tianjin's resource by Beijing, 10 key events of Hebei,
	// interleaved, a minute apart.
	for i := range 40 {
		ev := &hutong.AuditEvent{Time: start.Add(time.Duration(i) * time.Minute), Kind: hutong.AuditRead, Actor: "key:bj",
			Department: bj.ID, Resource: res, Provider: tj.ID, Purpose: "异地就医结算", Decision: "allow"}
		if i%4 == 3 {
			ev = &hutong.AuditEvent{Time: ev.Time, Kind: hutong.AuditKeyCreate, Actor: "user:hb", Department: hb.ID, Reason: "key"}
		}
		if _, err := s.Audit.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	entries := sqlstore.NewLedgerEntries(s.DB)
	regionAdmin := func(region string) context.Context {
		return hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "ra", Region: region, Roles: []hutong.Role{hutong.RoleRegionAdmin}}})
	}
	// all pages through f and returns the items, in order.
	all := func(ctx context.Context, f hutong.EntryFilter) []hutong.LedgerEntry {
		t.Helper()
		var out []hutong.LedgerEntry
		for range 100 {
			page, err := entries.Entries(ctx, f)
			if err != nil {
				t.Fatalf("Entries(%+v): %v", f, err)
			}
			out = append(out, page.Items...)
			if page.NextCursor == "" {
				return out
			}
			f.Cursor = page.NextCursor
		}
		t.Fatal("more than 100 pages")
		return nil
	}
	count := func(es []hutong.LedgerEntry) (opened, sealed int) {
		for i, e := range es {
			if i > 0 && e.Index <= es[i-1].Index {
				t.Errorf("entry %d after %d: not in index order", e.Index, es[i-1].Index)
			}
			if !hutong.IsCommitment(e.Commitment) {
				t.Errorf("entry %d: commitment %x", e.Index, e.Commitment)
			}
			if e.Entry == nil {
				if e.Salt != nil {
					t.Errorf("sealed entry %d carries its salt", e.Index)
				}
				sealed++
				continue
			}
			if !bytes.Equal(hutong.Commitment(e.Salt, e.Entry), e.Commitment) {
				t.Errorf("entry %d does not open its commitment", e.Index)
			}
			opened++
		}
		return opened, sealed
	}
	for _, c := range []struct {
		name           string
		ctx            context.Context
		f              hutong.EntryFilter
		opened, sealed int
	}{
		{"consumer, everything", As(ctx, bj.ID, hutong.RoleConsumer), hutong.EntryFilter{Limit: 7}, 30, 10},
		{"consumer, its resource", As(ctx, bj.ID, hutong.RoleConsumer), hutong.EntryFilter{Resource: res, Limit: 7}, 30, 0},
		{"consumer, mine", As(ctx, bj.ID, hutong.RoleConsumer), hutong.EntryFilter{Mine: true}, 30, 0},
		{"provider, by consumer", As(ctx, tj.ID, hutong.RoleSteward), hutong.EntryFilter{Department: bj.ID}, 30, 0},
		{"third department, the resource", As(ctx, hb.ID, hutong.RoleSteward), hutong.EntryFilter{Resource: res}, 0, 0},
		{"third department, by kind", As(ctx, hb.ID, hutong.RoleSteward), hutong.EntryFilter{Kind: hutong.AuditRead}, 0, 0},
		{"third department, mine", As(ctx, hb.ID, hutong.RoleSteward), hutong.EntryFilter{Mine: true, Limit: 3}, 10, 0},
		{"Hebei's region admin, mine", regionAdmin("130000"), hutong.EntryFilter{Mine: true, Limit: 4}, 10, 0},
		{"Tianjin's region admin, everything", regionAdmin("120000"), hutong.EntryFilter{}, 30, 10},
		{"admin, an hour", Admin(ctx), hutong.EntryFilter{From: start.Add(10 * time.Minute), To: start.Add(20 * time.Minute)}, 10, 0},
	} {
		opened, sealed := count(all(c.ctx, c.f))
		if opened != c.opened || sealed != c.sealed {
			t.Errorf("%s: %d opened, %d sealed; want %d and %d", c.name, opened, sealed, c.opened, c.sealed)
		}
	}
	// One entry, as a party and as a stranger.
	stranger := As(ctx, hb.ID, hutong.RoleConsumer)
	if e, err := entries.Entry(stranger, 0); err != nil || e.Entry != nil || !hutong.IsCommitment(e.Commitment) {
		t.Errorf("a stranger's entry 0: %+v, %v", e, err)
	}
	if may, err := entries.MayOpen(stranger, 0); err != nil || may {
		t.Errorf("a stranger may open entry 0: %v, %v", may, err)
	}
	if e, err := entries.Entry(As(ctx, tj.ID, hutong.RoleSteward), 0); err != nil || e.Entry == nil {
		t.Errorf("the provider's entry 0: %+v, %v", e, err)
	}
	if _, err := entries.Entry(stranger, 400); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("entry 400: %v", err)
	}
	if _, err := entries.Entries(ctx, hutong.EntryFilter{}); hutong.ErrorCode(err) != hutong.EUNAUTHORIZED {
		t.Errorf("no actor: %v", err)
	}
	for _, f := range []hutong.EntryFilter{{Cursor: "abc"}, {Cursor: "-1"}, {Limit: hutong.MaxEntriesPage + 1}} {
		if _, err := entries.Entries(stranger, f); hutong.ErrorCode(err) != hutong.EINVALID {
			t.Errorf("Entries(%+v): %v, want invalid", f, err)
		}
	}
}

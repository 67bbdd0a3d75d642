package demo

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/exchange"
	"github.com/hutong/hutong/policy"
	"github.com/hutong/hutong/services"
	"github.com/hutong/hutong/sqlite"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/standard"
)

// TestDemoServices loads the demo with its services and files each
// service for the demo applicant it is meant for: every piece of evidence
// holds the applicant's own rows, and loading again adds nothing.
func TestDemoServices(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hutong.db"), sqlstore.Options{Members: []string{"110000", "120000", "130000"}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	journal, err := sqlstore.OpenJournal(ctx, db, "test/demo")
	if err != nil {
		t.Fatal(err)
	}
	defer journal.Close()
	o := Options{Scale: 0.01}
	log := slog.New(slog.DiscardHandler)
	dir, catalog, rows, auth := sqlstore.NewDirectory(db), sqlstore.NewCatalog(db), sqlstore.NewRows(db), sqlstore.NewAuth(db)
	if err := Load(ctx, Services{Directory: dir, Catalog: catalog, Rows: rows, Auth: auth}, o, log); err != nil {
		t.Fatal(err)
	}
	requests, err := sqlstore.NewRequests(ctx, db, sqlstore.RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	store := sqlstore.NewServices(db)
	deps := ServiceDeps{Catalog: catalog, Rows: rows, Auth: auth, Requests: requests, Services: store}
	for range 2 {
		if err := LoadServices(ctx, deps, o, log); err != nil {
			t.Fatal(err)
		}
	}
	if ags, err := requests.Agreements(hutong.NewContextWithActor(ctx, system), hutong.AgreementFilter{}); err != nil || len(ags) != 8 {
		t.Errorf("standing agreements: got %d, %v; want 8 (one per provider of each service), once", len(ags), err)
	}

	x := &exchange.Service{Catalog: catalog, Agreements: requests, Policy: policy.New(), Auditor: journal, Usage: journal,
		Masker: &standard.Masker{Key: []byte("k")}, Source: func(*hutong.Resource) (hutong.Source, error) { return rows, nil }}
	b := &services.Broker{Store: store, Exchange: x, Calendar: hutong.OfficialCalendar()}
	mine := map[string]string{"hb-person": "JJJ-YB-0001", "bj-company": "JJJ-SC-0001", "tj-person": "JJJ-RS-0001", "bj-person": "JJJ-GJJ-0001"}
	for login, code := range mine {
		u, err := auth.UserByLogin(ctx, login)
		if err != nil {
			t.Fatal(err)
		}
		app, err := b.CreateApplication(hutong.NewContextWithActor(ctx, &hutong.Actor{User: u}), hutong.ApplicationInput{Service: code})
		if err != nil {
			t.Fatalf("%s files %s: %v", login, code, err)
		}
		for _, e := range app.Evidence {
			if e.Status != hutong.EvidenceFetched || e.Rows < 1 || e.Receipt == nil {
				t.Errorf("%s, %s: evidence %d from %s: %s with %d rows (%s); want the applicant's rows", login, code, e.N, e.Resource, e.Status, e.Rows, e.Error)
			}
		}
	}
}

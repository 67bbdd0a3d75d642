package main

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/demo"
)

// TestServiceEvidenceFromNode: evidence kept at a region node (数据不出域)
// is gathered under the standing agreement like hub-hosted evidence, and
// the row limit holds there too: each applicant's piece holds exactly
// their rows of the node's table, masked by the node, whoever applies.
func TestServiceEvidenceFromNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo's region nodes; runs without -short")
	}
	dir := t.TempDir()
	m := NewMain()
	m.demo = true
	m.Logger = slog.New(slog.DiscardHandler)
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--data", dir, "--scale", "0.02"}, os.Stderr); err != nil {
		t.Fatal(err)
	}
	m.demoNodes = true // `hutong demo --nodes`
	ctx := context.Background()
	if err := m.Open(ctx); err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer m.Close()
	depts := demo.Departments(m.Config.Seed)
	ds := demo.NodeDatasets(depts, demo.Options{Seed: m.Config.Seed, Scale: m.Config.Scale})["110000"]
	code := ds.Resource.Code
	admin0 := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "admin", Roles: []hutong.Role{hutong.RoleAdmin}}})
	waitFor(t, 20*time.Second, "the Beijing node's resource", func() bool {
		r, err := m.HTTP.Catalog.Resource(admin0, code)
		return err == nil && r.Hosted == hutong.HostedNode && r.Item("公民身份号码") != nil
	})
	id := map[string]string{}
	for _, d := range depts {
		id[d.Short] = d.ID
	}
	admin := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "admin", Roles: []hutong.Role{hutong.RoleAdmin}}})
	svc := &hutong.Service{Code: "NODE-0001", Name: "居住登记核验", Regions: []string{"110000"}, Receiving: id["BJSJ"], Handling: id["BJSJ"],
		ApplicantKind: hutong.IDPerson, TimeLimitDays: 3, LegalBasis: "test", PreviewRequired: true,
		Evidence: []hutong.EvidenceType{{Type: "residence", Providers: []hutong.EvidenceProvider{
			{Region: "110000", Resource: code, Fields: []string{"姓名", "公民身份号码", "登记日期"}, Subject: "公民身份号码"}}}}}
	store := m.Applications.Store
	if err := store.PutService(admin, svc); err != nil {
		t.Fatal(err)
	}
	as := func(login string) context.Context {
		u, err := m.HTTP.Auth.UserByLogin(ctx, login)
		if err != nil {
			t.Fatal(err)
		}
		return hutong.NewContextWithActor(ctx, &hutong.Actor{User: u})
	}
	for _, in := range svc.StandingRequests(time.Now().AddDate(1, 0, 0).Format(time.DateOnly)) {
		req, err := m.Requests.CreateRequest(as("bjsj-consumer"), &in)
		if err != nil {
			t.Fatal(err)
		}
		if req.Status == hutong.RequestPending {
			if _, err := m.Requests.Approve(as("bjga-steward"), req.ID, hutong.StandingNarrowing); err != nil {
				t.Fatal(err)
			}
		}
	}

	rows := map[string]int{}
	var people []string
	for _, r := range ds.Rows {
		if rows[r[1]] == 0 {
			people = append(people, r[1])
		}
		rows[r[1]]++
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	for i := range 12 {
		who := people[rng.IntN(len(people))]
		if i == 0 {
			who = "11010519491231002X" // not in the node's table
		}
		login := "node-applicant-" + strings.ToLower(who)
		if err := store.PutApplicant(admin, login, hutong.Applicant{Kind: hutong.IDPerson, Number: who, Region: "130000"}); err != nil {
			t.Fatal(err)
		}
		ctx := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: login, Roles: []hutong.Role{hutong.RoleApplicant}}})
		app, err := m.Applications.CreateApplication(ctx, hutong.ApplicationInput{Service: svc.Code})
		if err != nil {
			t.Fatal(err)
		}
		e := app.Evidence[0]
		if e.Status != hutong.EvidenceFetched || e.Rows != rows[who] || e.Receipt == nil {
			t.Fatalf("%s: %s with %d rows (%s); want the node's %d rows of theirs", who, e.Status, e.Rows, e.Error, rows[who])
		}
		for _, r := range e.Records {
			if got, want := r["公民身份号码"], who[:6]+"********"+who[14:]; got != want {
				t.Errorf("%s's evidence holds a row of %v", who, got)
			}
		}
	}
}

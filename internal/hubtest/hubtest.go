// Package hubtest wires a hub for the tests of its parts: the JSON API and
// the dashboard over loopback, on a real SQLite store in the test's
// temporary directory, with an admin, a Tianjin steward and a Beijing
// consumer signed in. It is what cmd/hutong wires, without the ledger and
// the region nodes.
package hubtest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/exchange"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/policy"
	"github.com/hutong/hutong/services"
	"github.com/hutong/hutong/sqlite"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/standard"
	"github.com/hutong/hutong/storetest"
	"github.com/hutong/hutong/web"
)

// Hub is a running hub of a test. Its users' password is "password-1".
type Hub struct {
	Server *hhttp.Server
	Web    *web.Dashboard
	URL    string
	// Session tokens of the admin ("admin"), the Tianjin steward
	// ("tjyb-steward") and the Beijing consumer ("bjsj-consumer").
	Admin, Steward, Consumer string
	TJ, BJ, HB               hutong.Department
	// Services keeps the cross-province services the API serves.
	Services *sqlstore.Services
	// DB and Journal are the hub's store and audit journal, for tests
	// that wire more of the hub (a ledger, the node register) around it.
	DB      *sqlstore.DB
	Journal *sqlstore.Journal
	// Alerts are supervision's alerts and suspensions, served by the API
	// and checked by the exchange; no supervisor runs unless a test
	// starts one.
	Alerts *sqlstore.Alerts
}

// New starts a hub; configure, when not nil, changes the server before it
// opens. The hub stops when the test ends.
func New(t *testing.T, configure func(*hhttp.Server)) *Hub {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hutong.db"), sqlstore.Options{Members: []string{"110000", "120000", "130000"}})
	if err != nil {
		t.Fatal(err)
	}
	s := hhttp.NewServer()
	s.Addr = "127.0.0.1:0"
	s.MaxBodyBytes = 1 << 20
	s.MaxUploadBytes = 1 << 20
	s.Logger = slog.New(slog.DiscardHandler)
	rows := sqlstore.NewRows(db)
	s.Directory, s.Catalog, s.Rows, s.Auth = sqlstore.NewDirectory(db), sqlstore.NewCatalog(db), rows, sqlstore.NewAuth(db)
	journal, err := sqlstore.OpenJournal(ctx, db, "test/hub")
	if err != nil {
		t.Fatal(err)
	}
	requests, err := sqlstore.NewRequests(ctx, db, sqlstore.RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Requests, s.PolicyText = requests, policy.Text
	s.Subscriptions = sqlstore.NewSubscriptions(db, requests, hutong.SubscriptionRules{AllowedHosts: []string{"hooks.example.test"}})
	alerts, err := sqlstore.NewAlerts(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	s.Alerts, s.Webhooks = alerts, alerts
	s.Stations = sqlstore.NewSensors(db)
	s.Exchange = &exchange.Service{Catalog: s.Catalog, Agreements: requests, Policy: policy.New(), Auditor: journal, Usage: journal,
		Masker: &standard.Masker{Key: []byte("test key")}, Source: func(*hutong.Resource) (hutong.Source, error) { return rows, nil },
		Suspensions: alerts}
	store, uses := sqlstore.NewServices(db), sqlstore.NewDataUses(db)
	x := s.Exchange.(*exchange.Service)
	x.Subjects, x.SubjectKey = uses, []byte("test subject key")
	s.Applications = &services.Broker{Store: store, Exchange: s.Exchange, Calendar: hutong.OfficialCalendar(), Uses: uses, SubjectKey: x.SubjectKey}
	d := &web.Dashboard{Directory: s.Directory, Catalog: s.Catalog, Auth: s.Auth, Requests: requests, Logger: s.Logger, Alerts: alerts,
		Contributions: sqlstore.NewContributions(db), Exchange: s.Exchange, Usage: journal, PolicyText: policy.Text, Rows: rows,
		SignIn: s.SignIn, AdmitBody: s.AdmitBody, Observe: s.Observe}
	d.Applications = s.Applications
	s.Web = d.Handler()
	if configure != nil {
		configure(s)
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close(context.Background())
		journal.Close()
		db.Close()
	})
	h := &Hub{Server: s, Web: d, URL: s.URL(), DB: db, Journal: journal, Services: store, Alerts: alerts}
	h.TJ, h.BJ, h.HB = storetest.Seed(t, storetest.Store{Directory: s.Directory})
	admin := storetest.Admin(ctx)
	token := func(u *hutong.User) string {
		if err := s.Auth.CreateUser(admin, u, "password-1"); err != nil {
			t.Fatal(err)
		}
		tok, err := s.Auth.IssueToken(ctx, u.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	h.Admin = token(&hutong.User{Login: "admin", Name: "管理员", Roles: []hutong.Role{hutong.RoleAdmin}})
	h.Steward = token(&hutong.User{Login: "tjyb-steward", Name: "天津医保", Department: h.TJ.ID, Roles: []hutong.Role{hutong.RoleSteward}})
	h.Consumer = token(&hutong.User{Login: "bjsj-consumer", Name: "北京数据", Department: h.BJ.ID, Roles: []hutong.Role{hutong.RoleConsumer}})
	return h
}

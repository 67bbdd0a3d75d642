// Package storetest is the contract every hutong storage passes: the same
// tests run on SQLite and on PostgreSQL, against real databases.
package storetest

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/standard"
)

// Store is a storage under test.
type Store struct {
	Directory hutong.DirectoryService
	Catalog   hutong.CatalogService
	Rows      hutong.RowService
	Auth      hutong.AuthService
	Source    hutong.Source
	Requests  hutong.RequestService
	Audit     *sqlstore.Journal
	DB        *sqlstore.DB
	// Subscriptions keeps subscriptions and captured changes; its webhook
	// rules allow the host hooks.example.test only, besides public https.
	Subscriptions *sqlstore.Subscriptions
	// Reopen closes the store and opens it again on the same database.
	Reopen func(t *testing.T) Store
}

// Opener opens a fresh, empty store whose clock is now, with the member
// provinces 110000, 120000 and 130000. It registers its own cleanup.
type Opener func(t *testing.T, now func() time.Time) Store

// Clock is a settable test clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at 2026-11-02 09:00 China Standard Time.
func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Run runs the contract suite.
func Run(t *testing.T, open Opener) {
	t.Run("Directory", func(t *testing.T) { testDirectory(t, open) })
	t.Run("Publish", func(t *testing.T) { testPublish(t, open) })
	t.Run("Search", func(t *testing.T) { testSearch(t, open) })
	t.Run("UpdateDelete", func(t *testing.T) { testUpdateDelete(t, open) })
	t.Run("ImportCatalog", func(t *testing.T) { testImportCatalog(t, open) })
	t.Run("ImportRows", func(t *testing.T) { testImportRows(t, open) })
	t.Run("Auth", func(t *testing.T) { testAuth(t, open) })
	t.Run("Source", func(t *testing.T) { testSource(t, open) })
	t.Run("Requests", func(t *testing.T) { testRequests(t, open) })
	t.Run("AuditLog", func(t *testing.T) { testAuditLog(t, open) })
	t.Run("LedgerEntries", func(t *testing.T) { testLedgerEntries(t, open) })
	t.Run("Quota", func(t *testing.T) { testQuota(t, open) })
	t.Run("Nodes", func(t *testing.T) { testNodes(t, open) })
	t.Run("Decisions", func(t *testing.T) { testDecisions(t, open) })
	t.Run("Contributions", func(t *testing.T) { testContributions(t, open) })
	t.Run("Subscriptions", func(t *testing.T) { testSubscriptions(t, open) })
	t.Run("Services", func(t *testing.T) { testServices(t, open) })
	t.Run("DataUses", func(t *testing.T) { testDataUses(t, open) })
	t.Run("Alerts", func(t *testing.T) { testAlerts(t, open) })
	t.Run("Webhooks", func(t *testing.T) { testWebhooks(t, open) })
	t.Run("AutoSuspend", func(t *testing.T) { testAutoSuspend(t, open) })
	t.Run("Sensors", func(t *testing.T) { testSensors(t, open) })
}

// Admin returns ctx acting as a platform admin.
func Admin(ctx context.Context) context.Context {
	return hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "test-admin", Roles: []hutong.Role{hutong.RoleAdmin}}})
}

// As returns ctx acting as a user with role in dept.
func As(ctx context.Context, dept string, roles ...hutong.Role) context.Context {
	return hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "test-" + string(roles[0]), Department: dept, Roles: roles}})
}

// USCC returns a valid 统一社会信用代码 of a government organ in region,
// numbered n.
func USCC(t testing.TB, region string, n int) string {
	t.Helper()
	first17 := fmt.Sprintf("11%s%08dX", region, n)
	c, err := standard.USCCCheck(first17)
	if err != nil {
		t.Fatalf("USCCCheck(%s): %v", first17, err)
	}
	return first17 + string(c)
}

// Fixture departments registered by Seed.
var (
	TianjinYB = hutong.Department{Name: "天津市医疗保障局", NameEn: "Tianjin Healthcare Security Administration", Region: "120000", Short: "TJYB"}
	BeijingSJ = hutong.Department{Name: "北京市政务服务和数据管理局", Region: "110000", Short: "BJSJ"}
	HebeiHJ   = hutong.Department{Name: "河北省生态环境厅", Region: "130000", Short: "HBHJ"}
)

// Seed registers the fixture departments and returns them with their ids.
func Seed(t *testing.T, s Store) (tj, bj, hb hutong.Department) {
	t.Helper()
	ctx := Admin(context.Background())
	out := []hutong.Department{TianjinYB, BeijingSJ, HebeiHJ}
	for i := range out {
		out[i].ID = USCC(t, out[i].Region, i+1)
		if err := s.Directory.CreateDepartment(ctx, &out[i]); err != nil {
			t.Fatalf("CreateDepartment(%s): %v", out[i].Name, err)
		}
	}
	return out[0], out[1], out[2]
}

// InsuredResource returns a conditional resource of provider with personal
// items, the suite's main fixture.
func InsuredResource(code, provider string) *hutong.Resource {
	return &hutong.Resource{
		Code:            code,
		Name:            "天津市基本医疗保险参保人员信息",
		NameEn:          "Tianjin Medical Insurance Enrollees",
		Provider:        provider,
		Summary:         "参保人员登记信息，用于异地就医结算（医保）。",
		ShareType:       "授权共享",
		ShareConditions: "限异地就医结算",
		UpdateCycle:     "每日",
		Level:           1,
		Tags:            []string{"医保", "个人信息", " 医保 "},
		Items: []hutong.Item{
			{Name: "姓名", Element: "person_name", Required: true},
			{Name: "公民身份号码", Element: "citizen_id", Required: true},
			{Name: "参保日期", Element: "date"},
			{Name: "缴费基数", Element: "amount"},
			{Name: "手机号码", Element: "mobile", Masking: hutong.MaskRedact},
		},
	}
}

// AirResource returns an unconditional resource of provider.
func AirResource(code, provider string) *hutong.Resource {
	return &hutong.Resource{
		Code:        code,
		Name:        "河北省空气质量小时监测数据",
		NameEn:      "Hebei Hourly Air Quality Readings",
		Provider:    provider,
		Summary:     "国控站点逐小时监测数据。",
		ShareType:   "无条件共享",
		UpdateCycle: "hourly",
		Tags:        []string{"空气质量", "物联网"},
		Items: []hutong.Item{
			{Name: "监测站点编码", Element: "station_code", Required: true},
			{Name: "监测时间", Element: "datetime", Required: true},
			{Name: "AQI", Element: "aqi"},
			{Name: "PM2.5", Element: "pm25"},
		},
	}
}

// rowSlice is a hutong.RowReader over rows in memory; row numbers start at
// 2, as under a header row.
type rowSlice struct {
	rows []map[string]string
	i    int
}

// Rows returns a RowReader over rows.
func Rows(rows ...map[string]string) hutong.RowReader { return &rowSlice{rows: rows} }

func (r *rowSlice) Next() (int, map[string]string, error) {
	if r.i >= len(r.rows) {
		return r.i + 2, nil, io.EOF
	}
	r.i++
	return r.i + 1, r.rows[r.i-1], nil
}

// CitizenID returns a valid 公民身份号码 with the given 17-digit prefix.
func CitizenID(t testing.TB, first17 string) string {
	t.Helper()
	c, err := standard.CitizenIDCheck(first17)
	if err != nil {
		t.Fatalf("CitizenIDCheck(%s): %v", first17, err)
	}
	return first17 + string(c)
}

// wantCode fails t unless err has the hutong error code want.
func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := hutong.ErrorCode(err); got != want {
		t.Fatalf("got error %v (code %q), want code %q", err, got, want)
	}
}

// wantViolation fails t unless err lists a violation at field, of rule
// (any, when rule is "") and at row (any, when row is 0).
func wantViolation(t *testing.T, err error, row int, field, rule string) {
	t.Helper()
	for _, v := range hutong.ErrorDetails(err) {
		if (row == 0 || v.Row == row) && strings.HasPrefix(v.Field, field) && (rule == "" || v.Rule == rule) {
			return
		}
	}
	t.Errorf("violations %v: want row %d field %s rule %s", hutong.ErrorDetails(err), row, field, rule)
}

func codes(rs []*hutong.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Code
	}
	return out
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// FromDB opens a store with open, closes it when the test ends, and returns
// its services; Reopen closes it and calls open again on the same database.
func FromDB(t *testing.T, open func() (*sqlstore.DB, error)) Store {
	t.Helper()
	ctx := context.Background()
	db, err := open()
	if err != nil {
		t.Fatal(err)
	}
	audit, err := sqlstore.OpenJournal(ctx, db, "storetest/hub")
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			audit.Close()
			db.Close()
		}
	})
	requests, err := sqlstore.NewRequests(ctx, db, sqlstore.RequestOptions{
		Calendar: hutong.NewCalendar([]string{"2026-11-05"}, []string{"2026-11-08"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	rows := sqlstore.NewRows(db)
	subs := sqlstore.NewSubscriptions(db, requests, hutong.SubscriptionRules{AllowedHosts: []string{"hooks.example.test"}})
	subs.Resolve = func(host string) ([]net.IP, error) {
		if host == "internal.example.test" {
			return []net.IP{net.IPv4(10, 1, 2, 3)}, nil
		}
		return []net.IP{net.IPv4(203, 0, 113, 7)}, nil
	}
	return Store{
		Subscriptions: subs,
		Directory:     sqlstore.NewDirectory(db),
		Catalog:       sqlstore.NewCatalog(db),
		Rows:          rows,
		Source:        rows,
		Auth:          sqlstore.NewAuth(db),
		Requests:      requests,
		Audit:         audit,
		DB:            db,
		Reopen: func(t *testing.T) Store {
			closed = true
			audit.Close()
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			return FromDB(t, open)
		},
	}
}

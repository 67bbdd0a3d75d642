package exchange_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/exchange"
	"github.com/hutong/hutong/policy"
	"github.com/hutong/hutong/sqlite"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/standard"
	"github.com/hutong/hutong/storetest"
)

// fixture is a hub on a real SQLite store: Tianjin's medical insurance
// bureau provides an insured-person resource, Beijing's data bureau
// consumes it.
type fixture struct {
	t        *testing.T
	clock    *storetest.Clock
	db       *sqlstore.DB
	audit    *sqlstore.Journal
	requests *sqlstore.Requests
	x        *exchange.Service
	masker   *standard.Masker
	tj, bj   hutong.Department
	hb       hutong.Department
	res      *hutong.Resource
	rows     []map[string]string // the rows as imported, in key order
}

const insured = "120000-TJYB-03"

func newFixture(t *testing.T, n int) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, clock: storetest.NewClock()}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hutong.db"), sqlstore.Options{Members: []string{"110000", "120000", "130000"}, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.db = db
	if f.audit, err = sqlstore.OpenJournal(ctx, db, "test/hub"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.audit.Close()
		db.Close()
	})
	if f.requests, err = sqlstore.NewRequests(ctx, db, sqlstore.RequestOptions{}); err != nil {
		t.Fatal(err)
	}
	store := storetest.Store{Directory: sqlstore.NewDirectory(db)}
	f.tj, f.bj, f.hb = storetest.Seed(t, store)
	admin := storetest.Admin(ctx)
	catalog, rows := sqlstore.NewCatalog(db), sqlstore.NewRows(db)
	res := &hutong.Resource{
		Code: insured, Name: "天津市参保人员", Provider: f.tj.ID, Summary: "参保人员", ShareType: hutong.ShareConditional,
		ShareConditions: "限异地就医结算", UpdateCycle: "daily",
		Items: []hutong.Item{
			{Name: "姓名", Element: "person_name", Required: true},
			{Name: "公民身份号码", Element: "citizen_id", Required: true},
			{Name: "手机号码", Element: "mobile"},
			{Name: "参保地", Element: "division_code"},
			{Name: "参保日期", Element: "date"},
			{Name: "缴费基数", Element: "amount"},
			{Name: "缴费月数", Element: "count"},
		},
	}
	if err := catalog.PublishResource(admin, res); err != nil {
		t.Fatal(err)
	}
	names := []string{"张三", "李四", "王五", "赵六", "欧阳娜娜", "司马光", "钱七"}
	places := []string{"120101", "120102", "120103", "120104", "120110", "130102"}
	for i := range n {
		row := map[string]string{
			"姓名":     names[i%len(names)],
			"公民身份号码": storetest.CitizenID(t, fmt.Sprintf("%s19%02d%02d%02d%03d", places[i%len(places)], 50+i%40, 1+i%12, 1+i%28, i%1000)),
			"参保地":    places[(i/3)%len(places)],
			"参保日期":   time.Date(2010+i%15, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
			"缴费基数":   fmt.Sprintf("%d.%02d", 3000+(i*137)%9000, i%100),
			"缴费月数":   fmt.Sprint(i % 240),
		}
		if i%4 != 0 {
			row["手机号码"] = fmt.Sprintf("13%09d", 100000000+i*7919)
		}
		f.rows = append(f.rows, row)
	}
	if n > 0 {
		if _, err := rows.ImportRows(admin, insured, storetest.Rows(f.rows...), ""); err != nil {
			t.Fatal(err)
		}
	}
	f.res, _ = catalog.Resource(admin, insured)
	f.masker = &standard.Masker{Key: []byte("fixture key")}
	f.x = &exchange.Service{
		Catalog: catalog, Agreements: f.requests, Policy: policy.New(), Auditor: f.audit, Usage: f.audit, Masker: f.masker, Now: f.clock.Now,
		Source: func(r *hutong.Resource) (hutong.Source, error) {
			if r.Hosted != hutong.HostedHub {
				return nil, hutong.Errorf(hutong.EUNAVAILABLE, "node not connected")
			}
			return rows, nil
		},
	}
	return f
}

// consumer returns a context acting as Beijing's application key.
func (f *fixture) consumer() context.Context {
	return hutong.NewContextWithActor(context.Background(), &hutong.Actor{Credential: &hutong.Credential{ID: "bjkey", Department: f.bj.ID}})
}

// agree files a request from Beijing for fields and approves it as the
// Tianjin steward, narrowed by n.
func (f *fixture) agree(in hutong.RequestInput, n hutong.Narrowing) *hutong.Agreement {
	f.t.Helper()
	in.Resource = cmpOr(in.Resource, insured)
	in.Purpose = cmpOr(in.Purpose, "异地就医直接结算")
	in.LegalBasis = cmpOr(in.LegalBasis, "国家医保局通知")
	in.ValidUntil = cmpOr(in.ValidUntil, "2027-12-31")
	if in.RequestsPerMinute == 0 {
		in.RequestsPerMinute = 1_000_000
	}
	if in.RowsPerDay == 0 {
		in.RowsPerDay = 1_000_000_000
	}
	req, err := f.requests.CreateRequest(storetest.As(context.Background(), f.bj.ID, hutong.RoleConsumer), &in)
	if err != nil {
		f.t.Fatalf("CreateRequest: %v", err)
	}
	if req.Status == hutong.RequestPending {
		if req, err = f.requests.Approve(storetest.As(context.Background(), f.tj.ID, hutong.RoleSteward), req.ID, n); err != nil {
			f.t.Fatalf("Approve: %v", err)
		}
	}
	ag, err := f.requests.Agreement(storetest.Admin(context.Background()), req.AgreementID)
	if err != nil {
		f.t.Fatalf("Agreement: %v", err)
	}
	return ag
}

func cmpOr(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

// page decodes a records body.
type page struct {
	Items      []map[string]any `json:"items"`
	NextCursor string           `json:"next_cursor"`
}

func decode(t *testing.T, body []byte) page {
	t.Helper()
	var p page
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return p
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := hutong.ErrorCode(err); got != code {
		t.Fatalf("got %v (code %q), want code %q", err, got, code)
	}
}

// entries returns the audit entries from index from on.
func (f *fixture) entries(from uint64) []hutong.AuditEvent {
	f.t.Helper()
	es, err := f.audit.Entries(context.Background(), from, 10000)
	if err != nil {
		f.t.Fatal(err)
	}
	out := make([]hutong.AuditEvent, len(es))
	for i, e := range es {
		if err := json.Unmarshal(e.Data, &out[i]); err != nil {
			f.t.Fatal(err)
		}
	}
	return out
}

func (f *fixture) nextIndex() uint64 {
	// The flow's steps reach the journal through the outbox: let them
	// arrive before counting.
	if err := f.audit.FlushOutbox(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	es, _ := f.audit.Entries(context.Background(), 0, 1_000_000)
	return uint64(len(es))
}

func TestGovernedRead(t *testing.T) {
	f := newFixture(t, 30)
	ag := f.agree(hutong.RequestInput{Fields: []string{"姓名", "公民身份号码", "参保地", "缴费基数"}}, hutong.Narrowing{Masking: map[string]hutong.MaskRule{"参保地": hutong.MaskHash}})
	if ag.Field("姓名").Masking != hutong.MaskName || ag.Field("参保地").Masking != hutong.MaskHash {
		t.Fatalf("agreement masking %+v", ag.Fields)
	}
	from := f.nextIndex()
	pg, err := f.x.Records(f.consumer(), hutong.RecordQuery{Resource: insured, Purpose: "异地就医直接结算", Fields: []string{"公民身份号码", "姓名", "参保地", "缴费基数"}, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	p := decode(t, pg.Body)
	if len(p.Items) != 5 || p.NextCursor == "" || pg.Rows != 5 {
		t.Fatalf("got %d items, cursor %q; want 5 and a cursor", len(p.Items), p.NextCursor)
	}
	for i, item := range p.Items {
		src := f.rows[i]
		m := f.masker.For(ag.ID)
		want := map[string]string{
			"公民身份号码": m.MaskString(hutong.MaskIDNumber, src["公民身份号码"]),
			"姓名":     m.MaskString(hutong.MaskName, src["姓名"]),
			"参保地":    m.MaskString(hutong.MaskHash, src["参保地"]),
		}
		for k, v := range want {
			if fmt.Sprint(item[k]) != v || v == src[k] {
				t.Errorf("row %d %s = %v, want masked %q (source %q)", i, k, item[k], v, src[k])
			}
		}
		if fmt.Sprint(item["缴费基数"]) != strings.TrimRight(strings.TrimRight(src["缴费基数"], "0"), ".") {
			t.Errorf("row %d 缴费基数 = %v, want %s unmasked", i, item["缴费基数"], src["缴费基数"])
		}
		if len(item) != 4 {
			t.Errorf("row %d has keys %v, want the 4 asked for", i, item)
		}
	}
	// The receipt is the audit entry of exactly this body.
	es := f.entries(from)
	if len(es) != 1 || pg.Receipt.Index != from || pg.Receipt.Origin != "test/hub" {
		t.Fatalf("entries %+v receipt %+v", es, pg.Receipt)
	}
	sum := sha256.Sum256(pg.Body)
	e := es[0]
	if e.Kind != hutong.AuditRead || e.Decision != "allow" || e.Agreement != ag.ID || e.Rows != 5 || e.Digest != hex.EncodeToString(sum[:]) ||
		e.Department != f.bj.ID || e.Provider != f.tj.ID || len(e.Policies) != 1 || e.Policies[0] != policy.PolicyID(ag.ID) {
		t.Errorf("audit entry %+v", e)
	}
	raw, _ := f.audit.Entries(context.Background(), from, 1)
	if !bytes.Equal(raw[0].LeafHash, pg.Receipt.Hash) || !bytes.Equal(hutong.LeafHash(hutong.Commitment(raw[0].Salt, raw[0].Data)), pg.Receipt.Hash) {
		t.Errorf("receipt hash does not match the entry's leaf hash")
	}
	if strings.Contains(string(raw[0].Data), f.rows[0]["公民身份号码"]) {
		t.Errorf("the audit entry holds data: %s", raw[0].Data)
	}

	// Default fields: all of the agreement's.
	pg, err = f.x.Records(f.consumer(), hutong.RecordQuery{Resource: insured, Purpose: "异地就医直接结算", Limit: 1})
	if err != nil || len(decode(t, pg.Body).Items[0]) != 4 {
		t.Errorf("default fields: %v %s", err, pg.Body)
	}
}

func TestRefusals(t *testing.T) {
	f := newFixture(t, 20)
	ag := f.agree(hutong.RequestInput{Fields: []string{"姓名", "公民身份号码", "参保地", "缴费基数"}, ValidUntil: "2026-12-31"}, hutong.Narrowing{})
	other := hutong.NewContextWithActor(context.Background(), &hutong.Actor{Credential: &hutong.Credential{ID: "hbkey", Department: f.hb.ID}})
	admin := storetest.Admin(context.Background())
	q := func(change func(*hutong.RecordQuery)) hutong.RecordQuery {
		q := hutong.RecordQuery{Resource: insured, Purpose: "异地就医直接结算", Fields: []string{"姓名", "参保地"}}
		if change != nil {
			change(&q)
		}
		return q
	}
	tests := []struct {
		name string
		ctx  context.Context
		q    hutong.RecordQuery
		code string
		msg  string
	}{
		{"no purpose", f.consumer(), q(func(q *hutong.RecordQuery) { q.Purpose = " " }), hutong.EINVALID, "Hutong-Purpose"},
		{"wrong purpose", f.consumer(), q(func(q *hutong.RecordQuery) { q.Purpose = "异地就医直接结算 " }), hutong.EFORBIDDEN, "purpose"},
		{"other department", other, q(nil), hutong.EFORBIDDEN, "no active agreement"},
		{"platform admin without department", admin, q(nil), hutong.EFORBIDDEN, "departments"},
		{"field outside", f.consumer(), q(func(q *hutong.RecordQuery) { q.Fields = []string{"姓名", "手机号码", "缴费月数"} }), hutong.EFORBIDDEN, `"手机号码", "缴费月数" outside agreement`},
		{"unknown field", f.consumer(), q(func(q *hutong.RecordQuery) { q.Fields = []string{"姓名", "'; DROP TABLE rows_1; --"} }), hutong.EINVALID, "not items"},
		{"filter outside", f.consumer(), q(func(q *hutong.RecordQuery) { q.FilterText = []string{"手机号码:eq:13800000000"} }), hutong.EFORBIDDEN, "outside agreement"},
		{"range on masked field", f.consumer(), q(func(q *hutong.RecordQuery) { q.FilterText = []string{"公民身份号码:gte:1"} }), hutong.EFORBIDDEN, "masked"},
		{"prefix on masked field", f.consumer(), q(func(q *hutong.RecordQuery) { q.FilterText = []string{"姓名:prefix:张"} }), hutong.EFORBIDDEN, "masked"},
		{"in on masked field", f.consumer(), q(func(q *hutong.RecordQuery) {
			q.FilterText = []string{"公民身份号码:in:" + f.rows[0]["公民身份号码"] + "|" + f.rows[1]["公民身份号码"]}
		}), hutong.EFORBIDDEN, "eq with one value only"},
		{"in of one on masked field", f.consumer(), q(func(q *hutong.RecordQuery) {
			q.FilterText = []string{"公民身份号码:in:" + f.rows[0]["公民身份号码"]}
		}), hutong.EFORBIDDEN, "eq with one value only"},
		{"purpose too long", f.consumer(), q(func(q *hutong.RecordQuery) { q.Purpose = strings.Repeat("用", 201) }), hutong.EINVALID, "at most 200"},
		{"70 KB purpose", f.consumer(), q(func(q *hutong.RecordQuery) { q.Purpose = strings.Repeat("x", 70_000) }), hutong.EINVALID, "at most 200"},
		{"70 KB code", f.consumer(), q(func(q *hutong.RecordQuery) { q.Resource = strings.Repeat("A", 70_000) }), hutong.EINVALID, "at most 64"},
		{"70 KB field", f.consumer(), q(func(q *hutong.RecordQuery) { q.Fields = []string{strings.Repeat("字", 70_000)} }), hutong.EINVALID, "at most 64"},
		{"10,000 fields", f.consumer(), q(func(q *hutong.RecordQuery) { q.Fields = strings.Split(strings.Repeat("姓名,", 10_000), ",") }), hutong.EINVALID, "at most 200"},
		{"70 KB cursor", f.consumer(), q(func(q *hutong.RecordQuery) { q.Cursor = strings.Repeat("A", 70_000) }), hutong.EINVALID, "cursor"},
		{"bad filter syntax", f.consumer(), q(func(q *hutong.RecordQuery) { q.FilterText = []string{"参保地=120101"} }), hutong.EINVALID, "FIELD:OP:VALUE"},
		{"bad filter value", f.consumer(), q(func(q *hutong.RecordQuery) { q.FilterText = []string{"缴费基数:gt:lots"} }), hutong.EINVALID, "缴费基数"},
		{"unknown operator", f.consumer(), q(func(q *hutong.RecordQuery) { q.FilterText = []string{"参保地:like:12%"} }), hutong.EINVALID, "operator"},
		{"forged cursor", f.consumer(), q(func(q *hutong.RecordQuery) { q.Cursor = "AAAAAAAAAAIAAAAA" }), hutong.EINVALID, "cursor"},
		{"cursor with sql", f.consumer(), q(func(q *hutong.RecordQuery) { q.Cursor = "1 OR 1=1" }), hutong.EINVALID, "cursor"},
		{"limit too big", f.consumer(), q(func(q *hutong.RecordQuery) { q.Limit = 100000 }), hutong.EINVALID, "limit"},
		{"unknown resource", f.consumer(), q(func(q *hutong.RecordQuery) { q.Resource = "../../etc/passwd" }), hutong.ENOTFOUND, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := f.nextIndex()
			_, err := f.x.Records(tt.ctx, tt.q)
			wantCode(t, err, tt.code)
			if !strings.Contains(hutong.ErrorMessage(err), tt.msg) {
				t.Errorf("message %q does not say %q", hutong.ErrorMessage(err), tt.msg)
			}
			es := f.entries(from)
			if len(es) != 1 || es[0].Decision != "deny" || es[0].Reason == "" || es[0].Rows != 0 {
				t.Errorf("refusal audited as %+v, want one deny entry with its reason", es)
			}
		})
	}

	t.Run("expired on the very next call", func(t *testing.T) {
		if _, err := f.x.Records(f.consumer(), q(nil)); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(60 * 24 * time.Hour) // past 2026-12-31
		_, err := f.x.Records(f.consumer(), q(nil))
		wantCode(t, err, hutong.EFORBIDDEN)
		f.clock.Advance(-60 * 24 * time.Hour)
	})

	t.Run("revoked on the very next call", func(t *testing.T) {
		if _, err := f.x.Records(f.consumer(), q(nil)); err != nil {
			t.Fatal(err)
		}
		_, err := f.requests.RevokeAgreement(storetest.As(context.Background(), f.bj.ID, hutong.RoleSteward), ag.ID, "consumer may not")
		wantCode(t, err, hutong.EFORBIDDEN)
		if _, err := f.requests.RevokeAgreement(storetest.As(context.Background(), f.tj.ID, hutong.RoleSteward), ag.ID, "数据用途变更"); err != nil {
			t.Fatal(err)
		}
		_, err = f.x.Records(f.consumer(), q(nil))
		wantCode(t, err, hutong.EFORBIDDEN)
		_, err = f.requests.RevokeAgreement(storetest.As(context.Background(), f.tj.ID, hutong.RoleSteward), ag.ID, "again")
		wantCode(t, err, hutong.ECONFLICT)
	})
}

func TestNotSharedAndCoreExport(t *testing.T) {
	f := newFixture(t, 5)
	admin := storetest.Admin(context.Background())
	catalog := sqlstore.NewCatalog(f.db)
	core := &hutong.Resource{Code: "120000-TJYB-99", Name: "核心数据", Provider: f.tj.ID, Summary: "核心", ShareType: hutong.ShareConditional,
		ShareConditions: "严格审批", UpdateCycle: "daily", Grade: hutong.GradeCore, Items: []hutong.Item{{Name: "姓名", Element: "person_name"}}}
	if err := catalog.PublishResource(admin, core); err != nil {
		t.Fatal(err)
	}
	sqlstore.NewRows(f.db).ImportRows(admin, core.Code, storetest.Rows(map[string]string{"姓名": "张三"}), "")
	f.agree(hutong.RequestInput{Resource: core.Code, Fields: []string{"姓名"}}, hutong.Narrowing{})
	q := hutong.RecordQuery{Resource: core.Code, Purpose: "异地就医直接结算"}
	if _, err := f.x.Records(f.consumer(), q); err != nil {
		t.Fatalf("read of core data record by record: %v", err)
	}
	_, err := f.x.Export(f.consumer(), q, "ndjson", &bytes.Buffer{}, nil)
	wantCode(t, err, hutong.EFORBIDDEN)
	if !strings.Contains(hutong.ErrorMessage(err), policy.CoreNoExport) {
		t.Errorf("refusal %q does not name %s", hutong.ErrorMessage(err), policy.CoreNoExport)
	}

	// A resource whose share type became none stops at the policy even
	// though an agreement exists.
	up := *f.res
	up.ShareType, up.LegalBasis = hutong.ShareNone, "《个人信息保护法》"
	f.agree(hutong.RequestInput{Fields: []string{"姓名"}}, hutong.Narrowing{})
	if err := catalog.UpdateResource(admin, &up); err != nil {
		t.Fatal(err)
	}
	_, err = f.x.Records(f.consumer(), hutong.RecordQuery{Resource: insured, Purpose: "异地就医直接结算", Fields: []string{"姓名"}})
	wantCode(t, err, hutong.EFORBIDDEN)
	if !strings.Contains(hutong.ErrorMessage(err), policy.NotShared) {
		t.Errorf("refusal %q does not name %s", hutong.ErrorMessage(err), policy.NotShared)
	}
}

func TestPagingAndRowScope(t *testing.T) {
	f := newFixture(t, 97)
	f.agree(hutong.RequestInput{Fields: []string{"姓名", "参保地", "缴费月数"},
		RowScope: []hutong.Condition{{Field: "参保地", Op: hutong.OpPrefix, Values: []string{"1201"}}}}, hutong.Narrowing{
		RowScope: []hutong.Condition{{Field: "缴费月数", Op: hutong.OpLt, Values: []string{"200"}}}})
	var want []string
	for i, r := range f.rows {
		var months int
		fmt.Sscan(r["缴费月数"], &months)
		if strings.HasPrefix(r["参保地"], "1201") && months < 200 && months >= 10 {
			want = append(want, fmt.Sprint(i))
		}
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		pg, err := f.x.Records(f.consumer(), hutong.RecordQuery{Resource: insured, Purpose: "异地就医直接结算", Fields: []string{"参保地", "缴费月数"},
			FilterText: []string{"缴费月数:gte:10"}, Limit: 7, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		p := decode(t, pg.Body)
		for _, it := range p.Items {
			if !strings.HasPrefix(fmt.Sprint(it["参保地"]), "1201") {
				t.Fatalf("row outside the row scope: %v", it)
			}
			months := it["缴费月数"].(json.Number).String()
			for i, r := range f.rows {
				if r["缴费月数"] == months && r["参保地"] == it["参保地"] && !contains(got, fmt.Sprint(i)) {
					got = append(got, fmt.Sprint(i))
					break
				}
			}
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
		if pages > 100 {
			t.Fatal("paging does not end")
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("paged through rows %v, want %v", got, want)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestLimits(t *testing.T) {
	f := newFixture(t, 20)
	f.agree(hutong.RequestInput{Fields: []string{"姓名"}, RequestsPerMinute: 2}, hutong.Narrowing{})
	q := hutong.RecordQuery{Resource: insured, Purpose: "异地就医直接结算", Limit: 1}
	for i := range 2 {
		if _, err := f.x.Records(f.consumer(), q); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	_, err := f.x.Records(f.consumer(), q)
	wantCode(t, err, hutong.ERATELIMITED)
	if hutong.ErrorRetryAfter(err) < 1 {
		t.Errorf("no Retry-After in %v", err)
	}
	f.clock.Advance(31 * time.Second)
	if _, err := f.x.Records(f.consumer(), q); err != nil {
		t.Errorf("after the bucket refilled: %v", err)
	}

	g := newFixture(t, 20)
	g.agree(hutong.RequestInput{Fields: []string{"姓名"}, RowsPerDay: 5}, hutong.Narrowing{})
	q.Limit = 3
	pg, err := g.x.Records(g.consumer(), q)
	if err != nil || pg.Rows != 3 {
		t.Fatalf("first page: %v, %v", pg, err)
	}
	pg, err = g.x.Records(g.consumer(), q)
	if err != nil || pg.Rows != 2 {
		t.Fatalf("second page should be cut to the 2 rows left today: %v, %v", pg, err)
	}
	_, err = g.x.Records(g.consumer(), q)
	wantCode(t, err, hutong.ERATELIMITED)
	_, err = g.x.Export(g.consumer(), q, "csv", &bytes.Buffer{}, nil)
	wantCode(t, err, hutong.ERATELIMITED)
	g.clock.Advance(24 * time.Hour)
	if _, err := g.x.Records(g.consumer(), q); err != nil {
		t.Errorf("the next day: %v", err)
	}
}

// failingAuditor fails every record.
type failingAuditor struct{}

func (failingAuditor) Record(context.Context, *hutong.AuditEvent) (*hutong.Receipt, error) {
	return nil, hutong.Errorf(hutong.EUNAVAILABLE, "disk full")
}

func TestNothingReleasedWithoutAudit(t *testing.T) {
	f := newFixture(t, 10)
	f.agree(hutong.RequestInput{Fields: []string{"姓名"}}, hutong.Narrowing{})
	f.x.Auditor = failingAuditor{}
	q := hutong.RecordQuery{Resource: insured, Purpose: "异地就医直接结算"}
	pg, err := f.x.Records(f.consumer(), q)
	wantCode(t, err, hutong.EUNAVAILABLE)
	if pg != nil {
		t.Errorf("a page was released without its audit entry")
	}
	var out bytes.Buffer
	started := false
	_, err = f.x.Export(f.consumer(), q, "ndjson", &out, func(*hutong.Receipt) { started = true })
	wantCode(t, err, hutong.EUNAVAILABLE)
	if out.Len() > 0 || started {
		t.Errorf("export wrote %d bytes (started %v) without its audit entry", out.Len(), started)
	}
	// Refusals too answer unavailable rather than go unrecorded.
	_, err = f.x.Records(f.consumer(), hutong.RecordQuery{Resource: insured, Purpose: "wrong"})
	wantCode(t, err, hutong.EUNAVAILABLE)
}

// orderedWriter fails the test if anything is written before start.
type orderedWriter struct {
	t       *testing.T
	started *bool
	bytes.Buffer
}

func (w *orderedWriter) Write(p []byte) (int, error) {
	if !*w.started {
		w.t.Fatal("export wrote before its audit entry was recorded")
	}
	return w.Buffer.Write(p)
}

func TestExport(t *testing.T) {
	f := newFixture(t, 250)
	f.agree(hutong.RequestInput{Fields: []string{"姓名", "公民身份号码", "参保地"},
		RowScope: []hutong.Condition{{Field: "参保地", Op: hutong.OpIn, Values: []string{"120101", "120102"}}}}, hutong.Narrowing{})
	inScope := 0
	for _, r := range f.rows {
		if r["参保地"] == "120101" || r["参保地"] == "120102" {
			inScope++
		}
	}
	for _, format := range []string{"ndjson", "csv"} {
		t.Run(format, func(t *testing.T) {
			from := f.nextIndex()
			started := false
			w := &orderedWriter{t: t, started: &started}
			var rec *hutong.Receipt
			n, err := f.x.Export(f.consumer(), hutong.RecordQuery{Resource: insured, Purpose: "异地就医直接结算"}, format, w, func(r *hutong.Receipt) {
				started, rec = true, r
			})
			if err != nil || n != int64(inScope) || rec == nil || rec.Index != from {
				t.Fatalf("export: %d rows, %v, receipt %+v; want %d rows", n, err, rec, inScope)
			}
			out := w.String()
			lines := strings.Split(strings.TrimSpace(out), "\n")
			header := 0
			if format == "csv" {
				header = 1
				if lines[0] != "姓名,公民身份号码,参保地" {
					t.Errorf("csv header %q", lines[0])
				}
			}
			if len(lines)-header != inScope {
				t.Errorf("%d lines, want %d", len(lines)-header, inScope)
			}
			for _, r := range f.rows {
				if strings.Contains(out, r["公民身份号码"]) {
					t.Fatalf("unmasked identity number %s in the export", r["公民身份号码"])
				}
			}
			es := f.entries(from)
			sum := sha256.Sum256(w.Bytes())
			if len(es) != 2 || es[0].Kind != hutong.AuditExport || es[1].Kind != hutong.AuditExportDone ||
				es[1].Rows != int64(inScope) || es[1].Digest != hex.EncodeToString(sum[:]) {
				t.Errorf("export audit entries %+v", es)
			}
		})
	}
	_, err := f.x.Export(f.consumer(), hutong.RecordQuery{Resource: insured, Purpose: "异地就医直接结算"}, "xml", &bytes.Buffer{}, nil)
	wantCode(t, err, hutong.EINVALID)
}

// TestConcurrentReads runs reads from many goroutines: the audit log
// batches them, and every page gets a distinct index.
func TestConcurrentReads(t *testing.T) {
	f := newFixture(t, 50)
	f.agree(hutong.RequestInput{Fields: []string{"姓名", "参保地"}}, hutong.Narrowing{})
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				pg, err := f.x.Records(f.consumer(), hutong.RecordQuery{Resource: insured, Purpose: "异地就医直接结算", Limit: 1 + (g+i)%5})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[pg.Receipt.Index] {
					t.Errorf("index %d handed out twice", pg.Receipt.Index)
				}
				seen[pg.Receipt.Index] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 200 {
		t.Errorf("%d receipts, want 200", len(seen))
	}
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"所在城市:eq:130100", "所在城市 eq [130100]", true},
		{"AQI:gte:100", "AQI gte [100]", true},
		{"参保地:in:120101|120102", "参保地 in [120101 120102]", true},
		{"监测时间:gte:2026-10-01T00:00:00Z", "监测时间 gte [2026-10-01T00:00:00Z]", true},
		{"a:eq:", "a eq []", true},
		{"a=1", "", false},
		{":eq:1", "", false},
		{"a:like:1", "", false},
		{"a:eq", "", false},
		{"a:eq:\xff", "", false},
		{strings.Repeat("x", 5000), "", false},
	}
	for _, tt := range tests {
		c, err := exchange.ParseFilter(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseFilter(%q) error %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil {
			wantCode(t, err, hutong.EINVALID)
			continue
		}
		if got := fmt.Sprintf("%s %s %v", c.Field, c.Op, c.Values); got != tt.want {
			t.Errorf("ParseFilter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"所在城市:eq:130100", "a:in:1|2|3", "a:prefix:", "::", "a:b:c:d", "'; DROP TABLE x; --:eq:1", "\xff:eq:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := exchange.ParseFilter(s)
		if err != nil {
			if hutong.ErrorCode(err) != hutong.EINVALID {
				t.Fatalf("error %v is not invalid", err)
			}
			return
		}
		if c.Field == "" || strings.Contains(c.Field, ":") || len(c.Values) == 0 {
			t.Fatalf("ParseFilter(%q) = %+v", s, c)
		}
	})
}

func TestErrorsAreErrors(t *testing.T) {
	// The exchange's refusals are hutong errors a client can act on, never
	// bare errors that would become 500s.
	f := newFixture(t, 3)
	_, err := f.x.Records(f.consumer(), hutong.RecordQuery{Resource: insured, Purpose: "x"})
	var he *hutong.Error
	if !errors.As(err, &he) || he.Code == hutong.EINTERNAL {
		t.Errorf("got %T %v", err, err)
	}
}

// nodeLike is a source that masks rows itself, as a region node does: it
// records the query it was given and answers rows the test can recognise.
type nodeLike struct {
	hutong.Source
	got []hutong.SourceQuery
}

func (n *nodeLike) MasksRows() bool { return true }

func (n *nodeLike) Read(ctx context.Context, r *hutong.Resource, q hutong.SourceQuery, yield func(hutong.SourceRow) error) error {
	n.got = append(n.got, q)
	vals := make([]any, len(q.Fields))
	for i := range vals {
		vals[i] = "masked-at-node"
	}
	return yield(hutong.SourceRow{Key: 1, Values: vals})
}

func TestMaskingSourceMasksAndIsNamedInTheAudit(t *testing.T) {
	// A source that masks is handed the agreement, the masks and a query
	// id; the exchange does not mask its values again, and the audit
	// entry names the query, which the node's own log keeps too.
	f := newFixture(t, 3)
	ag := f.agree(hutong.RequestInput{Fields: []string{"姓名", "公民身份号码", "参保地"}}, hutong.Narrowing{})
	node := &nodeLike{}
	f.x.Source = func(*hutong.Resource) (hutong.Source, error) { return node, nil }
	from := f.nextIndex()
	pg, err := f.x.Records(f.consumer(), hutong.RecordQuery{Resource: insured, Purpose: "异地就医直接结算", Fields: []string{"姓名", "公民身份号码", "参保地"}, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if item := decode(t, pg.Body).Items[0]; item["姓名"] != "masked-at-node" || item["公民身份号码"] != "masked-at-node" {
		t.Fatalf("the exchange masked what the source had masked: %v", item)
	}
	q := node.got[0]
	if q.ID == "" || q.Agreement == nil || q.Agreement.ID != ag.ID || q.Department != f.bj.ID || q.Purpose != "异地就医直接结算" ||
		len(q.Masks) != 3 || q.Masks[0] != hutong.MaskName || q.Masks[1] != hutong.MaskIDNumber || q.Masks[2] != hutong.MaskNone {
		t.Fatalf("the source was given %+v", q)
	}
	if es := f.entries(from); len(es) != 1 || es[0].Query != q.ID {
		t.Fatalf("audit entries %+v, want one naming query %s", es, q.ID)
	}
	// A source that does not mask gets its rows masked by the exchange,
	// and the entry names no query.
	f.x.Source = func(*hutong.Resource) (hutong.Source, error) { return &plainSource{node}, nil }
	from = f.nextIndex()
	pg, err = f.x.Records(f.consumer(), hutong.RecordQuery{Resource: insured, Purpose: "异地就医直接结算", Fields: []string{"姓名"}, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if item := decode(t, pg.Body).Items[0]; item["姓名"] != f.masker.MaskString(hutong.MaskName, "masked-at-node") {
		t.Fatalf("a plain source's value was not masked: %v", item)
	}
	if es := f.entries(from); len(es) != 1 || es[0].Query != "" {
		t.Fatalf("audit entries %+v, want one naming no query", es)
	}
}

// plainSource reads like nodeLike but does not mask.
type plainSource struct{ n *nodeLike }

func (p *plainSource) Read(ctx context.Context, r *hutong.Resource, q hutong.SourceQuery, yield func(hutong.SourceRow) error) error {
	return p.n.Read(ctx, r, q, yield)
}

func (p *plainSource) Count(context.Context, *hutong.Resource, hutong.SourceQuery) (int64, error) {
	return 1, nil
}

// TestRowsPerDayHoldsUnderConcurrency: concurrent exports and pages
// together release no more than the agreement's rows a day. Before rows
// were reserved, four 300-row exports all passed a 500-row limit.
func TestRowsPerDayHoldsUnderConcurrency(t *testing.T) {
	f := newFixture(t, 300)
	f.agree(hutong.RequestInput{Fields: []string{"姓名"}, RowsPerDay: 500}, hutong.Narrowing{})
	q := hutong.RecordQuery{Resource: insured, Purpose: "异地就医直接结算"}
	var mu sync.Mutex
	var released int64
	exported, limited := 0, 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := f.x.Export(f.consumer(), q, "ndjson", io.Discard, nil)
			mu.Lock()
			defer mu.Unlock()
			released += n
			switch hutong.ErrorCode(err) {
			case "":
				exported++
			case hutong.ERATELIMITED:
				limited++
			default:
				t.Errorf("export: %v", err)
			}
		}()
	}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pq := q
			pq.Limit = 40
			pg, err := f.x.Records(f.consumer(), pq)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				released += int64(pg.Rows)
			} else if hutong.ErrorCode(err) != hutong.ERATELIMITED {
				t.Errorf("records: %v", err)
			}
		}()
	}
	wg.Wait()
	if released > 500 || exported > 1 || limited < 3 {
		t.Fatalf("released %d rows (limit 500), %d exports of 300 passed, %d limited", released, exported, limited)
	}
	// What was reserved and not released is given back: the rest of the
	// day's volume is still there.
	pq := q
	pq.Limit = 1000
	pg, err := f.x.Records(f.consumer(), pq)
	if left := 500 - released; left > 0 && (err != nil || int64(pg.Rows) != min(left, 300)) {
		t.Errorf("after the race, %d rows left today: got %v rows, %v", left, pg, err)
	}
}

func TestCSVCellNeutralisesFormulas(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{"=HYPERLINK(\"http://evil.example\",\"点我\")", "'=HYPERLINK(\"http://evil.example\",\"点我\")"},
		{"+86 10 1234", "'+86 10 1234"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tcmd", "'\tcmd"},
		{"-12.5", "-12.5"},
		{int64(-3), "-3"},
		{"张三", "张三"},
		{"", ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := exchange.CSVCell(tt.in); got != tt.want {
			t.Errorf("CSVCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

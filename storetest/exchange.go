package storetest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong"
)

// typedResource has an item of every value type, so the source's reads
// are checked against each column type of the engine.
func typedResource(code, provider string) *hutong.Resource {
	return &hutong.Resource{
		Code: code, Name: "类型测试", Provider: provider, Summary: "每种值类型一列", ShareType: hutong.ShareUnconditional, UpdateCycle: "daily",
		Items: []hutong.Item{
			{Name: "名称", Element: "org_name", Required: true},
			{Name: "数量", Element: "count"},
			{Name: "金额", Element: "amount"},
			{Name: "日期", Element: "date"},
			{Name: "时间", Element: "datetime"},
			{Name: "标志", Element: "flag"},
		},
	}
}

func readAll(t *testing.T, s Store, r *hutong.Resource, q hutong.SourceQuery) []hutong.SourceRow {
	t.Helper()
	var out []hutong.SourceRow
	err := s.Source.Read(context.Background(), r, q, func(row hutong.SourceRow) error {
		out = append(out, row)
		return nil
	})
	if err != nil {
		t.Fatalf("Read(%+v): %v", q, err)
	}
	return out
}

func testSource(t *testing.T, open Opener) {
	s := open(t, NewClock().Now)
	ctx := Admin(context.Background())
	tj, _, _ := Seed(t, s)
	r := typedResource("120000-TJYB-71", tj.ID)
	if err := s.Catalog.PublishResource(ctx, r); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	for i := range 50 {
		row := map[string]string{
			"名称": fmt.Sprintf("单位%02d", i),
			"数量": fmt.Sprint(i * 3),
			"金额": fmt.Sprintf("%d.%02d", 100+i, i),
			"日期": time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
			"时间": time.Date(2026, 10, 1, i, 30, 0, 0, time.UTC).Format(time.RFC3339),
			"标志": map[bool]string{true: "是", false: "否"}[i%2 == 0],
		}
		if i%10 == 9 {
			delete(row, "金额") // a missing value reads back as nil
		}
		rows = append(rows, row)
	}
	if _, err := s.Rows.ImportRows(ctx, r.Code, Rows(rows...), ""); err != nil {
		t.Fatal(err)
	}
	fields := []string{"名称", "数量", "金额", "日期", "时间", "标志"}

	t.Run("values round-trip", func(t *testing.T) {
		got := readAll(t, s, r, hutong.SourceQuery{Fields: fields})
		if len(got) != 50 {
			t.Fatalf("read %d rows, want 50", len(got))
		}
		for i, row := range got {
			want := []any{fmt.Sprintf("单位%02d", i), int64(i * 3), 100 + float64(i) + float64(i)/100,
				time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
				time.Date(2026, 10, 1, i, 30, 0, 0, time.UTC).Format(time.RFC3339), i%2 == 0}
			if i%10 == 9 {
				want[2] = nil
			}
			if fmt.Sprintf("%#v", row.Values) != fmt.Sprintf("%#v", want) {
				t.Fatalf("row %d = %#v, want %#v", i, row.Values, want)
			}
			if i > 0 && row.Key <= got[i-1].Key {
				t.Fatalf("keys not increasing: %d after %d", row.Key, got[i-1].Key)
			}
		}
	})

	t.Run("conditions", func(t *testing.T) {
		tests := []struct {
			name  string
			where []hutong.Condition
			want  int
		}{
			{"eq string", []hutong.Condition{{Field: "名称", Op: hutong.OpEq, Values: []string{"单位07"}}}, 1},
			{"in", []hutong.Condition{{Field: "名称", Op: hutong.OpIn, Values: []string{"单位01", "单位02", "单位99"}}}, 2},
			{"prefix", []hutong.Condition{{Field: "名称", Op: hutong.OpPrefix, Values: []string{"单位1"}}}, 10},
			{"integer range", []hutong.Condition{{Field: "数量", Op: hutong.OpGte, Values: []string{"30"}}, {Field: "数量", Op: hutong.OpLt, Values: []string{"60"}}}, 10},
			{"decimal", []hutong.Condition{{Field: "金额", Op: hutong.OpGt, Values: []string{"140.4"}}}, 8},
			{"date", []hutong.Condition{{Field: "日期", Op: hutong.OpLte, Values: []string{"2026-01-10"}}}, 10},
			{"datetime", []hutong.Condition{{Field: "时间", Op: hutong.OpGte, Values: []string{"2026-10-02T00:00:00Z"}}}, 26},
			{"boolean", []hutong.Condition{{Field: "标志", Op: hutong.OpEq, Values: []string{"true"}}}, 25},
			{"null never matches", []hutong.Condition{{Field: "金额", Op: hutong.OpGte, Values: []string{"0"}}}, 45},
			{"sql in a value", []hutong.Condition{{Field: "名称", Op: hutong.OpEq, Values: []string{"x' OR '1'='1"}}}, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				q := hutong.SourceQuery{Fields: []string{"名称"}, Where: tt.where}
				if got := len(readAll(t, s, r, q)); got != tt.want {
					t.Errorf("read %d rows, want %d", got, tt.want)
				}
				n, err := s.Source.Count(context.Background(), r, q)
				if err != nil || n != int64(tt.want) {
					t.Errorf("Count = %d, %v; want %d", n, err, tt.want)
				}
			})
		}
	})

	t.Run("keyset paging", func(t *testing.T) {
		var names []string
		var after int64
		for {
			page := readAll(t, s, r, hutong.SourceQuery{Fields: []string{"名称"}, After: after, Limit: 7})
			for _, row := range page {
				names = append(names, row.Values[0].(string))
				after = row.Key
			}
			if len(page) < 7 {
				break
			}
		}
		if len(names) != 50 || names[0] != "单位00" || names[49] != "单位49" {
			t.Errorf("paged %d rows %v", len(names), names)
		}
	})

	t.Run("stop early", func(t *testing.T) {
		stop := errors.New("enough")
		n := 0
		err := s.Source.Read(context.Background(), r, hutong.SourceQuery{Fields: []string{"名称"}}, func(hutong.SourceRow) error {
			n++
			if n == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 3 {
			t.Errorf("got %v after %d rows, want the yield error after 3", err, n)
		}
	})

	t.Run("rejects", func(t *testing.T) {
		for _, q := range []hutong.SourceQuery{
			{Fields: []string{"c0"}},
			{Fields: []string{"名称"}, Where: []hutong.Condition{{Field: "row_id", Op: hutong.OpEq, Values: []string{"1"}}}},
			{Fields: []string{"名称"}, Where: []hutong.Condition{{Field: "数量", Op: hutong.OpEq, Values: []string{"abc"}}}},
		} {
			err := s.Source.Read(context.Background(), r, q, func(hutong.SourceRow) error { return nil })
			wantCode(t, err, hutong.EINVALID)
		}
		err := s.Source.Read(context.Background(), &hutong.Resource{Code: "NO-SUCH"}, hutong.SourceQuery{Fields: []string{"x"}}, func(hutong.SourceRow) error { return nil })
		wantCode(t, err, hutong.ENOTFOUND)
	})
}

// requestsFixture is what each Requests subtest starts from, so that any
// of them runs alone: a fresh store with the fixture departments, Tianjin's
// conditional resource, Hebei's unconditional one and Tianjin's not-shared
// one, and the contexts of Beijing's consumer and Tianjin's steward.
type requestsFixture struct {
	s                        Store
	clock                    *Clock
	tj, bj, hb               hutong.Department
	insured, air, secret     *hutong.Resource
	admin, consumer, steward context.Context
}

func newRequestsFixture(t *testing.T, open Opener) *requestsFixture {
	t.Helper()
	f := &requestsFixture{clock: NewClock(), admin: Admin(context.Background())}
	f.s = open(t, f.clock.Now)
	f.tj, f.bj, f.hb = Seed(t, f.s)
	f.insured = InsuredResource("120000-TJYB-03", f.tj.ID)
	f.air = AirResource("130000-HBHJ-05", f.hb.ID)
	f.secret = InsuredResource("120000-TJYB-08", f.tj.ID)
	f.secret.ShareType, f.secret.LegalBasis = hutong.ShareNone, "《中华人民共和国个人信息保护法》第二十八条"
	for _, r := range []*hutong.Resource{f.insured, f.air, f.secret} {
		if err := f.s.Catalog.PublishResource(f.admin, r); err != nil {
			t.Fatal(err)
		}
	}
	f.consumer = As(context.Background(), f.bj.ID, hutong.RoleConsumer)
	f.steward = As(context.Background(), f.tj.ID, hutong.RoleSteward)
	return f
}

// request files in as Beijing's consumer, with a purpose, a legal basis
// and a period when in has none.
func (f *requestsFixture) request(in hutong.RequestInput) (*hutong.Request, error) {
	in.Purpose = cmp.Or(in.Purpose, "异地就医直接结算")
	in.LegalBasis = cmp.Or(in.LegalBasis, "国家医保局通知")
	in.ValidUntil = cmp.Or(in.ValidUntil, "2027-06-30")
	return f.s.Requests.CreateRequest(f.consumer, &in)
}

// pending files Beijing's request for three items of Tianjin's conditional
// resource, with a row scope, and fails t unless it waits for a steward.
func (f *requestsFixture) pending(t *testing.T) *hutong.Request {
	t.Helper()
	req, err := f.request(hutong.RequestInput{Resource: f.insured.Code, Fields: []string{"姓名", "公民身份号码", "参保日期"},
		RowScope: []hutong.Condition{{Field: "参保日期", Op: hutong.OpGte, Values: []string{"2020/1/1"}}}})
	if err != nil || req.Status != hutong.RequestPending {
		t.Fatalf("CreateRequest = %+v, %v; want pending", req, err)
	}
	return req
}

// granted files Beijing's request for Hebei's unconditional resource and
// fails t unless it is approved at once.
func (f *requestsFixture) granted(t *testing.T, purpose string) *hutong.Request {
	t.Helper()
	req, err := f.request(hutong.RequestInput{Resource: f.air.Code, Fields: []string{"监测站点编码", "AQI"}, Purpose: purpose})
	if err != nil || req.Status != hutong.RequestApproved {
		t.Fatalf("CreateRequest = %+v, %v; want approved", req, err)
	}
	return req
}

// agreement approves a pending request as Tianjin's steward, unnarrowed,
// and returns the agreement.
func (f *requestsFixture) agreement(t *testing.T) *hutong.Agreement {
	t.Helper()
	req, err := f.s.Requests.Approve(f.steward, f.pending(t).ID, hutong.Narrowing{})
	if err != nil {
		t.Fatalf("Approve: %v", err)
	}
	ag, err := f.s.Requests.Agreement(f.steward, req.AgreementID)
	if err != nil {
		t.Fatalf("Agreement(%s): %v", req.AgreementID, err)
	}
	return ag
}

func testRequests(t *testing.T, open Opener) {
	t.Run("unconditional is granted at once", func(t *testing.T) {
		f := newRequestsFixture(t, open)
		req, err := f.request(hutong.RequestInput{Resource: f.air.Code, Fields: []string{"监测站点编码", "AQI"}, LegalBasis: " "})
		if err != nil || req.Status != hutong.RequestApproved || req.AgreementID == "" || req.DecidedAt == nil {
			t.Fatalf("CreateRequest = %+v, %v", req, err)
		}
		ags, _ := f.s.Requests.ActiveAgreements(context.Background(), f.bj.ID, f.air.Code)
		if len(ags) != 1 || ags[0].ID != req.AgreementID || len(ags[0].Fields) != 2 {
			t.Errorf("active agreements %+v", ags)
		}
		// A period beyond the hub's limit is shortened, not refused.
		long, err := f.request(hutong.RequestInput{Resource: f.air.Code, Fields: []string{"AQI"}, Purpose: "长期监测", ValidUntil: "2099-12-31T00:00:00Z"})
		if err != nil || long.Status != hutong.RequestApproved || long.ValidUntil.After(f.clock.Now().AddDate(3, 1, 0)) || long.ValidUntil.Before(f.clock.Now().AddDate(2, 11, 0)) {
			t.Errorf("a request to 2099: %+v, %v; want approved for about three years", long, err)
		}
	})

	t.Run("not shared is refused with the legal basis", func(t *testing.T) {
		f := newRequestsFixture(t, open)
		req, err := f.request(hutong.RequestInput{Resource: f.secret.Code, Fields: []string{"姓名"}})
		if err != nil || req.Status != hutong.RequestRefused || req.AgreementID != "" || req.Reason == "" ||
			!strings.Contains(req.Reason, "个人信息保护法") {
			t.Fatalf("CreateRequest = %+v, %v", req, err)
		}
	})

	t.Run("conditional waits ten working days", func(t *testing.T) {
		f := newRequestsFixture(t, open)
		// The consumer's outbox lists its requests whatever became of
		// them: one granted, one refused, one waiting.
		f.granted(t, "联防联控")
		if _, err := f.request(hutong.RequestInput{Resource: f.secret.Code, Fields: []string{"姓名"}}); err != nil {
			t.Fatal(err)
		}
		req := f.pending(t)
		// Submitted Monday 2 November 2026, 09:00 CST; Thursday the 5th is
		// a holiday and Sunday the 8th a working day: the 10th working day
		// after is Monday the 16th.
		if want := time.Date(2026, 11, 17, 0, 0, 0, 0, hutong.ChinaTime); !req.DueAt.Equal(want) {
			t.Errorf("due %s, want %s", req.DueAt, want)
		}
		if req.WorkingDaysLeft != 10 || req.ReplyBy != "2026-11-16" || req.Overdue || req.RowScope[0].Values[0] != "2020-01-01" {
			t.Errorf("request %+v: want 10 working days left to the end of 2026-11-16, canonical row scope", req)
		}
		inbox, err := f.s.Requests.Requests(f.steward, hutong.RequestFilter{Box: "inbox", Status: hutong.RequestPending})
		if err != nil || len(inbox) != 1 || inbox[0].ID != req.ID {
			t.Errorf("steward inbox %v, %v", inbox, err)
		}
		outbox, err := f.s.Requests.Requests(f.consumer, hutong.RequestFilter{Box: "outbox"})
		if err != nil || len(outbox) != 3 {
			t.Errorf("consumer outbox %d requests, %v; want 3", len(outbox), err)
		}
		if _, err := f.s.Requests.Request(As(context.Background(), f.hb.ID, hutong.RoleSteward), req.ID); hutong.ErrorCode(err) != hutong.ENOTFOUND {
			t.Errorf("a third department sees the request: %v", err)
		}
	})

	t.Run("invalid requests", func(t *testing.T) {
		f := newRequestsFixture(t, open)
		_, err := f.request(hutong.RequestInput{Resource: f.insured.Code, Fields: []string{"姓名", "身高", "姓名"}, Purpose: " ", ValidUntil: "2020-01-01",
			RowScope: []hutong.Condition{{Field: "参保日期", Op: hutong.OpPrefix, Values: []string{"2020"}}}})
		wantCode(t, err, hutong.EINVALID)
		for _, field := range []string{"fields", "purpose", "valid_until", "row_scope[0]"} {
			wantViolation(t, err, 0, field, "")
		}
		_, err = f.request(hutong.RequestInput{Resource: f.insured.Code, Fields: []string{"姓名"}, LegalBasis: " "})
		wantViolation(t, err, 0, "legal_basis", "required")
		_, err = f.request(hutong.RequestInput{Resource: "NO-SUCH", Fields: []string{"姓名"}})
		wantCode(t, err, hutong.ENOTFOUND)
		_, err = f.s.Requests.CreateRequest(hutong.NewContextWithActor(context.Background(), &hutong.Actor{Credential: &hutong.Credential{ID: "k", Department: f.bj.ID}}),
			&hutong.RequestInput{Resource: f.insured.Code, Fields: []string{"姓名"}, Purpose: "x", LegalBasis: "y", ValidUntil: "2027-01-01"})
		wantCode(t, err, hutong.EFORBIDDEN)
		_, err = f.s.Requests.CreateRequest(f.consumer, &hutong.RequestInput{Consumer: f.tj.ID, Resource: f.insured.Code, Fields: []string{"姓名"}, Purpose: "x", LegalBasis: "y", ValidUntil: "2027-01-01"})
		wantCode(t, err, hutong.EFORBIDDEN)
	})

	t.Run("who decides", func(t *testing.T) {
		f := newRequestsFixture(t, open)
		pending := f.pending(t)
		for _, ctx := range []context.Context{f.consumer, As(context.Background(), f.bj.ID, hutong.RoleSteward), As(context.Background(), f.hb.ID, hutong.RoleSteward), As(context.Background(), f.tj.ID, hutong.RoleConsumer)} {
			_, err := f.s.Requests.Approve(ctx, pending.ID, hutong.Narrowing{})
			wantCode(t, err, hutong.EFORBIDDEN)
		}
	})

	t.Run("approval only narrows", func(t *testing.T) {
		f := newRequestsFixture(t, open)
		pending := f.pending(t)
		for _, n := range []hutong.Narrowing{
			{Fields: []string{"姓名", "手机号码"}},
			{ValidUntil: "2028-01-01"},
			{Masking: map[string]hutong.MaskRule{"公民身份号码": hutong.MaskNone}},
			{Masking: map[string]hutong.MaskRule{"手机号码": hutong.MaskRedact}},
			{RowsPerDay: 1 << 40},
		} {
			_, err := f.s.Requests.Approve(f.steward, pending.ID, n)
			wantCode(t, err, hutong.EINVALID)
		}
		req, err := f.s.Requests.Approve(f.steward, pending.ID, hutong.Narrowing{Fields: []string{"姓名", "公民身份号码"}, ValidUntil: "2027-01-31",
			Masking: map[string]hutong.MaskRule{"姓名": hutong.MaskRedact}, RowsPerDay: 500})
		if err != nil || req.Status != hutong.RequestApproved {
			t.Fatalf("Approve = %+v, %v", req, err)
		}
		ag, err := f.s.Requests.Agreement(f.consumer, req.AgreementID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ag.Fields) != 2 || ag.Field("姓名").Masking != hutong.MaskRedact || ag.Field("公民身份号码").Masking != hutong.MaskIDNumber ||
			ag.RowsPerDay != 500 || ag.ValidUntil.In(hutong.ChinaTime).Format(time.DateOnly) != "2027-02-01" || len(ag.RowScope) != 1 || ag.Status != "active" {
			t.Errorf("agreement %+v", ag)
		}
		_, err = f.s.Requests.Approve(f.steward, pending.ID, hutong.Narrowing{})
		wantCode(t, err, hutong.ECONFLICT)
		if _, err := f.s.Requests.Agreement(As(context.Background(), f.hb.ID, hutong.RoleSteward), ag.ID); hutong.ErrorCode(err) != hutong.ENOTFOUND {
			t.Errorf("a third department sees the agreement: %v", err)
		}
		list, err := f.s.Requests.Agreements(f.steward, hutong.AgreementFilter{Role: "provider", Active: true})
		if err != nil || len(list) != 1 {
			t.Errorf("provider's agreements %v, %v", list, err)
		}
	})

	t.Run("reject needs a reason", func(t *testing.T) {
		f := newRequestsFixture(t, open)
		req, err := f.request(hutong.RequestInput{Resource: f.insured.Code, Fields: []string{"姓名"}, Purpose: "第二用途"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.s.Requests.Reject(f.steward, req.ID, "  ")
		wantCode(t, err, hutong.EINVALID)
		req, err = f.s.Requests.Reject(f.steward, req.ID, "用途与职责不符")
		if err != nil || req.Status != hutong.RequestRejected || req.Reason != "用途与职责不符" {
			t.Fatalf("Reject = %+v, %v", req, err)
		}
		_, err = f.s.Requests.Reject(f.steward, req.ID, "again")
		wantCode(t, err, hutong.ECONFLICT)
	})

	t.Run("overdue requests are escalated once", func(t *testing.T) {
		f := newRequestsFixture(t, open)
		admin, consumer, steward := f.admin, f.consumer, f.steward
		req, err := f.request(hutong.RequestInput{Resource: f.insured.Code, Fields: []string{"姓名"}, Purpose: "第三用途"})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := f.s.Requests.EscalateOverdue(admin); err != nil || n != 0 {
			t.Fatalf("EscalateOverdue before the limit = %d, %v", n, err)
		}
		f.clock.Advance(16 * 24 * time.Hour)
		got, err := f.s.Requests.Request(consumer, req.ID)
		if err != nil || !got.Overdue || got.WorkingDaysLeft != 0 {
			t.Errorf("after the limit: %+v, %v", got, err)
		}
		late, err := f.s.Requests.Requests(admin, hutong.RequestFilter{Overdue: true})
		if err != nil || len(late) != 1 || late[0].ID != req.ID {
			t.Errorf("overdue list %v, %v", late, err)
		}
		if n, err := f.s.Requests.EscalateOverdue(admin); err != nil || n != 1 {
			t.Fatalf("EscalateOverdue = %d, %v; want 1", n, err)
		}
		if n, _ := f.s.Requests.EscalateOverdue(admin); n != 0 {
			t.Errorf("escalated twice")
		}
		tjAdmin := hutong.NewContextWithActor(context.Background(), &hutong.Actor{User: &hutong.User{Login: "tj-admin", Region: "120000", Roles: []hutong.Role{hutong.RoleRegionAdmin}}})
		bjAdmin := hutong.NewContextWithActor(context.Background(), &hutong.Actor{User: &hutong.User{Login: "bj-admin", Region: "110000", Roles: []hutong.Role{hutong.RoleRegionAdmin}}})
		for _, c := range []struct {
			name string
			ctx  context.Context
			want int
		}{{"region admin of the provider", tjAdmin, 1}, {"provider's steward", steward, 1}, {"other region admin", bjAdmin, 0}} {
			ns, err := f.s.Requests.Notifications(c.ctx)
			if err != nil || len(ns) != c.want || c.want == 1 && ns[0].RequestID != req.ID {
				t.Errorf("%s: notifications %v, %v; want %d", c.name, ns, err, c.want)
			}
		}
		region, err := f.s.Requests.Requests(tjAdmin, hutong.RequestFilter{Box: "region", Overdue: true})
		if err != nil || len(region) != 1 {
			t.Errorf("region admin's overdue requests %v, %v", region, err)
		}
	})

	t.Run("the consumer chases a request once a working day", func(t *testing.T) {
		f := newRequestsFixture(t, open) // Monday 2 November 2026, 09:00
		req := f.pending(t)
		remind := func(ctx context.Context, want string) {
			t.Helper()
			if _, err := f.s.Requests.Remind(ctx, req.ID); hutong.ErrorCode(err) != want {
				t.Fatalf("Remind at %s = %v, want %q", f.clock.Now().In(hutong.ChinaTime).Format("Mon 2 Jan 15:04"), err, want)
			}
		}
		remind(f.steward, hutong.EFORBIDDEN) // the provider does not chase itself
		// Two at once: one goes through.
		errs := make(chan error, 2)
		for range 2 {
			go func() { _, err := f.s.Requests.Remind(f.consumer, req.ID); errs <- err }()
		}
		if a, b := <-errs, <-errs; (a == nil) == (b == nil) || hutong.ErrorCode(errors.Join(a, b)) != hutong.ECONFLICT {
			t.Fatalf("racing reminders: %v and %v; want one through and one conflict", a, b)
		}
		f.clock.Advance(8 * time.Hour)
		remind(f.consumer, hutong.ECONFLICT) // the same day
		f.clock.Advance(16 * time.Hour)
		remind(f.consumer, "") // Tuesday
		// The suite's calendar makes Sunday 8 November a working day.
		f.clock.Advance(4 * 24 * time.Hour)
		remind(f.consumer, "") // Saturday counts for the next working day…
		f.clock.Advance(24 * time.Hour)
		remind(f.consumer, hutong.ECONFLICT) // …so not again on Sunday 8 (a make-up working day)
		f.clock.Advance(24 * time.Hour)
		remind(f.consumer, "") // Monday 9 November

		ns, err := f.s.Requests.Notifications(f.steward)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		for _, n := range ns {
			if n.Kind == hutong.NotifyRemind && n.RequestID == req.ID && n.Params["resource"] == f.insured.Code && strings.Contains(n.Describe(), "chases") {
				got++
			}
		}
		if got != 4 {
			t.Errorf("the provider's steward has %d reminders, want 4: %+v", got, ns)
		}
		if ns, _ := f.s.Requests.Notifications(As(context.Background(), f.hb.ID, hutong.RoleSteward)); len(ns) != 0 {
			t.Errorf("another provider's steward sees %v", ns)
		}
		flush, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.s.Audit.FlushOutbox(flush); err != nil {
			t.Fatal(err)
		}
		es, err := f.s.Audit.Entries(context.Background(), 0, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		audited := 0
		for _, e := range es {
			var ev hutong.AuditEvent
			if json.Unmarshal(e.Data, &ev) == nil && ev.Kind == hutong.AuditRemind && ev.Request == req.ID {
				audited++
			}
		}
		if audited != 4 {
			t.Errorf("%d reminders audited, want 4", audited)
		}
		if _, err := f.s.Requests.Reject(f.steward, req.ID, "资料不全"); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(24 * time.Hour)
		remind(f.consumer, hutong.ECONFLICT) // decided: nothing to chase
	})

	t.Run("revocation", func(t *testing.T) {
		f := newRequestsFixture(t, open)
		f.agreement(t)
		ags, _ := f.s.Requests.ActiveAgreements(context.Background(), f.bj.ID, f.insured.Code)
		if len(ags) != 1 {
			t.Fatalf("active agreements %v", ags)
		}
		_, err := f.s.Requests.RevokeAgreement(f.consumer, ags[0].ID, "")
		wantCode(t, err, hutong.EFORBIDDEN)
		ag, err := f.s.Requests.RevokeAgreement(f.steward, ags[0].ID, "任务结束")
		if err != nil || ag.Status != "revoked" || ag.RevokedBy == "" {
			t.Fatalf("RevokeAgreement = %+v, %v", ag, err)
		}
		if ags, _ := f.s.Requests.ActiveAgreements(context.Background(), f.bj.ID, f.insured.Code); len(ags) != 0 {
			t.Errorf("a revoked agreement is still active")
		}
		_, err = f.s.Requests.RevokeAgreement(f.steward, ag.ID, "")
		wantCode(t, err, hutong.ECONFLICT)
	})

	t.Run("a resource with active agreements is not deleted", func(t *testing.T) {
		f := newRequestsFixture(t, open)
		f.granted(t, "联防联控")
		err := f.s.Catalog.DeleteResource(f.admin, f.air.Code)
		wantCode(t, err, hutong.ECONFLICT)
	})

	t.Run("active agreements survive a restart", func(t *testing.T) {
		f := newRequestsFixture(t, open)
		if f.s.Reopen == nil {
			t.Skip("no reopen")
		}
		f.granted(t, "联防联控")
		f.granted(t, "长期监测")
		if _, err := f.s.Requests.RevokeAgreement(f.steward, f.agreement(t).ID, "任务结束"); err != nil {
			t.Fatal(err)
		}
		s2 := f.s.Reopen(t)
		ags, _ := s2.Requests.ActiveAgreements(context.Background(), f.bj.ID, f.air.Code)
		if len(ags) != 2 {
			t.Errorf("after reopen: %d active agreements, want 2", len(ags))
		}
		if ags, _ := s2.Requests.ActiveAgreements(context.Background(), f.bj.ID, f.insured.Code); len(ags) != 0 {
			t.Errorf("after reopen a revoked agreement is active")
		}
	})
}

func testAuditLog(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[uint64]bool{}
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				rec, err := s.Audit.Record(ctx, &hutong.AuditEvent{Kind: hutong.AuditRead, Actor: "key:k", Agreement: fmt.Sprintf("agr_%d", g%2),
					Rows: int64(i), Decision: "allow", Probes: i % 3})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[rec.Index] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 320 || !seen[0] || !seen[319] {
		t.Fatalf("%d distinct indexes, want 0 … 319", len(seen))
	}
	es, err := s.Audit.Entries(ctx, 0, 1000)
	if err != nil || len(es) != 320 {
		t.Fatalf("Entries: %d, %v", len(es), err)
	}
	for i, e := range es {
		if e.Index != uint64(i) || fmt.Sprint(e.LeafHash) != fmt.Sprint(hutong.LeafHash(hutong.Commitment(e.Salt, e.Data))) {
			t.Fatalf("entry %d: index %d, hash mismatch", i, e.Index)
		}
	}
	// Probes count whatever the decision; rows only of allowed reads.
	if _, err := s.Audit.Record(ctx, &hutong.AuditEvent{Kind: hutong.AuditRead, Agreement: "agr_0", Rows: 5, Probes: 2, Decision: "deny"}); err != nil {
		t.Fatal(err)
	}
	use, err := s.Audit.UsedSince(ctx, "agr_0", clock.Now().Add(-time.Hour))
	if err != nil || use.Rows != 4*780 || use.Probes != 4*39+2 {
		t.Errorf("UsedSince = %+v, %v; want %d rows and %d probes", use, err, 4*780, 4*39+2)
	}
	if use, _ := s.Audit.UsedSince(ctx, "agr_0", clock.Now().Add(time.Hour)); use.Rows != 0 || use.Probes != 0 {
		t.Errorf("UsedSince the future = %+v", use)
	}
	if s.Reopen != nil {
		s2 := s.Reopen(t)
		rec, err := s2.Audit.Record(ctx, &hutong.AuditEvent{Kind: hutong.AuditRead, Decision: "deny"})
		if err != nil || rec.Index != 321 {
			t.Errorf("after reopen the next index is %v, %v; want 321", rec, err)
		}
	}
}

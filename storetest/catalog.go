package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hutong/hutong"
)

func testDirectory(t *testing.T, open Opener) {
	s := open(t, NewClock().Now)
	ctx := Admin(context.Background())
	tj, bj, _ := Seed(t, s)

	t.Run("Regions", func(t *testing.T) {
		rs, err := s.Directory.Regions(ctx, hutong.RegionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var provinces, hebeiCities int
		for _, r := range rs {
			if !r.Member {
				t.Errorf("region %s %s listed but not a member", r.Code, r.Name)
			}
			if r.Level == hutong.LevelProvince {
				provinces++
			}
			if r.Parent == "130000" && r.Level == hutong.LevelCity {
				hebeiCities++
			}
		}
		if provinces != 3 || hebeiCities != 11 {
			t.Errorf("got %d provinces and %d Hebei cities, want 3 and 11", provinces, hebeiCities)
		}
		r, err := s.Directory.Region(ctx, "130100")
		if err != nil || r.Name != "石家庄市" || r.Parent != "130000" {
			t.Errorf("Region(130100) = %+v, %v; want 石家庄市 under 130000", r, err)
		}
		_, err = s.Directory.Region(ctx, "999999")
		wantCode(t, err, hutong.ENOTFOUND)
		kids, err := s.Directory.Regions(ctx, hutong.RegionFilter{Parent: "130100"})
		if err != nil || len(kids) < 10 {
			t.Errorf("children of 130100: got %d, %v; want the counties of 石家庄", len(kids), err)
		}
		all, err := s.Directory.Regions(ctx, hutong.RegionFilter{All: true, Level: hutong.LevelProvince})
		if err != nil || len(all) < 31 {
			t.Errorf("all provinces: got %d, %v; want GB/T 2260's provincial divisions", len(all), err)
		}
	})

	t.Run("Departments", func(t *testing.T) {
		got, err := s.Directory.Departments(ctx, hutong.DepartmentFilter{Region: "120000"})
		if err != nil || len(got) != 1 || got[0].ID != tj.ID {
			t.Fatalf("departments of 120000 = %v, %v; want only %s", got, err, tj.ID)
		}
		d, err := s.Directory.Department(ctx, bj.ID)
		if err != nil || d.Name != bj.Name {
			t.Errorf("Department(%s) = %v, %v", bj.ID, d, err)
		}
		_, err = s.Directory.Department(ctx, "91110000000000000X")
		wantCode(t, err, hutong.ENOTFOUND)
	})

	t.Run("CreateRejects", func(t *testing.T) {
		good := USCC(t, "130000", 77)
		bad := good[:17] + string("0123456789ABCDEFGHJKLMNPQRTUWXY"[(strings31(good[17])+1)%31])
		tests := []struct {
			name  string
			d     hutong.Department
			ctx   context.Context
			code  string
			field string
			rule  string
		}{
			{"check digit", hutong.Department{ID: bad, Name: "某局", Region: "130000"}, ctx, hutong.EINVALID, "id", "check_digit"},
			{"unknown division", hutong.Department{ID: good, Name: "某局", Region: "139999"}, ctx, hutong.EINVALID, "region", "unknown_division"},
			{"not a member", hutong.Department{ID: USCC(t, "310000", 5), Name: "上海市某局", Region: "310000"}, ctx, hutong.EINVALID, "region", "not_member"},
			{"no name", hutong.Department{ID: good, Region: "130000"}, ctx, hutong.EINVALID, "name", "length"},
			{"duplicate", tj, ctx, hutong.ECONFLICT, "", ""},
			{"steward may not", hutong.Department{ID: good, Name: "某局", Region: "130000"}, As(context.Background(), tj.ID, hutong.RoleSteward), hutong.EFORBIDDEN, "", ""},
			{"other region's admin", hutong.Department{ID: good, Name: "某局", Region: "130000"},
				hutong.NewContextWithActor(context.Background(), &hutong.Actor{User: &hutong.User{Login: "bj", Region: "110000", Roles: []hutong.Role{hutong.RoleRegionAdmin}}}), hutong.EFORBIDDEN, "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				d := tt.d
				err := s.Directory.CreateDepartment(tt.ctx, &d)
				wantCode(t, err, tt.code)
				if tt.field != "" {
					wantViolation(t, err, 0, tt.field, tt.rule)
				}
			})
		}
		// A region admin registers departments of its own province.
		hbAdmin := hutong.NewContextWithActor(context.Background(), &hutong.Actor{User: &hutong.User{Login: "hb", Region: "130000", Roles: []hutong.Role{hutong.RoleRegionAdmin}}})
		if err := s.Directory.CreateDepartment(hbAdmin, &hutong.Department{ID: good, Name: "河北省统计局", Region: "130100"}); err != nil {
			t.Errorf("region admin creating in its province: %v", err)
		}
	})
}

// strings31 returns the value of a character of the GB 32100 set.
func strings31(c byte) int {
	return slices.Index([]byte("0123456789ABCDEFGHJKLMNPQRTUWXY"), c)
}

func testPublish(t *testing.T, open Opener) {
	s := open(t, NewClock().Now)
	ctx := Admin(context.Background())
	tj, bj, _ := Seed(t, s)

	r := InsuredResource("120000-TJYB-03", tj.ID)
	if err := s.Catalog.PublishResource(As(context.Background(), tj.ID, hutong.RoleSteward), r); err != nil {
		t.Fatalf("PublishResource: %v", err)
	}
	got, err := s.Catalog.Resource(ctx, r.Code)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"share type from 授权共享", got.ShareType, hutong.ShareConditional},
		{"update cycle from 每日", got.UpdateCycle, "daily"},
		{"level raised by citizen_id (就高从严)", got.Level, 3},
		{"grade follows level", got.Grade, hutong.GradeImportant},
		{"region from provider", got.Region, "120000"},
		{"provider name", got.ProviderName, tj.Name},
		{"hosted default", got.Hosted, hutong.HostedHub},
		{"open type default", got.OpenType, hutong.OpenNone},
		{"publish date from the clock (CST)", got.PublishDate, "2026-11-02"},
		{"tags trimmed and deduplicated", fmt.Sprint(got.Tags), "[医保 个人信息]"},
		{"item type from element", got.Items[1].Type, hutong.TypeString},
		{"date item type", got.Items[2].Type, hutong.TypeDate},
		{"default masking of name", got.Items[0].Masking, hutong.MaskName},
		{"default masking of id", got.Items[1].Masking, hutong.MaskIDNumber},
		{"stricter masking kept", got.Items[4].Masking, hutong.MaskRedact},
		{"required kept", got.Items[0].Required, true},
		{"no rows yet", got.Rows, int64(0)},
		{"created at", got.CreatedAt.Equal(NewClock().Now()), true},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}

	t.Run("core grade lifts level", func(t *testing.T) {
		r := AirResource("120000-TJYB-90", tj.ID)
		r.Level, r.Grade = 2, "核心"
		if err := s.Catalog.PublishResource(ctx, r); err != nil {
			t.Fatal(err)
		}
		if r.Level != 4 || r.Grade != hutong.GradeCore {
			t.Errorf("got level %d grade %s, want 4 core", r.Level, r.Grade)
		}
	})

	t.Run("rejects", func(t *testing.T) {
		tests := []struct {
			name   string
			change func(r *hutong.Resource)
			ctx    context.Context
			code   string
			field  string
			rule   string
		}{
			{"duplicate code", func(r *hutong.Resource) {}, ctx, hutong.ECONFLICT, "", ""},
			{"code with a slash", func(r *hutong.Resource) { r.Code = "a/../b" }, ctx, hutong.EINVALID, "code", "format"},
			{"code with SQL", func(r *hutong.Resource) { r.Code = "x'; DROP TABLE resources; --" }, ctx, hutong.EINVALID, "code", "format"},
			{"unknown element", func(r *hutong.Resource) { r.Code = "120000-TJYB-41"; r.Items[0].Element = "shoe_size" }, ctx, hutong.EINVALID, "items[0].element", "unknown_element"},
			{"weaker masking", func(r *hutong.Resource) { r.Code = "120000-TJYB-42"; r.Items[1].Masking = hutong.MaskNone }, ctx, hutong.EINVALID, "items[1].masking", "weaker"},
			{"wrong item type", func(r *hutong.Resource) { r.Code = "120000-TJYB-43"; r.Items[2].Type = hutong.TypeInteger }, ctx, hutong.EINVALID, "items[2].type", "mismatch"},
			{"duplicate item", func(r *hutong.Resource) { r.Code = "120000-TJYB-44"; r.Items[1].Name = "姓名" }, ctx, hutong.EINVALID, "items[1].name", "duplicate"},
			{"no items", func(r *hutong.Resource) { r.Code = "120000-TJYB-45"; r.Items = nil }, ctx, hutong.EINVALID, "items", "required"},
			{"not shared needs legal basis", func(r *hutong.Resource) { r.Code = "120000-TJYB-46"; r.ShareType = "不予共享" }, ctx, hutong.EINVALID, "legal_basis", "required"},
			{"conditional needs conditions", func(r *hutong.Resource) { r.Code = "120000-TJYB-47"; r.ShareConditions = "" }, ctx, hutong.EINVALID, "share_conditions", "required"},
			{"unknown share type", func(r *hutong.Resource) { r.Code = "120000-TJYB-48"; r.ShareType = "sometimes" }, ctx, hutong.EINVALID, "share_type", "enum"},
			{"unknown provider", func(r *hutong.Resource) { r.Code = "120000-TJYB-49"; r.Provider = USCC(t, "120000", 99) }, ctx, hutong.EINVALID, "provider", "unknown_department"},
			{"region not the provider's", func(r *hutong.Resource) { r.Code = "120000-TJYB-50"; r.Region = "110000" }, ctx, hutong.EINVALID, "region", "mismatch"},
			{"level out of range", func(r *hutong.Resource) { r.Code = "120000-TJYB-51"; r.Level = 7 }, ctx, hutong.EINVALID, "level", "range"},
			{"bad publish date", func(r *hutong.Resource) { r.Code = "120000-TJYB-52"; r.PublishDate = "2026-02-30" }, ctx, hutong.EINVALID, "publish_date", "format"},
			{"other department's steward", func(r *hutong.Resource) { r.Code = "120000-TJYB-53" }, As(context.Background(), bj.ID, hutong.RoleSteward), hutong.EFORBIDDEN, "", ""},
			{"consumer may not publish", func(r *hutong.Resource) { r.Code = "120000-TJYB-54" }, As(context.Background(), tj.ID, hutong.RoleConsumer), hutong.EFORBIDDEN, "", ""},
			{"application key may not publish", func(r *hutong.Resource) { r.Code = "120000-TJYB-55" },
				hutong.NewContextWithActor(context.Background(), &hutong.Actor{Credential: &hutong.Credential{ID: "k", Department: tj.ID}}), hutong.EFORBIDDEN, "", ""},
			// A code is the provider's: its region, its short code, a number.
			{"another department's code", func(r *hutong.Resource) { r.Code = "120000-TJYB-20"; r.Provider = bj.ID }, As(context.Background(), bj.ID, hutong.RoleSteward), hutong.EINVALID, "code", "namespace"},
			{"a code of no region", func(r *hutong.Resource) { r.Code = "999999-ZZZZ-01" }, ctx, hutong.EINVALID, "code", "namespace"},
			{"another region's code", func(r *hutong.Resource) { r.Code = "110000-TJYB-01" }, ctx, hutong.EINVALID, "code", "namespace"},
			{"no number", func(r *hutong.Resource) { r.Code = "120000-TJYB-X1" }, ctx, hutong.EINVALID, "code", "namespace"},
			{"lower-case short", func(r *hutong.Resource) { r.Code = "120000-tjyb-01" }, ctx, hutong.EINVALID, "code", "namespace"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := InsuredResource("120000-TJYB-03", tj.ID)
				tt.change(r)
				err := s.Catalog.PublishResource(tt.ctx, r)
				wantCode(t, err, tt.code)
				if tt.field != "" {
					wantViolation(t, err, 0, tt.field, tt.rule)
				}
				if tt.code != hutong.ECONFLICT {
					if _, err := s.Catalog.Resource(ctx, r.Code); hutong.ErrorCode(err) != hutong.ENOTFOUND {
						t.Errorf("rejected resource %q was stored (%v)", r.Code, err)
					}
				}
			})
		}
	})

	t.Run("every violation at once", func(t *testing.T) {
		r := InsuredResource("R-20", tj.ID)
		r.Name, r.Summary, r.Items[0].Element, r.UpdateCycle = "", "", "nope", "sometimes"
		err := s.Catalog.PublishResource(ctx, r)
		wantCode(t, err, hutong.EINVALID)
		for _, f := range []string{"name", "summary", "items[0].element", "update_cycle"} {
			found := false
			for _, v := range hutong.ErrorDetails(err) {
				found = found || v.Field == f
			}
			if !found {
				t.Errorf("no violation for %s in %v", f, hutong.ErrorDetails(err))
			}
		}
	})
}

func testSearch(t *testing.T, open Opener) {
	s := open(t, NewClock().Now)
	ctx := Admin(context.Background())
	tj, bj, hb := Seed(t, s)
	publish := func(r *hutong.Resource) {
		t.Helper()
		if err := s.Catalog.PublishResource(ctx, r); err != nil {
			t.Fatalf("publish %s: %v", r.Code, err)
		}
	}
	publish(InsuredResource("120000-TJYB-03", tj.ID))
	publish(AirResource("130000-HBHJ-05", hb.ID))
	air := AirResource("110000-BJSJ-05", bj.ID)
	air.Name, air.NameEn = "北京市空气质量精细化监测", "Beijing Fine-Grained Air Monitoring"
	publish(air)
	clinic := AirResource("130000-HBHJ-900", hb.ID)
	clinic.Name, clinic.NameEn, clinic.Tags = "河北省医保定点机构名录", "Hebei Designated Clinics", nil
	clinic.Items = clinic.Items[:1]
	publish(clinic)
	for i := range 25 {
		r := AirResource(fmt.Sprintf("130000-HBHJ-%03d", 100+i), hb.ID)
		r.Name, r.NameEn, r.Tags = fmt.Sprintf("河北省水质自动监测站数据%d", i), fmt.Sprintf("Water Station %d", i), []string{"水质"}
		publish(r)
	}

	list := func(f hutong.ResourceFilter) *hutong.ResourcePage {
		t.Helper()
		page, err := s.Catalog.Resources(ctx, f)
		if err != nil {
			t.Fatalf("Resources(%+v): %v", f, err)
		}
		return page
	}
	tests := []struct {
		name string
		f    hutong.ResourceFilter
		want []string
	}{
		{"chinese two characters", hutong.ResourceFilter{Query: "医保"}, []string{"120000-TJYB-03", "130000-HBHJ-900"}},
		{"chinese one character", hutong.ResourceFilter{Query: "津"}, []string{"120000-TJYB-03"}},
		{"chinese substring", hutong.ResourceFilter{Query: "空气"}, []string{"110000-BJSJ-05", "130000-HBHJ-05"}},
		{"english case-insensitive", hutong.ResourceFilter{Query: "air QUALITY"}, []string{"130000-HBHJ-05"}},
		{"provider name", hutong.ResourceFilter{Query: "医疗保障局"}, []string{"120000-TJYB-03"}},
		{"item name", hutong.ResourceFilter{Query: "公民身份"}, []string{"120000-TJYB-03"}},
		{"terms are ANDed", hutong.ResourceFilter{Query: "空气 北京"}, []string{"110000-BJSJ-05"}},
		{"no match", hutong.ResourceFilter{Query: "不存在的资源"}, []string{}},
		{"tag", hutong.ResourceFilter{Tag: "物联网", Region: "110000"}, []string{"110000-BJSJ-05"}},
		{"region contains", hutong.ResourceFilter{Region: "120000"}, []string{"120000-TJYB-03"}},
		{"share type", hutong.ResourceFilter{ShareType: "conditional"}, []string{"120000-TJYB-03"}},
		{"level", hutong.ResourceFilter{Level: 3}, []string{"120000-TJYB-03"}},
		{"provider", hutong.ResourceFilter{Provider: bj.ID}, []string{"110000-BJSJ-05"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := list(tt.f)
			got := sortedCopy(codes(page.Items))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || page.Total != len(tt.want) {
				t.Errorf("got %v (total %d), want %v", got, page.Total, tt.want)
			}
		})
	}

	t.Run("name matches rank first", func(t *testing.T) {
		page := list(hutong.ResourceFilter{Query: "医保"})
		if got := codes(page.Items); fmt.Sprint(got) != "[130000-HBHJ-900 120000-TJYB-03]" {
			t.Errorf("q=医保 ordered %v, want the name match 130000-HBHJ-900 before the tag match", got)
		}
	})

	t.Run("paging", func(t *testing.T) {
		var seen []string
		f := hutong.ResourceFilter{Limit: 4}
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatal("paging does not end")
			}
			page := list(f)
			if page.Total != 29 {
				t.Fatalf("total %d, want 28", page.Total)
			}
			seen = append(seen, codes(page.Items)...)
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
		if len(seen) != 29 || !slices.IsSorted(seen) || len(slices.Compact(slices.Clone(seen))) != 29 {
			t.Errorf("walked %d resources %v, want 29 distinct in code order", len(seen), seen)
		}
	})

	t.Run("bad filters", func(t *testing.T) {
		for _, f := range []hutong.ResourceFilter{
			{Cursor: "not-a-cursor"}, {Cursor: "'; DROP TABLE resources; --"}, {Limit: 100000}, {Level: 9},
			{ShareType: "sometimes"}, {Region: "12"},
		} {
			_, err := s.Catalog.Resources(ctx, f)
			wantCode(t, err, hutong.EINVALID)
		}
	})

	t.Run("tags", func(t *testing.T) {
		tags, err := s.Catalog.Tags(ctx)
		if err != nil || len(tags) == 0 {
			t.Fatalf("Tags() = %v, %v", tags, err)
		}
		if tags[0] != (hutong.TagCount{Tag: "水质", Count: 25}) {
			t.Errorf("most used tag %v, want 水质 on 25 resources", tags[0])
		}
	})

	t.Run("index survives reopen", func(t *testing.T) {
		if s.Reopen == nil {
			t.Skip("no reopen")
		}
		s2 := s.Reopen(t)
		page, err := s2.Catalog.Resources(ctx, hutong.ResourceFilter{Query: "医保"})
		if err != nil || page.Total != 2 || page.Items[1].Code != "120000-TJYB-03" {
			t.Errorf("after reopen q=医保: %v, %v", page, err)
		}
	})
}

func testUpdateDelete(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	ctx := Admin(context.Background())
	tj, bj, _ := Seed(t, s)
	r := InsuredResource("120000-TJYB-03", tj.ID)
	if err := s.Catalog.PublishResource(ctx, r); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)

	up := InsuredResource("120000-TJYB-03", tj.ID)
	up.Name = "天津市城乡居民参保登记"
	up.Items = append(up.Items, hutong.Item{Name: "性别", Element: "gender"})
	if err := s.Catalog.UpdateResource(As(context.Background(), tj.ID, hutong.RoleSteward), up); err != nil {
		t.Fatalf("UpdateResource: %v", err)
	}
	got, err := s.Catalog.Resource(ctx, r.Code)
	if err != nil || got.Name != up.Name || len(got.Items) != 6 || !got.UpdatedAt.After(got.CreatedAt) {
		t.Fatalf("after update: %+v, %v", got, err)
	}
	if page, _ := s.Catalog.Resources(ctx, hutong.ResourceFilter{Query: "基本医疗保险"}); page.Total != 0 {
		t.Errorf("old name still found after update: %v", codes(page.Items))
	}
	if page, _ := s.Catalog.Resources(ctx, hutong.ResourceFilter{Query: "城乡居民"}); page.Total != 1 {
		t.Errorf("new name not found after update")
	}

	// Rows freeze the items.
	if _, err := s.Rows.ImportRows(ctx, r.Code, Rows(map[string]string{"姓名": "张三", "公民身份号码": CitizenID(t, "12010119900101123")}), hutong.ImportAppend); err != nil {
		t.Fatalf("ImportRows: %v", err)
	}
	up.Items = up.Items[:5]
	wantCode(t, s.Catalog.UpdateResource(ctx, up), hutong.ECONFLICT)
	wantCode(t, s.Catalog.UpdateResource(As(context.Background(), bj.ID, hutong.RoleSteward), InsuredResource(r.Code, tj.ID)), hutong.EFORBIDDEN)
	wantCode(t, s.Catalog.UpdateResource(ctx, InsuredResource("120000-TJYB-98", tj.ID)), hutong.ENOTFOUND)

	wantCode(t, s.Catalog.DeleteResource(As(context.Background(), bj.ID, hutong.RoleSteward), r.Code), hutong.EFORBIDDEN)
	if err := s.Catalog.DeleteResource(ctx, r.Code); err != nil {
		t.Fatalf("DeleteResource: %v", err)
	}
	_, err = s.Catalog.Resource(ctx, r.Code)
	wantCode(t, err, hutong.ENOTFOUND)
	if page, _ := s.Catalog.Resources(ctx, hutong.ResourceFilter{Query: "城乡居民"}); page.Total != 0 {
		t.Errorf("deleted resource still found")
	}
	wantCode(t, s.Catalog.DeleteResource(ctx, r.Code), hutong.ENOTFOUND)
	// The code is free again, with a fresh row table.
	if err := s.Catalog.PublishResource(ctx, InsuredResource(r.Code, tj.ID)); err != nil {
		t.Fatalf("republish: %v", err)
	}
	if got, _ := s.Catalog.Resource(ctx, r.Code); got.Rows != 0 {
		t.Errorf("republished resource has %d rows, want 0", got.Rows)
	}
}

func testImportCatalog(t *testing.T, open Opener) {
	s := open(t, NewClock().Now)
	ctx := Admin(context.Background())
	tj, bj, hb := Seed(t, s)

	good := []*hutong.Resource{InsuredResource("120000-TJYB-03", tj.ID), AirResource("130000-HBHJ-05", hb.ID)}
	bad := InsuredResource("110000-BJSJ-01", bj.ID)
	bad.Items[1].Element = "nope"
	dup := AirResource("130000-HBHJ-05", hb.ID)
	err := s.Catalog.ImportCatalog(ctx, append(good, bad, dup))
	wantCode(t, err, hutong.EINVALID)
	wantViolation(t, err, 3, "items[1].element", "unknown_element")
	wantViolation(t, err, 4, "code", "duplicate")
	if page, _ := s.Catalog.Resources(ctx, hutong.ResourceFilter{}); page.Total != 0 {
		t.Fatalf("a rejected import stored %d resources", page.Total)
	}

	good = []*hutong.Resource{InsuredResource("120000-TJYB-03", tj.ID), AirResource("130000-HBHJ-05", hb.ID)}
	wantCode(t, s.Catalog.ImportCatalog(As(context.Background(), tj.ID, hutong.RoleSteward), good), hutong.EFORBIDDEN)
	if err := s.Catalog.ImportCatalog(ctx, good); err != nil {
		t.Fatalf("ImportCatalog: %v", err)
	}
	if page, _ := s.Catalog.Resources(ctx, hutong.ResourceFilter{}); page.Total != 2 {
		t.Fatalf("got %d resources, want 2", page.Total)
	}
	again := []*hutong.Resource{AirResource("110000-BJSJ-05", bj.ID), InsuredResource("120000-TJYB-03", tj.ID)}
	err = s.Catalog.ImportCatalog(ctx, again)
	wantCode(t, err, hutong.EINVALID)
	wantViolation(t, err, 2, "code", "exists")
	if _, err := s.Catalog.Resource(ctx, "110000-BJSJ-05"); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("half an import was stored")
	}
	wantCode(t, s.Catalog.ImportCatalog(ctx, nil), hutong.EINVALID)
}

func testImportRows(t *testing.T, open Opener) {
	s := open(t, NewClock().Now)
	ctx := Admin(context.Background())
	tj, bj, hb := Seed(t, s)
	r := InsuredResource("120000-TJYB-03", tj.ID)
	if err := s.Catalog.PublishResource(ctx, r); err != nil {
		t.Fatal(err)
	}
	id1, id2 := CitizenID(t, "12010119900307123"), CitizenID(t, "13010219851231002")
	rows := func() hutong.RowReader {
		return Rows(
			map[string]string{"姓名": "张三", "公民身份号码": id1, "参保日期": "2020-01-05", "缴费基数": "6500.50", "手机号码": "13812345678"},
			map[string]string{"姓名": "李四", "公民身份号码": id2, "参保日期": "20191201", "缴费基数": "", "手机号码": ""},
		)
	}
	steward := As(context.Background(), tj.ID, hutong.RoleSteward)
	res, err := s.Rows.ImportRows(steward, r.Code, rows(), hutong.ImportAppend)
	if err != nil || res.Imported != 2 || res.TotalRows != 2 {
		t.Fatalf("ImportRows = %+v, %v; want 2 imported", res, err)
	}
	res, err = s.Rows.ImportRows(steward, r.Code, rows(), "")
	if err != nil || res.TotalRows != 4 {
		t.Fatalf("append: %+v, %v; want 4 rows", res, err)
	}
	res, err = s.Rows.ImportRows(steward, r.Code, rows(), hutong.ImportReplace)
	if err != nil || res.TotalRows != 2 {
		t.Fatalf("replace: %+v, %v; want 2 rows", res, err)
	}
	if got, _ := s.Catalog.Resource(ctx, r.Code); got.Rows != 2 {
		t.Errorf("resource reports %d rows, want 2", got.Rows)
	}

	t.Run("all or nothing", func(t *testing.T) {
		badID := id1[:17] + map[bool]string{true: "0", false: "1"}[id1[17] != '0']
		_, err := s.Rows.ImportRows(ctx, r.Code, Rows(
			map[string]string{"姓名": "王五", "公民身份号码": id2},
			map[string]string{"姓名": "赵六", "公民身份号码": badID},
			map[string]string{"姓名": "", "公民身份号码": id1, "参保日期": "2020-13-01"},
			map[string]string{"姓名": "钱七", "公民身份号码": id1, "缴费基数": "很多", "身高": "180"},
		), hutong.ImportAppend)
		wantCode(t, err, hutong.EINVALID)
		wantViolation(t, err, 3, "公民身份号码", "check_digit")
		wantViolation(t, err, 4, "姓名", "required")
		wantViolation(t, err, 4, "参保日期", "")
		wantViolation(t, err, 5, "缴费基数", "")
		wantViolation(t, err, 5, "身高", "unknown_item")
		if got, _ := s.Catalog.Resource(ctx, r.Code); got.Rows != 2 {
			t.Errorf("a rejected import changed the rows to %d", got.Rows)
		}
	})

	t.Run("rejects", func(t *testing.T) {
		_, err := s.Rows.ImportRows(As(context.Background(), bj.ID, hutong.RoleSteward), r.Code, rows(), "")
		wantCode(t, err, hutong.EFORBIDDEN)
		_, err = s.Rows.ImportRows(ctx, "NO-SUCH", rows(), "")
		wantCode(t, err, hutong.ENOTFOUND)
		_, err = s.Rows.ImportRows(ctx, r.Code, rows(), "merge")
		wantCode(t, err, hutong.EINVALID)
		_, err = s.Rows.ImportRows(ctx, r.Code, Rows(), "")
		wantCode(t, err, hutong.EINVALID)
		node := AirResource("130000-HBHJ-06", hb.ID)
		node.Hosted = hutong.HostedNode
		if err := s.Catalog.PublishResource(ctx, node); err != nil {
			t.Fatal(err)
		}
		_, err = s.Rows.ImportRows(ctx, node.Code, Rows(map[string]string{"监测站点编码": "1001A", "监测时间": "2026-10-01T00:00:00Z"}), "")
		wantCode(t, err, hutong.ECONFLICT)
	})

	t.Run("many rows", func(t *testing.T) {
		air := AirResource("130000-HBHJ-05", hb.ID)
		if err := s.Catalog.PublishResource(ctx, air); err != nil {
			t.Fatal(err)
		}
		var many []map[string]string
		for i := range 2345 {
			many = append(many, map[string]string{"监测站点编码": fmt.Sprintf("%dA", 1001+i%20),
				"监测时间": time.Date(2026, 10, 1, i/20, 0, 0, 0, time.UTC).Format(time.RFC3339),
				"AQI":  fmt.Sprint(i % 300), "PM2.5": fmt.Sprintf("%d.%d", i%200, i%10)})
		}
		res, err := s.Rows.ImportRows(ctx, air.Code, Rows(many...), "")
		if err != nil || res.TotalRows != 2345 {
			t.Fatalf("ImportRows(2345 rows) = %+v, %v", res, err)
		}
	})
}

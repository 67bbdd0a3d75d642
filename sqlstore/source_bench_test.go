package sqlstore_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlite"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/standard"
)

// benchRowCount is the size of the benchmarks' row table: large enough
// that a lookup goes through an index, small enough to load in a second.
const benchRowCount = 20_000

// benchRows yields benchRowCount rows of a company register.
type benchRows struct{ i int }

func benchUSCC(i int) string {
	first17 := fmt.Sprintf("91120101%09d", i)
	c, _ := standard.USCCCheck(first17)
	return first17 + string(c)
}

func (r *benchRows) Next() (int, map[string]string, error) {
	if r.i == benchRowCount {
		return 0, nil, io.EOF
	}
	i := r.i
	r.i++
	return r.i, map[string]string{
		"统一社会信用代码": benchUSCC(i),
		"企业名称":     "天津" + strconv.Itoa(i) + "号科技有限公司",
		"法定代表人":    "张" + string(rune('一'+i%20)) + "明",
		"注册资本":     strconv.Itoa(10+i%100000) + ".50",
		"成立日期":     time.Date(1995+i%30, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
	}, nil
}

// BenchmarkRowsRead measures the exchange's read of hub-held rows:
// planning, the prepared statement from the cache, scanning and decoding.
// "lookup" is the exchange's hot path (one row by an indexed identifier);
// "conditions" plans more (in, a prefix, a date range, keyset paging)
// where the index still finds the rows, so planning shows.
func BenchmarkRowsRead(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "h.db"), sqlstore.Options{Members: []string{"120000"}})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	admin := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "bench", Roles: []hutong.Role{hutong.RoleAdmin}}})
	first17 := "11120000" + "00000001X"
	c, err := standard.USCCCheck(first17)
	if err != nil {
		b.Fatal(err)
	}
	dept := &hutong.Department{ID: first17 + string(c), Name: "天津市市场监督管理委员会", Region: "120000"}
	if err := sqlstore.NewDirectory(db).CreateDepartment(admin, dept); err != nil {
		b.Fatal(err)
	}
	res := &hutong.Resource{Code: "120000-D00000001-01", Name: "企业登记信息", Provider: dept.ID, Summary: "benchmark",
		ShareType: hutong.ShareUnconditional, UpdateCycle: "daily", Items: []hutong.Item{
			{Name: "统一社会信用代码", Element: "uscc", Required: true}, {Name: "企业名称", Element: "org_name"},
			{Name: "法定代表人", Element: "person_name"}, {Name: "注册资本", Element: "amount"},
			{Name: "成立日期", Element: "date"}}}
	if err := sqlstore.NewCatalog(db).PublishResource(admin, res); err != nil {
		b.Fatal(err)
	}
	rows := sqlstore.NewRows(db)
	if _, err := rows.ImportRows(admin, res.Code, &benchRows{}, hutong.ImportReplace); err != nil {
		b.Fatal(err)
	}
	fields := []string{"统一社会信用代码", "企业名称", "法定代表人", "注册资本", "成立日期"}
	tests := []struct {
		name  string
		query func(i int) hutong.SourceQuery
	}{
		{"lookup", func(i int) hutong.SourceQuery {
			return hutong.SourceQuery{Fields: fields, Limit: 1, Where: []hutong.Condition{
				{Field: "统一社会信用代码", Op: hutong.OpEq, Values: []string{benchUSCC(i % benchRowCount)}}}}
		}},
		{"conditions", func(i int) hutong.SourceQuery {
			return hutong.SourceQuery{Fields: fields, After: 1, Limit: 20, Where: []hutong.Condition{
				{Field: "统一社会信用代码", Op: hutong.OpIn, Values: []string{benchUSCC(i % benchRowCount), benchUSCC((i + 1) % benchRowCount), benchUSCC((i + 2) % benchRowCount)}},
				{Field: "企业名称", Op: hutong.OpPrefix, Values: []string{"天津"}},
				{Field: "成立日期", Op: hutong.OpGte, Values: []string{"1990-01-01"}},
				{Field: "成立日期", Op: hutong.OpLt, Values: []string{"2030-01-01"}},
				{Field: "注册资本", Op: hutong.OpGt, Values: []string{"1.5"}}}}
		}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				err := rows.Read(ctx, res, tt.query(i), func(hutong.SourceRow) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				i += 7919
			}
		})
	}
}

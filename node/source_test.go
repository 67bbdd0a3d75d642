package node

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/internal/testenv"
	"github.com/hutong/hutong/standard"
)

// colType is the type of a fixture column, mapped to each backend's own.
type colType int

const (
	colText    colType = iota
	colInteger         // BIGINT
	colDecimal         // NUMERIC(14,2) / DECIMAL(14,2) / REAL
	colDate            // DATE
	colInstant         // TIMESTAMPTZ / TIMESTAMP / DATETIME text
	colNaive           // TIMESTAMP / DATETIME / DATETIME text: China Standard Time wall clock
	colBool            // BOOLEAN / TINYINT(1) / BOOLEAN
)

type fixtureColumn struct {
	name string
	typ  colType
}

// fixture is a table: row i has key i+1; values are canonical text, ""
// for a missing value (NULL, or ” in text columns).
type fixture struct {
	columns []fixtureColumn
	rows    [][]string
}

// backend creates a source's data in one engine and returns the
// configuration (without items) of a source over it.
type backend struct {
	name   string
	create func(t *testing.T, f fixture) SourceConfig
}

var tableSeq atomic.Int64

func tableName() string {
	return fmt.Sprintf("node_src_%d_%d", time.Now().UnixNano()%1_000_000_000, tableSeq.Add(1))
}

func backends() []backend {
	return []backend{
		{"postgres", createPostgres},
		{"mysql", createMySQL},
		{"sqlite", createSQLite},
		{"csv", createCSV},
	}
}

func mustDB(t testing.TB, db *sql.DB, err error) *sql.DB {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func createPostgres(t *testing.T, f fixture) SourceConfig {
	t.Helper()
	dsn := testenv.Postgres.Need(t)
	db, err := sql.Open("pgx", dsn)
	db = mustDB(t, db, err)
	types := map[colType]string{colText: "TEXT", colInteger: "BIGINT", colDecimal: "NUMERIC(14,2)", colDate: "DATE",
		colInstant: "TIMESTAMPTZ", colNaive: "TIMESTAMP", colBool: "BOOLEAN"}
	name := tableName()
	fill(t, db, DriverPostgres, name, "INTEGER PRIMARY KEY", types, "", f, func(c colType, v string) any {
		switch c {
		case colInteger:
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		case colDecimal:
			x, _ := strconv.ParseFloat(v, 64)
			return x
		case colDate:
			d, _ := time.Parse(time.DateOnly, v)
			return d
		case colInstant:
			d, _ := time.Parse(time.RFC3339, v)
			return d
		case colNaive:
			d, _ := time.Parse(time.RFC3339, v)
			return d.In(chinaTime) // pgx sends the wall clock of a TIMESTAMP
		case colBool:
			return v == "true"
		}
		return v
	})
	return SourceConfig{Driver: DriverPostgres, DSN: dsn, Table: "public." + name, Key: "id"}
}

func createMySQL(t *testing.T, f fixture) SourceConfig {
	t.Helper()
	dsn := testenv.MySQL.Need(t)
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	mc.Params = map[string]string{"time_zone": "'+08:00'"}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		t.Fatal(err)
	}
	db := mustDB(t, sql.OpenDB(conn), nil)
	types := map[colType]string{colText: "VARCHAR(255)", colInteger: "BIGINT", colDecimal: "DECIMAL(14,2)", colDate: "DATE",
		colInstant: "TIMESTAMP NULL DEFAULT NULL", colNaive: "DATETIME", colBool: "TINYINT(1)"}
	name := tableName()
	fill(t, db, DriverMySQL, name, "INT PRIMARY KEY", types, " DEFAULT CHARSET=utf8mb4", f, func(c colType, v string) any {
		switch c {
		case colInteger:
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		case colDecimal:
			x, _ := strconv.ParseFloat(v, 64)
			return x
		case colInstant, colNaive:
			d, _ := time.Parse(time.RFC3339, v)
			return d.In(chinaTime).Format(time.DateTime) // the session is at +08:00
		case colBool:
			if v == "true" {
				return int64(1)
			}
			return int64(0)
		}
		return v
	})
	return SourceConfig{Driver: DriverMySQL, DSN: dsn, Table: name, Key: "id"}
}

func createSQLite(t *testing.T, f fixture) SourceConfig {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dept.db")
	db, err := sql.Open("sqlite", path)
	db = mustDB(t, db, err)
	types := map[colType]string{colText: "TEXT", colInteger: "INTEGER", colDecimal: "REAL", colDate: "DATE",
		colInstant: "DATETIME", colNaive: "DATETIME", colBool: "BOOLEAN"}
	name := tableName()
	fill(t, db, DriverSQLite, name, "INTEGER PRIMARY KEY", types, "", f, func(c colType, v string) any {
		switch c {
		case colInteger:
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		case colDecimal:
			x, _ := strconv.ParseFloat(v, 64)
			return x
		case colNaive:
			d, _ := time.Parse(time.RFC3339, v)
			return d.In(chinaTime).Format(time.DateTime)
		case colBool:
			if v == "true" {
				return int64(1)
			}
			return int64(0)
		}
		return v
	})
	db.Close()
	return SourceConfig{Driver: DriverSQLite, DSN: path, Table: name, Key: "id"}
}

// createCSV writes the fixture as a department would: dates and times in
// the forms people type, yes/no as 是/否.
func createCSV(t *testing.T, f fixture) SourceConfig {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dept.csv")
	var b strings.Builder
	w := csv.NewWriter(&b)
	header := []string{"id"}
	for _, c := range f.columns {
		header = append(header, c.name)
	}
	w.Write(header)
	for i, r := range f.rows {
		rec := []string{strconv.Itoa(i + 1)}
		for j, v := range r {
			if v != "" {
				switch f.columns[j].typ {
				case colInstant:
					d, _ := time.Parse(time.RFC3339, v)
					v = d.In(chinaTime).Format(time.RFC3339)
				case colNaive:
					d, _ := time.Parse(time.RFC3339, v)
					v = d.In(chinaTime).Format(time.DateTime)
				case colBool:
					v = map[string]string{"true": "是", "false": "否"}[v]
				}
			}
			rec = append(rec, v)
		}
		w.Write(rec)
	}
	w.Flush()
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return SourceConfig{Driver: DriverCSV, File: path}
}

// fill creates table name and inserts f's rows, last first, so that only
// ORDER BY puts them in key order. Missing values are NULL, or ” in text
// columns (empty text is a missing value too).
func fill(t *testing.T, db *sql.DB, drv, name, keyType string, types map[colType]string, suffix string, f fixture, arg func(colType, string) any) {
	t.Helper()
	ctx := context.Background()
	q := func(s string) string { return quoteIdent(drv, s) }
	cols := []string{q("id") + " " + keyType}
	names := []string{q("id")}
	for _, c := range f.columns {
		cols = append(cols, q(c.name)+" "+types[c.typ])
		names = append(names, q(c.name))
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+q(name)+" ("+strings.Join(cols, ", ")+")"+suffix); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if drv == DriverSQLite {
			return // the file goes with t.TempDir
		}
		if _, err := db.ExecContext(context.Background(), "DROP TABLE "+q(name)); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	phs := make([]string, len(names))
	for i := range phs {
		phs[i] = "?"
		if drv == DriverPostgres {
			phs[i] = "$" + strconv.Itoa(i+1)
		}
	}
	ins := "INSERT INTO " + q(name) + " (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(phs, ", ") + ")"
	for i := len(f.rows) - 1; i >= 0; i-- {
		args := []any{int64(i + 1)}
		for j, v := range f.rows[i] {
			switch {
			case f.columns[j].typ == colText:
				args = append(args, v)
			case v == "":
				args = append(args, nil)
			default:
				args = append(args, arg(f.columns[j].typ, v))
			}
		}
		if _, err := db.ExecContext(ctx, ins, args...); err != nil {
			t.Fatalf("insert row %d: %v", i+1, err)
		}
	}
}

// citizenID completes a 17-character prefix with its check character.
func citizenID(t testing.TB, first17 string) string {
	t.Helper()
	c, err := standard.CitizenIDCheck(first17)
	if err != nil {
		t.Fatal(err)
	}
	return first17 + string(c)
}

// The shared fixture: a department's register of people.
var peopleColumns = []fixtureColumn{
	{"xm", colText}, {"sfzh", colText}, {"sl", colInteger}, {"je", colDecimal}, {"csrq", colDate},
	{"djsj", colInstant}, {"gxsj", colNaive}, {"zz", colBool}, {"dz", colText}, {"rqwb", colText}, {"sjwb", colText},
}

var peopleItems = []ItemColumn{
	{Name: "姓名", Column: "xm", Element: "person_name"},
	{Name: "身份证号", Column: "sfzh", Element: "citizen_id", Required: true},
	{Name: "数量", Column: "sl", Element: "count"},
	{Name: "金额", Column: "je", Element: "amount"},
	{Name: "出生日期", Column: "csrq", Element: "date"},
	{Name: "登记时间", Column: "djsj", Element: "datetime"},
	{Name: "更新时间", Column: "gxsj", Element: "datetime"},
	{Name: "在职", Column: "zz", Element: "flag"},
	{Name: "地址", Column: "dz", Element: "address"},
	{Name: "文本日期", Column: "rqwb", Element: "date"},     // ISO dates in a text column
	{Name: "文本时间", Column: "sjwb", Element: "datetime"}, // RFC 3339 UTC in a text column
}

const injected = "河北省石家庄市'; DROP TABLE x; --"
const quoted = `it's "quoted", with commas`

func peopleFixture(t testing.TB) fixture {
	return fixture{columns: peopleColumns, rows: [][]string{
		{"张三", citizenID(t, "11010119900307001"), "3", "1234.5", "1990-03-07", "2024-03-01T20:00:00Z", "2024-03-01T20:00:00Z", "true", "北京市东城区景山前街4号", "2024-01-15", "2024-01-15T00:00:00Z"},
		{"李四", citizenID(t, "11010219851231002"), "0", "0.01", "1985-12-31", "2024-03-01T15:59:59Z", "2024-03-01T16:00:00Z", "false", "北京市西城区金融街1号", "2024-02-29", "2024-02-29T23:59:59Z"},
		{"", citizenID(t, "12010119700101003"), "", "", "", "", "", "", "天津市和平区南京路", "", ""},
		{"买买提·艾力", citizenID(t, "13010220000229004"), "120", "99999.99", "2000-02-29", "2023-12-31T16:00:00Z", "2024-01-01T00:00:00Z", "true", injected, "2023-12-31", "2023-12-31T16:00:00Z"},
		{"王五", citizenID(t, "11010519700101005"), "7", "-20.25", "1970-01-01", "2024-06-30T12:00:00Z", "2024-06-30T12:00:00Z", "false", "北京_市测试50%路", "2024-06-30", "2024-06-30T12:00:00Z"},
		{"Anna Li", citizenID(t, "11010119951010006"), "42", "7", "1995-10-10", "2024-03-02T00:00:00Z", "2024-03-02T00:00:00Z", "", quoted, "2024-03-02", "2024-03-02T00:00:00Z"},
	}}
}

// want returns the canonical values of the fixture's row key for fields.
func (f fixture) want(t testing.TB, items []ItemColumn, key int64, fields []string) []any {
	t.Helper()
	out := make([]any, len(fields))
	for i, name := range fields {
		for j, ic := range items {
			if ic.Name != name {
				continue
			}
			text := f.rows[key-1][j]
			if text == "" {
				break
			}
			el, _ := standard.LookupElement(ic.Element)
			v, err := standard.Parse(el, text)
			if err != nil {
				t.Fatalf("fixture row %d %s: %v", key, name, err)
			}
			out[i] = v
		}
	}
	return out
}

func itemNames(items []ItemColumn) []string {
	var out []string
	for _, ic := range items {
		out = append(out, ic.Name)
	}
	return out
}

func open(t *testing.T, cfg SourceConfig) LocalSource {
	t.Helper()
	s, err := OpenSource(context.Background(), cfg)
	if err != nil {
		t.Fatalf("OpenSource: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func readAll(t *testing.T, s LocalSource, q hutong.SourceQuery) ([]hutong.SourceRow, error) {
	t.Helper()
	var rows []hutong.SourceRow
	err := s.Read(context.Background(), q, func(r hutong.SourceRow) error {
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

func keys(rows []hutong.SourceRow) []int64 {
	out := []int64{}
	for _, r := range rows {
		out = append(out, r.Key)
	}
	return out
}

func cond(field string, op hutong.Op, values ...string) hutong.Condition {
	return hutong.Condition{Field: field, Op: op, Values: values}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := hutong.ErrorCode(err); got != code {
		t.Fatalf("got error %v (code %q), want code %q", err, got, code)
	}
}

// TestSources runs one suite against every engine a node reads.
func TestSources(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { testSource(t, b) })
	}
}

func testSource(t *testing.T, b backend) {
	f := peopleFixture(t)
	cfg := b.create(t, f)
	cfg.Items = peopleItems
	s := open(t, cfg)
	all := itemNames(peopleItems)

	t.Run("read", func(t *testing.T) {
		tests := []struct {
			name   string
			fields []string
			where  []hutong.Condition
			after  int64
			limit  int
			want   []int64
		}{
			{"all rows typed", all, nil, 0, 0, []int64{1, 2, 3, 4, 5, 6}},
			{"projection order", []string{"文本时间", "地址", "在职", "姓名"}, nil, 0, 0, []int64{1, 2, 3, 4, 5, 6}},
			{"no fields", nil, nil, 0, 0, []int64{1, 2, 3, 4, 5, 6}},
			{"eq chinese", all, []hutong.Condition{cond("姓名", hutong.OpEq, "张三")}, 0, 0, []int64{1}},
			{"eq middle dot", all, []hutong.Condition{cond("姓名", hutong.OpEq, "买买提·艾力")}, 0, 0, []int64{4}},
			{"eq citizen id", all, []hutong.Condition{cond("身份证号", hutong.OpEq, f.rows[4][1])}, 0, 0, []int64{5}},
			{"in integer", all, []hutong.Condition{cond("数量", hutong.OpIn, "0", "7", "999")}, 0, 0, []int64{2, 5}},
			{"in names", all, []hutong.Condition{cond("姓名", hutong.OpIn, "张三", "买买提·艾力")}, 0, 0, []int64{1, 4}},
			{"gt integer", all, []hutong.Condition{cond("数量", hutong.OpGt, "3")}, 0, 0, []int64{4, 5, 6}},
			{"lte integer", all, []hutong.Condition{cond("数量", hutong.OpLte, "3")}, 0, 0, []int64{1, 2}},
			{"null never matches", all, []hutong.Condition{cond("数量", hutong.OpLt, "1000000")}, 0, 0, []int64{1, 2, 4, 5, 6}},
			{"gte decimal", all, []hutong.Condition{cond("金额", hutong.OpGte, "1234.5")}, 0, 0, []int64{1, 4}},
			{"lt decimal", all, []hutong.Condition{cond("金额", hutong.OpLt, "0")}, 0, 0, []int64{5}},
			{"eq decimal", all, []hutong.Condition{cond("金额", hutong.OpEq, "0.01")}, 0, 0, []int64{2}},
			{"eq decimal whole", all, []hutong.Condition{cond("金额", hutong.OpEq, "7")}, 0, 0, []int64{6}},
			{"lt date", all, []hutong.Condition{cond("出生日期", hutong.OpLt, "1986-01-01")}, 0, 0, []int64{2, 5}},
			{"gte date", all, []hutong.Condition{cond("出生日期", hutong.OpGte, "2000-02-29")}, 0, 0, []int64{4}},
			{"eq date", all, []hutong.Condition{cond("出生日期", hutong.OpEq, "1990-03-07")}, 0, 0, []int64{1}},
			{"gte datetime", all, []hutong.Condition{cond("登记时间", hutong.OpGte, "2024-03-01T20:00:00Z")}, 0, 0, []int64{1, 5, 6}},
			{"lt datetime", all, []hutong.Condition{cond("登记时间", hutong.OpLt, "2024-03-01T16:00:00Z")}, 0, 0, []int64{2, 4}},
			{"eq datetime", all, []hutong.Condition{cond("登记时间", hutong.OpEq, "2024-03-01T15:59:59Z")}, 0, 0, []int64{2}},
			{"gte naive datetime", all, []hutong.Condition{cond("更新时间", hutong.OpGte, "2024-03-01T16:00:00Z")}, 0, 0, []int64{1, 2, 5, 6}},
			{"lt naive datetime", all, []hutong.Condition{cond("更新时间", hutong.OpLt, "2024-01-01T00:00:00Z")}, 0, 0, []int64{}},
			{"lte naive datetime", all, []hutong.Condition{cond("更新时间", hutong.OpLte, "2024-01-01T00:00:00Z")}, 0, 0, []int64{4}},
			{"lte text date", all, []hutong.Condition{cond("文本日期", hutong.OpLte, "2024-01-15")}, 0, 0, []int64{1, 4}},
			{"gt text date", all, []hutong.Condition{cond("文本日期", hutong.OpGt, "2024-02-29")}, 0, 0, []int64{5, 6}},
			{"gt text datetime", all, []hutong.Condition{cond("文本时间", hutong.OpGt, "2024-01-15T00:00:00Z")}, 0, 0, []int64{2, 5, 6}},
			{"lt text datetime", all, []hutong.Condition{cond("文本时间", hutong.OpLt, "2024-01-01T00:00:00Z")}, 0, 0, []int64{4}},
			{"eq boolean true", all, []hutong.Condition{cond("在职", hutong.OpEq, "true")}, 0, 0, []int64{1, 4}},
			{"eq boolean false", all, []hutong.Condition{cond("在职", hutong.OpEq, "false")}, 0, 0, []int64{2, 5}},
			{"prefix chinese", all, []hutong.Condition{cond("地址", hutong.OpPrefix, "北京")}, 0, 0, []int64{1, 2, 5}},
			{"prefix longer", all, []hutong.Condition{cond("地址", hutong.OpPrefix, "北京市")}, 0, 0, []int64{1, 2}},
			{"prefix underscore literal", all, []hutong.Condition{cond("地址", hutong.OpPrefix, "北京_")}, 0, 0, []int64{5}},
			{"prefix percent literal", all, []hutong.Condition{cond("地址", hutong.OpPrefix, "北京_市测试50%")}, 0, 0, []int64{5}},
			{"prefix wildcard alone", all, []hutong.Condition{cond("地址", hutong.OpPrefix, "%")}, 0, 0, []int64{}},
			{"prefix escape char", all, []hutong.Condition{cond("地址", hutong.OpPrefix, "!")}, 0, 0, []int64{}},
			{"prefix name", all, []hutong.Condition{cond("姓名", hutong.OpPrefix, "买买提")}, 0, 0, []int64{4}},
			{"condition on a column not selected", []string{"身份证号"}, []hutong.Condition{cond("数量", hutong.OpGt, "3")}, 0, 0, []int64{4, 5, 6}},
			{"two conditions", []string{"地址"}, []hutong.Condition{cond("地址", hutong.OpPrefix, "北京"), cond("在职", hutong.OpEq, "false")}, 0, 0, []int64{2, 5}},
			{"value with sql", all, []hutong.Condition{cond("地址", hutong.OpEq, injected)}, 0, 0, []int64{4}},
			{"value with quotes", all, []hutong.Condition{cond("地址", hutong.OpEq, quoted)}, 0, 0, []int64{6}},
			{"tautology is a value", all, []hutong.Condition{cond("地址", hutong.OpEq, "' OR '1'='1")}, 0, 0, []int64{}},
			{"in with sql", all, []hutong.Condition{cond("地址", hutong.OpIn, "x') OR 1=1 --", "天津市和平区南京路")}, 0, 0, []int64{3}},
			{"prefix with sql", all, []hutong.Condition{cond("地址", hutong.OpPrefix, "河北省石家庄市'")}, 0, 0, []int64{4}},
			{"after and limit", all, nil, 2, 2, []int64{3, 4}},
			{"after the last", all, nil, 6, 0, []int64{}},
			{"after beyond", all, nil, 100, 5, []int64{}},
			{"limit with condition", all, []hutong.Condition{cond("地址", hutong.OpPrefix, "北京")}, 1, 1, []int64{2}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rows, err := readAll(t, s, hutong.SourceQuery{Fields: tt.fields, Where: tt.where, After: tt.after, Limit: tt.limit})
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				if got := keys(rows); !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got keys %v, want %v", got, tt.want)
				}
				for _, r := range rows {
					want := f.want(t, peopleItems, r.Key, tt.fields)
					if !reflect.DeepEqual(r.Values, want) {
						t.Errorf("row %d: got %#v, want %#v", r.Key, r.Values, want)
					}
				}
			})
		}
	})

	t.Run("paging", func(t *testing.T) {
		for _, tt := range []struct {
			limit int
			where []hutong.Condition
			want  []int64
		}{
			{1, nil, []int64{1, 2, 3, 4, 5, 6}},
			{2, nil, []int64{1, 2, 3, 4, 5, 6}},
			{4, nil, []int64{1, 2, 3, 4, 5, 6}},
			{1, []hutong.Condition{cond("地址", hutong.OpPrefix, "北京")}, []int64{1, 2, 5}},
			{2, []hutong.Condition{cond("数量", hutong.OpGte, "0")}, []int64{1, 2, 4, 5, 6}},
		} {
			t.Run(fmt.Sprintf("limit %d where %d", tt.limit, len(tt.where)), func(t *testing.T) {
				var got []int64
				after := int64(0)
				for pages := 0; ; pages++ {
					if pages > 10 {
						t.Fatal("paging does not end")
					}
					rows, err := readAll(t, s, hutong.SourceQuery{Fields: []string{"姓名"}, Where: tt.where, After: after, Limit: tt.limit})
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, keys(rows)...)
					if len(rows) < tt.limit {
						break
					}
					after = rows[len(rows)-1].Key
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got keys %v, want %v", got, tt.want)
				}
			})
		}
	})

	t.Run("count", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			q    hutong.SourceQuery
			want int64
		}{
			{"all", hutong.SourceQuery{}, 6},
			{"prefix", hutong.SourceQuery{Where: []hutong.Condition{cond("地址", hutong.OpPrefix, "北京")}}, 3},
			{"ignores after and limit", hutong.SourceQuery{Where: []hutong.Condition{cond("地址", hutong.OpPrefix, "北京")}, After: 3, Limit: 1}, 3},
			{"integer range", hutong.SourceQuery{Where: []hutong.Condition{cond("数量", hutong.OpGt, "3")}}, 3},
			{"null excluded", hutong.SourceQuery{Where: []hutong.Condition{cond("数量", hutong.OpLt, "1000000")}}, 5},
			{"datetime", hutong.SourceQuery{Where: []hutong.Condition{cond("登记时间", hutong.OpGte, "2024-03-01T20:00:00Z")}}, 3},
			{"sql in value", hutong.SourceQuery{Where: []hutong.Condition{cond("地址", hutong.OpEq, "' OR 1=1 --")}}, 0},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.Count(context.Background(), tt.q)
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Fatalf("got %d, want %d", got, tt.want)
				}
			})
		}
	})

	t.Run("bad queries", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			q    hutong.SourceQuery
		}{
			{"unknown field", hutong.SourceQuery{Fields: []string{"密码"}}},
			{"field with sql", hutong.SourceQuery{Fields: []string{"xm; DROP TABLE t"}}},
			{"condition on unknown item", hutong.SourceQuery{Where: []hutong.Condition{cond("xm", hutong.OpEq, "张三")}}},
			{"not an integer", hutong.SourceQuery{Where: []hutong.Condition{cond("数量", hutong.OpEq, "1 OR 1=1")}}},
			{"prefix on integer", hutong.SourceQuery{Where: []hutong.Condition{cond("数量", hutong.OpPrefix, "1")}}},
			{"range on text", hutong.SourceQuery{Where: []hutong.Condition{cond("地址", hutong.OpGt, "a")}}},
			{"unknown operator", hutong.SourceQuery{Where: []hutong.Condition{cond("地址", "like", "%")}}},
			{"empty in", hutong.SourceQuery{Where: []hutong.Condition{cond("数量", hutong.OpIn)}}},
			{"negative limit", hutong.SourceQuery{Limit: -1}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := readAll(t, s, tt.q)
				wantCode(t, err, hutong.EINVALID)
				_, err = s.Count(context.Background(), tt.q)
				wantCode(t, err, hutong.EINVALID)
			})
		}
	})

	t.Run("yield error stops", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := s.Read(context.Background(), hutong.SourceQuery{Fields: all}, func(hutong.SourceRow) error {
			n++
			return stop
		})
		if !errors.Is(err, stop) || n != 1 {
			t.Fatalf("got %v after %d rows, want stop after 1", err, n)
		}
	})

	t.Run("items", func(t *testing.T) {
		items := s.Items()
		if len(items) != len(peopleItems) {
			t.Fatalf("got %d items, want %d", len(items), len(peopleItems))
		}
		for i, it := range items {
			el, _ := standard.LookupElement(peopleItems[i].Element)
			want := hutong.Item{Name: peopleItems[i].Name, Element: el.ID, Type: el.Type, Masking: el.Masking, Required: peopleItems[i].Required}
			if !reflect.DeepEqual(it, want) {
				t.Errorf("item %d: got %+v, want %+v", i, it, want)
			}
		}
	})

	t.Run("bad values", func(t *testing.T) {
		good := citizenID(t, "11010119900307001")
		broken := good[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", good[17])+1)%11])
		bf := fixture{
			columns: []fixtureColumn{{"sfzh", colText}, {"xm", colText}, {"csrq", colDate}},
			rows: [][]string{
				{good, "张三", "1990-03-07"},
				{broken, "李四", "1985-12-31"},
				{citizenID(t, "11010219851231002"), "王五", ""},
			},
		}
		bcfg := b.create(t, bf)
		bcfg.Items = []ItemColumn{
			{Name: "身份证号", Column: "sfzh", Element: "citizen_id"},
			{Name: "姓名", Column: "xm", Element: "person_name"},
			{Name: "出生日期", Column: "csrq", Element: "date"},
		}
		bs := open(t, bcfg)
		rows, err := readAll(t, bs, hutong.SourceQuery{Fields: []string{"姓名", "出生日期"}})
		if err != nil || len(rows) != 3 {
			t.Fatalf("reading the good columns: got %d rows, %v; want 3 rows", len(rows), err)
		}
		if _, err := readAll(t, bs, hutong.SourceQuery{Fields: []string{"身份证号"}, Limit: 1}); err != nil {
			t.Fatalf("reading before the bad row: %v", err)
		}
		rows, err = readAll(t, bs, hutong.SourceQuery{Fields: []string{"姓名", "身份证号"}})
		wantCode(t, err, hutong.EINTERNAL)
		var he *hutong.Error
		errors.As(err, &he)
		if !strings.Contains(he.Message, "key 2") || !strings.Contains(he.Message, `"sfzh"`) {
			t.Errorf("got message %q, want it to name key 2 and column sfzh", he.Message)
		}
		if strings.Contains(he.Message, broken) {
			t.Errorf("message %q repeats the personal value", he.Message)
		}
		if got := keys(rows); !reflect.DeepEqual(got, []int64{1}) {
			t.Errorf("got keys %v before the error, want [1]", got)
		}
	})

	t.Run("bad configuration", func(t *testing.T) {
		withItems := func(items ...ItemColumn) SourceConfig {
			c := cfg
			c.Items = items
			return c
		}
		name := ItemColumn{Name: "姓名", Column: "xm", Element: "person_name"}
		tests := []struct {
			name  string
			cfg   SourceConfig
			field string
		}{
			{"unknown driver", SourceConfig{Driver: "oracle", Items: []ItemColumn{name}}, "driver"},
			{"no items", withItems(), "items"},
			{"unknown element", withItems(ItemColumn{Name: "姓名", Column: "xm", Element: "nickname"}), "items[0].element"},
			{"missing column", withItems(ItemColumn{Name: "姓名", Column: "nosuch", Element: "person_name"}), "items[0].column"},
			{"duplicate item names", withItems(name, ItemColumn{Name: "姓名", Column: "dz", Element: "address"}), "items[1].name"},
			{"empty item name", withItems(ItemColumn{Column: "xm", Element: "person_name"}), "items[0].name"},
		}
		if cfg.Driver == DriverCSV {
			tests = append(tests, []struct {
				name  string
				cfg   SourceConfig
				field string
			}{
				{"csv with key", func() SourceConfig { c := withItems(name); c.Key = "id"; return c }(), "key"},
				{"csv with table", func() SourceConfig { c := withItems(name); c.Table = "t"; return c }(), "table"},
				{"missing file", func() SourceConfig { c := withItems(name); c.File += ".missing"; return c }(), "file"},
				{"no file", func() SourceConfig { c := withItems(name); c.File = ""; return c }(), "file"},
			}...)
		} else {
			with := func(edit func(*SourceConfig)) SourceConfig {
				c := withItems(name)
				edit(&c)
				return c
			}
			tests = append(tests, []struct {
				name  string
				cfg   SourceConfig
				field string
			}{
				{"table with quote", with(func(c *SourceConfig) { c.Table = `x"; DROP TABLE y; --` }), "table"},
				{"table with backtick", with(func(c *SourceConfig) { c.Table = "x`; DROP TABLE y; --" }), "table"},
				{"table with space", with(func(c *SourceConfig) { c.Table = "x y" }), "table"},
				{"table with semicolon", with(func(c *SourceConfig) { c.Table = "x;DELETE" }), "table"},
				{"table with comment", with(func(c *SourceConfig) { c.Table = "x--" }), "table"},
				{"table three parts", with(func(c *SourceConfig) { c.Table = "a.b.c" }), "table"},
				{"table empty part", with(func(c *SourceConfig) { c.Table = "public." }), "table"},
				{"table unicode", with(func(c *SourceConfig) { c.Table = "人员" }), "table"},
				{"table missing", with(func(c *SourceConfig) { c.Table = "no_such_table_here" }), "table"},
				{"no table", with(func(c *SourceConfig) { c.Table = "" }), "table"},
				{"key with sql", with(func(c *SourceConfig) { c.Key = "id) OR (1=1" }), "key"},
				{"no key", with(func(c *SourceConfig) { c.Key = "" }), "key"},
				{"key not integer", with(func(c *SourceConfig) { c.Key = "xm" }), "key"},
				{"key missing", with(func(c *SourceConfig) { c.Key = "nosuch" }), "key"},
				{"no dsn", with(func(c *SourceConfig) { c.DSN = "" }), "dsn"},
				{"file on sql", with(func(c *SourceConfig) { c.File = "x.csv" }), "file"},
				{"column with sql", withItems(ItemColumn{Name: "姓名", Column: "xm, (SELECT 1)", Element: "person_name"}), "items[0].column"},
				{"column with quote", withItems(ItemColumn{Name: "姓名", Column: `xm"`, Element: "person_name"}), "items[0].column"},
				{"column too long", withItems(ItemColumn{Name: "姓名", Column: strings.Repeat("x", 64), Element: "person_name"}), "items[0].column"},
				{"integer item on text", withItems(ItemColumn{Name: "数量", Column: "xm", Element: "count"}), "items[0].column"},
				{"date item on integer", withItems(ItemColumn{Name: "日期", Column: "sl", Element: "date"}), "items[0].column"},
			}...)
			if cfg.Driver != DriverSQLite { // SQLite's DATE columns hold text
				tests = append(tests, struct {
					name  string
					cfg   SourceConfig
					field string
				}{"text item on date", withItems(ItemColumn{Name: "地址", Column: "csrq", Element: "address"}), "items[0].column"})
			}
			if cfg.Driver != DriverPostgres {
				tests = append(tests, struct {
					name  string
					cfg   SourceConfig
					field string
				}{"qualified table", with(func(c *SourceConfig) { c.Table = "main." + cfg.Table }), "table"})
			}
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				src, err := OpenSource(context.Background(), tt.cfg)
				if err == nil {
					src.Close()
				}
				wantCode(t, err, hutong.EINVALID)
				fields := []string{}
				for _, v := range hutong.ErrorDetails(err) {
					fields = append(fields, v.Field)
				}
				found := false
				for _, f := range fields {
					found = found || f == tt.field
				}
				if !found {
					t.Errorf("got violations of %v (%v), want one of %s", fields, err, tt.field)
				}
			})
		}
		// The table survived every attempt.
		if n, err := s.Count(context.Background(), hutong.SourceQuery{}); err != nil || n != 6 {
			t.Fatalf("after the attempts: got %d rows, %v; want 6", n, err)
		}
	})
}

// TestCSVEncodings checks that a GB18030 file (Excel on Chinese Windows)
// and a UTF-8 file with a byte-order mark read the same.
func TestCSVEncodings(t *testing.T) {
	text := "编号,姓名,地址\r\n1,张三,北京市东城区\r\n2,欧阳娜娜,\"天津市和平区,南京路\"\r\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		data string
	}{
		{"utf-8", text},
		{"utf-8 with bom", "\xef\xbb\xbf" + text},
		{"gb18030", gb},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.csv")
			if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			s := open(t, SourceConfig{Driver: DriverCSV, File: path, Items: []ItemColumn{
				{Name: "姓名", Column: "姓名", Element: "person_name"},
				{Name: "地址", Column: "地址", Element: "address"},
			}})
			rows, err := readAll(t, s, hutong.SourceQuery{Fields: []string{"地址", "姓名"}})
			if err != nil {
				t.Fatal(err)
			}
			want := []hutong.SourceRow{
				{Key: 1, Values: []any{"北京市东城区", "张三"}},
				{Key: 2, Values: []any{"天津市和平区,南京路", "欧阳娜娜"}},
			}
			if !reflect.DeepEqual(rows, want) {
				t.Fatalf("got %v, want %v", rows, want)
			}
		})
	}
}

// TestCSVFile covers what only files do: short records, quoted line
// breaks, blank lines, bad cells with their line, a broken file, and a file
// replaced while the node runs.
func TestCSVFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.csv")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("地址,数量,备注\n\"北京市\n东城区\",3\n\n天津市,abc,x\n河北省,5,y,extra\n")
	s := open(t, SourceConfig{Driver: DriverCSV, File: path, Items: []ItemColumn{
		{Name: "地址", Column: "地址", Element: "text"},
		{Name: "数量", Column: "数量", Element: "count"},
	}})

	rows, err := readAll(t, s, hutong.SourceQuery{Fields: []string{"地址"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []hutong.SourceRow{{Key: 1, Values: []any{"北京市\n东城区"}}, {Key: 2, Values: []any{"天津市"}}, {Key: 3, Values: []any{"河北省"}}}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("got %v, want %v", rows, want)
	}

	_, err = readAll(t, s, hutong.SourceQuery{Fields: []string{"数量"}})
	wantCode(t, err, hutong.EINTERNAL)
	if msg := err.(*hutong.Error).Message; !strings.Contains(msg, "key 2 (line 5)") || !strings.Contains(msg, `"数量"`) {
		t.Errorf("got %q, want key 2, line 5 and the column named", msg)
	}
	_, err = s.Count(context.Background(), hutong.SourceQuery{Where: []hutong.Condition{cond("数量", hutong.OpGt, "1")}})
	wantCode(t, err, hutong.EINTERNAL)

	// A replaced file is read again at the next call.
	time.Sleep(10 * time.Millisecond)
	write("地址,数量\n上海市,1\n重庆市,2\n")
	rows, err = readAll(t, s, hutong.SourceQuery{Fields: []string{"地址", "数量"}})
	if err != nil {
		t.Fatal(err)
	}
	want = []hutong.SourceRow{{Key: 1, Values: []any{"上海市", int64(1)}}, {Key: 2, Values: []any{"重庆市", int64(2)}}}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("after the change: got %v, want %v", rows, want)
	}

	// A file that loses a column fails until it is fixed.
	time.Sleep(10 * time.Millisecond)
	write("地址\n上海市\n")
	_, err = readAll(t, s, hutong.SourceQuery{Fields: []string{"地址"}})
	wantCode(t, err, hutong.EINTERNAL)
	time.Sleep(10 * time.Millisecond)
	write("地址,数量\n广州市,9\n")
	if n, err := s.Count(context.Background(), hutong.SourceQuery{}); err != nil || n != 1 {
		t.Fatalf("after the fix: got %d, %v; want 1", n, err)
	}

	for _, tt := range []struct{ name, data string }{
		{"empty file", ""},
		{"broken quoting", "地址,数量\n\"北京,1\n"},
		{"duplicate header", "地址,地址,数量\n1,2,3\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.csv")
			if err := os.WriteFile(p, []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := OpenSource(context.Background(), SourceConfig{Driver: DriverCSV, File: p, Items: []ItemColumn{
				{Name: "地址", Column: "地址", Element: "text"},
			}})
			wantCode(t, err, hutong.EINVALID)
		})
	}
}

// TestCSVConcurrentReads reads one source from many goroutines (run with
// -race).
func TestCSVConcurrentReads(t *testing.T) {
	f := peopleFixture(t)
	cfg := createCSV(t, f)
	cfg.Items = peopleItems
	s := open(t, cfg)
	done := make(chan error)
	for range 8 {
		go func() {
			for range 50 {
				n, err := s.Count(context.Background(), hutong.SourceQuery{Where: []hutong.Condition{cond("地址", hutong.OpPrefix, "北京")}})
				if err == nil && n != 3 {
					err = fmt.Errorf("got %d, want 3", n)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestMySQLConfig(t *testing.T) {
	for _, tt := range []struct {
		dsn      string
		loc      *time.Location
		timeZone string
	}{
		{"root@tcp(127.0.0.1:3306)/test", chinaTime, "'+08:00'"},
		{"root@tcp(127.0.0.1:3306)/test?loc=UTC", time.UTC, ""},
		{"root@tcp(127.0.0.1:3306)/test?time_zone=%27%2B00%3A00%27", time.UTC, "'+00:00'"},
	} {
		t.Run(tt.dsn, func(t *testing.T) {
			mc, err := mysqlConfig(tt.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if !mc.ParseTime || mc.Loc.String() != tt.loc.String() || mc.Params["time_zone"] != tt.timeZone {
				t.Fatalf("got parseTime %v, loc %v, time_zone %q; want true, %v, %q", mc.ParseTime, mc.Loc, mc.Params["time_zone"], tt.loc, tt.timeZone)
			}
		})
	}
	if _, err := mysqlConfig("not a dsn"); err == nil {
		t.Fatal("got no error for a broken dsn")
	}
}

// TestOpenFailures checks how OpenSource reports what it cannot open: a
// DSN that does not parse or a file that is not a database is the
// configuration's fault (EINVALID), a database that does not answer is
// EUNAVAILABLE.
func TestOpenFailures(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notDB, []byte("this is not a database, it is a note about one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	items := []ItemColumn{{Name: "姓名", Column: "xm", Element: "person_name"}}
	for _, tt := range []struct {
		name  string
		cfg   SourceConfig
		code  string
		field string
	}{
		{"postgres dsn does not parse", SourceConfig{Driver: DriverPostgres, DSN: "postgres://[::1", Table: "t", Key: "id"}, hutong.EINVALID, "dsn"},
		{"postgres unreachable", SourceConfig{Driver: DriverPostgres, DSN: "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2", Table: "t", Key: "id"}, hutong.EUNAVAILABLE, ""},
		{"mysql dsn does not parse", SourceConfig{Driver: DriverMySQL, DSN: "root@tcp(127.0.0.1:3306)", Table: "t", Key: "id"}, hutong.EINVALID, "dsn"},
		{"mysql unreachable", SourceConfig{Driver: DriverMySQL, DSN: "root@tcp(127.0.0.1:1)/test?timeout=2s", Table: "t", Key: "id"}, hutong.EUNAVAILABLE, ""},
		{"sqlite file missing", SourceConfig{Driver: DriverSQLite, DSN: filepath.Join(dir, "missing.db"), Table: "t", Key: "id"}, hutong.EINVALID, "dsn"},
		{"sqlite directory", SourceConfig{Driver: DriverSQLite, DSN: dir, Table: "t", Key: "id"}, hutong.EINVALID, "dsn"},
		{"sqlite not a database", SourceConfig{Driver: DriverSQLite, DSN: notDB, Table: "t", Key: "id"}, hutong.EINVALID, "dsn"},
		{"csv directory", SourceConfig{Driver: DriverCSV, File: dir}, hutong.EINVALID, "file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Items = items
			s, err := OpenSource(context.Background(), tt.cfg)
			if err == nil {
				s.Close()
			}
			wantCode(t, err, tt.code)
			if tt.field != "" {
				d := hutong.ErrorDetails(err)
				if len(d) == 0 || d[0].Field != tt.field {
					t.Errorf("got violations %v, want one of %s", d, tt.field)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !os.IsNotExist(err) {
		t.Errorf("opening a missing SQLite file created it (stat: %v)", err)
	}
}

package sqlplan_test

import (
	"reflect"
	"testing"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlplan"
)

// The dialects of the two callers: the hub's row tables (sqlstore) and a
// node's department tables (node).
var (
	hubSQLite      = sqlplan.Dialect{}
	hubPostgres    = sqlplan.Dialect{Dollar: true}
	nodePostgres   = sqlplan.Dialect{Dollar: true, Prefix: sqlplan.PrefixLike, Casts: true}
	nodeMySQL      = sqlplan.Dialect{Prefix: sqlplan.PrefixLike}
	nodeSQLite     = sqlplan.Dialect{Prefix: sqlplan.PrefixSubstr}
	sqliteDateTime = `strftime('%Y-%m-%dT%H:%M:%SZ', "seen", '-8 hours')`
)

// rowTable is a hub row table: bare column names, nothing cast.
var rowTable = &sqlplan.Table{Name: "rows_7", Key: "row_id", Columns: []sqlplan.Column{
	{Name: "c0"}, {Name: "c1"}, {Name: "c2"}, {Name: "c3"},
}}

// people is a department's table as a node describes it.
var people = &sqlplan.Table{Name: `"public"."people"`, Key: `"id"`, PositiveKeys: true, Columns: []sqlplan.Column{
	{Name: `"name"`, EmptyIsMissing: true},
	{Name: `"age"`, Cast: "int8"},
	{Name: `"born"`, Select: `CAST("born" AS TEXT)`, EmptyIsMissing: true},
	{Name: `"seen"`, Compare: sqliteDateTime, EmptyIsMissing: true},
	{Name: `"fee"`, Cast: "numeric"},
}}

func eq(col int, op hutong.Op, vs ...any) sqlplan.Condition {
	return sqlplan.Condition{Column: col, Op: op, Values: vs}
}

func TestSelect(t *testing.T) {
	tests := []struct {
		name    string
		dialect sqlplan.Dialect
		table   *sqlplan.Table
		query   sqlplan.Query
		sql     string
		args    []any
	}{
		{"no conditions", hubSQLite, rowTable, sqlplan.Query{Columns: []int{2, 0}},
			"SELECT row_id, c2, c0 FROM rows_7 WHERE row_id > ? ORDER BY row_id",
			[]any{int64(0)}},
		{"key only", hubSQLite, rowTable, sqlplan.Query{After: 41, Limit: 10},
			"SELECT row_id FROM rows_7 WHERE row_id > ? ORDER BY row_id LIMIT ?",
			[]any{int64(41), int64(10)}},
		{"every comparison", hubSQLite, rowTable, sqlplan.Query{Columns: []int{1}, After: 5, Limit: 1, Where: []sqlplan.Condition{
			eq(0, hutong.OpEq, "a"), eq(1, hutong.OpGt, int64(1)), eq(1, hutong.OpGte, int64(2)),
			eq(2, hutong.OpLt, "2024-01-01"), eq(2, hutong.OpLte, "2024-02-01"), eq(3, hutong.OpIn, 1.5, 2.5, 3.5)}},
			"SELECT row_id, c1 FROM rows_7 WHERE row_id > ? AND c0 = ? AND c1 > ? AND c1 >= ? AND c2 < ? AND c2 <= ? AND c3 IN (?, ?, ?) ORDER BY row_id LIMIT ?",
			[]any{int64(5), "a", int64(1), int64(2), "2024-01-01", "2024-02-01", 1.5, 2.5, 3.5, int64(1)}},
		{"hub prefix counts characters", hubSQLite, rowTable, sqlplan.Query{Where: []sqlplan.Condition{eq(0, hutong.OpPrefix, "北京市%_")}},
			"SELECT row_id FROM rows_7 WHERE row_id > ? AND substr(c0, 1, ?) = ? ORDER BY row_id",
			[]any{int64(0), int64(5), "北京市%_"}},
		{"hub on postgres numbers placeholders", hubPostgres, rowTable, sqlplan.Query{Columns: []int{0, 1}, After: 3, Limit: 2, Where: []sqlplan.Condition{
			eq(0, hutong.OpPrefix, "ab"), eq(1, hutong.OpIn, int64(1), int64(2)), eq(2, hutong.OpLt, "x")}},
			"SELECT row_id, c0, c1 FROM rows_7 WHERE row_id > $1 AND substr(c0, 1, $2) = $3 AND c1 IN ($4, $5) AND c2 < $6 ORDER BY row_id LIMIT $7",
			[]any{int64(3), int64(2), "ab", int64(1), int64(2), "x", int64(2)}},
		{"node on postgres casts", nodePostgres, people, sqlplan.Query{Columns: []int{0, 1, 4}, After: 9, Limit: 100, Where: []sqlplan.Condition{
			eq(1, hutong.OpIn, int64(30), int64(40)), eq(4, hutong.OpGte, 9.5), eq(0, hutong.OpEq, "张三")}},
			`SELECT "id", "name", "age", "fee" FROM "public"."people" WHERE "id" > $1::int8 AND "age" IN ($2::int8, $3::int8) AND "fee" >= $4::numeric AND "name" = $5 ORDER BY "id" LIMIT $6::int8`,
			[]any{int64(9), int64(30), int64(40), 9.5, "张三", int64(100)}},
		{"like escapes its pattern characters", nodePostgres, people, sqlplan.Query{Where: []sqlplan.Condition{eq(0, hutong.OpPrefix, "50%_off!")}},
			`SELECT "id" FROM "public"."people" WHERE "id" > $1::int8 AND "name" LIKE $2 ESCAPE '!' ORDER BY "id"`,
			[]any{int64(0), "50!%!_off!!%"}},
		{"mysql neither numbers nor casts", nodeMySQL, people, sqlplan.Query{Columns: []int{1}, Limit: 5, Where: []sqlplan.Condition{
			eq(1, hutong.OpEq, int64(7)), eq(0, hutong.OpPrefix, "王")}},
			`SELECT "id", "age" FROM "public"."people" WHERE "id" > ? AND "age" = ? AND "name" LIKE ? ESCAPE '!' ORDER BY "id" LIMIT ?`,
			[]any{int64(0), int64(7), "王%", int64(5)}},
		{"empty text is missing below a bound", nodeMySQL, people, sqlplan.Query{Where: []sqlplan.Condition{
			eq(2, hutong.OpLt, "2000-01-01"), eq(2, hutong.OpLte, "2001-01-01"), eq(2, hutong.OpGt, "1990-01-01"), eq(2, hutong.OpEq, "1995-05-05")}},
			`SELECT "id" FROM "public"."people" WHERE "id" > ? AND "born" < ? AND "born" <> '' AND "born" <= ? AND "born" <> '' AND "born" > ? AND "born" = ? ORDER BY "id"`,
			[]any{int64(0), "2000-01-01", "2001-01-01", "1990-01-01", "1995-05-05"}},
		{"select and compare expressions", nodeSQLite, people, sqlplan.Query{Columns: []int{2, 3}, Where: []sqlplan.Condition{
			eq(3, hutong.OpLte, "2024-01-01T00:00:00Z"), eq(3, hutong.OpIn, "a", "b"), eq(0, hutong.OpPrefix, "张")}},
			`SELECT "id", CAST("born" AS TEXT), "seen" FROM "public"."people" WHERE "id" > ? AND ` + sqliteDateTime + ` <= ? AND "seen" <> '' AND ` +
				sqliteDateTime + ` IN (?, ?) AND substr("name", 1, ?) = ? ORDER BY "id"`,
			[]any{int64(0), "2024-01-01T00:00:00Z", "a", "b", int64(1), "张"}},
		{"negative limit is none", hubSQLite, rowTable, sqlplan.Query{Limit: -1},
			"SELECT row_id FROM rows_7 WHERE row_id > ? ORDER BY row_id",
			[]any{int64(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := tt.dialect.Select(tt.table, tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if st.SQL != tt.sql {
				t.Errorf("got SQL\n%s\nwant\n%s", st.SQL, tt.sql)
			}
			if !reflect.DeepEqual(st.Args, tt.args) {
				t.Errorf("got args %#v, want %#v", st.Args, tt.args)
			}
		})
	}
}

func TestCount(t *testing.T) {
	tests := []struct {
		name    string
		dialect sqlplan.Dialect
		table   *sqlplan.Table
		query   sqlplan.Query
		sql     string
		args    []any
	}{
		{"whole table", hubSQLite, rowTable, sqlplan.Query{},
			"SELECT COUNT(*) FROM rows_7", []any{}},
		{"ignores columns, after and limit", hubPostgres, rowTable, sqlplan.Query{Columns: []int{1}, After: 10, Limit: 5, Where: []sqlplan.Condition{
			eq(0, hutong.OpEq, "a"), eq(1, hutong.OpPrefix, "b")}},
			"SELECT COUNT(*) FROM rows_7 WHERE c0 = $1 AND substr(c1, 1, $2) = $3",
			[]any{"a", int64(1), "b"}},
		{"positive keys only", nodePostgres, people, sqlplan.Query{},
			`SELECT COUNT(*) FROM "public"."people" WHERE "id" > 0`, []any{}},
		{"positive keys and conditions", nodePostgres, people, sqlplan.Query{After: 10, Where: []sqlplan.Condition{
			eq(1, hutong.OpGt, int64(18)), eq(0, hutong.OpPrefix, "李")}},
			`SELECT COUNT(*) FROM "public"."people" WHERE "id" > 0 AND "age" > $1::int8 AND "name" LIKE $2 ESCAPE '!'`,
			[]any{int64(18), "李%"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := tt.dialect.Count(tt.table, tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if st.SQL != tt.sql {
				t.Errorf("got SQL\n%s\nwant\n%s", st.SQL, tt.sql)
			}
			if !reflect.DeepEqual(st.Args, tt.args) {
				t.Errorf("got args %#v, want %#v", st.Args, tt.args)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		query sqlplan.Query
		code  string
	}{
		{"unknown operator", sqlplan.Query{Where: []sqlplan.Condition{eq(0, "like", "a")}}, hutong.EINVALID},
		{"eq with two values", sqlplan.Query{Where: []sqlplan.Condition{eq(0, hutong.OpEq, "a", "b")}}, hutong.EINVALID},
		{"lt without a value", sqlplan.Query{Where: []sqlplan.Condition{eq(1, hutong.OpLt)}}, hutong.EINVALID},
		{"in without values", sqlplan.Query{Where: []sqlplan.Condition{eq(1, hutong.OpIn)}}, hutong.EINVALID},
		{"prefix of a number", sqlplan.Query{Where: []sqlplan.Condition{eq(0, hutong.OpPrefix, int64(1))}}, hutong.EINVALID},
		{"prefix with two values", sqlplan.Query{Where: []sqlplan.Condition{eq(0, hutong.OpPrefix, "a", "b")}}, hutong.EINVALID},
		{"condition past the columns", sqlplan.Query{Where: []sqlplan.Condition{eq(4, hutong.OpEq, "a")}}, hutong.EINTERNAL},
		{"negative column", sqlplan.Query{Columns: []int{-1}}, hutong.EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := hubSQLite.Select(rowTable, tt.query)
			if got := hutong.ErrorCode(err); got != tt.code {
				t.Errorf("Select: got %v (code %q), want code %q", err, got, tt.code)
			}
			if len(tt.query.Where) == 0 {
				return // Count reads no columns
			}
			_, err = nodePostgres.Count(people, tt.query)
			if got := hutong.ErrorCode(err); got != tt.code && tt.code != hutong.EINTERNAL {
				t.Errorf("Count: got %v (code %q), want code %q", err, got, tt.code)
			}
		})
	}
}

// BenchmarkSelect plans the exchange's lookup (one eq, one row) and a
// query with a condition of every kind.
func BenchmarkSelect(b *testing.B) {
	tests := []struct {
		name  string
		query sqlplan.Query
	}{
		{"lookup", sqlplan.Query{Columns: []int{0, 1, 2, 3, 4}, Limit: 1, Where: []sqlplan.Condition{eq(0, hutong.OpEq, "张三")}}},
		{"conditions", sqlplan.Query{Columns: []int{0, 1, 2, 3, 4}, After: 1000, Limit: 20, Where: []sqlplan.Condition{
			eq(1, hutong.OpIn, int64(30), int64(40), int64(50)), eq(0, hutong.OpPrefix, "张"),
			eq(3, hutong.OpGte, "2020-01-01T00:00:00Z"), eq(3, hutong.OpLt, "2021-01-01T00:00:00Z"), eq(4, hutong.OpGt, 1.5)}}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := nodePostgres.Select(people, tt.query); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

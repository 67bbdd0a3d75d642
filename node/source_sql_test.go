package node

import (
	"reflect"
	"testing"
	"time"

	"github.com/hutong/hutong"
)

// TestPlan checks the statements a SQL source writes for each driver
// without a database, so that a bare go test covers the PostgreSQL and
// MySQL text too: casts, LIKE prefixes, SQLite's date-time normalisation,
// the empty-text guard and the bound values.
func TestPlan(t *testing.T) {
	// The columns' database types as each driver reports them.
	columns := []struct {
		name, element string
		types         map[string]string
	}{
		{"xm", "person_name", map[string]string{DriverPostgres: "TEXT", DriverMySQL: "VARCHAR", DriverSQLite: "TEXT"}},
		{"sl", "count", map[string]string{DriverPostgres: "INT4", DriverMySQL: "INT", DriverSQLite: "INTEGER"}},
		{"csrq", "date", map[string]string{DriverPostgres: "DATE", DriverMySQL: "DATE", DriverSQLite: "DATE"}},
		{"djsj", "datetime", map[string]string{DriverPostgres: "TEXT", DriverMySQL: "VARCHAR", DriverSQLite: "TEXT"}},
		{"zz", "flag", map[string]string{DriverPostgres: "INT2", DriverMySQL: "TINYINT", DriverSQLite: "INTEGER"}},
	}
	source := func(t *testing.T, driver string) *sqlSource {
		t.Helper()
		cfg := SourceConfig{Driver: driver, DSN: "x", Table: "people", Key: "id"}
		for _, c := range columns {
			cfg.Items = append(cfg.Items, ItemColumn{Name: c.name, Column: c.name, Element: c.element})
		}
		set, vs := checkConfig(cfg)
		if len(vs) > 0 {
			t.Fatal(vs)
		}
		s := &sqlSource{driver: driver, dialect: dialects[driver], set: set, kinds: make([]columnKind, len(columns))}
		s.table.Name, s.table.Key, s.table.PositiveKeys = quoteIdent(driver, "people"), quoteIdent(driver, "id"), true
		for i, c := range columns {
			kind, castText := classify(driver, c.types[driver])
			s.table.Columns = append(s.table.Columns, planColumn(driver, quoteIdent(driver, c.name), set.items[i].Type, kind, castText))
			s.kinds[i] = kind
		}
		return s
	}
	q := hutong.SourceQuery{Fields: []string{"xm", "csrq"}, After: 3, Limit: 10, Where: []hutong.Condition{
		{Field: "sl", Op: hutong.OpIn, Values: []string{"1", "2"}},
		{Field: "xm", Op: hutong.OpPrefix, Values: []string{"张_%"}},
		{Field: "csrq", Op: hutong.OpLt, Values: []string{"2000-01-01"}},
		{Field: "djsj", Op: hutong.OpLte, Values: []string{"2024-03-01T16:00:00Z"}},
		{Field: "zz", Op: hutong.OpEq, Values: []string{"true"}},
	}}
	sqliteTime := `strftime('%Y-%m-%dT%H:%M:%SZ', "djsj", CASE WHEN substr("djsj", -1) IN ('Z', 'z') OR substr("djsj", -6, 1) IN ('+', '-') THEN '+0 hours' ELSE '-8 hours' END)`
	tests := []struct {
		driver     string
		read, cnt  string
		args, cntA []any
	}{
		{DriverPostgres,
			`SELECT "id", "xm", "csrq" FROM "people" WHERE "id" > $1::int8 AND "sl" IN ($2::int8, $3::int8) AND "xm" LIKE $4 ESCAPE '!' AND "csrq" < $5 AND "djsj" <= $6 AND "djsj" <> '' AND "zz" = $7::int8 ORDER BY "id" LIMIT $8::int8`,
			`SELECT COUNT(*) FROM "people" WHERE "id" > 0 AND "sl" IN ($1::int8, $2::int8) AND "xm" LIKE $3 ESCAPE '!' AND "csrq" < $4 AND "djsj" <= $5 AND "djsj" <> '' AND "zz" = $6::int8`,
			[]any{int64(3), int64(1), int64(2), "张!_!%%", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), "2024-03-01T16:00:00Z", int64(1), int64(10)},
			[]any{int64(1), int64(2), "张!_!%%", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), "2024-03-01T16:00:00Z", int64(1)}},
		{DriverMySQL,
			"SELECT `id`, `xm`, `csrq` FROM `people` WHERE `id` > ? AND `sl` IN (?, ?) AND `xm` LIKE ? ESCAPE '!' AND `csrq` < ? AND `djsj` <= ? AND `djsj` <> '' AND `zz` = ? ORDER BY `id` LIMIT ?",
			"SELECT COUNT(*) FROM `people` WHERE `id` > 0 AND `sl` IN (?, ?) AND `xm` LIKE ? ESCAPE '!' AND `csrq` < ? AND `djsj` <= ? AND `djsj` <> '' AND `zz` = ?",
			[]any{int64(3), int64(1), int64(2), "张!_!%%", "2000-01-01", "2024-03-01T16:00:00Z", int64(1), int64(10)},
			[]any{int64(1), int64(2), "张!_!%%", "2000-01-01", "2024-03-01T16:00:00Z", int64(1)}},
		{DriverSQLite,
			`SELECT "id", "xm", CAST("csrq" AS TEXT) FROM "people" WHERE "id" > ? AND "sl" IN (?, ?) AND substr("xm", 1, ?) = ? AND "csrq" < ? AND "csrq" <> '' AND ` + sqliteTime + ` <= ? AND "djsj" <> '' AND "zz" = ? ORDER BY "id" LIMIT ?`,
			`SELECT COUNT(*) FROM "people" WHERE "id" > 0 AND "sl" IN (?, ?) AND substr("xm", 1, ?) = ? AND "csrq" < ? AND "csrq" <> '' AND ` + sqliteTime + ` <= ? AND "djsj" <> '' AND "zz" = ?`,
			[]any{int64(3), int64(1), int64(2), int64(3), "张_%", "2000-01-01", "2024-03-01T16:00:00Z", int64(1), int64(10)},
			[]any{int64(1), int64(2), int64(3), "张_%", "2000-01-01", "2024-03-01T16:00:00Z", int64(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.driver, func(t *testing.T) {
			s := source(t, tt.driver)
			rq, err := s.set.resolve(q)
			if err != nil {
				t.Fatal(err)
			}
			for _, count := range []bool{false, true} {
				st, err := s.plan(rq, count)
				if err != nil {
					t.Fatal(err)
				}
				want, args := tt.read, tt.args
				if count {
					want, args = tt.cnt, tt.cntA
				}
				if st.SQL != want {
					t.Errorf("count %v: got SQL\n%s\nwant\n%s", count, st.SQL, want)
				}
				if !reflect.DeepEqual(st.Args, args) {
					t.Errorf("count %v: got args %#v, want %#v", count, st.Args, args)
				}
			}
		})
	}
}

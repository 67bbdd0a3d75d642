package node

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/internal/testenv"
)

// benchRows is the size of the tables the full-scan benchmarks export.
const benchRows = 200_000

var benchItems = []ItemColumn{
	{Name: "身份证号", Column: "sfzh", Element: "citizen_id"},
	{Name: "姓名", Column: "xm", Element: "person_name"},
	{Name: "数量", Column: "sl", Element: "count"},
	{Name: "金额", Column: "je", Element: "amount"},
	{Name: "出生日期", Column: "csrq", Element: "date"},
	{Name: "地址", Column: "dz", Element: "address"},
}

// benchIDs returns n valid, distinct citizen identity numbers.
func benchIDs(b *testing.B, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = citizenID(b, fmt.Sprintf("110101198%d%02d%02d%03d", i%10, 1+i%12, 1+i%28, i%1000))
	}
	return ids
}

// fullScan reads every row of s once per iteration and reports rows/s.
func fullScan(b *testing.B, s LocalSource) {
	b.Helper()
	q := hutong.SourceQuery{Fields: itemNames(benchItems)}
	ctx := context.Background()
	total := 0
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := s.Read(ctx, q, func(r hutong.SourceRow) error {
			n++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if n != benchRows {
			b.Fatalf("got %d rows, want %d", n, benchRows)
		}
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkCSVFullScan exports a 200,000-row CSV source, the whole file
// with every item, as an export reads it.
func BenchmarkCSVFullScan(b *testing.B) {
	ids := benchIDs(b, 1000)
	var sb strings.Builder
	sb.WriteString("sfzh,xm,sl,je,csrq,dz\n")
	for i := range benchRows {
		fmt.Fprintf(&sb, "%s,张%s,%d,%d.%02d,19%02d-%02d-%02d,北京市东城区景山前街%d号\n",
			ids[i%len(ids)], []string{"三", "四", "伟", "芳"}[i%4], i%500, i%10000, i%100, 50+i%50, 1+i%12, 1+i%28, i)
	}
	path := filepath.Join(b.TempDir(), "bench.csv")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	s, err := OpenSource(context.Background(), SourceConfig{Driver: DriverCSV, File: path, Items: benchItems})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	fullScan(b, s)
}

// BenchmarkPostgresFullScan exports a 200,000-row PostgreSQL table through
// the node's SQL source (HUTONG_TEST_POSTGRES).
func BenchmarkPostgresFullScan(b *testing.B) {
	dsn := testenv.Postgres.Need(b)
	db, err := sql.Open("pgx", dsn)
	db = mustDB(b, db, err)
	ctx := context.Background()
	name := tableName()
	if _, err := db.ExecContext(ctx, `CREATE TABLE `+name+` (id BIGINT PRIMARY KEY, sfzh TEXT, xm TEXT, sl BIGINT,
		je NUMERIC(14,2), csrq DATE, dz TEXT)`); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.ExecContext(context.Background(), "DROP TABLE "+name) })
	if _, err := db.ExecContext(ctx, `INSERT INTO `+name+`
		SELECT g, ($1::text[])[1 + g % 1000], '张' || (ARRAY['三','四','伟','芳'])[1 + g % 4], g % 500,
			(g % 10000) + (g % 100) / 100.0, DATE '1950-01-01' + (g % 20000), '北京市东城区景山前街' || g || '号'
		FROM generate_series(1, $2::int) g`, benchIDs(b, 1000), benchRows); err != nil {
		b.Fatal(err)
	}
	s, err := OpenSource(ctx, SourceConfig{Driver: DriverPostgres, DSN: dsn, Table: name, Key: "id", Items: benchItems})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	fullScan(b, s)
}

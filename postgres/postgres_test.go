package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hutong/hutong/internal/testenv"
	"github.com/hutong/hutong/postgres"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/storetest"
)

// TestContract runs the storage contract on the PostgreSQL server named by
// HUTONG_TEST_POSTGRES, each test in a schema of its own.
func TestContract(t *testing.T) {
	dsn := testenv.Postgres.Need(t)
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		return open(t, withSchema(t, dsn), now)
	})
}

var schemas atomic.Int64

// withSchema creates a fresh schema, drops it when the test ends and
// returns dsn with its search_path set to it.
func withSchema(t *testing.T, dsn string) string {
	t.Helper()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("hutong_test_%d_%d", os.Getpid(), schemas.Add(1))
	if _, err := admin.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

func open(t *testing.T, dsn string, now func() time.Time) storetest.Store {
	return storetest.FromDB(t, func() (*sqlstore.DB, error) {
		return postgres.Open(context.Background(), dsn, sqlstore.Options{Members: []string{"110000", "120000", "130000"}, Now: now})
	})
}

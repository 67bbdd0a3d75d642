package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hutong/hutong/sqlite"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/storetest"
)

// TestContract runs the storage contract on a SQLite file in a temporary
// directory.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		path := filepath.Join(t.TempDir(), "hutong.db")
		return open(t, path, now)
	})
}

func open(t *testing.T, path string, now func() time.Time) storetest.Store {
	return storetest.FromDB(t, func() (*sqlstore.DB, error) {
		return sqlite.Open(context.Background(), path, sqlstore.Options{Members: []string{"110000", "120000", "130000"}, Now: now})
	})
}

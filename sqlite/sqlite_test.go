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
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlstore.Options{Members: []string{"110000", "120000", "130000"}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			db.Close()
		}
	})
	return storetest.Store{
		Directory: sqlstore.NewDirectory(db),
		Catalog:   sqlstore.NewCatalog(db),
		Rows:      sqlstore.NewRows(db),
		Auth:      sqlstore.NewAuth(db),
		Reopen: func(t *testing.T) storetest.Store {
			closed = true
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, path, now)
		},
	}
}

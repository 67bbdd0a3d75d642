// Package sqlite stores hutong in one SQLite file, through the pure-Go
// modernc.org/sqlite driver: the embedded default of `hutong demo` and of
// small hubs. The SQL itself lives in sqlstore; this package opens the file,
// migrates it and says how SQLite differs.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/pressly/goose/v3"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlstore"
)

//go:embed migrations/*.sql migrations/audit/*.sql
var migrations embed.FS

// Dialect is SQLite's sqlstore dialect. Dates and datetimes are stored as
// canonical text, which sorts in time order; booleans as 0 and 1.
var Dialect = sqlstore.Dialect{
	Name:      "sqlite",
	MaxParams: 32766,
	RowID:     "INTEGER PRIMARY KEY",
	ColumnType: func(t hutong.ValueType) string {
		switch t {
		case hutong.TypeInteger, hutong.TypeBoolean:
			return "INTEGER"
		case hutong.TypeDecimal:
			return "REAL"
		}
		return "TEXT"
	},
	Encode: func(t hutong.ValueType, v any) any {
		if b, ok := v.(bool); ok {
			if b {
				return int64(1)
			}
			return int64(0)
		}
		return v
	},
	Decode: func(t hutong.ValueType, v any) any {
		switch t {
		case hutong.TypeBoolean:
			if n, ok := v.(int64); ok {
				return n != 0
			}
		case hutong.TypeDecimal:
			if n, ok := v.(int64); ok {
				return float64(n)
			}
		case hutong.TypeString, hutong.TypeDate, hutong.TypeDateTime:
			if b, ok := v.([]byte); ok {
				return string(b)
			}
		}
		return v
	},
	IsUniqueViolation: func(err error) bool {
		var e *sqlite3.Error
		if errors.As(err, &e) {
			return e.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY
		}
		return false
	},
}

// Open opens (creating when missing) the SQLite database at path and its
// audit log beside it (hutong.db → hutong.audit.db), migrates both to the
// current schema and returns the store. Writes go through one connection
// per file, reads through a pool, with the files in WAL mode so readers do
// not wait for the writer. The audit log has a file of its own because
// SQLite empties the page caches of a file's readers on every commit to
// it, and the exchange appends to the log on every call.
func Open(ctx context.Context, path string, opt sqlstore.Options) (*sqlstore.DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	rw, ro, err := openFile(ctx, path, "migrations", "NORMAL")
	if err != nil {
		return nil, err
	}
	auditPath := strings.TrimSuffix(path, filepath.Ext(path)) + ".audit.db"
	// The audit log syncs every commit to disk: an entry is durable before
	// the data it records is released, power failure included.
	arw, aro, err := openFile(ctx, auditPath, "migrations/audit", "FULL")
	if err != nil {
		rw.Close()
		ro.Close()
		return nil, err
	}
	opt.AuditRW, opt.AuditRO = arw, aro
	db, err := sqlstore.Open(ctx, rw, ro, Dialect, opt)
	if err != nil {
		for _, p := range []*sql.DB{rw, ro, arw, aro} {
			p.Close()
		}
		return nil, err
	}
	return db, nil
}

// openFile opens the writing connection and the reading pool of one file
// and migrates it with the migrations in dir.
// synchronous is SQLite's synchronous setting for the file: NORMAL (WAL
// commits survive a crash of the process) or FULL (they survive power loss).
func openFile(ctx context.Context, path, dir, synchronous string) (rw, ro *sql.DB, err error) {
	pragmas := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(" + synchronous + ")", "mmap_size(1073741824)", "cache_size(-16000)"} {
		pragmas.Add("_pragma", p)
	}
	dsn := "file:" + strings.ReplaceAll(path, "?", "%3F") + "?"
	rw, err = sql.Open("sqlite", dsn+pragmas.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: %w", err)
	}
	rw.SetMaxOpenConns(1)
	if err := migrate(ctx, rw, dir); err != nil {
		rw.Close()
		return nil, nil, err
	}
	pragmas.Add("_pragma", "query_only(1)")
	ro, err = sql.Open("sqlite", dsn+pragmas.Encode())
	if err != nil {
		rw.Close()
		return nil, nil, fmt.Errorf("sqlite: %w", err)
	}
	ro.SetMaxOpenConns(8)
	ro.SetMaxIdleConns(8)
	return rw, ro, nil
}

func migrate(ctx context.Context, db *sql.DB, dir string) error {
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	return sqlstore.Migrate(ctx, db, goose.DialectSQLite3, sub)
}

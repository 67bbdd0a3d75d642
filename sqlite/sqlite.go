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
	"strings"

	"github.com/pressly/goose/v3"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlstore"
)

//go:embed migrations/*.sql
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

// Open opens (creating when missing) the SQLite database at path, migrates
// it to the current schema and returns the store. Writes go through one
// connection, reads through a pool, with the file in WAL mode so readers do
// not wait for the writer.
func Open(ctx context.Context, path string, opt sqlstore.Options) (*sqlstore.DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	pragmas := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		pragmas.Add("_pragma", p)
	}
	dsn := "file:" + strings.ReplaceAll(path, "?", "%3F") + "?"
	rw, err := sql.Open("sqlite", dsn+pragmas.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	rw.SetMaxOpenConns(1)
	if err := migrate(ctx, rw); err != nil {
		rw.Close()
		return nil, err
	}
	pragmas.Add("_pragma", "query_only(1)")
	ro, err := sql.Open("sqlite", dsn+pragmas.Encode())
	if err != nil {
		rw.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	ro.SetMaxOpenConns(8)
	ro.SetMaxIdleConns(8)
	db, err := sqlstore.Open(ctx, rw, ro, Dialect, opt)
	if err != nil {
		rw.Close()
		ro.Close()
		return nil, err
	}
	return db, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	return sqlstore.Migrate(ctx, db, goose.DialectSQLite3, sub)
}

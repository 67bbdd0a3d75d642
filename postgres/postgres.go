// Package postgres stores hutong in PostgreSQL, the database governments
// already run, through pgx. The SQL itself lives in sqlstore; this package
// connects, migrates under an advisory lock and says how PostgreSQL differs.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is PostgreSQL's sqlstore dialect: typed DATE, TIMESTAMPTZ and
// BOOLEAN columns, $n placeholders.
var Dialect = sqlstore.Dialect{
	Name:        "postgres",
	LockOutbox:  `SELECT pg_advisory_xact_lock(2260002)`,
	LockJournal: `SELECT pg_advisory_xact_lock(2260003)`,
	Notify:      `SELECT pg_notify($1, $2)`,
	Schema:      `SELECT current_schema()`,
	ForUpdate:   ` FOR UPDATE`,
	Unsynced:    `SET LOCAL synchronous_commit = off`,
	Dollar:      true,
	MaxParams:   65535,
	RowID:       "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
	ColumnType: func(t hutong.ValueType) string {
		switch t {
		case hutong.TypeInteger:
			return "BIGINT"
		case hutong.TypeDecimal:
			return "DOUBLE PRECISION"
		case hutong.TypeDate:
			return "DATE"
		case hutong.TypeDateTime:
			return "TIMESTAMPTZ"
		case hutong.TypeBoolean:
			return "BOOLEAN"
		}
		return "TEXT"
	},
	Encode: func(t hutong.ValueType, v any) any {
		s, ok := v.(string)
		if !ok {
			return v
		}
		switch t {
		case hutong.TypeDate:
			if d, err := time.Parse(time.DateOnly, s); err == nil {
				return d
			}
		case hutong.TypeDateTime:
			if d, err := time.Parse(time.RFC3339, s); err == nil {
				return d
			}
		}
		return v
	},
	Decode: func(t hutong.ValueType, v any) any {
		tm, ok := v.(time.Time)
		if !ok {
			return v
		}
		switch t {
		case hutong.TypeDate:
			return tm.Format(time.DateOnly)
		case hutong.TypeDateTime:
			return tm.UTC().Format(time.RFC3339)
		}
		return v
	},
	IsUniqueViolation: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505"
	},
}

// Open connects to the PostgreSQL database at dsn (a URL or key=value
// string pgx understands), migrates it to the current schema and returns
// the store.
func Open(ctx context.Context, dsn string, opt sqlstore.Options) (*sqlstore.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	if opt.Listen == nil {
		opt.Listen = listener(dsn, opt.Logger)
	}
	store, err := sqlstore.Open(ctx, db, nil, Dialect, opt)
	if err != nil {
		db.Close()
		return nil, err
	}
	return store, nil
}

// migrate runs the migrations under a session advisory lock, so that hubs
// starting together on one database do not migrate it twice.
func migrate(ctx context.Context, db *sql.DB) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	return sqlstore.Migrate(ctx, db, goose.DialectPostgres, sub, goose.WithSessionLocker(locker))
}

// listener hears notifications on a connection of its own, reconnecting
// after a second when it is lost. Each connection, the first included, is
// announced with fn("", ""): notices sent while it was away are lost.
func listener(dsn string, log *slog.Logger) sqlstore.Listener {
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context, channels []string, fn func(channel, payload string)) {
		for ctx.Err() == nil {
			err := listenOnce(ctx, dsn, channels, func() { fn("", "") }, fn)
			if ctx.Err() != nil {
				return
			}
			log.Warn("postgres: the connection listening to other hub processes was lost; reconnecting", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func listenOnce(ctx context.Context, dsn string, channels []string, connected func(), fn func(channel, payload string)) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, c := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{c}.Sanitize()); err != nil {
			return err
		}
	}
	connected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		fn(n.Channel, n.Payload)
	}
}

// Package sqlstore implements hutong's services on a SQL database. The SQL
// is written once, with "?" placeholders, for the dialect both sqlite and
// postgres provide; those packages open the driver, run their migrations and
// hand a *sql.DB and their Dialect to Open.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/search"
)

// Dialect is what differs between the SQL engines hutong runs on.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// Dollar is true when placeholders are $1, $2 … instead of ?.
	Dollar bool
	// MaxParams is the most bind parameters one statement may carry.
	MaxParams int
	// RowID is the column definition of a row table's surrogate key.
	RowID string
	// ColumnType returns the column type that stores values of t.
	ColumnType func(t hutong.ValueType) string
	// Encode turns a canonical value of type t into a bind argument.
	Encode func(t hutong.ValueType, v any) any
	// Decode turns a scanned column value back into the canonical value.
	Decode func(t hutong.ValueType, v any) any
	// IsUniqueViolation reports whether err is a unique-constraint failure.
	IsUniqueViolation func(err error) bool
	// LockOutbox, when set, is run in a transaction before it writes the
	// audit outbox, so that outbox rows commit in the order of their ids
	// (PostgreSQL assigns ids at insert, not at commit).
	LockOutbox string
	// LockJournal, when set, is run in the transaction that appends a batch
	// to the journal, so that hub processes sharing the database take
	// indexes one after another: each batch's first index is the largest
	// committed one plus one, and a crashed writer leaves no gap.
	LockJournal string
	// Notify, when set, sends a notification (channel, payload) to the
	// other hub processes sharing the database (cluster.go).
	Notify string
	// Schema, when set, reads the current schema's name, which the
	// notification channels carry.
	Schema string
	// Unsynced, when set, is run first in a transaction whose commit need
	// not wait for the disk (SET LOCAL synchronous_commit = off): limits'
	// counters, which a crash may set back by the last moment's calls.
	Unsynced string
	// ForUpdate ends a SELECT that locks the rows it reads until the
	// transaction ends (" FOR UPDATE"); empty where a transaction that
	// writes holds the whole database (SQLite).
	ForUpdate string
}

// Options configure a DB.
type Options struct {
	// Members are the GB/T 2260 codes of the provinces that take part in the
	// hub, e.g. 110000, 120000, 130000.
	Members []string
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Logger receives internal errors; slog.Default() when nil.
	Logger *slog.Logger
	// AuditRW and AuditRO, when set, hold the audit_log table apart from
	// the catalog: on SQLite every commit empties the page caches of the
	// readers of its file, so the audit log's constant appends must not
	// share a file with the rows the exchange reads.
	AuditRW, AuditRO *sql.DB
	// Listen, when set, hears the notices of other hub processes sharing
	// the database (cluster.go); the postgres package sets it.
	Listen Listener
}

// DB is a hutong store on one SQL database. It keeps the catalog's search
// index in memory, built from the database when it opens and kept in step
// with every committed change made through it; so one database has one hub
// process writing its catalog.
type DB struct {
	rw *sql.DB // the connection pool that writes
	ro *sql.DB // the pool that only reads; may be rw
	d  Dialect

	auditRW, auditRO *sql.DB // the audit log's pools; may be rw and ro

	now     func() time.Time
	log     *slog.Logger
	members []string

	index *search.Index

	rebindMu sync.RWMutex
	rebound  map[string]string

	deptMu sync.RWMutex
	depts  map[string]*hutong.Department // cache of the departments table

	resources resourceCache
	stmts     stmtCache

	// journal is the audit journal whose outbox records every change
	// (outbox.go); nil until OpenJournal opens it.
	journal *Journal

	cl cluster // the other hub processes sharing the database
}

// Open returns a DB on rw (and ro for reads, or rw when ro is nil). The
// schema must already be migrated. It loads the catalog into the search
// index, so it fails when the database cannot be read.
func Open(ctx context.Context, rw, ro *sql.DB, d Dialect, opt Options) (*DB, error) {
	if ro == nil {
		ro = rw
	}
	db := &DB{
		rw:      rw,
		ro:      ro,
		d:       d,
		now:     opt.Now,
		log:     opt.Logger,
		members: opt.Members,
		index:   search.New(),
		rebound: map[string]string{},
		auditRW: opt.AuditRW,
		auditRO: opt.AuditRO,
	}
	if db.auditRW == nil {
		db.auditRW, db.auditRO = rw, ro
	}
	if db.auditRO == nil {
		db.auditRO = db.auditRW
	}
	if db.now == nil {
		db.now = time.Now
	}
	if db.log == nil {
		db.log = slog.Default()
	}
	for _, m := range db.members {
		if len(m) != 6 || m[2:] != "0000" {
			return nil, fmt.Errorf("sqlstore: member %q is not a province code", m)
		}
	}
	db.cl.self = newProcessID()
	if err := db.channelNames(ctx); err != nil {
		return nil, err
	}
	if opt.Listen != nil && db.Shared() {
		// Listen before loading: a change committed meanwhile is then
		// heard, not missed.
		if err := db.listen(ctx, opt.Listen); err != nil {
			return nil, err
		}
	}
	if err := db.load(ctx); err != nil {
		db.stopListening()
		return nil, err
	}
	return db, nil
}

// load reads what the DB keeps in memory.
func (db *DB) load(ctx context.Context) error {
	if err := db.loadDepartments(ctx); err != nil {
		return err
	}
	if err := db.loadIndex(ctx); err != nil {
		return err
	}
	return db.ensureRowIndexes(ctx)
}

// Close closes the connection pools.
func (db *DB) Close() error {
	db.stopListening()
	db.stmts.close()
	var err error
	closed := map[*sql.DB]bool{}
	for _, p := range []*sql.DB{db.rw, db.ro, db.auditRW, db.auditRO} {
		if !closed[p] {
			closed[p] = true
			err = errors.Join(err, p.Close())
		}
	}
	return err
}

// Dialect returns the dialect of the database.
func (db *DB) Dialect() Dialect { return db.d }

// q returns query with its "?" placeholders in the dialect's style. Results
// are cached: queries are constants, so the cache stays small.
func (db *DB) q(query string) string {
	if !db.d.Dollar {
		return query
	}
	db.rebindMu.RLock()
	s, ok := db.rebound[query]
	db.rebindMu.RUnlock()
	if ok {
		return s
	}
	var b strings.Builder
	n := 0
	inString := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			inString = !inString
			b.WriteByte(c)
		case c == '?' && !inString:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	s = b.String()
	db.rebindMu.Lock()
	db.rebound[query] = s
	db.rebindMu.Unlock()
	return s
}

// tx runs fn in a write transaction and commits it when fn returns nil.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.rw.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// internal turns an unexpected storage failure into an EINTERNAL error and
// leaves *hutong.Error values as they are.
func internal(err error) error {
	if err == nil {
		return nil
	}
	var e *hutong.Error
	if errors.As(err, &e) {
		return err
	}
	return hutong.Internal(err)
}

// utc normalises a time for storage.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

package node

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlplan"
)

// Connection pool bounds of a SQL source. A node answers the hub's calls,
// a few at a time; it must not crowd a department's database.
const (
	maxOpenConns = 8
	maxStmts     = 256 // prepared statements kept per source
)

// columnKind is what a source column holds, as far as reading, comparing
// and binding go.
type columnKind int

const (
	kindOther   columnKind = iota // a type the node does not read (BLOB, JSON, UUID …)
	kindAny                       // an SQLite column without a declared type
	kindText                      // CHAR, VARCHAR, TEXT; SQLite DATE and DATETIME, which hold text
	kindInteger                   // the integer types
	kindDecimal                   // NUMERIC, DECIMAL, REAL, FLOAT, DOUBLE
	kindBool                      // BOOLEAN
	kindDate                      // DATE: a calendar date, read by its wall clock
	kindNaive                     // PostgreSQL TIMESTAMP: a wall clock in China Standard Time
	kindInstant                   // TIMESTAMPTZ; MySQL DATETIME and TIMESTAMP, placed in time by the driver
)

func (k columnKind) String() string {
	switch k {
	case kindAny:
		return "untyped"
	case kindText:
		return "text"
	case kindInteger:
		return "integer"
	case kindDecimal:
		return "decimal"
	case kindBool:
		return "boolean"
	case kindDate:
		return "date"
	case kindNaive, kindInstant:
		return "date-time"
	}
	return "unsupported"
}

// classify maps a column's database type name, as the driver reports it,
// to its kind. castText reports an SQLite date column, which the driver
// would turn into time.Time on its own terms; the node reads its text.
func classify(drv, dbType string) (kind columnKind, castText bool) {
	t := strings.ToUpper(strings.TrimSpace(dbType))
	switch drv {
	case DriverPostgres:
		switch t {
		case "INT2", "INT4", "INT8":
			return kindInteger, false
		case "NUMERIC":
			return kindDecimal, false
		case "FLOAT4", "FLOAT8":
			return kindDecimal, false
		case "TEXT", "VARCHAR", "BPCHAR":
			return kindText, false
		case "BOOL":
			return kindBool, false
		case "DATE":
			return kindDate, false
		case "TIMESTAMP":
			return kindNaive, false
		case "TIMESTAMPTZ":
			return kindInstant, false
		}
	case DriverMySQL:
		t = strings.TrimPrefix(t, "UNSIGNED ")
		switch t {
		case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "YEAR":
			return kindInteger, false
		case "DECIMAL", "FLOAT", "DOUBLE":
			return kindDecimal, false
		case "CHAR", "VARCHAR", "TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT", "ENUM", "SET":
			return kindText, false
		case "DATE":
			return kindDate, false
		case "DATETIME", "TIMESTAMP":
			return kindInstant, false
		}
	case DriverSQLite:
		// SQLite's type affinity rules (https://sqlite.org/datatype3.html),
		// with the date and boolean names the driver treats specially.
		switch {
		case t == "":
			return kindAny, false
		case t == "DATE" || t == "DATETIME" || t == "TIMESTAMP":
			return kindText, true
		case t == "BOOLEAN" || t == "BOOL":
			return kindBool, false
		case strings.Contains(t, "INT"):
			return kindInteger, false
		case strings.Contains(t, "CHAR") || strings.Contains(t, "CLOB") || strings.Contains(t, "TEXT"):
			return kindText, false
		case strings.Contains(t, "BLOB"):
			return kindOther, false
		}
		return kindDecimal, false // REAL and NUMERIC affinity
	}
	return kindOther, false
}

// fits reports whether a column of kind k can hold an item of type t with
// comparisons that mean what they mean in Go: numbers as numbers, dates in
// time order (text columns must hold canonical text for that).
func fits(t hutong.ValueType, k columnKind) bool {
	if k == kindAny {
		return true
	}
	switch t {
	case hutong.TypeString:
		return k == kindText
	case hutong.TypeInteger:
		return k == kindInteger
	case hutong.TypeDecimal:
		return k == kindDecimal || k == kindInteger
	case hutong.TypeDate:
		return k == kindDate || k == kindText
	case hutong.TypeDateTime:
		return k == kindNaive || k == kindInstant || k == kindText
	case hutong.TypeBoolean:
		return k == kindBool || k == kindInteger
	}
	return false
}

// dialects say how the planner writes each driver's SQL. SQLite compares
// a prefix with substr, which counts characters, so a Chinese prefix
// compares whole characters, and = is exact where SQLite's LIKE ignores
// case. PostgreSQL's parameters are cast, so that a parameter's type does
// not depend on its column's (an int8 value against an int4 column).
var dialects = map[string]sqlplan.Dialect{
	DriverPostgres: {Dollar: true, Prefix: sqlplan.PrefixLike, Casts: true},
	DriverMySQL:    {Prefix: sqlplan.PrefixLike},
	DriverSQLite:   {Prefix: sqlplan.PrefixSubstr},
}

// sqlSource reads a table or view of a department's database.
type sqlSource struct {
	driver  string
	db      *sql.DB
	dialect sqlplan.Dialect
	table   sqlplan.Table // its columns by item position
	kinds   []columnKind  // by item position
	set     *itemSet

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

var _ LocalSource = (*sqlSource)(nil)

// openSQL connects to the database and checks the table, key and columns.
func openSQL(ctx context.Context, cfg SourceConfig, set *itemSet) (_ LocalSource, err error) {
	table, _ := quoteTable(cfg.Driver, cfg.Table) // checked by checkConfig
	db, err := connect(cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxOpenConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	if err := db.PingContext(ctx); err != nil {
		if unreachable(err) || ctx.Err() != nil {
			return nil, &hutong.Error{Code: hutong.EUNAVAILABLE, Message: fmt.Sprintf("cannot reach the %s database: %v", cfg.Driver, err), Err: err}
		}
		return nil, hutong.Invalid("invalid source configuration", []hutong.Violation{{Field: "dsn", Rule: "connect",
			Message: fmt.Sprintf("cannot connect to the %s database: %v", cfg.Driver, err)}})
	}
	names, types, err := describe(ctx, db, table)
	if err != nil {
		if unreachable(err) || ctx.Err() != nil {
			return nil, &hutong.Error{Code: hutong.EUNAVAILABLE, Message: fmt.Sprintf("cannot reach the %s database: %v", cfg.Driver, err), Err: err}
		}
		return nil, hutong.Invalid("invalid source configuration", []hutong.Violation{{Field: "table", Rule: "table",
			Message: fmt.Sprintf("cannot read table %s: %v", cfg.Table, err)}})
	}
	find := func(col string) int {
		for i, n := range names {
			if n == col {
				return i
			}
		}
		if cfg.Driver == DriverPostgres {
			return -1 // quoted identifiers are case-sensitive
		}
		for i, n := range names {
			if strings.EqualFold(n, col) {
				return i
			}
		}
		return -1
	}
	var vs []hutong.Violation
	if i := find(cfg.Key); i < 0 {
		vs = append(vs, hutong.Violation{Field: "key", Rule: "unknown_column", Message: fmt.Sprintf("table %s has no column %q", cfg.Table, cfg.Key)})
	} else if k, _ := classify(cfg.Driver, types[i]); k != kindInteger && k != kindAny {
		vs = append(vs, hutong.Violation{Field: "key", Rule: "type", Message: fmt.Sprintf("key column %q is %s; it must be an integer column", cfg.Key, types[i])})
	}
	s := &sqlSource{
		driver:  cfg.Driver,
		db:      db,
		dialect: dialects[cfg.Driver],
		table: sqlplan.Table{
			Name:         table,
			Key:          quoteIdent(cfg.Driver, cfg.Key),
			PositiveKeys: true, // a Read never reaches a key ≤ 0, so a Count leaves them out
			Columns:      make([]sqlplan.Column, len(set.items)),
		},
		kinds: make([]columnKind, len(set.items)),
		set:   set,
		stmts: map[string]*sql.Stmt{},
	}
	for i := range set.items {
		it := &set.items[i]
		field := fmt.Sprintf("items[%d].column", i)
		j := find(it.column)
		if j < 0 {
			vs = append(vs, hutong.Violation{Field: field, Rule: "unknown_column", Message: fmt.Sprintf("table %s has no column %q (item %s)", cfg.Table, it.column, it.Name)})
			continue
		}
		kind, castText := classify(cfg.Driver, types[j])
		if it.Type != "" && !fits(it.Type, kind) {
			vs = append(vs, hutong.Violation{Field: field, Rule: "type", Message: fmt.Sprintf(
				"column %q is %s (%s); item %s (%s) holds %s values: change the column or publish a view that casts it",
				it.column, types[j], kind, it.Name, it.Element, it.Type)})
			continue
		}
		s.table.Columns[i] = planColumn(cfg.Driver, quoteIdent(cfg.Driver, it.column), it.Type, kind, castText)
		s.kinds[i] = kind
	}
	if len(vs) > 0 {
		return nil, hutong.Invalid("invalid source configuration", vs)
	}
	return s, nil
}

// connect opens the pool of cfg's driver without connecting. A DSN that
// does not parse is EINVALID.
func connect(cfg SourceConfig) (*sql.DB, error) {
	badDSN := func(err error) error {
		return hutong.Invalid("invalid source configuration", []hutong.Violation{{Field: "dsn", Rule: "format", Message: err.Error()}})
	}
	switch cfg.Driver {
	case DriverPostgres:
		pc, err := pgx.ParseConfig(cfg.DSN)
		if err != nil {
			return nil, badDSN(fmt.Errorf("postgres dsn: %w", err))
		}
		if pc.RuntimeParams == nil {
			pc.RuntimeParams = map[string]string{}
		}
		if _, ok := pc.RuntimeParams["application_name"]; !ok {
			pc.RuntimeParams["application_name"] = "hutong-node"
		}
		// The node only reads; a session that cannot write is one less way
		// for a bug to touch a department's data.
		pc.RuntimeParams["default_transaction_read_only"] = "on"
		return stdlib.OpenDB(*pc), nil
	case DriverMySQL:
		mc, err := mysqlConfig(cfg.DSN)
		if err != nil {
			return nil, badDSN(err)
		}
		conn, err := mysql.NewConnector(mc)
		if err != nil {
			return nil, badDSN(fmt.Errorf("mysql dsn: %w", err))
		}
		return sql.OpenDB(conn), nil
	case DriverSQLite:
		fi, err := os.Stat(cfg.DSN)
		if err != nil {
			return nil, badDSN(fmt.Errorf("sqlite file: %w", err))
		}
		if !fi.Mode().IsRegular() {
			return nil, badDSN(fmt.Errorf("sqlite file %s is not a regular file", cfg.DSN))
		}
		// A file: URI opened read-only: SQLite neither creates a missing
		// file nor lets any statement write.
		r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
		db, err := sql.Open("sqlite", "file:"+r.Replace(cfg.DSN)+"?mode=ro&_pragma=busy_timeout(5000)&_pragma=mmap_size(1073741824)&_pragma=query_only(1)")
		if err != nil {
			return nil, badDSN(fmt.Errorf("sqlite: %w", err))
		}
		return db, nil
	}
	return nil, hutong.Errorf(hutong.EINVALID, "driver %q is not a SQL driver", cfg.Driver)
}

// mysqlConfig parses a go-sql-driver DSN and makes times exact: DATE,
// DATETIME and TIMESTAMP arrive as time.Time (parseTime), and unless the DSN
// says otherwise (loc or time_zone) both the driver and the session work in
// China Standard Time, the zone of date-times written without one.
func mysqlConfig(dsn string) (*mysql.Config, error) {
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("mysql dsn: %w", err)
	}
	mc.ParseTime = true
	mc.MultiStatements = false
	mc.InterpolateParams = false
	if mc.Timeout == 0 {
		mc.Timeout = 10 * time.Second
	}
	var params url.Values
	if _, q, ok := strings.Cut(dsn, "?"); ok {
		params, _ = url.ParseQuery(q)
	}
	_, zoned := mc.Params["time_zone"]
	if !params.Has("loc") && !zoned {
		mc.Loc = chinaTime
		if mc.Params == nil {
			mc.Params = map[string]string{}
		}
		mc.Params["time_zone"] = "'+08:00'"
	}
	return mc, nil
}

// describe returns the names and database types of table's columns.
func describe(ctx context.Context, db *sql.DB, table string) ([]string, []string, error) {
	rows, err := db.QueryContext(ctx, "SELECT * FROM "+table+" LIMIT 0")
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(cts))
	types := make([]string, len(cts))
	for i, ct := range cts {
		names[i] = ct.Name()
		types[i] = ct.DatabaseTypeName()
	}
	return names, types, rows.Err()
}

// unreachable reports whether err says the database could not be reached
// or the connection broke, rather than that it refused the statement.
func unreachable(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne):
		return true
	}
	return false
}

// fail turns a driver error of op into hutong's error: EUNAVAILABLE when
// the database is unreachable or the call was cancelled, else EINTERNAL.
func (s *sqlSource) fail(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil || unreachable(err) {
		return &hutong.Error{Code: hutong.EUNAVAILABLE, Message: fmt.Sprintf("the %s source database did not answer", s.driver), Err: fmt.Errorf("%s: %w", op, err)}
	}
	return hutong.Internal(fmt.Errorf("node %s source: %s: %w", s.driver, op, err))
}

// planColumn describes to the planner the column q (quoted) of kind k that
// holds an item of type t. castText reads it as text (classify).
func planColumn(driver, q string, t hutong.ValueType, k columnKind, castText bool) sqlplan.Column {
	c := sqlplan.Column{Name: q}
	if castText {
		c.Select = "CAST(" + q + " AS TEXT)"
	}
	text := k == kindText || k == kindAny
	if driver == DriverSQLite && t == hutong.TypeDateTime && text {
		// SQLite keeps date-times as text in whatever form they were
		// written. Compare them as standard.Parse reads them: converted to
		// canonical UTC text, a time without an offset being China Standard
		// Time.
		c.Compare = fmt.Sprintf("strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', %[1]s, CASE WHEN substr(%[1]s, -1) IN ('Z', 'z') OR substr(%[1]s, -6, 1) IN ('+', '-') THEN '+0 hours' ELSE '-8 hours' END)", q)
	}
	// Empty text is a missing value, and a missing value matches nothing;
	// in SQL it would sort before every date.
	c.EmptyIsMissing = text
	// The type of the values bind returns, which PostgreSQL casts their
	// parameters to.
	switch {
	case t == hutong.TypeInteger, t == hutong.TypeBoolean && k == kindInteger:
		c.Cast = "int8"
	case t == hutong.TypeDecimal:
		c.Cast = "numeric"
	}
	return c
}

// plan writes the SELECT of q (count: the COUNT(*) of its conditions),
// its condition values bound for their columns.
func (s *sqlSource) plan(q *query, count bool) (sqlplan.Statement, error) {
	pq := sqlplan.Query{Columns: q.fields, After: q.after, Limit: q.limit}
	if len(q.where) > 0 {
		pq.Where = make([]sqlplan.Condition, len(q.where))
	}
	for i, c := range q.where {
		pc := sqlplan.Condition{Column: c.item, Op: c.op, Values: make([]any, len(c.values))}
		for j, v := range c.values {
			if c.op == hutong.OpPrefix {
				pc.Values[j] = c.texts[j]
				continue
			}
			arg, err := s.bind(&s.set.items[c.item], s.kinds[c.item], v, c.texts[j])
			if err != nil {
				return sqlplan.Statement{}, err
			}
			pc.Values[j] = arg
		}
		pq.Where[i] = pc
	}
	if count {
		return s.dialect.Count(&s.table, pq)
	}
	return s.dialect.Select(&s.table, pq)
}

// bind returns the bind argument for a canonical condition value v (text
// its canonical text) compared with a column of kind k. planColumn says
// the type PostgreSQL casts it to.
//
// Dates and date-times bind as time.Time against PostgreSQL's DATE,
// TIMESTAMP and TIMESTAMPTZ (a date at midnight UTC, whose wall clock pgx
// sends; a date-time in China Standard Time, whose wall clock is what a
// TIMESTAMP holds and whose instant is what a TIMESTAMPTZ compares), as the
// date text against MySQL's DATE and as time.Time against its DATETIME and
// TIMESTAMP (the driver writes it in its loc, the session's zone), and as
// canonical text against text columns, where canonical text sorts in time
// order.
func (s *sqlSource) bind(it *item, k columnKind, v any, text string) (any, error) {
	switch it.Type {
	case hutong.TypeInteger, hutong.TypeDecimal:
		return v, nil
	case hutong.TypeBoolean:
		if k == kindInteger {
			if v == true {
				return int64(1), nil
			}
			return int64(0), nil
		}
		return v, nil
	case hutong.TypeDate:
		if k == kindDate && s.driver == DriverPostgres {
			d, err := time.Parse(time.DateOnly, text)
			if err != nil {
				return nil, hutong.Errorf(hutong.EINVALID, "condition on %s: %v", it.Name, err)
			}
			return d, nil
		}
		return text, nil
	case hutong.TypeDateTime:
		if k == kindNaive || k == kindInstant {
			t, err := time.Parse(time.RFC3339, text)
			if err != nil {
				return nil, hutong.Errorf(hutong.EINVALID, "condition on %s: %v", it.Name, err)
			}
			return t.In(chinaTime), nil
		}
		return text, nil
	}
	return text, nil
}

// stmt returns a prepared statement for text, kept for the next call with
// the same shape while fewer than maxStmts are kept. done releases it.
func (s *sqlSource) stmt(ctx context.Context, text string) (st *sql.Stmt, done func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stmts == nil {
		return nil, nil, hutong.Errorf(hutong.EUNAVAILABLE, "the source is closed")
	}
	if st, ok := s.stmts[text]; ok {
		return st, func() {}, nil
	}
	st, err = s.db.PrepareContext(ctx, text)
	if err != nil {
		return nil, nil, err
	}
	if len(s.stmts) >= maxStmts {
		return st, func() { st.Close() }, nil
	}
	s.stmts[text] = st
	return st, func() {}, nil
}

// Read streams the rows of the table that match q in key order.
func (s *sqlSource) Read(ctx context.Context, q hutong.SourceQuery, yield func(hutong.SourceRow) error) error {
	rq, err := s.set.resolve(q)
	if err != nil {
		return err
	}
	p, err := s.plan(rq, false)
	if err != nil {
		return err
	}
	st, done, err := s.stmt(ctx, p.SQL)
	if err != nil {
		return s.fail(ctx, "prepare read", err)
	}
	defer done()
	rows, err := st.QueryContext(ctx, p.Args...)
	if err != nil {
		return s.fail(ctx, "read", err)
	}
	defer rows.Close()
	n := len(rq.fields)
	vals := make([]any, n+1)
	dest := make([]any, n+1)
	for i := range dest {
		dest[i] = &vals[i]
	}
	items := make([]*item, n)
	naive := make([]bool, n)
	for i, f := range rq.fields {
		items[i] = &s.set.items[f]
		k := s.kinds[f]
		naive[i] = k == kindDate || k == kindNaive
	}
	// Values are handed out of shared chunks, as in csvSource.Read.
	const chunkRows = 256
	var chunk []any
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return s.fail(ctx, "scan", err)
		}
		key, err := keyValue(vals[0])
		if err != nil {
			return s.fail(ctx, "scan", err)
		}
		if len(chunk) < n || chunk == nil {
			chunk = make([]any, max(n*chunkRows, 1))
		}
		out := chunk[:n:n]
		chunk = chunk[n:]
		for i, it := range items {
			text, ok := naturalText(it, vals[i+1], naive[i])
			if !ok {
				continue
			}
			v, err := canonical(it, text)
			if err != nil {
				return badValue(key, "", it, err)
			}
			out[i] = v
		}
		if err := yield(hutong.SourceRow{Key: key, Values: out}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.fail(ctx, "read", err)
	}
	return nil
}

// keyValue converts a scanned key to int64.
func keyValue(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case uint64:
		if x <= 1<<63-1 {
			return int64(x), nil
		}
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("key value %v (%T) is not an int64", v, v)
}

// Count returns the number of rows with a positive key that match q's
// conditions.
func (s *sqlSource) Count(ctx context.Context, q hutong.SourceQuery) (int64, error) {
	rq, err := s.set.resolve(q)
	if err != nil {
		return 0, err
	}
	p, err := s.plan(rq, true)
	if err != nil {
		return 0, err
	}
	st, done, err := s.stmt(ctx, p.SQL)
	if err != nil {
		return 0, s.fail(ctx, "prepare count", err)
	}
	defer done()
	var n int64
	if err := st.QueryRowContext(ctx, p.Args...).Scan(&n); err != nil {
		return 0, s.fail(ctx, "count", err)
	}
	return n, nil
}

// Items returns the source's items.
func (s *sqlSource) Items() []hutong.Item { return s.set.publication() }

// Close closes the prepared statements and the connection pool.
func (s *sqlSource) Close() error {
	s.mu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
	s.mu.Unlock()
	return s.db.Close()
}

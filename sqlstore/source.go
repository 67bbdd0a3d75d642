package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlplan"
	"github.com/hutong/hutong/standard"
)

var _ hutong.Source = (*Rows)(nil)

// maxIndexes bounds the indexes of one row table.
const maxIndexes = 6

// indexable reports whether an item's column gets an index: required items
// (the keys people look records up by) and dates, which queries range over.
func indexable(it hutong.Item) bool {
	return it.Required || it.Type == hutong.TypeDate || it.Type == hutong.TypeDateTime
}

// createRowIndexes indexes the columns people look rows up by. It is
// idempotent, so opening a store brings older row tables up to date.
func (db *DB) createRowIndexes(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, id int64, items []hutong.Item) error {
	n := 0
	for i, it := range items {
		if !indexable(it) || n == maxIndexes {
			continue
		}
		n++
		q := fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s_%s ON %s (%s)", rowTable(id), column(i), rowTable(id), column(i))
		if _, err := ex.ExecContext(ctx, q); err != nil {
			return internal(fmt.Errorf("index %s.%s: %w", rowTable(id), column(i), err))
		}
	}
	return nil
}

// resourceCache holds the catalog's resources by code, with their internal
// ids and, for hub-held ones, their row tables as the planner sees them:
// the exchange looks one up on every call. Entries are dropped when the
// resource changes through this store.
type resourceCache struct {
	mu sync.RWMutex
	m  map[string]cachedEntry
}

// cachedEntry is a cached resource and its row table, nil unless the
// resource is held by the hub. Neither is modified once cached.
type cachedEntry struct {
	r     *storedResource
	table *rowSource
}

func (c *resourceCache) entry(code string) (cachedEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[code]
	return e, ok
}

func (c *resourceCache) get(code string) *storedResource {
	e, _ := c.entry(code)
	return e.r
}

func (c *resourceCache) put(e cachedEntry) {
	c.mu.Lock()
	if c.m == nil || len(c.m) > 100_000 {
		c.m = map[string]cachedEntry{}
	}
	c.m[e.r.Code] = e
	c.mu.Unlock()
}

func (c *resourceCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

func (c *resourceCache) drop(code string) {
	c.mu.Lock()
	delete(c.m, code)
	c.mu.Unlock()
}

// cachedResource returns a resource from the cache, loading it on a miss.
// The caller must not modify it.
func (db *DB) cachedResource(ctx context.Context, code string) (*storedResource, error) {
	e, err := db.cachedEntry(ctx, code)
	return e.r, err
}

// cachedEntry returns a resource and its row table from the cache,
// loading them on a miss.
func (db *DB) cachedEntry(ctx context.Context, code string) (cachedEntry, error) {
	if e, ok := db.resources.entry(code); ok {
		return e, nil
	}
	if !validCode(code) {
		return cachedEntry{}, hutong.Errorf(hutong.ENOTFOUND, "resource %q not found", code)
	}
	r, err := db.storedResource(ctx, db.ro, code)
	if err != nil {
		return cachedEntry{}, err
	}
	e := cachedEntry{r: r}
	if r.Hosted == hutong.HostedHub {
		e.table = newRowSource(r)
	}
	db.resources.put(e)
	return e, nil
}

// forget drops a resource's cached entry and prepared statements after it
// changed.
func (db *DB) forget(code string, id int64) {
	db.resources.drop(code)
	db.stmts.purge(rowTable(id))
}

// stmtCache keeps prepared read statements per row table, so the hot path
// does not parse SQL; a table's statements go when its schema changes.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]map[string]*sql.Stmt // table → query → statement
	n  int
}

const maxStmts = 1024

func (c *stmtCache) get(ctx context.Context, db *sql.DB, table, query string) (*sql.Stmt, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[table][query]; ok {
		return st, true, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	if c.n >= maxStmts {
		return st, false, nil // the caller closes it after use
	}
	if c.m == nil {
		c.m = map[string]map[string]*sql.Stmt{}
	}
	if c.m[table] == nil {
		c.m[table] = map[string]*sql.Stmt{}
	}
	c.m[table][query] = st
	c.n++
	return st, true, nil
}

func (c *stmtCache) purge(table string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m[table] {
		st.Close()
		c.n--
	}
	delete(c.m, table)
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, qs := range c.m {
		for _, st := range qs {
			st.Close()
		}
	}
	c.m, c.n = nil, 0
}

// rowSource is a hub-held resource's row table as the planner sees it:
// rows_<id>, keyed by row_id, with a column c<i> per item. Its identifiers
// come from the resource's internal id and item positions, never from a
// query.
type rowSource struct {
	table sqlplan.Table
	index map[string]int // item name → position
}

func newRowSource(r *storedResource) *rowSource {
	s := &rowSource{
		table: sqlplan.Table{Name: rowTable(r.id), Key: "row_id", Columns: make([]sqlplan.Column, len(r.Items))},
		index: make(map[string]int, len(r.Items)),
	}
	for i, it := range r.Items {
		s.table.Columns[i] = sqlplan.Column{Name: column(i)}
		s.index[it.Name] = i
	}
	return s
}

// planDialect is how the planner writes SQL for the hub's engine. A prefix
// compares characters with substr on both engines: exact, and whole
// characters of a Chinese prefix.
func (db *DB) planDialect() sqlplan.Dialect {
	return sqlplan.Dialect{Dollar: db.d.Dollar, Prefix: sqlplan.PrefixSubstr}
}

// readable returns the cached resource of code and its row table; a
// resource that the hub does not hold is ENOTFOUND.
func (db *DB) readable(ctx context.Context, code string) (*storedResource, *rowSource, error) {
	e, err := db.cachedEntry(ctx, code)
	if err != nil {
		return nil, nil, err
	}
	if e.table == nil {
		return nil, nil, hutong.Errorf(hutong.ENOTFOUND, "resource %s is not held by the hub", e.r.Code)
	}
	return e.r, e.table, nil
}

// resolve turns q into the planner's query over r's row table: items by
// position, condition values as bind arguments of their columns' types.
// A name that is not an item, or a value its element refuses, is EINVALID.
func (db *DB) resolve(r *storedResource, s *rowSource, q hutong.SourceQuery) (sqlplan.Query, error) {
	pq := sqlplan.Query{After: q.After, Limit: q.Limit, Columns: make([]int, len(q.Fields))}
	for k, f := range q.Fields {
		i, ok := s.index[f]
		if !ok {
			return pq, hutong.Errorf(hutong.EINVALID, "%q is not an item of %s", f, r.Code)
		}
		pq.Columns[k] = i
	}
	if len(q.Where) > 0 {
		pq.Where = make([]sqlplan.Condition, len(q.Where))
	}
	for k, c := range q.Where {
		i, ok := s.index[c.Field]
		if !ok {
			return pq, hutong.Errorf(hutong.EINVALID, "%q is not an item of %s", c.Field, r.Code)
		}
		args := make([]any, len(c.Values))
		for j, v := range c.Values {
			a, err := db.bindValue(r.Items[i], c.Op, v)
			if err != nil {
				return pq, err
			}
			args[j] = a
		}
		pq.Where[k] = sqlplan.Condition{Column: i, Op: c.Op, Values: args}
	}
	return pq, nil
}

// bindValue turns a condition value (canonical text) into a bind argument
// of the item's column type. A prefix stays text: the planner compares it.
func (db *DB) bindValue(it hutong.Item, op hutong.Op, v string) (any, error) {
	if op == hutong.OpPrefix {
		return v, nil
	}
	el, ok := standard.LookupElement(it.Element)
	if !ok {
		return nil, hutong.Errorf(hutong.EINVALID, "item %s maps to unknown element %s", it.Name, it.Element)
	}
	val, err := standard.Parse(el, v)
	if err != nil {
		return nil, &hutong.Error{Code: hutong.EINVALID, Message: fmt.Sprintf("value %q of %s: %v", v, it.Name, err)}
	}
	return db.d.Encode(it.Type, val), nil
}

// Read streams the rows of a hub-hosted resource that match q.
func (s *Rows) Read(ctx context.Context, res *hutong.Resource, q hutong.SourceQuery, yield func(hutong.SourceRow) error) error {
	r, src, err := s.db.readable(ctx, res.Code)
	if err != nil {
		return err
	}
	pq, err := s.db.resolve(r, src, q)
	if err != nil {
		return err
	}
	st, err := s.db.planDialect().Select(&src.table, pq)
	if err != nil {
		return err
	}
	prepared, cached, err := s.db.stmts.get(ctx, s.db.ro, src.table.Name, st.SQL)
	if err != nil {
		return internal(fmt.Errorf("prepare read of %s: %w", r.Code, err))
	}
	if !cached {
		defer prepared.Close()
	}
	rows, err := prepared.QueryContext(ctx, st.Args...)
	if err != nil {
		return internal(fmt.Errorf("read %s: %w", r.Code, err))
	}
	defer rows.Close()
	n := len(pq.Columns)
	dest := make([]any, n+1)
	vals := make([]any, n+1)
	for i := range dest {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return internal(fmt.Errorf("scan %s: %w", r.Code, err))
		}
		key, ok := vals[0].(int64)
		if !ok {
			return internal(fmt.Errorf("row key of %s is %T", r.Code, vals[0]))
		}
		out := make([]any, n)
		for i, c := range pq.Columns {
			if vals[i+1] != nil {
				out[i] = s.db.d.Decode(r.Items[c].Type, vals[i+1])
			}
		}
		if err := yield(hutong.SourceRow{Key: key, Values: out}); err != nil {
			return err
		}
	}
	return internal(rows.Err())
}

// Count returns the number of rows that match q.
func (s *Rows) Count(ctx context.Context, res *hutong.Resource, q hutong.SourceQuery) (int64, error) {
	r, src, err := s.db.readable(ctx, res.Code)
	if err != nil {
		return 0, err
	}
	pq, err := s.db.resolve(r, src, q)
	if err != nil {
		return 0, err
	}
	st, err := s.db.planDialect().Count(&src.table, pq)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.db.ro.QueryRowContext(ctx, st.SQL, st.Args...).Scan(&n); err != nil {
		return 0, internal(fmt.Errorf("count %s: %w", r.Code, err))
	}
	return n, nil
}

// ensureRowIndexes brings the indexes of every row table up to date.
func (db *DB) ensureRowIndexes(ctx context.Context) error {
	rows, err := db.ro.QueryContext(ctx, `SELECT id, items FROM resources WHERE hosted = 'hub'`)
	if err != nil {
		return fmt.Errorf("row indexes: %w", err)
	}
	type table struct {
		id    int64
		items []hutong.Item
	}
	var tables []table
	for rows.Next() {
		var t table
		var items string
		if err := rows.Scan(&t.id, &items); err != nil {
			rows.Close()
			return fmt.Errorf("row indexes: %w", err)
		}
		if err := json.Unmarshal([]byte(items), &t.items); err != nil {
			rows.Close()
			return fmt.Errorf("row indexes of resource %s: %w", strconv.FormatInt(t.id, 10), err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	for _, t := range tables {
		if err := db.createRowIndexes(ctx, db.rw, t.id, t.items); err != nil {
			return err
		}
	}
	return nil
}

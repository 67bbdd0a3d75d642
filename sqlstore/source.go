package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/hutong/hutong"
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
// ids: the exchange looks one up on every call. Entries are dropped when the
// resource changes through this store.
type resourceCache struct {
	mu sync.RWMutex
	m  map[string]*storedResource
}

func (c *resourceCache) get(code string) *storedResource {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[code]
}

func (c *resourceCache) put(r *storedResource) {
	c.mu.Lock()
	if c.m == nil || len(c.m) > 100_000 {
		c.m = map[string]*storedResource{}
	}
	c.m[r.Code] = r
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
	if r := db.resources.get(code); r != nil {
		return r, nil
	}
	if !validCode(code) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "resource %q not found", code)
	}
	r, err := db.storedResource(ctx, db.ro, code)
	if err != nil {
		return nil, err
	}
	db.resources.put(r)
	return r, nil
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

// plan is a SELECT over a row table built from a SourceQuery: column names
// come from item positions, values travel as bind arguments.
type plan struct {
	table string
	where string
	args  []any
	cols  []int // item positions of the selected columns
	types []hutong.ValueType
}

func (db *DB) plan(r *storedResource, q hutong.SourceQuery) (*plan, error) {
	if r.Hosted != hutong.HostedHub {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "resource %s is not held by the hub", r.Code)
	}
	index := make(map[string]int, len(r.Items))
	for i, it := range r.Items {
		index[it.Name] = i
	}
	p := &plan{table: rowTable(r.id)}
	for _, f := range q.Fields {
		i, ok := index[f]
		if !ok {
			return nil, hutong.Errorf(hutong.EINVALID, "%q is not an item of %s", f, r.Code)
		}
		p.cols = append(p.cols, i)
		p.types = append(p.types, r.Items[i].Type)
	}
	var where []string
	for _, c := range q.Where {
		i, ok := index[c.Field]
		if !ok {
			return nil, hutong.Errorf(hutong.EINVALID, "%q is not an item of %s", c.Field, r.Code)
		}
		it := r.Items[i]
		col := column(i)
		args := make([]any, len(c.Values))
		for k, v := range c.Values {
			a, err := db.bindValue(it, c.Op, v)
			if err != nil {
				return nil, err
			}
			args[k] = a
		}
		switch c.Op {
		case hutong.OpEq:
			where = append(where, col+" = ?")
		case hutong.OpIn:
			where = append(where, col+" IN ("+placeholders(len(args))+")")
		case hutong.OpGt:
			where = append(where, col+" > ?")
		case hutong.OpGte:
			where = append(where, col+" >= ?")
		case hutong.OpLt:
			where = append(where, col+" < ?")
		case hutong.OpLte:
			where = append(where, col+" <= ?")
		case hutong.OpPrefix:
			where = append(where, "substr("+col+", 1, ?) = ?")
			args = append([]any{int64(len([]rune(c.Values[0])))}, args...)
		default:
			return nil, hutong.Errorf(hutong.EINVALID, "unknown operator %q", c.Op)
		}
		p.args = append(p.args, args...)
	}
	p.where = strings.Join(where, " AND ")
	return p, nil
}

// bindValue turns a condition value (canonical text) into a bind argument
// of the item's column type.
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
	r, err := s.db.cachedResource(ctx, res.Code)
	if err != nil {
		return err
	}
	p, err := s.db.plan(r, q)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("SELECT row_id")
	for _, c := range p.cols {
		b.WriteString(", ")
		b.WriteString(column(c))
	}
	b.WriteString(" FROM ")
	b.WriteString(p.table)
	b.WriteString(" WHERE row_id > ?")
	if p.where != "" {
		b.WriteString(" AND ")
		b.WriteString(p.where)
	}
	b.WriteString(" ORDER BY row_id")
	args := append([]any{q.After}, p.args...)
	if q.Limit > 0 {
		b.WriteString(" LIMIT ?")
		args = append(args, int64(q.Limit))
	}
	query := s.db.q(b.String())
	st, cached, err := s.db.stmts.get(ctx, s.db.ro, p.table, query)
	if err != nil {
		return internal(fmt.Errorf("prepare read of %s: %w", r.Code, err))
	}
	if !cached {
		defer st.Close()
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return internal(fmt.Errorf("read %s: %w", r.Code, err))
	}
	defer rows.Close()
	n := len(p.cols)
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
		for i := range n {
			if vals[i+1] != nil {
				out[i] = s.db.d.Decode(p.types[i], vals[i+1])
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
	r, err := s.db.cachedResource(ctx, res.Code)
	if err != nil {
		return 0, err
	}
	p, err := s.db.plan(r, q)
	if err != nil {
		return 0, err
	}
	query := "SELECT COUNT(*) FROM " + p.table
	if p.where != "" {
		query += " WHERE " + p.where
	}
	var n int64
	if err := s.db.ro.QueryRowContext(ctx, s.db.q(query), p.args...).Scan(&n); err != nil {
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

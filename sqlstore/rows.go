package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
)

// Rows implements hutong.RowService on the typed row tables.
//
// Each hub-hosted resource has one table, rows_ID, where ID is the
// resource's internal numeric id, with a surrogate key row_id and one column
// cN per information item N. Table and column names come only from those
// integers, never from anything a client sent.
type Rows struct{ db *DB }

var _ hutong.RowService = (*Rows)(nil)

// NewRows returns the row service of db.
func NewRows(db *DB) *Rows { return &Rows{db: db} }

func rowTable(id int64) string { return "rows_" + strconv.FormatInt(id, 10) }
func column(i int) string      { return "c" + strconv.Itoa(i) }

func (db *DB) createRowTable(ctx context.Context, tx *sql.Tx, id int64, items []hutong.Item) error {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (row_id %s", rowTable(id), db.d.RowID)
	for i, it := range items {
		fmt.Fprintf(&b, ", %s %s", column(i), db.d.ColumnType(it.Type))
	}
	b.WriteString(")")
	if _, err := tx.ExecContext(ctx, b.String()); err != nil {
		return internal(fmt.Errorf("create %s: %w", rowTable(id), err))
	}
	return db.createRowIndexes(ctx, tx, id, items)
}

func (db *DB) dropRowTable(ctx context.Context, tx *sql.Tx, id int64) error {
	if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+rowTable(id)); err != nil {
		return internal(fmt.Errorf("drop %s: %w", rowTable(id), err))
	}
	return nil
}

// ImportRows validates and stores the rows of src, all or none.
func (s *Rows) ImportRows(ctx context.Context, code string, src hutong.RowReader, mode hutong.ImportMode) (*hutong.ImportResult, error) {
	switch mode {
	case "":
		mode = hutong.ImportAppend
	case hutong.ImportAppend, hutong.ImportReplace:
	default:
		return nil, hutong.Errorf(hutong.EINVALID, "mode %q must be append or replace", mode)
	}
	if !validCode(code) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "resource %q not found", code)
	}
	res, err := s.db.storedResource(ctx, s.db.ro, code)
	if err != nil {
		return nil, err
	}
	if !hutong.ActorFromContext(ctx).CanManage(res.Provider, res.Region) {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "%s may not import rows into %s", hutong.ActorFromContext(ctx), code)
	}
	if res.Hosted != hutong.HostedHub {
		return nil, hutong.Errorf(hutong.ECONFLICT, "resource %s is hosted at its region's node; rows stay there", code)
	}

	// Read and validate the whole body first, into a spool file of
	// canonical values, and take the write transaction only to insert: a
	// client sending slowly must not hold the database's writer (on
	// SQLite, the only one) while it sends.
	v, err := newRowValidator(res.Items)
	if err != nil {
		return nil, internal(err)
	}
	sp, err := newSpool()
	if err != nil {
		return nil, internal(err)
	}
	defer sp.close()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		num, raw, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if hutong.ErrorCode(err) != hutong.EINVALID {
				return nil, err
			}
			v.add(hutong.Violation{Row: num, Rule: "syntax", Message: hutong.ErrorMessage(err)})
			if v.tooMany() {
				break
			}
			continue
		}
		vals, ok := v.row(num, raw)
		if v.tooMany() {
			break
		}
		if !ok || len(v.violations) > 0 {
			continue // keep validating; nothing will be stored
		}
		if err := sp.write(vals); err != nil {
			return nil, internal(err)
		}
	}
	if len(v.violations) > 0 {
		return nil, v.err()
	}
	if v.rows == 0 {
		return nil, hutong.Errorf(hutong.EINVALID, "the file has no data rows")
	}
	if err := sp.rewind(); err != nil {
		return nil, internal(err)
	}

	var result hutong.ImportResult
	err = s.db.tx(ctx, func(tx *sql.Tx) error {
		// Lock the resource row first, so that a concurrent change of its
		// items waits for the import, and check that the items are those
		// the rows were validated against.
		if err := s.db.announce(ctx, tx, noticeResource, code); err != nil { // its row count changes
			return err
		}
		cur, err := s.db.storedResource(ctx, tx, code)
		if err != nil {
			return err
		}
		if cur.id != res.id || !sameItems(cur.Items, res.Items) {
			return hutong.Errorf(hutong.ECONFLICT, "resource %s changed during the import; try again", code)
		}
		if _, err := tx.ExecContext(ctx, s.db.q(`UPDATE resources SET updated_at = ? WHERE id = ?`), utc(s.db.now()), res.id); err != nil {
			return internal(err)
		}
		if mode == hutong.ImportReplace {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+rowTable(res.id)); err != nil {
				return internal(err)
			}
		}
		var before sql.NullInt64 // rows after it are the import's
		if err := tx.QueryRowContext(ctx, "SELECT MAX(row_id) FROM "+rowTable(res.id)).Scan(&before); err != nil {
			return internal(err)
		}
		ins := s.db.newInserter(tx, res.id, res.Items)
		vals := make([]any, len(res.Items))
		for range v.rows {
			if err := sp.read(vals); err != nil {
				return internal(fmt.Errorf("spooled rows: %w", err))
			}
			if err := ins.add(ctx, vals); err != nil {
				return err
			}
		}
		if err := ins.flush(ctx); err != nil {
			return err
		}
		op := hutong.OpInsert
		if mode == hutong.ImportReplace {
			op = hutong.OpSnapshot
		}
		if err := s.db.captureChanges(ctx, tx, res, op, before.Int64, sp); err != nil {
			return err
		}
		result.Imported = int64(v.rows)
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+rowTable(res.id)).Scan(&result.TotalRows); err != nil {
			return internal(err)
		}
		_, err = tx.ExecContext(ctx, s.db.q(`UPDATE resources SET row_count = ? WHERE id = ?`), result.TotalRows, res.id)
		return internal(err)
	})
	s.db.resources.drop(code) // its row count changed
	if err != nil {
		return nil, err
	}
	return &result, nil
}

// maxUnknownItems bounds the unknown item names a validator remembers (so
// it reports each once): a file may name a new one on every row.
const maxUnknownItems = 100

// shorten cuts a name from a file to 64 runes for a report.
func shorten(s string) string {
	n := 0
	for i := range s {
		if n == 64 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// rowValidator checks imported rows against a resource's items.
type rowValidator struct {
	items      []hutong.Item
	elements   []hutong.Element
	index      map[string]int // item name → position
	unknown    map[string]bool
	violations []hutong.Violation
	extra      int // violations beyond the cap
	rows       int
}

func newRowValidator(items []hutong.Item) (*rowValidator, error) {
	v := &rowValidator{items: items, index: map[string]int{}, unknown: map[string]bool{}}
	for i, it := range items {
		el, ok := standard.LookupElement(it.Element)
		if !ok {
			return nil, fmt.Errorf("item %q maps to unknown element %q", it.Name, it.Element)
		}
		v.elements = append(v.elements, el)
		v.index[it.Name] = i
	}
	return v, nil
}

func (v *rowValidator) add(vi hutong.Violation) {
	if len(v.violations) < hutong.MaxViolations {
		v.violations = append(v.violations, vi)
	} else {
		v.extra++
	}
}

// tooMany reports whether validation can stop: the report is full and
// reading on would only count.
func (v *rowValidator) tooMany() bool { return v.extra > 100*hutong.MaxViolations }

// row validates one raw row and returns its canonical values in item order.
func (v *rowValidator) row(num int, raw map[string]string) ([]any, bool) {
	v.rows++
	ok := true
	for name := range raw {
		if _, known := v.index[name]; !known && !v.unknown[name] {
			if len(v.unknown) < maxUnknownItems {
				v.unknown[name] = true
			}
			short := shorten(name)
			v.add(hutong.Violation{Row: num, Field: short, Rule: "unknown_item", Message: fmt.Sprintf("%q is not an information item of this resource", short)})
			ok = false
		}
	}
	vals := make([]any, len(v.items))
	for i, it := range v.items {
		s := strings.TrimSpace(raw[it.Name])
		if s == "" {
			if it.Required {
				v.add(hutong.Violation{Row: num, Field: it.Name, Rule: "required", Message: fmt.Sprintf("%s is required", it.Name)})
				ok = false
			}
			continue
		}
		val, err := standard.Parse(v.elements[i], s)
		if err != nil {
			v.add(ruleViolation(num, it.Name, err))
			ok = false
			continue
		}
		vals[i] = val
	}
	return vals, ok
}

func (v *rowValidator) err() error {
	total := len(v.violations) + v.extra
	summary := fmt.Sprintf("rows rejected, nothing imported (%d problems", total)
	if v.extra > 0 {
		summary += fmt.Sprintf(", the first %d listed", len(v.violations))
	}
	return hutong.Invalid(summary+")", v.violations)
}

// inserter writes rows in multi-row INSERT batches.
type inserter struct {
	db    *DB
	tx    *sql.Tx
	types []hutong.ValueType
	table string
	cols  int
	batch int
	args  []any
	n     int
	stmt  *sql.Stmt
}

func (db *DB) newInserter(tx *sql.Tx, id int64, items []hutong.Item) *inserter {
	cols := len(items)
	types := make([]hutong.ValueType, cols)
	for i, it := range items {
		types[i] = it.Type
	}
	batch := min(500, db.d.MaxParams/max(cols, 1))
	return &inserter{db: db, tx: tx, types: types, table: rowTable(id), cols: cols, batch: batch, args: make([]any, 0, batch*cols)}
}

func (ins *inserter) statement(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + ins.table + " (")
	for i := range ins.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(column(i))
	}
	b.WriteString(") VALUES ")
	tuple := "(" + placeholders(ins.cols) + ")"
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tuple)
	}
	return ins.db.q(b.String())
}

func (ins *inserter) add(ctx context.Context, vals []any) error {
	for i, v := range vals {
		if v != nil {
			v = ins.db.d.Encode(ins.types[i], v)
		}
		ins.args = append(ins.args, v)
	}
	ins.n++
	if ins.n < ins.batch {
		return nil
	}
	if ins.stmt == nil {
		st, err := ins.tx.PrepareContext(ctx, ins.statement(ins.batch))
		if err != nil {
			return internal(err)
		}
		ins.stmt = st
	}
	if _, err := ins.stmt.ExecContext(ctx, ins.args...); err != nil {
		return internal(fmt.Errorf("insert into %s: %w", ins.table, err))
	}
	ins.args, ins.n = ins.args[:0], 0
	return nil
}

func (ins *inserter) flush(ctx context.Context) error {
	if ins.stmt != nil {
		defer ins.stmt.Close()
	}
	if ins.n == 0 {
		return nil
	}
	if _, err := ins.tx.ExecContext(ctx, ins.statement(ins.n), ins.args...); err != nil {
		return internal(fmt.Errorf("insert into %s: %w", ins.table, err))
	}
	ins.args, ins.n = ins.args[:0], 0
	return nil
}

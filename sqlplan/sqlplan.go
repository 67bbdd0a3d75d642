package sqlplan

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hutong/hutong"
)

// Dialect is how an engine writes what the planner writes.
type Dialect struct {
	// Dollar numbers placeholders $1, $2 … (PostgreSQL); otherwise each
	// is "?".
	Dollar bool
	// Prefix is how a prefix condition compares.
	Prefix Prefix
	// Casts writes a PostgreSQL cast after each placeholder whose type is
	// known: int8 for the key bound and the limit, Column.Cast for
	// values. Without one PostgreSQL gives a parameter its column's type,
	// and an int8 value does not fit an int4 column's.
	Casts bool
}

// Prefix is a way of writing a prefix condition.
type Prefix int

const (
	// PrefixSubstr writes substr(column, 1, n) = prefix, n being the
	// prefix's length in characters (its arguments are n, then the
	// prefix): exact where SQLite's LIKE ignores ASCII case, and it
	// compares whole characters of a Chinese prefix.
	PrefixSubstr Prefix = iota
	// PrefixLike writes column LIKE pattern ESCAPE '!', the pattern being
	// the prefix with !, % and _ escaped by ! and then %, so that an index
	// on the column can serve it.
	PrefixLike
)

// Table describes a table or view to the planner. Its strings are SQL
// text written as they are: the caller builds them from its own
// configuration, never from a query. A Table is not modified by the
// planner and may be shared by concurrent calls.
type Table struct {
	// Name is the table, quoted as it needs.
	Name string
	// Key is the integer column that orders the rows and pages them.
	Key string
	// PositiveKeys says that rows whose key is not positive are not read:
	// Count leaves them out, as Select does from an After of 0 or more.
	// A table whose keys are positive by construction leaves it false,
	// so that a count without conditions may use any index.
	PositiveKeys bool
	// Columns are the columns queries name by position.
	Columns []Column
}

// Column is a column of a Table as queries read and compare it.
type Column struct {
	// Name is the column, quoted as it needs. Prefix conditions test it,
	// as does the empty-text test of EmptyIsMissing.
	Name string
	// Select is the expression a SELECT reads; Name when empty.
	Select string
	// Compare is the expression that eq, in and the range operators
	// compare with their values; Name when empty. It lets a caller
	// compare a normalised form of what the column holds.
	Compare string
	// Cast is the type the column's values are bound as, written after
	// their placeholders when the dialect Casts ("int8", "numeric"); none
	// when empty.
	Cast string
	// EmptyIsMissing says that the column holds text in which '' is a
	// missing value: lt and lte then also require Name <> '', because a
	// missing value meets no condition and '' sorts before every value.
	EmptyIsMissing bool
}

// Query is a hutong.SourceQuery resolved by the caller against a Table.
type Query struct {
	Columns []int       // positions in Table.Columns of the columns read, in order
	Where   []Condition // ANDed
	After   int64       // keyset paging: rows whose key is greater
	Limit   int         // at most this many rows when > 0
}

// Condition is a hutong.Condition on a column of a Table.
type Condition struct {
	Column int // position in Table.Columns
	Op     hutong.Op
	// Values are bind arguments, converted by the caller to what the
	// column stores: one for eq and the range operators, one or more for
	// in. A prefix has one string, the prefix itself, which the planner
	// turns into the arguments of its comparison.
	Values []any
}

// Statement is SQL text with its bind arguments, in placeholder order.
type Statement struct {
	SQL  string
	Args []any
}

// keyCast is the type of the key bound and the limit when the dialect
// casts: keys and limits are int64.
const keyCast = "int8"

// Select writes the SELECT of q: the key and q's columns of the rows whose
// key is greater than q.After and that meet every condition, in key order,
// at most q.Limit of them when it is positive. It returns an EINVALID
// error for an unknown operator, a condition with the wrong number of
// values or a prefix that is not a string, and an EINTERNAL one for a
// position outside t.Columns.
func (d Dialect) Select(t *Table, q Query) (Statement, error) {
	var w writer
	w.init(d, t, q, 2)
	w.b.WriteString("SELECT ")
	w.b.WriteString(t.Key)
	for _, i := range q.Columns {
		c, err := column(t, i)
		if err != nil {
			return Statement{}, err
		}
		w.b.WriteString(", ")
		if c.Select != "" {
			w.b.WriteString(c.Select)
		} else {
			w.b.WriteString(c.Name)
		}
	}
	w.b.WriteString(" FROM ")
	w.b.WriteString(t.Name)
	w.b.WriteString(" WHERE ")
	w.b.WriteString(t.Key)
	w.b.WriteString(" > ")
	w.param(q.After, keyCast)
	for _, c := range q.Where {
		w.b.WriteString(" AND ")
		if err := w.condition(t, c); err != nil {
			return Statement{}, err
		}
	}
	w.b.WriteString(" ORDER BY ")
	w.b.WriteString(t.Key)
	if q.Limit > 0 {
		w.b.WriteString(" LIMIT ")
		w.param(int64(q.Limit), keyCast)
	}
	return Statement{SQL: w.b.String(), Args: w.args}, nil
}

// Count writes the SELECT COUNT(*) of the rows that meet q's conditions
// (and have a positive key, when t.PositiveKeys): the rows a Select from
// the start without a limit would read. q.Columns, q.After and q.Limit do
// not count. Its errors are those of Select.
func (d Dialect) Count(t *Table, q Query) (Statement, error) {
	var w writer
	w.init(d, t, Query{Where: q.Where}, 0)
	w.b.WriteString("SELECT COUNT(*) FROM ")
	w.b.WriteString(t.Name)
	and := " WHERE "
	if t.PositiveKeys {
		w.b.WriteString(" WHERE ")
		w.b.WriteString(t.Key)
		w.b.WriteString(" > 0")
		and = " AND "
	}
	for _, c := range q.Where {
		w.b.WriteString(and)
		and = " AND "
		if err := w.condition(t, c); err != nil {
			return Statement{}, err
		}
	}
	return Statement{SQL: w.b.String(), Args: w.args}, nil
}

// writer accumulates a statement's text and arguments.
type writer struct {
	d    Dialect
	b    strings.Builder
	args []any
}

// init readies w for q, with room for extra arguments besides the
// conditions'.
func (w *writer) init(d Dialect, t *Table, q Query, extra int) {
	n := extra
	for _, c := range q.Where {
		n += len(c.Values) + 1 // a prefix may take two
	}
	w.d = d
	w.args = make([]any, 0, n)
	w.b.Grow(64 + len(t.Name) + 2*len(t.Key) + 16*len(q.Columns) + 32*len(q.Where))
}

// param adds a bind argument and writes its placeholder, with cast when
// the dialect casts and cast is not empty.
func (w *writer) param(v any, cast string) {
	w.args = append(w.args, v)
	if !w.d.Dollar {
		w.b.WriteByte('?')
	} else {
		w.b.WriteByte('$')
		w.b.WriteString(strconv.Itoa(len(w.args)))
	}
	if w.d.Casts && cast != "" {
		w.b.WriteString("::")
		w.b.WriteString(cast)
	}
}

// comparison returns the SQL of an operator that compares a column with
// one value, or "" when op is not one.
func comparison(op hutong.Op) string {
	switch op {
	case hutong.OpEq:
		return " = "
	case hutong.OpGt:
		return " > "
	case hutong.OpGte:
		return " >= "
	case hutong.OpLt:
		return " < "
	case hutong.OpLte:
		return " <= "
	}
	return ""
}

// condition writes one condition.
func (w *writer) condition(t *Table, c Condition) error {
	col, err := column(t, c.Column)
	if err != nil {
		return err
	}
	lhs := col.Compare
	if lhs == "" {
		lhs = col.Name
	}
	switch c.Op {
	case hutong.OpPrefix:
		if len(c.Values) != 1 {
			return hutong.Errorf(hutong.EINVALID, "prefix takes one value, got %d", len(c.Values))
		}
		prefix, ok := c.Values[0].(string)
		if !ok {
			return hutong.Errorf(hutong.EINVALID, "a prefix is text, got %T", c.Values[0])
		}
		switch w.d.Prefix {
		case PrefixSubstr:
			w.b.WriteString("substr(")
			w.b.WriteString(col.Name)
			w.b.WriteString(", 1, ")
			w.param(int64(utf8.RuneCountInString(prefix)), "")
			w.b.WriteString(") = ")
			w.param(prefix, "")
		case PrefixLike:
			w.b.WriteString(col.Name)
			w.b.WriteString(" LIKE ")
			w.param(likePrefix.Replace(prefix)+"%", "")
			w.b.WriteString(" ESCAPE '!'")
		default:
			return hutong.Internal(fmt.Errorf("sqlplan: unknown prefix style %d", w.d.Prefix))
		}
		return nil
	case hutong.OpIn:
		if len(c.Values) == 0 {
			return hutong.Errorf(hutong.EINVALID, "in takes one or more values, got none")
		}
		w.b.WriteString(lhs)
		w.b.WriteString(" IN (")
		for i, v := range c.Values {
			if i > 0 {
				w.b.WriteString(", ")
			}
			w.param(v, col.Cast)
		}
		w.b.WriteString(")")
		return nil
	}
	op := comparison(c.Op)
	if op == "" {
		return hutong.Errorf(hutong.EINVALID, "unknown operator %q", c.Op)
	}
	if len(c.Values) != 1 {
		return hutong.Errorf(hutong.EINVALID, "%s takes one value, got %d", c.Op, len(c.Values))
	}
	w.b.WriteString(lhs)
	w.b.WriteString(op)
	w.param(c.Values[0], col.Cast)
	if col.EmptyIsMissing && (c.Op == hutong.OpLt || c.Op == hutong.OpLte) {
		w.b.WriteString(" AND ")
		w.b.WriteString(col.Name)
		w.b.WriteString(" <> ''")
	}
	return nil
}

// likePrefix escapes the pattern characters of LIKE with '!'.
var likePrefix = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

// column returns the column at position i of t.
func column(t *Table, i int) (*Column, error) {
	if i < 0 || i >= len(t.Columns) {
		return nil, hutong.Internal(fmt.Errorf("sqlplan: column %d of a table of %d", i, len(t.Columns)))
	}
	return &t.Columns[i], nil
}

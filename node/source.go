// Package node is hutong's region node (区域节点): the process that keeps a
// region's data where it lives (数据不出域) and answers the hub's planned
// queries over it.
//
// The local sources (OpenSource) read the departments' own tables in
// PostgreSQL, MySQL/MariaDB or SQLite, or their CSV files. A source reads
// only what its configuration names: table, key and column identifiers come
// from the configuration and are checked against a strict pattern and
// quoted; the values of a query travel as bind arguments, or are compared
// in Go for CSV. Every value read is checked against its data element
// before it leaves the node.
package node

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
)

// Source drivers.
const (
	DriverPostgres = "postgres" // PostgreSQL through pgx
	DriverMySQL    = "mysql"    // MySQL or MariaDB through go-sql-driver/mysql
	DriverSQLite   = "sqlite"   // an SQLite file, opened read-only
	DriverCSV      = "csv"      // a CSV file with a header row
)

// ItemColumn maps an information item to a column of the source.
type ItemColumn struct {
	Name     string `json:"name"`    // the item's name in the catalog (e.g. 姓名)
	Column   string `json:"column"`  // the column in the table, or the CSV header
	Element  string `json:"element"` // standard data element id (e.g. person_name)
	Required bool   `json:"required,omitempty"`
}

// SourceConfig says where a node-hosted resource's rows live.
//
// For SQL drivers Table, Key and the items' columns are identifiers of
// ASCII letters, digits and underscores (at most 63 characters); PostgreSQL
// tables may carry one schema qualifier ("public.insured"). They are quoted,
// so on PostgreSQL their case must match the table's. Key is an
// integer column, ideally the primary key: its values order and page the
// rows, so they must be unique and positive; rows whose key is NULL or not
// positive are never read. Table may be a view, which is how a department
// publishes a column whose type does not fit its item (cast it in the
// view).
//
// A column's type must fit its item's value type, so that comparisons mean
// what they mean in Go: text columns for text items; integer columns for
// integers; numeric or integer columns for decimals; DATE or text
// (YYYY-MM-DD) for dates; TIMESTAMP, TIMESTAMPTZ, DATETIME or text for
// date-times (text compares exactly in canonical RFC 3339 UTC form, except
// on SQLite, which converts any form it reads); BOOLEAN or integer (1/0)
// for yes/no items. Date-times without a zone (PostgreSQL TIMESTAMP, MySQL
// DATETIME, text without an offset) are China Standard Time; a MySQL DSN
// that sets neither loc nor time_zone gets both set to UTC+8.
//
// A CSV file has a header row; an item's Column is a header name. A row's
// key is its 1-based number among the data records (the header is record
// 0; blank lines do not count).
type SourceConfig struct {
	Driver string       `json:"driver"`          // "postgres", "mysql", "sqlite" or "csv"
	DSN    string       `json:"dsn,omitempty"`   // postgres: pgx DSN/URL; mysql: go-sql-driver DSN; sqlite: file path
	Table  string       `json:"table,omitempty"` // schema-qualified allowed for postgres ("public.insured")
	Key    string       `json:"key,omitempty"`   // an integer column that orders rows and pages them (SQL); CSV uses the record number
	File   string       `json:"file,omitempty"`  // csv: path of a UTF-8 (or GB18030) CSV file with a header row
	Items  []ItemColumn `json:"items"`
}

// LocalSource reads one node-hosted resource's rows where they live. It is
// safe for concurrent use.
type LocalSource interface {
	// Read calls yield for each row matching q, in key order (rows with key
	// > q.After, at most q.Limit when > 0), and stops at the first error
	// yield returns, which it returns. q.Fields and the Fields of q.Where
	// name items (ItemColumn.Name); values of Where are canonical text
	// (already checked by standard.CheckCondition on the hub; the source
	// checks them again). Values in SourceRow are canonical Go values as
	// standard.Parse returns them for the item's element (string, int64,
	// float64, bool; dates "2006-01-02", datetimes RFC 3339 UTC), nil when
	// missing (NULL, or empty text). A value that does not parse as its
	// element is an EINTERNAL error naming the key and column (the
	// department's data is broken; the node must not send garbage). A query
	// naming an unknown item or carrying a bad condition is EINVALID; an
	// unreachable database is EUNAVAILABLE.
	Read(ctx context.Context, q hutong.SourceQuery, yield func(hutong.SourceRow) error) error

	// Count returns the number of rows that match q's conditions, ignoring
	// After and Limit: the rows a Read from the start would yield. Errors
	// are those of Read.
	Count(ctx context.Context, q hutong.SourceQuery) (int64, error)

	// Items returns the resource's items (name, element, type and default
	// masking from the element, required) for publication.
	Items() []hutong.Item

	// Close releases the source's connections or memory. The source must
	// not be used after.
	Close() error
}

// chinaTime is China Standard Time, UTC+8 all year. Date-times stored
// without a zone (PostgreSQL TIMESTAMP, MySQL DATETIME, text without an
// offset) are read as China Standard Time, as standard.Parse reads them.
var chinaTime = time.FixedZone("CST", 8*3600)

// item is an information item of a source with its element resolved.
type item struct {
	hutong.Item
	el     hutong.Element
	column string
}

// itemSet is the items of a source by position and by name.
type itemSet struct {
	items []item
	index map[string]int
}

// query is a SourceQuery resolved against an itemSet.
type query struct {
	fields []int       // item positions, in the order of q.Fields
	where  []condition // ANDed
	after  int64
	limit  int
}

// condition is a checked hutong.Condition: the item it tests and its values
// both as canonical text and as canonical Go values.
type condition struct {
	item   int
	op     hutong.Op
	texts  []string
	values []any
}

// resolve checks q against the items: every field and condition must name
// an item, every condition must pass standard.CheckCondition again (the
// node trusts nobody's canonicalisation but its own). It returns EINVALID
// saying what is wrong.
func (s *itemSet) resolve(q hutong.SourceQuery) (*query, error) {
	if q.Limit < 0 {
		return nil, hutong.Errorf(hutong.EINVALID, "limit %d is negative", q.Limit)
	}
	r := &query{after: q.After, limit: q.Limit, fields: make([]int, len(q.Fields))}
	for i, f := range q.Fields {
		k, ok := s.index[f]
		if !ok {
			return nil, hutong.Errorf(hutong.EINVALID, "%q is not an item of this source", f)
		}
		r.fields[i] = k
	}
	for _, c := range q.Where {
		k, ok := s.index[c.Field]
		if !ok {
			return nil, hutong.Errorf(hutong.EINVALID, "condition on %q: not an item of this source", c.Field)
		}
		it := &s.items[k]
		cc, err := standard.CheckCondition(it.Item, c)
		if err != nil {
			return nil, hutong.Errorf(hutong.EINVALID, "condition on %s: %v", it.Name, err)
		}
		cond := condition{item: k, op: cc.Op, texts: cc.Values, values: make([]any, len(cc.Values))}
		for j, v := range cc.Values {
			if cc.Op == hutong.OpPrefix {
				cond.values[j] = v
				continue
			}
			pv, err := standard.Parse(it.el, v)
			if err != nil {
				return nil, hutong.Errorf(hutong.EINVALID, "condition on %s: %v", it.Name, err)
			}
			cond.values[j] = pv
		}
		r.where = append(r.where, cond)
	}
	return r, nil
}

// publication returns the items as the catalog publishes them.
func (s *itemSet) publication() []hutong.Item {
	out := make([]hutong.Item, len(s.items))
	for i, it := range s.items {
		out[i] = it.Item
	}
	return out
}

// OpenSource validates cfg and opens its source: connects (and pings) the
// database or checks the file and its header. Invalid configuration is an
// EINVALID error whose violations say which field is wrong (driver, dsn,
// table, key, file, items[i].name, items[i].element, items[i].column),
// including a table, key or column that does not exist or has a type that
// does not fit its item. A database that cannot be reached is EUNAVAILABLE.
func OpenSource(ctx context.Context, cfg SourceConfig) (LocalSource, error) {
	set, vs := checkConfig(cfg)
	if len(vs) > 0 {
		return nil, hutong.Invalid("invalid source configuration", vs)
	}
	switch cfg.Driver {
	case DriverCSV:
		return openCSV(cfg, set)
	default:
		return openSQL(ctx, cfg, set)
	}
}

// checkConfig checks what can be checked without opening the source and
// resolves the items' elements.
func checkConfig(cfg SourceConfig) (*itemSet, []hutong.Violation) {
	var vs []hutong.Violation
	bad := func(field, rule, format string, args ...any) {
		vs = append(vs, hutong.Violation{Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	sqlDriver := false
	switch cfg.Driver {
	case DriverPostgres, DriverMySQL, DriverSQLite:
		sqlDriver = true
	case DriverCSV:
	default:
		bad("driver", "driver", "driver %q is not one of postgres, mysql, sqlite, csv", truncate(cfg.Driver))
	}
	if sqlDriver {
		if strings.TrimSpace(cfg.DSN) == "" {
			bad("dsn", "required", "a %s source needs a dsn", cfg.Driver)
		}
		if cfg.File != "" {
			bad("file", "unexpected", "file is for csv sources; a %s source reads its dsn", cfg.Driver)
		}
		if _, err := quoteTable(cfg.Driver, cfg.Table); err != nil {
			bad("table", "identifier", "%v", err)
		}
		if cfg.Key == "" {
			bad("key", "required", "a %s source needs a key: an integer column that orders its rows", cfg.Driver)
		} else if !validIdent(cfg.Key) {
			bad("key", "identifier", "key %q is not a column name: use ASCII letters, digits and underscores, at most %d", truncate(cfg.Key), maxIdent)
		}
	}
	if cfg.Driver == DriverCSV {
		if strings.TrimSpace(cfg.File) == "" {
			bad("file", "required", "a csv source needs a file")
		}
		if cfg.DSN != "" {
			bad("dsn", "unexpected", "a csv source reads its file, not a dsn")
		}
		if cfg.Table != "" {
			bad("table", "unexpected", "a csv source has no table")
		}
		if cfg.Key != "" {
			bad("key", "unexpected", "a csv source is keyed by record number; leave key empty")
		}
	}
	if len(cfg.Items) == 0 {
		bad("items", "required", "a source needs at least one item")
	}
	set := &itemSet{index: make(map[string]int, len(cfg.Items))}
	for i, ic := range cfg.Items {
		field := fmt.Sprintf("items[%d]", i)
		name := strings.TrimSpace(ic.Name)
		switch {
		case name == "":
			bad(field+".name", "required", "item %d has no name", i+1)
		case name != ic.Name:
			bad(field+".name", "format", "item name %q has surrounding spaces", truncate(ic.Name))
		default:
			if _, dup := set.index[name]; dup {
				bad(field+".name", "duplicate", "item name %q appears twice", truncate(name))
			}
		}
		el, ok := standard.LookupElement(ic.Element)
		if !ok {
			bad(field+".element", "unknown_element", "item %q maps to %q, which is not a standard data element", truncate(ic.Name), truncate(ic.Element))
		}
		switch {
		case ic.Column == "":
			bad(field+".column", "required", "item %q has no column", truncate(ic.Name))
		case sqlDriver && !validIdent(ic.Column):
			bad(field+".column", "identifier", "column %q of item %q is not a column name: use ASCII letters, digits and underscores, at most %d",
				truncate(ic.Column), truncate(ic.Name), maxIdent)
		}
		if _, dup := set.index[name]; !dup && name != "" {
			set.index[name] = len(set.items)
		}
		set.items = append(set.items, item{
			Item: hutong.Item{
				Name:     ic.Name,
				Element:  ic.Element,
				Type:     el.Type,
				Masking:  el.Masking,
				Required: ic.Required,
			},
			el:     el,
			column: ic.Column,
		})
	}
	return set, vs
}

// maxIdent is the longest identifier accepted: PostgreSQL's limit.
const maxIdent = 63

// validIdent reports whether s is an identifier the node will put into
// SQL: 1 to 63 ASCII letters, digits and underscores. Quoting makes any
// such name safe in every dialect, reserved words included.
func validIdent(s string) bool {
	if s == "" || len(s) > maxIdent {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// quoteIdent quotes a valid identifier for driver.
func quoteIdent(driver, s string) string {
	if driver == DriverMySQL {
		return "`" + s + "`"
	}
	return `"` + s + `"`
}

// quoteTable checks and quotes a table name: one identifier, or for
// PostgreSQL schema.table.
func quoteTable(driver, table string) (string, error) {
	if table == "" {
		return "", fmt.Errorf("a %s source needs a table", driver)
	}
	parts := strings.Split(table, ".")
	if len(parts) > 2 || len(parts) == 2 && driver != DriverPostgres {
		if driver == DriverPostgres {
			return "", fmt.Errorf("table %q has more than one qualifier; write schema.table", truncate(table))
		}
		return "", fmt.Errorf("table %q is qualified; a %s table is one name", truncate(table), driver)
	}
	quoted := make([]string, len(parts))
	for i, p := range parts {
		if !validIdent(p) {
			return "", fmt.Errorf("table %q is not a table name: use ASCII letters, digits and underscores, at most %d", truncate(table), maxIdent)
		}
		quoted[i] = quoteIdent(driver, p)
	}
	return strings.Join(quoted, "."), nil
}

// truncate cuts s to 60 bytes (on a rune boundary) for messages.
func truncate(s string) string {
	const limit = 60
	if len(s) <= limit {
		return s
	}
	i := limit
	for i > 0 && s[i]&0xc0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}

// badValue is the EINTERNAL error of a stored value that breaks its
// element's rule. The rule's message never repeats a personal value whole.
func badValue(key int64, where string, it *item, err error) error {
	return &hutong.Error{
		Code: hutong.EINTERNAL,
		Message: fmt.Sprintf("source data is broken: row with key %d%s, column %q (item %s, element %s): %v",
			key, where, it.column, it.Name, it.Element, err),
		Err: err,
	}
}

// canonical turns a stored value's natural text into its canonical value:
// nil for empty text, else standard.Parse's answer.
func canonical(it *item, text string) (any, error) {
	v, err := standard.Parse(it.el, text)
	if err != nil {
		if re, ok := err.(*standard.RuleError); ok && re.Rule == standard.RuleRequired {
			return nil, nil // empty or blank: missing
		}
		return nil, err
	}
	return v, nil
}

// naturalText writes a value a driver returned as the text a person would
// read in it; ok is false for NULL. naive says how to read a time.Time: by
// its wall clock, as a date or a time in China Standard Time (DATE and
// TIMESTAMP columns), or as an instant (TIMESTAMPTZ, and MySQL's times,
// which the driver places in its loc).
func naturalText(it *item, v any, naive bool) (text string, ok bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case []byte:
		return string(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case int:
		return strconv.Itoa(x), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case bool:
		return strconv.FormatBool(x), true
	case time.Time:
		if naive {
			x = time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), chinaTime)
		}
		if it.Type == hutong.TypeDate {
			if !naive {
				x = x.In(chinaTime)
			}
			if y, m, d := x.Date(); y > 0 && y <= 9999 {
				b := [10]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
					byte('0' + m/10), byte('0' + m%10), '-', byte('0' + d/10), byte('0' + d%10)}
				return string(b[:]), true
			}
			return x.Format(time.DateOnly), true
		}
		return x.UTC().Format(time.RFC3339), true
	}
	return fmt.Sprint(v), true
}

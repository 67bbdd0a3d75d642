package node

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sheet"
)

// csvSource serves a CSV file from memory. The file is read whole when the
// source opens, every cell an item maps to parsed to its canonical value
// then, so a query only filters and copies. When the file changes on disk
// (its size or modification time) the next call reads it again.
type csvSource struct {
	path string
	set  *itemSet

	mu     sync.Mutex  // serialises reloads
	data   *csvData    // guarded by mu; replaced whole, never modified
	failed *csvFailure // the last reload that failed, guarded by mu
}

// csvData is one reading of the file.
type csvData struct {
	size    int64
	modTime time.Time
	width   int   // len(items)
	rows    int   // data records
	vals    []any // rows × width canonical values, nil for missing or bad cells
	// bad holds the cells that break their element's rule, by index into
	// vals; badRow marks their rows (nil when the file has none).
	bad    map[int]cellError
	badRow []bool
}

// cellError is a stored value that does not parse as its element.
type cellError struct {
	line int // where a person finds the record in the file
	err  error
}

// csvFailure remembers a reload that failed, so a broken file is not read
// again on every call until it changes.
type csvFailure struct {
	size    int64
	modTime time.Time
	err     error
}

var _ LocalSource = (*csvSource)(nil)

// openCSV reads the file and checks its header against the items.
func openCSV(cfg SourceConfig, set *itemSet) (LocalSource, error) {
	s := &csvSource{path: cfg.File, set: set}
	d, err := s.load()
	if err != nil {
		var he *hutong.Error
		if errors.As(err, &he) && he.Code == hutong.EINVALID {
			return nil, err
		}
		return nil, hutong.Invalid("invalid source configuration", []hutong.Violation{{Field: "file", Rule: "file", Message: err.Error()}})
	}
	s.data = d
	return s, nil
}

// load reads the file whole. A missing column or a broken record is an
// EINVALID error naming the file field; a cell that breaks its element's
// rule is kept as a cellError and reported when a query reaches it.
func (s *csvSource) load() (*csvData, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, fmt.Errorf("cannot open csv file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot open csv file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("csv file %s is not a regular file", s.path)
	}
	ur, err := sheet.UTF8Reader(f)
	if err != nil {
		return nil, fmt.Errorf("cannot read csv file: %w", err)
	}
	cr := csv.NewReader(ur)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("csv file %s is empty: a header row is needed", s.path)
	}
	if err != nil {
		return nil, fmt.Errorf("csv file %s: header: %w", s.path, err)
	}
	pos := make(map[string]int, len(header))
	dup := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if _, ok := pos[h]; ok {
			dup[h] = true
		}
		pos[h] = i
	}
	width := len(s.set.items)
	cols := make([]int, width)
	var vs []hutong.Violation
	for i, it := range s.set.items {
		field := fmt.Sprintf("items[%d].column", i)
		c := strings.TrimSpace(it.column)
		j, ok := pos[c]
		switch {
		case !ok:
			vs = append(vs, hutong.Violation{Field: field, Rule: "unknown_column",
				Message: fmt.Sprintf("the header of %s has no column %q (item %s)", s.path, truncate(it.column), it.Name)})
		case dup[c]:
			vs = append(vs, hutong.Violation{Field: field, Rule: "duplicate",
				Message: fmt.Sprintf("column %q appears more than once in the header of %s", truncate(it.column), s.path)})
		}
		cols[i] = j
	}
	if len(vs) > 0 {
		return nil, hutong.Invalid("invalid source configuration", vs)
	}
	d := &csvData{size: fi.Size(), modTime: fi.ModTime(), width: width}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("csv file %s: %w", s.path, err)
		}
		base := len(d.vals)
		for i, c := range cols {
			var v any
			if c < len(rec) {
				it := &s.set.items[i]
				v, err = canonical(it, rec[c])
				if err != nil {
					line, _ := cr.FieldPos(c)
					if d.bad == nil {
						d.bad = map[int]cellError{}
					}
					d.bad[base+i] = cellError{line: line, err: err}
					v = nil
				}
			}
			d.vals = append(d.vals, v)
		}
		d.rows++
	}
	d.vals = d.vals[:len(d.vals):len(d.vals)]
	if d.bad != nil {
		d.badRow = make([]bool, d.rows)
		for i := range d.bad {
			d.badRow[i/width] = true
		}
	}
	return d, nil
}

// current returns the file's data, reading the file again when it changed.
func (s *csvSource) current() (*csvData, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data == nil {
		return nil, hutong.Errorf(hutong.EUNAVAILABLE, "the source is closed")
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return nil, hutong.Internal(fmt.Errorf("node csv source: %w", err))
	}
	if fi.Size() == s.data.size && fi.ModTime().Equal(s.data.modTime) {
		return s.data, nil
	}
	if f := s.failed; f != nil && f.size == fi.Size() && f.modTime.Equal(fi.ModTime()) {
		return nil, f.err
	}
	d, err := s.load()
	if err != nil {
		err = &hutong.Error{Code: hutong.EINTERNAL, Message: fmt.Sprintf("csv file %s changed and cannot be read: %v", s.path, err), Err: err}
		s.failed = &csvFailure{size: fi.Size(), modTime: fi.ModTime(), err: err}
		return nil, err
	}
	s.data, s.failed = d, nil
	return d, nil
}

// check returns the error of a bad cell of row r among the columns q uses.
func (d *csvData) check(s *csvSource, q *query, r int) error {
	base := r * d.width
	for _, f := range q.fields {
		if ce, ok := d.bad[base+f]; ok {
			return badValue(int64(r+1), fmt.Sprintf(" (line %d)", ce.line), &s.set.items[f], ce.err)
		}
	}
	for _, c := range q.where {
		if ce, ok := d.bad[base+c.item]; ok {
			return badValue(int64(r+1), fmt.Sprintf(" (line %d)", ce.line), &s.set.items[c.item], ce.err)
		}
	}
	return nil
}

// matches reports whether row satisfies every condition. A missing value
// matches nothing, as NULL in SQL.
func matches(row []any, where []condition) bool {
	for i := range where {
		c := &where[i]
		v := row[c.item]
		if v == nil {
			return false
		}
		switch c.op {
		case hutong.OpEq:
			if compare(v, c.values[0]) != 0 {
				return false
			}
		case hutong.OpIn:
			found := false
			for _, w := range c.values {
				if compare(v, w) == 0 {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		case hutong.OpGt:
			if compare(v, c.values[0]) <= 0 {
				return false
			}
		case hutong.OpGte:
			if compare(v, c.values[0]) < 0 {
				return false
			}
		case hutong.OpLt:
			if compare(v, c.values[0]) >= 0 {
				return false
			}
		case hutong.OpLte:
			if compare(v, c.values[0]) > 0 {
				return false
			}
		case hutong.OpPrefix:
			s, ok := v.(string)
			if !ok || !strings.HasPrefix(s, c.texts[0]) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// compare orders two canonical values of one element. Canonical dates and
// date-times sort as text; values of different types are unequal.
func compare(a, b any) int {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case int64:
		if y, ok := b.(int64); ok {
			return cmp3(x < y, x > y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			return cmp3(x < y, x > y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			return cmp3(!x && y, x && !y)
		}
	}
	return 2 // unordered: not equal, and not < or >
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

// scanEvery is how many rows a scan goes between looks at its context.
const scanEvery = 4096

// Read yields the rows of the file that match q, by record number.
func (s *csvSource) Read(ctx context.Context, q hutong.SourceQuery, yield func(hutong.SourceRow) error) error {
	rq, err := s.set.resolve(q)
	if err != nil {
		return err
	}
	d, err := s.current()
	if err != nil {
		return err
	}
	start := 0
	if rq.after > 0 {
		if rq.after >= int64(d.rows) {
			return nil
		}
		start = int(rq.after)
	}
	n := len(rq.fields)
	// Values are handed out of shared chunks, one allocation per
	// chunkRows rows; each row's slice is capped, so a caller that
	// appends to it cannot reach its neighbour.
	const chunkRows = 256
	var chunk []any
	sent := 0
	for r := start; r < d.rows; r++ {
		if (r-start)%scanEvery == scanEvery-1 && ctx.Err() != nil {
			return &hutong.Error{Code: hutong.EUNAVAILABLE, Message: "the read was cancelled", Err: ctx.Err()}
		}
		row := d.vals[r*d.width : (r+1)*d.width]
		if d.badRow != nil && d.badRow[r] {
			if err := d.check(s, rq, r); err != nil {
				return err
			}
		}
		if !matches(row, rq.where) {
			continue
		}
		if len(chunk) < n || chunk == nil {
			chunk = make([]any, max(n*chunkRows, 1))
		}
		out := chunk[:n:n]
		chunk = chunk[n:]
		for i, f := range rq.fields {
			out[i] = row[f]
		}
		if err := yield(hutong.SourceRow{Key: int64(r + 1), Values: out}); err != nil {
			return err
		}
		sent++
		if rq.limit > 0 && sent == rq.limit {
			return nil
		}
	}
	return nil
}

// Count returns the number of records that match q's conditions.
func (s *csvSource) Count(ctx context.Context, q hutong.SourceQuery) (int64, error) {
	rq, err := s.set.resolve(q)
	if err != nil {
		return 0, err
	}
	d, err := s.current()
	if err != nil {
		return 0, err
	}
	if len(rq.where) == 0 {
		return int64(d.rows), nil
	}
	rq.fields = nil // only the conditions' columns matter
	var n int64
	for r := 0; r < d.rows; r++ {
		if r%scanEvery == scanEvery-1 && ctx.Err() != nil {
			return 0, &hutong.Error{Code: hutong.EUNAVAILABLE, Message: "the count was cancelled", Err: ctx.Err()}
		}
		if d.badRow != nil && d.badRow[r] {
			if err := d.check(s, rq, r); err != nil {
				return 0, err
			}
		}
		if matches(d.vals[r*d.width:(r+1)*d.width], rq.where) {
			n++
		}
	}
	return n, nil
}

// Items returns the source's items.
func (s *csvSource) Items() []hutong.Item { return s.set.publication() }

// Close drops the file's data.
func (s *csvSource) Close() error {
	s.mu.Lock()
	s.data = nil
	s.mu.Unlock()
	return nil
}

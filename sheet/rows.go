// Package sheet reads the tabular files departments already keep: catalog
// sheets (CSV or XLSX, through excelize) that describe resources, and row
// files (CSV or NDJSON) that fill hub-hosted resources.
//
// Row numbers in errors are where a person finds the row: for CSV the line
// its record starts on (the header is line 1), for XLSX the sheet row, for
// NDJSON the line.
package sheet

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/hutong/hutong"
)

// MaxLine is the longest NDJSON line or CSV record accepted.
const MaxLine = 1 << 20

// MaxColumns bounds the header of a row file (a resource has at most 200
// items).
const MaxColumns = 1024

// maxRecordBytes is what a CSV record may take from its reader: MaxLine and
// the read-ahead of csv.Reader's buffer.
const maxRecordBytes = MaxLine + 8<<10

// errRecordTooLong ends a CSV stream whose record runs past maxRecordBytes.
var errRecordTooLong = errors.New("record too long")

// recordLimit cuts a CSV stream at a record longer than max bytes:
// csv.Reader gathers a whole record in memory, however long, before it
// returns it. Call reset before reading each record.
type recordLimit struct {
	r      io.Reader
	n, max int
}

func (l *recordLimit) reset() { l.n = 0 }

func (l *recordLimit) Read(p []byte) (int, error) {
	if l.n >= l.max {
		return 0, errRecordTooLong
	}
	if len(p) > l.max-l.n {
		p = p[:l.max-l.n]
	}
	n, err := l.r.Read(p)
	l.n += n
	return n, err
}

// UTF8Reader returns r decoded to UTF-8. Excel on Chinese Windows saves CSV
// in GB18030 (GBK); a file whose first 64 KiB are not valid UTF-8 is read as
// GB18030. A UTF-8 byte-order mark is dropped.
func UTF8Reader(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	if bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
		return br, nil
	}
	complete := len(head) < 64<<10 // the whole input is in head
	if complete && !utf8.Valid(head) || !complete && !validUTF8Prefix(head) {
		return transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), nil
	}
	return br, nil
}

// validUTF8Prefix reports whether b is valid UTF-8, allowing a multi-byte
// sequence cut off at its end.
func validUTF8Prefix(b []byte) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			return len(b) < utf8.UTFMax && !utf8.FullRune(b)
		}
		b = b[size:]
	}
	return true
}

// csvRows reads rows from CSV with a header row of item names.
type csvRows struct {
	src    io.Reader // until the first Next, which reads the header
	r      *csv.Reader
	lim    *recordLimit
	header []string
	row    int
	err    error // a failure that ends the file
}

// CSVRows returns a hutong.RowReader over CSV data whose first record names
// the items. Nothing is read before the first Next, so a caller may still
// refuse the import without reading the body. A header with an empty or
// repeated name, or more than MaxColumns names, fails the first Next. A
// record longer than MaxLine is EINVALID and ends the rows; an error
// reading r is returned as it is (not EINVALID) and ends them too.
func CSVRows(r io.Reader) hutong.RowReader { return &csvRows{src: r} }

// start reads the header.
func (c *csvRows) start() {
	ur, err := UTF8Reader(c.src)
	c.src = nil
	if err != nil {
		c.err = err
		return
	}
	c.lim = &recordLimit{r: ur, max: maxRecordBytes}
	c.r = csv.NewReader(c.lim)
	c.r.FieldsPerRecord = -1
	c.r.ReuseRecord = true
	c.r.LazyQuotes = false
	rec, err := c.r.Read()
	c.row = 1
	switch {
	case errors.Is(err, io.EOF):
		c.err = hutong.Errorf(hutong.EINVALID, "the file is empty: a header row of item names is needed")
		return
	case err != nil:
		c.err = csvError(1, err)
		return
	case len(rec) > MaxColumns:
		c.err = hutong.Invalid("bad header", []hutong.Violation{{Row: 1, Rule: "columns", Message: fmt.Sprintf("the header has %d columns, at most %d are read (a resource has at most 200 items)", len(rec), MaxColumns)}})
		return
	}
	seen := map[string]bool{}
	for i, h := range rec {
		h = strings.TrimSpace(h)
		switch {
		case !utf8.ValidString(h):
			c.err = hutong.Invalid("bad header", []hutong.Violation{{Row: 1, Field: fmt.Sprintf("column %d", i+1), Rule: "encoding", Message: "the header is neither UTF-8 nor GB18030 text"}})
			return
		case h == "":
			c.err = hutong.Invalid("bad header", []hutong.Violation{{Row: 1, Field: fmt.Sprintf("column %d", i+1), Rule: "required", Message: "the header has an empty column name"}})
			return
		case seen[h]:
			c.err = hutong.Invalid("bad header", []hutong.Violation{{Row: 1, Field: h, Rule: "duplicate", Message: fmt.Sprintf("column %q appears twice in the header", h)}})
			return
		}
		seen[h] = true
		c.header = append(c.header, h)
	}
}

// csvError describes an error of csv.Reader at row: a syntax error or an
// overlong record is EINVALID; an error of the underlying reader (the body
// too large, the client gone) is returned as it is, so the caller answers
// for it and does not report it as a row's mistake.
func csvError(row int, err error) error {
	var pe *csv.ParseError
	switch {
	case errors.Is(err, errRecordTooLong):
		return hutong.Invalid(fmt.Sprintf("row %d is longer than %d bytes", row, MaxLine), []hutong.Violation{{Row: row, Rule: "length",
			Message: fmt.Sprintf("the record starting at row %d is longer than %d bytes (an unclosed quote?)", row, MaxLine)}})
	case errors.As(err, &pe):
		return &hutong.Error{Code: hutong.EINVALID, Message: fmt.Sprintf("row %d: %v", pe.StartLine, pe.Err), Err: err}
	}
	return err
}

func (c *csvRows) Next() (int, map[string]string, error) {
	if c.src != nil {
		c.start()
	}
	if c.err != nil {
		err := c.err
		c.err = io.EOF
		return c.row, nil, err
	}
	for {
		c.lim.reset()
		rec, err := c.r.Read()
		if errors.Is(err, io.EOF) {
			return c.row, nil, io.EOF
		}
		if err == nil {
			c.row, _ = c.r.FieldPos(0)
		} else {
			c.row++
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) || !errors.Is(pe.Err, csv.ErrFieldCount) {
				// Broken quoting, an overlong record or a failed read
				// leaves the reader nowhere sensible to resume.
				c.err = io.EOF
			}
			return c.row, nil, csvError(c.row, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" && len(c.header) > 1 {
			continue // a blank line
		}
		if len(rec) != len(c.header) {
			return c.row, nil, hutong.Errorf(hutong.EINVALID, "row %d has %d fields, the header has %d", c.row, len(rec), len(c.header))
		}
		m := make(map[string]string, len(rec))
		for i, v := range rec {
			if len(v) > MaxLine {
				return c.row, nil, hutong.Errorf(hutong.EINVALID, "row %d: field %s is longer than %d bytes", c.row, c.header[i], MaxLine)
			}
			if !utf8.ValidString(v) {
				return c.row, nil, hutong.Errorf(hutong.EINVALID, "row %d: field %s is neither UTF-8 nor GB18030 text", c.row, c.header[i])
			}
			m[c.header[i]] = v
		}
		return c.row, m, nil
	}
}

// ndjsonRows reads rows from newline-delimited JSON objects.
type ndjsonRows struct {
	sc   *bufio.Scanner
	line int
	done bool
}

// NDJSONRows returns a hutong.RowReader over newline-delimited JSON: one
// object per line whose keys are item names and whose values are strings,
// numbers, booleans or null. Blank lines are skipped. A line longer than
// MaxLine is EINVALID and ends the rows; an error reading r is returned as
// it is (not EINVALID) and ends them too.
func NDJSONRows(r io.Reader) hutong.RowReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	return &ndjsonRows{sc: sc}
}

func (n *ndjsonRows) Next() (int, map[string]string, error) {
	for !n.done {
		if !n.sc.Scan() {
			n.done = true
			if err := n.sc.Err(); err != nil {
				if errors.Is(err, bufio.ErrTooLong) {
					return n.line + 1, nil, hutong.Errorf(hutong.EINVALID, "line %d is longer than %d bytes", n.line+1, MaxLine)
				}
				return n.line + 1, nil, fmt.Errorf("line %d: %w", n.line+1, err)
			}
			break
		}
		n.line++
		if err := n.sc.Err(); err != nil {
			// The read failed in the middle of this line: report the
			// failure, not the cut line.
			n.done = true
			return n.line, nil, fmt.Errorf("line %d: %w", n.line, err)
		}
		b := bytes.TrimSpace(n.sc.Bytes())
		if n.line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		if len(b) == 0 {
			continue
		}
		m, err := decodeObject(b)
		if err != nil {
			return n.line, nil, hutong.Errorf(hutong.EINVALID, "line %d: %v", n.line, err)
		}
		return n.line, m, nil
	}
	return n.line, nil, io.EOF
}

// decodeObject decodes one JSON object of scalar values into their text.
func decodeObject(b []byte) (map[string]string, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	m := map[string]string{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, errors.New("not a valid JSON object")
		}
		key := kt.(string) // object keys are always strings
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		vt, err := dec.Token()
		if err != nil {
			return nil, errors.New("not a valid JSON object")
		}
		switch v := vt.(type) {
		case string:
			m[key] = v
		case json.Number:
			m[key] = v.String()
		case bool:
			if v {
				m[key] = "true"
			} else {
				m[key] = "false"
			}
		case nil:
			m[key] = ""
		default:
			return nil, fmt.Errorf("value of %q is an object or array; only strings, numbers, booleans and null are allowed", key)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, errors.New("not a valid JSON object")
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value on the line")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value on the line")
	}
	return m, nil
}

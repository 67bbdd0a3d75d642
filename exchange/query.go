package exchange

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"unicode/utf8"

	"github.com/hutong/hutong"
)

// Limits of a query.
const (
	MaxFilters     = 20
	MaxFilterBytes = 4096
	DefaultLimit   = 100
	MaxLimit       = 1000
	// MaxFields bounds the fields a call names, MaxFieldRunes each name:
	// a resource has at most 200 items of at most 64 characters.
	MaxFields     = 200
	MaxFieldRunes = 64
	// MaxCodeBytes bounds a resource code.
	MaxCodeBytes = 64
	// MaxCursorBytes bounds a cursor.
	MaxCursorBytes = 128
)

// checkQuery refuses a call whose values exceed their documented limits,
// before anything else looks at them.
func checkQuery(q hutong.RecordQuery) error {
	bad := func(field, format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		return &hutong.Error{Code: hutong.EINVALID, Message: msg, Details: []hutong.Violation{{Field: field, Rule: "length", Message: msg}}}
	}
	if n := utf8.RuneCountInString(q.Purpose); n > hutong.MaxPurposeRunes {
		return bad("Hutong-Purpose", "the purpose has %d characters; an agreement's purpose has at most %d", n, hutong.MaxPurposeRunes)
	}
	if len(q.Resource) > MaxCodeBytes {
		return bad("code", "the resource code has %d bytes; codes have at most %d", len(q.Resource), MaxCodeBytes)
	}
	if len(q.Fields) > MaxFields {
		return bad("fields", "%d fields named; a resource has at most %d", len(q.Fields), MaxFields)
	}
	for _, f := range q.Fields {
		if n := utf8.RuneCountInString(f); n > MaxFieldRunes {
			return bad("fields", "a field name has %d characters; item names have at most %d", n, MaxFieldRunes)
		}
	}
	if len(q.Cursor) > MaxCursorBytes {
		return bad("cursor", "the cursor has %d bytes; cursors the hub issues have at most %d", len(q.Cursor), MaxCursorBytes)
	}
	return nil
}

// ParseFilter parses a filter as the records endpoint takes it:
// FIELD:OP:VALUE, where OP is eq, in, gt, gte, lt, lte or prefix and the
// values of in are separated by "|" (e.g. 参保地:in:120101|120102). The
// field may not contain ":"; the value may. It returns EINVALID saying what
// is wrong.
func ParseFilter(s string) (hutong.Condition, error) {
	if len(s) > MaxFilterBytes {
		return hutong.Condition{}, hutong.Errorf(hutong.EINVALID, "a filter is longer than %d bytes", MaxFilterBytes)
	}
	if !utf8.ValidString(s) {
		return hutong.Condition{}, hutong.Errorf(hutong.EINVALID, "a filter is not valid UTF-8")
	}
	field, rest, ok := strings.Cut(s, ":")
	op, value, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || field == "" {
		return hutong.Condition{}, hutong.Errorf(hutong.EINVALID, "filter %q must be FIELD:OP:VALUE, e.g. 所在城市:eq:130100 or AQI:gte:100", clip(s))
	}
	c := hutong.Condition{Field: field, Op: hutong.Op(op)}
	switch c.Op {
	case hutong.OpIn:
		c.Values = strings.Split(value, "|")
	case hutong.OpEq, hutong.OpGt, hutong.OpGte, hutong.OpLt, hutong.OpLte, hutong.OpPrefix:
		c.Values = []string{value}
	default:
		return hutong.Condition{}, hutong.Errorf(hutong.EINVALID, "filter %q: operator %q must be eq, in, gt, gte, lt, lte or prefix", clip(s), clip(op))
	}
	return c, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) <= 80 {
		return s
	}
	for i := 80; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return ""
}

// A cursor carries the key of the last row of a page and a checksum that
// ties it to the resource, so a cursor of another resource, or a garbled
// one, is refused rather than misread.
func encodeCursor(resource string, key int64) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(key))
	binary.BigEndian.PutUint32(b[8:], cursorSum(resource, b[:8]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func cursorSum(resource string, key []byte) uint32 {
	h := crc32.NewIEEE()
	h.Write([]byte(resource))
	h.Write(key)
	return h.Sum32()
}

// decodeCursor returns the row key of a cursor of resource, or EINVALID.
func decodeCursor(resource, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	bad := hutong.Errorf(hutong.EINVALID, "cursor %q was not issued for %s; start again without it", clip(s), resource)
	if len(s) != 16 {
		return 0, bad
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != 12 {
		return 0, bad
	}
	if binary.BigEndian.Uint32(b[8:]) != cursorSum(resource, b[:8]) {
		return 0, bad
	}
	key := int64(binary.BigEndian.Uint64(b[:8]))
	if key < 0 {
		return 0, bad
	}
	return key, nil
}

package exchange

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
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
	if !utf8.ValidString(q.Purpose) {
		return &hutong.Error{Code: hutong.EINVALID, Message: "the Hutong-Purpose header is not valid UTF-8: send UTF-8 text, or percent-encode it",
			Details: []hutong.Violation{{Field: "Hutong-Purpose", Rule: "utf8", Message: "not valid UTF-8"}}}
	}
	for _, f := range q.Fields {
		if !utf8.ValidString(f) {
			return &hutong.Error{Code: hutong.EINVALID, Message: "a field name is not valid UTF-8", Details: []hutong.Violation{{Field: "fields", Rule: "utf8", Message: "not valid UTF-8"}}}
		}
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

// A cursor carries the key of the last row of a page and a MAC over that
// key and the query it pages through: the action, the agreement, the
// resource, the fields and every condition (filters and row scope). A
// cursor thus works only for the query that got it, under the agreement
// that answered it: a forged cursor, or one of another query, agreement,
// resource or hub, is refused rather than followed, so nobody can pin a
// page to a row of their choosing.
const cursorMACBytes = 16

// cursorBinding returns what a call's cursors are bound to.
func cursorBinding(action, agreement, resource string, fields []string, where []hutong.Condition) []byte {
	h := sha256.New()
	for _, s := range []string{"hutong/cursor/v1", action, agreement, resource} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	for _, f := range fields {
		h.Write([]byte(f))
		h.Write([]byte{0x1f})
	}
	h.Write([]byte{0})
	for _, c := range where {
		h.Write([]byte(c.Field))
		h.Write([]byte{0x1f})
		h.Write([]byte(c.Op))
		for _, v := range c.Values {
			h.Write([]byte{0x1f})
			h.Write([]byte(v))
		}
		h.Write([]byte{0x1e})
	}
	return h.Sum(nil)
}

func (x *Service) key() []byte {
	x.keyOnce.Do(func() {
		x.cursorKey = x.CursorKey
		if len(x.cursorKey) == 0 {
			x.cursorKey = make([]byte, 32)
			rand.Read(x.cursorKey)
		}
	})
	return x.cursorKey
}

func (x *Service) cursorMAC(binding []byte, key [8]byte) []byte {
	mac := hmac.New(sha256.New, x.key())
	mac.Write(binding)
	mac.Write(key[:])
	return mac.Sum(nil)[:cursorMACBytes]
}

func (x *Service) encodeCursor(c *call, key int64) string {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], uint64(key))
	return base64.RawURLEncoding.EncodeToString(append(k[:], x.cursorMAC(c.binding, k)...))
}

// decodeCursor returns the row key of a cursor issued for c's query, 0
// for none, or EINVALID.
func (x *Service) decodeCursor(c *call, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	bad := hutong.Errorf(hutong.EINVALID, "cursor %q was not issued for this query of %s under agreement %s; start again without it", clip(s), c.res.Code, c.ag.ID)
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != 8+cursorMACBytes {
		return 0, bad
	}
	var k [8]byte
	copy(k[:], b)
	if !hmac.Equal(b[8:], x.cursorMAC(c.binding, k)) {
		return 0, bad
	}
	key := int64(binary.BigEndian.Uint64(k[:]))
	if key < 0 {
		return 0, bad
	}
	return key, nil
}

package exchange

import (
	"strconv"
	"unicode/utf8"
)

// The exchange writes its JSON by hand: a page is rendered once, hashed
// for the audit entry and released as is, and export streams millions of
// rows, so the encoder must not reflect or allocate per value.

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendValue appends a canonical value (string, int64, float64, bool or
// nil) as JSON.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case bool:
		return strconv.AppendBool(b, x)
	}
	return appendString(b, "")
}

// appendRecord appends one row as a JSON object with the fields in order.
func appendRecord(b []byte, keys [][]byte, vals []any) []byte {
	b = append(b, '{')
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, keys[i]...)
		b = appendValue(b, v)
	}
	return append(b, '}')
}

// jsonKeys renders the field names once as `"name":`.
func jsonKeys(fields []string) [][]byte {
	keys := make([][]byte, len(fields))
	for i, f := range fields {
		keys[i] = append(appendString(nil, f), ':')
	}
	return keys
}

// AppendRecord appends one row as a JSON object of fields and values, as
// the exchange writes it. Benchmarks use it to render an ungoverned
// baseline the same way.
func AppendRecord(b []byte, fields []string, vals []any) []byte {
	b = append(b, '{')
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, fields[i])
		b = append(b, ':')
		b = appendValue(b, v)
	}
	return append(b, '}')
}

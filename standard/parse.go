package standard

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hutong/hutong"
)

// Parse checks raw, the text form of a value of element e (a CSV cell, a
// form field), and returns the value in canonical form: a string for string
// elements, int64 for integers, float64 for decimals, bool for booleans, a
// "2006-01-02" string for dates and an RFC 3339 UTC string
// ("2006-01-02T15:04:05Z") for datetimes. Surrounding white space is ignored.
//
// An element of the dictionary (see Elements) is checked by its own rule;
// any other element by the rule of its Type. When raw breaks the rule, Parse
// returns nil and a *RuleError; an empty raw gives rule RuleRequired, and it
// is the caller's business whether a missing value is allowed.
func Parse(e hutong.Element, raw string) (any, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, errRequired
	}
	if sp, ok := elementIndex[e.ID]; ok {
		return sp.parse(s)
	}
	return parseByType(e.Type, s)
}

var errRequired = &RuleError{Rule: RuleRequired, Message: "a value is required"}

// ParseValue is Parse for a value decoded from JSON with
// json.Decoder.UseNumber: a string, a json.Number, a bool or nil. Numbers are
// taken by their text, so 13812345678 is a mobile number and "12" a count.
// It also takes float64, int and int64 for callers that decoded without
// UseNumber. A bool is a value only of a boolean element; nil, like an empty
// string, gives rule RuleRequired; any other type gives rule RuleType.
func ParseValue(e hutong.Element, v any) (any, error) {
	switch x := v.(type) {
	case string:
		return Parse(e, x)
	case json.Number:
		return Parse(e, string(x))
	case nil:
		return nil, errRequired
	case bool:
		if e.Type == hutong.TypeBoolean {
			return x, nil
		}
		return nil, ruleErr(RuleType, "got true or false, want a %s value", typeLabel(e.Type))
	case float64:
		return Parse(e, strconv.FormatFloat(x, 'f', -1, 64))
	case int64:
		return Parse(e, strconv.FormatInt(x, 10))
	case int:
		return Parse(e, strconv.Itoa(x))
	}
	return nil, ruleErr(RuleType, "got a JSON array or object, want a %s value", typeLabel(e.Type))
}

// parseByType checks s by the generic rule of a value type.
func parseByType(t hutong.ValueType, s string) (any, error) {
	switch t {
	case hutong.TypeString:
		return parseText(s, 0, "value", false)
	case hutong.TypeInteger:
		n, err := parseInt(s)
		if err != nil {
			return nil, err
		}
		return n, nil
	case hutong.TypeDecimal:
		f, err := parseDecimal(s, -1, true)
		if err != nil {
			return nil, err
		}
		return f, nil
	case hutong.TypeDate:
		return parseDate(s)
	case hutong.TypeDateTime:
		return parseDateTime(s)
	case hutong.TypeBoolean:
		return parseBool(s)
	}
	return nil, ruleErr(RuleType, "value type %q is not one of string, integer, decimal, date, datetime, boolean", string(t))
}

func typeLabel(t hutong.ValueType) string {
	switch t {
	case hutong.TypeString:
		return "text"
	case hutong.TypeInteger:
		return "whole-number"
	case hutong.TypeDecimal:
		return "decimal-number"
	case hutong.TypeDate:
		return "date"
	case hutong.TypeDateTime:
		return "date-and-time"
	case hutong.TypeBoolean:
		return "yes/no"
	}
	return string(t)
}

// quote quotes s for a message, cut to 40 runes so that a stray megabyte of
// input does not become a megabyte of message.
func quote(s string) string {
	const limit = 40
	if len(s) > limit {
		n := 0
		for i := range s {
			if n == limit {
				return strconv.Quote(s[:i]) + "…"
			}
			n++
		}
	}
	return strconv.Quote(s)
}

// parseText checks that s is valid UTF-8 without control characters (tabs
// and line breaks are allowed when multiline is true) and at most maxRunes
// runes long (no limit when maxRunes is 0). what names the value in messages.
func parseText(s string, maxRunes int, what string, multiline bool) (any, error) {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				if !multiline || (c != '\t' && c != '\n' && c != '\r') {
					return nil, ruleErr(RuleCharset, "%s contains control character %U at character %d", what, rune(c), n+1)
				}
			}
			i++
			n++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return nil, ruleErr(RuleCharset, "%s is not valid UTF-8 text (byte %d); save the file as UTF-8", what, i+1)
		}
		if r >= 0x80 && r < 0xa0 {
			return nil, ruleErr(RuleCharset, "%s contains control character %U at character %d", what, r, n+1)
		}
		i += size
		n++
	}
	if maxRunes > 0 && n > maxRunes {
		return nil, ruleErr(RuleLength, "%s is %d characters long, want at most %d", what, n, maxRunes)
	}
	return s, nil
}

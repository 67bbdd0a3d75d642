package standard

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hutong/hutong"
)

// Limits of a condition.
const (
	MaxInValues   = 100 // values of an "in" condition
	MaxPrefixRune = 100 // runes of a prefix
)

// CheckCondition checks c against the item it names and returns it with
// canonical values: each value parsed by the item's element and written back
// in canonical text (numbers without exponent, dates YYYY-MM-DD, datetimes
// RFC 3339 UTC). Range operators need a number, date or datetime item,
// prefix a string item. It returns a *RuleError saying what is wrong.
func CheckCondition(it hutong.Item, c hutong.Condition) (hutong.Condition, error) {
	el, ok := LookupElement(it.Element)
	if !ok {
		el = hutong.Element{ID: it.Element, Type: it.Type}
	}
	switch c.Op {
	case hutong.OpEq, hutong.OpGt, hutong.OpGte, hutong.OpLt, hutong.OpLte, hutong.OpPrefix:
		if len(c.Values) != 1 {
			return c, ruleErr("values", "%s takes one value, got %d", c.Op, len(c.Values))
		}
	case hutong.OpIn:
		if len(c.Values) == 0 || len(c.Values) > MaxInValues {
			return c, ruleErr("values", "in takes 1 to %d values, got %d", MaxInValues, len(c.Values))
		}
	default:
		return c, ruleErr("operator", "unknown operator %q; use eq, in, gt, gte, lt, lte or prefix", c.Op)
	}
	switch c.Op {
	case hutong.OpGt, hutong.OpGte, hutong.OpLt, hutong.OpLte:
		switch it.Type {
		case hutong.TypeInteger, hutong.TypeDecimal, hutong.TypeDate, hutong.TypeDateTime:
		default:
			return c, ruleErr("operator", "%s compares numbers, dates and datetimes; %s is %s", c.Op, it.Name, typeLabel(it.Type))
		}
	case hutong.OpPrefix:
		if it.Type != hutong.TypeString {
			return c, ruleErr("operator", "prefix applies to text; %s is %s", it.Name, typeLabel(it.Type))
		}
		p := c.Values[0]
		if p == "" || utf8.RuneCountInString(p) > MaxPrefixRune || !utf8.ValidString(p) {
			return c, ruleErr(RuleLength, "a prefix has 1 to %d characters", MaxPrefixRune)
		}
		return hutong.Condition{Field: c.Field, Op: c.Op, Values: []string{p}}, nil
	}
	out := hutong.Condition{Field: c.Field, Op: c.Op, Values: make([]string, len(c.Values))}
	for i, raw := range c.Values {
		v, err := Parse(el, raw)
		if err != nil {
			re := err.(*RuleError)
			return c, &RuleError{Rule: re.Rule, Message: fmt.Sprintf("value %q of %s: %s", truncate(raw, 40), it.Name, re.Message)}
		}
		out.Values[i] = Text(v)
	}
	return out, nil
}

// Text writes a canonical value (as Parse returns it) in its canonical text.
func Text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if n == 0 {
			break
		}
		b.WriteRune(r)
		n--
	}
	return b.String() + "…"
}

package standard

import (
	"math"
	"strconv"
)

// parseInt parses a base-10 int64: an optional sign and digits, nothing
// else (no fraction, exponent, separators or base prefix).
func parseInt(s string) (int64, error) {
	i := 0
	if s[0] == '+' || s[0] == '-' {
		i = 1
	}
	if i == len(s) {
		return 0, ruleErr(RuleType, "%s is not a whole number", quote(s))
	}
	for ; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ruleErr(RuleType, "%s is not a whole number; write digits only, without fraction, exponent or separators", quote(s))
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, ruleErr(RuleRange, "%s is too large for a whole number (at most 19 digits)", quote(s))
	}
	return n, nil
}

// parseDecimal parses a finite decimal number: an optional sign, digits with
// an optional "." and fraction, and, when exp is true, an optional exponent
// ("1.5e3"). maxFrac limits the fraction digits (-1: no limit). NaN,
// infinities, hexadecimal and digit separators are rejected.
func parseDecimal(s string, maxFrac int, exp bool) (float64, error) {
	i := 0
	if s[0] == '+' || s[0] == '-' {
		i = 1
	}
	mant, frac := 0, -1
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			mant++
			if frac >= 0 {
				frac++
			}
			continue
		case c == '.' && frac < 0:
			frac = 0
			continue
		}
		break
	}
	if mant == 0 {
		return 0, decimalSyntaxErr(s, exp)
	}
	if i < len(s) {
		if !exp || (s[i] != 'e' && s[i] != 'E') {
			return 0, decimalSyntaxErr(s, exp)
		}
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) {
			return 0, decimalSyntaxErr(s, exp)
		}
		for ; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, decimalSyntaxErr(s, exp)
			}
		}
	}
	if maxFrac >= 0 && frac > maxFrac {
		return 0, ruleErr(RulePrecision, "%s has %d fraction digits, want at most %d", quote(s), frac, maxFrac)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, ruleErr(RuleRange, "%s is too large for a decimal number", quote(s))
	}
	if f == 0 {
		f = 0 // no negative zero
	}
	return f, nil
}

func decimalSyntaxErr(s string, exp bool) error {
	if exp {
		return ruleErr(RuleType, "%s is not a decimal number; write digits with an optional \".\" and fraction (e.g. 12.5 or 1.25e3), without separators", quote(s))
	}
	return ruleErr(RuleType, "%s is not a decimal number; write digits with an optional \".\" and fraction (e.g. 12.5), without separators or exponent", quote(s))
}

// intRange returns a parser of whole numbers within [lo, hi].
func intRange(lo, hi int64, unit string) func(string) (any, error) {
	return func(s string) (any, error) {
		n, err := parseInt(s)
		if err != nil {
			return nil, err
		}
		if n < lo || n > hi {
			return nil, rangeErr(strconv.FormatInt(n, 10), strconv.FormatInt(lo, 10), strconv.FormatInt(hi, 10), hi == math.MaxInt64, unit)
		}
		return n, nil
	}
}

// decRange returns a parser of decimal numbers within [lo, hi] (hi may be
// +Inf, lo -Inf) with at most maxFrac fraction digits (-1: no limit);
// exponents are allowed when maxFrac is -1.
func decRange(lo, hi float64, maxFrac int, unit string) func(string) (any, error) {
	return func(s string) (any, error) {
		f, err := parseDecimal(s, maxFrac, maxFrac < 0)
		if err != nil {
			return nil, err
		}
		if f < lo || f > hi {
			return nil, rangeErr(strconv.FormatFloat(f, 'f', -1, 64), strconv.FormatFloat(lo, 'f', -1, 64), strconv.FormatFloat(hi, 'f', -1, 64), math.IsInf(hi, 1), unit)
		}
		return f, nil
	}
}

func rangeErr(v, lo, hi string, open bool, unit string) error {
	if unit != "" {
		unit = " " + unit
	}
	if open {
		return ruleErr(RuleRange, "%s is out of range, want at least %s%s", v, lo, unit)
	}
	return ruleErr(RuleRange, "%s is out of range, want %s to %s%s", v, lo, hi, unit)
}

var (
	boxedTrue  any = true
	boxedFalse any = false
)

// parseBool accepts true/false (any case), 是/否 and 1/0.
func parseBool(s string) (any, error) {
	switch s {
	case "true", "TRUE", "True", "是", "1":
		return boxedTrue, nil
	case "false", "FALSE", "False", "否", "0":
		return boxedFalse, nil
	}
	if len(s) == 4 && (s[0]|0x20) == 't' && (s[1]|0x20) == 'r' && (s[2]|0x20) == 'u' && (s[3]|0x20) == 'e' {
		return boxedTrue, nil
	}
	if len(s) == 5 && (s[0]|0x20) == 'f' && (s[1]|0x20) == 'a' && (s[2]|0x20) == 'l' && (s[3]|0x20) == 's' && (s[4]|0x20) == 'e' {
		return boxedFalse, nil
	}
	return nil, ruleErr(RuleType, "%s is not a yes/no value; want true, false, 是, 否, 1 or 0", quote(s))
}

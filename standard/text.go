package standard

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// nameDot is the separator of the parts of a transliterated name
// (买买提·艾力), U+00B7 MIDDLE DOT as GB 18030 and the household register
// write it.
const nameDot = '·'

// isNameDot reports whether r is the middle dot or a character commonly typed
// for it: bullet, hyphenation point, katakana middle dot.
func isNameDot(r rune) bool {
	return r == nameDot || r == '•' || r == '‧' || r == '・'
}

// parsePersonName checks a person's name: 1 to 50 characters of letters of
// any script (Chinese characters, Latin, Uyghur, Tibetan, Mongolian …, with
// their combining marks), spaces between words and the middle dot between
// the parts of a transliterated minority or foreign name. Digits and other
// symbols are refused. Look-alikes of the middle dot are written as U+00B7.
func parsePersonName(s string) (any, error) {
	n, fix := 0, false
	var prev rune // previous rune, 0 at the start
	for _, r := range s {
		n++
		switch {
		case r == utf8.RuneError:
			return nil, ruleErr(RuleCharset, "name is not valid UTF-8 text; save the file as UTF-8")
		case unicode.IsLetter(r) || (prev != 0 && unicode.Is(unicode.M, r)):
		case r == ' ' || isNameDot(r):
			if prev == 0 || prev == ' ' || isNameDot(prev) {
				return nil, ruleErr(RuleFormat, "name has a space or middle dot at character %d where a letter must stand; the dot only separates the parts of a name, as in 买买提·艾力", n)
			}
			if r != nameDot && r != ' ' {
				fix = true
			}
		case unicode.IsDigit(r):
			return nil, ruleErr(RuleCharset, "name contains the digit %q at character %d; a name has letters only", r, n)
		default:
			return nil, ruleErr(RuleCharset, "name contains %q at character %d; want letters, spaces and the middle dot · only", r, n)
		}
		prev = r
	}
	if isNameDot(prev) {
		return nil, ruleErr(RuleFormat, "name ends with a middle dot; the dot only separates the parts of a name, as in 买买提·艾力")
	}
	if n > 50 {
		return nil, ruleErr(RuleLength, "name is %d characters long, want at most 50", n)
	}
	if !fix {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	for _, r := range s {
		if isNameDot(r) {
			r = nameDot
		}
		b.WriteRune(r)
	}
	return b.String(), nil
}

// textRule returns a parser of one-line (or, with multiline, multi-line) text
// of at most maxRunes characters.
func textRule(maxRunes int, what string, multiline bool) func(string) (any, error) {
	return func(s string) (any, error) { return parseText(s, maxRunes, what, multiline) }
}

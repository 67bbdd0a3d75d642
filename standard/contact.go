package standard

import (
	"net/mail"
	"strings"
	"unicode/utf8"
)

// mobileOK reports whether s is an 11-digit mainland mobile number: 1, then
// 3–9, then nine digits.
func mobileOK(s string) bool {
	return len(s) == 11 && s[0] == '1' && s[1] >= '3' && s[1] <= '9' && isDigits(s, 11)
}

// parseMobile checks a mainland mobile number. It accepts a +86, 86 or 0086
// prefix and spaces or hyphens between digits, and returns the 11 digits.
func parseMobile(s string) (any, error) {
	if mobileOK(s) {
		return s, nil
	}
	var buf [16]byte
	n, plus := 0, s[0] == '+'
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			if n == len(buf) {
				return nil, ruleErr(RuleLength, "mobile number has too many digits, want 11")
			}
			buf[n] = c
			n++
		case c == ' ' || c == '-' || (c == '+' && i == 0):
		default:
			return nil, ruleErr(RuleCharset, "mobile number contains %s; want 11 digits, optionally after +86", quoteByte(c))
		}
	}
	d := buf[:n]
	switch {
	case n == 15 && string(d[:4]) == "0086" && !plus:
		d = d[4:]
	case n == 13 && string(d[:2]) == "86":
		d = d[2:]
	case plus:
		return nil, ruleErr(RuleFormat, "mobile number has a country code other than +86; want a mainland number")
	}
	if len(d) != 11 {
		return nil, ruleErr(RuleLength, "mobile number has %d digits, want 11", len(d))
	}
	m := string(d)
	if !mobileOK(m) {
		return nil, ruleErr(RuleFormat, "mobile number starts with %s, want 13 to 19", m[:2])
	}
	return m, nil
}

// areaCodeLen returns the length of the area code that starts a fixed-line
// number whose second digit is c: 010 and 020–029 have three digits, the
// others (0311, 0571 …) four. It returns 0 for a second digit of 0.
func areaCodeLen(c byte) int {
	switch {
	case c == '1' || c == '2':
		return 3
	case '3' <= c && c <= '9':
		return 4
	}
	return 0
}

// digitRun returns the length of the run of ASCII digits at the start of s.
func digitRun(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

const phoneForms = "an area code and a 7- or 8-digit number, e.g. 010-12345678 or 0311-8581234, optionally with an extension (-123 or 转123)"

// parsePhone checks a mainland fixed-line number: an area code (0 and two or
// three digits, by the numbering plan), a 7- or 8-digit local number that
// does not start with 0, and an optional extension of up to 6 digits.
// It accepts "(010)12345678", "010 12345678", "01012345678" and extensions
// written "-123", " 123", "转123" or "ext123", and returns
// AREA-NUMBER[-EXT].
func parsePhone(s string) (any, error) {
	var area, number, ext string
	rest := s
	switch {
	case rest[0] == '(' || strings.HasPrefix(rest, "（"):
		open, close := 1, ")"
		if rest[0] != '(' {
			open, close = len("（"), "）"
		}
		j := strings.Index(rest, close)
		if j < 0 {
			return nil, ruleErr(RuleFormat, "phone number has an unclosed parenthesis; want %s", phoneForms)
		}
		area, rest = rest[open:j], rest[j+len(close):]
		if rest != "" && (rest[0] == '-' || rest[0] == ' ') {
			rest = rest[1:]
		}
	default:
		j := digitRun(rest)
		if j < len(rest) && (rest[0:j] != "" && (rest[j] == '-' || rest[j] == ' ')) {
			area, rest = rest[:j], rest[j+1:]
			break
		}
		// No separator: split by the numbering plan.
		if j < 3 {
			return nil, ruleErr(RuleFormat, "%s is not a fixed-line number; want %s", quote(s), phoneForms)
		}
		al := areaCodeLen(rest[1])
		if al == 0 || al >= j {
			return nil, ruleErr(RuleFormat, "%s does not start with an area code; want %s", quote(s), phoneForms)
		}
		area, rest = rest[:al], rest[al:]
	}
	j := digitRun(rest)
	number, rest = rest[:j], rest[j:]
	if rest != "" {
		spaced := rest[0] == ' '
		rest = strings.TrimLeft(rest, " ") // not empty: s has no trailing space
		switch {
		case rest[0] == '-':
			rest = rest[1:]
		case strings.HasPrefix(rest, "转"):
			rest = rest[len("转"):]
		case len(rest) > 3 && strings.EqualFold(rest[:3], "ext"):
			rest = strings.TrimLeft(rest[3:], ". ")
		case spaced:
			// "010-62345678 123": a space alone separates the extension.
		default:
			return nil, ruleErr(RuleFormat, "%s is not a fixed-line number; want %s", quote(s), phoneForms)
		}
		if j := digitRun(rest); j == 0 || j != len(rest) || j > 6 {
			return nil, ruleErr(RuleFormat, "the extension of %s is not 1 to 6 digits", quote(s))
		}
		ext = rest
	}
	if len(area) < 3 || area[0] != '0' || digitRun(area) != len(area) || areaCodeLen(area[1]) != len(area) ||
		(area[1] == '1' && area != "010") {
		return nil, ruleErr(RuleFormat, "area code %s is not a mainland area code (010, 020–029, or 0 and three digits such as 0311)", quote(area))
	}
	if len(number) < 7 || len(number) > 8 {
		return nil, ruleErr(RuleLength, "local number %s has %d digits, want 7 or 8", quote(number), len(number))
	}
	if number[0] == '0' {
		return nil, ruleErr(RuleFormat, "local number %s starts with 0; write the area code once, before the number", quote(number))
	}
	var buf [32]byte // 4 + 1 + 8 + 1 + 6 bytes at most
	b := append(buf[:0], area...)
	b = append(b, '-')
	b = append(b, number...)
	if ext != "" {
		b = append(b, '-')
		b = append(b, ext...)
	}
	if string(b) == s {
		return s, nil
	}
	return string(b), nil
}

// parseEmail checks one e-mail address without a display name or angle
// brackets (RFC 5322 as net/mail reads it, UTF-8 allowed per RFC 6532), at
// most 254 characters, whose domain is a host name of at least two labels
// (IP literals and quoted local parts are refused). The domain is written
// in lowercase.
func parseEmail(s string) (any, error) {
	if n := utf8.RuneCountInString(s); n > 254 {
		return nil, ruleErr(RuleLength, "e-mail address is %d characters, want at most 254", n)
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return nil, ruleErr(RuleFormat, "%s is not an e-mail address: it has no @", quote(s))
	}
	// Most addresses are a plain dot-atom; net/mail, which allocates, reads
	// the rest (quoted local parts, UTF-8).
	if !dotAtom(s[:at]) {
		a, err := mail.ParseAddress(s)
		if err != nil || a.Name != "" || a.Address != s {
			return nil, ruleErr(RuleFormat, "%s is not a single e-mail address such as name@example.gov.cn (no display name, brackets or comments)", quote(s))
		}
	}
	domain, upper := s[at+1:], false
	labels, label := 0, 0
	for i := 0; i < len(domain); i++ {
		c := domain[i]
		switch {
		case c == '.':
			if label == 0 || domain[i-1] == '-' {
				return nil, domainErr(s)
			}
			labels++
			label = 0
			continue
		case c == '-':
			if label == 0 {
				return nil, domainErr(s)
			}
		case 'A' <= c && c <= 'Z':
			upper = true
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c >= utf8.RuneSelf:
		default:
			return nil, domainErr(s)
		}
		label++
	}
	if label == 0 || labels == 0 || domain[len(domain)-1] == '-' || !utf8.ValidString(domain) {
		return nil, domainErr(s)
	}
	if upper {
		return s[:at+1] + strings.ToLower(domain), nil
	}
	return s, nil
}

func domainErr(s string) error {
	return ruleErr(RuleFormat, "the domain of %s is not a host name such as example.gov.cn", quote(s))
}

// dotAtom reports whether local is an RFC 5322 dot-atom of ASCII characters:
// atoms of letters, digits and !#$%&'*+-/=?^_`{|}~ joined by single dots.
func dotAtom(local string) bool {
	if local == "" || local[0] == '.' || local[len(local)-1] == '.' {
		return false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.':
			if local[i-1] == '.' {
				return false
			}
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

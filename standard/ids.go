package standard

import (
	"unicode/utf8"
)

// parseCitizenID checks a 公民身份号码 (GB 11643-1999): 18 characters, the
// six-digit division code of the place of registration, the birth date
// YYYYMMDD, a three-digit sequence number and the check character. A
// trailing lowercase x is written X.
//
// The first two digits must be a provincial-level code of GB/T 2260, or 83,
// which the residence permits of Taiwan residents (港澳台居民居住证) carry;
// Hong Kong and Macao residents' permits carry 81 and 82, which GB/T 2260
// lists. The remaining division digits are not checked against the current
// list: a number keeps the code of the place where it was issued, and many
// of those codes have since been retired.
func parseCitizenID(s string) (any, error) {
	if len(s) != 18 {
		if len(s) == 15 && isDigits(s, 15) {
			return nil, ruleErr(RuleLength, "a 15-digit first-generation identity number must be converted to the 18-character form (GB 11643-1999)")
		}
		return nil, ruleErr(RuleLength, "citizen identity number is %d characters, want 18 (GB 11643-1999)", utf8.RuneCountInString(s))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return nil, ruleErr(RuleCharset, "character %d of the citizen identity number is %s, want a digit (only the 18th may be X)", i+1, quoteByte(c))
		}
		sum += int(c-'0') * citizenWeights[i]
	}
	last := s[17]
	if (last < '0' || last > '9') && last != 'X' && last != 'x' {
		return nil, ruleErr(RuleCharset, "character 18 of the citizen identity number is %s, want a digit or X", quoteByte(last))
	}
	if !validProvince(s[0], s[1]) && s[:2] != "83" {
		return nil, ruleErr(RuleUnknownDivision, "citizen identity number starts with %s, which is not a province code of GB/T 2260", s[:2])
	}
	if err := birthDateErr(s[6:14]); err != nil {
		return nil, err
	}
	if want := citizenCheckChars[sum%11]; upperASCII(last) != want {
		return nil, ruleErr(RuleCheckDigit, "check digit is %q, want %q (GB 11643 ISO 7064 MOD 11-2)", string(rune(upperASCII(last))), string(rune(want)))
	}
	if last == 'x' {
		return s[:17] + "X", nil
	}
	return s, nil
}

// birthDateErr checks the birth date YYYYMMDD of an identity number: a
// calendar date from 1900-01-01 to today (China Standard Time).
func birthDateErr(ymd string) error {
	y, m, d := digits(ymd[:4]), digits(ymd[4:6]), digits(ymd[6:])
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return ruleErr(RuleBirthDate, "birth date %s (characters 7–14) is not a calendar date", ymd)
	}
	if y < 1900 {
		return ruleErr(RuleBirthDate, "birth date %s (characters 7–14) is before 1900-01-01", ymd)
	}
	ty, tm, td := now().In(chinaTime).Date()
	if y*10000+m*100+d > ty*10000+int(tm)*100+td {
		return ruleErr(RuleBirthDate, "birth date %s (characters 7–14) is in the future", ymd)
	}
	return nil
}

// parseUSCC checks a 统一社会信用代码 (GB 32100-2015): 18 characters of the
// code's character set (lowercase is written as uppercase), characters 3–8
// the division code of the registration authority, whose first two digits
// must be a province of GB/T 2260 (or 100000, the code central authorities
// register under), and the MOD 31 check character. As with
// identity numbers, the division code is not checked against the current
// list because codes outlive the divisions that issued them.
func parseUSCC(s string) (any, error) {
	if len(s) != 18 {
		return nil, ruleErr(RuleLength, "unified social credit code is %d characters, want 18 (GB 32100-2015)", utf8.RuneCountInString(s))
	}
	sum, lower := 0, false
	for i := 0; i < 18; i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
			lower = true
		}
		v := usccValue[c]
		if v < 0 {
			if c >= utf8.RuneSelf {
				return nil, ruleErr(RuleCharset, "unified social credit code contains a non-ASCII character; want digits and capital letters other than I, O, S, V, Z (GB 32100)")
			}
			return nil, ruleErr(RuleCharset, "character %d of the unified social credit code is %s, want a digit or a capital letter other than I, O, S, V, Z (GB 32100)", i+1, quoteByte(s[i]))
		}
		if i < 17 {
			sum += int(v) * usccWeights[i]
		}
	}
	if !isDigits(s[2:8], 6) {
		return nil, ruleErr(RuleFormat, "characters 3–8 of the unified social credit code are %q, want the six-digit GB/T 2260 division code of the registration authority", s[2:8])
	}
	if !validProvince(s[2], s[3]) && s[2:8] != "100000" {
		return nil, ruleErr(RuleUnknownDivision, "characters 3–4 of the unified social credit code are %s, which is not a province code of GB/T 2260", s[2:4])
	}
	if want, got := usccChars[(31-sum%31)%31], upperASCII(s[17]); got != want {
		return nil, ruleErr(RuleCheckDigit, "check character is %q, want %q (GB 32100-2015 MOD 31)", string(rune(got)), string(rune(want)))
	}
	if lower {
		b := []byte(s)
		for i, c := range b {
			b[i] = upperASCII(c)
		}
		return string(b), nil
	}
	return s, nil
}

// parseDivisionCode checks a six-digit code of GB/T 2260.
func parseDivisionCode(s string) (any, error) {
	if !isDigits(s, 6) {
		return nil, ruleErr(RuleFormat, "division code %s is not six digits (GB/T 2260)", quote(s))
	}
	if !ValidDivision(s) {
		return nil, ruleErr(RuleUnknownDivision, "%s is not a province, city or county code of GB/T 2260", s)
	}
	return s, nil
}

// parseBankCard checks a bank card number: 16–19 digits with an ISO/IEC 7812
// (Luhn) check digit. Spaces and hyphens between digit groups are dropped.
func parseBankCard(s string) (any, error) {
	var buf [19]byte
	n, clean := 0, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			if n == len(buf) {
				return nil, ruleErr(RuleLength, "bank card number has more than 19 digits, want 16 to 19")
			}
			buf[n] = c
			n++
		case c == ' ' || c == '-':
			clean = false
		default:
			return nil, ruleErr(RuleCharset, "bank card number contains %s; want digits, optionally grouped by spaces", quoteByte(c))
		}
	}
	if n < 16 {
		return nil, ruleErr(RuleLength, "bank card number has %d digits, want 16 to 19", n)
	}
	d := buf[:n]
	if !luhnValid(string(d)) {
		return nil, ruleErr(RuleCheckDigit, "bank card number fails the Luhn check (ISO/IEC 7812): a digit is wrong or two are swapped")
	}
	if clean {
		return s, nil
	}
	return string(d), nil
}

package standard

import (
	"strings"
	"unicode/utf8"
)

// plateProvinces are the first characters of motor vehicle plates (GA 36):
// the abbreviations of the provinces, and 使 and 领 of embassy and consulate
// vehicles.
const plateProvinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"

// plateSuffixes may end an ordinary plate in place of its fifth character:
// police, driving school, trailer, Hong Kong and Macao cross-border,
// consulate, test and over-size vehicles.
const plateSuffixes = "警学挂港澳领试超"

// plateChar reports whether c may stand in the serial part of a plate: a
// digit or a capital letter other than I and O.
func plateChar(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' && c != 'I' && c != 'O'
}

// parsePlate checks a motor vehicle plate number (GA 36-2018): a province
// abbreviation, the letter of the issuing authority, and five characters (an
// ordinary plate, whose last may be one of 警学挂港澳领试超) or six (a new-energy
// plate: D or F then a letter or digit and four digits for small vehicles,
// five digits then D or F for large ones). Embassy plates are 使 and six
// digits. Letters exclude I and O. It accepts lowercase letters and spaces,
// hyphens or a middle dot between the parts, and returns the plate in
// uppercase without separators.
func parsePlate(s string) (any, error) {
	var buf [16]byte
	b := buf[:0]
	var tail rune // a Chinese last character, if any
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == ' ' || c == '-' || c == '.':
			case 'a' <= c && c <= 'z':
				c -= 'a' - 'A'
				fallthrough
			default:
				if len(b) == len(buf) {
					return nil, ruleErr(RuleLength, "plate number is too long, want 7 or 8 characters")
				}
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '·' || r == '•' || r == '・' || r == '‧':
			continue
		case len(b) == 0:
			if !strings.ContainsRune(plateProvinces, r) {
				return nil, ruleErr(RuleFormat, "plate number starts with %q, want a province abbreviation such as 京, 津 or 冀", r)
			}
		case i == len(s) && strings.ContainsRune(plateSuffixes, r):
			tail = r
		default:
			return nil, ruleErr(RuleCharset, "plate number contains %q; after the province only letters and digits are allowed, and one of %s at the end", r, plateSuffixes)
		}
		if len(b)+size > len(buf) {
			return nil, ruleErr(RuleLength, "plate number is too long, want 7 or 8 characters")
		}
		b = append(b, s[i-size:i]...)
	}
	p := string(b) // no allocation unless returned below
	first, size := utf8.DecodeRuneInString(p)
	if size < 3 || !strings.ContainsRune(plateProvinces, first) {
		return nil, ruleErr(RuleFormat, "plate number %s does not start with a province abbreviation such as 京, 津 or 冀", quote(s))
	}
	serial := p[size:]
	if tail != 0 {
		serial = serial[:len(serial)-utf8.RuneLen(tail)]
	}
	if err := plateSerialErr(first, serial, tail); err != nil {
		return nil, err
	}
	if p == s {
		return s, nil
	}
	return strings.Clone(p), nil
}

func plateSerialErr(first rune, serial string, tail rune) error {
	for i := 0; i < len(serial); i++ {
		if !plateChar(serial[i]) {
			if serial[i] == 'I' || serial[i] == 'O' {
				return ruleErr(RuleCharset, "plate numbers do not use the letters I and O (character %d)", i+2)
			}
			return ruleErr(RuleCharset, "plate number contains %s after the province", quoteByte(serial[i]))
		}
	}
	if first == '使' {
		if tail == 0 && isDigits(serial, 6) {
			return nil
		}
		return ruleErr(RuleFormat, "an embassy plate is 使 and six digits")
	}
	if len(serial) == 0 || serial[0] < 'A' || serial[0] > 'Z' {
		return ruleErr(RuleFormat, "the second character of a plate number is the letter of the issuing authority")
	}
	body := serial[1:]
	switch {
	case tail != 0:
		if len(body) == 4 {
			return nil
		}
		return ruleErr(RuleLength, "a plate ending in %c has four letters or digits before it, not %d", tail, len(body))
	case len(body) == 5:
		return nil
	case len(body) == 6:
		small := (body[0] == 'D' || body[0] == 'F') && isDigits(body[2:], 4)
		large := (body[5] == 'D' || body[5] == 'F') && isDigits(body[:5], 5)
		if small || large {
			return nil
		}
		return ruleErr(RuleFormat, "a new-energy plate has D or F, a letter or digit and four digits (small vehicles) or five digits and D or F (large vehicles) after the authority letter")
	}
	return ruleErr(RuleLength, "plate number has %d characters after the province and authority letter, want 5 (ordinary) or 6 (new energy)", len(body))
}

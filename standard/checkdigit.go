package standard

// citizenWeights are the GB 11643-1999 weights of the first 17 characters:
// 2^(18-i) mod 11 for position i = 1…17 (ISO 7064 MOD 11-2).
var citizenWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// citizenCheckChars maps the weighted sum mod 11 to the check character.
const citizenCheckChars = "10X98765432"

// CitizenIDCheck returns the check character ('0'–'9' or 'X') of a 公民身份号码
// whose first 17 characters are first17, computed by ISO 7064 MOD 11-2 as
// GB 11643-1999 prescribes. It returns a *RuleError when first17 is not 17
// ASCII digits.
func CitizenIDCheck(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, ruleErr(RuleLength, "citizen identity number body is %d characters, want 17 digits", len(first17))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0, ruleErr(RuleCharset, "character %d of the citizen identity number body is not a digit", i+1)
		}
		sum += int(c-'0') * citizenWeights[i]
	}
	return citizenCheckChars[sum%11], nil
}

// usccChars is the GB 32100-2015 character set: digits and the capital
// letters without I, O, S, V and Z. A character's value is its index.
const usccChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccValue maps a byte to its value in usccChars, or -1.
var usccValue = func() (v [256]int8) {
	for i := range v {
		v[i] = -1
	}
	for i := 0; i < len(usccChars); i++ {
		v[usccChars[i]] = int8(i)
	}
	return v
}()

// usccWeights are 3^(i-1) mod 31 for position i = 1…17.
var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// USCCCheck returns the check character of a 统一社会信用代码 whose first 17
// characters are first17, computed by GB 32100-2015: 31 minus the weighted
// sum mod 31, with 31 written as '0'. Lowercase letters count as their
// capitals. It returns a *RuleError when first17 is not 17 characters of the
// code's character set.
func USCCCheck(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, ruleErr(RuleLength, "unified social credit code body is %d characters, want 17", len(first17))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := usccValue[upperASCII(first17[i])]
		if v < 0 {
			return 0, ruleErr(RuleCharset, "character %d of the unified social credit code is %s, want a digit or a capital letter other than I, O, S, V, Z (GB 32100)", i+1, quoteByte(first17[i]))
		}
		sum += int(v) * usccWeights[i]
	}
	return usccChars[(31-sum%31)%31], nil
}

// luhnValid reports whether the ASCII digits s end in a valid ISO/IEC 7812
// (Luhn) check digit.
func luhnValid(s string) bool {
	sum := 0
	double := false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// quoteByte quotes a byte for a message; a byte that starts a multi-byte
// character is described rather than shown half.
func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return `"` + string(rune(c)) + `"`
	}
	return "a non-ASCII character"
}

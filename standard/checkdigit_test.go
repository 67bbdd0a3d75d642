package standard

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// citizenCheckRef computes the GB 11643 check character from the definition
// of ISO 7064 MOD 11-2, independently of CitizenIDCheck: weights 2^(17-i)
// mod 11, check value (12 - sum mod 11) mod 11, 10 written X.
func citizenCheckRef(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * ((1 << (17 - i)) % 11)
	}
	v := (12 - sum%11) % 11
	if v == 10 {
		return 'X'
	}
	return byte('0' + v)
}

// usccAlphabetRef is the GB 32100 character set built from its definition:
// digits and capital letters without I, O, S, V, Z.
var usccAlphabetRef = func() string {
	var b strings.Builder
	for c := '0'; c <= '9'; c++ {
		b.WriteRune(c)
	}
	for c := 'A'; c <= 'Z'; c++ {
		if !strings.ContainsRune("IOSVZ", c) {
			b.WriteRune(c)
		}
	}
	return b.String()
}()

// usccCheckRef computes the GB 32100 check character from its definition,
// independently of USCCCheck: weights 3^(i-1) mod 31.
func usccCheckRef(first17 string) byte {
	sum, w := 0, 1
	for i := 0; i < 17; i++ {
		sum += strings.IndexByte(usccAlphabetRef, first17[i]) * w
		w = w * 3 % 31
	}
	return usccAlphabetRef[(31-sum%31)%31]
}

func TestCheckTables(t *testing.T) {
	if usccChars != usccAlphabetRef {
		t.Errorf("usccChars: got %s, want %s", usccChars, usccAlphabetRef)
	}
	w := 1
	for i := 0; i < 17; i++ {
		if usccWeights[i] != w {
			t.Errorf("usccWeights[%d]: got %d, want %d", i, usccWeights[i], w)
		}
		w = w * 3 % 31
		if citizenWeights[i] != (1<<(17-i))%11 {
			t.Errorf("citizenWeights[%d]: got %d, want %d", i, citizenWeights[i], (1<<(17-i))%11)
		}
	}
}

func TestCitizenIDCheck(t *testing.T) {
	for _, c := range []struct {
		in   string
		want byte
		rule string
	}{
		{"11010519491231002", 'X', ""}, // GB 11643-1999 example
		{"44052419800101001", '3', ""},
		{"00000000000000000", '1', ""},
		{"1101051949123100", 0, RuleLength},
		{"110105194912310021", 0, RuleLength},
		{"1101051949123100X", 0, RuleCharset},
		{"", 0, RuleLength},
	} {
		got, err := CitizenIDCheck(c.in)
		if c.rule != "" {
			var re *RuleError
			if !errors.As(err, &re) || re.Rule != c.rule {
				t.Errorf("CitizenIDCheck(%q): got %q, %v, want rule %q", c.in, got, err, c.rule)
			}
			continue
		}
		if err != nil || got != c.want || got != citizenCheckRef(c.in) {
			t.Errorf("CitizenIDCheck(%q): got %q, %v, want %q", c.in, got, err, c.want)
		}
	}
}

func TestUSCCCheck(t *testing.T) {
	for _, c := range []struct {
		in   string
		want byte
		rule string
	}{
		{"91350100M000100Y4", '3', ""}, // 91350100M000100Y43, commonly published
		{"91350100m000100y4", '3', ""}, // lowercase counts as capitals
		{"00000000000000000", '0', ""}, // sum 0 → 31 → 0
		{"91350100M000100Y", 0, RuleLength},
		{"91350100M000100I4", 0, RuleCharset},
		{"9135010 M000100Y4", 0, RuleCharset},
	} {
		got, err := USCCCheck(c.in)
		if c.rule != "" {
			var re *RuleError
			if !errors.As(err, &re) || re.Rule != c.rule {
				t.Errorf("USCCCheck(%q): got %q, %v, want rule %q", c.in, got, err, c.rule)
			}
			continue
		}
		if err != nil || got != c.want || got != usccCheckRef(strings.ToUpper(c.in)) {
			t.Errorf("USCCCheck(%q): got %q, %v, want %q", c.in, got, err, c.want)
		}
	}
}

// randomCitizenBody returns 17 characters with a real province, a birth date
// between 1900 and 2024 and random other digits.
func randomCitizenBody(r *rand.Rand, provinces []string) string {
	birth := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(365*124))
	return provinces[r.IntN(len(provinces))] + digitsN(r, 4) + birth.Format("20060102") + digitsN(r, 3)
}

// randomUSCCBody returns 17 characters of the code's set with a real
// province in characters 3–4.
func randomUSCCBody(r *rand.Rand, provinces []string) string {
	var b strings.Builder
	for i := 0; i < 2; i++ {
		b.WriteByte(usccChars[r.IntN(len(usccChars))])
	}
	b.WriteString(provinces[r.IntN(len(provinces))])
	b.WriteString(digitsN(r, 4))
	for i := 0; i < 9; i++ {
		b.WriteByte(usccChars[r.IntN(len(usccChars))])
	}
	return b.String()
}

func digitsN(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

func provinceCodes() []string {
	var ps []string
	for _, d := range Divisions() {
		if d.Parent == "" {
			ps = append(ps, d.Code[:2])
		}
	}
	return ps
}

// TestCheckDigitProperties checks, for random bodies, that appending the
// computed check character gives a value Parse accepts, and that replacing
// any one character by any other of the alphabet makes Parse reject it.
func TestCheckDigitProperties(t *testing.T) {
	fixNow(t, time.Date(2025, 1, 1, 0, 0, 0, 0, chinaTime))
	r := rand.New(rand.NewPCG(2260, 11643))
	provinces := provinceCodes()
	for _, c := range []struct {
		id       string
		body     func() string
		check    func(string) (byte, error)
		ref      func(string) byte
		alphabet string
	}{
		{"citizen_id", func() string { return randomCitizenBody(r, provinces) }, CitizenIDCheck, citizenCheckRef, "0123456789X"},
		{"uscc", func() string { return randomUSCCBody(r, provinces) }, USCCCheck, usccCheckRef, usccChars},
	} {
		t.Run(c.id, func(t *testing.T) {
			e := mustElement(t, c.id)
			for n := 0; n < 300; n++ {
				body := c.body()
				check, err := c.check(body)
				if err != nil {
					t.Fatalf("check(%q): %v", body, err)
				}
				if check != c.ref(body) {
					t.Fatalf("check(%q): got %q, reference %q", body, check, c.ref(body))
				}
				valid := body + string(rune(check))
				if got, err := Parse(e, valid); err != nil || got != valid {
					t.Fatalf("Parse(%q): got %#v, %v, want it accepted", valid, got, err)
				}
				for i := 0; i < len(valid); i++ {
					for j := 0; j < len(c.alphabet); j++ {
						if c.alphabet[j] == valid[i] || (c.id == "citizen_id" && i < 17 && c.alphabet[j] == 'X') {
							continue
						}
						mutated := valid[:i] + c.alphabet[j:j+1] + valid[i+1:]
						if got, err := Parse(e, mutated); err == nil {
							t.Fatalf("Parse(%q) (character %d of %q changed): got %#v, want an error", mutated, i+1, valid, got)
						}
					}
				}
			}
		})
	}
}

func TestLuhn(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"4111111111111111", true},
		{"5555555555554444", true},
		{"6011111111111117", true},
		{"79927398713", true}, // the example of ISO/IEC 7812
		{"79927398710", false},
		{"4111111111111112", false},
		{"0", true},
	} {
		if got := luhnValid(c.in); got != c.want {
			t.Errorf("luhnValid(%q): got %v, want %v", c.in, got, c.want)
		}
	}
	// Luhn catches every single-digit error.
	r := rand.New(rand.NewPCG(7812, 1))
	e := mustElement(t, "bank_card")
	for n := 0; n < 200; n++ {
		card := withLuhn("62" + digitsN(r, 14+r.IntN(3)))
		if _, err := Parse(e, card); err != nil {
			t.Fatalf("Parse(%q): %v", card, err)
		}
		for i := 0; i < len(card); i++ {
			for d := byte('0'); d <= '9'; d++ {
				if d == card[i] {
					continue
				}
				mutated := card[:i] + string(rune(d)) + card[i+1:]
				if _, err := Parse(e, mutated); err == nil {
					t.Fatalf("Parse(%q) (digit %d of %q changed): got no error", mutated, i+1, card)
				}
			}
		}
	}
}

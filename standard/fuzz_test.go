package standard

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hutong/hutong"
)

// checkRuleError fails unless err is a *RuleError with a rule and a message.
func checkRuleError(t *testing.T, in string, v any, err error) {
	t.Helper()
	var re *RuleError
	if !errors.As(err, &re) || re.Rule == "" || re.Message == "" {
		t.Fatalf("Parse(%q): got %v, want a *RuleError with rule and message", in, err)
	}
	if v != nil {
		t.Fatalf("Parse(%q): got value %#v with error %v", in, v, err)
	}
}

func FuzzCitizenID(f *testing.F) {
	for _, s := range []string{
		"11010519491231002X", "11010519491231002x", "110105194912310025", "110105491231002",
		"830000199003071230", "53010219000101123X", " 11010519491231002X ", "11010519491231002Ｘ",
		"99010519491231002X", "110105200002290012", "", "\xff\xfe",
	} {
		f.Add(s)
	}
	e := mustElement(f, "citizen_id")
	f.Fuzz(func(t *testing.T, in string) {
		v, err := Parse(e, in)
		if err != nil {
			checkRuleError(t, in, v, err)
			return
		}
		id, ok := v.(string)
		if !ok || len(id) != 18 {
			t.Fatalf("Parse(%q): got %#v, want an 18-character string", in, v)
		}
		if want := strings.ToUpper(strings.TrimSpace(in)); id != want {
			t.Fatalf("Parse(%q): got %q, want %q", in, id, want)
		}
		if again, err := Parse(e, id); err != nil || again != id {
			t.Fatalf("Parse(%q) (re-parse): got %#v, %v, want %q", id, again, err, id)
		}
		if !isDigits(id[:17], 17) || id[17] != citizenCheckRef(id[:17]) {
			t.Fatalf("Parse(%q): accepted %q, whose check character should be %q", in, id, citizenCheckRef(id[:17]))
		}
		if !ValidDivision(id[:2]+"0000") && id[:2] != "83" {
			t.Fatalf("Parse(%q): accepted province %s", in, id[:2])
		}
	})
}

func FuzzUSCC(f *testing.F) {
	for _, s := range []string{
		"91350100M000100Y43", "91350100m000100y43", "91350100M000100Y44", "111000000000133027",
		"91350100M000100I43", "9135010", "9135010０M000100Y43", "", "\x00",
	} {
		f.Add(s)
	}
	e := mustElement(f, "uscc")
	f.Fuzz(func(t *testing.T, in string) {
		v, err := Parse(e, in)
		if err != nil {
			checkRuleError(t, in, v, err)
			return
		}
		code, ok := v.(string)
		if !ok || len(code) != 18 {
			t.Fatalf("Parse(%q): got %#v, want an 18-character string", in, v)
		}
		if want := strings.ToUpper(strings.TrimSpace(in)); code != want {
			t.Fatalf("Parse(%q): got %q, want %q", in, code, want)
		}
		if again, err := Parse(e, code); err != nil || again != code {
			t.Fatalf("Parse(%q) (re-parse): got %#v, %v, want %q", code, again, err, code)
		}
		for i := 0; i < 18; i++ {
			if strings.IndexByte(usccAlphabetRef, code[i]) < 0 {
				t.Fatalf("Parse(%q): accepted %q with character %q outside GB 32100", in, code, code[i])
			}
		}
		if code[17] != usccCheckRef(code[:17]) {
			t.Fatalf("Parse(%q): accepted %q, whose check character should be %q", in, code, usccCheckRef(code[:17]))
		}
		if !isDigits(code[2:8], 6) {
			t.Fatalf("Parse(%q): accepted division part %q", in, code[2:8])
		}
	})
}

var allMaskRules = []hutong.MaskRule{hutong.MaskNone, hutong.MaskName, hutong.MaskMobile, hutong.MaskPhone,
	hutong.MaskIDNumber, hutong.MaskAddress, hutong.MaskBankCard, hutong.MaskEmail, hutong.MaskPlate,
	hutong.MaskHash, hutong.MaskRedact, ""}

func FuzzMask(f *testing.F) {
	for _, c := range []struct{ rule, in string }{
		{"id_number", "110101199003071234"}, {"id_number", "11010519491231002X"}, {"name", "欧阳娜娜"},
		{"mobile", "13812345678"}, {"phone", "010-12345678-123"}, {"address", "北京市东城区景山前街4号"},
		{"bank_card", "6222021234567890"}, {"email", "zhang@example.cn"}, {"plate", "京A12345"},
		{"hash", "x"}, {"redact", ""}, {"bogus", "\xff"}, {"phone", "0311-转"},
	} {
		f.Add(c.rule, c.in)
	}
	m := &Masker{Key: []byte("fuzz")}
	f.Fuzz(func(t *testing.T, rule, in string) {
		_ = m.MaskString(hutong.MaskRule(rule), in)
		_ = m.Mask(hutong.MaskRule(rule), in)
		// A value with "*" in it may come back as it was when the hidden
		// characters were stars; that reveals nothing.
		stars := strings.Contains(in, "*")
		for _, r := range allMaskRules {
			got := m.MaskString(r, in)
			if r == hutong.MaskNone || r == "" || got != in || in == "" || stars {
				continue
			}
			// Phone keeps a bare area code ("010-"); that hides nothing.
			if rest := strings.TrimLeft(in, "0123456789"); r == hutong.MaskPhone && rest != in && strings.Trim(rest, "-转 ") == "" {
				continue
			}
			t.Fatalf("MaskString(%s, %q): returned it unmasked", r, in)
		}
		id := m.MaskString(hutong.MaskIDNumber, in)
		if n := utf8.RuneCountInString(in); n > 10 && id == in && !stars {
			t.Fatalf("MaskString(id_number, %q): returned it unmasked", in)
		}
		if len(in) == 18 && isDigits(in[:17], 17) && strings.Contains(id, in[6:14]) {
			t.Fatalf("MaskString(id_number, %q): got %q, which contains the birth date and sequence %s", in, id, in[6:14])
		}
	})
}

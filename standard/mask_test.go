package standard

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/hutong/hutong"
)

func TestMaskString(t *testing.T) {
	m := &Masker{Key: []byte("test key")}
	for _, c := range []struct {
		rule    hutong.MaskRule
		in, out string
	}{
		{hutong.MaskName, "张三", "张*"},
		{hutong.MaskName, "欧阳娜娜", "欧***"},
		{hutong.MaskName, "买买提·艾力", "买*****"},
		{hutong.MaskName, "John Smith", "J*********"},
		{hutong.MaskName, "张", "*"},
		{hutong.MaskMobile, "13812345678", "138****5678"},
		{hutong.MaskMobile, "1381234", "*******"},
		{hutong.MaskPhone, "010-12345678", "010-****5678"},
		{hutong.MaskPhone, "0311-8581234", "0311-***1234"},
		{hutong.MaskPhone, "010-62345678-123", "010-****5678-***"},
		{hutong.MaskPhone, "010-62345678转123", "010-****5678转***"},
		{hutong.MaskPhone, "01062345678", "010****5678"},
		{hutong.MaskPhone, "010-1234", "010-****"},
		{hutong.MaskPhone, "62345678", "****5678"},
		{hutong.MaskIDNumber, "110101199003071234", "110101********1234"},
		{hutong.MaskIDNumber, "11010519491231002X", "110105********002X"},
		{hutong.MaskIDNumber, "1101011990", "**********"},
		{hutong.MaskAddress, "北京市东城区景山前街4号", "北京市东城区****"},
		{hutong.MaskAddress, "河北省石家庄市长安区中山东路1号", "河北省石家庄市长安区****"},
		{hutong.MaskAddress, "天津市滨海新区第三大街1号", "天津市滨海新区****"},
		{hutong.MaskAddress, "内蒙古自治区鄂尔多斯市伊金霍洛旗1号", "内蒙古自治区鄂尔多斯市****"}, // 旗 lies beyond the 12th character
		{hutong.MaskAddress, "鄂尔多斯市伊金霍洛旗阿镇1号", "鄂尔多斯市伊金霍洛旗****"},
		{hutong.MaskAddress, "北京市朝阳区望京小区3号楼", "北京市朝阳区****"},
		{hutong.MaskAddress, "朝阳路超市对面", "朝阳路****"},
		{hutong.MaskAddress, "景山前街4号院1单元2室", "景山前街4号****"},
		{hutong.MaskAddress, "景山前街4号", "景山前****"},
		{hutong.MaskAddress, "4号", "4****"},
		{hutong.MaskAddress, "号", "****"},
		{hutong.MaskBankCard, "6222021234567890", "6222********7890"},
		{hutong.MaskBankCard, "6222021234567890123", "6222***********0123"},
		{hutong.MaskBankCard, "62220212", "********"},
		{hutong.MaskEmail, "zhang@example.cn", "z***@example.cn"},
		{hutong.MaskEmail, "张三@例子.中国", "张***@例子.中国"},
		{hutong.MaskEmail, "z@example.cn", "***@example.cn"},
		{hutong.MaskEmail, "@example.cn", Redacted},
		{hutong.MaskEmail, "no-at-sign", Redacted},
		{hutong.MaskPlate, "京A12345", "京A***45"},
		{hutong.MaskPlate, "冀AD12345", "冀A****45"},
		{hutong.MaskPlate, "京A12", "****"},
		{hutong.MaskRedact, "anything", Redacted},
		{hutong.MaskRedact, "", Redacted},
		{hutong.MaskNone, "13812345678", "13812345678"},
		{"", "13812345678", "13812345678"},
		{"no_such_rule", "13812345678", Redacted},
		{"no_such_rule", "", Redacted},
		{hutong.MaskMobile, "", ""},
		{hutong.MaskHash, "", ""},
	} {
		t.Run(string(c.rule)+"/"+c.in, func(t *testing.T) {
			if got := m.MaskString(c.rule, c.in); got != c.out {
				t.Errorf("MaskString(%s, %q): got %q, want %q", c.rule, c.in, got, c.out)
			}
		})
	}
}

// keepRules are the partial rules that keep head and tail characters.
var keepRules = []struct {
	rule       hutong.MaskRule
	head, tail int
}{
	{hutong.MaskName, 1, 0},
	{hutong.MaskMobile, 3, 4},
	{hutong.MaskIDNumber, 6, 4},
	{hutong.MaskBankCard, 4, 4},
	{hutong.MaskPlate, 2, 2},
}

// randomText returns n runes drawn from digits, letters and Chinese
// characters, never "*".
func randomText(r *rand.Rand, n int) string {
	const pool = "0123456789ABCXabcx京津冀张王李欧阳·区市省县路号@-."
	runes := []rune(pool)
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteRune(runes[r.IntN(len(runes))])
	}
	return b.String()
}

// TestMaskKeepsExactly checks the head-and-tail rules on random values of
// every length: exactly head and tail characters kept, every other one
// replaced by "*", the whole value hidden when it is too short.
func TestMaskKeepsExactly(t *testing.T) {
	var m Masker
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range keepRules {
		t.Run(string(k.rule), func(t *testing.T) {
			for n := 0; n <= 40; n++ {
				for trial := 0; trial < 20; trial++ {
					in := randomText(r, n)
					got := m.MaskString(k.rule, in)
					gr, ir := []rune(got), []rune(in)
					if len(gr) != len(ir) {
						t.Fatalf("MaskString(%s, %q): got %q, %d characters, want %d", k.rule, in, got, len(gr), len(ir))
					}
					if n == 0 {
						continue
					}
					if got == in {
						t.Fatalf("MaskString(%s, %q): returned the value unmasked", k.rule, in)
					}
					if n <= k.head+k.tail {
						if got != strings.Repeat("*", n) {
							t.Fatalf("MaskString(%s, %q): got %q, want it hidden whole", k.rule, in, got)
						}
						continue
					}
					for i := range ir {
						kept := i < k.head || i >= n-k.tail
						if kept && gr[i] != ir[i] || !kept && gr[i] != '*' {
							t.Fatalf("MaskString(%s, %q): got %q, character %d wrong (keep %d + %d)", k.rule, in, got, i+1, k.head, k.tail)
						}
					}
				}
			}
		})
	}
}

// TestMaskNeverReveals checks the other partial rules: the output differs
// from any input that has something to hide, and hides what it must.
func TestMaskNeverReveals(t *testing.T) {
	var m Masker
	r := rand.New(rand.NewPCG(3, 4))
	for n := 1; n <= 40; n++ {
		for trial := 0; trial < 50; trial++ {
			in := randomText(r, n)
			for _, rule := range []hutong.MaskRule{hutong.MaskPhone, hutong.MaskEmail, hutong.MaskAddress, hutong.MaskRedact, hutong.MaskHash, "bogus"} {
				if got := m.MaskString(rule, in); got == in {
					t.Fatalf("MaskString(%s, %q): returned the value unmasked", rule, in)
				}
			}
			// Address: what is kept is a prefix of at most 12 characters.
			got := m.MaskString(hutong.MaskAddress, in)
			kept := strings.TrimSuffix(got, "****")
			if !strings.HasPrefix(in, kept) || utf8.RuneCountInString(kept) > 12 || kept == in && n > 0 && !strings.ContainsAny(in[len(in)-3:], "省市区县旗") {
				t.Fatalf("MaskString(address, %q): got %q", in, got)
			}
			// Email: the local part is gone except its first character.
			if at := strings.LastIndexByte(in, '@'); at > 0 {
				got := m.MaskString(hutong.MaskEmail, in)
				local := in[:at]
				if utf8.RuneCountInString(local) > 1 && strings.Contains(got, local) {
					t.Fatalf("MaskString(email, %q): got %q, which shows the local part", in, got)
				}
			}
		}
	}
	// Phone numbers: only the area code and the last 4 digits of the number.
	for n := 0; n < 500; n++ {
		area := []string{"010", "021", "0311", "0571"}[r.IntN(4)]
		number := digitsN(r, 7+r.IntN(2))
		in := area + "-" + number
		got := m.MaskString(hutong.MaskPhone, in)
		want := area + "-" + strings.Repeat("*", len(number)-4) + number[len(number)-4:]
		if got != want {
			t.Fatalf("MaskString(phone, %q): got %q, want %q", in, got, want)
		}
	}
}

// TestMaskOddInputs feeds every rule empty, one-character, invalid UTF-8 and
// separator-only values: nothing panics, and nothing longer than one
// character comes back unmasked unless it has nothing to hide (a phone
// number's area code alone).
func TestMaskOddInputs(t *testing.T) {
	m := &Masker{Key: []byte("k")}
	rules := []hutong.MaskRule{hutong.MaskNone, hutong.MaskName, hutong.MaskMobile, hutong.MaskPhone, hutong.MaskIDNumber,
		hutong.MaskAddress, hutong.MaskBankCard, hutong.MaskEmail, hutong.MaskPlate, hutong.MaskHash, hutong.MaskRedact, "", "x"}
	inputs := []string{"", "a", "张", "@", "@@", "-", "0", "0-", "0-1", "010-", "010--", "0311-转", "转", "\xff", "\xff\xfe\xfd\xfc\xfb",
		"张\xff三", "a@", "@b", "省", "市市市", "**", strings.Repeat("区", 30), "北京市\x00", "0" + strings.Repeat("9", 100)}
	for _, rule := range rules {
		for _, in := range inputs {
			got := m.MaskString(rule, in)
			rest := strings.TrimLeft(in, "0123456789")
			nothingToHide := strings.Trim(in, "*") == "" ||
				rule == hutong.MaskPhone && rest != in && strings.Trim(rest, "-转 ") == ""
			if rule != hutong.MaskNone && rule != "" && !nothingToHide && got == in && utf8.RuneCountInString(in) > 1 {
				t.Errorf("MaskString(%s, %q): returned it unmasked", rule, in)
			}
		}
	}
}

func TestMaskHash(t *testing.T) {
	a := &Masker{Key: []byte("region key")}
	b := &Masker{Key: []byte("another key")}
	id := "110101199003071234"
	ha, hb := a.MaskString(hutong.MaskHash, id), b.MaskString(hutong.MaskHash, id)
	if len(ha) != 34 || !strings.HasPrefix(ha, "h:") || strings.Trim(ha[2:], "0123456789abcdef") != "" {
		t.Errorf("hash: got %q, want h: and 32 hex digits", ha)
	}
	if ha != a.MaskString(hutong.MaskHash, id) {
		t.Error("hash: not deterministic")
	}
	if ha == hb {
		t.Error("hash: two keys give the same digest")
	}
	if ha == a.MaskString(hutong.MaskHash, id[:17]+"5") {
		t.Error("hash: two values give the same digest")
	}
	// HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 4231 style known answer.
	k := &Masker{Key: []byte("key")}
	if got, want := k.MaskString(hutong.MaskHash, "The quick brown fox jumps over the lazy dog"), "h:f7bc83f430538424b13298e6aa6fb143"; got != want {
		t.Errorf("hash known answer: got %q, want %q", got, want)
	}
	long := strings.Repeat("长", 1000) // longer than the chunk buffer
	if k.MaskString(hutong.MaskHash, long) == k.MaskString(hutong.MaskHash, long[:len(long)-3]) {
		t.Error("hash: long values collide")
	}
	var none Masker
	if got := none.MaskString(hutong.MaskHash, id); got != Redacted {
		t.Errorf("hash without a key: got %q, want %q", got, Redacted)
	}
}

func TestMaskHashConcurrent(t *testing.T) {
	m := &Masker{Key: []byte("k")}
	want := m.MaskString(hutong.MaskHash, "13812345678")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				if got := m.MaskString(hutong.MaskHash, "13812345678"); got != want {
					t.Errorf("concurrent hash: got %q, want %q", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestMask(t *testing.T) {
	m := &Masker{Key: []byte("k")}
	for _, c := range []struct {
		rule hutong.MaskRule
		in   any
		want any
	}{
		{hutong.MaskMobile, nil, nil},
		{hutong.MaskRedact, nil, nil},
		{hutong.MaskNone, int64(42), int64(42)},
		{hutong.MaskNone, "13812345678", "13812345678"},
		{"", 1.5, 1.5},
		{hutong.MaskMobile, "13812345678", "138****5678"},
		{hutong.MaskMobile, json.Number("13812345678"), "138****5678"},
		{hutong.MaskMobile, int64(13812345678), "138****5678"},
		{hutong.MaskMobile, 13812345678, "138****5678"},
		{hutong.MaskName, float64(12.5), "1***"},
		{hutong.MaskRedact, true, Redacted},
		{"unknown", int64(1), Redacted},
	} {
		if got := m.Mask(c.rule, c.in); got != c.want {
			t.Errorf("Mask(%s, %#v): got %#v, want %#v", c.rule, c.in, got, c.want)
		}
	}
	// Other types are masked by their fmt text.
	if got := m.Mask(hutong.MaskIDNumber, struct{ ID string }{"110101199003071234"}); got != "{11010**********234}" {
		t.Errorf("Mask(id_number, struct): got %#v, want %q", got, "{11010**********234}")
	}
}

package standard

import (
	"testing"

	"github.com/hutong/hutong"
)

func benchParse(b *testing.B, id, in string) {
	e := mustElement(b, id)
	if _, err := Parse(e, in); err != nil {
		b.Fatalf("Parse(%s, %q): %v", id, in, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		Parse(e, in)
	}
}

func BenchmarkParseCitizenID(b *testing.B)    { benchParse(b, "citizen_id", "11010519491231002X") }
func BenchmarkParseUSCC(b *testing.B)         { benchParse(b, "uscc", "91350100M000100Y43") }
func BenchmarkParseDivisionCode(b *testing.B) { benchParse(b, "division_code", "130102") }
func BenchmarkParseMobile(b *testing.B)       { benchParse(b, "mobile", "13812345678") }
func BenchmarkParseMobileDirty(b *testing.B)  { benchParse(b, "mobile", "+86 138-1234-5678") }
func BenchmarkParsePhone(b *testing.B)        { benchParse(b, "phone", "010-62345678") }
func BenchmarkParseEmail(b *testing.B)        { benchParse(b, "email", "zhang.san@example.gov.cn") }
func BenchmarkParsePlate(b *testing.B)        { benchParse(b, "plate", "京A12345") }
func BenchmarkParseBankCard(b *testing.B)     { benchParse(b, "bank_card", "6212262000000000123") }
func BenchmarkParsePersonName(b *testing.B)   { benchParse(b, "person_name", "欧阳娜娜") }
func BenchmarkParseAddress(b *testing.B) {
	benchParse(b, "address", "北京市东城区景山前街4号")
}
func BenchmarkParseDate(b *testing.B)        { benchParse(b, "date", "2024-05-01") }
func BenchmarkParseDateCompact(b *testing.B) { benchParse(b, "date", "20240501") }
func BenchmarkParseDateTime(b *testing.B)    { benchParse(b, "datetime", "2024-05-01T08:30:00Z") }
func BenchmarkParseDateTimeCST(b *testing.B) { benchParse(b, "datetime", "2024-05-01 08:30:00") }
func BenchmarkParseCount(b *testing.B)       { benchParse(b, "count", "1234567") }
func BenchmarkParseAmount(b *testing.B)      { benchParse(b, "amount", "12345.67") }
func BenchmarkParseGender(b *testing.B)      { benchParse(b, "gender", "男") }

func benchMask(b *testing.B, rule hutong.MaskRule, in string) {
	m := &Masker{Key: []byte("benchmark key")}
	b.ReportAllocs()
	for b.Loop() {
		m.MaskString(rule, in)
	}
}

func BenchmarkMaskIDNumber(b *testing.B) { benchMask(b, hutong.MaskIDNumber, "110101199003071234") }
func BenchmarkMaskName(b *testing.B)     { benchMask(b, hutong.MaskName, "欧阳娜娜") }
func BenchmarkMaskMobile(b *testing.B)   { benchMask(b, hutong.MaskMobile, "13812345678") }
func BenchmarkMaskPhone(b *testing.B)    { benchMask(b, hutong.MaskPhone, "010-62345678") }
func BenchmarkMaskAddress(b *testing.B) {
	benchMask(b, hutong.MaskAddress, "北京市东城区景山前街4号")
}
func BenchmarkMaskBankCard(b *testing.B) { benchMask(b, hutong.MaskBankCard, "6212262000000000123") }
func BenchmarkMaskEmail(b *testing.B)    { benchMask(b, hutong.MaskEmail, "zhang.san@example.gov.cn") }
func BenchmarkMaskPlate(b *testing.B)    { benchMask(b, hutong.MaskPlate, "京A12345") }
func BenchmarkMaskHash(b *testing.B)     { benchMask(b, hutong.MaskHash, "110101199003071234") }
func BenchmarkMaskRedact(b *testing.B)   { benchMask(b, hutong.MaskRedact, "110101199003071234") }

// BenchmarkMaskAny is the exchange's path: a value from a row, boxed.
func BenchmarkMaskAny(b *testing.B) {
	m := &Masker{}
	var v any = "110101199003071234"
	b.ReportAllocs()
	for b.Loop() {
		m.Mask(hutong.MaskIDNumber, v)
	}
}

// BenchmarkMaskHashParallel checks that the pooled HMAC states scale.
func BenchmarkMaskHashParallel(b *testing.B) {
	m := &Masker{Key: []byte("benchmark key")}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.MaskString(hutong.MaskHash, "110101199003071234")
		}
	})
}
